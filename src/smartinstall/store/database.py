"""The director database: clients, download status, backups and restart state.

SQLite in the data directory by default (``director.db``), or any SQLAlchemy URL
(``postgresql+psycopg://user@host/db``; a bare ``postgresql://`` URL uses psycopg 3, the
``smartinstall[postgresql]`` extra). The schema is migrated to the newest Alembic revision
every time the database is opened.

Durability: on SQLite the database runs in WAL mode with ``synchronous=FULL``, so a method
that has returned has committed, and its write survives ``kill -9`` and power loss; on
PostgreSQL the server's own durability applies (``synchronous_commit`` on by default).

Threads: every public method is one transaction, run under a lock, so the object may be
shared between threads; the director calls it from one executor thread. All methods block.
On SQLite every transaction starts with ``BEGIN IMMEDIATE``, so even a second process on the
same file (a maintenance tool) is serialized with the director; on PostgreSQL one director
process per database is assumed (new device numbers are chosen by reading the used ones).

Device numbers (``DevNo``): the director is 0; a new client gets the lowest free number from 1
up, as IOS does. A number never changes while its entry exists; after ``clear vstack
director-db [entry n]`` the freed number goes to the next new client. A stack is one entry
(one number); any member's MAC finds it, and clearing the entry clears the whole stack.

The download-status table keeps a stable ``id`` per entry; the number shown (``No``) is the
entry's position, so the entries after a cleared one move up, as in the guide's example. The
table keeps at most :data:`MAX_DOWNLOADS` entries (the guide's entry range is 1 to 255): adding
one more drops the oldest finished entry (or the oldest entry if none has finished).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, delete, event, func, or_, select, update
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.pool import StaticPool

from smartinstall.domain import downloads as _view
from smartinstall.domain.devices import (
    Device,
    DeviceType,
    Health,
    JoinState,
    Neighbor,
    Progress,
    StackMember,
    UpgradeKind,
    UpgradeStatus,
)
from smartinstall.domain.downloads import DownloadMethod as DownloadMethod
from smartinstall.domain.downloads import DownloadStatus as DownloadStatus
from smartinstall.domain.errors import DomainError
from smartinstall.domain.values import normalize_mac
from smartinstall.store.models import (
    BackupRow,
    DeviceRow,
    DownloadRow,
    NeighborRow,
    PendingBackupRow,
    ReplacementRow,
    StackMemberRow,
    StateRow,
    UTCDateTime,
)

log = logging.getLogger(__name__)

DATABASE_FILE = "director.db"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
DIRECTOR_NUMBER = 0
MAX_DOWNLOADS = 255
BACKUP_HISTORY = 10  # backup records kept per client (the files themselves are REV1 and REV2)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- records the database returns besides Device ----------------------------------------------


@dataclass(frozen=True)
class DownloadEntry:
    """One entry of the download-status table. ``number`` is the ``No`` shown now."""

    number: int
    id: int
    ip: str
    mac: str
    hostname: str
    method: DownloadMethod
    image: DownloadStatus
    config: DownloadStatus
    script: DownloadStatus
    image_reason: str
    config_reason: str
    script_reason: str
    image_at: dt.datetime | None
    config_at: dt.datetime | None
    script_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime

    def status(self, kind: UpgradeKind) -> DownloadStatus:
        return {
            UpgradeKind.IMAGE: self.image,
            UpgradeKind.CONFIG: self.config,
            UpgradeKind.SCRIPT: self.script,
        }[kind]

    def reason(self, kind: UpgradeKind) -> str:
        return {
            UpgradeKind.IMAGE: self.image_reason,
            UpgradeKind.CONFIG: self.config_reason,
            UpgradeKind.SCRIPT: self.script_reason,
        }[kind]

    def downloaded_at(self, kind: UpgradeKind) -> dt.datetime | None:
        return {
            UpgradeKind.IMAGE: self.image_at,
            UpgradeKind.CONFIG: self.config_at,
            UpgradeKind.SCRIPT: self.script_at,
        }[kind]

    @property
    def finished(self) -> bool:
        return self.image.finished and self.config.finished and self.script.finished

    def view(self) -> _view.DownloadEntry:
        """The row as ``show vstack download-status`` renders it."""
        return _view.DownloadEntry(
            client_ip=self.ip or "0.0.0.0",
            client_mac=self.mac,
            method=self.method,
            image=self.image,
            config=self.config,
            script=self.script,
            hostname=self.hostname or "Switch",
            image_fail_reason=self.image_reason,
            config_fail_reason=self.config_reason,
            script_fail_reason=self.script_reason,
            image_downloaded_at=self.image_at,
            config_downloaded_at=self.config_at,
            script_downloaded_at=self.script_at,
        )


@dataclass(frozen=True)
class BackupRecord:
    """A backup as ``show vstack status detail`` reports it (``File checksum`` is the MD5)."""

    mac: str
    hostname: str
    file: str
    checksum: str
    size: int
    taken_at: dt.datetime


@dataclass(frozen=True)
class PendingBackup:
    mac: str
    reason: str
    since: dt.datetime
    attempts: int


@dataclass(frozen=True)
class Replacement:
    """A replacement that has started: ``new_mac`` takes over ``old_number``'s backup."""

    new_mac: str
    old_mac: str
    old_number: int
    upstream_mac: str
    upstream_ip: str
    upstream_port: str
    config_file: str
    started_at: dt.datetime


@dataclass(frozen=True)
class DeviceRecord:
    """A device with what the database keeps beside ``show vstack status detail``."""

    device: Device
    last_keepalive: dt.datetime | None
    removed_from_hold: bool
    first_seen: dt.datetime
    updated_at: dt.datetime


class DatabaseError(Exception):
    """A request the database cannot carry out (unknown entry, bad value)."""


# --- opening and migrating ---------------------------------------------------------------------


def default_url(data_dir: Path) -> str:
    return URL.create(
        "sqlite+pysqlite", database=str(Path(data_dir) / DATABASE_FILE)
    ).render_as_string()


def normalize_url(database_url: str | URL) -> URL:
    """The URL to connect to: ``postgresql://`` means psycopg 3 (the optional extra)."""
    url = make_url(database_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.drivername == "sqlite":
        url = url.set(drivername="sqlite+pysqlite")
    return url


def _is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def _sqlite_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling would start transactions only before writes;
    # SQLAlchemy's "begin" event below starts every one, with the write lock taken up front.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # IMMEDIATE: a transaction that reads and then writes (the lowest free device number) holds
    # the write lock from its start, so two processes on one file cannot interleave.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_director_engine(database_url: str | URL) -> Engine:
    """An engine with the durability settings described in the module docstring."""
    url = normalize_url(database_url)
    if _is_sqlite(url):
        if _sqlite_memory(url):
            engine = create_engine(
                url, connect_args={"check_same_thread": False}, poolclass=StaticPool
            )
        else:
            Path(str(url.database)).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (the newest by default)."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


# --- conversions --------------------------------------------------------------------------------


def _mac(text: str) -> str:
    try:
        return normalize_mac(text)
    except DomainError as error:
        raise DatabaseError(str(error)) from None


def _aware(when: dt.datetime) -> dt.datetime:
    if when.tzinfo is None:
        raise DatabaseError("naive datetime given to the director database; use UTC times")
    return when


def _device(row: DeviceRow) -> Device:
    return Device(
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
        neighbors=tuple(
            Neighbor(
                local_port=n.local_port,
                mac=n.mac,
                device_id=n.device_name,
                ip=n.ip,
                port=n.port,
                platform=n.platform,
            )
            for n in row.neighbors
        ),
        members=tuple(StackMember(m.number, m.pid, m.mac) for m in row.members),
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


def _record(row: DeviceRow) -> DeviceRecord:
    return DeviceRecord(
        device=_device(row),
        last_keepalive=row.last_keepalive,
        removed_from_hold=row.removed_from_hold,
        first_seen=row.first_seen,
        updated_at=row.updated_at,
    )


def _fill(row: DeviceRow, device: Device) -> None:
    row.mac = device.mac
    row.pid = device.pid
    row.serial = device.serial
    row.version = device.version
    row.image = device.image
    row.ip = device.ip
    row.hostname = device.hostname
    row.hop = device.hop
    row.upstream_mac = device.upstream_mac
    row.upstream_ip = device.upstream_ip
    row.upstream_port = device.upstream_port
    row.supervisor = device.supervisor
    row.device_type = device.device_type.value
    row.health = device.health.value
    row.join_state = device.join_state.value
    row.image_progress = device.upgrade.image.value
    row.config_progress = device.upgrade.config.value
    row.script_progress = device.upgrade.script.value
    row.is_director = device.is_director
    row.smi_version = device.smi_version
    row.capability = device.capability


def _download(row: DownloadRow, number: int) -> DownloadEntry:
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
    )


def _backup(row: BackupRow) -> BackupRecord:
    return BackupRecord(row.mac, row.hostname, row.file, row.checksum, row.size, row.taken_at)


def _replacement(row: ReplacementRow) -> Replacement:
    return Replacement(
        new_mac=row.new_mac,
        old_mac=row.old_mac,
        old_number=row.old_number,
        upstream_mac=row.upstream_mac,
        upstream_ip=row.upstream_ip,
        upstream_port=row.upstream_port,
        config_file=row.config_file,
        started_at=row.started_at,
    )


def _lowest_free(numbers: Iterable[int], start: int = 1) -> int:
    candidate = start
    for number in sorted(n for n in numbers if n >= start):
        if number > candidate:
            break
        candidate = number + 1
    return candidate


_DEVICE_LOAD = (selectinload(DeviceRow.members), selectinload(DeviceRow.neighbors))


# --- the database -------------------------------------------------------------------------------


class DirectorDatabase:
    """The director database. See the module docstring for durability and threading."""

    def __init__(
        self,
        database_url: str | URL,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
        migrate: bool = True,
    ) -> None:
        self.url = normalize_url(database_url)
        self._clock = clock
        self._lock = threading.RLock()
        shown = self.url.render_as_string(hide_password=True)
        self._engine = create_director_engine(self.url)
        if migrate:
            try:
                upgrade(self._engine)
            except Exception as error:
                self._engine.dispose()
                # A database written by a newer release names a revision this one lacks.
                raise DatabaseError(
                    f"cannot open the director database {shown}: {error}"
                ) from error
        log.info("director database %s opened", shown)

    @classmethod
    def open(cls, data_dir: Path | str, database_url: str | None = None) -> DirectorDatabase:
        """The database of a director: ``database_url`` or ``<data_dir>/director.db``."""
        return cls(database_url or default_url(Path(data_dir)))

    @property
    def engine(self) -> Engine:
        return self._engine

    def close(self) -> None:
        with self._lock:
            self._engine.dispose()

    def __enter__(self) -> DirectorDatabase:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _session(self) -> Session:
        return Session(self._engine, expire_on_commit=False, autoflush=False)

    def _now(self) -> dt.datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise DatabaseError("the database clock must return aware UTC times")
        return now

    # --- devices ---------------------------------------------------------------------------

    @staticmethod
    def _row_by_mac(session: Session, mac: str) -> DeviceRow | None:
        row = session.scalars(
            select(DeviceRow).where(DeviceRow.mac == mac).options(*_DEVICE_LOAD)
        ).first()
        if row is None:
            row = session.scalars(
                select(DeviceRow)
                .join(StackMemberRow)
                .where(StackMemberRow.mac == mac)
                .options(*_DEVICE_LOAD)
            ).first()
        return row

    def upsert_device(self, device: Device) -> Device:
        """Add or update a device and return it as stored, with its device number.

        The entry is found by the device's MAC or any of its stack members' MACs (a switch
        that joined a stack is the stack's entry now); ``device.number`` is ignored: an
        existing entry keeps its number, a new one gets the lowest free number (the
        director 0). Entries of other MACs that the update makes members of this stack are
        merged into it (the lowest number stays).
        """
        member_macs = [m.mac for m in device.members]
        if len(set(member_macs)) != len(member_macs):
            raise DatabaseError(f"stack {device.mac}: two members with the same MAC")
        with self._lock, self._session() as session, session.begin():
            now = self._now()
            macs = {device.mac, *member_macs}
            found = (
                session.scalars(
                    select(DeviceRow)
                    .outerjoin(StackMemberRow)
                    .where(or_(DeviceRow.mac.in_(macs), StackMemberRow.mac.in_(macs)))
                    .options(*_DEVICE_LOAD)
                )
                .unique()
                .all()
            )
            if device.is_director:
                director = session.scalars(
                    select(DeviceRow).where(DeviceRow.is_director.is_(True)).options(*_DEVICE_LOAD)
                ).first()
                if director is not None and director not in found:
                    found = [*found, director]
            rows = sorted(found, key=lambda r: (not r.is_director, r.number))
            row: DeviceRow | None = rows[0] if rows else None
            for other in rows[1:]:
                log.info(
                    "director-db: entry %d (%s) merged into entry %d (%s)",
                    other.number,
                    other.mac,
                    rows[0].number,
                    device.mac,
                )
                session.delete(other)
            if rows[1:] or row is not None:
                # Members and neighbours are replaced; deletes must reach the database before
                # the new rows reuse their unique MACs.
                if row is not None:
                    row.members.clear()
                    row.neighbors.clear()
                session.flush()
            if row is None:
                if device.is_director:
                    number = DIRECTOR_NUMBER
                else:
                    number = _lowest_free(session.scalars(select(DeviceRow.number)).all())
                row = DeviceRow(number=number, first_seen=now, removed_from_hold=False)
                session.add(row)
                log.debug("director-db: new entry %d for %s", number, device.mac)
            elif device.is_director and row.number != DIRECTOR_NUMBER:
                # A client that becomes the director takes the director's number (no other
                # entry can hold 0: only the director gets it).
                log.info("director-db: entry %d (%s) is the director now", row.number, row.mac)
                row.number = DIRECTOR_NUMBER
            old_ip = row.ip
            _fill(row, device)
            row.updated_at = now
            if row.ip and row.ip != old_ip:
                # The devices behind this one learnt its address when they were first seen;
                # one that asked DHCP before this one had an address gets it now.
                session.execute(
                    update(DeviceRow)
                    .where(DeviceRow.upstream_mac.in_(macs), DeviceRow.upstream_ip != row.ip)
                    .values(upstream_ip=row.ip)
                )
            row.members = [
                StackMemberRow(number=m.number, pid=m.pid, mac=m.mac) for m in device.members
            ]
            row.neighbors = [
                NeighborRow(
                    position=i,
                    local_port=n.local_port,
                    mac=n.mac,
                    device_name=n.device_id,
                    ip=n.ip,
                    port=n.port,
                    platform=n.platform,
                )
                for i, n in enumerate(device.neighbors)
            ]
            session.flush()
            return _device(row)

    def update_device(self, mac: str, **changes: object) -> Device:
        """Change some fields of a stored device (``Device`` field names)."""
        if "number" in changes or "mac" in changes:
            raise DatabaseError("the device number and MAC of an entry do not change")
        with self._lock:
            current = self.device_by_mac(mac)
            if current is None:
                raise DatabaseError(f"no director-db entry for {mac}")
            return self.upsert_device(current.with_changes(**changes))

    def device_by_mac(self, mac: str) -> Device | None:
        """The entry of a device or stack (any member's MAC finds the stack)."""
        with self._lock, self._session() as session:
            row = self._row_by_mac(session, _mac(mac))
            return _device(row) if row else None

    def device_by_number(self, number: int) -> Device | None:
        with self._lock, self._session() as session:
            row = session.scalars(
                select(DeviceRow).where(DeviceRow.number == number).options(*_DEVICE_LOAD)
            ).first()
            return _device(row) if row else None

    def device_by_ip(self, ip: str) -> Device | None:
        """The entry with this IP address (the lowest number if several claim it)."""
        with self._lock, self._session() as session:
            row = session.scalars(
                select(DeviceRow)
                .where(DeviceRow.ip == ip.strip())
                .order_by(DeviceRow.number)
                .options(*_DEVICE_LOAD)
            ).first()
            return _device(row) if row else None

    def reporters_of(self, mac: str) -> list[Device]:
        """The entries whose CDP table lists ``mac`` (the switches it hangs off), by number.
        One query, whatever the number of entries (a fleet's DHCP storm asks it per new
        client)."""
        with self._lock, self._session() as session:
            rows = session.scalars(
                select(DeviceRow)
                .join(NeighborRow)
                .where(NeighborRow.mac == _mac(mac))
                .order_by(DeviceRow.number)
                .options(*_DEVICE_LOAD)
            ).unique()
            return [_device(r) for r in rows]

    def devices_with_health(self, health: Health) -> list[Device]:
        """The entries of one health status (Inactive ones: candidates for a replacement)."""
        with self._lock, self._session() as session:
            rows = session.scalars(
                select(DeviceRow)
                .where(DeviceRow.health == health.value)
                .order_by(DeviceRow.number)
                .options(*_DEVICE_LOAD)
            ).all()
            return [_device(r) for r in rows]

    def hops_of(self, macs: set[str]) -> frozenset[int]:
        """The hop counts of the entries with these MACs (those that have one)."""
        if not macs:
            return frozenset()
        with self._lock, self._session() as session:
            hops = session.scalars(
                select(DeviceRow.hop).where(DeviceRow.mac.in_(macs), DeviceRow.hop.is_not(None))
            ).all()
            return frozenset(h for h in hops if h)

    def devices(self) -> list[Device]:
        """Every entry, by device number (the director, number 0, first)."""
        return [r.device for r in self.device_records()]

    def device_records(self) -> list[DeviceRecord]:
        with self._lock, self._session() as session:
            rows = session.scalars(
                select(DeviceRow).order_by(DeviceRow.number).options(*_DEVICE_LOAD)
            ).all()
            return [_record(r) for r in rows]

    def device_record(self, mac: str) -> DeviceRecord | None:
        with self._lock, self._session() as session:
            row = self._row_by_mac(session, _mac(mac))
            return _record(row) if row else None

    def _forget(self, session: Session, row: DeviceRow) -> None:
        macs = [row.mac, *(m.mac for m in row.members)]
        session.execute(delete(PendingBackupRow).where(PendingBackupRow.mac.in_(macs)))
        session.execute(
            delete(ReplacementRow).where(
                or_(ReplacementRow.new_mac.in_(macs), ReplacementRow.old_mac.in_(macs))
            )
        )
        session.delete(row)

    def clear_device(self, number: int) -> Device | None:
        """``clear vstack director-db entry n``: remove the entry (a whole stack) and its
        pending backups and replacements; its backup records stay. Returns what was removed."""
        with self._lock, self._session() as session, session.begin():
            row = session.scalars(
                select(DeviceRow).where(DeviceRow.number == number).options(*_DEVICE_LOAD)
            ).first()
            if row is None:
                return None
            removed = _device(row)
            self._forget(session, row)
            log.info("director-db: entry %d (%s) cleared", number, removed.mac)
            return removed

    def clear_all(self, keep_director: bool = True) -> int:
        """``clear vstack director-db``: remove every client entry; the number removed."""
        with self._lock, self._session() as session, session.begin():
            query = select(DeviceRow).options(*_DEVICE_LOAD)
            if keep_director:
                query = query.where(DeviceRow.is_director.is_(False))
            rows = session.scalars(query).all()
            for row in rows:
                self._forget(session, row)
            log.info("director-db: %d entries cleared", len(rows))
            return len(rows)

    def _change(self, mac: str, apply: Callable[[DeviceRow], None]) -> Device:
        with self._lock, self._session() as session, session.begin():
            row = self._row_by_mac(session, _mac(mac))
            if row is None:
                raise DatabaseError(f"no director-db entry for {mac}")
            apply(row)
            row.updated_at = self._now()
            session.flush()
            return _device(row)

    def set_health(self, mac: str, health: Health) -> Device:
        def apply(row: DeviceRow) -> None:
            row.health = health.value

        return self._change(mac, apply)

    def record_keepalive(self, mac: str, at: dt.datetime | None = None) -> Device:
        """A keepalive arrived: the entry is Active and ``last_keepalive`` is ``at`` (now)."""
        when = _aware(at) if at else self._now()

        def apply(row: DeviceRow) -> None:
            row.health = Health.ACTIVE.value
            row.last_keepalive = when

        return self._change(mac, apply)

    def stale_devices(self, before: dt.datetime) -> list[Device]:
        """Active clients with no keepalive since ``before`` (never one: since first seen)."""
        with self._lock, self._session() as session:
            rows = session.scalars(
                select(DeviceRow)
                .where(
                    DeviceRow.is_director.is_(False),
                    DeviceRow.health == Health.ACTIVE.value,
                    func.coalesce(DeviceRow.last_keepalive, DeviceRow.first_seen, type_=UTCDateTime)
                    < _aware(before),
                )
                .order_by(DeviceRow.number)
                .options(*_DEVICE_LOAD)
            ).all()
            return [_device(r) for r in rows]

    def set_join_state(
        self, mac: str, state: JoinState, removed_from_hold: bool | None = None
    ) -> Device:
        """The join-window state; ``removed_from_hold`` records ``on-hold-clients remove``
        (left unchanged when None)."""

        def apply(row: DeviceRow) -> None:
            row.join_state = state.value
            if removed_from_hold is not None:
                row.removed_from_hold = removed_from_hold

        return self._change(mac, apply)

    def set_upgrade(self, mac: str, kind: UpgradeKind, progress: Progress) -> Device:
        column = f"{kind.value}_progress"

        def apply(row: DeviceRow) -> None:
            setattr(row, column, progress.value)

        return self._change(mac, apply)

    def set_device_type(self, mac: str, device_type: DeviceType) -> Device:
        def apply(row: DeviceRow) -> None:
            row.device_type = device_type.value

        return self._change(mac, apply)

    # --- download status ---------------------------------------------------------------------

    def add_download(
        self,
        mac: str,
        method: DownloadMethod,
        *,
        ip: str = "",
        hostname: str = "",
        image: DownloadStatus = DownloadStatus.NOT_STARTED,
        config: DownloadStatus = DownloadStatus.NOT_STARTED,
        script: DownloadStatus = DownloadStatus.NOT_APPLICABLE,
    ) -> DownloadEntry:
        """A new entry at the end of the download-status table."""
        with self._lock, self._session() as session, session.begin():
            now = self._now()
            count = session.scalar(select(func.count()).select_from(DownloadRow)) or 0
            if count >= MAX_DOWNLOADS:
                self._drop_oldest(session, count - MAX_DOWNLOADS + 1)
            row = DownloadRow(
                ip=ip.strip(),
                mac=_mac(mac),
                hostname=hostname,
                method=method.value,
                image_status=image.value,
                config_status=config.value,
                script_status=script.value,
                image_reason="",
                config_reason="",
                script_reason="",
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            return _download(row, self._position(session, row.id))

    @staticmethod
    def _drop_oldest(session: Session, how_many: int) -> None:
        rows = session.scalars(select(DownloadRow).order_by(DownloadRow.id)).all()
        finished = [
            r
            for r in rows
            if all(
                DownloadStatus(s).finished
                for s in (r.image_status, r.config_status, r.script_status)
            )
        ]
        victims = (finished + [r for r in rows if r not in finished])[:how_many]
        for row in victims:
            session.delete(row)
        session.flush()

    @staticmethod
    def _position(session: Session, entry_id: int) -> int:
        return int(
            session.scalar(
                select(func.count()).select_from(DownloadRow).where(DownloadRow.id <= entry_id)
            )
            or 0
        )

    def update_download(
        self,
        entry_id: int,
        kind: UpgradeKind,
        status: DownloadStatus,
        reason: str | None = None,
        at: dt.datetime | None = None,
    ) -> DownloadEntry:
        """Set one column of an entry (by its stable ``id``). ``UPGRADED`` records the
        download time (``at`` or now); ``reason`` is the fail reason shown by ``detail``."""
        with self._lock, self._session() as session, session.begin():
            row = session.get(DownloadRow, entry_id)
            if row is None:
                raise DatabaseError(f"no download-status entry with id {entry_id}")
            now = self._now()
            setattr(row, f"{kind.value}_status", status.value)
            if reason is not None:
                setattr(row, f"{kind.value}_reason", reason)
            if status is DownloadStatus.UPGRADED:
                setattr(row, f"{kind.value}_at", _aware(at) if at else now)
            row.updated_at = now
            session.flush()
            return _download(row, self._position(session, row.id))

    def set_download_client(
        self, entry_id: int, *, ip: str | None = None, hostname: str | None = None
    ) -> DownloadEntry:
        """Correct the client IP or hostname of an entry (learned after it was added)."""
        with self._lock, self._session() as session, session.begin():
            row = session.get(DownloadRow, entry_id)
            if row is None:
                raise DatabaseError(f"no download-status entry with id {entry_id}")
            if ip is not None:
                row.ip = ip.strip()
            if hostname is not None:
                row.hostname = hostname
            row.updated_at = self._now()
            session.flush()
            return _download(row, self._position(session, row.id))

    def downloads(self) -> list[DownloadEntry]:
        """The table as ``show vstack download-status`` prints it, numbered from 1."""
        with self._lock, self._session() as session:
            rows = session.scalars(select(DownloadRow).order_by(DownloadRow.id)).all()
            return [_download(r, i) for i, r in enumerate(rows, start=1)]

    def download(self, entry_id: int) -> DownloadEntry | None:
        with self._lock, self._session() as session:
            row = session.get(DownloadRow, entry_id)
            return _download(row, self._position(session, row.id)) if row else None

    def latest_download(self, mac: str) -> DownloadEntry | None:
        """The newest entry of a client (the one its TFTP reads and reports update)."""
        with self._lock, self._session() as session:
            row = session.scalars(
                select(DownloadRow)
                .where(DownloadRow.mac == _mac(mac))
                .order_by(DownloadRow.id.desc())
            ).first()
            return _download(row, self._position(session, row.id)) if row else None

    def clear_download(self, number: int) -> DownloadEntry | None:
        """``clear vstack download-list entry n`` (``n`` as shown now); the later entries
        move up one number. Returns the removed entry."""
        with self._lock, self._session() as session, session.begin():
            if number < 1:
                return None
            row = session.scalars(
                select(DownloadRow).order_by(DownloadRow.id).offset(number - 1).limit(1)
            ).first()
            if row is None:
                return None
            removed = _download(row, number)
            session.delete(row)
            return removed

    def clear_downloads(self) -> int:
        """``clear vstack download-list``: the number of entries removed."""
        with self._lock, self._session() as session, session.begin():
            return int(session.execute(delete(DownloadRow)).rowcount or 0)  # type: ignore[attr-defined]

    # --- backups -------------------------------------------------------------------------------

    def record_backup(
        self,
        mac: str,
        hostname: str,
        file: str,
        checksum: str,
        size: int = 0,
        at: dt.datetime | None = None,
    ) -> BackupRecord:
        """A backup that is complete in the repository; clears a pending backup of the MAC.
        ``checksum`` is the file's MD5 (upper-case hex, as ``File checksum`` shows it)."""
        digest = checksum.strip().upper()
        if len(digest) != 32 or any(c not in "0123456789ABCDEF" for c in digest):
            raise DatabaseError(f"not an MD5 checksum: {checksum!r}")
        with self._lock, self._session() as session, session.begin():
            row = BackupRow(
                mac=_mac(mac),
                hostname=hostname,
                file=file,
                checksum=digest,
                size=size,
                taken_at=_aware(at) if at else self._now(),
            )
            session.add(row)
            session.execute(delete(PendingBackupRow).where(PendingBackupRow.mac == row.mac))
            session.flush()
            old = session.scalars(
                select(BackupRow.id)
                .where(BackupRow.mac == row.mac)
                .order_by(BackupRow.taken_at.desc(), BackupRow.id.desc())
                .offset(BACKUP_HISTORY)
            ).all()
            if old:
                session.execute(delete(BackupRow).where(BackupRow.id.in_(old)))
            return _backup(row)

    def latest_backup(self, mac: str) -> BackupRecord | None:
        with self._lock, self._session() as session:
            row = session.scalars(
                select(BackupRow)
                .where(BackupRow.mac == _mac(mac))
                .order_by(BackupRow.taken_at.desc(), BackupRow.id.desc())
            ).first()
            return _backup(row) if row else None

    def backups(self, mac: str | None = None) -> list[BackupRecord]:
        """Backup records, newest first (the last :data:`BACKUP_HISTORY` per client)."""
        with self._lock, self._session() as session:
            query = select(BackupRow).order_by(BackupRow.taken_at.desc(), BackupRow.id.desc())
            if mac is not None:
                query = query.where(BackupRow.mac == _mac(mac))
            return [_backup(r) for r in session.scalars(query).all()]

    def add_pending_backup(self, mac: str, reason: str) -> PendingBackup:
        """A backup failed (connection lost): take it when the client comes back."""
        with self._lock, self._session() as session, session.begin():
            key = _mac(mac)
            row = session.get(PendingBackupRow, key)
            if row is None:
                row = PendingBackupRow(mac=key, reason=reason, since=self._now(), attempts=1)
                session.add(row)
            else:
                row.reason = reason
                row.attempts += 1
            session.flush()
            return PendingBackup(row.mac, row.reason, row.since, row.attempts)

    def pending_backups(self) -> list[PendingBackup]:
        with self._lock, self._session() as session:
            rows = session.scalars(select(PendingBackupRow).order_by(PendingBackupRow.since)).all()
            return [PendingBackup(r.mac, r.reason, r.since, r.attempts) for r in rows]

    def remove_pending_backup(self, mac: str) -> bool:
        with self._lock, self._session() as session, session.begin():
            row = session.get(PendingBackupRow, _mac(mac))
            if row is None:
                return False
            session.delete(row)
            return True

    # --- replacements ----------------------------------------------------------------------------

    def start_replacement(self, new_mac: str, old: Device, config_file: str = "") -> Replacement:
        """Record that ``new_mac`` replaces the inactive entry ``old`` (survives a restart)."""
        with self._lock, self._session() as session, session.begin():
            key = _mac(new_mac)
            row = session.get(ReplacementRow, key)
            if row is None:
                row = ReplacementRow(new_mac=key)
                session.add(row)
            row.old_mac = old.mac
            row.old_number = old.number
            row.upstream_mac = old.upstream_mac
            row.upstream_ip = old.upstream_ip
            row.upstream_port = old.upstream_port
            row.config_file = config_file
            row.started_at = self._now()
            session.flush()
            return _replacement(row)

    def replacements(self) -> list[Replacement]:
        """Replacements in progress, oldest first."""
        with self._lock, self._session() as session:
            rows = session.scalars(select(ReplacementRow).order_by(ReplacementRow.started_at)).all()
            return [_replacement(r) for r in rows]

    def replacement_in_progress(self, upstream_mac: str = "", upstream_ip: str = "") -> bool:
        """Is a replacement running on the branch below this upstream device?"""
        with self._lock, self._session() as session:
            conditions = []
            if upstream_mac:
                conditions.append(ReplacementRow.upstream_mac == _mac(upstream_mac))
            if upstream_ip:
                conditions.append(ReplacementRow.upstream_ip == upstream_ip.strip())
            if not conditions:
                return False
            return (
                session.scalars(select(ReplacementRow).where(or_(*conditions))).first() is not None
            )

    def finish_replacement(self, new_mac: str) -> Replacement | None:
        with self._lock, self._session() as session, session.begin():
            row = session.get(ReplacementRow, _mac(new_mac))
            if row is None:
                return None
            done = _replacement(row)
            session.delete(row)
            return done

    # --- named state ---------------------------------------------------------------------------

    def set_state(self, key: str, value: str) -> None:
        with self._lock, self._session() as session, session.begin():
            row = session.get(StateRow, key)
            if row is None:
                session.add(StateRow(key=key, value=value, updated_at=self._now()))
            else:
                row.value = value
                row.updated_at = self._now()

    def get_state(self, key: str, default: str | None = None) -> str | None:
        with self._lock, self._session() as session:
            row = session.get(StateRow, key)
            return row.value if row else default

    def delete_state(self, key: str) -> bool:
        with self._lock, self._session() as session, session.begin():
            return bool(session.execute(delete(StateRow).where(StateRow.key == key)).rowcount)  # type: ignore[attr-defined]


# --- developer helper: python -m smartinstall.store.database revision "message" -----------


def make_revision(message: str, versions: Sequence[Path] | None = None) -> None:
    """Autogenerate the next revision from the models against a database at head."""
    import tempfile

    existing = sorted(versions or list((MIGRATIONS / "versions").glob("[0-9]*.py")))
    rev_id = f"{len(existing) + 1:04d}"
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_director_engine(default_url(Path(tmp)))
        upgrade(engine)
        config = alembic_config()
        config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.revision(config, message=message, autogenerate=True, rev_id=rev_id)
        engine.dispose()


if __name__ == "__main__":  # pragma: no cover - developer tool
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "revision":
        make_revision(sys.argv[2])
    else:
        print("usage: python -m smartinstall.store.database revision MESSAGE", file=sys.stderr)
        sys.exit(2)
