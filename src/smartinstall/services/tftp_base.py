"""What the TFTP server's parts share: the owner's interface (hook, transfer info), the
configuration, the path policy that confines reads and writes, and socket helpers.

`smartinstall.services.tftp` re-exports all of it; import from there.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import mmap
import os
import socket
import stat
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from smartinstall.services.tftp_limits import OVERLOAD_ERRNOS
from smartinstall.wire import tftp
from smartinstall.wire.tftp import ErrorCode, ServerLimits, TransferOptions

log = logging.getLogger("smartinstall.services.tftp")

Address = tuple[str, int]


# -- owner interface ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TransferInfo:
    """What a transfer is, as the hook sees it."""

    transfer_id: int
    peer: Address
    filename: str  # as requested
    path: str  # the file served or written
    is_read: bool  # True: download (RRQ), False: upload (WRQ)
    mode: str
    size: int | None  # file size (read), announced tsize (write) or None
    options: TransferOptions


class TftpHook(Protocol):
    """The owner's view of the server: told of every transfer, asked about every upload."""

    def transfer_started(self, info: TransferInfo) -> None: ...

    def transfer_progress(self, info: TransferInfo, done: int) -> None: ...

    def transfer_finished(self, info: TransferInfo, done: int, error: str | None) -> None: ...

    def approve_upload(self, peer: Address, name: str, size: int | None) -> bool: ...


class ReadPolicy(Protocol):
    """Optional part of a hook: may this peer read this file? (Files are confined to the root
    either way; this lets the owner keep some of them, such as backups, for their owner.)

    The answer may be an awaitable: the request is then held, while the server goes on
    serving others, until it resolves (for instance once a file being published is on disk).
    """

    def approve_read(self, peer: Address, name: str) -> bool | Awaitable[bool]: ...


class NullHook:
    """Logs transfers; refuses every upload."""

    def transfer_started(self, info: TransferInfo) -> None:
        del info

    def transfer_progress(self, info: TransferInfo, done: int) -> None:
        del info, done

    def transfer_finished(self, info: TransferInfo, done: int, error: str | None) -> None:
        del info, done, error

    def approve_upload(self, peer: Address, name: str, size: int | None) -> bool:
        del peer, name, size
        return False


class OpenUploads(NullHook):
    """A plain server's policy (standalone, or a lab's third-party server): every write to a
    name the upload directory allows is welcome."""

    def approve_upload(self, peer: Address, name: str, size: int | None) -> bool:
        del peer, name, size
        return True


@dataclass
class TftpServerConfig:
    root: Path  # the director's "flash:"; reads are confined to it
    host: str = "127.0.0.1"
    port: int = 69
    upload_dir: Path | None = None  # the backup repository; None refuses every WRQ
    upload_prefix: str = "backup"  # WRQ names look like "<prefix>/<name>"
    max_upload_size: int = 16 * 1024 * 1024
    limits: ServerLimits = field(default_factory=ServerLimits)
    retransmit_timeout: float = 1.0  # first retransmission; doubles up to max_backoff
    max_backoff: float = 8.0
    max_retries: int = 5
    max_transfers: int = 1000  # at once, over all sources (fewer if descriptors are short)
    # Descriptors kept for the rest of the process when transfers run on its loop (workers=0);
    # None: a quarter of the open files limit, between 32 and 512 (tftp_limits).
    fd_reserve: int | None = None
    progress_interval: int = 1 << 20  # bytes between progress calls
    # Worker processes for the data transfers (docs/tftp.md, "Worker processes"). 0: every
    # transfer runs on the server's own event loop.
    workers: int = 0
    worker_nice: int = 5  # added to the workers' nice value: the control plane wins the CPU
    # Longest a read is held while an awaitable approve_read is pending (None: no limit).
    approve_read_timeout: float | None = 60.0
    reuse_port: bool = False  # SO_REUSEPORT, for several worker processes on one port
    # Requests taken per wake-up of the listening socket. Worker processes sharing one
    # inherited socket take one each, so an idle worker picks up the next request first.
    requests_per_wakeup: int = 64
    accept_pause: float = 0.0  # seconds per running transfer before taking another request
    load_board: LoadBoard | None = None  # shared with the other workers, see LoadBoard


@dataclass(frozen=True, slots=True)
class TftpStats:
    """What the server is doing, for operators. Counters run from start()."""

    workers: int  # worker processes configured (0: transfers run on the event loop)
    workers_alive: int
    transfers_running: int  # including requests held by an awaitable approve_read
    running_per_worker: tuple[int, ...]  # by worker slot; empty without workers
    transfers_started: int
    transfers_finished: int  # ended successfully
    transfers_failed: int  # ended with an error (including "worker exited")
    worker_restarts: int
    worker_pids: tuple[int, ...] = ()  # by worker slot; 0 while a slot has no process
    capacity: int = 0  # transfers at once: max_transfers, or fewer for want of descriptors
    sources: int = 0  # source addresses with transfers running or held
    refused_busy: int = 0  # requests answered "Server busy" (full, a source over its share)
    ended_for_room: int = 0  # transfers ended to make room for a source below its share


class Refused(Exception):
    """A request refused with a TFTP error."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Overloaded(Refused):
    """Out of descriptors, buffers or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM), or the
    server is full: refused "Server busy". `why` says which, for the log."""

    def __init__(self, why: str) -> None:
        super().__init__(ErrorCode.NOT_DEFINED, "Server busy")
        self.why = why


def overloaded(exc: OSError) -> Overloaded:
    return Overloaded(exc.strerror or str(exc))


# -- path policy ----------------------------------------------------------------------------


def _components(name: str) -> list[str]:
    """The path components of a requested name, refusing anything that could escape."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name) or "\\" in name:
        raise Refused(ErrorCode.ACCESS_VIOLATION, "Illegal characters in file name")
    if name.startswith("/"):
        raise Refused(ErrorCode.ACCESS_VIOLATION, "Absolute paths are not allowed")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts:
        raise Refused(ErrorCode.FILE_NOT_FOUND, "File not found")
    for part in parts:
        if part.startswith("."):  # "..", and hidden files such as partial uploads
            raise Refused(ErrorCode.ACCESS_VIOLATION, "Access violation")
    return parts


def _inside(root: str, path: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def open_for_read(root: Path, name: str) -> tuple[int, int, str]:
    """Open `name` under `root` for reading: (fd, size, real path). Raises Refused."""
    parts = _components(name)
    real_root = os.path.realpath(root)
    real = os.path.realpath(os.path.join(real_root, *parts))
    if not _inside(real_root, real) or real == real_root:
        raise Refused(ErrorCode.ACCESS_VIOLATION, "Access violation")
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        raise Refused(ErrorCode.FILE_NOT_FOUND, "File not found") from None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EACCES, errno.EPERM):
            raise Refused(ErrorCode.ACCESS_VIOLATION, "Access violation") from None
        if exc.errno in OVERLOAD_ERRNOS:
            raise overloaded(exc) from None
        raise Refused(ErrorCode.FILE_NOT_FOUND, "File not found") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise Refused(ErrorCode.FILE_NOT_FOUND, "File not found")
    return fd, info.st_size, real


def upload_target(config: TftpServerConfig, name: str) -> tuple[str, str]:
    """(upload directory, file name) for a WRQ, or Refused when writes there are not allowed."""
    parts = _components(name)
    prefix = [p for p in config.upload_prefix.split("/") if p not in ("", ".")]
    if config.upload_dir is None or len(parts) != len(prefix) + 1 or parts[: len(prefix)] != prefix:
        raise Refused(ErrorCode.ACCESS_VIOLATION, "Writes are not allowed here")
    return os.path.realpath(config.upload_dir), parts[-1]


# -- sockets --------------------------------------------------------------------------------


def bind_socket(
    host: str, port: int, reuse_port: bool = False, peer: Address | None = None
) -> socket.socket:
    """A non-blocking UDP socket; a transfer's is connected to its peer (its TID pair), so
    the kernel drops datagrams from any other address, as tftp-hpa does."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.setblocking(False)
        sock.bind((host, port))
        if peer is not None:
            sock.connect(peer)
    except BaseException:
        sock.close()
        raise
    return sock


def reply_error(
    host: str,
    peer: Address,
    code: ErrorCode,
    message: str,
    fallback: socket.socket | None = None,
) -> OSError | None:
    """Errors for refused requests come from a fresh TID, as a transfer would. Without a
    socket to spare (out of descriptors) the error goes from `fallback` (the listening
    socket) if given. Returns why no socket could be opened, for the caller to count."""
    packet = tftp.encode_error(code, message)
    try:
        sock = bind_socket(host, 0, peer=peer)
    except OSError as exc:
        if fallback is not None:
            with contextlib.suppress(OSError):
                fallback.sendto(packet, peer)
        return exc
    with sock, contextlib.suppress(OSError):
        sock.send(packet)
    return None


# -- several processes on one listening socket ----------------------------------------------


class LoadBoard:
    """How many transfers each worker process runs, in memory shared across fork().

    Workers sharing one listening socket take a new request only while none of them runs
    fewer transfers, so transfers spread evenly instead of piling on the worker that happens
    to be awake.
    """

    def __init__(self, workers: int) -> None:
        self._map = mmap.mmap(-1, 4 * max(1, workers))  # anonymous and shared
        self._counts = memoryview(self._map).cast("i")
        self.slot = 0

    def for_worker(self, slot: int) -> LoadBoard:
        """This board as seen by worker `slot` (call in the worker after fork)."""
        self.slot = slot
        return self

    def set(self, running: int) -> None:
        self._counts[self.slot] = running

    def least_loaded(self) -> bool:
        mine = self._counts[self.slot]
        return all(mine <= other for other in self._counts)
