"""The store port: what the director's state owner asks of persistence, and nothing more.

The owner (:class:`smartinstall.director.state.DirectorState`) keeps every record in memory
and describes each change as a *change record*: the new value of one keyed thing (a device
entry, a download-status row, a backup record …) or its removal. A :class:`Store` adapter
(SQLite or PostgreSQL, :mod:`smartinstall.store.sqlstore`) loads the whole state once at start
(:meth:`Store.load`) and applies batches of change records, each batch in one transaction
(:meth:`Store.apply`). The writer (:mod:`smartinstall.store.writer`) runs a store on its own
thread; nothing else calls it.

A change record carries the whole new value, never a delta, so records of one key can be
coalesced (the last one wins) and applying a batch twice is harmless.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from smartinstall.store.records import (
    BackupRecord,
    DeviceRecord,
    DownloadEntry,
    PendingBackup,
    Replacement,
)


class StoreError(Exception):
    """The store could not load or apply (disk full, database gone, corrupt file …)."""


@dataclass(frozen=True, slots=True)
class DeviceSaved:
    record: DeviceRecord

    @property
    def key(self) -> tuple[str, object]:
        return ("device", self.record.key)


@dataclass(frozen=True, slots=True)
class DeviceRemoved:
    device_key: int

    @property
    def key(self) -> tuple[str, object]:
        return ("device", self.device_key)


@dataclass(frozen=True, slots=True)
class DownloadSaved:
    entry: DownloadEntry

    @property
    def key(self) -> tuple[str, object]:
        return ("download", self.entry.id)


@dataclass(frozen=True, slots=True)
class DownloadRemoved:
    entry_id: int

    @property
    def key(self) -> tuple[str, object]:
        return ("download", self.entry_id)


@dataclass(frozen=True, slots=True)
class BackupSaved:
    record: BackupRecord

    @property
    def key(self) -> tuple[str, object]:
        return ("backup", self.record.id)


@dataclass(frozen=True, slots=True)
class BackupRemoved:
    backup_id: int

    @property
    def key(self) -> tuple[str, object]:
        return ("backup", self.backup_id)


@dataclass(frozen=True, slots=True)
class PendingBackupSaved:
    pending: PendingBackup

    @property
    def key(self) -> tuple[str, object]:
        return ("pending", self.pending.mac)


@dataclass(frozen=True, slots=True)
class PendingBackupRemoved:
    mac: str

    @property
    def key(self) -> tuple[str, object]:
        return ("pending", self.mac)


@dataclass(frozen=True, slots=True)
class ReplacementSaved:
    replacement: Replacement

    @property
    def key(self) -> tuple[str, object]:
        return ("replacement", self.replacement.new_mac)


@dataclass(frozen=True, slots=True)
class ReplacementRemoved:
    new_mac: str

    @property
    def key(self) -> tuple[str, object]:
        return ("replacement", self.new_mac)


@dataclass(frozen=True, slots=True)
class StateSaved:
    name: str
    value: str
    at: dt.datetime

    @property
    def key(self) -> tuple[str, object]:
        return ("state", self.name)


@dataclass(frozen=True, slots=True)
class StateRemoved:
    name: str

    @property
    def key(self) -> tuple[str, object]:
        return ("state", self.name)


Change = (
    DeviceSaved
    | DeviceRemoved
    | DownloadSaved
    | DownloadRemoved
    | BackupSaved
    | BackupRemoved
    | PendingBackupSaved
    | PendingBackupRemoved
    | ReplacementSaved
    | ReplacementRemoved
    | StateSaved
    | StateRemoved
)


def coalesce(changes: Iterable[Change]) -> list[Change]:
    """One record per key, the last one, in the order of the last records: applying the result
    leaves the store as applying every record in turn would."""
    last: dict[tuple[str, object], Change] = {}
    for change in changes:
        key = change.key
        last.pop(key, None)
        last[key] = change
    return list(last.values())


@dataclass
class Snapshot:
    """Everything the director keeps, as the store had it at start."""

    devices: list[DeviceRecord] = field(default_factory=list)
    downloads: list[DownloadEntry] = field(default_factory=list)  # by id (table order)
    backups: list[BackupRecord] = field(default_factory=list)
    pending: list[PendingBackup] = field(default_factory=list)
    replacements: list[Replacement] = field(default_factory=list)
    state: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StoreStats:
    """What the adapter has done since it was opened (``show vstack internal``)."""

    statements: int = 0
    commits: int = 0
    statements_off_writer: int = 0  # statements run on an event loop thread: must stay 0


class Store(Protocol):
    """A persistence adapter. Blocking; called from one thread (the writer's) only."""

    def load(self) -> Snapshot: ...

    def apply(self, changes: Sequence[Change]) -> None: ...

    def stats(self) -> StoreStats: ...

    def close(self) -> None: ...


class MemoryStore:
    """A store that keeps the records in a dict (tests, and ``--database memory:``)."""

    def __init__(self) -> None:
        self._records: dict[tuple[str, object], Change] = {}
        self._commits = 0
        self._statements = 0

    def load(self) -> Snapshot:
        snapshot = Snapshot()
        for change in self._records.values():
            if isinstance(change, DeviceSaved):
                snapshot.devices.append(change.record)
            elif isinstance(change, DownloadSaved):
                snapshot.downloads.append(change.entry)
            elif isinstance(change, BackupSaved):
                snapshot.backups.append(change.record)
            elif isinstance(change, PendingBackupSaved):
                snapshot.pending.append(change.pending)
            elif isinstance(change, ReplacementSaved):
                snapshot.replacements.append(change.replacement)
            elif isinstance(change, StateSaved):
                snapshot.state[change.name] = change.value
        snapshot.downloads.sort(key=lambda e: e.id)
        snapshot.devices.sort(key=lambda r: r.key)
        return snapshot

    def apply(self, changes: Sequence[Change]) -> None:
        for change in changes:
            self._statements += 1
            if isinstance(
                change,
                DeviceRemoved
                | DownloadRemoved
                | BackupRemoved
                | PendingBackupRemoved
                | ReplacementRemoved
                | StateRemoved,
            ):
                self._records.pop(change.key, None)
            else:
                self._records[change.key] = change
        self._commits += 1

    def stats(self) -> StoreStats:
        return StoreStats(self._statements, self._commits)

    def close(self) -> None:
        return None
