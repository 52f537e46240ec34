"""What the director's HTTP service (``smartinstall.services.http``) reads and drives, as plain
data: the adapter between the service and the running director (``DirectorDaemon``).

Reads come from the in-memory state the director core owns (never SQL); changes are lines of
the director's own command engine, run in a privilege-15 session exactly as an operator's
terminal runs them, so the API validates, applies and renders a change as the CLI does; `save`
persists them as ``write memory`` does. Backup files are read off the event loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import difflib
import hashlib
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smartinstall.director.eventlog import LoggedLine
from smartinstall.director.http_metrics import director_metrics
from smartinstall.director.standby import fleet_inventory
from smartinstall.domain.devices import Device
from smartinstall.domain.groups import ClientFacts, CustomGroup, GroupFiles, resolve
from smartinstall.domain.values import normalize_mac
from smartinstall.ios.engine import Session
from smartinstall.ios.tree import PRIVILEGED_LEVEL
from smartinstall.services.http.host import (
    CommandRejected,
    MetricFamily,
    Principal,
    SaveFailed,
)
from smartinstall.store.port import Change, DeviceRemoved, DeviceSaved, StoreError
from smartinstall.store.records import BackupRecord, DownloadEntry
from smartinstall.store.repository import RepositoryError

if TYPE_CHECKING:
    from smartinstall.director.daemon import DirectorDaemon

log = logging.getLogger(__name__)

EVENT_RING = 2048
MAX_BACKUP_TEXT = 4 << 20


def _iso(when: dt.datetime | None) -> str | None:
    return when.isoformat() if when is not None else None


def device_json(device: Device, group: str | None = None) -> dict[str, Any]:
    """One director-database entry, as ``show vstack status detail`` knows it."""
    return {
        "number": device.number,
        "mac": device.mac,
        "ip": device.ip,
        "hostname": device.hostname,
        "pid": device.pid,
        "serial": device.serial,
        "version": device.version,
        "image": device.image,
        "status": device.status(),
        "device_type": device.device_type.value,
        "health": device.health.value,
        "join_state": device.join_state.value,
        "upgrade": {
            "image": device.upgrade.image.value,
            "config": device.upgrade.config.value,
            "script": device.upgrade.script.value,
        },
        "is_director": device.is_director,
        "hop": device.hop,
        "upstream": {
            "mac": device.upstream_mac,
            "ip": device.upstream_ip,
            "port": device.upstream_port,
        },
        "group": group,
    }


def download_json(entry: DownloadEntry) -> dict[str, Any]:
    return {
        "number": entry.number,
        "id": entry.id,
        "ip": entry.ip,
        "mac": entry.mac,
        "hostname": entry.hostname,
        "method": entry.method.value,
        "image": entry.image.value,
        "config": entry.config.value,
        "script": entry.script.value,
        "image_reason": entry.image_reason,
        "config_reason": entry.config_reason,
        "script_reason": entry.script_reason,
        "created_at": _iso(entry.created_at),
        "updated_at": _iso(entry.updated_at),
    }


def backup_json(record: BackupRecord) -> dict[str, Any]:
    return {
        "revision": record.id,
        "mac": record.mac,
        "hostname": record.hostname,
        "file": record.file,
        "md5": record.checksum,
        "size": record.size,
        "taken_at": _iso(record.taken_at),
    }


def _files(files: GroupFiles) -> dict[str, Any]:
    return {
        "image": files.image,
        "config": files.config,
        "script": files.script,
        "family_images": dict(files.family_images),
    }


def _custom(group: CustomGroup) -> dict[str, Any]:
    return {
        "name": group.name,
        "kind": group.kind.value,
        **_files(group.files),
        "config_lines": group.render(),
    }


def _read_revision(paths: list[Path], md5: str) -> str | None:
    """(thread) The text of the first file whose MD5 is ``md5``."""
    for path in paths:
        try:
            with path.open("rb") as file:
                data = file.read(MAX_BACKUP_TEXT + 1)
        except OSError:
            continue
        if hashlib.md5(data, usedforsecurity=False).hexdigest().upper() == md5.upper():
            return data.decode("utf-8", errors="replace")
    return None


def _message(output: str) -> str:
    """The IOS message of a rejected line, without the caret line a terminal would show."""
    lines = [line for line in output.splitlines() if line.strip() not in ("", "^")]
    return "\n".join(lines) or "% Rejected"


@dataclass(slots=True)
class _CachedRow:
    """A row of the device table: the Device it was made of, the row, and the row as JSON
    (made when first asked)."""

    device: Device
    row: dict[str, Any]
    text: str | None = None


class DirectorHttpBridge:
    """The `HttpHost` of a running director (see the module docstring)."""

    def __init__(self, daemon: DirectorDaemon) -> None:
        self.daemon = daemon
        self.data_dir = daemon.data_dir
        self._events: deque[tuple[int, LoggedLine]] = deque(maxlen=EVENT_RING)
        self._next_event = 1
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        for line in list(daemon.events.buffer):
            self._remember(line)
        daemon.events.subscribe(self._logged)
        # the rows of the device table, by MAC (see `_CachedRow`). The state replaces a
        # Device on every change, so the same object means the same row; groups depend on the
        # settings, so a change of the settings empties the caches. The group of a client's
        # facts is kept apart: the precedence rule is most of a row's cost, and during a
        # roll-out entries change (progress, keepalives) far more often than their facts.
        self._rows: dict[str, _CachedRow] = {}
        self._groups: dict[ClientFacts, str | None] = {}
        self._row_listeners: list[Callable[[], None]] = []  # watch_devices
        director = getattr(daemon, "director", None)
        if director is not None:
            director.add_settings_listener(self._settings_changed)
        self._lock = asyncio.Lock()  # one API change at a time, as one terminal would

    def close(self) -> None:
        self.daemon.events.unsubscribe(self._logged)

    # --- events ----------------------------------------------------------------------------

    def _remember(self, line: LoggedLine) -> dict[str, Any]:
        number = self._next_event
        self._next_event += 1
        self._events.append((number, line))
        return self._event_json(number, line)

    @staticmethod
    def _event_json(number: int, line: LoggedLine) -> dict[str, Any]:
        return {
            "id": number,
            "time": line.when.isoformat(),
            "severity": line.severity,
            "mnemonic": line.mnemonic,
            "text": line.text,
        }

    def _logged(self, line: LoggedLine) -> None:
        event = self._remember(line)
        for listener in list(self._listeners):
            listener(event)

    def events(self, since: int = 0, limit: int = 500) -> list[dict[str, Any]]:
        found = [self._event_json(n, line) for n, line in self._events if n > since]
        return found[:limit]

    def subscribe(self, listener: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    # --- reads -----------------------------------------------------------------------------

    @property
    def hostname(self) -> str:
        return self.daemon.settings.hostname

    def _settings_changed(self) -> None:
        self._rows.clear()
        self._groups.clear()
        for listener in list(self._row_listeners):
            listener()

    def _group_of(self, device: Device) -> str | None:
        if device.is_director:
            return None
        facts = ClientFacts.of_device(device)
        if facts in self._groups:
            return self._groups[facts]
        group = resolve(self.daemon.settings.groups, facts).group
        self._groups[facts] = group
        return group

    def _cached(self, device: Device) -> _CachedRow:
        cached = self._rows.get(device.mac)
        if cached is not None and cached.device is device:
            return cached
        cached = _CachedRow(device, device_json(device, self._group_of(device)))
        self._rows[device.mac] = cached
        return cached

    def _row(self, device: Device) -> dict[str, Any]:
        return self._cached(device).row

    def _current(self) -> list[Device]:
        devices = self.daemon.state.devices()
        if len(self._rows) > 2 * len(devices) + 64:  # entries cleared or merged
            self._rows.clear()
        if len(self._groups) > 4 * len(devices) + 64:  # facts that changed
            self._groups.clear()
        return devices

    def devices(self) -> list[dict[str, Any]]:
        """The rows of the device table (shared with the cache: not to be changed)."""
        return [self._cached(d).row for d in self._current()]

    def devices_json(self) -> str:
        """The device table as a JSON array; each row is serialised once per change of its
        entry, so a large table costs little more than the rows that changed."""
        parts = []
        for device in self._current():
            cached = self._cached(device)
            if cached.text is None:
                cached.text = json.dumps(cached.row, separators=(",", ":"))
            parts.append(cached.text)
        return "[" + ",".join(parts) + "]"

    def watch_devices(self, listener: Callable[[], None]) -> Callable[[], None]:
        """``listener`` is called after an entry of the director's state is saved with a new
        device (not a keepalive of an Active client: its row stays the same) or removed, and
        when the settings change (a row's group)."""

        def watcher(change: Change) -> None:
            if isinstance(change, DeviceSaved):
                cached = self._rows.get(change.record.device.mac)
                if cached is not None and cached.device is change.record.device:
                    return  # the same Device object: the same row
                listener()
            elif isinstance(change, DeviceRemoved):
                listener()

        stop = self.daemon.state.watch(watcher)
        self._row_listeners.append(listener)

        def unwatch() -> None:
            stop()
            if listener in self._row_listeners:
                self._row_listeners.remove(listener)

        return unwatch

    def _find(self, key: str) -> Device | None:
        state = self.daemon.state
        if key.isdigit():
            return state.device_by_number(int(key))
        if key.count(".") == 3:
            return state.device_by_ip(key)
        try:
            return state.device_by_mac(normalize_mac(key))
        except ValueError:
            return None

    def device(self, key: str) -> dict[str, Any] | None:
        device = self._find(key)
        if device is None:
            return None
        result = dict(self._row(device))
        result["neighbors"] = [
            {
                "local_port": n.local_port,
                "mac": n.mac,
                "device_id": n.device_id,
                "ip": n.ip,
                "port": n.port,
                "platform": n.platform,
            }
            for n in device.neighbors
        ]
        result["members"] = [
            {"number": m.number, "pid": m.pid, "mac": m.mac} for m in device.members
        ]
        result["downloads"] = [
            download_json(e) for e in self.daemon.state.downloads() if e.mac == device.mac
        ]
        result["backups"] = [backup_json(b) for b in self.daemon.state.backups(device.mac)]
        return result

    def downloads(self) -> list[dict[str, Any]]:
        return [download_json(e) for e in self.daemon.state.downloads()]

    def groups(self) -> dict[str, Any]:
        groups = self.daemon.settings.groups
        return {
            "default": _files(groups.default),
            "builtin": [
                {"name": key.label(), **_files(groups.builtin[key].files)}
                for key in sorted(groups.builtin)
            ],
            "custom": [_custom(g) for g in groups.custom.values()],
        }

    def join_window(self) -> dict[str, Any]:
        director = self.daemon.director
        window = director.settings.join_window
        held = [device_json(d) for d in self.daemon.state.devices() if d.join_state.value == "h"]
        from smartinstall.domain.joinwindow import is_open

        now = director.now()
        return {
            "open": is_open(window, now, now.tzinfo or dt.UTC),
            "closed": window.closed,
            "mode": "auto" if window.auto else "manual",
            "config_lines": window.render(),
            "held": held,
        }

    def backups(self, key: str) -> list[dict[str, Any]] | None:
        device = self._find(key)
        if device is None:
            return None
        return [backup_json(b) for b in self.daemon.state.backups(device.mac)]

    def _backup(self, key: str, revision: int) -> BackupRecord | None:
        device = self._find(key)
        if device is None:
            return None
        return next((b for b in self.daemon.state.backups(device.mac) if b.id == revision), None)

    async def fleet(self) -> list[dict[str, Any]]:
        """``GET /api/v1/fleet``: the directors of the shared database (read in a thread)."""
        return await fleet_inventory(self.daemon.database_url)

    async def backup_text(self, key: str, revision: int) -> str | None:
        """A revision's text: the file that still holds it (REV2, or REV1 once a newer backup
        rotated it), recognised by its MD5; None when no kept file holds it any longer."""
        record = self._backup(key, revision)
        if record is None or "://" in record.file:
            return None
        names = [record.file]
        if record.file.endswith(".REV2"):
            names.append(record.file[: -len("REV2")] + "REV1")
        try:
            paths = [self.daemon.repo.resolve(name) for name in names]
        except RepositoryError:
            return None
        return await asyncio.to_thread(_read_revision, paths, record.checksum)

    async def backup_diff(self, key: str, old: int, new: int) -> str | None:
        a, b = await self.backup_text(key, old), await self.backup_text(key, new)
        if a is None or b is None:
            return None
        lines = difflib.unified_diff(
            a.splitlines(keepends=True), b.splitlines(keepends=True), f"rev{old}", f"rev{new}"
        )
        return "".join(lines)

    def ready(self) -> bool:
        return self.daemon.terminals is not None and self.daemon.tftp is not None

    def metrics(self) -> list[MetricFamily]:
        return director_metrics(self.daemon)

    # --- users -----------------------------------------------------------------------------

    def check_user(self, name: str, password: str) -> Principal | None:
        """Blocking (scrypt): the caller runs it in a thread."""
        terminals = self.daemon.terminals
        if terminals is None:
            return None
        user = terminals.access.check_user(name, password)
        return Principal(user.name, user.privilege) if user is not None else None

    def privilege_of(self, name: str) -> int | None:
        terminals = self.daemon.terminals
        if terminals is None:
            return None
        user = terminals.access.users.get(name)
        return user.privilege if user is not None else None

    async def login_attempt(
        self,
        peer: str,
        user: str,
        port: int,
        check: Callable[[], Awaitable[Principal | None]],
    ) -> Principal | None:
        """One password attempt, judged by the terminals' login guard (the same backoff as
        SSH and telnet logins, the same ``%SEC_LOGIN`` messages)."""
        terminals = self.daemon.terminals
        if terminals is None:
            return None
        return await terminals.hub.guard.attempt(peer, user, port, check)

    # --- changes ---------------------------------------------------------------------------

    def _session(self) -> Session:
        terminals = self.daemon.terminals
        if terminals is None:
            raise CommandRejected("% The director's command engine is not running")
        return terminals.engine.session(PRIVILEGED_LEVEL)

    async def configure(self, lines: list[str]) -> str:
        """Configuration lines, as ``configure terminal`` takes them; the first rejected line
        ends the change (the lines before it stay, as on a terminal)."""
        async with self._lock:
            session = self._session()
            entered = session.execute("configure terminal", help_mark=False)
            if not entered.ok:  # the configuration lock of another terminal's replace
                raise CommandRejected(_message(entered.output), "configure terminal")
            output = []
            try:
                for applied, line in enumerate(lines):
                    outcome = session.execute(line, help_mark=False)
                    output.append(outcome.output)
                    if not outcome.ok:
                        raise CommandRejected(_message(outcome.output), line, applied)
                    if session.pending is not None:
                        session.pending = None
                        raise CommandRejected("% The command asks a question", line, applied)
            finally:
                session.execute("end", help_mark=False)
            return "".join(output)

    async def run_exec(self, line: str) -> str:
        """One privileged EXEC command; its network work (``Context.wait``) is awaited."""
        session = self._session()
        outcome = session.execute(line, help_mark=False)
        if session.pending is not None:
            outcome = session.execute("y", help_mark=False)
        if not outcome.ok:
            raise CommandRejected(_message(outcome.output), line)
        more = await session.settle()
        if not session.settled_ok:
            raise CommandRejected((outcome.output + more).strip(), line)
        return outcome.output + more

    async def save(self) -> str:
        """Persist what the API changed: the database's queued changes committed (a hold-list
        release), then ``write memory`` as a terminal runs it (the engine writes the file in a
        thread, off the loop). One at a time with the API's changes, so the saves land in the
        order of the changes."""
        async with self._lock:
            try:
                await self.daemon.director.flush()
            except StoreError as error:  # the writer retries; the caller is told
                raise SaveFailed(f"%Error committing the director database ({error})") from None
            try:
                session = self._session()
            except CommandRejected as error:
                raise SaveFailed(error.message) from None
            outcome = session.execute("write memory", help_mark=False)
            more = await session.settle() if outcome.ok else ""
            if not outcome.ok or not session.settled_ok:
                errors = [x for x in (outcome.output + more).splitlines() if x.startswith("%")]
                raise SaveFailed("\n".join(errors) or "%Error writing startup-config")
            return outcome.output + more


__all__ = ["DirectorHttpBridge", "backup_json", "device_json", "download_json"]
