"""File locations for images, configurations, scripts and the backup repository.

The guide lists ``flash:``, ``flash0:``, ``flash1:``, ``usb:`` and ``tftp://…`` for
``vstack image|config|script`` and the group commands, while some of its "not supported"
lists name ``flash1:`` or even ``flash:``; its examples use them all, and the examples win.
``bootflash:`` is what a Catalyst 4500 director calls its flash. The schemes the guide says are
visible but not supported are refused with a clear message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from smartinstall.domain.errors import DomainError

LOCAL_FILESYSTEMS = ("flash:", "flash0:", "flash1:", "bootflash:", "usb:")
UNSUPPORTED_SCHEMES = (
    "ftp:", "http:", "https:", "null:", "nvram:", "rcp:", "scp:", "system:", "tmpsys:",
)  # fmt: skip
MAX_LOCATION_LENGTH = 255


@dataclass(frozen=True)
class Location:
    """A parsed location: on the director's own flash (``path`` relative to its file root)
    or on a TFTP server (``host``, ``port``, ``path``)."""

    text: str
    local: bool
    path: str
    host: str = ""
    port: int = 69

    @property
    def filename(self) -> str:
        return self.path.rsplit("/", 1)[-1]


def parse_location(text: str, what: str = "file") -> Location:
    """Validate a location; the text is kept as the operator wrote it (for running-config)."""
    raw = text.strip()
    if not raw or len(raw) > MAX_LOCATION_LENGTH or any(ord(c) < 33 for c in raw):
        raise DomainError(f"% Invalid {what} location: {raw[:60] or repr(text)}", text)
    lowered = raw.lower()
    for scheme in UNSUPPORTED_SCHEMES:
        if lowered.startswith(scheme):
            raise DomainError(
                f"% {scheme} is not supported for the {what}; use flash:, flash0:, flash1:, "
                "bootflash:, usb: or tftp://",
                raw,
            )
    for fs in LOCAL_FILESYSTEMS:
        if lowered.startswith(fs):
            path = raw[len(fs) :].lstrip("/")
            _check_path(path, raw, what)
            return Location(text=raw, local=True, path=path)
    if lowered.startswith("tftp://"):
        parts = urlsplit(raw)
        host = parts.hostname or ""
        try:
            port = parts.port or 69
        except ValueError:
            raise DomainError(f"% Invalid port in {what} location: {raw}", raw) from None
        path = parts.path.lstrip("/")
        if not host or not re.fullmatch(r"[A-Za-z0-9.-]+", host):
            raise DomainError(f"% Invalid TFTP server in {what} location: {raw}", raw)
        _check_path(path, raw, what)
        return Location(text=raw, local=False, path=path, host=host, port=port)
    raise DomainError(
        f"% Invalid {what} location: {raw} (expected flash:, flash0:, flash1:, bootflash:, "
        "usb: or tftp://)",
        raw,
    )


def _check_path(path: str, raw: str, what: str) -> None:
    if not path:
        raise DomainError(f"% No file name in {what} location: {raw}", raw)
    if any(part == ".." for part in path.split("/")):
        raise DomainError(f"% Invalid {what} location: {raw} ('..' is not allowed)", raw)


def parse_repository(text: str) -> Location:
    """``vstack backup file-server <url>``: a local directory or a TFTP directory.

    tftp is the only network repository the guide supports; a bare ``flash:`` means the root.
    """
    raw = text.strip()
    lowered = raw.lower()
    for fs in LOCAL_FILESYSTEMS:
        if lowered.startswith(fs):
            path = raw[len(fs) :].strip("/")
            if any(part == ".." for part in path.split("/")):
                raise DomainError(f"% Invalid repository: {raw} ('..' is not allowed)", raw)
            return Location(text=raw, local=True, path=path)
    if lowered.startswith("tftp://"):
        loc = parse_location(raw.rstrip("/") + "/x", "repository")
        return Location(
            text=raw, local=False, path=loc.path[:-1].rstrip("/"), host=loc.host, port=loc.port
        )
    raise DomainError(
        f"% Invalid repository: {raw[:60] or repr(text)} (tftp:// is the only network "
        "repository; or flash:, bootflash:, usb:)",
        text,
    )
