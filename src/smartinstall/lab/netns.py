"""``smartinstall lab --netns``: the branch on a Linux bridge, with real broadcast DHCP (root).

The loopback lab relays every switch's DHCP (there is no broadcast on ``lo``). This mode puts
the branch on a segment of its own instead, made of network namespaces:

* the director's namespace holds a bridge (``br0``) with the director's address on it; the
  director process runs there (``ip netns exec``) on the standard ports — DHCP 67 bound to
  ``br0`` on 0.0.0.0 (``smartinstall director --dhcp-interface br0``), TFTP 69, SMI 4786;
* every switch has a namespace of its own with one interface, ``eth0``, carrying the switch's
  MAC, cabled to the bridge by a veth pair. The switch broadcasts DISCOVER and REQUEST from
  0.0.0.0:68 to 255.255.255.255:67 (no relay, no option 82: the director learns who is behind
  whom from the switches' CDP reports, as on a real flat startup VLAN), puts the leased
  address on ``eth0`` and then speaks TFTP, SMI (4786) and telnet (23) from it.

The emulated switches stay in this process: each runs on an event loop of its own in a thread
that entered the switch's namespace (``setns(2)``: a socket belongs to the namespace of the
thread that opened it), so the progress table reads them as in the loopback lab.

The topology keeps its 127.0.0.0/8 addresses: in every namespace ``lo`` keeps only
127.0.0.1/32 and ``route_localnet`` lets the others cross the veths. Nothing leaves the
namespaces this lab creates; they are deleted when it stops (and namespaces left by a lab
whose process died are removed by the next one).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ipaddress
import logging
import os
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from smartinstall.ios.director_commands import replay_director_config
from smartinstall.lab.runner import (
    DirectorPorts,
    DirectorRunner,
    Lab,
    LabError,
    LabNetIo,
    LabSwitchRun,
)
from smartinstall.lab.topology import LabSwitch, LabTopology
from smartinstall.switch.machine import State, Switch
from smartinstall.switch.netio import NetConfig
from smartinstall.switch.shell import TelnetConsole
from smartinstall.wire.dhcp import DhcpPacket, MessageType, Opt

log = logging.getLogger(__name__)

T = TypeVar("T")

CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")
BRIDGE = "br0"
SWITCH_IF = "eth0"
STANDARD_PORTS = DirectorPorts(
    dhcp=67, relay=67, tftp=69, smi=4786, client_smi=4786, client_telnet=23
)
_OURS = re.compile(r"^si(\d+)-(d|s\d+)$")  # a lab's director and switch namespaces


class NetnsError(LabError):
    """The namespaces could not be set up; the message is one line."""


def enter_netns(name: str) -> None:
    """Move the calling thread into network namespace ``name`` (``setns(2)``)."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(NETNS_DIR / name, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"setns {name}: {os.strerror(error)}")
    finally:
        os.close(fd)


def _ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)}: {result.stderr.strip() or result.returncode}")


def _sysctl(namespace: str, *settings: str) -> None:
    result = subprocess.run(
        ["ip", "netns", "exec", namespace, "sysctl", "-qw", *settings],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise NetnsError(f"sysctl in {namespace}: {result.stderr.strip() or result.returncode}")


def check_privileges() -> None:
    if os.geteuid() != 0:
        raise NetnsError("--netns needs root (it creates network namespaces and a bridge)")
    for program in ("ip", "sysctl"):
        if shutil.which(program) is None:
            raise NetnsError(f"--netns needs the {program} program (iproute2, procps)")


def remove_stale_namespaces() -> list[str]:
    """Delete the namespaces of labs whose process is gone (``si<pid>-…``)."""
    removed = []
    names = sorted(p.name for p in NETNS_DIR.iterdir()) if NETNS_DIR.is_dir() else []
    for name in names:
        match = _OURS.match(name)
        if match is None or Path(f"/proc/{match[1]}").exists():
            continue
        with contextlib.suppress(NetnsError):
            _ip("netns", "delete", name)
            removed.append(name)
    if removed:
        log.info("removed %d namespaces of a lab that is gone", len(removed))
    return removed


def director_network(topology: LabTopology) -> ipaddress.IPv4Network:
    """The segment: the director's DHCP pool that holds the director's address (a /24 around
    the director when no pool does)."""
    settings = replay_director_config(topology.director_config, lambda address: True).settings
    director = ipaddress.IPv4Address(topology.inventory.director_address)
    for pool in settings.dhcp_pools.values():
        if pool.network is not None and director in pool.network:
            return pool.network
    return ipaddress.IPv4Network(f"{director}/24", strict=False)


@dataclass
class Fabric:
    """The namespaces, the bridge and the veth pairs of one lab."""

    tag: str = field(default_factory=lambda: f"si{os.getpid()}")
    director_ns: str = ""
    switch_ns: dict[str, str] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.director_ns = self.director_ns or f"{self.tag}-d"

    def _namespace(self, name: str) -> None:
        _ip("netns", "add", name)
        self.created.append(name)
        _ip("-n", name, "link", "set", "lo", "up")
        # lo keeps 127.0.0.1 only, so that the lab's other 127/8 addresses leave by eth0/br0
        _ip("-n", name, "addr", "del", "127.0.0.1/8", "dev", "lo")
        _ip("-n", name, "addr", "add", "127.0.0.1/32", "dev", "lo")
        _sysctl(
            name, "net.ipv4.conf.all.route_localnet=1", "net.ipv4.conf.default.route_localnet=1"
        )

    def create(
        self, director: str, network: ipaddress.IPv4Network, switches: list[tuple[str, str]]
    ) -> None:
        """The director's namespace with the bridge, then one namespace per (name, MAC)."""
        try:
            self._namespace(self.director_ns)
            d = self.director_ns
            _ip("-n", d, "link", "add", BRIDGE, "type", "bridge")
            _ip("-n", d, "addr", "add", f"{director}/{network.prefixlen}", "dev", BRIDGE)
            _ip("-n", d, "link", "set", BRIDGE, "up")
            _sysctl(d, f"net.ipv4.conf.{BRIDGE}.route_localnet=1")
            for index, (name, mac) in enumerate(switches, start=1):
                ns = f"{self.tag}-s{index}"
                self._namespace(ns)
                self.switch_ns[name] = ns
                port = f"sw{index}"
                _ip(
                    "-n",
                    d,
                    "link",
                    "add",
                    port,
                    "type",
                    "veth",
                    "peer",
                    "name",
                    SWITCH_IF,
                    "netns",
                    ns,
                )
                _ip("-n", d, "link", "set", port, "master", BRIDGE, "up")
                raw = mac.replace(".", "")
                colons = ":".join(raw[i : i + 2] for i in range(0, 12, 2))
                _ip("-n", ns, "link", "set", SWITCH_IF, "address", colons, "up")
                _sysctl(ns, f"net.ipv4.conf.{SWITCH_IF}.route_localnet=1")
        except BaseException:
            self.destroy()
            raise

    def destroy(self) -> None:
        """Delete every namespace (their veths and the bridge go with them)."""
        for name in reversed(self.created):
            with contextlib.suppress(NetnsError):
                _ip("netns", "delete", name)
        self.created.clear()
        self.switch_ns.clear()


class NamespaceLoop:
    """A thread in a network namespace running an event loop of its own."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"netns {namespace}", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise NetnsError(f"cannot enter {namespace}: {self._error}")

    def _run(self) -> None:
        try:
            enter_netns(self.namespace)
        except OSError as error:
            self._error = error
            self._ready.set()
            return
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        self.loop.run_forever()

    async def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on this loop and wait for it from the caller's loop."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self.loop))

    def soon(self, callback: Any, *args: Any) -> None:
        self.loop.call_soon_threadsafe(callback, *args)

    async def close(self) -> None:
        if self._error is None and self._thread.is_alive():

            async def cancel_all() -> None:
                tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.call(cancel_all()), 10)
            self.loop.call_soon_threadsafe(self.loop.stop)
            await asyncio.to_thread(self._thread.join, 10)
        if not self._thread.is_alive():
            self.loop.close()


class BroadcastNetIo(LabNetIo):
    """A switch on the bridge: DHCP broadcast from 0.0.0.0:68 on ``eth0`` (no relay), the
    leased address put on ``eth0`` before anything else is sent."""

    def __init__(self, net: NetConfig, namespace: str) -> None:
        super().__init__(net)
        self.namespace = namespace

    def listen_host(self, switch: Switch) -> str:
        # the namespace is the switch's own: port 4786 on every address, from power-on
        return "0.0.0.0"

    def _dhcp_socket(self, switch: Switch) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, SWITCH_IF.encode())
            sock.setblocking(False)
            sock.bind(("0.0.0.0", 68))
        except OSError:
            sock.close()
            raise
        return sock

    def _request(
        self,
        switch: Switch,
        kind: MessageType,
        xid: int,
        requested: str | None = None,
        server_id: bytes | None = None,
    ) -> DhcpPacket:
        packet = super()._request(switch, kind, xid, requested, server_id)
        packet.giaddr = bytes(4)
        packet.hops = 0
        packet.flags = DhcpPacket.BROADCAST_FLAG  # no address yet: answer by broadcast
        # a flat segment has no relay to add option 82; CDP reports tell who is upstream
        packet.options = [o for o in packet.options if o[0] != Opt.RELAY_AGENT_INFO]
        return packet

    async def _bound(self, switch: Switch, ack: DhcpPacket) -> None:
        mask = ack.get(Opt.SUBNET_MASK)
        prefix = (
            ipaddress.IPv4Network(f"0.0.0.0/{socket.inet_ntoa(mask)}").prefixlen
            if mask and len(mask) == 4
            else 24
        )
        address = socket.inet_ntoa(ack.yiaddr)
        if switch.ip == address:
            return
        # a new lease replaces whatever address eth0 had (IPv4 has no duplicate address
        # detection: the address is usable at once)
        for command in (
            ["ip", "-n", self.namespace, "-4", "addr", "flush", "dev", SWITCH_IF],
            ["ip", "-n", self.namespace, "addr", "add", f"{address}/{prefix}", "dev", SWITCH_IF],
        ):
            result = await asyncio.to_thread(
                subprocess.run, command, capture_output=True, text=True, check=False
            )
            if result.returncode != 0:
                raise OSError(f"{' '.join(command)}: {result.stderr.strip()}")


class NetnsLab(Lab):
    """A :class:`Lab` on network namespaces and a bridge (see the module's documentation)."""

    def __init__(self, topology: LabTopology, workdir: Path, *, dhcp_retry: float = 1.0) -> None:
        if topology.file_servers:
            raise NetnsError("lab: file_servers run in the loopback lab only, not with --netns")
        super().__init__(topology, workdir, dhcp_retry=dhcp_retry)
        self.fabric = Fabric()
        self.director = DirectorRunner(
            self.data_dir,
            self.address,
            STANDARD_PORTS,
            topology.keepalive,
            self.timezone,
            wrapper=("ip", "netns", "exec", self.fabric.director_ns),
            extra=("--dhcp-interface", BRIDGE),
        )
        self.loops: dict[str, NamespaceLoop] = {}

    def _make_switch(self, item: LabSwitch) -> Switch:
        switch = super()._make_switch(item)
        namespace = self.fabric.switch_ns[item.name]
        net = switch.io.net  # type: ignore[attr-defined]
        net.dhcp_server = ("255.255.255.255", 67)
        net.relay_port = 68
        net.smi_port = 4786
        net.http_port = 80
        switch.io = BroadcastNetIo(net, namespace)
        return switch

    async def _prepare_network(self) -> None:
        """The namespaces, the bridge and one event-loop thread per switch."""
        check_privileges()
        remove_stale_namespaces()
        network = director_network(self.topology)
        await asyncio.to_thread(
            self.fabric.create,
            self.address,
            network,
            [(item.name, item.spec.mac) for item in self.topology.switches],
        )
        for item in self.topology.switches:
            self.loops[item.name] = NamespaceLoop(self.fabric.switch_ns[item.name])

    async def _start_console(self, run: LabSwitchRun) -> None:
        # port 23 on any address of the switch's namespace (its address comes with the lease)
        console = TelnetConsole(run.switch, 23, host="0.0.0.0")
        await self.loops[run.item.name].call(console.start())
        run.console = console

    def _switch_on(self, run: LabSwitchRun) -> None:
        self.loops[run.item.name].soon(run.switch.power_on)

    async def _until_up(self, switch: Switch) -> None:
        # the switch lives on another thread's loop: poll its state
        while not (switch.state is State.RUNNING and switch.ip):
            await asyncio.sleep(0.2)

    def add_switch(self, item: LabSwitch) -> Switch:
        raise LabError("a --netns lab does not take switches after it started")

    async def _shutdown(self, run: LabSwitchRun) -> None:
        loop = self.loops.get(run.item.name)
        if loop is not None:
            await asyncio.wait_for(loop.call(super()._shutdown(run)), 15)

    async def _release_network(self) -> None:
        for loop in self.loops.values():
            await loop.close()
        self.loops.clear()
        await asyncio.to_thread(self.fabric.destroy)
