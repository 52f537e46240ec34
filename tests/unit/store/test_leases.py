"""The `ip dhcp remember` journal: durable bindings, group commit, compaction, torn writes."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartinstall.store.leases import JOURNAL_NAME, Lease, LeaseStore


def lease(n: int, address: int | None = None, expires: float = 2e9) -> Lease:
    return Lease(
        b"\x01" + n.to_bytes(6, "big"),
        address if address is not None else 0x0A000000 + n,
        expires,
        n.to_bytes(6, "big"),
    )


async def test_bindings_survive_a_restart(tmp_path: Path) -> None:
    store = LeaseStore(tmp_path)
    done: list[int] = []
    for n in range(100):
        store.bind(lease(n), lambda n=n: done.append(n))
    store.forget(lease(7).key)
    store.bind(lease(8, address=0x0A0000FF))  # moved
    await store.close()
    assert sorted(done) == list(range(100))  # every waiter ran, once
    again = LeaseStore(tmp_path)
    assert len(again) == 99
    assert again.get(lease(7).key) is None
    moved = again.get(lease(8).key)
    assert moved is not None and moved.address == 0x0A0000FF
    assert again.owner(0x0A000008) is None
    assert again.owner(5 + 0x0A000000) == lease(5)
    await again.close()


async def test_waiters_run_only_after_the_write(tmp_path: Path) -> None:
    store = LeaseStore(tmp_path)
    seen: list[bytes] = []
    path = tmp_path / JOURNAL_NAME
    store.bind(lease(1), lambda: seen.append(path.read_bytes()))
    assert seen == []  # not yet: the write happens in the journal thread
    await store.flush()
    assert len(seen) == 1 and lease(1).key.hex().encode() in seen[0]
    await store.close()


async def test_group_commit_batches_many_changes(tmp_path: Path) -> None:
    store = LeaseStore(tmp_path)
    acked = 0

    def ack() -> None:
        nonlocal acked
        acked += 1

    for n in range(2000):
        store.bind(lease(n), ack)
        if n % 100 == 0:
            await asyncio.sleep(0)
    await store.flush()
    assert acked == 2000
    assert store.commits < 200  # far fewer fsyncs than bindings
    await store.close()


async def test_compaction_is_atomic_and_keeps_everything(tmp_path: Path) -> None:
    store = LeaseStore(tmp_path, compact_min_lines=50)
    for round_ in range(10):
        for n in range(20):
            store.bind(lease(n, expires=1e9 + round_))
        await store.flush()
    await store.close()
    lines = (tmp_path / JOURNAL_NAME).read_bytes().count(b"\n")
    assert lines < 200  # compacted (200 changes were written)
    assert not list(tmp_path.glob("*.tmp"))
    again = LeaseStore(tmp_path)
    assert sorted(x.expires for x in again) == [1e9 + 9] * 20
    await again.close()


async def test_torn_and_corrupt_lines_are_skipped(tmp_path: Path) -> None:
    store = LeaseStore(tmp_path)
    store.bind(lease(1))
    store.bind(lease(2))
    await store.close()
    path = tmp_path / JOURNAL_NAME
    data = path.read_bytes()
    first, second = data.splitlines(keepends=True)
    corrupted = first + second.replace(b"b ", b"b 0", 1) + b"b 0102 42 17"  # torn tail
    path.write_bytes(corrupted)
    again = LeaseStore(tmp_path)
    assert [x.key for x in again] == [lease(1).key]
    assert path.read_bytes().endswith(b"\n")  # rewritten clean, appends start on a new line
    again.bind(lease(3))
    await again.close()
    third = LeaseStore(tmp_path)
    assert {x.key for x in third} == {lease(1).key, lease(3).key}
    third.close_sync()


async def test_memory_only_store_calls_back_at_once(tmp_path: Path) -> None:
    store = LeaseStore(None)
    called: list[int] = []
    store.bind(lease(1), lambda: called.append(1))
    assert called == [1]
    assert store.get(lease(1).key) == lease(1)
    await store.close()
    assert os.listdir(tmp_path) == []


async def test_address_taken_over_removes_previous_owner(tmp_path: Path) -> None:
    store = LeaseStore(tmp_path)
    store.bind(lease(1, address=100))
    store.bind(lease(2, address=100))
    assert store.get(lease(1).key) is None
    assert store.owner(100) == lease(2, address=100)
    await store.close()
    again = LeaseStore(tmp_path)
    assert again.owner(100) == lease(2, address=100)
    again.close_sync()


@settings(max_examples=30, deadline=None)
@given(st.binary(max_size=3000))
def test_loading_garbage_never_crashes(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    folder = tmp_path_factory.mktemp("leases")
    (folder / JOURNAL_NAME).write_bytes(data)
    store = LeaseStore(folder, fsync=False)
    assert all(0 <= x.address <= 0xFFFFFFFF for x in store)
    store.close_sync()


async def test_waiters_of_one_commit_are_released_in_chunks_in_order(tmp_path: Path) -> None:
    store = LeaseStore(tmp_path)
    ticks = 0
    running = True

    async def ticker() -> None:
        nonlocal ticks
        while running:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    seen: list[tuple[int, int]] = []
    for n in range(200):  # the first starts a commit; the other 199 share the next one
        store.bind(lease(n), lambda n=n: seen.append((n, ticks)))
    await store.flush()
    running = False
    await task
    await store.close()
    assert [n for n, _ in seen] == list(range(200))  # every ACK, in request order
    second = {tick for n, tick in seen if n >= 1}
    assert len(second) >= 199 // store.release_chunk  # spread over several loop turns
