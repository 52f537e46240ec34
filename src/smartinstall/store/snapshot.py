"""Reading a director's state from the database (the read side of the SQL store).

:func:`read_snapshot` is the whole state of one director in one transaction: what
:meth:`smartinstall.store.sqlstore.SqlStore.load` returns and a hot standby prefetches.

:class:`DatabaseReader` is for tools that watch a running director (the lab's progress table,
benchmarks): it opens the database read-only, never migrates and takes no write lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Select, Table, select
from sqlalchemy.engine import URL

from smartinstall.domain.devices import (
    Device,
    DeviceType,
    Health,
    JoinState,
    Neighbor,
    Progress,
    StackMember,
    UpgradeStatus,
)
from smartinstall.domain.downloads import DownloadMethod, DownloadStatus
from smartinstall.domain.values import normalize_mac
from smartinstall.store import ownership
from smartinstall.store.database import create_reader_engine, normalize_url
from smartinstall.store.models import (
    BackupRow,
    DeviceRow,
    DownloadRow,
    NeighborRow,
    PendingBackupRow,
    ReplacementRow,
    StackMemberRow,
    StateRow,
)
from smartinstall.store.port import Snapshot
from smartinstall.store.records import (
    BackupRecord,
    DeviceRecord,
    DownloadEntry,
    PendingBackup,
    Replacement,
)

DEVICES: Table = DeviceRow.__table__  # type: ignore[assignment]
MEMBERS: Table = StackMemberRow.__table__  # type: ignore[assignment]
NEIGHBORS: Table = NeighborRow.__table__  # type: ignore[assignment]
DOWNLOADS: Table = DownloadRow.__table__  # type: ignore[assignment]
BACKUPS: Table = BackupRow.__table__  # type: ignore[assignment]
PENDING: Table = PendingBackupRow.__table__  # type: ignore[assignment]
REPLACEMENTS: Table = ReplacementRow.__table__  # type: ignore[assignment]
STATE: Table = StateRow.__table__  # type: ignore[assignment]


# --- rows to records --------------------------------------------------------------------------


def _device_record(
    row: Any, members: Sequence[StackMember], neighbors: Sequence[Neighbor]
) -> DeviceRecord:
    device = Device(
        number=row.number,
        mac=row.mac,
        pid=row.pid,
        serial=row.serial,
        version=row.version,
        image=row.image,
        ip=row.ip,
        hostname=row.hostname,
        hop=row.hop,
        upstream_mac=row.upstream_mac,
        upstream_ip=row.upstream_ip,
        upstream_port=row.upstream_port,
        neighbors=tuple(neighbors),
        members=tuple(members),
        supervisor=row.supervisor,
        device_type=DeviceType(row.device_type),
        health=Health(row.health),
        join_state=JoinState(row.join_state),
        upgrade=UpgradeStatus(
            image=Progress(row.image_progress),
            config=Progress(row.config_progress),
            script=Progress(row.script_progress),
        ),
        is_director=row.is_director,
        smi_version=row.smi_version,
        capability=row.capability,
    )
    return DeviceRecord(
        device,
        row.last_keepalive,
        row.removed_from_hold,
        row.first_seen,
        row.updated_at,
        row.id,
        row.join_pinned,
    )


def _download(row: Any, number: int) -> DownloadEntry:
    return DownloadEntry(
        number=number,
        id=row.id,
        ip=row.ip,
        mac=row.mac,
        hostname=row.hostname,
        method=DownloadMethod(row.method),
        image=DownloadStatus(row.image_status),
        config=DownloadStatus(row.config_status),
        script=DownloadStatus(row.script_status),
        image_reason=row.image_reason,
        config_reason=row.config_reason,
        script_reason=row.script_reason,
        image_at=row.image_at,
        config_at=row.config_at,
        script_at=row.script_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        request=row.request,
    )


def _backup(row: Any) -> BackupRecord:
    return BackupRecord(
        row.mac, row.hostname, row.file, row.checksum, row.size, row.taken_at, row.id
    )


def _read_devices(conn: Connection, director_id: str) -> list[DeviceRecord]:
    members: dict[int, list[StackMember]] = {}
    query = select(MEMBERS).where(MEMBERS.c.director_id == director_id)
    for m in conn.execute(query.order_by(MEMBERS.c.device_id, MEMBERS.c.number)):
        members.setdefault(m.device_id, []).append(StackMember(m.number, m.pid, m.mac))
    neighbors: dict[int, list[Neighbor]] = {}
    query = select(NEIGHBORS).where(NEIGHBORS.c.director_id == director_id)
    for n in conn.execute(query.order_by(NEIGHBORS.c.device_id, NEIGHBORS.c.position)):
        neighbors.setdefault(n.device_id, []).append(
            Neighbor(
                local_port=n.local_port,
                mac=n.mac,
                device_id=n.device_name,
                ip=n.ip,
                port=n.port,
                platform=n.platform,
            )
        )
    return [
        _device_record(row, members.get(row.id, ()), neighbors.get(row.id, ()))
        for row in conn.execute(
            select(DEVICES).where(DEVICES.c.director_id == director_id).order_by(DEVICES.c.number)
        )
    ]


def _read_downloads(conn: Connection, director_id: str) -> list[DownloadEntry]:
    query = select(DOWNLOADS).where(DOWNLOADS.c.director_id == director_id)
    rows = conn.execute(query.order_by(DOWNLOADS.c.id))
    return [_download(row, i) for i, row in enumerate(rows, start=1)]


def _mine(table: Table, director_id: str) -> Select[Any]:
    return select(table).where(table.c.director_id == director_id)


def read_snapshot(conn: Connection, me: str) -> Snapshot:
    """The whole state of director ``me`` in the transaction of ``conn``."""
    devices = _read_devices(conn, me)
    downloads = _read_downloads(conn, me)
    backups = [_backup(r) for r in conn.execute(_mine(BACKUPS, me).order_by(BACKUPS.c.id))]
    pending = [
        PendingBackup(r.mac, r.reason, r.since, r.attempts)
        for r in conn.execute(_mine(PENDING, me))
    ]
    replacements = [
        Replacement(
            r.new_mac,
            r.old_mac,
            r.old_number,
            r.upstream_mac,
            r.upstream_ip,
            r.upstream_port,
            r.config_file,
            r.started_at,
        )
        for r in conn.execute(_mine(REPLACEMENTS, me))
    ]
    state = {r.key: r.value for r in conn.execute(_mine(STATE, me))}
    return Snapshot(devices, downloads, backups, pending, replacements, state)


# --- read-only access for tools ---------------------------------------------------------------


class DatabaseReader:
    """A running director's database, read-only (the lab's progress table, benchmarks).
    What it shows is what the director has committed: at most a commit interval behind."""

    def __init__(self, database_url: str | URL, director_id: str | None = None) -> None:
        """``director_id``: whose rows to read (None: the id file beside a SQLite database,
        else the one director the database holds)."""
        self._engine = create_reader_engine(database_url)
        self.director_id = (
            director_id
            if director_id is not None
            else ownership.guess_director_id(normalize_url(database_url), self._engine)
        )

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> DatabaseReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def devices(self) -> list[Device]:
        with self._engine.begin() as conn:
            return [r.device for r in _read_devices(conn, self.director_id)]

    def downloads(self) -> list[DownloadEntry]:
        with self._engine.begin() as conn:
            return _read_downloads(conn, self.director_id)

    def device_by_mac(self, mac: str) -> Device | None:
        """The entry of a device or stack (any member's MAC finds the stack)."""
        wanted = normalize_mac(mac)
        for device in self.devices():
            if device.mac == wanted or any(m.mac == wanted for m in device.members):
                return device
        return None

    def latest_download(self, mac: str) -> DownloadEntry | None:
        wanted = normalize_mac(mac)
        found = [e for e in self.downloads() if e.mac == wanted]
        return found[-1] if found else None

    def backups(self, mac: str | None = None) -> list[BackupRecord]:
        """Backup records, newest first."""
        query = _mine(BACKUPS, self.director_id)
        query = query.order_by(BACKUPS.c.taken_at.desc(), BACKUPS.c.id.desc())
        if mac is not None:
            query = query.where(BACKUPS.c.mac == normalize_mac(mac))
        with self._engine.begin() as conn:
            return [_backup(r) for r in conn.execute(query)]

    def latest_backup(self, mac: str) -> BackupRecord | None:
        found = self.backups(mac)
        return found[0] if found else None
