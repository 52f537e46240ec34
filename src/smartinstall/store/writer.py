"""The store writer: one thread that owns the store and group-commits change records.

The director's state owner hands every change record to :meth:`StoreWriter.submit` (on the
event loop; it only appends to a list). The writer thread takes everything pending, coalesces
it (the last record of each key wins) and applies it in one transaction. It waits up to
``commit_delay`` after the first pending change so that a burst becomes one commit; a handler
that must not answer before its change is durable — an SMI report acknowledged, a backup
recorded — awaits :meth:`StoreWriter.flush`, which commits at once and returns when every
change submitted before the call is committed (or raises :class:`StoreError`).

The event loop never runs SQL: opening (with migrations), loading and every commit run on the
writer's thread. A failing commit (disk full, database gone) is logged once with its reason,
counted, and retried with back-off; nothing pending is dropped, and flush waiters learn of the
failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from smartinstall.store.port import Change, Snapshot, Store, StoreError, StoreStats, coalesce

log = logging.getLogger(__name__)

COMMIT_DELAY = 1.0  # seconds a change may wait for others before it is committed
MAX_BATCH = 5000  # changes that make a commit start at once
RETRY_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0)


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
            while not (self._urgent or self._stopping or len(self._pending) >= self.max_batch):
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
        streak = 0
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
                message = str(error) or type(error).__name__
                self._failures += 1
                self._last_error = message[:300]
                if streak == 0:
                    log.error(
                        "director database: commit of %d changes failed: %s",
                        len(records),
                        message,
                        exc_info=not isinstance(error, StoreError),
                    )
                streak += 1
                with self._cond:
                    self._pending = records + self._pending  # kept, retried
                    if len(self._pending) > len(records):
                        self._pending = coalesce(self._pending)
                    if not self._first_pending_at:
                        self._first_pending_at = time.monotonic()
                    delay = self._retry_delays[min(streak, len(self._retry_delays)) - 1]
                    self._call_loop(self._fail, upto, message)
                    if not self._stopping:
                        self._cond.wait(delay)
                    elif streak > len(self._retry_delays):
                        log.error(
                            "director database: %d changes not written at stop", len(self._pending)
                        )
                        return
                continue
            elapsed = (time.perf_counter() - started) * 1000
            if streak:
                log.warning("director database: commits succeed again after %d failures", streak)
                streak = 0
            self._commits += 1
            self._written += len(records)
            self._last_ms = elapsed
            self._max_ms = max(self._max_ms, elapsed)
            self._call_loop(self._resolve, upto)


def _set_result(future: asyncio.Future[Snapshot], snapshot: Snapshot) -> None:
    if not future.done():
        future.set_result(snapshot)


def _set_exception(future: asyncio.Future[Snapshot], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
