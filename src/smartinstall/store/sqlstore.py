"""The SQL adapter of the store port: SQLite by default, PostgreSQL optionally.

:class:`SqlStore` loads the whole director state once (:meth:`SqlStore.load`) and applies
batches of change records, each batch in one transaction with a handful of statements: the
records of one table go out together as one multi-row upsert or one delete (a group commit of
a hundred device updates is still two statements). It runs on the store writer's thread only
(:mod:`smartinstall.store.writer`); every statement is counted, and one that runs on a thread
with a running event loop is counted apart and logged as an error (tests keep that at zero).

Reading is :mod:`smartinstall.store.snapshot` (:func:`read_snapshot`, and
:class:`DatabaseReader` for tools that watch a running director); both are importable from
here too.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL

from smartinstall.domain.devices import Neighbor, StackMember
from smartinstall.store import ownership
from smartinstall.store.database import (
    DatabaseError,
    check_openable,
    create_director_engine,
    describe,
    normalize_url,
    sqlite_path,
    upgrade,
)
from smartinstall.store.port import (
    BackupRemoved,
    BackupSaved,
    Change,
    DeviceRemoved,
    DeviceSaved,
    DownloadRemoved,
    DownloadSaved,
    PendingBackupRemoved,
    PendingBackupSaved,
    ReplacementRemoved,
    ReplacementSaved,
    Snapshot,
    StateRemoved,
    StateSaved,
    StoreError,
    StoreStats,
)
from smartinstall.store.records import (
    BackupRecord,
    DeviceRecord,
    DownloadEntry,
    Replacement,
)
from smartinstall.store.snapshot import (
    BACKUPS,
    DEVICES,
    DOWNLOADS,
    MEMBERS,
    NEIGHBORS,
    PENDING,
    REPLACEMENTS,
    STATE,
    DatabaseReader,
    read_snapshot,
)

__all__ = ["DatabaseReader", "SqlStore", "read_snapshot"]

log = logging.getLogger(__name__)

Children = tuple[tuple[StackMember, ...], tuple[Neighbor, ...]]
_TCP_QUERY = ("keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
              "tcp_user_timeout")  # fmt: skip


# --- conversions ------------------------------------------------------------------------------


def _device_values(record: DeviceRecord) -> dict[str, Any]:
    d = record.device
    return {
        "id": record.key,
        "number": d.number,
        "mac": d.mac,
        "pid": d.pid,
        "serial": d.serial,
        "version": d.version,
        "image": d.image,
        "ip": d.ip,
        "hostname": d.hostname,
        "hop": d.hop,
        "upstream_mac": d.upstream_mac,
        "upstream_ip": d.upstream_ip,
        "upstream_port": d.upstream_port,
        "supervisor": d.supervisor,
        "device_type": d.device_type.value,
        "health": d.health.value,
        "last_keepalive": record.last_keepalive,
        "join_state": d.join_state.value,
        "removed_from_hold": record.removed_from_hold,
        "join_pinned": record.join_pinned,
        "image_progress": d.upgrade.image.value,
        "config_progress": d.upgrade.config.value,
        "script_progress": d.upgrade.script.value,
        "is_director": d.is_director,
        "smi_version": d.smi_version,
        "capability": d.capability,
        "first_seen": record.first_seen,
        "updated_at": record.updated_at,
    }


def _download_values(entry: DownloadEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "ip": entry.ip,
        "mac": entry.mac,
        "hostname": entry.hostname,
        "method": entry.method.value,
        "image_status": entry.image.value,
        "config_status": entry.config.value,
        "script_status": entry.script.value,
        "image_reason": entry.image_reason,
        "config_reason": entry.config_reason,
        "script_reason": entry.script_reason,
        "image_at": entry.image_at,
        "config_at": entry.config_at,
        "script_at": entry.script_at,
        "created_at": entry.created_at,
        "updated_at": entry.updated_at,
        "request": entry.request,
    }


def _backup_values(record: BackupRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "mac": record.mac,
        "hostname": record.hostname,
        "file": record.file,
        "checksum": record.checksum,
        "size": record.size,
        "taken_at": record.taken_at,
    }


def _replacement_values(r: Replacement) -> dict[str, Any]:
    return {
        "new_mac": r.new_mac,
        "old_mac": r.old_mac,
        "old_number": r.old_number,
        "upstream_mac": r.upstream_mac,
        "upstream_ip": r.upstream_ip,
        "upstream_port": r.upstream_port,
        "config_file": r.config_file,
        "started_at": r.started_at,
    }


def _on_loop_thread() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


# --- the store --------------------------------------------------------------------------------


class SqlStore:
    """The director's store on a SQLAlchemy database. Blocking; one thread only."""

    def __init__(
        self,
        database_url: str | URL,
        *,
        migrate: bool = True,
        director_id: str | None = None,
        claim: bool = False,
    ) -> None:
        """``director_id``: whose rows to load and write (None: the id file beside a SQLite
        database, else the one director a database holds); ``claim``: take the rows of a
        database from before director ids (:func:`ownership.claim_unowned`)."""
        self.url = normalize_url(database_url)
        # the member's tag and TCP settings (smartinstall.director.fleet_store.tagged)
        shown = self.url.difference_update_query(["application_name", *_TCP_QUERY])
        self._shown = shown.render_as_string(hide_password=True)
        self._statements = 0
        self._commits = 0
        self._off_writer = 0
        self._children: dict[int, Children] = {}
        self._thread: int | None = None
        check_openable(self.url)
        self._engine = create_director_engine(self.url)
        event.listen(self._engine, "before_cursor_execute", self._count)
        event.listen(self._engine, "commit", self._committed)
        if migrate:
            try:
                upgrade(self._engine, director_id=director_id)
            except Exception as error:
                self._engine.dispose()
                # A database written by a newer release names a revision this one lacks.
                where = sqlite_path(self.url) or self._shown
                advice = (
                    ": restore it from a backup (smartinstall db restore), or move it aside to "
                    "start with an empty database"
                    if sqlite_path(self.url) is not None and "not a database" in describe(error)
                    else ""
                )
                raise DatabaseError(
                    f"cannot open the director database {where}: {describe(error)}{advice}"
                ) from error
        self.director_id = director_id if director_id is not None else self._guess_id()
        # the fencing token of an active member (None: no standby pair); every commit checks
        # it is still the current one (smartinstall.store.fleet)
        self.fence: int | None = None
        # a hot standby's copy of the state, current at takeover: load() returns it
        self.prefetched: Snapshot | None = None
        self.claimed = 0  # rows from before director ids that this store took
        if claim:
            self._claim()
        log.info("director database %s opened", self._shown)
        dialect = self._engine.dialect.name
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert

    @property
    def engine(self) -> Engine:
        return self._engine

    def _guess_id(self) -> str:
        return ownership.guess_director_id(self.url, self._engine)

    def _claim(self) -> None:
        try:
            self.claimed = ownership.claim_for(self._engine, self.director_id)
        except Exception as error:
            self._engine.dispose()
            raise DatabaseError(
                f"cannot open the director database {self._where}: {describe(error)}"
            ) from error

    def records_of(self, director_id: str) -> int:
        """How many records the director ``director_id`` has in this database."""
        with self._engine.begin() as conn:
            return ownership.count_rows(conn, director_id)

    def rename_director(self, old: str) -> int:
        """Move the records of director ``old`` to this store's id (``--rename-director-id``)."""
        return ownership.rename_in(self._engine, old, self.director_id)

    @property
    def _where(self) -> str:
        path = sqlite_path(self.url)
        return str(path) if path is not None else self._shown

    def _count(self, *_args: object) -> None:
        self._statements += 1
        if _on_loop_thread():
            self._off_writer += 1
            log.error("SQL on an event loop thread (%s)", threading.current_thread().name)

    def _committed(self, *_args: object) -> None:
        self._commits += 1

    def stats(self) -> StoreStats:
        return StoreStats(self._statements, self._commits, self._off_writer)

    def close(self) -> None:
        self._engine.dispose()

    # --- load -----------------------------------------------------------------------------

    def load(self) -> Snapshot:
        """The whole state of the director; a hot standby's copy when it was handed over
        (:attr:`prefetched`, checked current by the caller) instead of reading it again."""
        snapshot, self.prefetched = self.prefetched, None
        if snapshot is None:
            try:
                with self._engine.begin() as conn:
                    snapshot = read_snapshot(conn, self.director_id)
            except DatabaseError:
                raise
            except Exception as error:
                raise StoreError(
                    f"cannot read the director database {self._where}: {describe(error)}"
                ) from error
        self._children = {r.key: (r.device.members, r.device.neighbors) for r in snapshot.devices}
        return snapshot

    # --- apply ----------------------------------------------------------------------------

    def _upsert(
        self, conn: Connection, table: Table, keys: Sequence[str], rows: list[dict[str, Any]]
    ) -> None:
        if not rows:
            return
        me = self.director_id
        statement = self._insert(table)
        keys = ["director_id", *keys]
        updates = {c.name: statement.excluded[c.name] for c in table.columns if c.name not in keys}
        conn.execute(
            statement.on_conflict_do_update(index_elements=keys, set_=updates),
            [{**row, "director_id": me} for row in rows],
        )

    def _delete(self, conn: Connection, table: Table, column: str, keys: Iterable[object]) -> None:
        wanted = list(keys)
        if wanted:
            mine = table.c.director_id == self.director_id
            conn.execute(delete(table).where(mine, table.c[column].in_(wanted)))

    def apply(self, changes: Sequence[Change]) -> None:
        """Apply a batch (coalesced: one record per key) in one transaction."""
        devices: list[DeviceRecord] = []
        gone_devices: list[int] = []
        downloads: list[dict[str, Any]] = []
        gone_downloads: list[int] = []
        backups: list[dict[str, Any]] = []
        gone_backups: list[int] = []
        pending: list[dict[str, Any]] = []
        gone_pending: list[str] = []
        replacements: list[dict[str, Any]] = []
        gone_replacements: list[str] = []
        named: list[dict[str, Any]] = []
        gone_named: list[str] = []
        for change in changes:
            if isinstance(change, DeviceSaved):
                devices.append(change.record)
            elif isinstance(change, DeviceRemoved):
                gone_devices.append(change.device_key)
            elif isinstance(change, DownloadSaved):
                downloads.append(_download_values(change.entry))
            elif isinstance(change, DownloadRemoved):
                gone_downloads.append(change.entry_id)
            elif isinstance(change, BackupSaved):
                backups.append(_backup_values(change.record))
            elif isinstance(change, BackupRemoved):
                gone_backups.append(change.backup_id)
            elif isinstance(change, PendingBackupSaved):
                p = change.pending
                pending.append(
                    {"mac": p.mac, "reason": p.reason, "since": p.since, "attempts": p.attempts}
                )
            elif isinstance(change, PendingBackupRemoved):
                gone_pending.append(change.mac)
            elif isinstance(change, ReplacementSaved):
                replacements.append(_replacement_values(change.replacement))
            elif isinstance(change, ReplacementRemoved):
                gone_replacements.append(change.new_mac)
            elif isinstance(change, StateSaved):
                named.append({"key": change.name, "value": change.value, "updated_at": change.at})
            elif isinstance(change, StateRemoved):
                gone_named.append(change.name)
        children = {
            r.key: (r.device.members, r.device.neighbors)
            for r in devices
            if self._children.get(r.key, ((), ())) != (r.device.members, r.device.neighbors)
        }
        try:
            with self._engine.begin() as conn:
                if self.fence is not None:  # a hot-standby pair's active member
                    ownership.check_fence(conn, self.director_id, self.fence)
                self._upsert(conn, DEVICES, ["id"], [_device_values(r) for r in devices])
                self._delete(conn, DEVICES, "id", gone_devices)
                self._write_children(conn, children)
                self._upsert(conn, DOWNLOADS, ["id"], downloads)
                self._delete(conn, DOWNLOADS, "id", gone_downloads)
                self._upsert(conn, BACKUPS, ["id"], backups)
                self._delete(conn, BACKUPS, "id", gone_backups)
                self._upsert(conn, PENDING, ["mac"], pending)
                self._delete(conn, PENDING, "mac", gone_pending)
                self._upsert(conn, REPLACEMENTS, ["new_mac"], replacements)
                self._delete(conn, REPLACEMENTS, "new_mac", gone_replacements)
                self._upsert(conn, STATE, ["key"], named)
                self._delete(conn, STATE, "key", gone_named)
        except ownership.FencedError as error:
            raise StoreError(f"not written: {error}") from error
        except Exception as error:
            # one line, the driver's own words ("database or disk is full"): it is what the
            # log, the system message and a refused client's acknowledgement say
            raise StoreError(
                f"cannot write the director database {self._where}: {describe(error)}"
            ) from error
        self._children.update(children)
        for key in gone_devices:
            self._children.pop(key, None)

    def _write_children(self, conn: Connection, children: dict[int, Children]) -> None:
        """Stack members and neighbours of the devices whose lists changed."""
        if not children:
            return
        self._delete(conn, MEMBERS, "device_id", children)
        self._delete(conn, NEIGHBORS, "device_id", children)
        me = self.director_id
        members = [
            {"director_id": me, "device_id": key, "number": m.number, "pid": m.pid, "mac": m.mac}
            for key, (stack, _) in children.items()
            for m in stack
        ]
        neighbors = [
            {
                "director_id": me,
                "device_id": key,
                "position": i,
                "local_port": n.local_port,
                "mac": n.mac,
                "device_name": n.device_id,
                "ip": n.ip,
                "port": n.port,
                "platform": n.platform,
            }
            for key, (_, near) in children.items()
            for i, n in enumerate(near)
        ]
        if members:
            conn.execute(MEMBERS.insert(), members)
        if neighbors:
            conn.execute(NEIGHBORS.insert(), neighbors)
