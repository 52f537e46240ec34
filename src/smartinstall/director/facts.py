"""The plain data that crosses into and out of the director core.

The services' adapters (:mod:`smartinstall.director.bridges`) turn wire messages into these
facts; the core answers with decisions and command requests. None of them holds a socket.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from smartinstall.domain.devices import StackMember, UpgradeKind
from smartinstall.domain.values import normalize_mac


@dataclass(frozen=True)
class DhcpFacts:
    """What one DHCP message tells the director about its client."""

    mac: str
    message: str = "discover"  # discover, request, inform …
    vendor_class: str = ""
    giaddr: str = ""
    circuit_id: str = ""  # option 82: the upstream interface
    remote_id: str = ""  # option 82: the upstream device (MAC or name)

    @property
    def pid(self) -> str:
        """Option 60 ``cisco-<PID>`` carries the product ID (our emulated switches send it)."""
        text = self.vendor_class.strip()
        if text.lower().startswith("cisco-") and len(text) > 6:
            return text[6:].upper()
        return ""


@dataclass(frozen=True)
class HelloFacts:
    """A Smart Install capable client's report of itself (SMI hello)."""

    mac: str
    ip: str = ""
    pid: str = ""
    serial: str = ""
    version: str = ""
    image: str = ""
    hostname: str = ""
    members: tuple[StackMember, ...] = ()
    supervisor: str = ""
    smi_version: int = 1
    capability: str = ""
    has_startup_config: bool = False
    smi_port: int = 0  # 0: the director's default client port


@dataclass(frozen=True)
class UpgradeReport:
    mac: str
    kind: UpgradeKind
    state: str  # started, progress, done, failed
    file: str = ""
    reason: str = ""
    ip: str = ""


@dataclass(frozen=True)
class CommandRequest:
    """A director → client command, handed to the SMI sender."""

    host: str
    port: int
    kind: str  # download-image, download-config, backup, execute
    url: str = ""
    reload_at: tuple[int, int] | None = None  # (hh, mm); None: no scheduled reload
    reload_now: bool = False
    commands: tuple[str, ...] = ()


@dataclass
class OperationResult:
    """Outcome of an on-demand operation, one line per client for the operator."""

    lines: list[str] = field(default_factory=list)
    ok: int = 0
    failed: int = 0


SendCommand = Callable[[CommandRequest], Awaitable[None]]


class RemoteFileError(Exception):
    """A transfer with a third-party file server failed; ``missing`` when the file is absent."""

    def __init__(self, message: str, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


class FileServer(Protocol):
    """A third-party TFTP server the director reads and writes (the backup repository)."""

    async def fetch(self, host: str, port: int, name: str, dest: Path) -> int: ...

    async def upload(self, host: str, port: int, name: str, source: Path) -> int: ...


def what(kind: UpgradeKind) -> str:
    """The word of the ``%SMI-…-UPGRD_…`` messages for an upgrade kind."""
    return {UpgradeKind.IMAGE: "image", UpgradeKind.CONFIG: "config", UpgradeKind.SCRIPT: "script"}[
        kind
    ]


def director_mac(ip: str) -> str:
    """A stable MAC for the director's own entry, derived from its address."""
    digest = hashlib.sha256(ip.encode()).digest()
    return normalize_mac((b"\x02" + digest[:5]).hex())


def pid_of_platform(platform: str) -> str:
    """CDP platform strings read ``cisco WS-C2960-24TT-L``: take the product ID."""
    words = [w for w in platform.replace(",", " ").split() if w.lower() != "cisco"]
    for word in words:
        if "-" in word and len(word) <= 40 and word.replace("-", "").isalnum():
            return word.upper()
    return ""
