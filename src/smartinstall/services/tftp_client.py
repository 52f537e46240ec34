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
    asked = options.request_options(0)
    request = tftp.encode_request(Opcode.RRQ, filename, options.mode, asked)
    decoder = tftp.NetasciiDecoder() if options.mode is Mode.NETASCII else None
    opts: TransferOptions | None = None
    last_reply = request
    received = 0  # absolute blocks written
    since_ack = 0
    gap_acked = -1
    total = 0
    session.send(request)
    while True:
        packet = await session.receive()
        if packet is None:
            session.timed_out()
            if since_ack:  # RFC 7440: acknowledge what arrived of a window cut short
                since_ack = 0
                last_reply = tftp.encode_ack(received)
            session.send(last_reply)
            continue
        if isinstance(packet, tftp.Error):
            if opts is None and asked and packet.code == ErrorCode.OPTION_REFUSED:
                raise _OptionsRefused()
            raise _server_error(packet)
        if opts is None:
            if isinstance(packet, tftp.OAck):
                try:
                    opts = tftp.accept_oack(asked, packet.options)
                except MalformedPacket as exc:
                    raise session.fail(exc.code, str(exc)) from None
                if opts.timeout is not None:
                    session.rto = session.base_rto = opts.timeout
                last_reply = tftp.encode_ack(0)
                session.send(last_reply)
                session.progressed()
                continue
            if isinstance(packet, tftp.Data):
                opts = TransferOptions()  # the server ignored our options
            else:
                continue
        if not isinstance(packet, tftp.Data):
            continue
        delta = (packet.block - received) & 0xFFFF
        if delta != 1:
            if delta == 0 or delta > 0x8000:
                session.send(last_reply)  # a duplicate: our ACK was lost
            elif gap_acked != received:
                gap_acked = received
                last_reply = tftp.encode_ack(received)
                session.send(last_reply)
            continue
        if len(packet.payload) > opts.blksize:
            raise session.fail(ErrorCode.ILLEGAL_OPERATION, "block larger than negotiated")
        payload = packet.payload if decoder is None else decoder.feed(packet.payload)
        out.write(payload)
        total += len(payload)
        received += 1
        since_ack += 1
        session.progressed()
        if len(packet.payload) < opts.blksize:
            if decoder is not None:
                tail = decoder.finish()
                out.write(tail)
                total += len(tail)
            session.send(tftp.encode_ack(received))
            if decoder is None and opts.tsize is not None and total != opts.tsize:
                raise TftpClientError(f"received {total} bytes, the server announced {opts.tsize}")
            return total
        if since_ack >= opts.windowsize:
            since_ack = 0
            last_reply = tftp.encode_ack(received)
            session.send(last_reply)


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
