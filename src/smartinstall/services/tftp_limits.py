"""How the TFTP server shares itself out under attack: transfers per source, file
descriptors, and a log that says a flood once with its count.

* `SlotTable` counts the running transfers (and reads held for the owner's answer) of each
  source address. While the server has room anyone may use it; once it is full, a newcomer
  from a source holding at least two fewer transfers than the busiest source takes the place
  of one of that source's transfers (one nobody ever answered first), and when no source
  holds more, a transfer nobody answered gives way to a newcomer from a source holding
  fewer. A source over its share is refused ("Server busy"); one flooding source cannot keep
  others out.
* The file-descriptor helpers raise the soft limit where the hard limit allows, and tell how
  many transfers fit in what is left once the control plane's own headroom is set aside.
  Running out anyway (EMFILE, ENFILE) is an overload, answered "Server busy", never a failure
  of anything else.
* `RateLog` says the first of a kind of event at once, then once per window how many more
  came: a flood of refusals or errors costs a few log lines, never one per packet.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import resource
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice

Address = tuple[str, int]

# errno values that mean "out of resources" (descriptors, buffers, memory): an overload
OVERLOAD_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
FD_LIMIT_WANTED = 65536  # the soft limit asked for at start, when the hard limit allows
FDS_PER_TRANSFER = 2  # its socket and (a download) the file, or (an upload) the temporary file
WORKER_FDS = 64  # a worker's own descriptors and headroom (refusals, its loop, its channel)
_SCAN = 64  # transfers looked at to choose one to end

log = logging.getLogger("smartinstall.services.tftp")


def is_overload(exc: BaseException) -> bool:
    """True for an OSError that says the process or system ran out of resources."""
    return isinstance(exc, OSError) and exc.errno in OVERLOAD_ERRNOS


# -- file descriptors -----------------------------------------------------------------------


def raise_fd_limit(wanted: int = FD_LIMIT_WANTED) -> tuple[int, int]:
    """Raise the soft RLIMIT_NOFILE towards `wanted`, as far as the hard limit allows:
    (soft, hard) afterwards (RLIM_INFINITY counts as `wanted`)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    ceiling = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
    if soft != resource.RLIM_INFINITY and soft < ceiling:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, hard))
            log.info("open files limit raised from %d to %d", soft, ceiling)
            soft = ceiling
    return _finite(soft, wanted), _finite(hard, wanted)


def _finite(value: int, default: int) -> int:
    return default if value == resource.RLIM_INFINITY else value


def open_fds() -> int:
    """How many descriptors this process has open (a few dozen at start)."""
    try:
        return len(os.listdir("/proc/self/fd")) - 1  # less the one listdir used
    except OSError:
        return 64  # no /proc: a guess on the safe side


def fd_budget(soft: int, in_use: int, reserve: int) -> int:
    """Transfers that fit in `soft` descriptors once `in_use` and `reserve` are set aside."""
    return max(0, (soft - in_use - reserve) // FDS_PER_TRANSFER)


def control_reserve(soft: int) -> int:
    """Descriptors kept for the control plane when transfers run on its own loop: DHCP,
    Smart Install connections, the CLI, the database, the log (a quarter of the limit,
    between 32 and 512)."""
    return max(32, min(512, soft // 4))


def worker_capacity(hard: int) -> int:
    """Transfers one worker process can hold: it raises its soft limit to the hard one."""
    return fd_budget(min(hard, FD_LIMIT_WANTED), 0, WORKER_FDS)


# -- transfers per source -------------------------------------------------------------------


@dataclass(slots=True)
class Slot:
    peer: Address
    unanswered: bool = False  # its first retransmission is due and the peer never answered


class SlotTable:
    """The running transfers by source address (see the module docstring)."""

    def __init__(self) -> None:
        self._slots: dict[Address, Slot] = {}
        self._sources: dict[str, OrderedDict[Address, Slot]] = {}  # oldest first
        self._by_count: dict[int, dict[str, None]] = {}  # count -> sources holding that many
        self._top = 0  # the highest count
        self._unanswered: OrderedDict[Address, None] = OrderedDict()  # oldest first

    def __len__(self) -> int:
        return len(self._slots)

    def __contains__(self, peer: object) -> bool:
        return peer in self._slots

    def get(self, peer: Address) -> Slot | None:
        return self._slots.get(peer)

    def count(self, source: str) -> int:
        slots = self._sources.get(source)
        return len(slots) if slots is not None else 0

    @property
    def busiest(self) -> int:
        """The most transfers any one source holds."""
        return self._top

    def sources(self) -> int:
        return len(self._sources)

    def add(self, peer: Address) -> None:
        if peer in self._slots:
            return
        slot = Slot(peer)
        self._slots[peer] = slot
        source = peer[0]
        held = self._sources.setdefault(source, OrderedDict())
        self._move(source, len(held), len(held) + 1)
        held[peer] = slot

    def remove(self, peer: Address) -> None:
        slot = self._slots.pop(peer, None)
        if slot is None:
            return
        self._unanswered.pop(peer, None)
        source = peer[0]
        held = self._sources[source]
        del held[peer]
        self._move(source, len(held) + 1, len(held))
        if not held:
            del self._sources[source]

    def set_unanswered(self, peer: Address, unanswered: bool) -> None:
        slot = self._slots.get(peer)
        if slot is None or slot.unanswered == unanswered:
            return
        slot.unanswered = unanswered
        if unanswered:
            self._unanswered[peer] = None
        else:
            self._unanswered.pop(peer, None)

    def unanswered(self) -> int:
        return len(self._unanswered)

    def _move(self, source: str, old: int, new: int) -> None:
        if old:
            bucket = self._by_count[old]
            del bucket[source]
            if not bucket:
                del self._by_count[old]
        if new:
            self._by_count.setdefault(new, {})[source] = None
        if new > self._top:
            self._top = new
        while self._top and self._top not in self._by_count:
            self._top -= 1

    def victim(self, source: str) -> Address | None:
        """The transfer to end so that a newcomer from `source` gets a place in a full
        server, or None when `source` already holds its share.

        The busiest source, if it holds at least two more than the newcomer, gives up one of
        its transfers (one nobody answered, the oldest, else its newest: it has done the
        least work). Otherwise only a transfer nobody answered gives way (the first found
        unanswered), and only from another source holding more than the newcomer."""
        mine = self.count(source)
        if mine + 1 < self._top:
            hog = next(iter(self._by_count[self._top]))
            return self._choose(self._sources[hog])
        for peer in islice(self._unanswered, _SCAN):
            if self.count(peer[0]) > mine and peer[0] != source:
                return peer
        return None

    @staticmethod
    def _choose(held: OrderedDict[Address, Slot]) -> Address:
        for slot in islice(held.values(), _SCAN):
            if slot.unanswered:
                return slot.peer
        return next(reversed(held))


# -- a log that counts ----------------------------------------------------------------------


@dataclass(slots=True)
class _Count:
    level: int
    summary: str
    count: int = 0


class RateLog:
    """Logs the first event of each key at once; further ones are counted and said once per
    `window` seconds as "<summary>: N more in the last W s". A key quiet for a whole window
    is forgotten (its next event is logged at once again). At most `keys` keys are kept;
    beyond that, events are counted under one "other" key."""

    def __init__(
        self,
        logger: logging.Logger,
        call_later: Callable[[float, Callable[[], None]], object],
        window: float = 10.0,
        keys: int = 256,
    ) -> None:
        self.logger = logger
        self.call_later = call_later
        self.window = window
        self.keys = keys
        self._counts: dict[object, _Count] = {}
        self._armed = False
        self.total = 0  # events noted since start (logged or counted)

    def note(
        self,
        key: object,
        level: int,
        summary: str,
        first: str | None = None,
        exc_info: BaseException | None = None,
    ) -> None:
        """One event: `first` (default `summary`) is logged if it is the first of its key,
        with `exc_info`'s traceback if given; otherwise it is counted under `summary`."""
        self.total += 1
        entry = self._counts.get(key)
        if entry is None and len(self._counts) >= self.keys:
            key, summary, first, exc_info = "*", "tftp: other repeated events", None, None
            entry = self._counts.get(key)
        if entry is not None:
            entry.count += 1
            return
        self._counts[key] = _Count(level, summary)
        self.logger.log(level, "%s", first if first is not None else summary, exc_info=exc_info)
        if not self._armed:
            self._armed = True
            self.call_later(self.window, self.flush)

    def flush(self) -> None:
        """Say the counts of the window that ended; forget the keys that were quiet."""
        self._armed = False
        quiet = []
        for key, entry in self._counts.items():
            if entry.count:
                self.logger.log(
                    entry.level,
                    "%s: %d more in the last %g s",
                    entry.summary,
                    entry.count,
                    self.window,
                )
                entry.count = 0
            else:
                quiet.append(key)
        for key in quiet:
            del self._counts[key]
        if self._counts:
            self._armed = True
            self.call_later(self.window, self.flush)
