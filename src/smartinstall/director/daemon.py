"""The director process: configuration, state, store and services on one event loop.

The director core (:class:`~smartinstall.director.core.Director`) owns every record in memory;
the store writer persists its changes on its own thread; the TFTP data transfers run in worker
processes. The event loop answers DHCP, Smart Install, TFTP requests and the operator's
terminals, and never waits for a disk.

Data directory layout::

    DIR/startup-config   the director's configuration (IOS text)
    DIR/flash/           "flash:": images, configurations, scripts; DIR/flash/vstack/ holds
                         imagelists, tailored configurations and client backups
    DIR/director.db      the director database (SQLite; or --database URL)
    DIR/dhcp/            remembered DHCP bindings (ip dhcp remember)

SIGTERM and SIGINT stop it cleanly (pending changes are committed first); SIGHUP reloads
``startup-config``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import logging
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path

from smartinstall import sdnotify
from smartinstall.director.bridges import (
    DirectorDhcpHook,
    DirectorSmiOwner,
    DirectorTftpHook,
    SmiCommandSender,
    TftpFileServer,
)
from smartinstall.director.core import Director
from smartinstall.director.eventlog import EventLog
from smartinstall.director.fleet_store import open_director_store
from smartinstall.director.http_bridge import DirectorHttpBridge
from smartinstall.director.internals import Internals, TftpLoad
from smartinstall.director.legacy import CoreLegacyBridge, LegacyTriggerServer
from smartinstall.director.monitor import LoopMonitor
from smartinstall.director.proxy import ProxyOptions, SmiProxy
from smartinstall.director.snmp_bridge import DirectorSnmpBridge
from smartinstall.director.standby import Membership, wants_fleet
from smartinstall.director.state import DirectorState
from smartinstall.director.terminals import DirectorTerminals
from smartinstall.domain.devices import DeviceType
from smartinstall.domain.errors import DomainError
from smartinstall.domain.settings import DirectorSettings
from smartinstall.hostaddr import host_owns_address
from smartinstall.ios.config import ConfigTooLarge, StartupConfig
from smartinstall.ios.director_commands import replay_director_config
from smartinstall.services.cli_auth import without_terminal_lines
from smartinstall.services.dhcp import (
    DhcpRelay,
    DhcpRelayConfig,
    DhcpServer,
    DhcpServerConfig,
    make_pool,
)
from smartinstall.services.dhcp_admission import AdmissionConfig
from smartinstall.services.http.service import HttpService
from smartinstall.services.smi import InvalidMessage, SmiDirectorServer, SmiSecurity
from smartinstall.services.smi_replay import CounterBook, JournalCounterStore, RepeatLimit
from smartinstall.services.syslog import SyslogSender, SyslogTarget, syslog_targets
from smartinstall.services.tftp import TftpServer, TftpServerConfig
from smartinstall.store.database import check_openable, default_url, mark_created, start_afresh
from smartinstall.store.identity import IdentityError
from smartinstall.store.identity import resolve as resolve_identity
from smartinstall.store.port import StoreError
from smartinstall.store.repository import Repository
from smartinstall.store.writer import COMMIT_DELAY, StoreTrouble, StoreWriter

log = logging.getLogger(__name__)

STARTUP_CONFIG = "startup-config"
FLASH = "flash"
SMI_COUNTERS = "smi-counters"  # the authenticated mode's counters (services/smi_replay.py)
TICK_SECONDS = 1.0
SHUTDOWN_GRACE = 2.0  # seconds background work may take to finish when the director stops


class ConfigError(Exception):
    """startup-config has lines the director rejects (one line: which, and what to do)."""


def default_tftp_workers() -> int:
    """One TFTP worker process per core (at most 4): more than the cores only adds CPU."""
    return max(1, min(4, os.cpu_count() or 1))


@dataclass
class DaemonOptions:
    data_dir: Path
    address: str | None = None
    dhcp_port: int = 67
    dhcp_client_port: int = 68
    dhcp_relay_port: int | None = None  # where replies to relay agents go (default: dhcp_port)
    dhcp_upstream_port: int = 67  # the third-party server's port (ip helper-address)
    # Switches on this interface's segment broadcast to us directly: listen on 0.0.0.0 bound to
    # the interface (a socket bound to a unicast address never sees 255.255.255.255).
    dhcp_interface: str | None = None
    tftp_port: int = 69
    smi_port: int = 4786
    client_smi_port: int = 4786
    database: str | None = None
    keepalive: float = 60.0
    timezone: dt.tzinfo = dt.UTC
    ssh_port: int | None = None
    telnet_port: int | None = None
    http_port: int | None = None  # REST API, dashboard, metrics (or ip http server)
    https_port: int | None = None  # the same over TLS (or ip http secure-server)
    snmp_port: int = 161  # the SNMP agent (on only with snmp-server lines)
    client_telnet_port: int = 23  # clients' telnet (vstack attach, show vstack client)
    commit_delay: float = COMMIT_DELAY  # longest wait of a change for the next commit
    ignore_config_errors: bool = False  # start even when startup-config has rejected lines
    new_database: bool = False  # begin with an empty database when it is missing or damaged
    rename_director_id: bool = False  # move the records of the previous director id to this one
    hot_standby: bool = False  # wait as the standby while another member of the id is active
    shared_dir: Path | None = None  # flash: and DHCP bindings of a standby pair (default: data)
    tftp_workers: int = field(default_factory=default_tftp_workers)  # 0: on the event loop


def load_settings(path: Path) -> tuple[DirectorSettings, list[tuple[int, str, str]]]:
    """Replay ``startup-config`` through the IOS engine with the director's commands; each
    rejected line is reported with its number, and the other lines still apply."""
    try:
        text = StartupConfig(path).read()
    except (OSError, ConfigTooLarge) as error:
        return DirectorSettings(), [(0, str(path), f"% cannot read {path}: {error}")]
    if text is None:
        return DirectorSettings(), []
    # the terminals' own lines (users, secrets, SSH/telnet, archive, file prompt, ip scp) are
    # the CLI's, not the director's
    text = without_terminal_lines(text)
    result = replay_director_config(text, host_owns_address, str(path))
    return result.settings, result.errors


class DirectorDaemon:
    def __init__(self, options: DaemonOptions) -> None:
        self.options = options
        self.data_dir = options.data_dir
        self.data_dir.mkdir(parents=True, exist_ok=True)
        settings, errors = load_settings(self.data_dir / STARTUP_CONFIG)
        for number, line, message in errors:
            log.error("startup-config line %d rejected: %s: %s", number, line, message)
        if errors and not options.ignore_config_errors:
            # a director that starts on half its configuration may hand switches the wrong
            # files, or be no director at all: refuse, naming the line
            number, line, message = errors[0]
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            raise ConfigError(
                f"{self.data_dir / STARTUP_CONFIG} line {number} rejected: {line}: "
                f"{message}{more}; fix it, or start with --ignore-config-errors"
            )
        self.events = EventLog(
            settings.hostname,
            tz=options.timezone,
            sender_factory=lambda target: SyslogSender(target),  # type: ignore[arg-type]
        )
        self.events.set_targets(_targets(settings, self.data_dir))
        self.events.trap = settings.syslog.trap
        url = self.database_url = options.database or default_url(self.data_dir)
        if options.new_database:
            for done in start_afresh(url):
                log.warning("%s: the director begins with an empty database", done)
        # a missing, empty or damaged database is refused here, before anything starts
        check_openable(url)
        try:
            self.identity = resolve_identity(self.data_dir, settings.director_id)
        except (IdentityError, DomainError) as error:
            raise ConfigError(str(error)) from error
        if options.hot_standby and not wants_fleet(url):
            raise ConfigError("--hot-standby needs a shared PostgreSQL database (--database)")
        identity, rename = self.identity, options.rename_director_id
        self.writer = StoreWriter(
            lambda: open_director_store(
                url,
                self.data_dir,
                identity,
                rename=rename,
                fence=self._fence(),
                follower=self.fleet.follower if self.fleet is not None else None,
            ),
            commit_delay=options.commit_delay,
        )
        self.writer.on_trouble = self._store_trouble
        self.state = DirectorState()
        # a standby pair keeps flash: and the DHCP bindings where both members reach them
        self.shared_dir = options.shared_dir or self.data_dir
        self.repo = Repository(self.shared_dir / FLASH)
        self.address = options.address or settings.director_ip or "127.0.0.1"
        self.fleet = (
            Membership(
                url,
                identity.director_id,
                self.address,
                hot_standby=options.hot_standby,
                on_fenced=self._fenced,
            )
            if wants_fleet(url)
            else None
        )
        self.security = SmiSecurity.from_config(settings.smi_key, settings.allowed_clients)
        # authenticated mode: the director's counter and those of its clients, kept across
        # restarts in the data directory (docs/security.md, section 4)
        self.smi_counters = CounterBook(JournalCounterStore(self.shared_dir / SMI_COUNTERS))
        self._invalid_limit = RepeatLimit()  # SMI_INVALID_MESSAGE: once per source and type
        self.director = Director(
            settings,
            self.state,
            self.repo,
            self.events,
            address=self.address,
            owns_address=host_owns_address,
            send_command=self._command_sender(self.security),
            file_server=TftpFileServer(),
            client_smi_port=options.client_smi_port,
            tftp_port=options.tftp_port,
            keepalive_period=options.keepalive,
            tz=options.timezone,
            flush=self.writer.flush,
        )
        self.director.add_settings_listener(self._settings_changed)
        self.monitor = LoopMonitor()
        self.dhcp: DhcpServer | DhcpRelay | None = None
        self.tftp: TftpServer | None = None
        self.smi: SmiDirectorServer | None = None
        self.legacy: LegacyTriggerServer | None = None
        self.started_at = dt.datetime.now(options.timezone)
        self.terminals: DirectorTerminals | None = None
        self.http: HttpService | None = None
        self.snmp: DirectorSnmpBridge | None = None
        self.client_telnet_port = options.client_telnet_port
        # SMI Proxy mode (vstack proxy …): bridges the clients to a PnP server when configured
        self.proxy = SmiProxy(
            self.director,
            self.repo.root,
            ProxyOptions(client_telnet_port=options.client_telnet_port),
        )
        # what serve() has to do, and one event that wakes it for any of them
        self._stopping = self._reloading = self._changed = False
        self._wake = asyncio.Event()
        self._applied = self._snapshot()

    @property
    def settings(self) -> DirectorSettings:
        """The running settings: the director core's (SIGHUP replaces the object)."""
        return self.director.settings

    def _settings_changed(self) -> None:
        # the syslog threshold holds from the accepted command on (the next line logged may
        # come before the services follow the rest of the change)
        self.events.trap = self.settings.syslog.trap
        self._changed = True
        self._wake.set()

    def request_reload(self) -> None:
        """SIGHUP: replay startup-config."""
        self._reloading = True
        self._wake.set()

    def internals(self) -> Internals:
        """What ``show vstack internal`` shows."""
        tasks = self.director.tasks
        return Internals(
            uptime=dt.datetime.now(self.options.timezone) - self.started_at,
            entries=len(self.state),
            downloads=len(self.state.downloads()),
            lag=self.monitor.since_start(),
            lag_recent=self.monitor.recent(),
            writer=self.writer.stats(),
            tasks_running=dict(tasks.running),
            tasks_failed=dict(tasks.failed),
            failures=tuple(tasks.failures),
            tftp=_tftp_load(self.tftp),
            interrupted=self.director.interrupted_count(),
            notes=_dhcp_notes(self.dhcp),
        )

    # --- services ----------------------------------------------------------------------------

    def _dhcp_endpoint(self) -> DhcpServer | DhcpRelay | None:
        o = self.options
        hook = DirectorDhcpHook(self.director)
        pools = [
            make_pool(
                p.name,
                str(p.network),
                default_router=[p.default_router] if p.default_router else [],
                file_server=p.file_server,
            )
            for p in self.settings.dhcp_pools.values()
            if p.network is not None
        ]
        if pools:
            config = DhcpServerConfig(
                server_address=ipaddress.IPv4Address(self.address),
                pools=pools,
                listen_address="0.0.0.0" if o.dhcp_interface else self.address,
                interface=o.dhcp_interface,
                server_port=o.dhcp_port,
                client_port=o.dhcp_client_port,
                relay_port=o.dhcp_relay_port,
                data_dir=str(self.shared_dir / "dhcp") if self.settings.dhcp_remember else None,
                only_smart_install=bool(self.settings.helper_addresses),
            )
            # new clients admitted per switch port and in all: a flood of invented MACs
            # cannot take the pool or the table from real switches (docs/security.md)
            return DhcpServer(config, hook, admission=AdmissionConfig())
        if self.settings.helper_addresses:
            relay = DhcpRelayConfig(
                relay_address=ipaddress.IPv4Address(self.address),
                helper_addresses=[ipaddress.IPv4Address(a) for a in self.settings.helper_addresses],
                listen_address="0.0.0.0" if o.dhcp_interface else self.address,
                interface=o.dhcp_interface,
                server_port=o.dhcp_port,
                upstream_port=o.dhcp_upstream_port,
                client_port=o.dhcp_client_port,
            )
            return DhcpRelay(relay, hook)
        log.warning("no vstack dhcp-localserver pool and no ip helper-address: DHCP is off")
        return None

    def _fence(self) -> int | None:
        """The fencing token every commit checks (the active member's), None off a fleet."""
        return self.fleet.token if self.fleet is not None else None

    def _fenced(self, reason: str) -> None:
        """This member lost the database as the active one: another may be active now. It
        stops serving at once and writes nothing more (docs/scale-out.md)."""
        self.events.smi(
            "INTERNAL_ERROR",
            error=f"director {self.identity.director_id} fenced: {reason}; stopping",
            code=0,
        )
        self.request_stop()

    async def start(self) -> None:
        o = self.options
        self.monitor.start()
        # in a fleet, the active member of the director id loads and serves; the standby
        # waits here (docs/scale-out.md)
        if self.fleet is not None and not await self.fleet.become_active(
            self._wake, lambda: self._stopping
        ):
            return
        # The whole state, once, on the writer's thread; from now on every change the core
        # makes goes to the writer.
        self.state.restore(await self.writer.start())
        self.state.set_sink(self.writer.submit)
        # from now on this directory has a database: losing it is refused at the next start
        marker = await asyncio.to_thread(mark_created, self.database_url)
        if marker is not None:
            log.info("%s written: a missing database is refused from now on", marker)
        log.info(
            "director state loaded: %d entries, %d download-status rows",
            len(self.state),
            len(self.state.downloads()),
        )
        self.director.refresh_role()
        self.director.recover_interrupted()
        flash = self.repo.root
        backup_dir = self.director.backup_dir
        (flash / backup_dir).mkdir(parents=True, exist_ok=True)
        leftovers = await asyncio.to_thread(self.director.remove_leftovers)
        if leftovers:
            log.info("removed what interrupted backups left: %s", ", ".join(leftovers))
        self.tftp = TftpServer(
            TftpServerConfig(
                root=flash,
                host=self.address,
                port=o.tftp_port,
                upload_dir=flash / backup_dir,
                upload_prefix=backup_dir,
                # transfers run beside the control plane, which decides each request
                workers=o.tftp_workers,
            ),
            DirectorTftpHook(self.director),
        )
        await self.tftp.start()
        log.info(
            "TFTP server on %s:%d (flash: %s, %d worker processes)",
            self.address,
            o.tftp_port,
            flash,
            o.tftp_workers,
        )
        if self.settings.enabled:
            await self._start_smi()
        else:
            log.info("Smart Install disabled (no vstack): SMI port %d closed", o.smi_port)
        await self._start_dhcp()
        bridge = CoreLegacyBridge(self.director)
        legacy = LegacyTriggerServer(self.address, bridge, bridge, tasks=self.director.tasks)
        try:
            await legacy.start()
            self.legacy = legacy
            log.info("legacy trigger on %s:%d", self.address, legacy.port)
            for ip, http_port in self.director.legacy_to_drive_again():
                log.info("legacy client %s: its zero touch was under way; driven again", ip)
                self.director.tasks.spawn("legacy download", legacy.drive_client(ip, http_port))
        except OSError as error:
            log.warning(
                "legacy trigger port %d: %s (legacy clients will not be upgraded)",
                legacy.port,
                error,
            )
        self.terminals = DirectorTerminals(
            self, address=self.address, ssh_port=o.ssh_port, telnet_port=o.telnet_port
        )
        await self.terminals.start()
        await self.proxy.follow()  # SMI Proxy mode: its database, client_cfg_pnp.txt, agents
        # the REST API, dashboard and metrics (ip http …): off unless configured
        self.http = HttpService(DirectorHttpBridge(self), self.address, o.http_port, o.https_port)
        await self.http.apply(self.settings.http)
        # the SNMP agent (snmp-server …): off unless configured
        self.snmp = DirectorSnmpBridge(self, o.snmp_port)
        await self.snmp.follow()
        # "When the director boots up, it requests configuration information from clients
        # and backs up these configurations."
        if self.director.is_director and self.settings.backup.enabled:
            for device in self.state.devices():
                # a client that is not Smart Install capable has no SMI to ask
                smi = device.device_type is not DeviceType.NON_SMART_INSTALL
                if not device.is_director and device.ip and smi:
                    self.director.backup_later(device.mac)

    async def _start_smi(self) -> None:
        """Listen on the Smart Install port (``vstack``); nothing when already listening."""
        if self.smi is not None:
            return
        port = self.options.smi_port
        smi = SmiDirectorServer(
            DirectorSmiOwner(self.director),
            self.address,
            port,
            self.security,
            on_invalid=self._invalid_message,
            counters=self.smi_counters,
            is_known=self._is_client_address,
        )
        await smi.start()
        self.smi = smi
        # a report refused under a flood is not a missed keepalive (docs/security.md)
        self.director.refused_report_at = smi.admission.last_refused
        log.info("SMI server on %s:%d (%s)", self.address, port, self.security.mode)

    async def _stop_smi(self) -> None:
        """Close the Smart Install port (``no vstack``) and its connections."""
        smi, self.smi = self.smi, None
        if smi is None:
            return
        self.director.refused_report_at = None
        await smi.close()

    def _store_trouble(self, trouble: StoreTrouble) -> None:
        """Commits that fail (a full disk, a database gone) are a system message, to the log
        and to syslog: when they begin, then with their count once a minute while they last
        (the writer keeps the changes and retries; its log says when commits succeed again)."""
        if not trouble.failing:
            return
        count = f"; {trouble.failures} failed commits" if trouble.failures > 1 else ""
        self.events.smi(
            "INTERNAL_ERROR",
            error=f"director database: changes not committed, kept and retried "
            f"({trouble.reason}{count})",
            code=trouble.code,
        )

    def _is_client_address(self, ip: str) -> bool:
        """Is ``ip`` an address the director bound to a client (its SMI slots come first)?"""
        device = self.director.state.device_by_ip(ip)
        return device is not None and not device.is_director

    def _command_sender(self, security: SmiSecurity) -> SmiCommandSender:
        return SmiCommandSender.for_state(security, self.state, self.smi_counters, self.address)

    def _invalid_message(self, invalid: InvalidMessage) -> None:
        """Refused Smart Install messages are system messages (%SMI-6-SMI_INVALID_MESSAGE),
        one per source and message type per 10 s (the SMI log counts the others)."""
        if not self._invalid_limit.allow((invalid.peer.host, invalid.msg_type)):
            return
        self.events.smi(
            "SMI_INVALID_MESSAGE",
            device=invalid.device,
            ip=invalid.peer.host,
            version=invalid.smi_version,
            message_type=invalid.msg_type,
        )

    async def stop(self) -> None:
        await self.proxy.stop()
        if self.snmp is not None:
            await self.snmp.close()
        if self.http is not None:
            await self.http.close()
        if self.legacy is not None:
            await self.legacy.close()
        if self.terminals is not None:
            await self.terminals.stop()
        if self.dhcp is not None:
            await self.dhcp.stop()
        await self._stop_smi()
        if self.tftp is not None:
            await self.tftp.close()
        await self.director.cancel_background(grace=SHUTDOWN_GRACE)
        for sender in self.events.senders:
            await sender.close()
        await self.writer.close()
        if self.fleet is not None:
            await self.fleet.leave()
        await self.monitor.stop()

    async def reload(self) -> None:
        """SIGHUP: replay startup-config into the running settings, then apply them."""
        sdnotify.reloading()
        try:
            await self._reload()
        finally:
            sdnotify.notify(sdnotify.READY)

    async def _reload(self) -> None:
        if self.terminals is not None:
            self.terminals.reload()
        else:
            settings, errors = load_settings(self.data_dir / STARTUP_CONFIG)
            for number, line, message in errors:
                log.error("startup-config line %d rejected: %s: %s", number, line, message)
            self.director.replace_settings(settings)
        await self.apply_settings()
        log.info("configuration reloaded")

    def _snapshot(self) -> tuple[object, ...]:
        s = self.settings
        return (
            tuple(s.render()),
            tuple(
                (p.name, p.network, p.default_router, p.file_server) for p in s.dhcp_pools.values()
            ),
            tuple(s.helper_addresses),
        )

    async def apply_settings(self) -> None:
        """Make the services follow the settings after a change (CLI, SIGHUP): hostname,
        syslog hosts, Smart Install security, the SMI port (closed by ``no vstack``, opened
        again by ``vstack``), the role, and the DHCP endpoint when its pools or helper
        addresses changed."""
        settings = self.settings
        previous = self._applied
        self._applied = self._snapshot()
        self.events.hostname = settings.hostname
        self.events.trap = settings.syslog.trap
        for gone in self.events.set_targets(_targets(settings, self.data_dir)):
            await gone.close()
        security = SmiSecurity.from_config(settings.smi_key, settings.allowed_clients)
        if security != self.security:
            self.security = security
            if self.smi is not None:
                self.smi.security = security
            self.director.send_command = self._command_sender(security)
        if not settings.enabled and self.smi is not None:
            await self._stop_smi()
            log.info("SMI server on %s:%d closed (no vstack)", self.address, self.options.smi_port)
        elif self.smi is None:
            try:
                await self._start_smi()
            except OSError as error:
                log.error("SMI port %d cannot be opened: %s", self.options.smi_port, error)
        self.director.refresh_role()
        await self.proxy.follow()
        await self._follow_backup_repository()
        if self.http is not None:
            await self.http.apply(settings.http)
        if self.snmp is not None:
            await self.snmp.follow()
        dhcp_changed = previous[1:] != self._applied[1:] and self.dhcp is not None
        dhcp_wanted = self.dhcp is None and bool(settings.dhcp_pools or settings.helper_addresses)
        if dhcp_changed or dhcp_wanted:
            if self.dhcp is not None:
                try:
                    await self.dhcp.stop()
                except OSError as error:
                    self._dhcp_failed("remove", error)
            await self._start_dhcp()

    def _dhcp_what(self) -> str:
        pools = list(self.settings.dhcp_pools)
        if pools:
            return "pool " + ", ".join(pools)
        return "relay to " + ", ".join(self.settings.helper_addresses)

    def _dhcp_failed(self, action: str, error: Exception) -> None:
        self.events.smi(
            "SMI_DHCP_ERR", action=action, parameter=f"{self._dhcp_what()} ({error})"[:200]
        )

    async def _start_dhcp(self) -> None:
        """The DHCP server (or relay) of the settings. When it cannot be configured (its port
        taken, a pool the system refuses), the director goes on without it and says so
        (%SMI-6-SMI_DHCP_ERR): TFTP, Smart Install and a third-party DHCP server still work."""
        endpoint: DhcpServer | DhcpRelay | None = None
        try:
            endpoint = self._dhcp_endpoint()
            if endpoint is not None:
                await endpoint.start()
            self.dhcp = endpoint
        except (OSError, ValueError) as error:
            self.dhcp = None
            if endpoint is not None:
                with contextlib.suppress(Exception):
                    await endpoint.stop()
            self._dhcp_failed("configure", error)

    async def _follow_backup_repository(self) -> None:
        """``vstack backup file-server flash:<dir>``: the next upload goes to the new folder
        (made if needed), without a restart."""
        if self.tftp is None:
            return
        backup_dir = self.director.backup_dir
        if self.tftp.config.upload_prefix == backup_dir:
            return
        folder = self.repo.root / backup_dir
        try:
            await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
        except OSError as error:
            log.error("backup repository flash:/%s cannot be made: %s", backup_dir, error)
            return
        self.tftp.set_uploads(folder, backup_dir)
        log.info("backups are uploaded to flash:/%s from now on", backup_dir)

    async def run(self) -> None:
        """The director until SIGTERM/SIGINT: start, serve, stop."""
        loop = asyncio.get_running_loop()
        for signum, handler in (
            (signal.SIGTERM, self.request_stop),
            (signal.SIGINT, self.request_stop),
            (signal.SIGHUP, self.request_reload),
        ):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, handler)
        try:
            await self.start()
            log.info("director ready")
            sdnotify.notify(sdnotify.READY)  # systemd's Type=notify (nothing without it)
            await self.serve()
        finally:
            sdnotify.notify(sdnotify.STOPPING)
            await self.stop()
            log.info("director stopped")
        if self.fleet is not None and self.fleet.fenced_reason is not None:
            raise StoreError(f"fenced: {self.fleet.fenced_reason}")

    def request_stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def serve(self) -> None:
        """The director's timers until stopped: every second the join window and health
        (``tick``); at once a reload (SIGHUP) or a change of the settings (the operator's
        configuration commands tell the core, the core tells us)."""
        next_tick = 0.0
        loop = asyncio.get_running_loop()
        while not self._stopping:
            if loop.time() >= next_tick:
                next_tick = loop.time() + TICK_SECONDS
                try:
                    self.director.tick()
                except Exception:
                    log.exception("director tick failed")
            if self._reloading:
                self._reloading = self._changed = False
                await self.reload()
            elif self._changed:
                self._changed = False
                if self._snapshot() != self._applied:
                    await self.apply_settings()
            self._wake.clear()
            if self._stopping or self._reloading or self._changed:
                continue  # asked for meanwhile
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, next_tick - loop.time()))


def _dhcp_notes(dhcp: DhcpServer | DhcpRelay | None) -> tuple[str, ...]:
    """DHCP ACKs held back because what they confirm could not be committed (a full disk)."""
    if dhcp is None:
        return ()
    return (f"DHCP ACKs held back           : {dhcp.stats.get('held_back', 0)}",)


def _tftp_load(server: TftpServer | None) -> TftpLoad | None:
    if server is None:
        return None
    stats = server.stats()
    return TftpLoad(
        workers=stats.workers,
        alive=stats.workers_alive,
        running=stats.transfers_running,
        per_worker=stats.running_per_worker,
        started=stats.transfers_started,
        finished=stats.transfers_finished,
        failed=stats.transfers_failed,
        restarts=stats.worker_restarts,
    )


def _targets(settings: DirectorSettings, data_dir: Path) -> list[SyslogTarget]:
    return syslog_targets(settings.logging_hosts, settings.syslog, data_dir)
