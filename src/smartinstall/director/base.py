"""The director core's foundation: its state, time, role, timers and plumbing.

:class:`DirectorBase` holds what every part of the core shares — the settings, the in-memory
state (:class:`~smartinstall.director.state.DirectorState`, the one owner of the director's
records), the repository (``flash:``), the event log and the owned background tasks — and the
helpers they all use. The parts build on it in one line: backups, tracking (TFTP and SMI
reports), provisioning (DHCP answers), holds (join window and hold list); the
:class:`~smartinstall.director.core.Director` is the whole.

Nothing here blocks the event loop: file writes and hashing go to threads
(``asyncio.to_thread``), the state's changes go to the store writer's thread.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from smartinstall.director.eventlog import EventLog
from smartinstall.director.facts import (
    CommandRequest,
    FileServer,
    RemoteFileError,
    SendCommand,
    director_mac,
)
from smartinstall.director.state import DirectorState
from smartinstall.director.tasks import TaskSupervisor
from smartinstall.domain.devices import Device, DeviceType, Health
from smartinstall.domain.joinwindow import is_open
from smartinstall.domain.locations import Location, parse_location, parse_repository
from smartinstall.domain.settings import DirectorSettings, Role
from smartinstall.store.repository import Repository

log = logging.getLogger(__name__)

MAX_AWAITING_ACK = 10_000  # clients remembered between a DHCP answer and their ACK
KEEPALIVE_MISSES = 3  # "has not provided updates for three consecutive keepalive periods"

REMOTE_TIMEOUT = 5.0  # seconds a write to a third-party TFTP server may take (an ACK waits)
REMOTE_RETRY = 2.0  # a failed write to it is not tried again sooner
REMOTE_FRESH = 60.0  # a file written there is written again after this (it may have gone)

Flush = Callable[[], Awaitable[None]]


def _staging_file(data: bytes) -> Path:
    """(thread) ``data`` in a private temporary file, for the TFTP client to send."""
    fd, name = tempfile.mkstemp(prefix="smartinstall-publish-")
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return Path(name)


async def _no_flush() -> None:
    return None


class DirectorBase:
    """See the module docstring."""

    def __init__(
        self,
        settings: DirectorSettings,
        state: DirectorState,
        repository: Repository,
        events: EventLog,
        *,
        address: str,
        owns_address: Callable[[str], bool],
        send_command: SendCommand | None = None,
        file_server: FileServer | None = None,
        client_smi_port: int = 4786,
        tftp_port: int = 69,
        keepalive_period: float = 60.0,
        tz: dt.tzinfo = dt.UTC,
        clock: Callable[[], dt.datetime] | None = None,
        flush: Flush | None = None,
    ) -> None:
        self.settings = settings
        self.state = state
        self.repo = repository
        self.events = events
        self.address = address
        self.owns_address = owns_address
        self.send_command = send_command
        self.file_server = file_server
        self.client_smi_port = client_smi_port
        self.tftp_port = tftp_port
        self.keepalive_period = keepalive_period
        self.tz = tz
        self._clock = clock or (lambda: dt.datetime.now(self.tz))
        self._flush = flush or _no_flush
        self._role = Role.CLIENT
        self._window_open: bool | None = None
        self._client_ports: dict[str, int] = {}  # mac -> SMI port announced in hello
        self._not_configured_logged: set[str] = set()
        self._not_configured_unsaid: set[str] = set()  # logged once their address is known
        self.tasks = TaskSupervisor()
        self._published: dict[str, bytes] = {}  # flash: path -> content known to be on disk
        self._publishing: dict[str, asyncio.Future[bool]] = {}
        # flash: paths whose last write failed (no space left, say): (failed writes since
        # one succeeded, why); a DHCP answer naming one waits, its %SMI message is said once
        self._unwritten: dict[str, tuple[int, str]] = {}
        # third-party TFTP servers (keys are tftp:// URLs): when each file was last there,
        # when its last write failed, and the URL each name in an answer stands for
        self._remote_there: dict[str, tuple[bytes, float]] = {}
        self._remote_failed_at: dict[str, float] = {}
        self._remote_names: dict[str, str] = {}
        # clients whose DHCP exchange made a change that must be durable before their ACK
        # (a new entry, a new download-status row, a join-state change)
        self._durable_before_ack: set[str] = set()
        self._watching_since: dt.datetime | None = None  # the first health check
        self._init_part()

    def _init_part(self) -> None:
        """Each part of the core sets up its own attributes here (and calls super())."""

    # --- time, role -----------------------------------------------------------------------

    def now(self) -> dt.datetime:
        return self._clock()

    @property
    def role(self) -> Role:
        return self._role

    @property
    def is_director(self) -> bool:
        return self._role is Role.DIRECTOR

    def refresh_role(self) -> Role:
        """Recompute the role; log ``%SMI-5-DIRECTOR`` when it changes."""
        role = self.settings.role(self.owns_address)
        if role is not self._role:
            self._role = role
            status = "Enabled" if role is Role.DIRECTOR else "Disabled"
            self.events.smi("DIRECTOR", status=status)
            if role is Role.DIRECTOR:
                self._ensure_director_entry()
        return role

    def _ensure_director_entry(self) -> None:
        existing = [d for d in self.state.devices() if d.is_director]
        mac = existing[0].mac if existing else director_mac(self.settings.director_ip or "")
        self.state.upsert_device(
            Device(
                0,
                mac,
                hostname=self.settings.hostname,
                ip=self.settings.director_ip or "",
                hop=0,
                is_director=True,
                device_type=DeviceType.SMART_INSTALL,
                version="smartinstall",
            )
        )

    def tick(self) -> None:
        """Periodic work: join-window transitions, health, role. Call every second or so."""
        self.refresh_role()
        if not self.is_director:
            return
        now = self.now()
        window_open = is_open(self.settings.join_window, now, self.tz)
        if self._window_open is not None and window_open != self._window_open:
            self.events.smi(
                "SMI_JOIN_WINDOW_MESSAGE",
                status="Start" if window_open else "End",
                ip=self.settings.director_ip or self.address,
            )
        self._window_open = window_open
        self.check_health(now)

    #: when (seconds since the epoch) the SMI server last refused a connection from this
    #: client address because it was busy (a flood); the daemon wires it to the server
    refused_report_at: Callable[[str], float | None] | None = None

    def check_health(self, now: dt.datetime | None = None) -> list[Device]:
        """Active while keepalives arrive; Inactive after three missed periods *of this run*:
        a director that was stopped did not hear the keepalives sent meanwhile, so a client
        is judged only once the director has listened for three periods. A client whose
        report a busy SMI server refused within those periods reached the director: the
        keepalives lost to a flood are not counted as missed (it is left as it is)."""
        now = now or self.now()
        limit = now - dt.timedelta(seconds=self.keepalive_period * KEEPALIVE_MISSES)
        if self._watching_since is None:
            self._watching_since = now
        if self._watching_since > limit:
            return []
        gone = []
        refused_at = self.refused_report_at
        for device in self.state.stale_devices(limit):
            refused = refused_at(device.ip) if refused_at is not None and device.ip else None
            if refused is not None and refused >= limit.timestamp():
                continue
            gone.append(self.state.set_health(device.mac, Health.INACTIVE))
            self.events.smi("SWITCH_REMOVE", mac=device.mac)
        return gone

    # --- durability and background work ---------------------------------------------------

    async def flush(self) -> None:
        """Return once every change so far is committed (raises StoreError if it failed)."""
        await self._flush()

    def _mark_durable(self, mac: str) -> None:
        if len(self._durable_before_ack) >= MAX_AWAITING_ACK:  # a flood of new MACs
            self._durable_before_ack.clear()
        self._durable_before_ack.add(mac)

    def durable_before_ack(self, mac: str) -> bool:
        """Must the director's changes be committed before this client's DHCP ACK leaves?
        (asked once per ACK; a client's later exchanges need no commit of their own)"""
        if mac in self._durable_before_ack:
            self._durable_before_ack.discard(mac)
            return True
        return False

    def _spawn(self, name: str, coroutine: Coroutine[Any, Any, object]) -> None:
        self.tasks.spawn(name, coroutine)

    async def drain(self) -> None:
        """Wait for background work (tests, shutdown)."""
        await self.tasks.drain()

    async def cancel_background(self, grace: float = 0.0) -> None:
        """Stop background work at shutdown: what ends within ``grace`` seconds ends on its
        own (a backup being stored), the rest is cancelled; pending backups are in the state
        already."""
        await self.tasks.close(grace)

    # --- shared reads ---------------------------------------------------------------------

    @property
    def backup_dir(self) -> str:
        """The local backup repository, relative to flash: (``vstack`` by default)."""
        location = parse_repository(self.settings.backup.location)
        return location.path if location.local else "vstack"

    def _join_pinned(self, mac: str) -> bool:
        record = self.state.device_record(mac)
        return record.join_pinned if record is not None else False

    def _removed_from_hold(self, mac: str) -> bool:
        record = self.state.device_record(mac)
        return record.removed_from_hold if record is not None else False

    def _replacement_of(self, mac: str) -> tuple[bool, str | None]:
        replacement = self.state.replacement_of(mac)
        if replacement is None:
            return False, None
        return True, replacement.config_file or None

    # --- files the director publishes on flash: -------------------------------------------

    def publish(self, path: str, data: bytes, failure: str) -> None:
        """Have ``path`` on flash: hold ``data`` (imagelists, tailored configurations). The
        write (atomic, fsynced) runs on a thread; a TFTP read of the file waits for it. When
        it fails, the ``%SMI`` message ``failure`` is logged — once, until a write of the file
        succeeds again (the next answers that name it write it again: each failure is
        counted, and the DHCP ACKs that name it wait, :meth:`wait_published`)."""
        if self._published.get(path) == data:
            return
        running = self._publishing.get(path)
        if running is not None and not running.done():
            running.add_done_callback(lambda _f: self.publish(path, data, failure))
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a synchronous caller): write here
            self._publish_done(path, data, self._write_if_changed(path, data), failure)
            return
        future: asyncio.Future[bool] = loop.create_future()
        self._publishing[path] = future
        self._spawn("publish", self._publish_file(path, data, failure, future))

    async def _publish_file(
        self, path: str, data: bytes, failure: str, done: asyncio.Future[bool]
    ) -> None:
        try:
            error = await asyncio.to_thread(self._write_if_changed, path, data)
            ok = error is None
        except BaseException:
            ok = False
            raise
        else:
            self._publish_done(path, data, error, failure)
        finally:
            if self._publishing.get(path) is done:
                del self._publishing[path]
            done.set_result(ok)

    def _publish_done(self, path: str, data: bytes, error: str | None, failure: str) -> None:
        if error is None:
            self._published[path] = data
            failed, _ = self._unwritten.pop(path, (0, ""))
            if failed:
                name = path if "://" in path else f"flash:{path}"
                log.warning("%s written after %d failed attempts", name, failed)
            return
        failed = self._unwritten.get(path, (0, ""))[0] + 1
        self._unwritten[path] = (failed, error)
        if failed == 1:  # the attempts that follow are counted, not said again
            self.events.smi(failure)

    def _write_if_changed(self, path: str, data: bytes) -> str | None:
        """(thread) Write unless the file holds ``data`` already; why it failed, else None."""
        try:
            if self.repo.exists(path) and self.repo.read_bytes(path, limit=len(data) + 1) == data:
                return None
            self.repo.write(path, data)
        except OSError as error:
            log.error("publishing %s failed: %s", path, error)
            return str(error)
        return None

    def unwritten(self, path: str) -> str | None:
        """Why the last write of ``path`` failed, when it did and none succeeded since."""
        found = self._unwritten.get(path.lstrip("/"))
        if found is None and (url := self._remote_names.get(path.lstrip("/"))) is not None:
            found = self._unwritten.get(url)
        return found[1] if found is not None else None

    # --- files the director writes to a third-party TFTP server ---------------------------

    def publish_remote(self, url: str, data: bytes, failure: str) -> asyncio.Future[bool] | None:
        """Have the third-party TFTP server of ``url`` hold ``data`` (an imagelist, a tailored
        configuration the answer names there). Guide, "Image List File": the director writes
        it there; when it cannot, the failure is logged (``failure``, once until a write
        succeeds again) and the upgrade proceeds if the file was put there by hand — a copy
        found on the server counts as written. A failed write is tried again by the next
        answer naming it (not within :data:`REMOTE_RETRY` seconds of the last). The DHCP ACK
        naming it waits for the attempt (:meth:`wait_published`). Returns the attempt under
        way, if any (None: the file is there, or its last attempt failed moments ago)."""
        location = parse_location(url)
        if len(self._remote_names) >= MAX_AWAITING_ACK:
            self._remote_names.clear()
        self._remote_names[location.path] = url
        now = time.monotonic()
        there = self._remote_there.get(url)
        if there is not None and there[0] == data and now - there[1] < REMOTE_FRESH:
            return None
        running = self._publishing.get(url)
        if running is not None and not running.done():
            return running
        if now - self._remote_failed_at.get(url, -REMOTE_RETRY) < REMOTE_RETRY:
            return None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop: a synchronous caller cannot talk to a server
            log.warning("tftp://%s not written: no event loop", url)
            return None
        future: asyncio.Future[bool] = loop.create_future()
        self._publishing[url] = future
        self._spawn("publish", self._publish_remote(location, data, failure, future))
        return future

    async def _publish_remote(
        self, location: Location, data: bytes, failure: str, done: asyncio.Future[bool]
    ) -> None:
        url = location.text
        try:
            async with asyncio.timeout(REMOTE_TIMEOUT):
                error = await self._write_remote(location, data)
        except TimeoutError:
            error = f"no answer from {location.host} within {REMOTE_TIMEOUT:g} s"
        except BaseException:  # cancelled (shutdown): nothing is known of the server
            if self._publishing.get(url) is done:
                del self._publishing[url]
            done.set_result(False)
            raise
        if self._publishing.get(url) is done:
            del self._publishing[url]
        if error is None:
            self._remote_there[url] = (data, time.monotonic())
            self._remote_failed_at.pop(url, None)
        else:
            self._remote_there.pop(url, None)
            self._remote_failed_at[url] = time.monotonic()
        self._publish_done(url, data, error, failure)
        done.set_result(error is None)

    async def _write_remote(self, location: Location, data: bytes) -> str | None:
        """Write ``data`` to the server; None when it is there (written, or a copy put there
        by hand is found), else why it is not."""
        server = self.file_server
        if server is None:
            return "no TFTP client for third-party servers"
        staging = await asyncio.to_thread(_staging_file, data)
        try:
            try:
                await server.upload(location.host, location.port, location.path, staging)
                return None
            except (OSError, RemoteFileError) as error:
                why = str(error) or type(error).__name__
            log.error("writing %s failed: %s", location.text, why)
            try:  # "the upgrade process is initialized even when the file is copied manually"
                size = await server.fetch(location.host, location.port, location.path, staging)
            except (OSError, RemoteFileError):
                return why
            if size == 0:
                return why
            log.warning("%s not written (%s): the copy on the server is used", location.text, why)
            return None
        finally:
            await asyncio.to_thread(staging.unlink, missing_ok=True)

    async def wait_published(self, paths: Sequence[str]) -> str | None:
        """Wait for the writes of ``paths`` under way; None when each is on flash: (or is not
        one the director writes), else what failed — a DHCP answer must not name it."""
        for path in paths:
            running = self.publication(path)
            if running is not None:
                await asyncio.shield(running)
        for path in paths:
            why = self.unwritten(path)
            if why is not None:
                url = self._remote_names.get(path.lstrip("/"))
                return f"{url or 'flash:' + path.lstrip('/')} not written: {why}"
        return None

    def publication(self, path: str) -> asyncio.Future[bool] | None:
        """The write of ``path`` under way, if any (a TFTP read waits for it)."""
        name = path.lstrip("/")
        future = self._publishing.get(name) or self._publishing.get(str(PurePosixPath(name)))
        if future is None and (url := self._remote_names.get(name)) is not None:
            future = self._publishing.get(url)
        return future if future is not None and not future.done() else None

    # --- talking to clients ---------------------------------------------------------------

    async def _send(self, request: CommandRequest) -> None:
        if self.send_command is None:
            raise OSError("no SMI sender")
        self.events.debug_line("protocol", f"{request.kind} to {request.host}:{request.port}")
        await self.send_command(request)

    async def _send_quietly(self, request: CommandRequest) -> bool:
        try:
            await self._send(request)
            return True
        except (OSError, TimeoutError) as error:
            log.warning("%s to %s failed: %s", request.kind, request.host, error)
            self.events.smi(
                "CLIENT_CONN_FAILED",
                client_ip=request.host,
                director_ip=self.settings.director_ip or self.address,
            )
            return False

    def _client_port(self, mac: str) -> int:
        return self._client_ports.get(mac, self.client_smi_port)

    @property
    def tftp_prefix(self) -> str:
        """``tftp://<director>[:port]/``: what every file of flash: is fetched under."""
        port = "" if self.tftp_port == 69 else f":{self.tftp_port}"
        return f"tftp://{self.settings.director_ip or self.address}{port}/"

    def tftp_url(self, location: str) -> str:
        """A location as the client fetches it: flash: files from the director's TFTP server."""
        parsed = parse_location(location)
        if not parsed.local:
            return parsed.text
        return self.tftp_prefix + parsed.path

    def _tftp_url_of(self, served: str) -> str:
        """A file the director serves (relative to flash:) as a tftp:// URL."""
        if served.startswith("tftp://"):
            return served
        return self.tftp_prefix + served
