"""The data side of TFTP transfers: one object per transfer, served by a reader callback.

Each transfer owns its own UDP socket (its TID, RFC 1350) and is driven by callbacks from
a loop (the asyncio event loop, or a worker process's own loop, see tftp_worker); no
per-packet tasks, futures or timers. Files are streamed with `os.preadv` into one
preallocated buffer per transfer, so memory does not grow with file size. Uploads build on
`Transfer` in tftp_uploads.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
from collections.abc import Callable
from typing import Protocol

from smartinstall.services.tftp_base import (
    Address,
    TftpServerConfig,
    TransferInfo,
    bind_socket,
    open_for_read,
    overloaded,
)
from smartinstall.services.tftp_limits import is_overload
from smartinstall.wire import tftp
from smartinstall.wire.tftp import ErrorCode, MalformedPacket, Mode

log = logging.getLogger("smartinstall.services.tftp")

_ACK_RECV_SIZE = 1024  # a download only receives ACKs and ERRORs; longer datagrams are junk
_READ_AHEAD = 16384  # bytes read at once for a download


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class TransferLoop(Protocol):
    """What a transfer needs of its loop: readiness callbacks and one-shot timers."""

    def add_reader(self, fd: int, callback: Callable[[], object]) -> None: ...

    def remove_reader(self, fd: int) -> bool: ...

    def call_later(self, delay: float, callback: Callable[[], object]) -> Cancellable: ...


class TransferHost(Protocol):
    """Who runs the transfers: the server (on its event loop) or a worker process."""

    @property
    def loop(self) -> TransferLoop: ...

    @property
    def config(self) -> TftpServerConfig: ...

    def call_hook(self, name: str, *args: object) -> None: ...

    def transfer_done(self, transfer: Transfer) -> None: ...

    def transfer_unanswered(self, transfer: Transfer, unanswered: bool) -> None:
        """The transfer's first retransmission is due and its peer never answered (True);
        or such a transfer was answered after all (False). Once each, from its timer."""


class Transfer:
    """State shared by downloads and uploads: socket, peer, timer, hook calls."""

    # Slots: a download has more attributes than CPython keeps in a fast shared-key
    # instance dict (30), and the per-packet path reads a dozen of them.
    __slots__ = (
        "base_rto",
        "closed",
        "done",
        "first_mark",
        "info",
        "last_mark",
        "loop",
        "next_progress",
        "oack",
        "opts",
        "peer",
        "rbuf",
        "refused",
        "retries",
        "rto",
        "rview",
        "server",
        "sock",
        "timer",
        "unanswered",
    )

    def __init__(
        self,
        server: TransferHost,
        sock: socket.socket,
        peer: Address,
        info: TransferInfo,
        oack: dict[str, str],
    ) -> None:
        self.server = server
        self.loop = server.loop
        self.sock = sock
        self.refused = False  # the peer's port answered "unreachable": it may be done and gone
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
        self.first_mark = -1
        self.unanswered = False
        self.timer: Cancellable | None = None
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
        self.last_mark = self.first_mark = self.mark()
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
            # a failure before any byte (a flood's) is the host's to say, counted
            log.log(
                logging.INFO if self.done else logging.DEBUG,
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
        if self.refused:
            return
        try:
            self.sock.send(packet)
        except (BlockingIOError, InterruptedError):
            pass  # treated as a loss; the timer retransmits
        except OSError as exc:
            self.send_failed(exc)

    def send_failed(self, exc: OSError) -> None:
        """A send failed. "Connection refused" is the ICMP answer to an earlier packet: the
        peer may have finished and gone, its last ACK still queued here (a windowed peer that
        acknowledged an early block gets blocks resent after it left). Sending stops; once
        the handler under way has returned, what the peer sent is read, and only then is the
        transfer failed."""
        if self.closed:
            return
        if isinstance(exc, ConnectionRefusedError):
            self._refused(f"send failed: {exc}")
            return
        self.finish(f"send failed: {exc}")

    def receive_failed(self, exc: OSError) -> None:
        """A receive failed; "connection refused" as in :meth:`send_failed` (the error is
        reported once, the peer's queued datagrams can still be read)."""
        if self.closed:
            return
        if isinstance(exc, ConnectionRefusedError):
            self._refused(f"receive failed: {exc}")
            return
        self.finish(f"receive failed: {exc}")

    def _refused(self, error: str) -> None:
        if self.refused:
            return
        self.refused = True
        self.loop.call_later(0, lambda: self._after_refusal(error))

    def _after_refusal(self, error: str) -> None:
        if self.closed:
            return
        self._drain()
        if not self.closed:
            self.finish(error)

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
            self.receive_failed(exc)
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
        if mark == self.last_mark:
            # Before calling it a loss, read what already waits on the socket: on a busy host
            # the peer's (last) ACK may be queued behind this timer, and a retransmission to a
            # client that has finished and gone would end the transfer in error.
            self._drain()
            if self.closed:
                return
            mark = self.mark()
        if mark != self.last_mark:
            self.last_mark = mark
            if self.unanswered:
                self.unanswered = False
                self.server.transfer_unanswered(self, False)
            self.timer = self.loop.call_later(self.rto, self._on_timer)
            return
        if not self.unanswered and mark == self.first_mark:
            self.unanswered = True
            self.server.transfer_unanswered(self, True)
            if self.closed:  # the host may end it there and then
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

    def _drain(self, most: int = 64) -> None:
        """Handle the datagrams already queued on the socket (a timer's look, not per packet).
        poll, not select: descriptors above 1023 are common once the limit is raised."""
        poller = select.poll()
        poller.register(self.sock.fileno(), select.POLLIN)
        for _ in range(most):
            if self.closed:
                return
            try:
                ready = poller.poll(0)
            except OSError:
                return
            if not ready:
                return
            self._readable()

    def mark(self) -> int:
        """A number that changes whenever the transfer makes progress."""
        raise NotImplementedError

    def made_progress(self) -> None:
        if self.retries:
            self.retries = 0
            self.rto = self.base_rto


class ReadTransfer(Transfer):
    """A download: DATA out, ACKs in; lock-step or windowed (RFC 7440)."""

    __slots__ = (
        "acked",
        "blksize",
        "cache",
        "chunk_blocks",
        "chunk_first",
        "dup_resent",
        "eof",
        "fast",
        "fd",
        "file_offset",
        "last_block",
        "last_len",
        "netascii",
        "nslots",
        "packets",
        "payloads",
        "pending",
        "sbuf",
        "sent",
        "size",
        "waiting_oack",
        "window",
    )

    def __init__(
        self,
        server: TransferHost,
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
            self.receive_failed(exc)
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
        if self.refused:
            return
        try:
            self.sock.send(packet)
        except (BlockingIOError, InterruptedError):
            pass  # a loss; the timer retransmits
        except OSError as exc:
            self.send_failed(exc)

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


# -- starting a transfer --------------------------------------------------------------------


def start_read(
    host: TransferHost, request: tftp.Request, peer: Address, transfer_id: int
) -> ReadTransfer:
    """Open the file (confined to the root) and set up its download. Raises Refused; the
    caller registers the transfer and calls begin()."""
    config = host.config
    fd, size, real = open_for_read(config.root, request.filename)
    try:
        # tsize is not known ahead for netascii; for an empty file curl (7.88) takes
        # "tsize 0" in an OACK as an error, so it is left out there too.
        known = size if request.mode is Mode.OCTET and size > 0 else None
        opts, oack = tftp.negotiate(request, config.limits, known)
        info = TransferInfo(
            transfer_id, peer, request.filename, real, True, request.mode.value, size, opts
        )
        sock = bind_socket(config.host, 0, peer=peer)
    except OSError as exc:
        os.close(fd)
        if is_overload(exc):
            raise overloaded(exc) from None
        raise
    except BaseException:
        os.close(fd)
        raise
    return ReadTransfer(host, sock, peer, info, oack, fd, size)
