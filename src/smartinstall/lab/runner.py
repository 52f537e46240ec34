"""Run a lab: the director as a real process and every switch of the topology on this event loop.

The director is ``smartinstall director`` in a subprocess (its own data directory, its own
loopback address, unprivileged ports picked free at start). Each switch is a
:class:`smartinstall.switch.machine.Switch` on its own loopback address: it sends DHCP as a relay
agent would (``giaddr`` = its address) and asks for that same address, so the director leases
every switch the address the topology gives it (a connectivity group can then name an upstream
switch by IP, as the guide's ``match host <ip> interface <port>`` does).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import time
from dataclasses import dataclass, field
from dataclasses import replace as dc_replace
from pathlib import Path
from typing import Protocol

from smartinstall.director.facts import director_mac
from smartinstall.director.terminals import SOCKET_NAME
from smartinstall.director.views import show_vstack_download_status, show_vstack_status
from smartinstall.domain.devices import Device
from smartinstall.domain.groups import Assignment
from smartinstall.explain.report import explain_devices, group_label
from smartinstall.ios.director_commands import replay_director_config
from smartinstall.lab.director_process import (
    READY,
    DirectorPorts,
    DirectorRunner,
    InProcessDirector,
    LabError,
    free_port,
    read_internals,
    wait_until_committed,
)
from smartinstall.lab.file_servers import LabFileServer, copy_tree, write_files
from smartinstall.lab.pnp_lab import PNP_SERVER_DIR, LabPnpServer
from smartinstall.lab.progress import SwitchRow, is_upgraded, render_table
from smartinstall.lab.topology import LabSwitch, LabTopology, pinned_zone
from smartinstall.store.database import default_url
from smartinstall.store.identity import read_id
from smartinstall.store.records import BackupRecord, DownloadEntry
from smartinstall.store.sqlstore import DatabaseReader
from smartinstall.switch.flash import Flash
from smartinstall.switch.link import Impairment
from smartinstall.switch.machine import Faults, Member, State, Switch, SwitchConfig
from smartinstall.switch.netio import NetConfig, NetIo
from smartinstall.switch.shell import TelnetConsole
from smartinstall.wire import smi_client

__all__ = [
    "READY",
    "SOCKET_NAME",
    "DirectorPorts",
    "DirectorRunner",
    "InProcessDirector",
    "Lab",
    "LabDatabase",
    "LabError",
    "LabNetIo",
    "LabSwitchRun",
    "SwitchRow",
    "default_workdir",
    "free_port",
    "is_upgraded",
    "read_internals",
    "render_table",
    "wait_until_committed",
]

log = logging.getLogger(__name__)


class LabDatabase(Protocol):
    """The director's records as the lab reads them (its state, or its database)."""

    def devices(self) -> list[Device]: ...

    def downloads(self) -> list[DownloadEntry]: ...

    def device_by_mac(self, mac: str) -> Device | None: ...

    def latest_download(self, mac: str) -> DownloadEntry | None: ...

    def backups(self, mac: str | None = None) -> list[BackupRecord]: ...


class LabNetIo(NetIo):
    """A lab switch's network edges: those of every emulated switch, which asks the director
    for its own (topology) address and relays its DHCP with option 82 when it is cabled to
    the director or to another switch (:meth:`Lab._make_switch`)."""


@dataclass
class LabSwitchRun:
    item: LabSwitch
    switch: Switch
    finished_at: float | None = None
    entry: DownloadEntry | None = field(default=None, repr=False)
    console: TelnetConsole | None = field(default=None, repr=False)


class Lab:
    """A topology brought up on loopback. ``async with Lab(topology, workdir) as lab: ...``"""

    def __init__(
        self,
        topology: LabTopology,
        workdir: Path,
        *,
        dhcp_retry: float = 1.0,
        director_in_process: bool = False,
        database_url: str | None = None,
    ) -> None:
        self.topology = topology
        # a shared database (PostgreSQL) instead of the director's SQLite file
        self.database_url = database_url
        self.workdir = workdir
        self.dhcp_retry = dhcp_retry
        inventory = topology.inventory
        self.address = inventory.director_address
        self.data_dir = workdir / "director"
        self.timezone = pinned_zone(topology.clock) if topology.clock else inventory.timezone
        kind = InProcessDirector if director_in_process else DirectorRunner
        ports = DirectorPorts.pick(self.address)
        if topology.tftp_port is not None:
            ports = dc_replace(ports, tftp=topology.tftp_port)
        if topology.snmp_port is not None:
            ports = dc_replace(ports, snmp=topology.snmp_port)
        self.director: DirectorRunner | InProcessDirector = kind(
            self.data_dir, self.address, ports, topology.keepalive, self.timezone
        )
        if database_url is not None and isinstance(self.director, DirectorRunner):
            self.director.extra = ("--database", database_url)
        self.file_servers = [
            LabFileServer(spec, workdir / "file-servers" / spec.address, ports.tftp)
            for spec in topology.file_servers
        ]
        # SMI Proxy mode: the PnP server the director's proxy talks to (lab/pnp_lab.py)
        self.pnp_server = (
            LabPnpServer(topology.pnp_server, workdir / PNP_SERVER_DIR)
            if topology.pnp_server is not None
            else None
        )
        self.runs: dict[str, LabSwitchRun] = {}
        self.started_at = 0.0
        self._db: DatabaseReader | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._assignments: dict[str, Assignment] | None = None

    # --- set-up --------------------------------------------------------------------------

    def prepare(self) -> None:
        """The director's data directory: startup-config, flash files and generated images."""
        flash = self.data_dir / "flash"
        flash.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "startup-config").write_text(self.topology.director_config)
        copy_tree(self.topology.flash_dir, flash)
        write_files(flash, self.topology.images, self.topology.files)
        for server in self.file_servers:
            server.prepare()
        if self.pnp_server is not None:
            self.pnp_server.prepare()

    def _make_switch(self, item: LabSwitch) -> Switch:
        spec = item.spec
        by_name = self.topology.by_name()
        ports = self.director.ports
        children = [s for s in self.topology.switches if s.spec.upstream_device == spec.name]
        neighbors = tuple(
            smi_client.Neighbor(
                local_port=child.spec.upstream_interface or "GigabitEthernet1/0/1",
                mac=child.spec.mac,
                device_id=child.name,
                platform=f"cisco {child.spec.pid}" + (" legacy" if child.spec.legacy else ""),
            )
            for child in children
        )
        parent = by_name.get(spec.upstream_device)
        # option 82 as the relay agent on the upstream port inserts it: circuit id that port,
        # remote id the upstream device's MAC (the director's as the director computes it)
        upstream_mac = parent.mac if parent is not None else ""
        if spec.upstream_device == "director" and spec.upstream_interface:
            upstream_mac = director_mac(self.address)
        faults = item.faults
        config = SwitchConfig(
            pid=spec.pid or "WS-C2960X-48FPS-L",
            mac=spec.mac,
            address=spec.address,
            version_id=item.version_id,
            legacy=spec.legacy,
            members=tuple(Member(m.number, m.pid, m.mac) for m in spec.members),
            neighbors=neighbors,
            upstream_port=spec.upstream_interface if upstream_mac else "",
            upstream_mac=upstream_mac,
            director_port=ports.smi,
            tftp_port=ports.tftp,
            keepalive=self.topology.keepalive,
            dhcp_retry=self.dhcp_retry,
            faults=Faults(
                reboot_after_bytes=faults.reboot_after_bytes,
                never_return=faults.never_return,
                tftp_delay=faults.tftp_delay,
            ),
        )
        key = faults.auth_key if faults.auth_key is not None else self.topology.auth_key
        net = NetConfig(
            dhcp_server=(self.address, ports.dhcp),
            relay_port=ports.relay,
            smi_port=ports.client_smi,
            smi_key=key or None,
            http_port=free_port(spec.address, socket.SOCK_STREAM) if spec.legacy else 80,
            tftp_timeout=0.5,
            tftp_link=Impairment(loss=faults.tftp_loss, seed=1)
            if faults.tftp_loss
            else Impairment(),
        )
        flash = Flash(self.workdir / "switches" / spec.name)
        return Switch(config, flash, LabNetIo(net))

    async def start(self, power_on: bool = True, staged: bool = True) -> None:
        """Start the director, build every switch and (``power_on``) power them on: with
        ``staged`` a switch behind another one powers on once that one is up and has reported
        its neighbours (as a technician cables a branch outwards); else all at once."""
        self.prepare()
        await self._prepare_network()
        for server in self.file_servers:
            await server.start()
        if self.pnp_server is not None:
            await self.pnp_server.start()
        await self.director.start()
        self.started_at = time.monotonic()
        for item in self.topology.switches:
            run = LabSwitchRun(item, self._make_switch(item))
            self.runs[item.name] = run
            await self._start_console(run)
        if power_on:
            self.power_on(staged=staged)

    async def _start_console(self, run: LabSwitchRun) -> None:
        """The switch's telnet console on its own address, on the port the director was told
        (``--client-telnet-port``), so ``vstack attach`` and ``show vstack client`` reach it."""
        console = TelnetConsole(
            run.switch, self.director.ports.client_telnet, host=run.item.spec.address
        )
        try:
            await console.start()
        except OSError as error:
            log.warning("switch %s: no telnet console: %s", run.item.name, error)
            return
        run.console = console

    async def _prepare_network(self) -> None:
        """Before the director starts: nothing on loopback (every 127/8 address is there)."""

    def power_on(self, names: list[str] | None = None, staged: bool = True) -> None:
        for name in names or list(self.runs):
            run = self.runs[name]
            upstream = self.runs.get(run.item.spec.upstream_device)
            if staged and upstream is not None:
                self._tasks.add(
                    asyncio.get_running_loop().create_task(
                        self._power_on_after(run, upstream.switch)
                    )
                )
            else:
                self._switch_on(run)

    def _switch_on(self, run: LabSwitchRun) -> None:
        run.switch.power_on()

    async def _power_on_after(self, run: LabSwitchRun, upstream: Switch) -> None:
        await self._until_up(upstream)
        self._switch_on(run)

    async def _until_up(self, switch: Switch) -> None:
        await switch.wait_for(lambda s: s.state is State.RUNNING and bool(s.ip), 3600)

    def add_switch(self, item: LabSwitch) -> Switch:
        """A switch that was not in the topology (a replacement, a late arrival); not yet on."""
        if item.name in self.runs:
            raise ValueError(f"switch {item.name} is already in the lab")
        run = LabSwitchRun(item, self._make_switch(item))
        self.runs[item.name] = run
        return run.switch

    def switch(self, name: str) -> Switch:
        return self.runs[name].switch

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for run in self.runs.values():
            with contextlib.suppress(Exception):
                await self._shutdown(run)
        self.close_database()
        await self.director.stop()
        if isinstance(self.director, InProcessDirector):
            self.director.close_log()
        for server in self.file_servers:
            await server.close()
        if self.pnp_server is not None:
            await self.pnp_server.stop()
        await self._release_network()

    async def _shutdown(self, run: LabSwitchRun) -> None:
        """Power the switch off and close its console."""
        console, run.console = run.console, None
        try:
            await run.switch.shutdown()
        finally:
            if console is not None:
                await console.close()

    async def _release_network(self) -> None:
        """After the director stopped: nothing to undo on loopback."""

    async def __aenter__(self) -> Lab:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- the director's view -------------------------------------------------------------

    def database(self) -> LabDatabase:
        """What the director knows: its state itself when it runs in this process, else its
        database read-only beside the running director, once the director has committed
        what it knows (asked over its console socket)."""
        if isinstance(self.director, DirectorRunner) and self.director.process is not None:
            wait_until_committed(self.data_dir, timeout=5.0)
        return self._view()

    def _view(self) -> LabDatabase:
        """The director's records without waiting: the progress table's (a commit behind at
        most)."""
        if isinstance(self.director, InProcessDirector) and self.director.daemon is not None:
            return self.director.daemon.state
        if self._db is None:
            url = self.database_url or default_url(self.data_dir)
            self._db = DatabaseReader(url, read_id(self.data_dir))
        return self._db

    def close_database(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def show_status(self) -> str:
        return show_vstack_status(self.database().devices())

    def show_download_status(self) -> str:
        return show_vstack_download_status([e.view() for e in self.database().downloads()])

    def latest_download(self, mac: str) -> DownloadEntry | None:
        return self.database().latest_download(mac)

    # --- progress ------------------------------------------------------------------------

    def assignments(self) -> dict[str, Assignment]:
        """What ``smartinstall explain`` resolves for each switch of the topology from the
        director's startup-config (the same function: :func:`explain_devices`)."""
        if self._assignments is None:
            settings = replay_director_config(
                self.topology.director_config, lambda address: True
            ).settings
            now = dt.datetime.now(dt.UTC)
            self._assignments = {
                e.switch.name: e.assignment
                for e in explain_devices(settings, self.topology.inventory, now, dt.UTC)
            }
        return self._assignments

    def _nothing_done(self, run: LabSwitchRun, entry: DownloadEntry | None) -> bool:
        """A switch explain gives nothing to is done once the director has answered it with
        an address and no Smart Install files (it waits, as a switch without a configuration
        does) and it has downloaded nothing."""
        switch = run.switch
        return (
            entry is None
            and switch.state is State.WAITING
            and bool(switch.ip)
            and switch.bytes_downloaded == 0
        )

    def rows(self) -> list[SwitchRow]:
        now = time.monotonic()
        assignments = self.assignments()
        rows = []
        try:
            entries = {e.mac: e for e in self._view().downloads()}
        except Exception as error:  # the director may be writing its first schema
            log.debug("download status not readable yet: %s", error)
            entries = {}
        for name, run in self.runs.items():
            switch = run.switch
            entry = entries.get(switch.mac)
            run.entry = entry
            assignment = assignments.get(name)
            if self.pnp_server is not None:  # SMI Proxy mode: done once its PnP plan is
                assignment = None
                done = self.pnp_server.plan_done(switch.config.serial_number)
            elif assignment is not None and not assignment.ok:
                done = self._nothing_done(run, entry)
            else:
                done = is_upgraded(entry) and switch.state is State.RUNNING and switch.boots >= 2
            if done and run.finished_at is None:
                run.finished_at = now
            if not done:
                run.finished_at = None
            end = run.finished_at if run.finished_at is not None else now
            rows.append(SwitchRow(
                name=name, mac=switch.mac,
                pid=switch.config.pid + (f" x{len(switch.config.members)}"
                                         if switch.config.is_stack else ""),
                address=switch.config.address,
                state=switch.state.value + (" (legacy)" if switch.config.legacy else ""),
                bytes=switch.bytes_downloaded,
                seconds=end - self.started_at,
                image=entry.image.value if entry else "-",
                config=entry.config.value if entry else "-",
                script=entry.script.value if entry else "-",
                done=done,
                group=group_label(assignment) if assignment is not None else "-",
                nothing=assignment is not None and not assignment.ok,
            ))  # fmt: skip
        return rows

    def all_upgraded(self) -> bool:
        return all(row.done for row in self.rows())

    async def wait_until(self, predicate: object, timeout: float, every: float = 0.25) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():  # type: ignore[operator]
                return True
            await asyncio.sleep(every)
        return bool(predicate())  # type: ignore[operator]


def default_workdir(topology_path: Path) -> Path:
    return Path(os.environ.get("TMPDIR", "/tmp")) / f"smartinstall-lab-{topology_path.stem}"
