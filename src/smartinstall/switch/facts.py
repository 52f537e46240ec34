"""What the emulated Smart Install client is made of: its states, its configuration (a stack's
members, the faults to play), a DHCP lease as it reads it, the I/O it is driven through
(:class:`SwitchIo`) and the small helpers the state machine shares (hostnames in a
configuration, TFTP URLs, the clock of a ``reload in hh:mm``)."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from smartinstall.wire import smi_client

if TYPE_CHECKING:
    from smartinstall.switch.machine import Switch

Operation = smi_client.Operation
UpgradeState = smi_client.UpgradeState

DEFAULT_CONFIG = "!\nhostname Switch\n!\nend\n"
FACTORY_IMAGE = "factory-universalk9-mz.122-55.SE.bin"


class State(enum.Enum):
    OFF = "off"
    BOOTING = "booting"
    DHCP = "dhcp"
    DOWNLOADING = "downloading"
    INSTALLING = "installing"
    RUNNING = "running"  # up with a configuration
    WAITING = "waiting"  # zero touch: an address but no Smart Install options yet
    ABORTED = "aborted"  # someone typed on the console during zero touch
    LEGACY_WAITING = "legacy-waiting"  # tailored configuration applied, director to drive
    DEAD = "dead"  # fault: never comes back


class FetchError(Exception):
    """A TFTP download that failed (missing file, timeout, size mismatch). ``transient``: the
    server did not answer or went away (a later try may succeed), as opposed to a refusal."""

    def __init__(self, message: str, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class SendError(Exception):
    """The director did not take a message. ``transient``: no answer came (unreachable, or
    busy refusing connections under a flood), so the message is sent again; a refusal in an
    acknowledgement is not."""

    def __init__(self, message: str, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


#: a report the director did not answer is sent again after 0.25 s, 0.5 s, 1 s ... (doubling),
#: as long as the waits add up to at most one keepalive period and REPORT_ATTEMPTS in all
REPORT_RESEND_FIRST = 0.25
REPORT_ATTEMPTS = 6


# --- facts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lease:
    """A DHCP answer as the switch reads it."""

    ip: str
    imagelist: str | None = None  # 125/5
    director: str | None = None  # 125/16
    config: str | None = None  # 67
    tftp_server: str | None = None  # 150
    hostname: str | None = None  # 12

    @property
    def smart_install(self) -> bool:
        return self.director is not None or self.imagelist is not None


@dataclass(frozen=True)
class Member:
    number: int
    pid: str
    mac: str
    serial: str = ""


@dataclass(frozen=True)
class Faults:
    """Failures to play. ``reboot_after_bytes``: the first image download reboots the switch
    after that many bytes; ``never_return``: after the install reload it stays silent (no
    hello, no keepalives); ``tftp_delay``: seconds before each download (a slow server/link)."""

    reboot_after_bytes: int | None = None
    never_return: bool = False
    tftp_delay: float = 0.0


@dataclass(frozen=True)
class SwitchConfig:
    pid: str
    mac: str
    address: str  # the switch's own loopback address before DHCP (its relay/giaddr address)
    serial: str = ""
    version_id: str = "V01"  # the "Version ID" of show version (the VID of the UDI)
    legacy: bool = False
    members: tuple[Member, ...] = ()  # a stack: members 1-9 (member 1 is this switch)
    supervisor: str = ""  # Catalyst 4500
    chassis: str = ""
    neighbors: tuple[smi_client.Neighbor, ...] = ()  # CDP table it reports
    upstream_port: str = ""  # option 82 circuit id
    upstream_mac: str = ""  # option 82 remote id
    director_port: int = 4786
    tftp_port: int = 69  # port of the option 150 server
    keepalive: float = 60.0
    dhcp_retry: float = 5.0
    faults: Faults = field(default_factory=Faults)

    def __post_init__(self) -> None:
        if len(self.members) > 9:
            raise ValueError("a stack has at most nine members")
        numbers = [m.number for m in self.members]
        if any(not 1 <= n <= 9 for n in numbers) or len(set(numbers)) != len(numbers):
            raise ValueError("stack member numbers are 1-9, each once")
        if self.keepalive <= 0 or self.dhcp_retry <= 0:
            raise ValueError("keepalive and DHCP retry periods must be positive")

    @property
    def is_stack(self) -> bool:
        return len(self.members) > 1

    @property
    def serial_number(self) -> str:
        return self.serial or f"FOC{self.mac.replace('.', '')[-8:].upper()}"


class SwitchIo(Protocol):
    """Everything a switch does on the network."""

    async def dhcp(self, switch: Switch, refresh: str | None = None) -> Lease | None:
        """DISCOVER/REQUEST (or only REQUEST for ``refresh``, an address already leased)."""

    async def fetch(
        self, switch: Switch, host: str, port: int, name: str, sink: Callable[[bytes], None]
    ) -> int:
        """Download ``name`` from ``host:port``, handing each block to ``sink``; the size.
        Raises FetchError."""

    async def upload(self, switch: Switch, url: str, data: bytes) -> None:
        """TFTP write from the switch's own address. Raises FetchError."""

    async def send(self, switch: Switch, message: smi_client.ClientMessage) -> None:
        """One message to the director. Raises SendError."""

    async def listen(self, switch: Switch) -> None:
        """Open port 4786 on the switch's address (commands go to ``switch.command``)."""

    async def unlisten(self, switch: Switch) -> None: ...

    async def legacy_up(self, switch: Switch, director: str, trigger_port: int) -> None:
        """Legacy: offer the HTTP exec interface and call the director's trigger port (no
        call when ``trigger_port`` is 0: a configuration of its own with ``ip http server``)."""

    async def legacy_down(self, switch: Switch) -> None: ...


# --- helpers -----------------------------------------------------------------------------


def hostname_of(config: str) -> str | None:
    for line in config.splitlines():
        words = line.split()
        if len(words) == 2 and words[0] == "hostname":
            return words[1]
    return None


def with_hostname(config: str, hostname: str) -> str:
    lines = [line for line in config.splitlines() if not line.startswith("hostname ")]
    return "\n".join([f"hostname {hostname}", *lines]) + "\n"


def split_tftp_url(url: str) -> tuple[str, int, str]:
    from smartinstall.services.tftp_client import parse_tftp_url

    try:
        return parse_tftp_url(url)
    except ValueError as error:
        raise FetchError(str(error)) from None


class Cancellable(Protocol):
    def cancel(self) -> None: ...


#: Runs a callback after a delay in seconds: the loop's ``call_later`` by default.
Timer = Callable[[float, Callable[[], None]], Cancellable]


def loop_timer(delay: float, callback: Callable[[], None]) -> Cancellable:
    return asyncio.get_running_loop().call_later(delay, callback)


def reload_delay(hours: int, minutes: int) -> float:
    """Seconds until a ``reload in hh:mm``: a delay, as IOS's ``reload in`` and the guide's
    example ("vstack download-image built-in 2960 24 mypassword reload in 10:00" — "The switch
    is set to reload in 10 hours"); 00:00 is now (SIET's "reload time 00:00")."""
    if not (0 <= hours <= 23 and 0 <= minutes <= 59):
        raise ValueError(f"reload in {hours}:{minutes} is not a valid hh:mm")
    return float(hours * 3600 + minutes * 60)


class _Rebooted(Exception):
    """Fault: the switch lost power in the middle of a download."""
