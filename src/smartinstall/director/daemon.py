"""The director process: configuration, database, repository and services on one event loop.

Data directory layout::

    DIR/startup-config   the director's configuration (IOS text)
    DIR/flash/           "flash:": images, configurations, scripts; DIR/flash/vstack/ holds
                         imagelists, tailored configurations and client backups
    DIR/director.db      the director database (SQLite; or --database URL)
    DIR/dhcp/            remembered DHCP bindings (ip dhcp remember)

SIGTERM and SIGINT stop it cleanly; SIGHUP reloads ``startup-config``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import logging
import signal
from dataclasses import dataclass
from pathlib import Path

from smartinstall.director.bridges import (
    DirectorDhcpHook,
    DirectorSmiOwner,
    DirectorTftpHook,
    SmiCommandSender,
    TftpFileServer,
)
from smartinstall.director.core import Director
from smartinstall.director.eventlog import EventLog
from smartinstall.director.legacy import CoreLegacyBridge, LegacyTriggerServer
from smartinstall.director.terminals import DirectorTerminals
from smartinstall.domain.settings import DirectorSettings
from smartinstall.hostaddr import host_owns_address
from smartinstall.ios.config import ConfigTooLarge, StartupConfig
from smartinstall.ios.director_commands import replay_director_config
from smartinstall.services.cli_auth import is_access_line
from smartinstall.services.dhcp import (
    DhcpRelay,
    DhcpRelayConfig,
    DhcpServer,
    DhcpServerConfig,
    make_pool,
)
from smartinstall.services.smi import InvalidMessage, SmiDirectorServer, SmiSecurity
from smartinstall.services.syslog import SyslogSender, SyslogTarget
from smartinstall.services.tftp import TftpServer, TftpServerConfig
from smartinstall.store.database import DirectorDatabase
from smartinstall.store.repository import Repository

log = logging.getLogger(__name__)

STARTUP_CONFIG = "startup-config"
FLASH = "flash"
TICK_SECONDS = 1.0


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
    client_telnet_port: int = 23  # clients' telnet (vstack attach, show vstack client)


def load_settings(path: Path) -> tuple[DirectorSettings, list[tuple[int, str, str]]]:
    """Replay ``startup-config`` through the IOS engine with the director's commands; each
    rejected line is reported with its number, and the other lines still apply."""
    try:
        text = StartupConfig(path).read()
    except (OSError, ConfigTooLarge) as error:
        return DirectorSettings(), [(0, str(path), f"% cannot read {path}: {error}")]
    if text is None:
        return DirectorSettings(), []
    # the terminals' own lines (users, secrets, SSH/telnet) are the CLI's, not the director's
    text = "\n".join("!" if is_access_line(line) else line for line in text.splitlines())
    result = replay_director_config(text, host_owns_address, str(path))
    return result.settings, result.errors


class DirectorDaemon:
    def __init__(self, options: DaemonOptions) -> None:
        self.options = options
        self.data_dir = options.data_dir
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.settings, errors = load_settings(self.data_dir / STARTUP_CONFIG)
        for number, line, message in errors:
            log.error("startup-config line %d rejected: %s: %s", number, line, message)
        self.events = EventLog(
            self.settings.hostname,
            tz=options.timezone,
            sender_factory=lambda target: SyslogSender(target),  # type: ignore[arg-type]
        )
        self.events.set_targets(_targets(self.settings))
        self.db = DirectorDatabase.open(self.data_dir, options.database)
        self.repo = Repository(self.data_dir / FLASH)
        self.address = options.address or self.settings.director_ip or "127.0.0.1"
        self.security = SmiSecurity.from_config(
            self.settings.smi_key, self.settings.allowed_clients
        )
        self.director = Director(
            self.settings,
            self.db,
            self.repo,
            self.events,
            address=self.address,
            owns_address=host_owns_address,
            send_command=SmiCommandSender(self.security),
            file_server=TftpFileServer(),
            client_smi_port=options.client_smi_port,
            tftp_port=options.tftp_port,
            keepalive_period=options.keepalive,
            tz=options.timezone,
        )
        self.dhcp: DhcpServer | DhcpRelay | None = None
        self.tftp: TftpServer | None = None
        self.smi: SmiDirectorServer | None = None
        self.legacy: LegacyTriggerServer | None = None
        self.started_at = dt.datetime.now(options.timezone)
        self.terminals: DirectorTerminals | None = None
        self.client_telnet_port = options.client_telnet_port
        self._stop = asyncio.Event()
        self._reload = asyncio.Event()
        self._applied = self._snapshot()

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
                data_dir=str(self.data_dir / "dhcp") if self.settings.dhcp_remember else None,
                only_smart_install=bool(self.settings.helper_addresses),
            )
            return DhcpServer(config, hook)
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

    async def start(self) -> None:
        o = self.options
        self.director.refresh_role()
        flash = self.repo.root
        backup_dir = self.director.backup_dir
        (flash / backup_dir).mkdir(parents=True, exist_ok=True)
        self.tftp = TftpServer(
            TftpServerConfig(
                root=flash,
                host=self.address,
                port=o.tftp_port,
                upload_dir=flash / backup_dir,
                upload_prefix=backup_dir,
            ),
            DirectorTftpHook(self.director),
        )
        await self.tftp.start()
        log.info("TFTP server on %s:%d (flash: %s)", self.address, o.tftp_port, flash)
        self.smi = SmiDirectorServer(
            DirectorSmiOwner(self.director),
            self.address,
            o.smi_port,
            self.security,
            on_invalid=self._invalid_message,
        )
        await self.smi.start()
        log.info("SMI server on %s:%d (%s)", self.address, o.smi_port, self.security.mode)
        self.dhcp = self._dhcp_endpoint()
        if self.dhcp is not None:
            await self.dhcp.start()
        bridge = CoreLegacyBridge(self.director)
        legacy = LegacyTriggerServer(self.address, bridge, bridge)
        try:
            await legacy.start()
            self.legacy = legacy
            log.info("legacy trigger on %s:%d", self.address, legacy.port)
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
        # "When the director boots up, it requests configuration information from clients
        # and backs up these configurations."
        if self.director.is_director and self.settings.backup.enabled:
            for device in self.db.devices():
                if not device.is_director and device.ip:
                    self.director._spawn(self.director.request_backup(device.mac))

    def _invalid_message(self, invalid: InvalidMessage) -> None:
        """Refused Smart Install messages are system messages (%SMI-6-SMI_INVALID_MESSAGE)."""
        self.events.smi(
            "SMI_INVALID_MESSAGE",
            device=invalid.device,
            ip=invalid.peer.host,
            version=invalid.smi_version,
            message_type=invalid.msg_type,
        )

    async def stop(self) -> None:
        if self.legacy is not None:
            await self.legacy.close()
        if self.terminals is not None:
            await self.terminals.stop()
        if self.dhcp is not None:
            await self.dhcp.stop()
        if self.smi is not None:
            await self.smi.close()
        if self.tftp is not None:
            await self.tftp.close()
        await self.director.cancel_background()
        for sender in self.events.senders:
            await sender.close()
        self.db.close()

    async def reload(self) -> None:
        """SIGHUP: replay startup-config into the running settings, then apply them."""
        if self.terminals is not None:
            self.terminals.reload()
        else:
            settings, errors = load_settings(self.data_dir / STARTUP_CONFIG)
            for number, line, message in errors:
                log.error("startup-config line %d rejected: %s: %s", number, line, message)
            self.settings.__dict__.update(settings.__dict__)
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
        syslog hosts, Smart Install security, the role, and the DHCP endpoint when its pools
        or helper addresses changed."""
        settings = self.settings
        previous = self._applied
        self._applied = self._snapshot()
        self.events.hostname = settings.hostname
        for gone in self.events.set_targets(_targets(settings)):
            await gone.close()
        security = SmiSecurity.from_config(settings.smi_key, settings.allowed_clients)
        if security != self.security:
            self.security = security
            if self.smi is not None:
                self.smi.security = security
            self.director.send_command = SmiCommandSender(security)
        self.director.refresh_role()
        dhcp_changed = previous[1:] != self._applied[1:] and self.dhcp is not None
        dhcp_wanted = self.dhcp is None and bool(settings.dhcp_pools or settings.helper_addresses)
        if dhcp_changed or dhcp_wanted:
            if self.dhcp is not None:
                await self.dhcp.stop()
            self.dhcp = self._dhcp_endpoint()
            if self.dhcp is not None:
                await self.dhcp.start()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for signum, handler in (
            (signal.SIGTERM, self._stop.set),
            (signal.SIGINT, self._stop.set),
            (signal.SIGHUP, self._reload.set),
        ):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, handler)
        await self.start()
        log.info("director ready")
        try:
            while not self._stop.is_set():
                try:
                    self.director.tick()
                except Exception:
                    log.exception("director tick failed")
                if self._reload.is_set():
                    self._reload.clear()
                    await self.reload()
                elif self._snapshot() != self._applied:
                    await self.apply_settings()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), TICK_SECONDS)
        finally:
            await self.stop()
            log.info("director stopped")


def _targets(settings: DirectorSettings) -> list[SyslogTarget]:
    return [SyslogTarget(h.host, h.port, h.transport, h.rfc3164) for h in settings.logging_hosts]
