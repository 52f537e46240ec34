"""The TFTP server's shares: transfers per source, the log that counts, and the host's
address check when descriptors run out."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartinstall.services.tftp_channel import (
    CancelJob,
    JobUnanswered,
    ProtocolError,
    decode,
    encode,
)
from smartinstall.services.tftp_limits import (
    FDS_PER_TRANSFER,
    RateLog,
    SlotTable,
    control_reserve,
    fd_budget,
    is_overload,
    worker_capacity,
)


def fill(
    table: SlotTable, source: str, count: int, first_port: int = 1000
) -> list[tuple[str, int]]:
    peers = [(source, first_port + i) for i in range(count)]
    for peer in peers:
        table.add(peer)
    return peers


def test_the_busiest_source_gives_way_to_a_newcomer() -> None:
    table = SlotTable()
    flood = fill(table, "10.0.0.66", 10)
    assert len(table) == 10 and table.busiest == 10 and table.sources() == 1
    # nobody answered yet: its newest transfer goes (the least work lost)
    assert table.victim("10.0.0.77") == flood[-1]
    # its transfers nobody answered go first, the oldest of them
    table.set_unanswered(flood[3], True)
    table.set_unanswered(flood[5], True)
    assert table.victim("10.0.0.77") == flood[3]
    # the flooding source itself never takes a place from anyone
    assert table.victim("10.0.0.66") is None


def test_sources_holding_their_share_are_left_alone() -> None:
    table = SlotTable()
    for i in range(4):
        fill(table, f"10.0.1.{i}", 2)
    fill(table, "10.0.2.1", 1)
    # a newcomer with none takes a place from a source holding two; one holding one may not
    assert table.victim("10.0.2.2") == ("10.0.1.0", 1001)
    assert table.victim("10.0.2.1") is None
    # ... unless a transfer nobody answered holds it
    table.set_unanswered(("10.0.1.2", 1000), True)
    assert table.victim("10.0.2.1") == ("10.0.1.2", 1000)
    assert table.victim("10.0.1.2") is None  # never its own
    table.set_unanswered(("10.0.1.2", 1000), False)  # answered after all
    assert table.victim("10.0.2.1") is None


def test_when_everyone_holds_one_only_the_unanswered_give_way() -> None:
    table = SlotTable()
    for i in range(8):
        fill(table, f"10.0.3.{i}", 1)
    assert table.victim("10.0.4.1") is None
    table.set_unanswered(("10.0.3.5", 1000), True)
    table.set_unanswered(("10.0.3.2", 1000), True)
    assert table.victim("10.0.4.1") == ("10.0.3.5", 1000)  # the first marked
    table.remove(("10.0.3.5", 1000))
    assert table.victim("10.0.4.1") == ("10.0.3.2", 1000)
    assert table.victim("10.0.3.0") is None  # it would hold more than the one giving way


def test_counts_follow_additions_and_removals() -> None:
    table = SlotTable()
    a = fill(table, "10.0.0.1", 3)
    b = fill(table, "10.0.0.2", 5)
    assert table.busiest == 5
    for peer in b[:4]:
        table.remove(peer)
    assert table.busiest == 3 and table.count("10.0.0.2") == 1
    for peer in a:
        table.remove(peer)
    table.remove(a[0])  # twice: nothing happens
    assert table.busiest == 1 and len(table) == 1 and table.sources() == 1
    table.remove(b[4])
    assert table.busiest == 0 and len(table) == 0 and table.sources() == 0
    assert table.unanswered() == 0


@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 5), st.integers(0, 7)), max_size=200))
@settings(max_examples=200)
def test_the_table_always_agrees_with_a_plain_count(ops: list[tuple[int, int, int]]) -> None:
    table = SlotTable()
    held: set[tuple[str, int]] = set()
    for action, source, port in ops:
        peer = (f"10.0.0.{source}", port)
        if action == 0:
            table.add(peer)
            held.add(peer)
        elif action == 1:
            table.remove(peer)
            held.discard(peer)
        else:
            table.set_unanswered(peer, True)  # ignored unless running
        counts = {s: sum(1 for p in held if p[0] == s) for s in {p[0] for p in held}}
        assert len(table) == len(held)
        assert table.busiest == max(counts.values(), default=0)
        assert all(table.count(s) == n for s, n in counts.items())
        for newcomer in ("10.0.0.0", "10.0.0.9"):
            victim = table.victim(newcomer)
            if victim is not None:  # only ever from a source holding more than the newcomer
                assert victim in held and victim[0] != newcomer
                assert counts[victim[0]] > table.count(newcomer)
            else:  # and only when no source holds two more than it would
                assert table.busiest <= table.count(newcomer) + 1


class Timers:
    def __init__(self) -> None:
        self.pending: list[Callable[[], None]] = []

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        assert delay > 0
        self.pending.append(callback)

    def fire(self) -> None:
        due, self.pending = self.pending, []
        for callback in due:
            callback()


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[int, str, bool]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.levelno, record.getMessage(), record.exc_info is not None))


@pytest.fixture
def lines() -> Iterator[Lines]:
    handler = Lines()
    logger = logging.getLogger("tests.tftp_limits")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)


def test_a_flood_is_said_once_then_counted(lines: Lines) -> None:
    timers = Timers()
    notes = RateLog(logging.getLogger("tests.tftp_limits"), timers.call_later, window=10)
    try:
        raise OSError(24, "Too many open files")
    except OSError as exc:
        error = exc
    for i in range(1100):
        notes.note(("busy", "10.0.0.66"), logging.WARNING, "10.0.0.66 refused", f"first {i}")
        notes.note("failure", logging.ERROR, "failures", "failed", error)
    assert lines.lines == [
        (logging.WARNING, "first 0", False),
        (logging.ERROR, "failed", True),  # one traceback, not 1,100
    ]
    assert len(timers.pending) == 1
    timers.fire()
    assert lines.lines[2:] == [
        (logging.WARNING, "10.0.0.66 refused: 1099 more in the last 10 s", False),
        (logging.ERROR, "failures: 1099 more in the last 10 s", False),
    ]
    timers.fire()  # a quiet window: nothing said, the keys forgotten
    assert len(lines.lines) == 4 and not timers.pending
    notes.note(("busy", "10.0.0.66"), logging.WARNING, "10.0.0.66 refused", "again")
    assert lines.lines[-1] == (logging.WARNING, "again", False)
    assert notes.total == 2201


def test_too_many_keys_are_counted_together(lines: Lines) -> None:
    timers = Timers()
    notes = RateLog(logging.getLogger("tests.tftp_limits"), timers.call_later, keys=4)
    for i in range(1000):
        notes.note(("bad", i), logging.INFO, f"bad {i}")
    assert len(lines.lines) == 5  # four keys, then "other" once
    timers.fire()
    assert lines.lines[-1][1] == "tftp: other repeated events: 995 more in the last 10 s"


def test_descriptor_budgets() -> None:
    assert fd_budget(1024, 40, control_reserve(1024)) == (1024 - 40 - 256) // FDS_PER_TRANSFER
    assert fd_budget(64, 40, 32) == 0
    assert control_reserve(256) == 64 and control_reserve(65536) == 512
    assert worker_capacity(256) == (256 - 64) // 2
    assert worker_capacity(1 << 20) == (65536 - 64) // 2
    assert is_overload(OSError(24, "Too many open files"))
    assert is_overload(OSError(23, "Too many open files in system"))
    assert not is_overload(OSError(13, "Permission denied"))
    assert not is_overload(ValueError("24"))


@given(st.integers(0, 2**40), st.booleans())
def test_new_channel_messages_round_trip(transfer_id: int, flag: bool) -> None:
    assert decode(encode(CancelJob(transfer_id))) == CancelJob(transfer_id)
    assert decode(encode(JobUnanswered(transfer_id, flag))) == JobUnanswered(transfer_id, flag)


_json = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)


@given(st.sampled_from(["cancel", "unanswered"]), st.lists(_json | st.lists(_json), max_size=4))
@settings(max_examples=300)
def test_new_channel_messages_refuse_what_they_do_not_expect(
    tag: str, fields: list[object]
) -> None:
    try:
        message = decode(json.dumps([tag, *fields]).encode())
    except ProtocolError:
        return
    assert isinstance(message, CancelJob | JobUnanswered)
    assert decode(encode(message)) == message


_CHECK = textwrap.dedent(
    """
    import logging, os, resource, sys
    from smartinstall import hostaddr
    logging.basicConfig(level=logging.WARNING, stream=sys.stdout, format="%(message)s")
    assert hostaddr.host_owns_address("127.0.0.1")
    assert not hostaddr.host_owns_address("192.0.2.1")
    # no descriptor left: the one kept in reserve answers
    resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) - 1, 4096))
    try:
        os.open(os.devnull, os.O_RDONLY)
    except OSError as exc:
        print("exhausted:", exc.strerror)
    print("reserve:", hostaddr.host_owns_address("127.0.0.1"),
          hostaddr.host_owns_address("192.0.2.1"), hostaddr.host_owns_address("127.5.6.7"))
    # and without the reserve: the last answer stands, an address never seen is not claimed
    os.close(hostaddr._spare)
    hostaddr._spare = None
    taken = os.open(os.devnull, os.O_RDONLY)  # its place taken by someone else
    print("last:", hostaddr.host_owns_address("127.0.0.1"),
          hostaddr.host_owns_address("192.0.2.1"), hostaddr.host_owns_address("127.9.9.9"))
    """
)


def test_out_of_descriptors_the_address_is_not_lost() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _CHECK], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert out[0] == "exhausted: Too many open files"
    assert out[1] == "reserve: True False True"
    assert out[2].startswith("cannot tell whether this host owns 127.0.0.1 (Too many open files)")
    assert out[2].endswith("the last answer stands (yes)")
    assert out[3] == "last: True False False"
    assert len(out) == 4  # warned once, not once per check
