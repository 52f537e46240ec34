"""Skips for tests that need a system program (installed by scripts/install-test-tools)."""

from __future__ import annotations

import os
import shutil

import pytest

_SBIN = ("/usr/sbin", "/sbin", "/usr/local/sbin")
#: the venv scripts/install-test-tools puts the Python programs in (ansible-playbook, hadolint)
TOOLS_VENV = os.environ.get("SMARTINSTALL_TOOLS_VENV", "/opt/smartinstall-tools/venv")


def find_program(name: str) -> str | None:
    """Path of a program on PATH, in the sbin folders or in the tools venv, else None."""
    found = shutil.which(name)
    if found:
        return found
    for folder in (*_SBIN, os.path.join(TOOLS_VENV, "bin")):
        path = os.path.join(folder, name)
        if os.access(path, os.X_OK):
            return path
    return None


def require_program(name: str) -> str:
    """Return the program's path or skip the test with the reason."""
    path = find_program(name)
    if path is None:
        pytest.skip(f"{name} is not installed (scripts/install-test-tools installs it as root)")
    return path


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces or privileged ports)")
