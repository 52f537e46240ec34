"""The store writer: one thread that owns the store and group-commits change records.

The director's state owner hands every change record to :meth:`StoreWriter.submit` (on the
event loop; it only appends to a list). The writer thread takes everything pending, coalesces
it (the last record of each key wins) and applies it in one transaction. It waits up to
``commit_delay`` after the first pending change so that a burst becomes one commit; a handler
that must not answer before its change is durable — an SMI report acknowledged, a backup
recorded — awaits :meth:`StoreWriter.flush`, which commits at once and returns when every
change submitted before the call is committed (or raises :class:`StoreError`).

The event loop never runs SQL: opening (with migrations), loading and every commit run on the
writer's thread. A failing commit (disk full, database gone) never stops the thread: it is
logged once with its reason, counted, and retried with a bounded back-off (at most
``RETRY_DELAYS[-1]`` apart, sooner when someone awaits a flush, never more often than
``RETRY_DELAYS[0]``); nothing pending is dropped, and flush waiters learn of the failure. The
owner hears of the trouble through ``on_trouble`` (on the loop): when commits start failing,
every ``TROUBLE_REPEAT`` seconds while they go on failing (with the count), and once they
succeed again — the director makes a system message of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from smartinstall.store.port import Change, Snapshot, Store, StoreError, StoreStats, coalesce

log = logging.getLogger(__name__)

COMMIT_DELAY = 1.0  # seconds a change may wait for others before it is committed
MAX_BATCH = 5000  # changes that make a commit start at once
RETRY_DELAYS = (0.25, 0.5, 1.0, 2.0, 5.0)  # a failing store is tried again this often
TROUBLE_REPEAT = 60.0  # seconds between two reports of the same lasting failure
SQLITE_FULL = 13  # "database or disk is full"
PG_DISK_FULL = "53100"  # PostgreSQL's disk_full
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


@dataclass(frozen=True)
class StoreTrouble:
    """What the writer tells its owner about failing commits (see the module docstring)."""

    failing: bool  # False: commits succeed again
    reason: str  # one line: why the last commit failed
    code: int  # the system's or the database's error number (0 when there is none)
    disk_full: bool  # failed for want of space: it succeeds once space returns
    failures: int  # failed commits since the trouble began


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error and what caused it (the driver's own error under SQLAlchemy's), a few deep."""
    current: BaseException | None = error
    for _ in range(8):  # a chain of causes is short; a cycle must not hold the writer
        if current is None:
            return
        yield current
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__


def no_space(error: BaseException) -> int:
    """The error number when ``error`` (or what caused it) says the disk or the database is
    full — ENOSPC, EDQUOT, EFBIG, SQLite's SQLITE_FULL, PostgreSQL's disk_full — else 0."""
    for cause in _causes(error):
        if isinstance(cause, OSError) and cause.errno in _NO_SPACE:
            return cause.errno
        if getattr(cause, "sqlite_errorcode", None) == SQLITE_FULL:
            return SQLITE_FULL
        if getattr(cause, "sqlstate", None) == PG_DISK_FULL:
            return errno.ENOSPC
    return 0


@dataclass(frozen=True)
class WriterStats:
    """The writer's counters, as ``show vstack internal`` reports them."""

    submitted: int
    committed: int
    pending: int
    commits: int
    records_written: int
    failures: int
    last_error: str
    last_commit_ms: float
    max_commit_ms: float
    store: StoreStats


class StoreWriter:
    """Runs the store made by ``open_store`` on its own thread (see the module docstring)."""

    def __init__(
        self,
        open_store: Callable[[], Store],
        *,
        commit_delay: float = COMMIT_DELAY,
        max_batch: int = MAX_BATCH,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
    ) -> None:
        self._open_store = open_store
        self.commit_delay = commit_delay
        self.max_batch = max_batch
        self._retry_delays = retry_delays
        self._store: Store | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._cond = threading.Condition()
        self._pending: list[Change] = []
        self._first_pending_at = 0.0
        self._submitted = 0  # changes handed in (loop thread, under the lock)
        self._committed = 0  # of those, committed (set on the loop thread)
        self._urgent = False
        self._stopping = False
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._commits = 0
        self._written = 0
        self._failures = 0
        self._last_error = ""
        self._last_ms = 0.0
        self._max_ms = 0.0
        self._streak = 0  # failed commits in a row (writer thread)
        self._reported_at = 0.0  # when the owner last heard of the failure (monotonic)
        # told of failing commits, on the loop (the director logs a system message)
        self.on_trouble: Callable[[StoreTrouble], None] | None = None

    # --- life cycle (event loop) ----------------------------------------------------------

    async def start(self) -> Snapshot:
        """Open the store on the writer thread and load the director's state."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        opened: asyncio.Future[Snapshot] = loop.create_future()
        self._thread = threading.Thread(
            target=self._run, args=(opened,), name="store-writer", daemon=True
        )
        self._thread.start()
        return await opened

    async def close(self) -> None:
        """Commit what is pending, stop the thread and close the store."""
        thread = self._thread
        if thread is None:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        await asyncio.to_thread(thread.join)
        self._thread = None
        for _, waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(StoreError("the store writer has stopped"))
        self._waiters.clear()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def failing(self) -> bool:
        """The last commit failed (its changes are kept and retried)."""
        return self._streak > 0

    # --- submitting (event loop) ----------------------------------------------------------

    def submit(self, change: Change) -> None:
        """Queue one change record; it is committed within ``commit_delay``."""
        with self._cond:
            if not self._pending:
                self._first_pending_at = time.monotonic()
                self._cond.notify_all()
            self._pending.append(change)
            self._submitted += 1
            if len(self._pending) >= self.max_batch:
                self._cond.notify_all()

    async def flush(self) -> None:
        """Return once every change submitted so far is committed; raises StoreError when the
        commit failed (the changes stay queued and are retried)."""
        loop = asyncio.get_running_loop()
        with self._cond:
            target = self._submitted
            if self._committed >= target:
                return
            if not self.running:
                raise StoreError("the store writer is not running")
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append((target, waiter))
            self._urgent = True
            self._cond.notify_all()
        await waiter

    def stats(self) -> WriterStats:
        store = self._store.stats() if self._store is not None else StoreStats()
        with self._cond:
            pending = len(self._pending)
        return WriterStats(
            self._submitted,
            self._committed,
            pending,
            self._commits,
            self._written,
            self._failures,
            self._last_error,
            self._last_ms,
            self._max_ms,
            store,
        )

    # --- results (event loop, called from the thread) -------------------------------------

    def _call_loop(self, callback: Callable[..., None], *args: object) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(callback, *args)

    def _resolve(self, upto: int) -> None:
        self._committed = max(self._committed, upto)
        waiting = []
        for target, waiter in self._waiters:
            if target <= upto:
                if not waiter.done():
                    waiter.set_result(None)
            else:
                waiting.append((target, waiter))
        self._waiters = waiting

    def _fail(self, upto: int, message: str) -> None:
        waiting = []
        for target, waiter in self._waiters:
            if target <= upto:
                if not waiter.done():
                    waiter.set_exception(StoreError(message))
            else:
                waiting.append((target, waiter))
        self._waiters = waiting

    # --- the thread -----------------------------------------------------------------------

    def _run(self, opened: asyncio.Future[Snapshot]) -> None:
        try:
            self._store = self._open_store()
            snapshot = self._store.load()
        except BaseException as error:  # reported to start(), which raises it
            self._call_loop(_set_exception, opened, error)
            return
        self._call_loop(_set_result, opened, snapshot)
        try:
            self._serve()
        finally:
            try:
                self._store.close()
            except Exception:
                log.exception("closing the director database failed")

    def _take(self) -> tuple[list[Change], int] | None:
        """Wait for work; the batch and the sequence number it reaches. None: stop."""
        with self._cond:
            while not self._pending and not self._stopping:
                self._cond.wait()
            if not self._pending:
                return None
            deadline = self._first_pending_at + self.commit_delay
            # after a failed commit the back-off was the wait: the retry goes at once
            while not (
                self._urgent
                or self._stopping
                or self._streak
                or len(self._pending) >= self.max_batch
            ):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            batch, self._pending = self._pending, []
            self._urgent = False
            return batch, self._submitted

    def _serve(self) -> None:
        store = self._store
        assert store is not None
        while True:
            taken = self._take()
            if taken is None:
                return
            batch, upto = taken
            records = coalesce(batch)
            started = time.perf_counter()
            try:
                store.apply(records)
            except Exception as error:
                if not self._after_failure(error, records, upto):
                    return
                continue
            elapsed = (time.perf_counter() - started) * 1000
            if self._streak:
                streak, self._streak = self._streak, 0
                log.warning("director database: commits succeed again after %d failures", streak)
                self._report(StoreTrouble(False, self._last_error, 0, False, streak))
            self._commits += 1
            self._written += len(records)
            self._last_ms = elapsed
            self._max_ms = max(self._max_ms, elapsed)
            self._call_loop(self._resolve, upto)

    def _after_failure(self, error: Exception, records: list[Change], upto: int) -> bool:
        """A commit failed: keep its changes for the next attempt, fail the waiters it
        covered, tell the owner, and wait before the next attempt. False: stopping, give up."""
        message = _one_line(error)
        code, full = _classify(error)
        self._failures += 1
        self._last_error = message[:300]
        self._streak += 1
        streak = self._streak
        now = time.monotonic()
        if streak == 1:
            log.error(
                "director database: commit of %d changes failed: %s",
                len(records),
                message,
                exc_info=not isinstance(error, StoreError),
            )
        if streak == 1 or now - self._reported_at >= TROUBLE_REPEAT:
            self._reported_at = now
            self._report(StoreTrouble(True, message, code, full, streak))
        delays = self._retry_delays
        with self._cond:
            self._pending = records + self._pending  # kept, retried
            if len(self._pending) > len(records):
                self._pending = coalesce(self._pending)
            if not self._first_pending_at:
                self._first_pending_at = now
            self._call_loop(self._fail, upto, message)
            if self._stopping:
                if streak > len(delays):
                    log.error(
                        "director database: %d changes not written at stop", len(self._pending)
                    )
                    return False
                return True
            # the back-off grows to its last step and stays there; a flush asks for an
            # attempt at once, yet never sooner than the first step after the last one
            longest = delays[min(streak, len(delays)) - 1]
            soonest = min(delays[0], longest)
            while not self._stopping:
                left = (soonest if self._urgent else longest) - (time.monotonic() - now)
                if left <= 0:
                    break
                self._cond.wait(left)
        return True

    def _report(self, trouble: StoreTrouble) -> None:
        self._call_loop(self._tell, trouble)

    def _tell(self, trouble: StoreTrouble) -> None:
        listener = self.on_trouble
        if listener is None:
            return
        try:
            listener(trouble)
        except Exception:
            log.exception("reporting the director database's trouble failed")


def _one_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _classify(error: BaseException) -> tuple[int, bool]:
    """(error number, for want of space) of a failed commit: the system's errno or the
    database's own code, found on the error or what caused it (0 when there is none)."""
    full = no_space(error)
    if full:
        return full, True
    for cause in _causes(error):
        if isinstance(cause, OSError) and cause.errno:
            return cause.errno, False
        code = getattr(cause, "sqlite_errorcode", None)
        if isinstance(code, int):
            return code, False
    return 0, False


def _set_result(future: asyncio.Future[Snapshot], snapshot: Snapshot) -> None:
    if not future.done():
        future.set_result(snapshot)


def _set_exception(future: asyncio.Future[Snapshot], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
