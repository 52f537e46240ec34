"""The counters of the authenticated mode (services/smi_replay.py): an endpoint's own counter
never repeats, across restarts; a peer's counter is accepted once, durably before it is used,
and never again after any restart; the director's journal and the switch's flash keep them and
read any damaged file without failing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartinstall.services.smi_replay import (
    SEQUENCE_BITS,
    CounterBook,
    CounterRecord,
    JournalCounterStore,
    RepeatLimit,
)
from smartinstall.switch.flash import MAX_SMI_PEERS, Flash, FlashCounterStore, FlashState
from smartinstall.wire.smi_auth import AuthError, PeerId, ReplayError

DIRECTOR = PeerId.director("192.0.2.1")
CLIENT = PeerId.client("0018.7363.4200")
PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class DictStore:
    """A durable store in a dict; ``gate`` (when set) holds every save until it opens."""

    def __init__(self) -> None:
        self.record = CounterRecord()
        self.saves = 0
        self.gate: asyncio.Event | None = None
        self.fail = False

    def load(self) -> CounterRecord:
        return CounterRecord(self.record.epoch, dict(self.record.seen))

    async def save(self, epoch: int | None, seen: Mapping[bytes, int]) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise OSError("disk full")
        self.saves += 1
        if epoch is not None:
            self.record.epoch = max(self.record.epoch, epoch)
        for key, value in seen.items():
            if value == 0:
                self.record.seen.pop(key, None)
            else:
                self.record.seen[key] = max(self.record.seen.get(key, 0), value)


def epoch_of(counter: int) -> int:
    return counter >> SEQUENCE_BITS


# ------------------------------------------------------------------------------- sending


async def test_own_counter_grows_and_a_restart_continues_above() -> None:
    store = DictStore()
    book = CounterBook(store, clock=lambda: 1000.0)
    counters = [await book.next_counter() for _ in range(5)]
    assert counters == sorted(set(counters))
    assert epoch_of(counters[0]) == 1000 and store.record.epoch == 1000
    assert store.saves == 1  # one durable write per run, not per message
    # restarts within the same second, even with the clock turned back: a new epoch each time
    for clock in (1000.0, 5.0):
        book = CounterBook(store, clock=lambda c=clock: c)  # type: ignore[misc]
        first = await book.next_counter()
        assert first > counters[-1]
        counters.append(first)
    # the clock ahead of the last epoch: the epoch follows it (a sender that lost its memory
    # still starts above what it sent)
    assert epoch_of(await CounterBook(DictStore(), clock=lambda: 2000.0).next_counter()) == 2000


async def test_concurrent_first_messages_share_one_durable_epoch() -> None:
    store = DictStore()
    store.gate = asyncio.Event()
    book = CounterBook(store, clock=lambda: 1000.0)
    pending = [asyncio.ensure_future(book.next_counter()) for _ in range(10)]
    await asyncio.sleep(0)
    assert not any(p.done() for p in pending)  # nothing is sealed before the epoch is durable
    store.gate.set()
    counters = await asyncio.gather(*pending)
    assert len(set(counters)) == 10 and store.saves == 1


async def test_a_store_failure_refuses_the_counter_then_recovers() -> None:
    store = DictStore()
    store.fail = True
    book = CounterBook(store, clock=lambda: 1000.0)
    with pytest.raises(OSError):
        await book.next_counter()
    store.fail = False
    counter = await book.next_counter()
    assert store.record.epoch == epoch_of(counter)


# ------------------------------------------------------------------------------ receiving


async def test_a_counter_is_accepted_once_and_never_after_a_restart() -> None:
    store = DictStore()
    book = CounterBook(store)
    await book.accept(DIRECTOR, 100)
    assert store.record.seen == {DIRECTOR.raw: 100}  # durable before accept returned
    with pytest.raises(ReplayError, match="already passed"):
        await book.accept(DIRECTOR, 100)
    await book.accept(CLIENT, 100)  # another sender's counters are its own
    await book.accept(DIRECTOR, 103)
    await book.accept(DIRECTOR, 101)  # out of order, inside the window
    with pytest.raises(ReplayError):
        await book.accept(DIRECTOR, 101)
    again = CounterBook(store)
    assert again.highest(DIRECTOR) == 103
    for counter in (100, 101, 102, 103):
        with pytest.raises(ReplayError):
            await again.accept(DIRECTOR, counter)
    await again.accept(DIRECTOR, 104)


async def test_the_window_slides() -> None:
    book = CounterBook(window=3)
    for counter in (10, 12, 14, 16):
        await book.accept(DIRECTOR, counter)
    with pytest.raises(ReplayError):  # below the window: 10 fell out, the floor is 10
        await book.accept(DIRECTOR, 9)
    await book.accept(DIRECTOR, 13)  # in the window, never seen
    with pytest.raises(ReplayError):
        await book.accept(DIRECTOR, 11)  # the window moved past it


async def test_a_lower_counter_waits_for_the_highest_to_be_durable() -> None:
    store = DictStore()
    book = CounterBook(store)
    store.gate = asyncio.Event()
    high = asyncio.ensure_future(book.accept(DIRECTOR, 50))
    low = asyncio.ensure_future(book.accept(DIRECTOR, 49))
    await asyncio.sleep(0.01)
    assert not high.done() and not low.done()
    store.gate.set()
    await asyncio.gather(high, low)
    assert store.record.seen[DIRECTOR.raw] == 50


async def test_a_failed_write_refuses_the_message() -> None:
    store = DictStore()
    book = CounterBook(store)
    store.fail = True
    with pytest.raises(OSError):
        await book.accept(DIRECTOR, 7)
    store.fail = False
    with pytest.raises(ReplayError):  # remembered in memory: never taken twice
        await book.accept(DIRECTOR, 7)
    await book.accept(DIRECTOR, 8)
    assert store.record.seen[DIRECTOR.raw] == 8


async def test_a_full_table_refuses_new_peers_until_old_ones_are_stale() -> None:
    store = DictStore()
    book = CounterBook(store, capacity=2)
    await book.accept(DIRECTOR, 1)
    await book.accept(CLIENT, 1)
    other = PeerId.client("0018.7363.4201")
    with pytest.raises(AuthError, match="full"):
        await book.accept(other, 1)
    book.evict_after = 0.0  # the oldest is now stale: it makes room and is forgotten
    await book.accept(other, 1)
    assert DIRECTOR.raw not in store.record.seen and book.peers == 2


@PROPERTY
@given(
    st.lists(
        st.one_of(st.integers(1, 60), st.just("restart")),
        max_size=80,
    )
)
def test_no_counter_is_ever_accepted_twice(ops: list[int | str]) -> None:
    async def run() -> None:
        store = DictStore()
        book = CounterBook(store, window=4)
        accepted: list[int] = []
        for op in ops:
            if op == "restart":
                book = CounterBook(store, window=4)
                continue
            assert isinstance(op, int)
            fresh = op > max(accepted, default=0)
            try:
                await book.accept(DIRECTOR, op)
            except ReplayError:
                assert not fresh, f"{op} above everything accepted was refused"
                continue
            assert op not in accepted
            accepted.append(op)

    asyncio.run(run())


def test_repeat_limit() -> None:
    now = [0.0]
    limit = RepeatLimit(interval=10, capacity=2, clock=lambda: now[0])
    assert limit.allow("a") and not limit.allow("a") and limit.allow("b")
    now[0] = 10.0
    assert limit.allow("a") and limit.suppressed == 1


# -------------------------------------------------------------------------------- journal


async def test_journal_round_trip_torn_line_and_compaction(tmp_path: Path) -> None:
    path = tmp_path / "smi-counters"
    store = JournalCounterStore(path)
    assert store.load() == CounterRecord()
    await store.save(1795000000, {CLIENT.raw: 5, DIRECTOR.raw: 9})
    await store.save(None, {CLIENT.raw: 6, DIRECTOR.raw: 0})
    assert JournalCounterStore(path).load() == CounterRecord(1795000000, {CLIENT.raw: 6})
    # a crash in the middle of an append: the torn line is skipped, the next starts afresh
    with path.open("a") as handle:
        handle.write(f"seen {CLIENT.raw.hex()} 99")
    store = JournalCounterStore(path)
    assert store.load() == CounterRecord(1795000000, {CLIENT.raw: 6})
    await store.save(None, {CLIENT.raw: 7})
    assert JournalCounterStore(path).load() == CounterRecord(1795000000, {CLIENT.raw: 7})
    # many changes: the file is rewritten with one line per peer
    for value in range(8, 1300):
        await store.save(None, {CLIENT.raw: value})
    lines = path.read_text().splitlines()
    assert len(lines) < 1100
    assert JournalCounterStore(path).load() == CounterRecord(1795000000, {CLIENT.raw: 1299})


async def test_journal_that_is_no_journal_starts_afresh(tmp_path: Path) -> None:
    path = tmp_path / "smi-counters"
    path.write_bytes(b"\x00\xffnot a journal\n")
    store = JournalCounterStore(path)
    assert store.load() == CounterRecord()
    await store.save(7, {})
    assert JournalCounterStore(path).load() == CounterRecord(7, {})
    path.write_bytes(b"")  # empty: the header is written with the first change
    store = JournalCounterStore(path)
    store.load()
    await store.save(8, {})
    assert JournalCounterStore(path).load() == CounterRecord(8, {})
    small = JournalCounterStore(path, max_bytes=10)
    assert small.load() == CounterRecord()  # too large to read: afresh, never unbounded


@PROPERTY
@given(st.binary(max_size=600), st.lists(st.sampled_from(["epoch 5", "seen ", "\n"]), max_size=6))
def test_journal_reads_any_bytes(
    tmp_path_factory: pytest.TempPathFactory, junk: bytes, parts: list[str]
) -> None:
    path = tmp_path_factory.mktemp("journal") / "smi-counters"
    path.write_bytes(b"smartinstall smi-counters 1\n" + "".join(parts).encode() + junk)
    record = JournalCounterStore(path).load()
    assert all(len(k) == 17 and 0 < v < 1 << 64 for k, v in record.seen.items())
    assert 0 <= record.epoch < 1 << 64


# ---------------------------------------------------------------------------------- flash


async def test_flash_keeps_the_switch_counters_across_reloads(tmp_path: Path) -> None:
    flash = Flash(tmp_path)
    state = [flash.load_state()]
    book = CounterBook(FlashCounterStore(flash, lambda: state[0]), capacity=MAX_SMI_PEERS)
    sent = await book.next_counter()
    await book.accept(DIRECTOR, 77)
    state[0] = flash.load_state()  # a reload: memory gone, flash read again
    assert state[0].smi_epoch == epoch_of(sent)
    assert state[0].smi_seen == {DIRECTOR.raw.hex(): 77}
    book = CounterBook(FlashCounterStore(flash, lambda: state[0]), capacity=MAX_SMI_PEERS)
    with pytest.raises(ReplayError):
        await book.accept(DIRECTOR, 77)
    assert await book.next_counter() > sent


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=40), inner, max_size=4)
    ),
    max_leaves=20,
)


@PROPERTY
@given(
    st.dictionaries(
        st.sampled_from(["smi_epoch", "smi_seen", "images", "reloads", "ip"]), _JSON, max_size=5
    ),
    st.dictionaries(st.text(max_size=40), _JSON, max_size=20),
)
def test_flash_state_reads_any_json(data: dict[str, object], seen: dict[str, object]) -> None:
    data = {**data, "smi_seen": {**seen, "04c0000201000000000000000000000000": 5}}
    state = FlashState.from_json(json.loads(json.dumps(data)))
    assert 0 <= state.smi_epoch < 1 << 64
    assert len(state.smi_seen) <= MAX_SMI_PEERS
    assert all(len(k) == 34 and 0 < v < 1 << 64 for k, v in state.smi_seen.items())
