"""The neighbour protocols and IPv6 of the director's host as IOS shows them: ``show ipv6
interface``, ``show lldp`` and ``show cdp`` — the rest of what Ansible ``cisco.ios.ios_facts``
(``gather_subset: interfaces``) sends after ``show interfaces`` and ``show ip interface``.

* ``show ipv6 interface`` lists, like IOS, only the interfaces with IPv6 addresses, from the
  kernel's ``/proc/net/if_inet6`` read in a thread. Loopback-scope addresses (``::1``) have no
  IOS counterpart and are left out.
* The director runs no LLDP: ``show lldp`` answers IOS's ``% LLDP is not enabled``.
* The director sends no CDP packets; it learns the clients next to it from their Smart Install
  messages and keeps them for CDP's holdtime (``show cdp neighbors``). ``show cdp`` says so in
  IOS's global-information form, so a tool that asks ``show cdp`` before ``show cdp neighbors
  detail`` (ios_facts does) goes on to read them.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from pathlib import Path

from smartinstall.director.exec import host_probe
from smartinstall.director.exec.host import Family, finish_in_thread
from smartinstall.director.exec.host_probe import HostInterface
from smartinstall.director.exec.neighbors import HOLDTIME
from smartinstall.ios import EXEC, USER_LEVEL, Context

log = logging.getLogger(__name__)

IF_INET6 = Path("/proc/net/if_inet6")
#: /proc/net/if_inet6 scope values (IPV6_ADDR_* of the kernel)
SCOPE_HOST = 0x10
SCOPE_LINK = 0x20
#: at most this many lines of /proc/net/if_inet6 are read
MAX_LINES = 10_000


@dataclass(frozen=True)
class Ipv6Address:
    interface: str
    address: ipaddress.IPv6Interface
    scope: int


def parse_if_inet6(text: str) -> list[Ipv6Address]:
    """The rows of ``/proc/net/if_inet6``: address (32 hex digits), interface index, prefix
    length (hex), scope (hex), flags (hex), interface name. Malformed rows are skipped."""
    found: list[Ipv6Address] = []
    for line in text.splitlines()[:MAX_LINES]:
        fields = line.split()
        if len(fields) != 6 or len(fields[0]) != 32:
            continue
        try:
            packed = bytes.fromhex(fields[0])
            prefix = int(fields[2], 16)
            scope = int(fields[3], 16)
        except ValueError:
            continue
        if not 0 <= prefix <= 128:
            continue
        address = ipaddress.IPv6Address(packed)
        found.append(Ipv6Address(fields[5], ipaddress.IPv6Interface((address, prefix)), scope))
    return found


def ipv6_addresses() -> list[Ipv6Address]:
    try:
        text = IF_INET6.read_text(errors="replace")
    except OSError as error:
        log.debug("no IPv6 addresses from %s: %s", IF_INET6, error)
        return []
    return parse_if_inet6(text)


def _upper(address: ipaddress.IPv6Address | ipaddress.IPv6Network) -> str:
    return str(address).upper()


def render_ipv6_interface(interfaces: list[HostInterface], addresses: list[Ipv6Address]) -> str:
    """IOS's ``show ipv6 interface``: each interface with an IPv6 address, its link-local
    address and its other (unicast) addresses with their subnets, in kernel index order."""
    out: list[str] = []
    for interface in interfaces:
        own = [a for a in addresses if a.interface == interface.name and a.scope != SCOPE_HOST]
        if not own:
            continue
        status = (
            "administratively down"
            if not interface.admin_up
            else ("up" if interface.oper_up else "down")
        )
        protocol = "up" if interface.oper_up else "down"
        out.append(f"{interface.name} is {status}, line protocol is {protocol}\n")
        link_local = next((a for a in own if a.scope == SCOPE_LINK), None)
        if link_local is None:
            out.append("  IPv6 is enabled, no link-local address\n")
        else:
            out.append(
                f"  IPv6 is enabled, link-local address is {_upper(link_local.address.ip)} \n"
            )
        out.append("  No Virtual link-local address(es):\n")
        unicast = [a for a in own if a.scope != SCOPE_LINK]
        if unicast:
            out.append("  Global unicast address(es):\n")
            out.extend(
                f"    {_upper(a.address.ip)}, subnet is {_upper(a.address.network)} \n"
                for a in unicast
            )
        out.append(f"  MTU is {interface.mtu} bytes\n")
    return "".join(out)


def render_cdp_global() -> str:
    return (
        "Global CDP information:\n"
        "\tSending CDP packets: no (neighbors are learned from Smart Install messages)\n"
        f"\tNeighbor entries are held {HOLDTIME} seconds\n"
    )


class HostProtocolCommands(Family):
    """``show ipv6 interface``, ``show lldp``, ``show cdp``."""

    def declare(self) -> None:
        c = self.command
        c(
            EXEC,
            "show ipv6 interface",
            self._show_ipv6_interface,
            level=USER_LEVEL,
            output=True,
            help={"ipv6": "IPv6 information", "interface": "IPv6 interface status"},
        )
        c(
            EXEC,
            "show lldp",
            self._show_lldp,
            level=USER_LEVEL,
            output=True,
            help={"lldp": "LLDP information"},
        )
        c(
            EXEC,
            "show cdp",
            self._show_cdp,
            level=USER_LEVEL,
            output=True,
            help={"cdp": "CDP information"},
        )

    def _show_ipv6_interface(self, ctx: Context) -> None:
        finish_in_thread(
            ctx, lambda: render_ipv6_interface(host_probe.interfaces(), ipv6_addresses())
        )

    def _show_lldp(self, ctx: Context) -> None:
        ctx.write("% LLDP is not enabled\n")

    def _show_cdp(self, ctx: Context) -> None:
        ctx.write(render_cdp_global())
