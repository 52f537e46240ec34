"""The director's view of its network as IOS shows a box's: ``show arp`` / ``show ip arp``
(from the DHCP bindings and the director database, both in memory) and ``show cdp neighbors
[detail]`` (the clients the director database records as connected to the director).

The rows come from the director's memory on the event loop; only the host's interfaces (which
interface holds each address) are read from the kernel, in a thread.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import time
from dataclasses import dataclass

from smartinstall.director.exec import host_probe
from smartinstall.director.exec.host import Family, finish_in_thread
from smartinstall.director.exec.host_probe import HostInterface
from smartinstall.domain.devices import Device
from smartinstall.domain.values import normalize_mac
from smartinstall.ios import EXEC, USER_LEVEL, Context

#: CDP's default holdtime: a neighbour not heard from for this long is gone
HOLDTIME = 180
ARP_HEADER = "Protocol  Address          Age (min)  Hardware Addr   Type   Interface\n"
CDP_LEGEND = (
    "Capability Codes: R - Router, T - Trans Bridge, B - Source Route Bridge\n"
    "                  S - Switch, H - Host, I - IGMP, r - Repeater, P - Phone, \n"
    "                  D - Remote, C - CVTA, M - Two-port Mac Relay \n\n"
)


@dataclass(frozen=True)
class ArpRow:
    ip: str
    mac: str
    age: int | None  # minutes; None for the director's own address


@dataclass(frozen=True)
class CdpRow:
    device_id: str
    ip: str
    platform: str
    version: str
    local_port: str  # the director's side ("" when the database does not say)
    port: str  # the client's side
    holdtime: int


def _ip_key(ip: str) -> int:
    try:
        return int(ipaddress.IPv4Address(ip))
    except ValueError:
        return 0


def render_arp(rows: list[ArpRow], interfaces: list[HostInterface]) -> str:
    out = [ARP_HEADER]
    for row in sorted(rows, key=lambda r: _ip_key(r.ip)):
        interface = host_probe.interface_of(row.ip, interfaces)
        age = "-" if row.age is None else str(row.age)
        out.append(
            f"Internet  {row.ip:<15} {age:>9}   {row.mac:<14}  ARPA   "
            f"{interface.name if interface else ''}".rstrip()
            + "\n"
        )
    return "".join(out)


def _short_port(name: str) -> str:
    """IOS's short interface names of ``show cdp neighbors``: ``Gig 1/0/1``."""
    for long, short in (
        ("TenGigabitEthernet", "Ten "),
        ("GigabitEthernet", "Gig "),
        ("FastEthernet", "Fas "),
    ):
        if name.startswith(long):
            return short + name[len(long) :]
    return name


def render_cdp(rows: list[CdpRow], interfaces: list[HostInterface], detail: bool) -> str:
    def local(row: CdpRow) -> str:
        if row.local_port:
            return row.local_port
        interface = host_probe.interface_of(row.ip, interfaces)
        return interface.name if interface else ""

    if detail:
        out: list[str] = []
        for row in rows:
            out.append(
                "-------------------------\n"
                f"Device ID: {row.device_id}\n"
                "Entry address(es): \n"
                f"  IP address: {row.ip}\n"
                f"Platform: cisco {row.platform},  Capabilities: Switch IGMP \n"
                f"Interface: {local(row)},  Port ID (outgoing port): {row.port}\n"
                f"Holdtime : {row.holdtime} sec\n\n"
                "Version :\n"
                f"{row.version}\n\n"
                "advertisement version: 2\n\n"
            )
        out.append(f"\nTotal cdp entries displayed : {len(rows)}\n")
        return "".join(out)
    out = [
        CDP_LEGEND,
        "Device ID        Local Intrfce     Holdtme    Capability  Platform  Port ID\n",
    ]
    for row in rows:
        device_id = row.device_id
        if len(device_id) > 16:  # IOS wraps a long device ID onto its own line
            out.append(device_id + "\n")
            device_id = ""
        out.append(
            f"{device_id:<16} {_short_port(local(row)):<17} {row.holdtime:<3}"
            f"{'S I':>18}  {row.platform[:9]:<9} {_short_port(row.port)}\n"
        )
    out.append(f"\nTotal cdp entries displayed : {len(rows)}\n")
    return "".join(out)


class NeighborCommands(Family):
    """``show arp``, ``show ip arp`` and ``show cdp neighbors [detail]``."""

    def declare(self) -> None:
        c = self.command
        arp_help = {"arp": "ARP table"}
        c(EXEC, "show arp", self._show_arp, level=USER_LEVEL, output=True, help=arp_help)
        c(
            EXEC,
            "show ip arp",
            self._show_arp,
            level=USER_LEVEL,
            output=True,
            help={"ip": "IP information", "arp": "IP ARP table"},
        )
        c(
            EXEC,
            "show cdp neighbors [detail]",
            self._show_cdp,
            level=USER_LEVEL,
            output=True,
            help={
                "cdp": "CDP information",
                "neighbors": "CDP neighbor entries",
                "detail": "Show detailed information",
            },
        )

    # --- rows from memory ---------------------------------------------------------------

    def arp_rows(self) -> list[ArpRow]:
        now = time.time()
        rows: dict[str, ArpRow] = {}
        director = self.host.director
        own = self.settings.director_ip or director.address
        rows[own] = ArpRow(own, "", None)
        dhcp = self.host.dhcp
        leases = getattr(dhcp, "leases", None) if dhcp is not None else None
        pools = list(getattr(dhcp, "pools", ()))
        for lease in list(leases or ()):
            if lease.expires <= now or not lease.mac or len(lease.mac) != 6:
                continue
            lease_time = next(
                (p.config.lease_time for p in pools if p.contains(lease.address)), 86_400
            )
            age = max(0, int(now - (lease.expires - lease_time)) // 60)
            ip = str(ipaddress.IPv4Address(lease.address))
            rows[ip] = ArpRow(ip, normalize_mac(lease.mac.hex()), age)
        wall = dt.datetime.now(dt.UTC)
        for record in self.host.state.device_records():
            device = record.device
            if not device.ip or device.is_director:
                continue
            heard = record.last_keepalive or record.updated_at
            age = max(0, int((wall - heard).total_seconds()) // 60)
            rows[device.ip] = ArpRow(device.ip, device.mac, age)
        return list(rows.values())

    def cdp_rows(self) -> list[CdpRow]:
        director = self.host.director
        own_ip = self.settings.director_ip or director.address
        own = next((d for d in self.host.state.devices() if d.is_director), None)
        wall = dt.datetime.now(dt.UTC)
        rows: list[CdpRow] = []
        for record in self.host.state.device_records():
            device = record.device
            if device.is_director or not _next_to(device, own_ip, own):
                continue
            heard = record.last_keepalive or record.updated_at
            held = HOLDTIME - int((wall - heard).total_seconds())
            if held <= 0:
                continue
            port = next(
                (
                    n.local_port
                    for n in device.neighbors
                    if n.ip == own_ip or (own and n.mac == own.mac)
                ),
                "",
            )
            if not port:  # a CDP neighbour always names its port: without it, not one
                continue
            rows.append(
                CdpRow(
                    device.hostname or device.mac,
                    device.ip,
                    device.pid or "unknown",
                    f"Cisco IOS Software, Version {device.version}" if device.version else "",
                    # the upstream port is the director's own only when the upstream is
                    device.upstream_port if _upstream_is_director(device, own_ip, own) else "",
                    port,
                    held,
                )
            )
        return sorted(rows, key=lambda row: row.device_id)

    # --- commands -----------------------------------------------------------------------

    def _show_arp(self, ctx: Context) -> None:
        rows = self.arp_rows()
        own = rows[0].ip

        def render() -> str:
            interfaces = host_probe.interfaces()
            mac = next(
                (i.mac for i in interfaces if host_probe.interface_of(own, [i]) is not None),
                "0000.0000.0000",
            )
            mine = [ArpRow(r.ip, mac, None) if r.age is None else r for r in rows]
            return render_arp(mine, interfaces)

        finish_in_thread(ctx, render)

    def _show_cdp(self, ctx: Context) -> None:
        rows = self.cdp_rows()
        detail = "detail" in ctx.keywords
        finish_in_thread(ctx, lambda: render_cdp(rows, host_probe.interfaces(), detail))


def _upstream_is_director(device: Device, own_ip: str, own: Device | None) -> bool:
    return bool(device.upstream_ip and device.upstream_ip == own_ip) or (
        own is not None and device.upstream_mac == own.mac
    )


def _next_to(device: Device, own_ip: str, own: Device | None) -> bool:
    """Whether the director database has ``device`` one hop from the director."""
    return device.hop == 1 or _upstream_is_director(device, own_ip, own)
