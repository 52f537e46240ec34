"""What the director's host is: its interfaces, memory, CPU load, host id and resolver, read
from the kernel (``/proc``, ``/sys/class/net`` and the ``SIOCGIFCONF`` ioctl).

Every function here reads files, so the EXEC commands call them in a thread
(:func:`~smartinstall.director.exec.host.finish_in_thread`), never on the event loop. They
never raise for a file the host lacks: a missing value is left empty or zero.
"""

from __future__ import annotations

import array
import fcntl
import ipaddress
import logging
import os
import socket
import struct
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

SYS_NET = Path("/sys/class/net")
#: ioctls of <linux/sockios.h>
SIOCGIFCONF = 0x8912
SIOCGIFNETMASK = 0x891B
IFF_UP = 0x1
ARPHRD_LOOPBACK = 772
#: one ``struct ifreq``: 16 bytes of name, 24 of union (64-bit Linux)
IFREQ_SIZE = 40
MAX_ADDRESSES = 512


@dataclass
class HostInterface:
    """One network interface of the host, as the kernel describes it."""

    name: str
    mac: str = "0000.0000.0000"
    loopback: bool = False
    mtu: int = 0
    admin_up: bool = False
    oper_up: bool = False
    speed_mbps: int | None = None
    #: IPv4 addresses with their prefix length, the primary first
    addresses: list[ipaddress.IPv4Interface] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)

    @property
    def bandwidth_kbit(self) -> int:
        """``BW`` of ``show interfaces``: the link speed, 10 Gbit/s when the kernel has none
        (loopback and virtual links have no speed; IOS gives its loopbacks 8 Gbit/s)."""
        return (self.speed_mbps or 10_000) * 1000


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace").strip()
    except OSError:
        return ""


def _int(text: str, default: int = 0) -> int:
    try:
        return int(text, 0) if text.startswith("0x") else int(text)
    except ValueError:
        return default


def dotted_mac(text: str) -> str:
    """``aa:bb:cc:dd:ee:ff`` as IOS writes it: ``aabb.ccdd.eeff``."""
    digits = text.replace(":", "").lower()
    if len(digits) != 12:
        digits = "0" * 12
    return f"{digits[0:4]}.{digits[4:8]}.{digits[8:12]}"


def ipv4_addresses() -> dict[str, list[ipaddress.IPv4Interface]]:
    """Every IPv4 address of the host by interface (``SIOCGIFCONF``), with its mask."""
    found: dict[str, list[ipaddress.IPv4Interface]] = {}
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            buffer = array.array("B", b"\0" * (MAX_ADDRESSES * IFREQ_SIZE))
            address, _ = buffer.buffer_info()
            request = struct.pack("iL", len(buffer), address)
            length = struct.unpack("iL", fcntl.ioctl(sock.fileno(), SIOCGIFCONF, request))[0]
            raw = buffer.tobytes()[:length]
            for offset in range(0, length, IFREQ_SIZE):
                label = raw[offset : offset + 16].split(b"\0", 1)[0].decode(errors="replace")
                ip = socket.inet_ntoa(raw[offset + 20 : offset + 24])
                name = label.split(":", 1)[0]  # an alias label (eth0:1) is its interface's
                mask = _netmask(sock, label)
                found.setdefault(name, []).append(ipaddress.IPv4Interface(f"{ip}/{mask}"))
    except OSError as error:
        log.debug("no IPv4 addresses from SIOCGIFCONF: %s", error)
    return found


def _netmask(sock: socket.socket, label: str) -> str:
    request = struct.pack("16s24x", label.encode()[:15])
    try:
        reply = fcntl.ioctl(sock.fileno(), SIOCGIFNETMASK, request)
    except OSError:
        return "32"
    return socket.inet_ntoa(reply[20:24])


COUNTERS = (
    "rx_packets",
    "rx_bytes",
    "rx_errors",
    "rx_dropped",
    "rx_crc_errors",
    "rx_frame_errors",
    "rx_fifo_errors",
    "multicast",
    "tx_packets",
    "tx_bytes",
    "tx_errors",
    "tx_dropped",
    "tx_fifo_errors",
    "collisions",
    "tx_carrier_errors",
)


def interfaces() -> list[HostInterface]:
    """The host's network interfaces in kernel index order."""
    addresses = ipv4_addresses()
    try:
        names = [name for _, name in sorted(socket.if_nameindex())]
    except OSError:
        names = sorted(addresses)
    found: list[HostInterface] = []
    for name in names:
        base = SYS_NET / name
        flags = _int(_read(base / "flags"))
        operstate = _read(base / "operstate")
        speed = _int(_read(base / "speed"), -1)
        counters = {counter: _int(_read(base / "statistics" / counter)) for counter in COUNTERS}
        found.append(
            HostInterface(
                name=name,
                mac=dotted_mac(_read(base / "address")),
                loopback=_int(_read(base / "type")) == ARPHRD_LOOPBACK,
                mtu=_int(_read(base / "mtu")),
                admin_up=bool(flags & IFF_UP),
                # loopback reports "unknown": it is up when it is administratively up
                oper_up=operstate == "up" or (operstate == "unknown" and bool(flags & IFF_UP)),
                speed_mbps=speed if speed > 0 else None,
                addresses=addresses.get(name, []),
                counters=counters,
            )
        )
    return found


def interface_of(address: str, host_interfaces: list[HostInterface]) -> HostInterface | None:
    """The interface whose subnet holds ``address`` (the most specific one)."""
    try:
        ip = ipaddress.IPv4Address(address)
    except ValueError:
        return None
    best: tuple[int, HostInterface] | None = None
    for interface in host_interfaces:
        for network in interface.addresses:
            if ip in network.network and (best is None or network.network.prefixlen > best[0]):
                best = (network.network.prefixlen, interface)
    return best[1] if best is not None else None


@dataclass
class Memory:
    total: int  # bytes
    free: int  # bytes available to new work


def memory() -> Memory:
    """The host's memory (``/proc/meminfo``)."""
    values: dict[str, int] = {}
    for line in _read(Path("/proc/meminfo")).splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts:
            values[key] = _int(parts[0]) * 1024
    total = values.get("MemTotal", 0)
    return Memory(total, values.get("MemAvailable", values.get("MemFree", 0)))


def load_percent() -> tuple[int, int, int]:
    """The 1-, 5- and 15-minute load averages as a share of the host's CPUs, in percent."""
    fields = _read(Path("/proc/loadavg")).split()
    cpus = os.cpu_count() or 1
    loads: list[int] = []
    for text in fields[:3]:
        try:
            loads.append(min(100, round(float(text) / cpus * 100)))
        except ValueError:
            loads.append(0)
    while len(loads) < 3:
        loads.append(0)
    return loads[0], loads[1], loads[2]


def host_id() -> str:
    """The host's identity (``/etc/machine-id``), upper case, as a board serial: 11
    characters like a Cisco serial number; empty when the host has none."""
    for path in (Path("/etc/machine-id"), Path("/var/lib/dbus/machine-id")):
        text = _read(path)
        if text:
            return text[:11].upper()
    return ""


@dataclass
class Resolver:
    domain: str = ""
    servers: list[str] = field(default_factory=list)


def resolver() -> Resolver:
    """The host's DNS resolver (``/etc/resolv.conf``): its default domain and servers."""
    found = Resolver()
    for line in _read(Path("/etc/resolv.conf")).splitlines():
        words = line.split()
        if len(words) < 2 or words[0].startswith(("#", ";")):
            continue
        if words[0] in ("domain", "search") and not found.domain:
            found.domain = words[1]
        elif words[0] == "nameserver":
            found.servers.append(words[1])
    return found
