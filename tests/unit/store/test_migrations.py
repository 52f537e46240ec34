"""Alembic migrations: a fresh database reaches head, and head matches the models."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from smartinstall.store.database import (
    MIGRATIONS,
    alembic_config,
    create_director_engine,
    current_revision,
    default_url,
    upgrade,
)
from smartinstall.store.models import Base
from smartinstall.store.sqlstore import SqlStore

ROOT = Path(__file__).resolve().parents[3]


def schema_diff(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def head() -> str:
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision is not None
    return revision


def test_a_fresh_database_is_migrated_to_head_and_matches_the_models(tmp_path: Path) -> None:
    engine = create_director_engine(default_url(tmp_path))
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head()
        assert schema_diff(engine) == []
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) | {"alembic_version"} == tables
    finally:
        engine.dispose()


def test_an_empty_database_differs_from_the_models(tmp_path: Path) -> None:
    # The comparison above can fail: without migrations every table is missing.
    engine = create_director_engine(default_url(tmp_path))
    try:
        assert len(schema_diff(engine)) >= len(Base.metadata.tables)
    finally:
        engine.dispose()


def test_opening_migrates_and_reopening_is_a_no_op(tmp_path: Path) -> None:
    for _ in range(2):
        store = SqlStore(default_url(tmp_path))
        try:
            assert current_revision(store.engine) == head()
        finally:
            store.close()


def test_a_database_of_the_first_release_keeps_its_records(tmp_path: Path) -> None:
    # 0002 lets the state owner keep numbers and MACs unique: rows written under 0001 stay.
    from sqlalchemy import text

    engine = create_director_engine(default_url(tmp_path))
    try:
        upgrade(engine, "0001")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO devices (id, number, mac, pid, serial, version, image, ip, "
                    "hostname, upstream_mac, upstream_ip, upstream_port, supervisor, "
                    "device_type, health, join_state, removed_from_hold, image_progress, "
                    "config_progress, script_progress, is_director, capability, first_seen, "
                    "updated_at) VALUES (7, 3, '0000.0000.0003', '', '', '', '', '10.0.0.3', "
                    "'sw3', '', '', '', '', 'S', 'A', 'a', 0, 'done', 'none', 'none', 0, '', "
                    "'2026-11-27 00:00:00', '2026-11-27 00:00:00')"
                )
            )
    finally:
        engine.dispose()
    store = SqlStore(default_url(tmp_path))
    try:
        (record,) = store.load().devices
        assert (record.key, record.device.number, record.device.hostname) == (7, 3, "sw3")
        assert record.device.status() == "S A a I"
        assert schema_diff(store.engine) == []
    finally:
        store.close()


def test_downgrade_to_base_and_up_again(tmp_path: Path) -> None:
    from alembic import command

    engine = create_director_engine(default_url(tmp_path))
    try:
        upgrade(engine)
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
        assert schema_diff(engine) == []
    finally:
        engine.dispose()


def test_every_migration_file_is_package_data() -> None:
    """A wheel without the migration scripts could not open any database."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["smartinstall"]
    package = ROOT / "src" / "smartinstall"
    files = [
        p.relative_to(package).as_posix()
        for p in MIGRATIONS.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    ]
    assert "store/migrations/env.py" in files
    assert any(f.startswith("store/migrations/versions/") for f in files)
    missing = [f for f in files if not any(fnmatch.fnmatch(f, pat) for pat in patterns)]
    assert missing == []


def test_a_database_from_a_newer_release_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    import pytest
    from sqlalchemy import text

    from smartinstall.store.database import DatabaseError

    store = SqlStore(default_url(tmp_path))
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    store.close()
    with pytest.raises(DatabaseError, match="9999"):
        SqlStore(default_url(tmp_path))


def test_autogenerated_migrations_do_not_import_the_application(tmp_path: Path) -> None:
    from alembic.autogenerate import produce_migrations, render_python_code

    from smartinstall.store.models import render_item

    engine = create_director_engine(default_url(tmp_path))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection)
            script = produce_migrations(context, Base.metadata)
        assert script.upgrade_ops is not None
        code = render_python_code(script.upgrade_ops, render_item=render_item)
    finally:
        engine.dispose()
    assert "create_table('devices'" in code or 'create_table("devices"' in code
    assert "sa.DateTime()" in code and "smartinstall" not in code
