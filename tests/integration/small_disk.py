"""A small file system of its own for disk-full tests: a 4 MiB tmpfs mounted for one test
(root only; the test is skipped, saying why, where mounting is not permitted)."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

SIZE = "4m"


@contextmanager
def small_disk(where: Path, size: str = SIZE) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted on ``where`` (created), unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("a small tmpfs for the disk-full test needs root (mount -t tmpfs)")
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where)],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        done = subprocess.run(["umount", str(where)], capture_output=True, timeout=30, check=False)
        if done.returncode != 0:  # something still holds it open: detach it anyway
            subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=30)


def fill(path: Path) -> int:
    """Write ``path`` until the file system has no byte left; the bytes written."""
    written = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for chunk in (1 << 16, 1 << 12, 1 << 9, 1):
            block = b"\0" * chunk
            for _ in range(1 << 16):  # bounded: 4 MiB in 64 KiB blocks takes 64
                try:
                    written += os.write(fd, block)
                except OSError as error:
                    if error.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)
    return written


def free_bytes(path: Path) -> int:
    info = os.statvfs(path)
    return info.f_bavail * info.f_frsize
