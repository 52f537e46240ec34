"""The director's side of clients that are not Smart Install capable (guide: "SMI Proxy and
Tailored Configuration Files", "Client switches that are not Smart Install capable").

Such a client gets the tailored configuration in DHCP option 67: an enable password, the HTTP
server with authentication, and ``do telnet <director> 19140``. Its telnet to TCP 19140 is the
trigger: the director then drives the client's IOS HTTP exec interface
(``/level/15/exec/-/<command>``, basic authentication with the enable password the tailored
configuration gave it): ``archive download-sw /overwrite`` of its image,
``copy <config> startup-config`` and ``reload``. The client fetches the files by TFTP from the
director, whose TFTP hook follows the reads in the download-status table.

The enable password is the one of ``vstack tailored-config enable-password`` when the operator
set one (an extension), else a random one the director makes for each client (the guide's
example gives every client ``cisco``). The director reads it back from the tailored file on
flash: the file the client fetched, so a restart of the director in between does not lose it.

On-demand (``vstack download-image|download-config … <password>``, guide "Using the CLI for
On-Demand Upgrades"): :func:`run_on_demand` drives a client already in the network the same
way, with the password the operator gave, and follows the client's download-status row.

The driver knows nothing of the core: a :class:`LegacyPlanner` says what a client at an address
gets, a :class:`LegacyReporter` hears progress, success and failure per client.
:class:`CoreLegacyBridge` is both for the director core.

An emulated client may send one line ``smartinstall-http-port <n>`` on the trigger connection
when its HTTP interface is not on port 80 (many switches on one loopback host); a real switch
sends nothing and port 80 is used.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote

import httpx

from smartinstall.director.core import Director, UpgradeReport
from smartinstall.director.tasks import TaskSupervisor
from smartinstall.domain.artifacts import TRIGGER_PORT, tailored_enable_password
from smartinstall.domain.devices import Device, UpgradeKind
from smartinstall.domain.downloads import DownloadMethod
from smartinstall.domain.errors import DomainError
from smartinstall.domain.groups import ClientFacts, resolve
from smartinstall.domain.provisioning import TAILORED_CONFIG_NAME
from smartinstall.store.repository import RepositoryError

log = logging.getLogger(__name__)

HTTP_PORT_HINT = b"smartinstall-http-port"
EXEC_PATH = "/level/15/exec/-/"
MAX_REPLY = 64 * 1024
CHECK_TIMEOUT = 10.0  # the on-demand password check (``show version``) before a download
MAX_KNOWN_PORTS = 4096

#: the HTTP port each legacy client's trigger named (by address), for on-demand updates;
#: a client never seen on the trigger port is reached on port 80
_http_ports: dict[str, int] = {}


def remember_http_port(ip: str, port: int) -> None:
    _http_ports.pop(ip, None)
    _http_ports[ip] = port
    while len(_http_ports) > MAX_KNOWN_PORTS:
        _http_ports.pop(next(iter(_http_ports)))


def http_port_of(ip: str, recorded: int | None = None) -> int:
    """The HTTP port of the legacy client at ``ip``: the one its trigger named (this run),
    else the one its zero-touch row recorded (``recorded``), else 80."""
    return _http_ports.get(ip) or recorded or 80


class LegacyError(Exception):
    """The client's HTTP interface refused or failed a command."""


@dataclass(frozen=True)
class LegacyPlan:
    """What the director runs on one legacy client."""

    ip: str
    mac: str
    password: str
    image_url: str | None = None
    config_url: str | None = None
    http_port: int = 80
    overwrite: bool = True  # archive download-sw /overwrite
    reload: bool = True  # reload once the files are in place (zero touch always does)
    reload_in: tuple[int, int] | None = None  # reload in hh:mm instead (on-demand)

    def steps(self) -> list[tuple[str, str]]:
        """(step, command) in order: image, configuration, reload."""
        steps: list[tuple[str, str]] = []
        if self.image_url:
            flags = ["/overwrite"] if self.overwrite else []
            if self.reload and self.reload_in is None and not self.config_url:
                flags.append("/reload")
            steps.append(("image", " ".join(["archive download-sw", *flags, self.image_url])))
        if self.config_url:
            steps.append(("config", f"copy {self.config_url} startup-config"))
        if self.reload_in is not None:
            hours, minutes = self.reload_in
            steps.append(("reload", f"reload in {hours:02d}:{minutes:02d}"))
        elif self.reload and self.config_url:
            steps.append(("reload", "reload"))
        return steps

    def kinds(self) -> list[UpgradeKind]:
        """What the plan upgrades."""
        return [k for k, url in ((UpgradeKind.IMAGE, self.image_url),
                                 (UpgradeKind.CONFIG, self.config_url)) if url]  # fmt: skip


class LegacyPlanner(Protocol):
    async def plan(self, ip: str, http_port: int) -> LegacyPlan | None: ...


class LegacyReporter(Protocol):
    def progress(self, plan: LegacyPlan, step: str) -> None: ...

    def done(self, plan: LegacyPlan) -> None: ...

    def failed(self, plan: LegacyPlan, step: str, reason: str) -> None: ...


async def http_exec(
    host: str, port: int, password: str, command: str, timeout: float = 600.0, username: str = ""
) -> str:
    """One privileged EXEC command over the IOS HTTP interface (``GET
    /level/15/exec/-/<command>``, basic authentication); its output, at most ``MAX_REPLY``
    bytes of it. The environment's proxy settings are not followed: the client is on the
    director's own network."""
    # IOS reads "/" in the path as a space between words: the command's own are escaped
    raw_path = (EXEC_PATH + quote(command, safe="")).encode("ascii")
    url = httpx.URL(scheme="http", host=host, port=port, raw_path=raw_path)
    headers = {"User-Agent": "smartinstall-director"}
    auth = httpx.BasicAuth(username, password)
    data = bytearray()
    try:
        async with (
            asyncio.timeout(timeout),
            # plain HTTP only: verify=False keeps the client from loading a CA bundle (tens of
            # milliseconds of file reading on the event loop) for a TLS it never speaks
            httpx.AsyncClient(trust_env=False, verify=False, timeout=timeout) as client,
            client.stream("GET", url, headers=headers, auth=auth) as reply,
        ):
            async for chunk in reply.aiter_bytes():
                data += chunk
                if len(data) >= MAX_REPLY:
                    del data[MAX_REPLY:]
                    break
    except (httpx.HTTPError, OSError, TimeoutError) as error:
        raise LegacyError(f"HTTP {host}:{port}: {error or type(error).__name__}") from None
    if reply.status_code == 401:
        raise LegacyError(f"enable password refused by {host} (HTTP 401 Unauthorized)")
    if reply.status_code != 200:
        text = f"{reply.status_code} {reply.reason_phrase}".strip()
        raise LegacyError(f"HTTP {host}:{port}: {text}")
    output = data.decode("utf-8", errors="replace")
    if output.startswith("%"):
        raise LegacyError(output.strip().splitlines()[0])
    return output


async def drive(plan: LegacyPlan, reporter: LegacyReporter, timeout: float = 600.0) -> bool:
    """Run the plan's commands on the client, stopping at the first failure."""
    for step, command in plan.steps():
        reporter.progress(plan, step)
        try:
            await http_exec(plan.ip, plan.http_port, plan.password, command, timeout)
        except LegacyError as error:
            reporter.failed(plan, step, str(error))
            return False
    reporter.done(plan)
    return True


class LegacyTriggerServer:
    """TCP 19140: a connection from a legacy client starts its download."""

    def __init__(
        self,
        host: str,
        planner: LegacyPlanner,
        reporter: LegacyReporter,
        port: int = TRIGGER_PORT,
        hint_timeout: float = 1.0,
        command_timeout: float = 600.0,
        tasks: TaskSupervisor | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.planner = planner
        self.reporter = reporter
        self.hint_timeout = hint_timeout
        self.command_timeout = command_timeout
        self.server: asyncio.Server | None = None
        self._busy: set[str] = set()
        # the director's supervisor: a failed download is logged, counted and shown
        self.tasks = tasks if tasks is not None else TaskSupervisor()
        self._own: set[asyncio.Task[object]] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._on_connect, self.host, self.port)
        if self.port == 0:
            self.port = int(self.server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await self.server.wait_closed()
            self.server = None
        running = [t for t in self._own if not t.done()]
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running)  # failures were logged by the supervisor

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        ip = str(peer[0]) if peer else ""
        http_port = 80
        try:
            async with asyncio.timeout(self.hint_timeout):
                line = await reader.readline()
            words = line[:200].split()
            if len(words) == 2 and words[0] == HTTP_PORT_HINT and words[1].isdigit():
                port = int(words[1])
                if 0 < port < 65536:
                    http_port = port
        except (OSError, TimeoutError, ValueError):
            pass
        finally:
            writer.close()
        await self.drive_client(ip, http_port)

    async def drive_client(self, ip: str, http_port: int) -> None:
        """Drive the client at ``ip`` (its trigger came in, or a restarted director takes up
        the zero touch the last run was driving)."""
        if not ip or ip in self._busy:
            return
        remember_http_port(ip, http_port)
        try:
            plan = await self.planner.plan(ip, http_port)
        except Exception:
            log.exception("legacy trigger from %s: no plan", ip)
            return
        if plan is None:
            log.info("legacy trigger from %s: not a client the director provisions", ip)
            return
        task = self.tasks.spawn("legacy download", drive(plan, self.reporter, self.command_timeout))
        if task is None:
            return
        self._busy.add(ip)
        self._own.add(task)

        def finished(t: asyncio.Task[object]) -> None:
            self._own.discard(t)
            self._busy.discard(ip)

        task.add_done_callback(finished)


class CoreLegacyBridge:
    """Planner and reporter for :class:`smartinstall.director.core.Director`."""

    def __init__(self, director: Director) -> None:
        self.director = director

    async def plan(self, ip: str, http_port: int) -> LegacyPlan | None:
        core = self.director
        if not core.is_director:
            return None
        device = core.state.device_by_ip(ip)
        if device is None or device.is_director:
            return None
        password = await self.password_of(device.mac)
        if not password:
            log.warning("legacy client %s: no tailored configuration to read its password", ip)
            return None
        facts = ClientFacts.of_device(device)
        assignment = resolve(core.settings.groups, facts)
        try:
            image = core.tftp_url(assignment.images[0]) if assignment.images else None
            config = core.tftp_url(assignment.config) if assignment.config else None
        except DomainError as error:
            log.warning("legacy client %s: %s", ip, error)
            return None
        if image is None and config is None:
            return None
        core.legacy_triggered(device.mac, http_port)
        await core.flush()  # a restarted director finds the row to drive again
        return LegacyPlan(ip, device.mac, password, image, config, http_port)

    async def password_of(self, mac: str) -> str | None:
        """The enable password of the tailored configuration the client fetched (read back
        from flash:), else the configured one."""
        core = self.director
        path = TAILORED_CONFIG_NAME.format(mac=mac)
        pending = core.publication(path)
        if pending is not None:
            await asyncio.shield(pending)
        try:
            data = await asyncio.to_thread(core.repo.read_bytes, path, 4096)
        except (OSError, RepositoryError, ValueError):
            data = b""
        found = tailored_enable_password(data.decode("utf-8", errors="replace"))
        return found or core.settings.tailored_password

    def progress(self, plan: LegacyPlan, step: str) -> None:
        log.info("legacy client %s (%s): %s", plan.ip, plan.mac, step)
        self.director.events.debug_line("legacy", f"{plan.mac}: {step}")
        if step in ("image", "config"):
            kind = UpgradeKind.IMAGE if step == "image" else UpgradeKind.CONFIG
            self.director.client_upgrade(UpgradeReport(plan.mac, kind, "started", ip=plan.ip))

    def done(self, plan: LegacyPlan) -> None:
        log.info("legacy client %s (%s): download and reload done", plan.ip, plan.mac)
        self.director.events.debug_line("legacy", f"{plan.mac}: done")
        # the TFTP hook marks what it served; a file from another server is marked here
        for kind in plan.kinds():
            self.director.client_upgrade(UpgradeReport(plan.mac, kind, "done", ip=plan.ip))

    def failed(self, plan: LegacyPlan, step: str, reason: str) -> None:
        log.warning("legacy client %s (%s): %s failed: %s", plan.ip, plan.mac, step, reason)
        kinds = plan.kinds() or [UpgradeKind.CONFIG]
        kind = {"image": UpgradeKind.IMAGE, "config": UpgradeKind.CONFIG}.get(step, kinds[-1])
        self.director.client_upgrade(
            UpgradeReport(plan.mac, kind, "failed", reason=reason[:200], ip=plan.ip)
        )


# --- on-demand ------------------------------------------------------------------------------


async def run_on_demand(
    director: Director,
    devices: Sequence[Device],
    kind: UpgradeKind,
    url: str,
    password: str,
    *,
    overwrite: bool = True,
    reload_now: bool = False,
    reload_at: tuple[int, int] | None = None,
) -> list[str]:
    """``vstack download-image|download-config … <password>`` to non-Smart-Install clients: a
    download-status row each (image-upgrade or config-upgrade), the password checked on the
    client's HTTP exec interface (``show version``), then the download driven in the
    background; the row ends UPGRADED or FAILED with the reason. The lines to print."""
    bridge = CoreLegacyBridge(director)
    image = kind is UpgradeKind.IMAGE
    plans: list[LegacyPlan] = []
    for device in devices:
        plan = LegacyPlan(
            device.ip, device.mac, password,
            image_url=url if image else None, config_url=None if image else url,
            http_port=http_port_of(device.ip, director.legacy_http_port(device.mac)),
            overwrite=overwrite,
            reload=reload_now, reload_in=reload_at,
        )  # fmt: skip
        request = " ".join(["legacy", *(command for _, command in plan.steps())])
        method = DownloadMethod.IMAGE_UPGRADE if image else DownloadMethod.CONFIG_UPGRADE
        director.supersede(device.mac, method.value)
        director.open_legacy_download(device, kind, request[:255])
        plans.append(plan)
    await director.flush()
    step = "image" if image else "config"

    async def check(plan: LegacyPlan) -> str | None:
        try:
            await http_exec(plan.ip, plan.http_port, password, "show version", CHECK_TIMEOUT)
        except LegacyError as error:
            return str(error)
        return None

    errors = await asyncio.gather(*(check(plan) for plan in plans))
    lines: list[str] = []
    for plan, error in zip(plans, errors, strict=True):
        if error is not None:
            bridge.failed(plan, step, error)
            lines.append(f"% {plan.ip}: {step} download failed: {error}")
            continue
        if director.tasks.spawn("legacy on-demand", drive(plan, bridge)) is None:
            bridge.failed(plan, step, "director shutting down")
            lines.append(f"% {plan.ip}: {step} download failed: director shutting down")
            continue
        lines.append(f"{plan.ip}: {step} download requested (non-Smart-Install client, HTTP)")
    return lines
