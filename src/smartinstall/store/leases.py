"""Durable DHCP bindings for `ip dhcp remember`: an append-only journal with group commit.

Every change is one text line ``<kind> <fields…> <crc32>`` appended to
``<data dir>/dhcp-leases.journal``. Writers never wait on their own ``fsync``: changes queue in
memory and one background thread writes and ``fsync``s whatever has queued while the previous
batch was on its way to disk (group commit), then calls the waiting callbacks (the server sends
its ACKs from there, so an ACKed binding is always on disk). When the journal holds many more
lines than there are bindings, it is compacted: all bindings are written to a temporary file,
``fsync``ed and renamed over the journal (atomic), and the directory is ``fsync``ed.

Loading replays the journal, skipping lines whose checksum fails (a torn last write after a
crash), then compacts so that appends start on a clean line.

A write that fails (a full disk) leaves no half line behind: the journal is cut back to where
the batch began, its waiters are dropped (no ACK: the clients ask again), and the next write
rewrites the whole journal from memory, so nothing the failed batch held is missing once the
disk has room again.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import errno
import logging
import os
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

__all__ = ["JOURNAL_NAME", "Lease", "LeaseStore"]

log = logging.getLogger(__name__)

JOURNAL_NAME = "dhcp-leases.journal"
_MAX_LINE = 4096


@dataclass(frozen=True, slots=True)
class Lease:
    """One binding. ``key`` is the client identifier (option 61) or htype + MAC."""

    key: bytes
    address: int  # IPv4 address as an integer
    expires: float  # Unix time; a past value means remembered but not in use
    mac: bytes = b""


def _line(kind: str, lease: Lease) -> bytes:
    body = f"{kind} {lease.key.hex()} {lease.address} {int(lease.expires)} {lease.mac.hex()}"
    raw = body.encode("ascii")
    return raw + b" %08x\n" % zlib.crc32(raw)


def _parse(line: bytes) -> tuple[str, Lease] | None:
    if len(line) > _MAX_LINE:
        return None
    body, _, crc = line.rstrip(b"\n").rpartition(b" ")
    try:
        if int(crc, 16) != zlib.crc32(body):
            return None
        kind, key, address, expires, mac = body.decode("ascii").split(" ")
        lease = Lease(bytes.fromhex(key), int(address), float(expires), bytes.fromhex(mac))
    except (ValueError, UnicodeDecodeError):
        return None
    if kind not in ("b", "d") or not 0 <= lease.address <= 0xFFFFFFFF:
        return None
    return kind, lease


class LeaseStore:
    """In-memory index of bindings, made durable by a group-committed journal.

    Use from one asyncio loop. ``bind``/``forget`` update memory at once and call
    ``on_durable`` once the change is on disk. ``fsync=False`` skips the fsync (tests of
    logic only; the director always syncs).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] | None,
        *,
        fsync: bool = True,
        compact_min_lines: int = 20_000,
    ) -> None:
        # None: bindings live in memory only (no `ip dhcp remember`).
        self.directory = Path(directory) if directory is not None else None
        self.path = self.directory / JOURNAL_NAME if self.directory is not None else None
        self.fsync = fsync
        self.compact_min_lines = compact_min_lines
        self._by_key: dict[bytes, Lease] = {}
        self._by_address: dict[int, Lease] = {}
        self._pending: list[bytes] = []
        self._waiters: list[Callable[[], None]] = []
        self._inflight = False
        self._lines = 0
        self._resync = False  # a write failed: the next one rewrites the whole journal
        self._closed = False
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._idle: asyncio.Event | None = None
        self._releasing = 0  # chunks of waiters still to run
        self.release_chunk = 32
        self.commits = 0  # batches written (for tests and the benchmark)
        self._file: BinaryIO | None = None
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._load()
            self._executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="dhcp-leases"
            )

    # -- reading

    def get(self, key: bytes) -> Lease | None:
        return self._by_key.get(key)

    def owner(self, address: int) -> Lease | None:
        return self._by_address.get(address)

    def __len__(self) -> int:
        return len(self._by_key)

    def __iter__(self) -> Iterator[Lease]:
        return iter(list(self._by_key.values()))

    # -- writing

    def bind(self, lease: Lease, on_durable: Callable[[], None] | None = None) -> None:
        """Record (or renew) a binding; ``on_durable`` runs once it is on disk."""
        old = self._by_key.get(lease.key)
        if old is not None and old.address != lease.address:
            self._by_address.pop(old.address, None)
        other = self._by_address.get(lease.address)
        if other is not None and other.key != lease.key:
            self._by_key.pop(other.key, None)
        self._by_key[lease.key] = lease
        self._by_address[lease.address] = lease
        self._enqueue(_line("b", lease), on_durable)

    def forget(self, key: bytes, on_durable: Callable[[], None] | None = None) -> None:
        """Drop a binding entirely (the address may go to someone else)."""
        lease = self._by_key.pop(key, None)
        if lease is None:
            if on_durable is not None:
                on_durable()
            return
        self._by_address.pop(lease.address, None)
        self._enqueue(_line("d", lease), on_durable)

    def _enqueue(self, line: bytes, on_durable: Callable[[], None] | None) -> None:
        if self._closed:
            raise RuntimeError("lease store is closed")
        if self.path is None:
            if on_durable is not None:
                on_durable()
            return
        self._pending.append(line)
        if on_durable is not None:
            self._waiters.append(on_durable)
        self._kick()

    def _kick(self) -> None:
        if self._inflight or not self._pending:
            return
        loop = asyncio.get_running_loop()
        batch = b"".join(self._pending)
        count = len(self._pending)
        waiters = self._waiters
        self._pending = []
        self._waiters = []
        snapshot: list[Lease] | None = None
        self._lines += count
        if self._resync or self._lines > max(self.compact_min_lines, 4 * len(self._by_key)):
            # Memory already holds this batch, so the snapshot covers it; the batch is still
            # appended after it (replaying a line twice is harmless). Leases are replaced,
            # never mutated, so this list of references is a consistent snapshot; it is
            # encoded in the journal thread to keep the loop free.
            snapshot = list(self._by_key.values())
            self._lines = len(snapshot) + count
            self._resync = False
        self._inflight = True
        if self._idle is not None:
            self._idle.clear()
        assert self._executor is not None
        future = loop.run_in_executor(self._executor, self._write, batch, snapshot)
        future.add_done_callback(lambda f: self._written(f, waiters))

    def _written(self, future: asyncio.Future[None], waiters: list[Callable[[], None]]) -> None:
        self._inflight = False
        error = future.exception()
        if error is not None:
            # Not on disk: the waiters (ACKs) are dropped; the clients will retry. What the
            # batch held is in memory: the next write rewrites the journal from it.
            log.error("lease journal write failed: %s", error)
            self._resync = True
        else:
            self.commits += 1
            self._release(waiters, 0)
        if self._pending:
            self._kick()
        elif self._idle is not None and not self._releasing:
            self._idle.set()

    def _release(self, waiters: list[Callable[[], None]], start: int) -> None:
        """Run the waiters a chunk per loop turn: one fsync may free hundreds of ACKs, and
        sent back to back they overflow the receive buffers of the relay or client, so
        they are interleaved with the loop's other work instead."""
        end = start + self.release_chunk
        for waiter in waiters[start:end]:
            try:
                waiter()
            except Exception:
                log.exception("lease commit callback failed")
        if end < len(waiters):
            self._releasing += 1
            asyncio.get_running_loop().call_soon(self._release_more, waiters, end)

    def _release_more(self, waiters: list[Callable[[], None]], start: int) -> None:
        self._releasing -= 1
        self._release(waiters, start)
        if (
            not self._releasing
            and not self._inflight
            and not self._pending
            and self._idle is not None
        ):
            self._idle.set()

    def _write(self, batch: bytes, snapshot: list[Lease] | None) -> None:
        """Runs in the journal thread."""
        if snapshot is not None:
            self._replace(b"".join(_line("b", lease) for lease in snapshot))
        assert self._file is not None
        fd = self._file.fileno()
        start = os.lseek(fd, 0, os.SEEK_END)
        try:
            view = memoryview(batch)
            while view:  # a full disk may take part of a write before it refuses the rest
                written = os.write(fd, view)
                if written <= 0:  # no progress: as good as refused
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                view = view[written:]
            if self.fsync:
                os.fsync(fd)
        except OSError:
            # no half line may stay for the next append to be glued onto
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)
            raise

    def _replace(self, content: bytes) -> None:
        """Atomically replace the journal with ``content`` and reopen it for appends."""
        assert self.path is not None and self.directory is not None
        tmp = self.path.with_suffix(".tmp")
        try:
            with open(tmp, "wb") as out:
                out.write(content)
                out.flush()
                if self.fsync:
                    os.fsync(out.fileno())
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        os.replace(tmp, self.path)
        if self.fsync:
            fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        old = self._file
        self._file = open(self.path, "ab", buffering=0)  # noqa: SIM115 - closed by close()
        if old is not None:
            old.close()

    def _load(self) -> None:
        assert self.path is not None
        bad = 0
        if self.path.exists():
            with open(self.path, "rb") as journal:
                for line in journal:
                    parsed = _parse(line)
                    if parsed is None:
                        bad += 1
                        continue
                    kind, lease = parsed
                    old = self._by_key.pop(lease.key, None)
                    if old is not None:
                        self._by_address.pop(old.address, None)
                    if kind == "b":
                        other = self._by_address.pop(lease.address, None)
                        if other is not None:
                            self._by_key.pop(other.key, None)
                        self._by_key[lease.key] = lease
                        self._by_address[lease.address] = lease
        if bad:
            log.warning("lease journal %s: skipped %d damaged line(s)", self.path, bad)
        self._replace(b"".join(_line("b", lease) for lease in self._by_key.values()))
        self._lines = len(self._by_key)
        log.info("lease journal %s: %d binding(s) loaded", self.path, len(self._by_key))

    # -- lifecycle

    async def flush(self) -> None:
        """Wait until everything recorded so far is on disk."""
        if self._idle is None:
            self._idle = asyncio.Event()
            if not self._inflight and not self._pending and not self._releasing:
                self._idle.set()
        self._kick()
        await self._idle.wait()

    async def close(self) -> None:
        await self.flush()
        self._closed = True
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        if self._file is not None:
            self._file.close()

    def close_sync(self) -> None:
        """Close without a loop (pending changes not yet written are lost)."""
        self._closed = True
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        if self._file is not None:
            self._file.close()

    @staticmethod
    def now() -> float:
        return time.time()
