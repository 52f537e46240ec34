"""The emulated switch's flash: a directory with ``startup-config``, ``state.json`` and one
small marker per installed image (the image bytes are counted as they stream in, never kept).

Every write is atomic (temporary file, fsync, rename), so a switch killed at any moment comes
back with either the old or the new state, never a torn one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

STARTUP_CONFIG = "startup-config"
STATE_FILE = "state.json"


def write_atomic(path: Path, data: bytes) -> None:
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


@dataclass
class FlashState:
    """What survives a reload besides the startup configuration."""

    images: dict[str, str] = field(default_factory=dict)  # member number -> image file name
    ip: str = ""
    director: str = ""  # director address learnt from option 125/16 or `vstack director`
    autoinstall_aborted: bool = False
    vstack_enabled: bool = True
    pending_script: str = ""  # a type 5 received during zero touch: run after the reload
    reloads: int = 0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FlashState:
        state = cls()
        images = data.get("images")
        if isinstance(images, dict):
            state.images = {str(k): str(v) for k, v in images.items()}
        for name in ("ip", "director", "pending_script"):
            value = data.get(name)
            if isinstance(value, str):
                setattr(state, name, value)
        for name in ("autoinstall_aborted", "vstack_enabled"):
            value = data.get(name)
            if isinstance(value, bool):
                setattr(state, name, value)
        reloads = data.get("reloads")
        if isinstance(reloads, int) and reloads >= 0:
            state.reloads = reloads
        return state


class Flash:
    """``flash:`` of one emulated switch."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    # --- startup-config ------------------------------------------------------------------

    @property
    def startup_path(self) -> Path:
        return self.root / STARTUP_CONFIG

    def startup_config(self) -> str | None:
        try:
            return self.startup_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return None

    def save_startup(self, text: str) -> None:
        write_atomic(self.startup_path, text.encode("utf-8"))

    def erase_startup(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.startup_path.unlink()

    # --- state ---------------------------------------------------------------------------

    def load_state(self) -> FlashState:
        path = self.root / STATE_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return FlashState()
        except (OSError, ValueError) as error:
            log.warning("%s unreadable (%s): starting from a blank state", path, error)
            return FlashState()
        return FlashState.from_json(data) if isinstance(data, dict) else FlashState()

    def save_state(self, state: FlashState) -> None:
        data = json.dumps(asdict(state), sort_keys=True, indent=1).encode()
        write_atomic(self.root / STATE_FILE, data)

    # --- images --------------------------------------------------------------------------

    def record_image(self, name: str, size: int) -> None:
        """A marker for an image streamed to flash: its name and size, not its bytes."""
        safe = Path(name).name or "image"
        write_atomic(self.root / f"{safe}.marker", f"{safe} {size}\n".encode())

    def has_image(self, name: str) -> bool:
        return (self.root / f"{Path(name).name}.marker").exists()
