"""Asyncio TFTP server: the director's file root ("flash:") for reads, the backup
repository for writes.

Each transfer owns its own UDP socket (its TID, RFC 1350) served by a reader callback on the
event loop; no per-packet tasks, futures or timers. Files are streamed with `os.preadv` into
one preallocated buffer per transfer, so memory does not grow with file size. Uploads go to
a temporary file that is fsynced and renamed into place only when complete.

Policy (which uploads are welcome) belongs to the owner, asked through `TftpHook`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import logging
import mmap
import os
import socket
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from smartinstall.wire import tftp
from smartinstall.wire.tftp import ErrorCode, MalformedPacket, Mode, ServerLimits, TransferOptions

log = logging.getLogger(__name__)

Address = tuple[str, int]

_ACK_RECV_SIZE = 1024  # a download only receives ACKs and ERRORs; longer datagrams are junk
_READ_AHEAD = 16384  # bytes read at once for a download


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
    either way; this lets the owner keep some of them, such as backups, for their owner.)"""

    def approve_read(self, peer: Address, name: str) -> bool: ...


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
    max_transfers: int = 1000
    progress_interval: int = 1 << 20  # bytes between progress calls
    reuse_port: bool = False  # SO_REUSEPORT, for several worker processes on one port
    # Requests taken per wake-up of the listening socket. Worker processes sharing one
    # inherited socket take one each, so an idle worker picks up the next request first.
    requests_per_wakeup: int = 64
    accept_pause: float = 0.0  # seconds per running transfer before taking another request
    load_board: LoadBoard | None = None  # shared with the other workers, see LoadBoard


class Refused(Exception):
    """A request refused with a TFTP error."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


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


# -- transfers ------------------------------------------------------------------------------


def _bind_socket(
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


class _Transfer:
    """State shared by downloads and uploads: socket, peer, timer, hook calls."""

    def __init__(
        self,
        server: TftpServer,
        sock: socket.socket,
        peer: Address,
        info: TransferInfo,
        oack: dict[str, str],
    ) -> None:
        self.server = server
        self.loop = server.loop
        self.sock = sock
        self.peer = peer
        self.info = info
        self.oack = oack
        self.opts = info.options
        cfg = server.config
        self.base_rto = (
            self.opts.timeout if self.opts.timeout is not None else (cfg.retransmit_timeout)
        )
        self.rto = self.base_rto
        self.retries = 0
        self.last_mark = -1
        self.timer: asyncio.TimerHandle | None = None
        self.closed = False
        self.done = 0
        self.next_progress = cfg.progress_interval
        # Uploads leave room to notice a DATA larger than the negotiated block size.
        self.rbuf = bytearray(_ACK_RECV_SIZE if info.is_read else 4 + self.opts.blksize + 4)
        self.rview = memoryview(self.rbuf)

    # lifecycle
    def begin(self) -> None:
        self.server.call_hook("transfer_started", self.info)
        self.loop.add_reader(self.sock.fileno(), self._readable)
        self.last_mark = self.mark()
        self.timer = self.loop.call_later(self.rto, self._on_timer)
        self.first_send()

    def first_send(self) -> None:
        raise NotImplementedError

    def resend(self) -> None:
        raise NotImplementedError

    def on_packet(self, n: int) -> None:
        raise NotImplementedError

    def cleanup(self, ok: bool) -> None:
        del ok

    def finish(self, error: str | None) -> None:
        if self.closed:
            return
        self.closed = True
        if self.timer is not None:
            self.timer.cancel()
        with contextlib.suppress(Exception):
            self.loop.remove_reader(self.sock.fileno())
        self.sock.close()
        try:
            self.cleanup(error is None)
        except OSError as exc:
            log.warning("tftp %s %s: cleanup failed: %s", self.peer, self.info.filename, exc)
            error = error or f"cleanup failed: {exc}"
        self.server.transfer_done(self)
        if error is None:
            log.info(
                "tftp %s %s %s: %d bytes",
                self.peer[0],
                "sent" if self.info.is_read else "received",
                self.info.filename,
                self.done,
            )
        else:
            log.info(
                "tftp %s %s: failed after %d bytes: %s",
                self.peer[0],
                self.info.filename,
                self.done,
                error,
            )
        self.server.call_hook("transfer_finished", self.info, self.done, error)

    def abort(self, code: ErrorCode, message: str) -> None:
        """End with an ERROR to the peer."""
        self.send(tftp.encode_error(code, message))
        self.finish(message)

    def send(self, packet: bytes | memoryview) -> None:
        try:
            self.sock.send(packet)
        except (BlockingIOError, InterruptedError):
            pass  # treated as a loss; the timer retransmits
        except OSError as exc:
            if not self.closed:
                self.finish(f"send failed: {exc}")

    def progress(self) -> None:
        self.next_progress = self.done + self.server.config.progress_interval
        self.server.call_hook("transfer_progress", self.info, self.done)

    # events
    def _readable(self) -> None:
        try:
            n = self.sock.recv_into(self.rbuf)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:  # ICMP port unreachable and the like: the peer went away
            self.finish(f"receive failed: {exc}")
            return
        try:
            self.on_packet(n)
        except Exception:
            log.exception("tftp %s %s: internal error", self.peer, self.info.filename)
            self.abort(ErrorCode.NOT_DEFINED, "Internal error")

    def peer_error(self, n: int) -> None:
        try:
            packet = tftp.parse(bytes(self.rview[:n]))
        except MalformedPacket:
            packet = tftp.Error(0, "")
        message = packet.message if isinstance(packet, tftp.Error) else ""
        code = packet.code if isinstance(packet, tftp.Error) else 0
        self.finish(f"peer sent error {code}: {message}")

    def unexpected(self, n: int) -> None:
        """A packet that has no place in this transfer: dropped and logged."""
        log.debug(
            "tftp %s %s: dropped unexpected packet (%d bytes, opcode %d)",
            self.peer,
            self.info.filename,
            n,
            (self.rbuf[0] << 8 | self.rbuf[1]) if n >= 2 else -1,
        )

    def _on_timer(self) -> None:
        self.timer = None
        if self.closed:
            return
        # No clock reading per packet: the timer compares a progress mark (blocks acknowledged
        # or received) with the one it saw last, so a loss is noticed within one to two
        # timeouts.
        mark = self.mark()
        if mark != self.last_mark:
            self.last_mark = mark
            self.timer = self.loop.call_later(self.rto, self._on_timer)
            return
        self.retries += 1
        if self.retries > self.server.config.max_retries:
            self.abort(ErrorCode.NOT_DEFINED, "Transfer timed out")
            return
        self.rto = min(self.rto * 2, max(self.server.config.max_backoff, self.base_rto))
        try:
            self.resend()
        except Exception:
            log.exception("tftp %s %s: internal error", self.peer, self.info.filename)
            self.abort(ErrorCode.NOT_DEFINED, "Internal error")
            return
        if not self.closed:
            self.timer = self.loop.call_later(self.rto, self._on_timer)

    def mark(self) -> int:
        """A number that changes whenever the transfer makes progress."""
        raise NotImplementedError

    def made_progress(self) -> None:
        if self.retries:
            self.retries = 0
            self.rto = self.base_rto


class _ReadTransfer(_Transfer):
    """A download: DATA out, ACKs in; lock-step or windowed (RFC 7440)."""

    def __init__(
        self,
        server: TftpServer,
        sock: socket.socket,
        peer: Address,
        info: TransferInfo,
        oack: dict[str, str],
        fd: int,
        size: int,
    ) -> None:
        super().__init__(server, sock, peer, info, oack)
        self.fd = fd
        self.size = size
        bs = self.opts.blksize
        self.blksize = bs
        self.window = self.opts.windowsize
        self.netascii = info.mode == Mode.NETASCII.value
        # absolute (unwrapped) block numbers
        self.acked = 0  # highest block acknowledged
        self.sent = 0  # highest block sent
        self.last_block = size // bs + 1 if not self.netascii else -1
        self.waiting_oack = bool(oack)
        self.fast = not self.netascii and not self.waiting_oack  # see _readable
        self.dup_resent = -1  # last block number a duplicate ACK made us resend
        # Read-ahead: one preadv fills several ready-made DATA packets (fewer system calls
        # per packet at small block sizes); bounded per transfer, whatever the file size.
        slots = 1 if self.netascii else max(1, min(_READ_AHEAD // bs, 64))
        self.sbuf = bytearray((4 + bs) * slots)
        view = memoryview(self.sbuf)
        self.packets = [view[i * (4 + bs) : (i + 1) * (4 + bs)] for i in range(slots)]
        self.payloads = [packet[4:] for packet in self.packets]
        for i in range(slots):
            self.sbuf[i * (4 + bs) + 1] = tftp.Opcode.DATA
        self.nslots = slots
        self.chunk_first = 0  # block held by the first slot (0: none)
        self.chunk_blocks = 0
        self.last_len = size - (self.last_block - 1) * bs
        # netascii: converted blocks still unacknowledged, produced sequentially
        self.cache: dict[int, bytes] = {}
        self.pending = bytearray()
        self.file_offset = 0
        self.eof = False

    def mark(self) -> int:
        return self.acked + (not self.waiting_oack)

    def first_send(self) -> None:
        if self.waiting_oack:
            self.send(tftp.encode_oack(self.oack))
        else:
            self.send_window()

    def resend(self) -> None:
        if self.waiting_oack:
            self.send(tftp.encode_oack(self.oack))
        else:
            self.sent = self.acked
            self.send_window()

    def send_window(self) -> None:
        end = self.acked + self.window
        if self.last_block > 0 and end > self.last_block:
            end = self.last_block
        b = self.sent + 1
        while b <= end and not self.closed:
            if self.netascii:
                payload = self.netascii_block(b)
                if payload is None:
                    break
                self.send(tftp.encode_data(b, payload))
            else:
                self.send_octet_block(b)
            b += 1
        self.sent = b - 1

    def _readable(self) -> None:
        """The hot path of an octet download: the next in-order ACK, handled inline.

        Everything else (OACK acknowledgement, duplicates, errors, netascii) goes through
        on_packet, as does any packet when the fast path's conditions do not hold.
        """
        try:
            n = self.sock.recv_into(self.rbuf)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:  # ICMP port unreachable and the like: the peer went away
            self.finish(f"receive failed: {exc}")
            return
        rbuf = self.rbuf
        try:
            if n >= 4 and rbuf[1] == 4 and rbuf[0] == 0 and self.fast:
                acked = self.acked
                delta = ((rbuf[2] << 8 | rbuf[3]) - acked) & 0xFFFF
                outstanding = self.sent - acked
                if 0 < delta <= outstanding:
                    acked += delta
                    self.acked = acked
                    if self.retries:
                        self.made_progress()
                    if acked == self.last_block:
                        self.done = self.size
                        self.finish(None)
                        return
                    self.done = done = acked * self.blksize
                    if done >= self.next_progress:
                        self.progress()
                    if delta < outstanding:
                        self.sent = acked  # the peer reported a loss inside the window
                    end = acked + self.window
                    if end > self.last_block:
                        end = self.last_block
                    b = self.sent + 1
                    send_block = self.send_octet_block
                    while b <= end and not self.closed:
                        send_block(b)
                        b += 1
                    self.sent = b - 1
                    return
            self.on_packet(n)
        except Exception:
            log.exception("tftp %s %s: internal error", self.peer, self.info.filename)
            self.abort(ErrorCode.NOT_DEFINED, "Internal error")

    def load(self, b: int) -> bool:
        """Read blocks from b on into the slots."""
        bs = self.blksize
        count = min(self.nslots, self.last_block - b + 1)
        expected = min(self.size - (b - 1) * bs, count * bs)
        buffers = self.payloads if count == self.nslots else self.payloads[:count]
        n = os.preadv(self.fd, buffers, (b - 1) * bs) if expected > 0 else 0
        if n != expected:
            self.abort(ErrorCode.NOT_DEFINED, "File changed during transfer")
            return False
        self.chunk_first = b
        self.chunk_blocks = count
        return True

    def send_octet_block(self, b: int) -> None:
        i = b - self.chunk_first
        if self.chunk_first == 0 or i < 0 or i >= self.chunk_blocks:
            if not self.load(b):
                return
            i = 0
        base = i * (4 + self.blksize)
        sbuf = self.sbuf
        sbuf[base + 2] = (b >> 8) & 0xFF
        sbuf[base + 3] = b & 0xFF
        packet = self.packets[i]
        if b == self.last_block:
            packet = packet[: 4 + self.last_len]
        try:
            self.sock.send(packet)
        except (BlockingIOError, InterruptedError):
            pass  # a loss; the timer retransmits
        except OSError as exc:
            self.finish(f"send failed: {exc}")

    def netascii_block(self, b: int) -> bytes | None:
        """Block b of the converted file (b is never more than one past the cache)."""
        block = self.cache.get(b)
        if block is not None:
            return block
        bs = self.blksize
        while len(self.pending) < bs and not self.eof:
            chunk = os.pread(self.fd, 65536, self.file_offset)
            if not chunk:
                self.eof = True
                break
            self.file_offset += len(chunk)
            self.pending += tftp.netascii_encode(chunk)
        if self.last_block > 0 and b > self.last_block:
            return None
        block = bytes(self.pending[:bs])
        del self.pending[:bs]
        if len(block) < bs:
            self.last_block = b
        self.cache[b] = block
        return block

    def on_packet(self, n: int) -> None:
        rbuf = self.rbuf
        if n >= 4 and rbuf[0] == 0 and rbuf[1] == 4:  # ACK, the hot path
            block16 = rbuf[2] << 8 | rbuf[3]
            if self.waiting_oack:
                if block16 == 0:
                    self.waiting_oack = False
                    self.fast = not self.netascii
                    self.made_progress()
                    self.send_window()
                else:
                    self.unexpected(n)
                return
            delta = (block16 - self.acked) & 0xFFFF
            outstanding = self.sent - self.acked
            if delta == 0:
                # Duplicate: never answered in lock-step (Sorcerer's Apprentice, RFC 1123
                # 4.2.3.1); with a window it means the next block was lost, resent once.
                if self.window > 1 and self.dup_resent != self.acked and outstanding:
                    self.dup_resent = self.acked
                    self.sent = self.acked
                    self.send_window()
                return
            if delta > outstanding:
                log.debug(
                    "tftp %s %s: ACK %d for a block not sent yet, dropped",
                    self.peer,
                    self.info.filename,
                    block16,
                )
                return
            self.acked += delta
            if self.retries:
                self.made_progress()
            if self.acked == self.last_block:
                self.done = self.size if not self.netascii else self.file_offset
                self.finish(None)
                return
            if self.netascii:
                for old in [k for k in self.cache if k <= self.acked]:
                    del self.cache[old]
                self.done = self.file_offset
            else:
                self.done = self.acked * self.blksize
            if self.done >= self.next_progress:
                self.progress()
            if delta < outstanding:
                self.sent = self.acked  # the peer reported a loss inside the window
            self.send_window()
        elif n >= 2 and rbuf[0] == 0 and rbuf[1] == 5:
            self.peer_error(n)
        else:
            self.unexpected(n)

    def cleanup(self, ok: bool) -> None:
        os.close(self.fd)


class _WriteTransfer(_Transfer):
    """An upload into the backup repository: DATA in, ACKs out, temp file then rename."""

    def __init__(
        self,
        server: TftpServer,
        sock: socket.socket,
        peer: Address,
        info: TransferInfo,
        oack: dict[str, str],
        directory: str,
        name: str,
    ) -> None:
        super().__init__(server, sock, peer, info, oack)
        self.directory = directory
        self.name = name
        fd, self.temp_path = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=directory)
        self.file = os.fdopen(fd, "wb")
        self.received = 0  # absolute number of blocks written
        self.since_ack = 0
        self.gap_acked = -1
        self.complete = False
        self.decoder = tftp.NetasciiDecoder() if info.mode == Mode.NETASCII.value else None
        self.last_reply: bytes = tftp.encode_oack(oack) if oack else tftp.encode_ack(0)
        self.cap = server.config.max_upload_size

    def mark(self) -> int:
        return self.received

    def first_send(self) -> None:
        self.send(self.last_reply)

    def resend(self) -> None:
        if self.complete:  # dallying ended: the final ACK stood
            self.finish(None)
            return
        if self.since_ack:  # RFC 7440: acknowledge what arrived of a window cut short
            self.ack()
            return
        self.send(self.last_reply)

    def ack(self) -> None:
        self.last_reply = tftp.encode_ack(self.received)
        self.since_ack = 0
        self.send(self.last_reply)

    def on_packet(self, n: int) -> None:
        rbuf = self.rbuf
        if n >= 4 and rbuf[0] == 0 and rbuf[1] == 3:
            block16 = rbuf[2] << 8 | rbuf[3]
            delta = (block16 - self.received) & 0xFFFF
            if delta != 1:
                if delta == 0 or delta > 0x8000:  # duplicate of a block already written
                    self.send(self.last_reply)
                elif self.gap_acked != self.received:  # a gap: tell where to restart
                    self.gap_acked = self.received
                    self.ack()
                return
            if self.complete:
                return
            size = n - 4
            if size > self.opts.blksize:
                self.abort(ErrorCode.ILLEGAL_OPERATION, "Block larger than negotiated")
                return
            payload = bytes(self.rview[4:n])
            if self.decoder is not None:
                payload = self.decoder.feed(payload)
            self.done += len(payload)
            if self.done > self.cap:
                self.abort(ErrorCode.DISK_FULL, "Upload exceeds the size limit")
                return
            self.file.write(payload)
            self.received += 1
            self.since_ack += 1
            self.made_progress()
            if size < self.opts.blksize:
                self.commit()
                return
            if self.since_ack >= self.opts.windowsize:
                self.ack()
            if self.done >= self.next_progress:
                self.progress()
        elif n >= 2 and rbuf[0] == 0 and rbuf[1] == 5:
            self.peer_error(n)
        else:
            self.unexpected(n)

    def commit(self) -> None:
        if self.decoder is not None:
            tail = self.decoder.finish()
            self.file.write(tail)
            self.done += len(tail)
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        os.replace(self.temp_path, os.path.join(self.directory, self.name))
        dir_fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        self.complete = True
        self.ack()
        # Dally: stay to re-ACK a retransmitted last DATA, then finish from the timer.
        self.server.call_hook("transfer_progress", self.info, self.done)
        self.rto = self.base_rto

    def cleanup(self, ok: bool) -> None:
        if not self.file.closed:
            self.file.close()
        if not self.complete:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.temp_path)

    def finish(self, error: str | None) -> None:
        # Once the file is in place, a late error or a lost last ACK changes nothing.
        super().finish(None if self.complete else error)


# -- the server -----------------------------------------------------------------------------


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


class TftpServer:
    """The listening socket and the set of running transfers."""

    def __init__(self, config: TftpServerConfig, hook: TftpHook | None = None) -> None:
        self.config = config
        self.hook: TftpHook = hook if hook is not None else NullHook()
        self.transfers: dict[Address, _Transfer] = {}
        self._ids = itertools.count(1)
        self._sock: socket.socket | None = None

    loop: asyncio.AbstractEventLoop  # set by start()

    @property
    def address(self) -> Address:
        if self._sock is None:
            raise RuntimeError("server not started")
        host, port = self._sock.getsockname()[:2]
        return host, port

    async def start(self, listening: socket.socket | None = None) -> None:
        """Listen on the configured address, or on `listening` (a bound UDP socket shared
        by several worker processes)."""
        self.loop = asyncio.get_running_loop()
        if listening is not None:
            listening.setblocking(False)
            self._sock = listening
        else:
            self._sock = _bind_socket(self.config.host, self.config.port, self.config.reuse_port)
        self.loop.add_reader(self._sock.fileno(), self._on_request)
        log.info("tftp server on %s:%d, root %s", *self.address, self.config.root)

    async def close(self) -> None:
        if self._sock is not None:
            self.loop.remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        for transfer in list(self.transfers.values()):
            transfer.abort(ErrorCode.NOT_DEFINED, "Server shutting down")

    async def __aenter__(self) -> TftpServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def call_hook(self, name: str, *args: object) -> None:
        try:
            getattr(self.hook, name)(*args)
        except Exception:
            log.exception("tftp hook %s failed", name)

    def transfer_done(self, transfer: _Transfer) -> None:
        if self.transfers.get(transfer.peer) is transfer:
            del self.transfers[transfer.peer]
        if self.config.load_board is not None:
            self.config.load_board.set(len(self.transfers))

    def _on_request(self) -> None:
        sock = self._sock
        if sock is None:
            return
        board = self.config.load_board
        if board is not None and not board.least_loaded():
            # a less busy worker will take it; look again shortly in case it cannot
            self._step_back(sock, 0.005)
            return
        for _ in range(self.config.requests_per_wakeup):
            try:
                packet, peer = sock.recvfrom(tftp.MAX_REQUEST_SIZE + 1)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.debug("tftp: receive on the listening socket failed: %s", exc)
                return
            try:
                self._handle_request(packet, (peer[0], peer[1]))
            except Exception:
                log.exception("tftp: request from %s failed", peer)
            pause = min(self.config.accept_pause * len(self.transfers), 0.05)
            if pause > 0:
                # Step back from the shared socket for a moment, longer the busier we are,
                # so that idle workers take the next requests.
                self._step_back(sock, pause)
                return

    def _step_back(self, sock: socket.socket, pause: float) -> None:
        self.loop.remove_reader(sock.fileno())
        self.loop.call_later(pause, self._resume_requests, sock)

    def _resume_requests(self, sock: socket.socket) -> None:
        if self._sock is sock:
            self.loop.add_reader(sock.fileno(), self._on_request)

    def _reply_error(self, peer: Address, code: ErrorCode, message: str) -> None:
        """Errors for refused requests come from a fresh TID, as a transfer would."""
        try:
            sock = _bind_socket(self.config.host, 0, peer=peer)
        except OSError as exc:
            log.warning("tftp: cannot open a socket to refuse %s: %s", peer, exc)
            return
        with sock, contextlib.suppress(OSError):
            sock.send(tftp.encode_error(code, message))

    def _handle_request(self, packet: bytes, peer: Address) -> None:
        try:
            request = tftp.parse(packet)
        except MalformedPacket as exc:
            log.info("tftp %s: bad request: %s", peer, exc)
            if len(packet) >= 2 and packet[1] in (1, 2) and packet[0] == 0:
                self._reply_error(peer, exc.code, str(exc))
            return
        if not isinstance(request, tftp.Request):
            log.debug("tftp %s: %s on the listening port dropped", peer, type(request).__name__)
            return
        if peer in self.transfers:
            log.debug("tftp %s: repeated request while its transfer runs, dropped", peer)
            return
        if len(self.transfers) >= self.config.max_transfers:
            self._reply_error(peer, ErrorCode.NOT_DEFINED, "Server busy")
            return
        try:
            self._start_transfer(request, peer)
        except Refused as exc:
            log.info(
                "tftp %s: %s %r refused: %s",
                peer,
                "RRQ" if request.is_read else "WRQ",
                request.filename,
                exc.message,
            )
            self._reply_error(peer, exc.code, exc.message)

    def _start_transfer(self, request: tftp.Request, peer: Address) -> None:
        config = self.config
        if request.is_read:
            policy = getattr(self.hook, "approve_read", None)
            if policy is not None:
                try:
                    allowed = bool(policy(peer, request.filename))
                except Exception:
                    log.exception("tftp hook approve_read failed")
                    allowed = False
                if not allowed:
                    raise Refused(ErrorCode.ACCESS_VIOLATION, "Access violation")
            fd, size, real = open_for_read(config.root, request.filename)
            try:
                # tsize is not known ahead for netascii; for an empty file curl (7.88) takes
                # "tsize 0" in an OACK as an error, so it is left out there too.
                known = size if request.mode is Mode.OCTET and size > 0 else None
                opts, oack = tftp.negotiate(request, config.limits, known)
                info = TransferInfo(
                    next(self._ids),
                    peer,
                    request.filename,
                    real,
                    True,
                    request.mode.value,
                    size,
                    opts,
                )
                sock = _bind_socket(config.host, 0, peer=peer)
            except BaseException:
                os.close(fd)
                raise
            transfer: _Transfer = _ReadTransfer(self, sock, peer, info, oack, fd, size)
        else:
            directory, name = upload_target(config, request.filename)
            opts, oack = tftp.negotiate(request, config.limits, None)
            if opts.tsize is not None and opts.tsize > config.max_upload_size:
                raise Refused(ErrorCode.DISK_FULL, "Upload exceeds the size limit")
            try:
                approved = self.hook.approve_upload(peer, name, opts.tsize)
            except Exception:
                log.exception("tftp hook approve_upload failed")
                approved = False
            if not approved:
                raise Refused(ErrorCode.ACCESS_VIOLATION, "Upload not allowed")
            path = os.path.join(directory, name)
            info = TransferInfo(
                next(self._ids),
                peer,
                request.filename,
                path,
                False,
                request.mode.value,
                opts.tsize,
                opts,
            )
            sock = _bind_socket(config.host, 0, peer=peer)
            # room for a whole window of large blocks (the kernel caps it at rmem_max)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            try:
                transfer = _WriteTransfer(self, sock, peer, info, oack, directory, name)
            except OSError as exc:
                sock.close()
                raise Refused(ErrorCode.ACCESS_VIOLATION, f"Cannot write: {exc.strerror}") from None
        self.transfers[peer] = transfer
        if config.load_board is not None:
            config.load_board.set(len(self.transfers))
        log.debug(
            "tftp %s: %s %r %s", peer, "RRQ" if request.is_read else "WRQ", request.filename, opts
        )
        transfer.begin()
