"""SMI Proxy mode (guide, chapter 4 "Configuring SMI Proxy"): the director bridges its Smart
Install clients to a central PnP server.

While ``vstack proxy …`` is configured, :class:`SmiProxy`:

* regenerates the tailored configuration ``flash:/vstack/client_cfg_pnp.txt`` at start
  ("When the proxy device reloads, a new tailored configuration file, client_cfg_pnp.txt, is
  generated"): an enable password (``vstack tailored-config enable-password``, else the one the
  previous file gave, else a random one), the HTTP server, ``do telnet <proxy> 19140`` and
  ``vstack director <proxy>``;
* reads the proxy database from ``flash:/vstack/smi_pnp_proxy_db.txt`` at start and writes it
  after every change; it is never cleared (:mod:`smartinstall.director.proxy_db`);
* treats every client as an older device: for each client of the director database that is
  not in the proxy database, it logs in to the client's command line ("reverse telnet") and
  reads PID, VID and SN from ``show version``, builds the UDI and adds the entry (a replaced
  switch is a new client: its MAC differs);
* runs one PnP agent per entry (:mod:`smartinstall.director.proxy_agent`) against the PnP
  server of the proxy's profile, which carries out the server's requests on the client
  through Smart Install (:mod:`smartinstall.director.proxy_services`).

The proxy reads the director's state and drives clients through the director's on-demand
operations; it changes no state of the director itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smartinstall.director.core import Director
from smartinstall.director.proxy_agent import (
    AgentTimers,
    ClientAgent,
    OnSent,
    PnpHttpClient,
    PnpTransportError,
    tls_context,
)
from smartinstall.director.proxy_db import ProxyDbFile
from smartinstall.director.proxy_services import ServiceTimers, SmartInstallServices
from smartinstall.director.views.proxy import ProxyClient
from smartinstall.domain.artifacts import TailoredConfig, tailored_enable_password
from smartinstall.domain.devices import Device, Health
from smartinstall.domain.downloads import DownloadMethod
from smartinstall.domain.errors import DomainError
from smartinstall.domain.proxy import (
    PNP_TAILORED_CONFIG_NAME,
    EntryState,
    PnpServerAddress,
    PnpTransport,
    ProxyEntry,
    parse_show_version,
)
from smartinstall.ios.config import write_atomic
from smartinstall.services.telnet_client import ClientCliError, run_on_client
from smartinstall.store.port import Change, DeviceSaved, DownloadSaved

log = logging.getLogger(__name__)

DEBUG_AREA = "smi-proxy"
#: a keepalive this long after the zero-touch download ended comes from the rebooted client
SETTLE = dt.timedelta(seconds=1)


@dataclass(frozen=True)
class ProxyOptions:
    """The proxy's ports and waits (the defaults are a real network's)."""

    client_telnet_port: int = 23  # the clients' command line (reverse telnet)
    agent: AgentTimers = field(default_factory=AgentTimers)
    services: ServiceTimers = field(default_factory=ServiceTimers)
    identify_retry: float = 30.0  # after a client's show version could not be read
    # the director database is looked at for each client it changes; all of it at least this
    # often, in case a change was missed
    scan_period: float = 10.0
    telnet_timeout: float = 15.0


def _read_text(path: Path) -> str:
    try:
        with open(path, "rb") as handle:
            return handle.read(64 * 1024).decode("utf-8", errors="replace")
    except OSError:
        return ""


class SmiProxy:
    """The SMI Proxy of one director (see the module's text)."""

    def __init__(
        self,
        director: Director,
        flash: Path,
        options: ProxyOptions | None = None,
        on_sent: OnSent | None = None,
    ) -> None:
        self.director = director
        self.flash = flash
        self.options = options or ProxyOptions()
        self.db = ProxyDbFile(flash)
        self.password = ""
        self.on_sent = on_sent
        self._agents: dict[str, asyncio.Task[None]] = {}
        self._agent_objects: dict[str, ClientAgent] = {}
        self._reachable: dict[str, asyncio.Event] = {}  # the client has an address
        self._was_active: dict[str, bool] = {}
        self._identifying: set[str] = set()
        self._retry_at: dict[str, float] = {}
        self._scanner: asyncio.Task[None] | None = None
        self._dirty: set[str] = set()  # clients whose state changed since the last look
        self._wake = asyncio.Event()
        self._unwatch: Callable[[], None] | None = None
        self._server: PnpServerAddress | None = None
        self._client: PnpHttpClient | None = None
        self._trust_failed: PnpServerAddress | None = None
        self.running = False

    @property
    def enabled(self) -> bool:
        return self.director.settings.proxy is not None

    # --- start and stop -----------------------------------------------------------------

    async def start(self) -> None:
        """Proxy mode on: the database read back, client_cfg_pnp.txt regenerated, clients
        watched."""
        if self.running:
            return
        self.running = True
        count = await self.db.load()
        log.info("SMI proxy database %s: %d entries", self.db.path, count)
        await self._write_tailored_config()
        if self._profile_server() is None:
            log.warning("SMI proxy: its PnP profile has no transport: no PnP server to ask yet")
        self._unwatch = self.director.state.watch(self._changed)
        self._scanner = asyncio.get_running_loop().create_task(self._scan_loop())
        self._debug(f"proxy started, {count} database entries")

    async def stop(self) -> None:
        """Proxy mode off (or the director stops): agents stopped, the database written."""
        if not self.running:
            return
        self.running = False
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        agents = len(self._agents)
        tasks = [t for t in (self._scanner, *self._agents.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._scanner = None
        self._agents.clear()
        self._agent_objects.clear()
        await self.db.flush()
        log.info("SMI proxy stopped: %d agents ended, database %s kept", agents, self.db.path)

    async def follow(self) -> None:
        """Follow the settings: start or stop with ``vstack proxy``; a changed PnP server
        restarts the agents."""
        if not self.enabled:
            await self.stop()
            return
        if not self.running:
            await self.start()
        server = self._profile_server()
        if server != self._server:
            if server is None:
                proxy = self.director.settings.proxy
                log.warning(
                    "SMI proxy: PnP profile %s has no transport: no PnP server to ask for work",
                    proxy.profile if proxy is not None else "",
                )
            for task in self._agents.values():
                task.cancel()
            self._agents.clear()
            self._agent_objects.clear()
            self._client = None
            self._server = server

    # --- client_cfg_pnp.txt -------------------------------------------------------------

    async def _write_tailored_config(self) -> None:
        settings = self.director.settings
        path = self.flash / PNP_TAILORED_CONFIG_NAME
        previous = tailored_enable_password(await asyncio.to_thread(_read_text, path))
        self.password = settings.tailored_password or previous or "smi" + secrets.token_hex(10)
        address = settings.director_ip or self.director.address
        try:
            text = TailoredConfig(address, self.password).render()
        except DomainError as error:
            log.error("client_cfg_pnp.txt not written: %s", error)
            return
        try:
            await asyncio.to_thread(write_atomic, path, text.encode())
        except OSError as error:
            log.error("%s cannot be written: %s", path, error)
            return
        log.info("tailored configuration %s generated", path)

    # --- the clients --------------------------------------------------------------------

    def _changed(self, change: Change) -> None:
        """(a watcher of the director's state) The client a change concerns is looked at."""
        if isinstance(change, DeviceSaved):
            self._dirty.add(change.record.device.mac)
        elif isinstance(change, DownloadSaved):
            self._dirty.add(change.entry.mac)
        else:
            return
        self._wake.set()

    async def _scan_loop(self) -> None:
        """Look at every client at start and every ``scan_period`` seconds; in between, at
        the clients the director's state changed (a hello, a keepalive, a download row) and
        when a retry is due."""
        loop = asyncio.get_running_loop()
        full_at = loop.time()
        while True:
            now = loop.time()
            due = {mac for mac, at in self._retry_at.items() if at <= now}
            for mac in due:
                del self._retry_at[mac]
            macs: set[str] | None = self._dirty | due
            self._dirty = set()
            if now >= full_at:
                macs = None
                full_at = now + self.options.scan_period
            try:
                self.scan(macs)
            except Exception:
                log.exception("SMI proxy: scan of the director database failed")
            wake = min((full_at, *self._retry_at.values())) - loop.time()
            self._wake.clear()
            if not self._dirty:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, wake)):
                        await self._wake.wait()

    def scan(self, macs: set[str] | None = None) -> None:
        """Look at the director database once (at the clients ``macs``, or all): new clients
        identified, agents started, the came-up notification for clients back after a
        reload."""
        now = asyncio.get_running_loop().time()
        state = self.director.state
        if macs is None:
            devices = state.devices()
        else:
            devices = [d for d in map(state.device_by_mac, sorted(macs)) if d is not None]
        for device in devices:
            if device.is_director:
                continue
            mac = device.mac
            active = device.health is Health.ACTIVE and bool(device.ip)
            reachable = self._reachable.setdefault(mac, asyncio.Event())
            if device.ip:
                reachable.set()
            was_active = self._was_active.get(mac)
            self._was_active[mac] = active
            if active and was_active is False:
                agent = self._agent_objects.get(mac)
                if agent is not None:
                    agent.came_up.set()  # "device came up notification"
            entry = self.db.database.by_mac(mac)
            if entry is None:
                if (
                    active
                    and mac not in self._identifying
                    and self._retry_at.get(mac, 0) <= now
                    and self._settled(mac)
                ):
                    self._identifying.add(mac)
                    self._spawn("smi proxy identify", self._identify(device))
                continue
            if (
                mac not in self._agents
                and entry.state is not EntryState.TERMINATED
                and self._retry_at.get(mac, 0) <= now
            ):
                self._start_agent(entry)

    def _settled(self, mac: str) -> bool:
        """Is the client up with its configuration (its command line may be used)? Not while
        its zero touch runs: it is fetching client_cfg_pnp.txt, or reloading with it (no
        keepalive since the download ended)."""
        state = self.director.state
        row = state.latest_download(mac)
        if row is None:
            return True
        if not row.finished:
            return False
        if row.method is not DownloadMethod.ZERO_TOUCH:
            return True
        record = state.device_record(mac)
        last = record.last_keepalive if record is not None else None
        return last is not None and last > row.updated_at + SETTLE

    async def _identify(self, device: Device) -> None:
        """Reverse telnet: ``show version`` on the client, the UDI, the database entry."""
        try:
            output = await run_on_client(
                device.ip,
                self.options.client_telnet_port,
                "show version",
                self.password or None,
                timeout=self.options.telnet_timeout,
            )
            udi = parse_show_version(output)
            if udi is None:
                raise ClientCliError("no PID or serial number in show version")
        except ClientCliError as error:
            log.warning("SMI proxy: client %s (%s): %s", device.ip, device.mac, error)
            loop = asyncio.get_running_loop()
            self._retry_at[device.mac] = loop.time() + self.options.identify_retry
            return
        finally:
            self._identifying.discard(device.mac)
        entry, added = self.db.add(device.mac, udi)
        if added:
            log.info("SMI proxy: %s is %s", device.mac, entry.udi)
            self._debug(f"entry added for MAC {device.mac}: UDI {entry.udi}")
        self._start_agent(entry)

    def _profile_server(self) -> PnpServerAddress | None:
        proxy = self.director.settings.proxy
        if proxy is None:
            return None
        profile = self.director.settings.pnp_profiles.get(proxy.profile)
        return profile.server if profile is not None else None

    def _http_client(self) -> PnpHttpClient | None:
        server = self._profile_server()
        if server is None:
            return None
        if self._client is None or self._client.server != server:
            context = None
            if server.transport is PnpTransport.HTTPS:
                try:
                    context = tls_context(server, self.flash)
                except (OSError, ValueError, PnpTransportError) as error:
                    if self._trust_failed != server:  # said once per configuration
                        self._trust_failed = server
                        log.error("SMI proxy: PnP server certificate trust: %s", error)
                    return None
            self._client = PnpHttpClient(server, context, self.options.agent.timeout)
            self._server = server
        return self._client

    def _start_agent(self, entry: ProxyEntry) -> None:
        client = self._http_client()
        if client is None or not self.running:
            return  # no PnP server configured yet: the entry waits
        mac = entry.mac
        services = SmartInstallServices(
            self.director,
            self.flash,
            mac,
            entry.udi,
            self.options.services,
            client.ssl_context,
        )

        def hostname() -> str:
            device = self.director.state.device_by_mac(mac)
            return device.hostname if device is not None else ""

        def on_state(state: EntryState) -> None:
            self.db.set_state(mac, state)

        agent = ClientAgent(
            entry.udi,
            mac,
            hostname,
            client,
            services,
            self._reachable.setdefault(mac, asyncio.Event()).wait,
            on_state,
            self.options.agent,
            self._sent,
        )
        task = self._spawn("smi proxy agent", agent.run())
        if task is not None:
            self._agents[mac] = task
            self._agent_objects[mac] = agent
            task.add_done_callback(lambda done: self._agent_ended(mac, done))

    def _agent_ended(self, mac: str, task: asyncio.Task[None]) -> None:
        """An agent that failed (the supervisor logged why) starts again after the error
        retry; one the server terminated stays ended."""
        self._agent_objects.pop(mac, None)
        if task.cancelled() or task.exception() is None or self._agents.get(mac) is not task:
            return
        del self._agents[mac]
        loop = asyncio.get_running_loop()
        self._retry_at[mac] = loop.time() + self.options.agent.error_retry

    def _sent(self, path: str, message: bytes) -> None:
        self._debug(f"sent {path} ({len(message)} bytes)")
        if self.on_sent is not None:
            self.on_sent(path, message)

    def _spawn(self, name: str, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None] | None:
        return self.director.tasks.spawn(name, coroutine)

    def _debug(self, text: str) -> None:
        self.director.events.debug_line(DEBUG_AREA, f"SMI PNP PROXY: {text}")

    # --- what show vstack proxy-db reads ------------------------------------------------

    def clients(self) -> list[ProxyClient]:
        """The entries with what the director database knows of each client."""
        found = []
        for entry in self.db.entries():
            device = self.director.state.device_by_mac(entry.mac)
            if device is None:
                found.append(ProxyClient(entry))
            else:
                found.append(
                    ProxyClient(entry, device.ip, device.hostname or "Switch", device.health.value)
                )
        return found


__all__ = ["DEBUG_AREA", "ProxyOptions", "SmiProxy"]
