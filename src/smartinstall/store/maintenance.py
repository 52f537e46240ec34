"""Looking after the director database: check it, back it up while the director runs, restore
a backup while it is stopped (``smartinstall db``).

SQLite is checked with ``PRAGMA integrity_check`` and its schema revision, backed up with
SQLite's online backup (a consistent copy even while the director writes) and restored by an
atomic replace of the file. A PostgreSQL database is checked the same way; its backups are the
server's business (``pg_dump`` / ``pg_restore``).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import text

from smartinstall.store.database import (
    DatabaseError,
    alembic_config,
    create_reader_engine,
    created_marker,
    current_revision,
    describe,
    mark_created,
    sqlite_path,
)

TABLES = ("devices", "downloads", "backups", "pending_backups", "replacements")


@dataclass
class CheckReport:
    """What ``smartinstall db check`` found; ``problems`` empty means the database is sound."""

    database: str
    revision: str | None = None
    head: str | None = None
    rows: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def render(self) -> str:
        lines = [f"Database: {self.database}"]
        lines.append(f"Schema revision: {self.revision or 'none'} (this release: {self.head})")
        for table, count in self.rows.items():
            lines.append(f"  {table}: {count} rows")
        lines.extend(f"% {problem}" for problem in self.problems)
        lines.append("Database OK" if self.ok else "Database NOT OK")
        return "\n".join(lines) + "\n"


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def check(database_url: str) -> CheckReport:
    """Read-only: the file is there, whole, at a revision this release knows; rows counted."""
    path = sqlite_path(database_url)
    report = CheckReport(str(path) if path is not None else database_url, head=head_revision())
    if path is not None:
        if not path.exists():
            marker = created_marker(path)
            lost = f" (but {marker.name} shows it did: restore a backup)"
            report.problems.append(f"{path} does not exist{lost if marker.exists() else ''}")
            return report
        if path.stat().st_size == 0:
            report.problems.append(f"{path} is empty (0 bytes)")
            return report
    try:
        engine = create_reader_engine(database_url)
    except DatabaseError as error:
        report.problems.append(str(error))
        return report
    try:
        if path is not None:
            with engine.connect() as conn:
                found = [row[0] for row in conn.execute(text("PRAGMA integrity_check"))]
            if found != ["ok"]:
                report.problems.extend(f"integrity: {line}" for line in found[:20])
                return report
        report.revision = current_revision(engine)
        if report.revision is None:
            report.problems.append("no schema: not a director database")
            return report
        if report.revision != report.head:
            known = {
                r.revision for r in ScriptDirectory.from_config(alembic_config()).walk_revisions()
            }
            if report.revision not in known:
                report.problems.append(
                    f"schema revision {report.revision} is newer than this release knows"
                )
        with engine.connect() as conn:
            for table in TABLES:
                report.rows[table] = int(
                    conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() or 0
                )
    except Exception as error:
        report.problems.append(describe(error))
    finally:
        engine.dispose()
    return report


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def backup(database_url: str, destination: Path) -> int:
    """A consistent copy of a SQLite director database, taken while the director may run
    (SQLite's online backup); written aside and renamed into place. The bytes written."""
    path = sqlite_path(database_url)
    if path is None:
        raise DatabaseError(
            "a PostgreSQL director database is backed up by the server's tools: "
            "pg_dump -Fc -f FILE DBNAME"
        )
    if not path.exists() or path.stat().st_size == 0:
        raise DatabaseError(f"no director database to back up at {path}")
    destination = destination.resolve()
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{destination.name}.", dir=destination.parent)
    os.close(fd)
    try:
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            target = sqlite3.connect(temp)
            try:
                source.backup(target)
                target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            finally:
                target.close()
        finally:
            source.close()
        with open(temp, "rb") as stream:
            os.fsync(stream.fileno())
        os.replace(temp, destination)
        _fsync_dir(destination.parent)
    except sqlite3.Error as error:
        raise DatabaseError(f"backup of {path} failed: {error}") from error
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
    return destination.stat().st_size


def restore(database_url: str, source: Path) -> CheckReport:
    """Put a backup in place of a SQLite director database (the director must be stopped):
    the backup is checked first; the old file is replaced atomically and its WAL removed."""
    path = sqlite_path(database_url)
    if path is None:
        raise DatabaseError(
            "a PostgreSQL director database is restored with the server's tools: "
            "pg_restore --clean -d DBNAME FILE"
        )
    report = check(f"sqlite+pysqlite:///{source.resolve()}")
    if not report.ok:
        return report
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out, source.open("rb") as stream:
            while chunk := stream.read(1 << 20):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{path}{suffix}")
        os.replace(temp, path)
        _fsync_dir(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
    mark_created(database_url)  # a database is here now: losing it is refused at start
    report.database = str(path)
    return report
