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
"""

from __future__ import annotations

import logging
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


def check_openable(database_url: str | URL) -> None:
    """Refuse a SQLite file that cannot be the director's database before opening it: one
    that exists but is empty would otherwise start an empty director without a word."""
    path = sqlite_path(database_url)
    if path is not None and path.exists() and path.is_file() and path.stat().st_size == 0:
        raise DatabaseError(
            f"the director database {path} is empty (0 bytes): restore it from a backup "
            "(smartinstall db restore), or move it aside to start with an empty database"
        )


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
    return create_engine(url, pool_pre_ping=True)


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
    return create_engine(url, pool_pre_ping=True, execution_options={"postgresql_readonly": True})


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
