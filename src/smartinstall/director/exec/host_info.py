"""The director's host as IOS shows a box: ``show privilege``, ``show inventory``, ``show ip
interface [brief]``, ``show interfaces``, ``show hosts``, ``show memory statistics`` and ``show
processes cpu`` — what Netmiko, NAPALM ``ios`` (get_facts, get_interfaces, get_environment) and
Ansible ``cisco.ios`` (ios_facts, ``become: enable``) send.

Everything shown is the host's own: its real network interfaces, memory and load, read from the
kernel in a thread (``host_probe``), never on the event loop. Commands the host has nothing for
(``show environment …``) are not declared, so they get IOS's invalid-input answer, which the
drivers take for "not supported".
"""

from __future__ import annotations

import os
import platform

from smartinstall import __version__
from smartinstall.director.exec import host_probe
from smartinstall.director.exec.host import Family, finish_in_thread
from smartinstall.director.exec.host_probe import HostInterface
from smartinstall.domain.settings import Role
from smartinstall.ios import EXEC, USER_LEVEL, Context

INTERFACE_HELP = {"interfaces": "Interface status and configuration"}


def model(role: Role) -> str:
    """The product ID the director reports for itself."""
    return "SMARTINSTALL-DIRECTOR" if role is Role.DIRECTOR else "SMARTINSTALL-CLIENT"


def render_inventory(pid: str, serial: str) -> str:
    descr = f"smartinstall {pid.split('-')[-1].lower()} on {platform.system()} {platform.machine()}"
    return (
        f'NAME: "Chassis", DESCR: "{descr}"\n'
        f"PID: {pid:<22}, VID: {__version__:<5}, SN: {serial or 'unknown'}\n\n"
    )


def _status(interface: HostInterface) -> str:
    if not interface.admin_up:
        return "administratively down"
    return "up" if interface.oper_up else "down"


def render_ip_interface_brief(interfaces: list[HostInterface]) -> str:
    out = ["Interface              IP-Address      OK? Method Status                Protocol\n"]
    for interface in interfaces:
        ip = str(interface.addresses[0].ip) if interface.addresses else "unassigned"
        method = "manual" if interface.addresses else "unset"
        protocol = "up" if interface.oper_up else "down"
        out.append(
            f"{interface.name:<22} {ip:<15} YES {method:<6} {_status(interface):<21} {protocol}\n"
        )
    return "".join(out)


def render_ip_interface(interfaces: list[HostInterface]) -> str:
    """``show ip interface``: each interface's IPv4 addresses (primary, then secondary)."""
    out: list[str] = []
    for interface in interfaces:
        protocol = "up" if interface.oper_up else "down"
        out.append(f"{interface.name} is {_status(interface)}, line protocol is {protocol}\n")
        if not interface.addresses:
            out.append("  Internet protocol processing disabled\n")
            continue
        primary, *secondary = interface.addresses
        out.append(f"  Internet address is {primary.with_prefixlen}\n")
        out.append(f"  Broadcast address is {primary.network.broadcast_address}\n")
        out.append("  Address determined by non-volatile memory\n")
        out.append(f"  MTU is {interface.mtu} bytes\n")
        out.append("  Helper address is not set\n")
        out.extend(f"  Secondary address {a.with_prefixlen}\n" for a in secondary)
        out.append("  Outgoing access list is not set\n")
        out.append("  Inbound  access list is not set\n")
    return "".join(out)


def render_interfaces(interfaces: list[HostInterface]) -> str:
    out: list[str] = []
    for interface in interfaces:
        c = interface.counters
        protocol = "up" if interface.oper_up else "down"
        hardware = "Loopback" if interface.loopback else "Ethernet"
        encapsulation = "LOOPBACK" if interface.loopback else "ARPA"
        out.append(f"{interface.name} is {_status(interface)}, line protocol is {protocol} \n")
        out.append(f"  Hardware is {hardware}, address is {interface.mac} (bia {interface.mac})\n")
        for number, address in enumerate(interface.addresses):
            kind = "Internet address" if number == 0 else "Secondary address"
            out.append(f"  {kind} is {address.with_prefixlen}\n")
        out.append(
            f"  MTU {interface.mtu} bytes, BW {interface.bandwidth_kbit} Kbit/sec, "
            "DLY 10 usec, \n"
            "     reliability 255/255, txload 1/255, rxload 1/255\n"
            f"  Encapsulation {encapsulation}, loopback not set\n"
            "  Keepalive not set\n"
        )
        if interface.speed_mbps:
            out.append(f"  Full-duplex, {interface.speed_mbps}Mb/s\n")
        out.append(
            "  Last input never, output never, output hang never\n"
            '  Last clearing of "show interface" counters never\n'
            f"  Input queue: 0/75/{c.get('rx_dropped', 0)}/0 (size/max/drops/flushes); "
            f"Total output drops: {c.get('tx_dropped', 0)}\n"
            "  Queueing strategy: fifo\n"
            "  Output queue: 0/40 (size/max)\n"
            f"     {c.get('rx_packets', 0)} packets input, {c.get('rx_bytes', 0)} bytes, "
            "0 no buffer\n"
            f"     Received 0 broadcasts ({c.get('multicast', 0)} multicasts)\n"
            "     0 runts, 0 giants, 0 throttles \n"
            f"     {c.get('rx_errors', 0)} input errors, {c.get('rx_crc_errors', 0)} CRC, "
            f"{c.get('rx_frame_errors', 0)} frame, {c.get('rx_fifo_errors', 0)} overrun, "
            "0 ignored\n"
            f"     {c.get('tx_packets', 0)} packets output, {c.get('tx_bytes', 0)} bytes, "
            "0 underruns\n"
            f"     {c.get('tx_errors', 0)} output errors, {c.get('collisions', 0)} collisions, "
            "0 interface resets\n"
            f"     0 output buffer failures, 0 output buffers swapped out\n"
            f"     {c.get('tx_carrier_errors', 0)} lost carrier, 0 no carrier\n"
        )
    return "".join(out)


def render_hosts(resolver: host_probe.Resolver) -> str:
    domain = resolver.domain or "not set"
    servers = ", ".join(resolver.servers) if resolver.servers else "255.255.255.255"
    return (
        f"Default domain is {domain}\n"
        "Name/address lookup uses domain service\n"
        f"Name servers are {servers}\n"
    )


def render_memory_statistics(memory: host_probe.Memory) -> str:
    """IOS's pool table with the host's memory as the processor pool (no I/O pool). The host
    has no pool head address: ``-``. Numbers stay two spaces apart however large, as parsers
    (Ansible's ios_facts) split them on whitespace."""
    used = max(0, memory.total - memory.free)
    width = max(12, len(str(memory.total)) + 2)
    columns = ("Total(b)", "Used(b)", "Free(b)", "Lowest(b)", "Largest(b)")
    processor = (memory.total, used, memory.free, memory.free, memory.free)
    return (
        f"{'Head':>20}" + "".join(f"{name:>{width}}" for name in columns) + "\n"
        f"{'Processor':<10}{'-':>10}" + "".join(f"{n:>{width}}" for n in processor) + "\n"
        f"{'I/O':>9} {'-':>10}" + "".join(f"{0:>{width}}" for _ in columns) + "\n"
    )


def render_processes_cpu(loads: tuple[int, int, int]) -> str:
    """IOS's CPU line from the host's load averages: its five-second figure is the most
    recent the kernel keeps (the one-minute average)."""
    one, five, _ = loads
    times = os.times()
    runtime_ms = int((times.user + times.system) * 1000)
    return (
        f"CPU utilization for five seconds: {one}%/0%; one minute: {one}%; "
        f"five minutes: {five}%\n"
        " PID Runtime(ms)     Invoked      uSecs   5Sec   1Min   5Min TTY Process \n"
        f"{os.getpid():>4} {runtime_ms:>11} {1:>11} {0:>10} {one:>5.2f}% {one:>5.2f}% "
        f"{five:>5.2f}%   0 smartinstall director\n"
    )


class HostInfoCommands(Family):
    """``show privilege | inventory | ip interface [brief] | interfaces | hosts | memory
    statistics | processes cpu``."""

    def declare(self) -> None:
        c = self.command
        u = USER_LEVEL
        c(
            EXEC,
            "show privilege",
            self._show_privilege,
            level=u,
            output=True,
            help={"privilege": "Show current privilege level"},
        )
        c(
            EXEC,
            "show inventory",
            self._show_inventory,
            level=u,
            output=True,
            help={"inventory": "Show the physical inventory"},
        )
        c(
            EXEC,
            "show ip interface brief",
            self._show_ip_interface_brief,
            level=u,
            output=True,
            help={
                "ip": "IP information",
                "interface": "IP interface status and configuration",
                "brief": "Brief summary of IP status and configuration",
            },
        )
        c(
            EXEC,
            "show ip interface",
            self._show_ip_interface,
            level=u,
            output=True,
            help={"ip": "IP information", "interface": "IP interface status and configuration"},
        )
        c(
            EXEC,
            "show interfaces",
            self._show_interfaces,
            level=u,
            output=True,
            help=INTERFACE_HELP,
        )
        c(
            EXEC,
            "show hosts",
            self._show_hosts,
            level=u,
            output=True,
            help={"hosts": "IP domain-name, lookup style, nameservers, and host table"},
        )
        c(
            EXEC,
            "show memory statistics",
            self._show_memory,
            level=u,
            output=True,
            help={"memory": "Memory statistics", "statistics": "Memory statistics"},
        )
        c(
            EXEC,
            "show processes cpu",
            self._show_cpu,
            level=u,
            output=True,
            help={"processes": "Active process statistics", "cpu": "Show CPU use per process"},
        )

    def _show_privilege(self, ctx: Context) -> None:
        ctx.write(f"Current privilege level is {ctx.session.level}\n")

    def _show_inventory(self, ctx: Context) -> None:
        pid = model(self.host.director.role)
        finish_in_thread(ctx, lambda: render_inventory(pid, host_probe.host_id()))

    def _show_ip_interface_brief(self, ctx: Context) -> None:
        finish_in_thread(ctx, lambda: render_ip_interface_brief(host_probe.interfaces()))

    def _show_ip_interface(self, ctx: Context) -> None:
        finish_in_thread(ctx, lambda: render_ip_interface(host_probe.interfaces()))

    def _show_interfaces(self, ctx: Context) -> None:
        finish_in_thread(ctx, lambda: render_interfaces(host_probe.interfaces()))

    def _show_hosts(self, ctx: Context) -> None:
        finish_in_thread(ctx, lambda: render_hosts(host_probe.resolver()))

    def _show_memory(self, ctx: Context) -> None:
        finish_in_thread(ctx, lambda: render_memory_statistics(host_probe.memory()))

    def _show_cpu(self, ctx: Context) -> None:
        finish_in_thread(ctx, lambda: render_processes_cpu(host_probe.load_percent()))
