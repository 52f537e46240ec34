"""SMI Proxy (guide, chapter 4 "Configuring SMI Proxy"): its settings, the PnP profile it talks
through, the UDI of a proxied client, the proxy database and its file, and the reading of a
client's ``show version``. Pure: no I/O.

* ``vstack proxy {ip-address <ip> | interface <name>} [startup-vlan <vlan>] [pnp-profile
  <name>]``: :class:`ProxySettings` (the profile defaults to ``pnp-zero-touch``);
* ``pnp profile <name>`` / ``transport {http | https} ipv4 <ip> port <n>``: :class:`PnpProfile`;
* "SMI functionality works off the MAC address whereas the PnP solution, the UDI": a
  :class:`ProxyEntry` maps one to the other, with the entry's state; the database is kept in
  ``flash:/vstack/smi_pnp_proxy_db.txt`` (:func:`render_proxy_db`, :func:`parse_proxy_db`);
* "to acquire the PID, VID, and SN of each client, SMI Proxy follows the reverse telnet
  mechanism": :func:`parse_show_version` reads them from the client's ``show version``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

from smartinstall.domain.devices import validate_ipv4
from smartinstall.domain.errors import DomainError
from smartinstall.domain.values import normalize_mac

DEFAULT_PNP_PROFILE = "pnp-zero-touch"
#: the proxy database, in the director's flash: (guide: "flash:/vstack", smi_pnp_proxy_db.txt)
PROXY_DB_NAME = "vstack/smi_pnp_proxy_db.txt"
#: the tailored configuration the proxy regenerates at each start (guide: client_cfg_pnp.txt)
PNP_TAILORED_CONFIG_NAME = "vstack/client_cfg_pnp.txt"
#: what every client gets as its configuration at zero touch in proxy mode ("a director device
#: supports and treats all clients as older devices"): the tailored configuration
PNP_TAILORED_CONFIG = f"flash:{PNP_TAILORED_CONFIG_NAME}"
#: the services SMI Proxy carries out for a client (guide, "Unsupported Services")
SUPPORTED_SERVICES = (
    "capabilities",
    "config-upgrade",
    "device-info",
    "image-install",
    "topology",
    "backoff",
    "bye",
)
#: the error strings of the guide ("Unsupported Services")
UNSUPPORTED_SERVICE = "SMI PROXY:Not supported service request"
RUNNING_CONFIG_UNSUPPORTED = "SMI PROXY: Config upgrade apply to Running Config is not supported"
HARDWARE_INFO_UNSUPPORTED = "SMI PROXY:Client device hardware info not supported"
FILESYSTEM_INFO_UNSUPPORTED = "SMI PROXY:Client device filesystem info not supported"

PROFILE_NAME_MAX = 63
MAX_DB_ENTRIES = 8192
MAX_DB_LINE = 512
MAX_UDI_PART = 64
MAX_SHOW_VERSION = 256 * 1024
DB_HEADER = "! SMI PnP proxy database: MAC address, UDI, entry state (never cleared)"

_PROFILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
_UDI_PART = re.compile(r"[A-Za-z0-9_.+/-]*")
_UDI = re.compile(r"PID:([^,\s]*),VID:([^,\s]*),SN:([^,\s]*)")


class PnpTransport(Enum):
    HTTP = "http"
    HTTPS = "https"


@dataclass(frozen=True)
class PnpServerAddress:
    """``transport {http | https} ipv4 <ip> port <n> [remotecert <file>]``: where the PnP
    server is, and (HTTPS) the CA certificates on flash: its certificate must chain to (the
    system's trusted CAs without one)."""

    transport: PnpTransport
    address: str
    port: int
    remotecert: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "address", validate_ipv4(self.address))
        if not 1 <= self.port <= 65535:
            raise DomainError(f"% Invalid port: {self.port} (range 1 to 65535)", str(self.port))
        if self.remotecert is not None and self.transport is not PnpTransport.HTTPS:
            raise DomainError("% remotecert applies to the https transport only")

    @property
    def base_url(self) -> str:
        return f"{self.transport.value}://{self.address}:{self.port}"

    def render(self) -> str:
        line = f" transport {self.transport.value} ipv4 {self.address} port {self.port}"
        if self.remotecert:
            line += f" remotecert {self.remotecert}"
        return line


@dataclass
class PnpProfile:
    """``pnp profile <name>`` and its ``transport`` line."""

    name: str
    server: PnpServerAddress | None = None

    def render(self) -> list[str]:
        lines = [f"pnp profile {self.name}"]
        if self.server is not None:
            lines.append(self.server.render())
        return lines


def validate_profile_name(name: str) -> str:
    if not _PROFILE.fullmatch(name):
        raise DomainError(f"% Invalid profile name: {name[:40]!r}", name)
    return name


@dataclass
class ProxySettings:
    """``vstack proxy …``: the address the proxy (and the director inside it) uses, given as
    an address or as the interface that has it, and the PnP profile it is associated with.
    The start-up VLAN is the settings' own (``vstack startup-vlan``)."""

    ip: str | None = None
    interface: str | None = None
    profile: str = DEFAULT_PNP_PROFILE

    def render(self, startup_vlan: int | None) -> str:
        where = f"ip-address {self.ip}" if self.interface is None else f"interface {self.interface}"
        line = f"vstack proxy {where}"
        if startup_vlan is not None:
            line += f" startup-vlan {startup_vlan}"
        if self.profile != DEFAULT_PNP_PROFILE:
            line += f" pnp-profile {self.profile}"
        return line


# --- UDI ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientUdi:
    """The UDI the proxy makes for a client: ``PID:<pid>,VID:<vid>,SN:<sn>`` (VID may be
    empty, as in the PnP schemas' own sample)."""

    pid: str
    vid: str
    sn: str

    def __post_init__(self) -> None:
        for what, value in (("PID", self.pid), ("VID", self.vid), ("SN", self.sn)):
            if len(value) > MAX_UDI_PART or not _UDI_PART.fullmatch(value):
                raise DomainError(f"% Invalid {what} in UDI: {value[:40]!r}", value)
        if not self.pid or not self.sn:
            raise DomainError("% A UDI needs a PID and a serial number")

    def __str__(self) -> str:
        return f"PID:{self.pid},VID:{self.vid},SN:{self.sn}"

    @classmethod
    def parse(cls, text: str) -> ClientUdi:
        match = _UDI.fullmatch(text.strip())
        if match is None:
            raise DomainError(f"% Invalid UDI: {text[:60]!r}", text)
        return cls(match.group(1), match.group(2), match.group(3))


_VERSION_FIELDS = {
    "model number": "pid",
    "system serial number": "sn",
    "version id": "vid",
}


def parse_show_version(text: str) -> ClientUdi | None:
    """PID, VID and SN from a switch's ``show version`` (``Model number``, ``System serial
    number``, ``Version ID``); None when the output lacks the PID or the serial number. Reads
    at most the first 256 KiB; never raises."""
    found: dict[str, str] = {}
    for line in text[:MAX_SHOW_VERSION].splitlines():
        name, colon, value = line.partition(":")
        if not colon:
            continue
        key = _VERSION_FIELDS.get(" ".join(name.split()).lower())
        words = value.split()
        if key is None or key in found or len(words) != 1:
            continue
        found[key] = words[0]
    try:
        return ClientUdi(found.get("pid", "").upper(), found.get("vid", ""), found.get("sn", ""))
    except DomainError:
        return None


# --- the proxy database ---------------------------------------------------------------------


class EntryState(Enum):
    """The state of a proxy database entry: where the client is in its PnP exchanges."""

    NO_STATE = "NO STATE"  # in the database, no PnP exchange yet (read back after a restart)
    HELLO = "HELLO"  # the device-came-up notification (first work request) was sent
    WORKING = "WORKING"  # a service request of the PnP server is being carried out
    BACKOFF = "BACKOFF"  # waiting for the backoff timer before the next work request
    TERMINATED = "TERMINATED"  # the PnP server ended the exchanges (backoff terminate)
    FAILED = "FAILED"  # the PnP server cannot be reached (retried)

    @classmethod
    def parse(cls, text: str) -> EntryState:
        word = " ".join(text.split()).upper()
        for state in cls:
            if state.value == word:
                return state
        raise DomainError(f"% Invalid proxy entry state: {word[:40]!r}", text)


@dataclass(frozen=True)
class ProxyEntry:
    """One client of the proxy database: its MAC address, its UDI and the entry's state."""

    mac: str
    udi: ClientUdi
    state: EntryState = EntryState.NO_STATE

    def __post_init__(self) -> None:
        object.__setattr__(self, "mac", normalize_mac(self.mac))


@dataclass
class ProxyDatabase:
    """The entries by MAC address, in the order they were added. An entry is added once and
    never removed ("Clearing this database is disallowed"); its state changes."""

    entries: dict[str, ProxyEntry] = field(default_factory=dict)

    def add(self, mac: str, udi: ClientUdi) -> tuple[ProxyEntry, bool]:
        """The entry of ``mac`` (added when missing: "If the entry exists, SMI Proxy takes no
        action"); and whether it was added."""
        mac = normalize_mac(mac)
        existing = self.entries.get(mac)
        if existing is not None:
            return existing, False
        if len(self.entries) >= MAX_DB_ENTRIES:
            raise DomainError(f"% The proxy database is full ({MAX_DB_ENTRIES} entries)")
        entry = ProxyEntry(mac, udi)
        self.entries[mac] = entry
        return entry, True

    def set_state(self, mac: str, state: EntryState) -> bool:
        """Whether the state changed."""
        entry = self.entries.get(normalize_mac(mac))
        if entry is None or entry.state is state:
            return False
        self.entries[entry.mac] = ProxyEntry(entry.mac, entry.udi, state)
        return True

    def by_udi(self, udi: str) -> ProxyEntry | None:
        return next((e for e in self.entries.values() if str(e.udi) == udi), None)

    def by_mac(self, mac: str) -> ProxyEntry | None:
        return self.entries.get(normalize_mac(mac))

    def __len__(self) -> int:
        return len(self.entries)


def render_proxy_db(database: ProxyDatabase) -> str:
    """The file: a comment line, then ``<mac> <udi> <state>`` per entry."""
    lines = [DB_HEADER]
    lines.extend(f"{e.mac} {e.udi} {e.state.value}" for e in database.entries.values())
    return "\n".join(lines) + "\n"


def parse_proxy_db(text: str) -> tuple[ProxyDatabase, list[str]]:
    """The database a file holds, and one message per line that was skipped (bounded: at most
    ``MAX_DB_ENTRIES`` entries of ``MAX_DB_LINE`` characters). Never raises."""
    database = ProxyDatabase()
    skipped: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("!"):
            continue
        if len(database) >= MAX_DB_ENTRIES:
            skipped.append(f"line {number}: more than {MAX_DB_ENTRIES} entries")
            break
        words = stripped[:MAX_DB_LINE].split(maxsplit=2)
        try:
            if len(words) < 2 or len(stripped) > MAX_DB_LINE:
                raise DomainError("expected <mac> <udi> [<state>]")
            state = EntryState.parse(words[2]) if len(words) == 3 else EntryState.NO_STATE
            entry, added = database.add(words[0], ClientUdi.parse(words[1]))
            if added:
                database.entries[entry.mac] = ProxyEntry(entry.mac, entry.udi, state)
        except DomainError as error:
            skipped.append(f"line {number}: {error}")
    return database, skipped


__all__ = [
    "DEFAULT_PNP_PROFILE",
    "FILESYSTEM_INFO_UNSUPPORTED",
    "HARDWARE_INFO_UNSUPPORTED",
    "PNP_TAILORED_CONFIG",
    "PNP_TAILORED_CONFIG_NAME",
    "PROXY_DB_NAME",
    "RUNNING_CONFIG_UNSUPPORTED",
    "SUPPORTED_SERVICES",
    "UNSUPPORTED_SERVICE",
    "ClientUdi",
    "EntryState",
    "PnpProfile",
    "PnpServerAddress",
    "PnpTransport",
    "ProxyDatabase",
    "ProxyEntry",
    "ProxySettings",
    "parse_proxy_db",
    "parse_show_version",
    "render_proxy_db",
    "validate_profile_name",
]
