"""The control channel between the TFTP server and its worker processes.

One `socketpair(AF_UNIX, SOCK_SEQPACKET)` per worker; each message is one JSON array whose
first element names it. Down (server to worker): `config` once, then one `start` per
transfer, and `cancel` for a transfer whose place went to another source. Up (worker to
server): `ready`, then per transfer `started` or `refused`, any number of `progress`, at most
two `unanswered` (its peer never answered; answered after all), and `finished`. Messages
are per transfer and per MiB, never per packet. `decode` checks every field and raises only
`ProtocolError`, whatever the bytes. Closing the server's end tells the worker to stop.
"""

from __future__ import annotations

import ipaddress
import json
import math
import socket
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from smartinstall.services.tftp_base import Address, TftpServerConfig
from smartinstall.wire import tftp
from smartinstall.wire.tftp import ServerLimits, TransferOptions

MAX_MESSAGE = 16384  # bytes; a request is at most 1 KiB, a path at most 4 KiB
_MAX_TEXT = 4096
_MAX_ERROR = 1024  # error texts are clipped to this many characters
_MAX_INT = (1 << 63) - 1
_MODES = ("octet", "netascii")


class ProtocolError(ValueError):
    """A control message that cannot be decoded."""


# -- messages -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Configure:
    """Server to worker, first: what the worker serves and how."""

    config: TftpServerConfig
    nice: int = 0
    log_level: int = 30


@dataclass(frozen=True, slots=True)
class StartJob:
    """Server to worker: run this approved request (the worker opens the file itself)."""

    transfer_id: int
    peer: Address
    is_read: bool
    filename: str
    mode: str
    options: dict[str, str] = field(default_factory=dict)

    def request(self) -> tftp.Request:
        opcode = tftp.Opcode.RRQ if self.is_read else tftp.Opcode.WRQ
        return tftp.Request(opcode, self.filename, tftp.Mode(self.mode), dict(self.options))


@dataclass(frozen=True, slots=True)
class CancelJob:
    """Server to worker: end this transfer with "Server busy" (its place went to another
    source); the worker reports it finished as usual."""

    transfer_id: int


@dataclass(frozen=True, slots=True)
class Ready:
    pid: int


@dataclass(frozen=True, slots=True)
class JobStarted:
    transfer_id: int
    path: str
    size: int | None
    options: TransferOptions


@dataclass(frozen=True, slots=True)
class JobRefused:
    """The worker refused the request (the client got the TFTP error); no transfer."""

    transfer_id: int
    code: int
    message: str


@dataclass(frozen=True, slots=True)
class JobProgress:
    transfer_id: int
    done: int


@dataclass(frozen=True, slots=True)
class JobFinished:
    transfer_id: int
    done: int
    error: str | None


@dataclass(frozen=True, slots=True)
class JobUnanswered:
    """The transfer's first retransmission is due and its peer never answered (True), or it
    was answered after all (False)."""

    transfer_id: int
    unanswered: bool


Message = (
    Configure
    | StartJob
    | CancelJob
    | Ready
    | JobStarted
    | JobRefused
    | JobProgress
    | JobFinished
    | JobUnanswered
)


def _clip(text: str) -> str:
    """Free text (errors, partly from clients) as the other end accepts it."""
    return text.replace("\x00", "?")[:_MAX_ERROR]


def encode(message: Message) -> bytes:
    body: list[object]
    match message:
        case Configure(config=c, nice=nice, log_level=level):
            lim = c.limits
            body = [
                "config",
                str(c.root),
                c.host,
                None if c.upload_dir is None else str(c.upload_dir),
                c.upload_prefix,
                c.max_upload_size,
                [lim.max_blksize, lim.max_windowsize, lim.allow_timeout, lim.allow_tsize],
                c.retransmit_timeout,
                c.max_backoff,
                c.max_retries,
                c.progress_interval,
                nice,
                level,
            ]
        case StartJob():
            m = message
            body = ["start", m.transfer_id, m.peer[0], m.peer[1], m.is_read, m.filename, m.mode]
            body.append(m.options)
        case CancelJob(transfer_id=tid):
            body = ["cancel", tid]
        case Ready(pid=pid):
            body = ["ready", pid]
        case JobStarted(transfer_id=tid, path=path, size=size, options=o):
            body = ["started", tid, path, size, o.blksize, o.windowsize, o.timeout, o.tsize]
        case JobRefused(transfer_id=tid, code=code, message=text):
            body = ["refused", tid, code, _clip(text)]
        case JobProgress(transfer_id=tid, done=done):
            body = ["progress", tid, done]
        case JobFinished(transfer_id=tid, done=done, error=error):
            body = ["finished", tid, done, None if error is None else _clip(error)]
        case JobUnanswered(transfer_id=tid, unanswered=flag):
            body = ["unanswered", tid, flag]
    data = json.dumps(body, separators=(",", ":")).encode()
    if len(data) > MAX_MESSAGE:
        raise ProtocolError(f"message of {len(data)} bytes is too long")
    return data


# -- decoding -------------------------------------------------------------------------------


def _int(value: object, low: int = 0, high: int = _MAX_INT) -> int:
    if type(value) is not int or not low <= value <= high:
        raise ProtocolError(f"bad integer {value!r}")
    return value


def _opt_int(value: object, low: int = 0) -> int | None:
    return None if value is None else _int(value, low)


def _float(value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProtocolError(f"bad number {value!r}")
    number = float(value)
    if not math.isfinite(number) or not low <= number <= high:
        raise ProtocolError(f"number out of range {value!r}")
    return number


def _bool(value: object) -> bool:
    if type(value) is not bool:
        raise ProtocolError(f"bad flag {value!r}")
    return value


def _text(value: object, limit: int = _MAX_TEXT, empty: bool = True) -> str:
    if type(value) is not str or len(value) > limit or (not empty and not value):
        raise ProtocolError("bad text")
    if "\x00" in value:
        raise ProtocolError("NUL in text")
    return value


def _opt_error(value: object) -> str | None:
    return None if value is None else _text(value, _MAX_ERROR)


def _peer(host: object, port: object) -> Address:
    text = _text(host, 100, empty=False)
    try:
        ipaddress.ip_address(text)
    except ValueError:
        raise ProtocolError(f"bad peer address {text!r}") from None
    return text, _int(port, 0, 65535)


def _options(value: object) -> dict[str, str]:
    if type(value) is not dict or len(value) > tftp.MAX_OPTIONS:
        raise ProtocolError("bad options")
    limit = tftp.MAX_REQUEST_SIZE
    return {_text(k, limit): _text(v, limit) for k, v in value.items()}


def _configure(f: list[object]) -> Configure:
    limits = f[5]
    if type(limits) is not list or len(limits) != 4:
        raise ProtocolError("bad limits")
    config = TftpServerConfig(
        root=Path(_text(f[0], empty=False)),
        host=_text(f[1], 255),
        upload_dir=None if f[2] is None else Path(_text(f[2], empty=False)),
        upload_prefix=_text(f[3]),
        max_upload_size=_int(f[4]),
        limits=ServerLimits(
            max_blksize=_int(limits[0], tftp.MIN_BLKSIZE, tftp.MAX_BLKSIZE),
            max_windowsize=_int(limits[1], 1, tftp.MAX_WINDOWSIZE),
            allow_timeout=_bool(limits[2]),
            allow_tsize=_bool(limits[3]),
        ),
        retransmit_timeout=_float(f[6], 0.001, 3600.0),
        max_backoff=_float(f[7], 0.001, 3600.0),
        max_retries=_int(f[8], 0, 1000),
        progress_interval=_int(f[9], 1),
    )
    return Configure(config, _int(f[10], -40, 40), _int(f[11], 0, 100))


def _started(f: list[object]) -> JobStarted:
    options = TransferOptions(
        blksize=_int(f[3], tftp.MIN_BLKSIZE, tftp.MAX_BLKSIZE),
        windowsize=_int(f[4], 1, tftp.MAX_WINDOWSIZE),
        timeout=None if f[5] is None else _float(f[5], 0.0, 3600.0),
        tsize=_opt_int(f[6]),
    )
    return JobStarted(_int(f[0]), _text(f[1]), _opt_int(f[2]), options)


def _start(f: list[object]) -> StartJob:
    mode = _text(f[5])
    if mode not in _MODES:
        raise ProtocolError(f"bad mode {mode!r}")
    return StartJob(
        _int(f[0]),
        _peer(f[1], f[2]),
        _bool(f[3]),
        _text(f[4], tftp.MAX_REQUEST_SIZE),
        mode,
        _options(f[6]),
    )


_DECODERS: dict[str, tuple[int, Callable[[list[object]], Message]]] = {
    "config": (12, _configure),
    "start": (7, _start),
    "cancel": (1, lambda f: CancelJob(_int(f[0]))),
    "ready": (1, lambda f: Ready(_int(f[0], 1))),
    "started": (7, _started),
    "refused": (
        3,
        lambda f: JobRefused(_int(f[0]), _int(f[1], 0, 0xFFFF), _text(f[2], _MAX_ERROR)),
    ),
    "progress": (2, lambda f: JobProgress(_int(f[0]), _int(f[1]))),
    "finished": (3, lambda f: JobFinished(_int(f[0]), _int(f[1]), _opt_error(f[2]))),
    "unanswered": (2, lambda f: JobUnanswered(_int(f[0]), _bool(f[1]))),
}


def decode(data: bytes) -> Message:
    """The message in `data`; ProtocolError for anything else."""
    if len(data) > MAX_MESSAGE:
        raise ProtocolError("message too long")
    try:
        body = json.loads(data)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise ProtocolError(f"not JSON: {exc}") from None
    if type(body) is not list or not body or type(body[0]) is not str:
        raise ProtocolError("not a message")
    known = _DECODERS.get(body[0])
    if known is None:
        raise ProtocolError(f"unknown message {body[0][:20]!r}")
    arity, decoder = known
    if len(body) != arity + 1:
        raise ProtocolError(f"{body[0]}: {len(body) - 1} fields, expected {arity}")
    return decoder(body[1:])


# -- the socket -----------------------------------------------------------------------------


class WriterLoop(Protocol):
    def add_writer(self, fd: int, callback: Callable[[], object]) -> None: ...

    def remove_writer(self, fd: int) -> bool: ...


class Channel:
    """One end of a control socket: whole messages, never blocking. What does not fit in
    the socket's buffer waits in an outbox, sent as the peer drains it."""

    def __init__(self, sock: socket.socket, loop: WriterLoop) -> None:
        sock.setblocking(False)
        self.sock = sock
        self.fd = sock.fileno()
        self.loop = loop
        self.outbox: deque[bytes] = deque()
        self.closed = False

    def send(self, message: Message) -> None:
        self.send_bytes(encode(message))

    def send_bytes(self, data: bytes) -> None:
        if self.closed:
            return
        if not self.outbox:
            try:
                self.sock.send(data)
                return
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                return  # the other end is gone; receive() reports it
        self.outbox.append(data)
        if len(self.outbox) == 1:
            self.loop.add_writer(self.fd, self._flush)

    def _flush(self) -> None:
        while self.outbox and not self.closed:
            try:
                self.sock.send(self.outbox[0])
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self.outbox.clear()
                break
            self.outbox.popleft()
        if not self.closed:
            self.loop.remove_writer(self.fd)

    def flush_blocking(self, timeout: float) -> None:
        """Send what waits in the outbox, waiting up to `timeout` (before exiting)."""
        if self.closed or not self.outbox:
            return
        self.loop.remove_writer(self.fd)
        self.sock.settimeout(timeout)
        try:
            while self.outbox:
                self.sock.send(self.outbox.popleft())
        except OSError:
            self.outbox.clear()
        finally:
            self.sock.setblocking(False)

    def receive(self, limit: int = 512) -> tuple[list[bytes], bool]:
        """(messages waiting, at most `limit`; whether the other end has closed)."""
        got: list[bytes] = []
        recv = self.sock.recv
        while len(got) < limit:
            try:
                data = recv(MAX_MESSAGE + 1)
            except (BlockingIOError, InterruptedError):
                return got, False
            except OSError:
                return got, True
            if not data:
                return got, True
            got.append(data)
        return got, False

    def close(self) -> None:
        if self.closed:
            return
        if self.outbox:
            self.loop.remove_writer(self.fd)
            self.outbox.clear()
        self.closed = True
        self.sock.close()
