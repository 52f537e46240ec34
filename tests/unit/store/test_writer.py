"""The store writer: group commits on its own thread, durability on demand, failures kept and
retried, nothing lost at close."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Sequence

import pytest

from smartinstall.store.port import (
    Change,
    MemoryStore,
    Snapshot,
    StateRemoved,
    StateSaved,
    StoreError,
    StoreStats,
    coalesce,
)
from smartinstall.store.writer import StoreWriter

T0 = dt.datetime(2026, 12, 3, 8, 0, tzinfo=dt.UTC)


class Recording(MemoryStore):
    """A memory store that notes each batch and the thread it ran on, and can be made to fail."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[Change]] = []
        self.threads: set[int] = set()
        self.failing: str | None = None
        self.applied = asyncio.Event()
        self.loop: asyncio.AbstractEventLoop | None = None

    def apply(self, changes: Sequence[Change]) -> None:
        self.threads.add(threading.get_ident())
        if self.failing:
            raise StoreError(self.failing)
        super().apply(changes)
        self.batches.append(list(changes))
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.applied.set)


def saved(name: str, value: str = "v") -> StateSaved:
    return StateSaved(name, value, T0)


async def started(store: Recording, **options: float) -> StoreWriter:
    store.loop = asyncio.get_running_loop()
    writer = StoreWriter(lambda: store, **options)  # type: ignore[arg-type]
    snapshot = await writer.start()
    assert snapshot == Snapshot()
    return writer


async def test_flush_commits_everything_submitted_in_one_batch_off_the_loop() -> None:
    store = Recording()
    writer = await started(store, commit_delay=60.0)
    for i in range(100):
        writer.submit(saved(f"k{i % 10}", str(i)))
    await writer.flush()
    assert len(store.batches) == 1
    assert len(store.batches[0]) == 10  # coalesced: the last value of each key
    assert store.load().state == {f"k{i}": str(90 + i) for i in range(10)}
    assert threading.get_ident() not in store.threads
    stats = writer.stats()
    assert (stats.submitted, stats.committed, stats.pending, stats.commits) == (100, 100, 0, 1)
    await writer.flush()  # nothing new: no commit
    assert writer.stats().commits == 1
    await writer.close()


async def test_changes_nobody_waits_for_are_committed_within_the_delay() -> None:
    store = Recording()
    writer = await started(store, commit_delay=0.05)
    writer.submit(saved("a"))
    await asyncio.wait_for(store.applied.wait(), 5)
    assert store.load().state == {"a": "v"}
    await writer.close()


async def test_a_failed_commit_fails_its_waiters_keeps_the_changes_and_retries() -> None:
    store = Recording()
    writer = await started(store, commit_delay=60.0, retry_delays=(0.01,))
    store.failing = "disk full"
    writer.submit(saved("a"))
    writer.submit(StateRemoved("b"))
    with pytest.raises(StoreError, match="disk full"):
        await writer.flush()
    stats = writer.stats()
    assert stats.failures >= 1 and stats.last_error == "disk full"
    assert stats.committed == 0 and stats.pending >= 1
    store.failing = None
    writer.submit(saved("c"))
    await writer.flush()
    assert store.load().state == {"a": "v", "c": "v"}
    assert writer.stats().committed == writer.stats().submitted == 3
    await writer.close()


async def test_close_commits_what_is_pending() -> None:
    store = Recording()
    writer = await started(store, commit_delay=60.0)
    writer.submit(saved("late"))
    await writer.close()
    assert store.load().state == {"late": "v"}
    assert not writer.running
    with pytest.raises(StoreError):
        writer.submit(saved("after"))
        await writer.flush()


async def test_a_store_that_cannot_open_fails_start() -> None:
    def broken() -> Recording:
        raise StoreError("cannot open the director database")

    writer = StoreWriter(broken)  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="cannot open"):
        await writer.start()


def test_coalescing_keeps_the_last_record_of_each_key_in_the_order_of_the_last() -> None:
    changes: list[Change] = [saved("a", "1"), saved("b", "1"), StateRemoved("a"), saved("c")]
    assert coalesce(changes) == [saved("b", "1"), StateRemoved("a"), saved("c")]
    assert coalesce([]) == []


def test_memory_store_counts() -> None:
    store = MemoryStore()
    store.apply([saved("a"), saved("b")])
    store.apply([StateRemoved("a")])
    assert store.stats() == StoreStats(statements=3, commits=2)
    assert store.load().state == {"b": "v"}
