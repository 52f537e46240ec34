"""Replay protection of the authenticated mode: the counters behind every sealed message.

A sealed message names its sender and its recipient and carries the sender's counter
(:mod:`smartinstall.wire.smi_auth`). A :class:`CounterBook` — one per endpoint: the director,
each emulated switch — keeps both sides of that:

* **Its own counter**, the one it seals with: an *epoch* in the high 32 bits, a sequence number
  in memory in the low 32 bits. Each start takes a new epoch, ``max(last epoch + 1, the clock's
  seconds since 1970)``, and makes it durable before the first message is sealed: one write per
  start (and per 2**32 messages), and a restart — or a crash at any instant — continues above
  every counter ever used. Because the epoch follows the clock, a sender that lost its memory
  (a new flash, a lost data directory) still starts above what it sent before.
* **The counters it accepted from each peer.** A message is accepted when its counter is above
  the peer's floor and not one of the last few accepted (``window``: concurrent connections may
  arrive out of order). The highest accepted is durable before the message is acted on, and
  after a restart every counter up to it is refused: a captured message is refused at once, and
  after any number of reloads or restarts.

Where a book keeps them is its :class:`CounterStore`: :class:`JournalCounterStore` (the
director: a file of its data directory, appended in batches off the event loop, compacted now
and then), the emulated switch's flash state (``switch.flash.FlashCounterStore``), or nothing
(:class:`MemoryCounterStore`: tests and tools; the epoch then still follows the clock).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import os
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Protocol

from smartinstall.ios.config import write_atomic
from smartinstall.wire.smi_auth import (
    PEER_ID_SIZE,
    U64_MAX,
    AuthError,
    PeerId,
    ReplayError,
    Unsealed,
    unseal,
)

log = logging.getLogger(__name__)

__all__ = [
    "CounterBook",
    "CounterRecord",
    "CounterStore",
    "JournalCounterStore",
    "MemoryCounterStore",
    "RepeatLimit",
    "open_sealed",
]

SEQUENCE_BITS: Final = 32  # the low bits of a counter: messages sealed in one epoch
EPOCH_MAX: Final = (1 << (64 - SEQUENCE_BITS)) - 1
WINDOW: Final = 8  # accepted counters remembered below a peer's highest (out-of-order arrivals)
MAX_PEERS: Final = 100_000
EVICT_AFTER: Final = 600.0  # seconds: a peer silent this long may make room for a new one


@dataclass
class CounterRecord:
    """What a store keeps: the last epoch of the book's own counter (every counter it used is
    below the next epoch) and, per peer identity, the highest counter accepted from it."""

    epoch: int = 0
    seen: dict[bytes, int] = field(default_factory=dict)


class CounterStore(Protocol):
    def load(self) -> CounterRecord:
        """What was kept (read once, when the book is made)."""
        ...

    async def save(self, epoch: int | None, seen: Mapping[bytes, int]) -> None:
        """Make durable a new epoch (``None``: unchanged) and the peers whose highest counter
        changed (0: forget the peer). Raises ``OSError`` when it cannot."""
        ...


class MemoryCounterStore:
    """Keeps nothing: counters still follow the clock, but a restart forgets the peers."""

    def load(self) -> CounterRecord:
        return CounterRecord()

    async def save(self, epoch: int | None, seen: Mapping[bytes, int]) -> None:
        return None


@dataclass
class _Peer:
    floor: int  # every counter up to this is refused
    recent: list[int]  # accepted counters above the floor, ascending, at most the window
    touched: float  # time.monotonic() of the last acceptance
    generation: int = 0  # the book's change that recorded the highest: durable before use

    @property
    def high(self) -> int:
        return self.recent[-1] if self.recent else self.floor


class CounterBook:
    """One endpoint's counters: the one it seals with, and those it accepted from its peers."""

    def __init__(
        self,
        store: CounterStore | None = None,
        *,
        window: int = WINDOW,
        capacity: int = MAX_PEERS,
        evict_after: float = EVICT_AFTER,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if window < 1 or capacity < 1:
            raise ValueError("window and capacity must be positive")
        self.store: CounterStore = MemoryCounterStore() if store is None else store
        self.window = window
        self.capacity = capacity
        self.evict_after = evict_after
        self.clock = clock
        record = self.store.load()
        self._last_epoch = min(record.epoch, EPOCH_MAX)  # the highest epoch used or asked for
        self._epoch = 0  # this run's epoch (0: none yet)
        self._sequence = 0
        self._epoch_generation = 0  # the change that recorded this run's epoch
        started = time.monotonic()
        self._peers: OrderedDict[bytes, _Peer] = OrderedDict(
            (key, _Peer(value, [], started)) for key, value in record.seen.items() if value > 0
        )
        self._pending_epoch: int | None = None
        self._pending_seen: dict[bytes, int] = {}
        self._generation = 0  # changes recorded in memory
        self._saved = 0  # changes durable
        self._writing: asyncio.Task[None] | None = None

    # --- sending ---------------------------------------------------------------------------

    async def next_counter(self) -> int:
        """The counter for the next message this endpoint seals: above every one it sealed
        before, in this run or an earlier one. Its epoch is durable before it is returned.
        Raises ``OSError`` when the store fails."""
        if self._epoch == 0 or self._sequence >= (1 << SEQUENCE_BITS) - 1:
            epoch = max(self._last_epoch + 1, int(self.clock()))
            if epoch > EPOCH_MAX:
                raise OSError("the counters of the authenticated mode are exhausted")
            self._epoch = self._last_epoch = epoch
            self._sequence = 0
            self._pending_epoch = epoch
            self._generation += 1
            self._epoch_generation = self._generation
        self._sequence += 1
        counter = (self._epoch << SEQUENCE_BITS) | self._sequence
        await self._flush(self._epoch_generation)
        return counter

    # --- receiving -------------------------------------------------------------------------

    def highest(self, sender: PeerId) -> int | None:
        """The highest counter accepted from ``sender`` (None: none known)."""
        peer = self._peers.get(sender.raw)
        return peer.high if peer is not None else None

    @property
    def peers(self) -> int:
        """How many peers' counters are kept."""
        return len(self._peers)

    async def accept(self, sender: PeerId, counter: int) -> None:
        """Accept ``counter`` from ``sender`` once, durably, or refuse it.

        Raises :class:`ReplayError` for a counter already passed, :class:`AuthError` when the
        table is full of recent peers, ``OSError`` when the store cannot record it (the message
        is then refused too: better a resend than a replay after a restart)."""
        key = sender.raw
        now = time.monotonic()
        peer = self._peers.get(key)
        if peer is None:
            self._make_room(now)
            peer = self._peers[key] = _Peer(0, [], now)
        if counter <= peer.floor or counter in peer.recent:
            raise ReplayError(
                f"replayed message: counter {counter} from {sender} was already passed "
                f"(highest accepted {peer.high})"
            )
        if counter > peer.high:
            self._pending_seen[key] = counter
            self._generation += 1
            peer.generation = self._generation
        bisect.insort(peer.recent, counter)
        if len(peer.recent) > self.window:
            peer.floor = peer.recent.pop(0)
        peer.touched = now
        self._peers.move_to_end(key)
        # a counter below the highest is safe once the highest is durable
        await self._flush(peer.generation)

    def _make_room(self, now: float) -> None:
        if len(self._peers) < self.capacity:
            return
        key, oldest = next(iter(self._peers.items()))
        if now - oldest.touched < self.evict_after:
            raise AuthError(f"counter table full ({self.capacity} recent peers); refused")
        del self._peers[key]
        self._pending_seen[key] = 0  # forgotten (its old messages are long stale)
        self._generation += 1

    # --- durability ------------------------------------------------------------------------

    async def _flush(self, generation: int) -> None:
        """Until every change up to ``generation`` is durable: one write at a time, each
        taking every change recorded before it starts (a group commit)."""
        while self._saved < generation:
            task = self._writing
            if task is None:
                task = self._writing = asyncio.get_running_loop().create_task(self._write())
                # a waiter that went away must not leave the error unread
                task.add_done_callback(lambda t: t.cancelled() or t.exception())
            await asyncio.shield(task)

    async def _write(self) -> None:
        epoch, seen, upto = self._pending_epoch, self._pending_seen, self._generation
        self._pending_epoch, self._pending_seen = None, {}
        try:
            await self.store.save(epoch, seen)
        except BaseException:
            if epoch is not None and self._pending_epoch is None:
                self._pending_epoch = epoch
            for key, value in seen.items():
                self._pending_seen.setdefault(key, value)
            raise
        finally:
            self._writing = None
        self._saved = max(self._saved, upto)


def open_sealed(
    data: bytes,
    key: bytes,
    recipient: PeerId | None,
    max_skew_ms: float,
    now_ms: int,
    expect: tuple[PeerId, int] | None = None,
) -> Unsealed:
    """Check a sealed frame as its receiver: the MAC, that ``recipient`` (the receiver) is the
    one it names, that its timestamp is within ``max_skew_ms`` of ``now_ms``, and for an answer
    that it comes from ``expect[0]`` with the counter ``expect[1]`` of the message it answers.

    Raises :class:`AuthError`; :class:`ReplayError` for an authentic message that is not for
    this receiver or not this exchange's (a capture, replayed). The counter of a message that
    is no answer is the caller's to accept (:meth:`CounterBook.accept`)."""
    unsealed = unseal(data, key)
    if recipient is None:
        raise AuthError("this endpoint has no identity for a message to name")
    if unsealed.recipient != recipient:
        raise ReplayError(f"message for {unsealed.recipient}, not for {recipient}")
    skew = unsealed.timestamp_ms - now_ms
    if abs(skew) > max_skew_ms:
        raise AuthError(f"timestamp is {skew / 1000:+.1f} s from local time, outside the window")
    if expect is not None and (unsealed.sender, unsealed.counter) != expect:
        raise ReplayError(
            f"answer from {unsealed.sender} to counter {unsealed.counter}, not from "
            f"{expect[0]} to counter {expect[1]}"
        )
    return unsealed


class RepeatLimit:
    """Lets one event per key through per ``interval`` seconds (a replay flood becomes a few
    system messages, not one per packet); remembers at most ``capacity`` keys."""

    def __init__(
        self,
        interval: float = 10.0,
        capacity: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = interval
        self.capacity = capacity
        self.clock = clock
        self.suppressed = 0
        self._last: OrderedDict[object, float] = OrderedDict()

    def allow(self, key: object) -> bool:
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            self.suppressed += 1
            return False
        self._last[key] = now
        self._last.move_to_end(key)
        while len(self._last) > self.capacity:
            self._last.popitem(last=False)
        return True


# ------------------------------------------------------------------------------ the journal

_MAGIC: Final = "smartinstall smi-counters 1"
_HEX_ID: Final = rf"[0-9a-f]{{{2 * PEER_ID_SIZE}}}"
_LINE = re.compile(rf"(epoch) ([0-9]{{1,20}})|(seen) ({_HEX_ID}) ([0-9]{{1,20}})")


class JournalCounterStore:
    """The director's counters: a text file in its data directory, one change a line::

        smartinstall smi-counters 1
        epoch 1795000000
        seen 0100187363420000000000000000000000 7709424639860686849

    Changes are appended and fsynced in batches from a worker thread (never on the event loop);
    when the file holds more than twice the lines it needs, it is rewritten atomically. A torn
    last line (a crash during an append) is skipped; an unreadable file is logged and the
    director starts from an empty table (counters then still follow the clock)."""

    def __init__(self, path: Path, *, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._epoch = 0
        self._table: dict[bytes, int] = {}
        self._lines = 0
        self._torn_at: int | None = None  # where a torn last line starts (cut before appending)

    def load(self) -> CounterRecord:
        try:
            with self.path.open("rb") as handle:
                data = handle.read(self.max_bytes + 1)
        except FileNotFoundError:
            return CounterRecord()
        except OSError as error:
            log.warning("%s unreadable (%s): Smart Install counters start afresh", self.path, error)
            return CounterRecord()
        if len(data) > self.max_bytes:
            log.warning("%s larger than %d bytes: counters start afresh", self.path, self.max_bytes)
            self._lines = self.max_bytes  # rewritten at the first save
            return CounterRecord()
        lines = data.decode("ascii", errors="replace").split("\n")
        if data and not data.endswith(b"\n"):
            lines.pop()  # torn: written while a crash came, so never acted on
            self._torn_at = data.rfind(b"\n") + 1
        if not lines or lines[0] != _MAGIC:
            if data:
                log.warning("%s is not a counter file: counters start afresh", self.path)
                self._lines = self.max_bytes
            return CounterRecord()
        skipped = 0
        for line in lines[1:]:
            match = _LINE.fullmatch(line)
            if match is None:
                skipped += bool(line)
                continue
            self._lines += 1
            if match.group(1):
                self._epoch = min(max(self._epoch, int(match.group(2))), U64_MAX)
                continue
            key, value = bytes.fromhex(match.group(4)), min(int(match.group(5)), U64_MAX)
            if value == 0:
                self._table.pop(key, None)
            else:
                self._table[key] = max(self._table.get(key, 0), value)
        if skipped:
            log.warning("%s: %d malformed lines skipped", self.path, skipped)
        return CounterRecord(self._epoch, dict(self._table))

    async def save(self, epoch: int | None, seen: Mapping[bytes, int]) -> None:
        lines: list[str] = []
        if epoch is not None:
            self._epoch = max(self._epoch, epoch)
            lines.append(f"epoch {epoch}")
        for key, value in seen.items():
            if value == 0:
                self._table.pop(key, None)
            else:
                self._table[key] = max(self._table.get(key, 0), value)
            lines.append(f"seen {key.hex()} {value}")
        if not lines:
            return
        self._lines += len(lines)
        if self._lines > 2 * len(self._table) + 1024:
            table = dict(self._table)
            await asyncio.to_thread(self._rewrite, self._epoch, table)
            self._lines = 1 + len(table)
            self._torn_at = None
        else:
            await asyncio.to_thread(self._append, lines)

    def _append(self, lines: list[str]) -> None:
        if self._torn_at is not None:
            os.truncate(self.path, self._torn_at)
            self._torn_at = None
        try:
            fresh = self.path.stat().st_size == 0
        except FileNotFoundError:
            fresh = True
        text = "".join(f"{line}\n" for line in lines)
        if fresh:
            text = f"{_MAGIC}\n{text}"
        with self.path.open("a", encoding="ascii") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if fresh:
            with contextlib.suppress(OSError):
                directory = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(directory)
                finally:
                    os.close(directory)

    def _rewrite(self, epoch: int, table: dict[bytes, int]) -> None:
        lines = [_MAGIC, f"epoch {epoch}", *(f"seen {k.hex()} {v}" for k, v in table.items())]
        write_atomic(self.path, ("\n".join(lines) + "\n").encode("ascii"))
