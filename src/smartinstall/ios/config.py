"""Startup configuration file: bounded reads and atomic writes."""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

#: the largest configuration file read or written (IOS NVRAM is smaller still)
MAX_CONFIG_BYTES = 1 << 20


class ConfigTooLarge(ValueError):
    pass


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` so a reader sees the old file or the new one, never half."""
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


@dataclass
class StartupConfig:
    """The file that `write memory` saves and start-up replays."""

    path: Path
    #: `write` waits for the disk (fsync): on an event loop, `write memory` runs it in a thread
    blocking: ClassVar[bool] = True

    @classmethod
    def in_directory(cls, data_dir: Path) -> StartupConfig:
        return cls(Path(data_dir) / "startup-config")

    def exists(self) -> bool:
        return self.path.is_file()

    def read(self) -> str | None:
        """The saved text, or None when there is none yet."""
        try:
            with self.path.open("rb") as handle:
                data = handle.read(MAX_CONFIG_BYTES + 1)
        except FileNotFoundError:
            return None
        if len(data) > MAX_CONFIG_BYTES:
            raise ConfigTooLarge(f"{self.path} is larger than {MAX_CONFIG_BYTES} bytes")
        return data.decode("utf-8", errors="replace")

    def write(self, text: str) -> None:
        data = text.encode("utf-8")
        if len(data) > MAX_CONFIG_BYTES:
            raise ConfigTooLarge(f"configuration is larger than {MAX_CONFIG_BYTES} bytes")
        write_atomic(self.path, data)
