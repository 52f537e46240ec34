"""The director database on PostgreSQL: the SQLite tests again, and the migrations.

A throwaway cluster is created with Debian's ``initdb``/``pg_ctl`` in a temporary directory and
listens on a free loopback port only. PostgreSQL refuses to run as root, so as root the cluster
runs as the ``postgres`` user (``runuser``); without PostgreSQL, or as root without that user,
the tests skip with the reason.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from smartinstall.lab.director_process import free_port
from smartinstall.store.sqlstore import SqlStore
from tests.tools import find_program
from tests.unit.store import test_database
from tests.unit.store.test_migrations import schema_diff

# The SQLite tests and their fixtures, run again here with the ``database_url`` below; the
# PRAGMA test is SQLite's own.
_SQLITE_ONLY = {"test_sqlite_runs_in_wal_mode_with_full_sync", "database_url"}
globals().update(
    {
        name: value
        for name, value in vars(test_database).items()
        if (name.startswith("test_") or name in ("clock", "reopen", "db"))
        and name not in _SQLITE_ONLY
    }
)

pytestmark = pytest.mark.needs_tool


def _pg_program(name: str) -> str | None:
    found = find_program(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def pg_admin(port: int, sql: str) -> None:
    """Run ``sql`` as ``postgres`` on the cluster at 127.0.0.1:``port`` (autocommit)."""
    import psycopg

    with psycopg.connect(
        host="127.0.0.1", port=port, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(sql.encode())


class Cluster:
    def __init__(self, base: Path, port: int, as_user: list[str]) -> None:
        self.base = base
        self.port = port
        self.as_user = as_user

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        pg_admin(self.port, sql)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    pytest.importorskip("psycopg", reason="psycopg is not installed (extra: postgresql)")
    initdb, pg_ctl = _pg_program("initdb"), _pg_program("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("PostgreSQL's initdb/pg_ctl are not installed (Debian: postgresql)")
    as_user: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="smi-pg-"))
    if os.geteuid() == 0:
        runuser = find_program("runuser")
        try:
            postgres = pwd.getpwnam("postgres")
        except KeyError:
            postgres = None
        if runuser is None or postgres is None:
            shutil.rmtree(base)
            pytest.skip("PostgreSQL refuses to run as root and there is no postgres user")
        as_user = [runuser, "-u", "postgres", "--"]
        os.chown(base, postgres.pw_uid, postgres.pw_gid)
    base.chmod(0o700)
    port = free_port("127.0.0.1", socket.SOCK_STREAM)
    data, log = base / "data", base / "log"
    try:
        subprocess.run(
            [
                *as_user,
                initdb,
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        options = f"-h 127.0.0.1 -p {port} -k {base} -F -c max_connections=40"
        subprocess.run(
            [
                *as_user,
                pg_ctl,
                "-D",
                str(data),
                "-l",
                str(log),
                "-w",
                "-t",
                "60",
                "-o",
                options,
                "start",
            ],
            check=True,
            capture_output=True,
            timeout=90,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        detail = getattr(error, "stderr", b"") or b""
        if log.exists():
            detail += log.read_bytes()[-2000:]
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(
            f"cannot start a PostgreSQL cluster: {error}: {detail.decode(errors='replace')}"
        )
    try:
        yield Cluster(base, port, as_user)
    finally:
        subprocess.run(
            [*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def database_url(cluster: Cluster) -> Iterator[str]:  # overrides the SQLite one
    name = f"smi_{uuid.uuid4().hex[:12]}"
    cluster.admin(f'CREATE DATABASE "{name}"')
    try:
        yield cluster.url(name)
    finally:
        cluster.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_url_selects_postgresql(database_url: str) -> None:
    store = SqlStore(database_url.replace("+psycopg", ""))
    try:
        assert store.engine.dialect.name == "postgresql"
        assert store.url.drivername == "postgresql+psycopg"
    finally:
        store.close()


def test_postgresql_is_migrated_to_head_and_matches_the_models(database_url: str) -> None:
    from alembic import command

    from smartinstall.store.database import alembic_config, create_director_engine, upgrade

    engine = create_director_engine(database_url)
    try:
        assert len(schema_diff(engine)) > 0
        upgrade(engine)
        assert schema_diff(engine) == []
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
        upgrade(engine)
        assert schema_diff(engine) == []
    finally:
        engine.dispose()


def test_an_unreachable_server_is_a_database_error() -> None:
    pytest.importorskip("psycopg")
    from smartinstall.store.database import DatabaseError

    with socket.socket() as sock:  # a loopback port that nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(DatabaseError, match="cannot open") as caught:
        SqlStore(f"postgresql://smi:secret@127.0.0.1:{port}/smi")
    assert "secret" not in str(caught.value)
