"""Tools watch a running director's database read-only: they never block its commits, never
migrate it and cannot write to it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from smartinstall.director.state import DirectorState
from smartinstall.domain.devices import Device
from smartinstall.domain.downloads import DownloadMethod
from smartinstall.store.database import DatabaseError, create_reader_engine, default_url
from smartinstall.store.port import Change, coalesce
from smartinstall.store.sqlstore import DatabaseReader, SqlStore


@pytest.mark.timeout(120)
def test_a_reader_sees_commits_and_never_holds_the_writer_back(tmp_path: Path) -> None:
    url = default_url(tmp_path)
    store = SqlStore(url)
    pending: list[Change] = []
    state = DirectorState(pending.append)
    state.restore(store.load())
    reader = DatabaseReader(url)
    stop = threading.Event()
    seen: list[int] = []
    errors: list[BaseException] = []

    def watch() -> None:
        try:
            while not stop.is_set():
                seen.append(len(reader.downloads()))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for batch in range(40):
            for i in range(5):
                mac = f"0000.{batch:04x}.{i:04x}"
                state.upsert_device(Device(0, mac))
                state.add_download(mac, DownloadMethod.ZERO_TOUCH)
            store.apply(coalesce(pending))  # never waits for the reader's transactions
            pending.clear()
    finally:
        stop.set()
        watcher.join(timeout=30)
    assert not errors
    assert seen == sorted(seen)  # each read is one consistent snapshot, never going back
    assert len(reader.devices()) == 200
    assert len(reader.downloads()) == 200
    assert reader.latest_download("0000.0027.0004") is not None
    reader.close()
    store.close()


def test_a_reader_never_migrates_and_cannot_write(tmp_path: Path) -> None:
    url = default_url(tmp_path)
    with pytest.raises(DatabaseError, match="no director database"):
        DatabaseReader(url)
    SqlStore(url).close()
    engine = create_reader_engine(url)
    try:
        with engine.begin() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            assert version is not None
            with pytest.raises(OperationalError):
                conn.execute(text("DELETE FROM devices"))
    finally:
        engine.dispose()
