"""A director database that was lost or damaged is refused before it is opened, and
``--new-database`` makes way for an empty one without deleting anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartinstall.store.database import (
    DatabaseError,
    check_openable,
    created_marker,
    default_url,
    mark_created,
    start_afresh,
)
from smartinstall.store.maintenance import backup, check, restore
from smartinstall.store.sqlstore import SqlStore


def opened(data: Path) -> Path:
    """A director database made in ``data`` and marked, as the director's first start does."""
    SqlStore(default_url(data)).close()
    assert mark_created(default_url(data)) == data / "director.db.created"
    return data / "director.db"


def test_a_brand_new_data_dir_passes_and_is_marked_once_it_has_a_database(tmp_path: Path) -> None:
    url = default_url(tmp_path)
    check_openable(url)  # nothing there, nothing that says there was
    assert mark_created(url) is None  # no database yet: no marker
    database = opened(tmp_path)
    marker = created_marker(database)
    text = marker.read_text()
    assert "director.db" in text and "--new-database" in text and "smartinstall db restore" in text
    assert mark_created(url) is None  # written once
    assert marker.read_text() == text
    check_openable(url)


def test_a_missing_database_where_one_was_is_refused(tmp_path: Path) -> None:
    database = opened(tmp_path)
    database.unlink()
    with pytest.raises(DatabaseError) as refused:
        check_openable(default_url(tmp_path))
    message = str(refused.value)
    assert "\n" not in message
    assert f"{database} is missing" in message and "director.db.created" in message
    assert "smartinstall db restore" in message and "--new-database" in message


def test_a_write_ahead_log_without_its_database_is_refused(tmp_path: Path) -> None:
    # a directory of an older release (no marker), whose database went while its log stayed
    (tmp_path / "director.db-wal").write_bytes(b"\x37\x7f\x06\x82" + b"\x00" * 28)
    with pytest.raises(DatabaseError, match=r"write-ahead log director\.db-wal"):
        check_openable(default_url(tmp_path))
    (tmp_path / "director.db-wal").write_bytes(b"")  # an empty log holds nothing
    check_openable(default_url(tmp_path))


@pytest.mark.parametrize(
    ("content", "damage"),
    [(b"", "is empty (0 bytes)"), (b"\x13not a database\x00" * 50, "is not a SQLite database")],
)
def test_an_empty_or_foreign_file_is_refused(tmp_path: Path, content: bytes, damage: str) -> None:
    (tmp_path / "director.db").write_bytes(content)
    with pytest.raises(DatabaseError) as refused:
        check_openable(default_url(tmp_path))
    assert f"{tmp_path / 'director.db'} {damage}: restore it" in str(refused.value)


def test_start_afresh_moves_a_damaged_database_aside_and_leaves_a_sound_one(
    tmp_path: Path,
) -> None:
    database = opened(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert start_afresh(default_url(tmp_path)) == []  # sound: untouched, nothing left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert created_marker(database).exists()
    damaged = b"\x13not a database\x00" * 50
    database.write_bytes(damaged)
    (done,) = start_afresh(default_url(tmp_path))
    assert "is not a SQLite database: moved to director.db.damaged-" in done
    (aside,) = tmp_path.glob("director.db.damaged-*")
    assert aside.read_bytes() == damaged  # kept, never deleted
    assert not database.exists() and not created_marker(database).exists()
    check_openable(default_url(tmp_path))


def test_start_afresh_moves_aside_a_database_damaged_past_its_header(tmp_path: Path) -> None:
    database = opened(tmp_path)
    data = bytearray(database.read_bytes())
    assert len(data) > 8192
    data[4096:8192] = b"\xa5" * 4096  # the pages after the first one overwritten
    database.write_bytes(bytes(data))
    check_openable(default_url(tmp_path))  # the header is whole: only opening it tells
    (done,) = start_afresh(default_url(tmp_path))
    assert "is damaged (" in done and "moved to director.db.damaged-" in done
    (aside,) = tmp_path.glob("director.db.damaged-*")
    assert aside.read_bytes() == bytes(data)


def test_start_afresh_after_a_loss_keeps_the_orphaned_log(tmp_path: Path) -> None:
    database = opened(tmp_path)
    database.unlink()
    (tmp_path / "director.db-wal").write_bytes(b"frames")
    (tmp_path / "director.db-shm").write_bytes(b"index")
    done = start_afresh(default_url(tmp_path))
    assert any("write-ahead log of the missing database moved to" in line for line in done)
    assert f"{database} is missing" in done
    (aside,) = tmp_path.glob("director.db-wal.missing-*")
    assert aside.read_bytes() == b"frames"
    assert not (tmp_path / "director.db-shm").exists()
    check_openable(default_url(tmp_path))  # the way is clear for a new database
    opened(tmp_path)


def test_restore_marks_the_database_and_check_names_a_lost_one(tmp_path: Path) -> None:
    source = tmp_path / "source"
    opened(source)
    saved = tmp_path / "saved.db"
    backup(default_url(source), saved)
    target = tmp_path / "target"
    target.mkdir()
    assert restore(default_url(target), saved).ok
    assert created_marker(target / "director.db").exists()
    (target / "director.db").unlink()
    (problem,) = check(default_url(target)).problems
    assert "does not exist (but director.db.created shows it did" in problem


def test_postgresql_urls_have_no_marker() -> None:
    url = "postgresql://smi@127.0.0.1:1/smi"
    check_openable(url)
    assert mark_created(url) is None and start_afresh(url) == []
