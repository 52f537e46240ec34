"""Opening the director database: URLs, engines, durability settings and migrations.

SQLite in the data directory by default (``director.db``), or any SQLAlchemy URL
(``postgresql+psycopg://user@host/db``; a bare ``postgresql://`` URL uses psycopg 3, the
``smartinstall[postgresql]`` extra). The director's store (:mod:`smartinstall.store.sqlstore`)
migrates the schema to the newest Alembic revision when it opens the database; tools that only
watch a running director open it read-only and never migrate (:func:`create_reader_engine`).

Durability: on SQLite the database runs in WAL mode with ``synchronous=FULL``, so a committed
batch survives ``kill -9`` and power loss; on PostgreSQL the server's own durability applies
(``synchronous_commit`` on by default). The director writes from one thread (the store
writer); write transactions on SQLite start with ``BEGIN IMMEDIATE`` so that a maintenance
tool writing the same file is serialized with it; read-only engines take no write lock.

Guarding: a SQLite database that is empty, not SQLite, or missing where one existed (the
director writes ``director.db.created`` beside it once it has opened it) is refused before it is
opened (:func:`check_openable`), since each would start an empty director without a word;
:func:`start_afresh` (``--new-database``) moves such a file aside. A server gets
``CONNECT_TIMEOUT`` seconds to answer.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool

log = logging.getLogger(__name__)

DATABASE_FILE = "director.db"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
CREATED_SUFFIX = ".created"  # director.db.created: this directory has had a database
NEW_DATABASE_OPTION = "--new-database"  # the director's option to begin with an empty one
SQLITE_HEADER = b"SQLite format 3\x00"
CONNECT_TIMEOUT = 10  # seconds to reach a database server, unless the URL says otherwise


class DatabaseError(Exception):
    """The database cannot be opened or read (unreachable server, newer schema …)."""


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
    # IMMEDIATE: the writer's transaction holds the write lock from its start, so a maintenance
    # tool writing the same file cannot interleave with it.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_reader_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA query_only=ON")
    finally:
        cursor.close()


def _sqlite_read_begin(connection: Any) -> None:
    # A deferred transaction: one consistent snapshot of the WAL, no write lock.
    connection.exec_driver_sql("BEGIN")


def sqlite_path(database_url: str | URL) -> Path | None:
    """The file of a SQLite URL (None for another database or an in-memory one)."""
    url = normalize_url(database_url)
    if not _is_sqlite(url) or _sqlite_memory(url):
        return None
    return Path(str(url.database))


def created_marker(database: Path) -> Path:
    """The file written beside a SQLite director database once the director has opened it
    (``director.db.created``): where it is, a missing database was lost, not never made."""
    return database.with_name(database.name + CREATED_SUFFIX)


def _held_before(path: Path) -> str | None:
    """What shows that a database existed at ``path`` (None: nothing does)."""
    if created_marker(path).exists():
        return f"{created_marker(path).name} shows this directory had one"
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        return f"its write-ahead log {wal.name} is still there"
    return None


def _damage(path: Path) -> str | None:
    """Why an existing SQLite file cannot be the director's database (None: it may be)."""
    if not path.is_file():
        return None
    size = path.stat().st_size
    if size == 0:
        return "is empty (0 bytes)"
    with path.open("rb") as stream:
        header = stream.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        return "is not a SQLite database"
    return None


def _unreadable(path: Path) -> str | None:
    """What SQLite says of a file with a sound header that it cannot read (None: it reads):
    a quick check of every page, so only for the explicit ``--new-database``."""
    # a read-only connection leaves the log and its index behind: not there before, not after
    created = [
        Path(f"{path}{end}") for end in ("-wal", "-shm") if not Path(f"{path}{end}").exists()
    ]
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            found = [row[0] for row in connection.execute("PRAGMA quick_check(1)")]
        finally:
            connection.close()
    except sqlite3.Error as error:
        return f"is damaged ({error})"
    finally:
        for each in created:
            if each.exists() and (each.name.endswith("-shm") or each.stat().st_size == 0):
                each.unlink()
    return None if found == ["ok"] else f"is damaged ({found[0] if found else 'no answer'})"


def check_readable(path: Path) -> str | None:
    """What makes the SQLite file ``path`` unreadable, opened read-only with a quick check of
    every page (None: it reads); leaves no log file behind (``director --config-check``)."""
    return _damage(path) or _unreadable(path)


def check_openable(database_url: str | URL) -> None:
    """Refuse a SQLite database that cannot be the director's before opening it, with one line
    naming the file and what to do: an empty file or one that is not SQLite, or a missing file
    where one existed (``director.db.created`` beside it, or its write-ahead log). Each would
    otherwise start an empty director without a word. A brand-new data directory passes."""
    path = sqlite_path(database_url)
    if path is None:
        return
    if not path.exists():
        why = _held_before(path)
        if why is not None:
            raise DatabaseError(
                f"the director database {path} is missing, but {why}: restore it from a "
                f"backup (smartinstall db restore FILE), or start with {NEW_DATABASE_OPTION} "
                "to begin with an empty database"
            )
        return
    damage = _damage(path)
    if damage is not None:
        raise DatabaseError(
            f"the director database {path} {damage}: restore it from a backup (smartinstall "
            f"db restore FILE), or start with {NEW_DATABASE_OPTION} to move it aside and "
            "begin with an empty database"
        )


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def mark_created(database_url: str | URL) -> Path | None:
    """Write ``director.db.created`` beside a SQLite database that exists (once): from then on
    a missing database there is refused at start. The marker when it was written now."""
    path = sqlite_path(database_url)
    if path is None or not path.is_file():
        return None
    marker = created_marker(path)
    if marker.exists():
        return None
    when = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    text = (
        f"The director database {path.name} of this directory was opened first on {when}.\n"
        f"While this file is here, a missing {path.name} stops the director at start:\n"
        "restore a backup (smartinstall db restore FILE --data-dir DIR), or start the\n"
        f"director with {NEW_DATABASE_OPTION} to begin with an empty database.\n"
    )
    temp = marker.with_name(f".{marker.name}.{os.getpid()}")
    with temp.open("w", encoding="utf-8") as stream:
        stream.write(text)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temp, marker)
    _fsync_dir(marker.parent)
    return marker


def start_afresh(database_url: str | URL) -> list[str]:
    """Make way for an empty database (the director's ``--new-database``): a damaged file, and
    the write-ahead log of a damaged or missing one, are moved aside (never deleted), and the
    marker is removed. A sound database is left as it is. What was done, one phrase each."""
    path = sqlite_path(database_url)
    if path is None:
        return []
    done: list[str] = []
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    why = "missing"
    if path.exists():
        damage = _damage(path) or _unreadable(path)
        if damage is None:
            return []
        why = "damaged"
        aside = path.with_name(f"{path.name}.{why}-{stamp}")
        os.replace(path, aside)
        done.append(f"{path} {damage}: moved to {aside.name}")
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size == 0:
        wal.unlink()  # holds nothing
    if wal.exists():
        aside = wal.with_name(f"{wal.name}.{why}-{stamp}")
        os.replace(wal, aside)
        done.append(f"the write-ahead log of the {why} database moved to {aside.name}")
    Path(f"{path}-shm").unlink(missing_ok=True)  # an index of that log, rebuilt from nothing
    marker = created_marker(path)
    if marker.exists():
        marker.unlink()
        if why == "missing":
            done.append(f"{path} is missing")
    if done:
        _fsync_dir(path.parent)
    return done


def describe(error: BaseException) -> str:
    """The driver's own words for a database error, on one line."""
    cause = getattr(error, "orig", None) or error
    text = str(cause).strip().splitlines()
    return text[0] if text else type(cause).__name__


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
    return create_engine(url, pool_pre_ping=True, connect_args=_server_connect_args(url))


def _server_connect_args(url: URL) -> dict[str, Any]:
    """A server that does not answer fails the connection in bounded time (libpq waits for
    the kernel's TCP timeout otherwise, minutes)."""
    if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
        return {"connect_timeout": CONNECT_TIMEOUT}
    return {}


def create_reader_engine(database_url: str | URL) -> Engine:
    """A read-only engine for tools that watch a running director (the lab, benchmarks):
    SQLite opened with ``mode=ro``, never migrated, no write lock taken."""
    url = normalize_url(database_url)
    if _is_sqlite(url) and not _sqlite_memory(url):
        path = Path(str(url.database)).resolve()
        if not path.exists():
            raise DatabaseError(f"no director database at {path}")
        engine = create_engine(
            f"sqlite+pysqlite:///file:{path}?mode=ro&uri=true",
            connect_args={"check_same_thread": False},
        )
        event.listen(engine, "connect", _sqlite_reader_pragmas)
        event.listen(engine, "begin", _sqlite_read_begin)
        return engine
    if _is_sqlite(url):
        raise DatabaseError("an in-memory database cannot be read from another process")
    return create_engine(
        url,
        pool_pre_ping=True,
        connect_args=_server_connect_args(url),
        execution_options={"postgresql_readonly": True},
    )


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head", director_id: str | None = None) -> None:
    """Bring the schema to ``revision`` (the newest by default); rows from before director ids
    get ``director_id`` (revision 0005)."""
    config = alembic_config()
    config.attributes["director_id"] = director_id
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # directors sharing a server migrate one after the other (until commit)
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(4786, 0)")
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


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
