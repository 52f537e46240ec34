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
    DirectorDatabase,
    alembic_config,
    create_director_engine,
    current_revision,
    default_url,
    upgrade,
)
from smartinstall.store.models import Base

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
    with DirectorDatabase.open(tmp_path) as db:
        assert current_revision(db.engine) == head()
    with DirectorDatabase.open(tmp_path) as db:
        assert current_revision(db.engine) == head()


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

    with DirectorDatabase.open(tmp_path) as db, db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(DatabaseError, match="9999"):
        DirectorDatabase.open(tmp_path)
