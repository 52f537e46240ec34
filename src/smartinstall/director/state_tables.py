"""The tables of the director's state and what every part of the owner shares: the change
sink, the watchers of changes, the clock, the refusal (:class:`StateError`). See
:mod:`smartinstall.director.state`."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from smartinstall.domain.devices import Device
from smartinstall.domain.errors import DomainError
from smartinstall.domain.values import normalize_mac
from smartinstall.store.port import Change
from smartinstall.store.records import (
    BackupRecord,
    DeviceRecord,
    DownloadEntry,
    PendingBackup,
    Replacement,
    utcnow,
)

Sink = Callable[[Change], None]
Watcher = Callable[[Change], None]

log = logging.getLogger(__name__)


class StateError(Exception):
    """A change the state refuses (unknown entry, bad value)."""


def _mac(text: str) -> str:
    try:
        return normalize_mac(text)
    except DomainError as error:
        raise StateError(str(error)) from None


def _aware(when: dt.datetime) -> dt.datetime:
    if when.tzinfo is None:
        raise StateError("naive datetime given to the director state; use aware times")
    return when


@dataclass(slots=True)
class _Entry:
    key: int
    device: Device
    last_keepalive: dt.datetime | None
    removed_from_hold: bool
    first_seen: dt.datetime
    updated_at: dt.datetime
    join_pinned: bool = False

    def record(self) -> DeviceRecord:
        return DeviceRecord(
            self.device,
            self.last_keepalive,
            self.removed_from_hold,
            self.first_seen,
            self.updated_at,
            self.key,
            self.join_pinned,
        )


def _macs(device: Device) -> set[str]:
    return {device.mac, *(m.mac for m in device.members)}


class Tables:
    """The director's records, in memory (the parts of :class:`DirectorState` fill and read
    them)."""

    def __init__(
        self, sink: Sink | None = None, *, clock: Callable[[], dt.datetime] = utcnow
    ) -> None:
        self._sink = sink
        self._clock = clock
        self._entries: dict[int, _Entry] = {}
        self._by_mac: dict[str, int] = {}  # device and member MACs -> key
        self._by_number: dict[int, int] = {}
        self._by_ip: dict[str, set[int]] = {}
        self._reporters: dict[str, set[int]] = {}  # neighbour MAC -> keys listing it
        self._downstream: dict[str, set[int]] = {}  # upstream MAC -> keys behind it
        self._free_numbers: list[int] = []  # heap of freed numbers
        self._highest_number = 0
        self._next_key = 1
        self._downloads: dict[int, DownloadEntry] = {}  # by id, in table order
        self._latest_download: dict[str, int] = {}  # mac -> newest id
        self._next_download = 1
        self._backups: dict[str, list[BackupRecord]] = {}  # mac -> oldest first
        self._next_backup = 1
        self._pending: dict[str, PendingBackup] = {}
        self._replacements: dict[str, Replacement] = {}
        self._named: dict[str, str] = {}
        self._watchers: dict[int, Watcher] = {}
        self._next_watcher = 0

    def set_sink(self, sink: Sink | None) -> None:
        self._sink = sink

    def _emit(self, change: Change) -> None:
        if self._sink is not None:
            self._sink(change)
        if not self._watchers:
            return
        for watcher in list(self._watchers.values()):
            try:
                watcher(change)
            except Exception:  # a reader's bug must not undo the owner's change
                log.exception("director state: a watcher of %s failed", type(change).__name__)

    def watch(self, watcher: Watcher) -> Callable[[], None]:
        """Call ``watcher`` with each change record after the change (on the owner's thread,
        the event loop); it must only take note. Returns the function that stops it."""
        number = self._next_watcher
        self._next_watcher += 1
        self._watchers[number] = watcher

        def stop() -> None:
            self._watchers.pop(number, None)

        return stop

    async def next_change(
        self, timeout: float, match: Callable[[Change], bool] | None = None
    ) -> bool:
        """Wait for the next change (that ``match`` accepts): True, or False after
        ``timeout`` seconds without one. Readers that wait for the state (a download row to
        finish, a client to come back) wake at the change instead of looking again and
        again."""
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def watcher(change: Change) -> None:
            if not woken.done() and (match is None or match(change)):
                woken.set_result(None)

        stop = self.watch(watcher)
        try:
            async with asyncio.timeout(max(0.0, timeout)):
                await woken
        except TimeoutError:
            return False
        finally:
            stop()
        return True

    def _now(self) -> dt.datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise StateError("the state clock must return aware times")
        return now
