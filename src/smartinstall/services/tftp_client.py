"""TFTP client for the director's own use: fetch `tftp://host[:port]/path` files and write
files (the imagelist) to an external TFTP server. Same codec and options as the server.

Downloads stream to a temporary file renamed into place when complete (or to an open binary
stream); uploads read the source block by block, so neither holds a whole file in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import socket
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from smartinstall.wire import tftp
from smartinstall.wire.tftp import ErrorCode, MalformedPacket, Mode, Opcode, TransferOptions

log = logging.getLogger(__name__)

Address = tuple[str, int]


class TftpClientError(Exception):
    """A transfer that failed: the server's TFTP error, a timeout or a protocol violation."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ClientOptions:
    """What to ask for. None leaves an option out of the request."""

    blksize: int | None = 1468
    windowsize: int | None = None
    timeout: int | None = None  # RFC 2349 timeout option, seconds
    tsize: bool = True
    mode: Mode = Mode.OCTET
    retransmit_timeout: float = 1.0  # when no timeout option was agreed
    max_retries: int = 5
    local_host: str | None = None  # source address (an emulated switch sends from its own)

    def request_options(self, tsize: int) -> dict[str, str]:
        options: dict[str, str] = {}
        if self.blksize is not None:
            options["blksize"] = str(self.blksize)
        if self.windowsize is not None:
            options["windowsize"] = str(self.windowsize)
        if self.timeout is not None:
            options["timeout"] = str(self.timeout)
        if self.tsize:
            options["tsize"] = str(tsize)
        return options


def parse_tftp_url(url: str) -> tuple[str, int, str]:
    """`tftp://host[:port]/path` -> (host, port, path without the leading slash)."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "tftp" or not parts.hostname:
        raise ValueError(f"not a tftp:// URL: {url!r}")
    path = unquote(parts.path).lstrip("/")
    if not path:
        raise ValueError(f"no file in {url!r}")
    try:
        port = parts.port or 69
    except ValueError:
        raise ValueError(f"bad port in {url!r}") from None
    return parts.hostname, port, path


async def _open(host: str, port: int, options: ClientOptions) -> _Session:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    if not infos:
        raise TftpClientError(f"cannot resolve {host}")
    family, _, _, _, sockaddr = infos[0]
    return _Session(family, (str(sockaddr[0]), int(sockaddr[1])), options)


def _bind_address(family: int, options: ClientOptions) -> str:
    if options.local_host:
        return options.local_host
    return "::" if family == socket.AF_INET6 else "0.0.0.0"


class _Session:
    """One transfer's socket: the first answer fixes the server's TID (RFC 1350)."""

    def __init__(self, family: int, server: Address, options: ClientOptions) -> None:
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        # room for a whole window of large blocks (the kernel caps it at rmem_max)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        try:
            self.sock.bind((_bind_address(family, options), 0))
        except OSError:
            self.sock.close()
            raise
        self.server: Address = server
        self.peer: Address | None = None
        self.loop = asyncio.get_running_loop()
        self.rto = options.retransmit_timeout
        self.base_rto = self.rto
        self.max_retries = options.max_retries
        self.retries = 0

    def close(self) -> None:
        self.sock.close()

    def send(self, packet: bytes | memoryview) -> None:
        self.sock.sendto(packet, self.peer or self.server)

    async def receive(self) -> tftp.Packet | None:
        """The next packet from the server, or None on timeout."""
        try:
            async with asyncio.timeout(self.rto):
                while True:
                    data, addr = await self.loop.sock_recvfrom(self.sock, 4 + tftp.MAX_BLKSIZE)
                    source = (addr[0], addr[1])
                    if self.peer is None:
                        if source[0] != self.server[0]:
                            continue
                        self.peer = source
                    elif source != self.peer:
                        log.info("tftp client: packet from unknown TID %s", source)
                        self.sock.sendto(
                            tftp.encode_error(ErrorCode.UNKNOWN_TID, "Unknown transfer ID"),
                            source,
                        )
                        continue
                    try:
                        return tftp.parse(data)
                    except MalformedPacket as exc:
                        log.info("tftp client: malformed packet dropped: %s", exc)
        except TimeoutError:
            return None

    def timed_out(self) -> None:
        self.retries += 1
        if self.retries > self.max_retries:
            raise TftpClientError("transfer timed out")
        self.rto = min(self.rto * 2, max(8.0, self.base_rto))

    def progressed(self) -> None:
        self.retries = 0
        self.rto = self.base_rto

    def fail(self, code: ErrorCode, message: str) -> TftpClientError:
        with contextlib.suppress(OSError):
            self.send(tftp.encode_error(code, message))
        return TftpClientError(message, code)


class _OptionsRefused(Exception):
    """The server answered the request with ERROR 8."""


def _without_options(options: ClientOptions) -> ClientOptions:
    return dataclasses.replace(options, blksize=None, windowsize=None, timeout=None, tsize=False)


def _server_error(packet: tftp.Error) -> TftpClientError:
    return TftpClientError(f"server error {packet.code}: {packet.message}", packet.code)


async def fetch_to(
    host: str, port: int, filename: str, out: BinaryIO, options: ClientOptions = ClientOptions()
) -> int:
    """Download `filename` into the binary stream `out`; returns the number of bytes."""
    session = await _open(host, port, options)
    try:
        return await _fetch(session, filename, out, options)
    except _OptionsRefused:
        pass
    finally:
        session.close()
    # RFC 2347: a server that refuses the options is asked again without them.
    session = await _open(host, port, options)
    try:
        return await _fetch(session, filename, out, _without_options(options))
    finally:
        session.close()


async def _fetch(session: _Session, filename: str, out: BinaryIO, options: ClientOptions) -> int:
    return await _Download(session, filename, out, options).run()


# Received bytes are gathered into one buffer and written to the output stream in chunks of
# this size (at 512-byte blocks, one write per 128 blocks instead of one per block).
_WRITE_CHUNK = 65536
_now = time.monotonic


class _Download:
    """One download (RRQ): a reader callback on the transfer's socket, no task, future,
    timeout context or allocation per packet.

    The request goes to the server's port; the first answer from the server's host fixes its
    TID and the socket is then connected to it (the kernel drops datagrams from anywhere
    else). In-order octet DATA takes an inlined fast path: `recv_into` a preallocated buffer,
    the payload copied into the write buffer, the ACK sent from a preallocated 4-byte buffer.
    Everything else (OACK, ERROR, duplicates, gaps, netascii, the first answer) goes through
    :meth:`_packet`, which follows RFC 1350/2347/7440 as the loop it replaced did. One timer
    per transfer, re-armed lazily: it retransmits when nothing was heard from the server for
    the retransmission timeout.
    """

    def __init__(
        self, session: _Session, filename: str, out: BinaryIO, options: ClientOptions
    ) -> None:
        self.session = session
        self.sock = session.sock
        self.out = out
        self.asked = options.request_options(0)
        self.request = tftp.encode_request(Opcode.RRQ, filename, options.mode, self.asked)
        self.decoder = tftp.NetasciiDecoder() if options.mode is Mode.NETASCII else None
        self.opts: TransferOptions | None = None
        self.blksize = 0
        self.window = 1
        self.last_reply: bytes | None = self.request  # None: the ACK of `last_ack`
        self.last_ack = 0
        self.ack = bytearray(b"\x00\x04\x00\x00")
        self.received = 0  # absolute blocks written
        self.since_ack = 0
        self.gap_acked = -1
        self.total = 0
        self.rbuf = bytearray(0)
        self.rview = memoryview(self.rbuf)
        self.wbuf = bytearray(0)
        self.wview = memoryview(self.wbuf)
        self.wpos = 0
        self.wlimit = 0  # past this, the next block might not fit: flush
        self.reading = True
        self.heard = 0.0  # when the server was last heard from (or we last retransmitted)
        self.loop = session.loop
        self.future: asyncio.Future[int] = self.loop.create_future()
        self.timer: asyncio.TimerHandle | None = None

    async def run(self) -> int:
        fd = self.sock.fileno()
        self.loop.add_reader(fd, self._readable_slow)
        try:
            self.heard = _now()
            self.timer = self.loop.call_later(self.session.rto, self._on_timer)
            self._send(self.request)
            return await self.future
        finally:
            self._stop_reading()
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None

    # --- results -------------------------------------------------------------------------

    def _stop_reading(self) -> None:
        if self.reading:
            self.reading = False
            self.loop.remove_reader(self.sock.fileno())

    def _succeed(self) -> None:
        if not self.future.done():
            self._stop_reading()  # nothing more is read or written once the result is set
            self.future.set_result(self.total)

    def _fail(self, error: BaseException, flush: bool = True) -> None:
        """End with an error; what was received is written out first, as block by block."""
        if self.future.done():
            return
        self._stop_reading()
        if flush:
            try:
                self._flush()
            except Exception as exc:  # the stream failed: that is the error to report
                error = exc
        self.future.set_exception(error)

    def _flush(self) -> None:
        if self.wpos:
            data = bytes(self.wview[: self.wpos])
            self.wpos = 0
            self.out.write(data)

    def _emit(self, data: bytes | memoryview) -> None:
        n = len(data)
        if self.wpos + n > len(self.wbuf):
            self._flush()
            if n > len(self.wbuf):
                self.out.write(bytes(data))
                return
        self.wbuf[self.wpos : self.wpos + n] = data
        self.wpos += n

    # --- sending -------------------------------------------------------------------------

    def _send(self, packet: bytes | bytearray | memoryview) -> None:
        try:
            if self.session.peer is None:
                self.sock.sendto(packet, self.session.server)
            else:
                self.sock.send(packet)
        except (BlockingIOError, InterruptedError, ConnectionRefusedError):
            pass  # a loss (or an ICMP error of an earlier datagram): the timer retransmits

    def _send_ack(self, block: int) -> None:
        """ACK `block` and make it the reply to repeat."""
        ack = self.ack
        ack[2] = (block >> 8) & 0xFF
        ack[3] = block & 0xFF
        self.last_reply = None
        self.last_ack = block
        self._send(ack)

    def _resend(self) -> None:
        if self.last_reply is None:
            self._send_ack(self.last_ack)
        else:
            self._send(self.last_reply)

    # --- the timer -----------------------------------------------------------------------

    def _on_timer(self) -> None:
        self.timer = None
        if self.future.done():
            return
        session = self.session
        wait = self.heard + session.rto - _now()
        if wait > 0:
            self.timer = self.loop.call_later(wait, self._on_timer)
            return
        try:
            session.timed_out()
        except TftpClientError as error:
            self._fail(error)
            return
        if self.since_ack:  # RFC 7440: acknowledge what arrived of a window cut short
            self.since_ack = 0
            self._send_ack(self.received)
        else:
            self._resend()
        self.heard = _now()
        self.timer = self.loop.call_later(session.rto, self._on_timer)

    def _progressed(self) -> None:
        """After retransmissions: back to the base timeout, and a timer that follows it."""
        self.session.progressed()
        if self.timer is not None:
            self.timer.cancel()
        self.timer = self.loop.call_later(self.session.rto, self._on_timer)

    # --- receiving -----------------------------------------------------------------------

    def _readable(self) -> None:
        """The hot path: the next in-order DATA block of an octet download, inlined. Only
        registered once the options are settled and the socket connected (see _settle)."""
        try:
            n = self.sock.recv_into(self.rbuf)
        except OSError:
            return  # EAGAIN, or an ICMP error of an earlier datagram: the timer decides
        rbuf = self.rbuf
        try:
            if n >= 4 and rbuf[1] == 3 and rbuf[0] == 0:
                received = self.received + 1
                if (rbuf[2] << 8 | rbuf[3]) == received & 0xFFFF:
                    size = n - 4
                    blksize = self.blksize
                    if size > blksize:
                        self._fail(self._violation("block larger than negotiated"))
                        return
                    self.heard = _now()
                    pos = self.wpos
                    end = pos + size
                    self.wbuf[pos:end] = self.rview[4:n]
                    self.wpos = end
                    if end > self.wlimit:
                        self._flush()
                    self.total += size
                    self.received = received
                    if self.session.retries:
                        self._progressed()
                    if size < blksize:
                        self._last_block()
                        return
                    since_ack = self.since_ack + 1
                    if since_ack < self.window:
                        self.since_ack = since_ack
                        return
                    self.since_ack = 0
                    ack = self.ack
                    ack[2] = (received >> 8) & 0xFF
                    ack[3] = received & 0xFF
                    self.last_reply = None
                    self.last_ack = received
                    try:  # noqa: SIM105 (no context manager per packet)
                        self.sock.send(ack)
                    except OSError:
                        pass  # a loss: the timer retransmits
                    return
            self._datagram(bytes(self.rview[:n]))
        except Exception as error:
            self._fail(error, flush=False)

    def _readable_slow(self) -> None:
        """Before the options are settled: any size, and from where (the server's TID)."""
        try:
            data, addr = self.sock.recvfrom(4 + tftp.MAX_BLKSIZE)
        except OSError:
            return
        try:
            session = self.session
            if session.peer is None:
                if addr[0] != session.server[0]:
                    return
                session.peer = (addr[0], addr[1])
                self.sock.connect(session.peer)  # from now on, only the server's TID
            elif (addr[0], addr[1]) != session.peer:
                return  # queued before the socket was connected
            self._datagram(data)
        except Exception as error:
            self._fail(error, flush=False)

    def _datagram(self, data: bytes) -> None:
        try:
            packet = tftp.parse(data)
        except MalformedPacket as exc:
            log.info("tftp client: malformed packet dropped: %s", exc)
            return
        self.heard = _now()
        self._packet(packet)

    def _violation(
        self, message: str, code: ErrorCode = ErrorCode.ILLEGAL_OPERATION
    ) -> TftpClientError:
        return self.session.fail(code, message)

    def _packet(self, packet: tftp.Packet) -> None:
        """Any packet from the server, the general way."""
        opts = self.opts
        if isinstance(packet, tftp.Error):
            if opts is None and self.asked and packet.code == ErrorCode.OPTION_REFUSED:
                self._fail(_OptionsRefused())
            else:
                self._fail(_server_error(packet))
            return
        if opts is None:
            if isinstance(packet, tftp.OAck):
                try:
                    opts = tftp.accept_oack(self.asked, packet.options)
                except MalformedPacket as exc:
                    self._fail(self._violation(str(exc), exc.code))
                    return
                self._settle(opts)
                if opts.timeout is not None:
                    self.session.rto = self.session.base_rto = opts.timeout
                self._send_ack(0)
                self._progressed()
                return
            if not isinstance(packet, tftp.Data):
                return
            opts = TransferOptions()  # the server ignored our options
            self._settle(opts)
        if not isinstance(packet, tftp.Data):
            return
        delta = (packet.block - self.received) & 0xFFFF
        if delta != 1:
            if delta == 0 or delta > 0x8000:
                self._resend()  # a duplicate: our ACK was lost
            elif self.gap_acked != self.received:
                self.gap_acked = self.received
                self._send_ack(self.received)
            return
        if len(packet.payload) > opts.blksize:
            self._fail(self._violation("block larger than negotiated"))
            return
        payload = packet.payload if self.decoder is None else self.decoder.feed(packet.payload)
        self._emit(payload)
        self.total += len(payload)
        self.received += 1
        self.since_ack += 1
        if self.session.retries:
            self._progressed()
        if len(packet.payload) < opts.blksize:
            self._last_block()
            return
        if self.since_ack >= opts.windowsize:
            self.since_ack = 0
            self._send_ack(self.received)

    def _settle(self, opts: TransferOptions) -> None:
        """The transfer's options are known: buffers of their size, and the fast path."""
        self.opts = opts
        self.blksize = opts.blksize
        self.window = opts.windowsize
        # one byte more than a block, so that a larger datagram is seen as such
        self.rbuf = bytearray(4 + opts.blksize + 1)
        self.rview = memoryview(self.rbuf)
        self.wbuf = bytearray(max(_WRITE_CHUNK, 2 * opts.blksize))
        self.wview = memoryview(self.wbuf)
        self.wlimit = len(self.wbuf) - opts.blksize
        if self.decoder is None and self.session.peer is not None:
            self.loop.add_reader(self.sock.fileno(), self._readable)  # the fast path

    def _last_block(self) -> None:
        """A short block: the end of the file."""
        opts = self.opts
        assert opts is not None
        decoder = self.decoder
        if decoder is not None:
            tail = decoder.finish()
            self._emit(tail)
            self.total += len(tail)
        self._flush()
        block = self.received
        self._send(bytes((0, 4, (block >> 8) & 0xFF, block & 0xFF)))
        if decoder is None and opts.tsize is not None and self.total != opts.tsize:
            self._fail(
                TftpClientError(f"received {self.total} bytes, the server announced {opts.tsize}")
            )
            return
        self._succeed()


async def fetch(
    host: str, port: int, filename: str, dest: Path, options: ClientOptions = ClientOptions()
) -> int:
    """Download to `dest` atomically: temporary file, fsync, rename."""
    fd, temp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            size = await fetch_to(host, port, filename, out, options)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    return size


async def fetch_url(url: str, dest: Path, options: ClientOptions = ClientOptions()) -> int:
    host, port, path = parse_tftp_url(url)
    return await fetch(host, port, path, dest, options)


def _netascii_spool(source: BinaryIO) -> BinaryIO:
    spool = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the caller)
    for chunk in iter(lambda: source.read(65536), b""):
        spool.write(tftp.netascii_encode(chunk))
    spool.seek(0)
    return spool


def _blocks(source: BinaryIO, blksize: int, start: int, end: int) -> Iterator[bytes]:
    source.seek((start - 1) * blksize)
    for _ in range(start, end + 1):
        yield source.read(blksize)


async def upload_from(
    host: str,
    port: int,
    filename: str,
    source: BinaryIO,
    options: ClientOptions = ClientOptions(),
) -> int:
    """Write the seekable binary stream `source` to the server as `filename`."""
    session = await _open(host, port, options)
    spool: BinaryIO | None = None
    try:
        if options.mode is Mode.NETASCII:
            spool = source = _netascii_spool(source)
        size = source.seek(0, os.SEEK_END)
        source.seek(0)
        try:
            return await _upload(session, filename, source, size, options)
        except _OptionsRefused:
            session.close()
            # RFC 2347: a server that refuses the options is asked again without them.
            session = await _open(host, port, options)
            return await _upload(session, filename, source, size, _without_options(options))
    finally:
        session.close()
        if spool is not None:
            spool.close()


async def _upload(
    session: _Session, filename: str, source: BinaryIO, size: int, options: ClientOptions
) -> int:
    asked = options.request_options(size)
    request = tftp.encode_request(Opcode.WRQ, filename, options.mode, asked)
    session.send(request)
    opts: TransferOptions | None = None
    while opts is None:
        packet = await session.receive()
        if packet is None:
            session.timed_out()
            session.send(request)
        elif isinstance(packet, tftp.Error):
            if asked and packet.code == ErrorCode.OPTION_REFUSED:
                raise _OptionsRefused()
            raise _server_error(packet)
        elif isinstance(packet, tftp.OAck):
            try:
                opts = tftp.accept_oack(asked, packet.options)
            except MalformedPacket as exc:
                raise session.fail(exc.code, str(exc)) from None
        elif isinstance(packet, tftp.Ack) and packet.block == 0:
            opts = TransferOptions()
    if opts.timeout is not None:
        session.rto = session.base_rto = opts.timeout
    session.progressed()
    bs, window = opts.blksize, opts.windowsize
    last_block = size // bs + 1
    acked = 0
    dup_resent = -1

    def send_window() -> None:
        end = min(acked + window, last_block)
        for b, payload in zip(
            range(acked + 1, end + 1), _blocks(source, bs, acked + 1, end), strict=True
        ):
            session.send(tftp.encode_data(b, payload))

    send_window()
    while True:
        packet = await session.receive()
        if packet is None:
            session.timed_out()
            send_window()
            continue
        if isinstance(packet, tftp.Error):
            raise _server_error(packet)
        if not isinstance(packet, tftp.Ack):
            continue
        outstanding = min(acked + window, last_block) - acked
        delta = (packet.block - acked) & 0xFFFF
        if delta == 0:
            if window > 1 and dup_resent != acked:
                dup_resent = acked
                send_window()
            continue
        if delta > outstanding:
            continue  # an ACK for a block not sent: dropped
        acked += delta
        session.progressed()
        if acked == last_block:
            return size
        send_window()


async def upload(
    host: str,
    port: int,
    filename: str,
    source: Path,
    options: ClientOptions = ClientOptions(),
) -> int:
    with source.open("rb") as stream:
        return await upload_from(host, port, filename, stream, options)


async def upload_url(url: str, source: Path, options: ClientOptions = ClientOptions()) -> int:
    host, port, path = parse_tftp_url(url)
    return await upload(host, port, path, source, options)
