"""The director-database record of a client and the status letters of ``show vstack status``.

Legend of the guide ("Smart Install Clients", ``show vstack status``)::

    Device_type:        S - Smart install  N - Non smart install  P - Pending
    Health_status:      A - Active  I - Inactive
    Join-window_Status: a - Allowed  h - On-hold  d - Denied
    Image Upgrade:      i - in progress  I - done  X - failed
    Config Upgrade:     c - in progress  C - done  x - failed
    Script Upgrade:     p - in progress  P - done  F - failed
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from enum import Enum

from smartinstall.domain.errors import DomainError
from smartinstall.domain.interfaces import canonical_interface
from smartinstall.domain.values import normalize_mac

MAX_STACK_MEMBERS = 9  # stack member numbers 1 to 9 (guide: "match switch_number … 1 to 9")
MAX_HOPS = 7  # "The Smart Install network supports up to seven hops."


class DeviceType(Enum):
    SMART_INSTALL = "S"
    NON_SMART_INSTALL = "N"
    PENDING = "P"


class Health(Enum):
    ACTIVE = "A"
    INACTIVE = "I"


class JoinState(Enum):
    """The per-client join-window state (guide, Table 1-3)."""

    ALLOWED = "a"
    HOLD = "h"
    DENIED = "d"


class Progress(Enum):
    NONE = "none"
    # Awaited: the client's zero touch includes it and it has not started (no letter yet). The
    # director reads it when the client's download-status row has left the 255-entry table.
    PENDING = "pending"
    IN_PROGRESS = "in progress"
    DONE = "done"
    FAILED = "failed"


class UpgradeKind(Enum):
    IMAGE = "image"
    CONFIG = "config"
    SCRIPT = "script"


# Letters for (in progress, done, failed) of each kind, as the legend prints them.
_UPGRADE_LETTERS: dict[UpgradeKind, tuple[str, str, str]] = {
    UpgradeKind.IMAGE: ("i", "I", "X"),
    UpgradeKind.CONFIG: ("c", "C", "x"),
    UpgradeKind.SCRIPT: ("p", "P", "F"),
}


def upgrade_letter(kind: UpgradeKind, progress: Progress) -> str:
    """The letter of one upgrade column, or ``""`` when nothing happened."""
    return _LETTER[kind, progress]


# every (kind, progress) pair once: the status column of a 1,000-entry table asks 3,000 times
_LETTER: dict[tuple[UpgradeKind, Progress], str] = {
    (kind, progress): {
        Progress.NONE: "",
        Progress.PENDING: "",
        Progress.IN_PROGRESS: letters[0],
        Progress.DONE: letters[1],
        Progress.FAILED: letters[2],
    }[progress]
    for kind, letters in _UPGRADE_LETTERS.items()
    for progress in Progress
}


def parse_status_letters(text: str) -> dict[str, str]:
    """Read a status cell such as ``S A a I C`` back into its parts (for tests and parsers)."""
    words = text.split()
    if words == ["Director"]:
        return {"role": "Director"}
    result: dict[str, str] = {}
    kinds = {
        "device_type": {t.value for t in DeviceType},
        "health": {h.value for h in Health},
        "join": {j.value for j in JoinState},
    }
    for key, allowed in kinds.items():
        if not words or words[0] not in allowed:
            raise DomainError(f"% Invalid status: {text}", text)
        result[key] = words.pop(0)
    for kind, letters in _UPGRADE_LETTERS.items():
        if words and words[0] in letters:
            result[kind.value] = words.pop(0)
    if words:
        raise DomainError(f"% Invalid status: {text}", words[0])
    return result


@dataclass(frozen=True)
class StackMember:
    number: int
    pid: str
    mac: str

    def __post_init__(self) -> None:
        if not 1 <= self.number <= MAX_STACK_MEMBERS:
            raise DomainError(
                f"% Invalid stack member number: {self.number} (range 1 to {MAX_STACK_MEMBERS})",
                str(self.number),
            )
        object.__setattr__(self, "mac", normalize_mac(self.mac))
        object.__setattr__(self, "pid", validate_pid(self.pid))


@dataclass(frozen=True)
class Neighbor:
    """One row of a client's neighbour (CDP) table."""

    local_port: str
    mac: str
    device_id: str = ""
    ip: str = ""
    port: str = ""
    platform: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "mac", normalize_mac(self.mac))
        object.__setattr__(self, "local_port", canonical_interface(self.local_port))
        if self.port:
            object.__setattr__(self, "port", canonical_interface(self.port))
        if self.ip:
            object.__setattr__(self, "ip", validate_ipv4(self.ip))


def validate_ipv4(text: str) -> str:
    try:
        return str(ipaddress.IPv4Address(text.strip()))
    except ValueError:
        raise DomainError(f"% Invalid IP address: {text.strip() or repr(text)}", text) from None


PID_MAX = 40


def validate_pid(text: str) -> str:
    """A product ID as CDP reports it (``WS-C2960-48TC-S``): printable, no spaces, upper case."""
    pid = text.strip().upper()
    if not pid or len(pid) > PID_MAX or not all(c.isalnum() or c in "-+_./" for c in pid):
        raise DomainError(f"% Invalid product ID: {text.strip()[:40] or repr(text)}", text)
    return pid


@dataclass
class UpgradeStatus:
    image: Progress = Progress.NONE
    config: Progress = Progress.NONE
    script: Progress = Progress.NONE

    def letters(self) -> list[str]:
        pairs = (
            (UpgradeKind.IMAGE, self.image),
            (UpgradeKind.CONFIG, self.config),
            (UpgradeKind.SCRIPT, self.script),
        )
        return [letter for kind, p in pairs if (letter := upgrade_letter(kind, p))]


@dataclass
class Device:
    """A client (or the director itself) as the director database holds it.

    The fields are those of ``show vstack status detail``. ``number`` is the device number
    (DevNo), stable until the entry is cleared. A stack is one device with several members.
    """

    number: int
    mac: str
    pid: str = ""
    serial: str = ""
    version: str = ""
    image: str = ""
    ip: str = ""
    hostname: str = ""
    hop: int | None = None
    upstream_mac: str = ""  # the (N-1)-hop entry
    upstream_ip: str = ""
    upstream_port: str = ""  # interface on the upstream device the client is connected to
    neighbors: tuple[Neighbor, ...] = ()
    members: tuple[StackMember, ...] = ()
    supervisor: str = ""  # Catalyst 4500 only, e.g. WS-X45-SUP7-E
    device_type: DeviceType = DeviceType.PENDING
    health: Health = Health.ACTIVE
    join_state: JoinState = JoinState.ALLOWED
    upgrade: UpgradeStatus = field(default_factory=UpgradeStatus)
    is_director: bool = False
    smi_version: int | None = None
    capability: str = ""

    def __post_init__(self) -> None:
        self.mac = normalize_mac(self.mac)
        if self.pid:
            self.pid = validate_pid(self.pid)
        if self.ip:
            self.ip = validate_ipv4(self.ip)
        if self.upstream_mac:
            self.upstream_mac = normalize_mac(self.upstream_mac)
        if self.upstream_ip:
            self.upstream_ip = validate_ipv4(self.upstream_ip)
        if self.upstream_port:
            self.upstream_port = canonical_interface(self.upstream_port)
        if self.hop is not None and not 0 <= self.hop <= MAX_HOPS:
            raise DomainError(f"% Invalid hop count: {self.hop} (range 0 to {MAX_HOPS})")
        numbers = [m.number for m in self.members]
        if len(numbers) != len(set(numbers)):
            raise DomainError("% Duplicate stack member number", str(numbers))

    @property
    def is_stack(self) -> bool:
        return len(self.members) > 1

    def status(self) -> str:
        """The Status cell of ``show vstack status``: ``Director`` or e.g. ``S A a I C``."""
        if self.is_director:
            return "Director"
        letters = [self.device_type.value, self.health.value, self.join_state.value]
        letters.extend(self.upgrade.letters())
        return " ".join(letters)

    def with_changes(self, **changes: object) -> Device:
        return replace(self, **changes)  # type: ignore[arg-type]
