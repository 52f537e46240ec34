"""A store that cannot commit (a full disk): the writer keeps its thread, its changes and its
retries, tells its owner once (and again, with the count, while it lasts), and recovers by
itself when the store can commit again."""

from __future__ import annotations

import asyncio
import datetime as dt
import errno
import sqlite3
import threading
import time
from collections.abc import Sequence

import pytest
from sqlalchemy import create_engine, text

from smartinstall.store import writer as writer_module
from smartinstall.store.port import Change, MemoryStore, StateSaved, StoreError
from smartinstall.store.writer import StoreTrouble, StoreWriter, no_space

T0 = dt.datetime(2026, 12, 3, 8, 0, tzinfo=dt.UTC)


class FullDisk(MemoryStore):
    """A memory store whose commits fail the way the SQL adapter's do on a full disk (a
    StoreError raised from the OSError) until it is given room."""

    def __init__(self) -> None:
        super().__init__()
        self.full = False
        self.attempts = 0
        self.threads: set[str] = set()

    def apply(self, changes: Sequence[Change]) -> None:
        self.attempts += 1
        self.threads.add(threading.current_thread().name)
        if self.full:
            try:
                raise OSError(errno.ENOSPC, "No space left on device")
            except OSError as error:
                raise StoreError(f"cannot write the director database: {error}") from error
        super().apply(changes)


async def until(condition: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not callable(condition) or not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_a_full_disk_is_reported_once_retried_and_recovered() -> None:
    store = FullDisk()
    heard: list[StoreTrouble] = []
    writer = StoreWriter(lambda: store, commit_delay=60.0, retry_delays=(0.01, 0.02))
    writer.on_trouble = heard.append
    await writer.start()
    store.full = True
    writer.submit(StateSaved("a", "1", T0))
    for _ in range(3):  # every flush fails, none is told twice
        with pytest.raises(StoreError, match="No space left on device"):
            await writer.flush()
    assert writer.failing and writer.running
    # retried in the background too, with nobody waiting, at the bounded back-off
    await until(lambda: writer.stats().failures >= 6)
    assert len(heard) == 1
    (trouble,) = heard
    assert trouble.failing and trouble.disk_full and trouble.code == errno.ENOSPC
    assert trouble.failures == 1 and "No space left on device" in trouble.reason
    writer.submit(StateSaved("b", "2", T0))  # accepted meanwhile, kept in memory
    store.full = False
    await writer.flush()
    assert store.load().state == {"a": "1", "b": "2"}
    assert not writer.failing
    await until(lambda: len(heard) == 2)
    assert not heard[1].failing and heard[1].failures >= 6
    assert store.threads == {"store-writer"}
    stats = writer.stats()
    assert stats.committed == stats.submitted == 2 and stats.pending == 0
    await writer.close()


async def test_a_lasting_failure_is_told_again_with_its_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(writer_module, "TROUBLE_REPEAT", 0.05)
    store = FullDisk()
    heard: list[StoreTrouble] = []
    writer = StoreWriter(lambda: store, commit_delay=0.0, retry_delays=(0.02,))
    writer.on_trouble = heard.append
    await writer.start()
    store.full = True
    writer.submit(StateSaved("a", "1", T0))
    await until(lambda: len(heard) >= 2)
    assert all(t.failing for t in heard) and heard[1].failures > heard[0].failures == 1
    store.full = False
    await until(lambda: not heard[-1].failing)
    await writer.close()


def test_a_full_sqlite_database_is_told_apart_from_other_errors() -> None:
    # SQLITE_FULL for real: a database that may not grow past two pages
    engine = create_engine("sqlite://")
    with engine.connect() as conn:
        conn.execute(text("CREATE TABLE t (x TEXT)"))
        conn.execute(text("PRAGMA max_page_count = 2"))
        with pytest.raises(Exception) as raised:
            conn.execute(text("INSERT INTO t VALUES (:x)"), [{"x": "y" * 4000}] * 10)
    try:
        raise StoreError("cannot write the director database") from raised.value
    except StoreError as error:
        assert no_space(error) == 13  # SQLITE_FULL, found under SQLAlchemy's error
    assert no_space(OSError(errno.EDQUOT, "Disk quota exceeded")) == errno.EDQUOT
    assert no_space(sqlite3.OperationalError("database is locked")) == 0
    assert no_space(StoreError("server gone")) == 0
