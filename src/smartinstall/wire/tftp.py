"""TFTP codec: RFC 1350 packets, RFC 2347 option negotiation, RFC 2348 blksize,
RFC 2349 timeout/tsize and RFC 7440 windowsize; netascii conversion.

Pure code, no sockets. Parsing is strict about bounds and never raises anything but
`MalformedPacket`, which carries the TFTP error code a server should answer with.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field

# RFC 2347: a request (with its options) "must not exceed 512 octets". Some clients send a
# little more; we accept up to this many bytes and refuse anything larger.
MAX_REQUEST_SIZE = 1024
# Longest option value we look at (digits); anything longer is ignored as bogus.
MAX_OPTION_VALUE_LEN = 20
MAX_OPTIONS = 32

DEFAULT_BLKSIZE = 512
MIN_BLKSIZE = 8  # RFC 2348
MAX_BLKSIZE = 65464  # RFC 2348
MIN_TIMEOUT = 1  # RFC 2349, seconds
MAX_TIMEOUT = 255
MIN_WINDOWSIZE = 1  # RFC 7440
MAX_WINDOWSIZE = 65535

_HEADER = struct.Struct("!HH")
_OPCODE = struct.Struct("!H")


class Opcode(enum.IntEnum):
    RRQ = 1
    WRQ = 2
    DATA = 3
    ACK = 4
    ERROR = 5
    OACK = 6  # RFC 2347


class ErrorCode(enum.IntEnum):
    NOT_DEFINED = 0
    FILE_NOT_FOUND = 1
    ACCESS_VIOLATION = 2
    DISK_FULL = 3
    ILLEGAL_OPERATION = 4
    UNKNOWN_TID = 5
    FILE_EXISTS = 6
    NO_SUCH_USER = 7
    OPTION_REFUSED = 8  # RFC 2347


class Mode(enum.Enum):
    NETASCII = "netascii"
    OCTET = "octet"


class MalformedPacket(ValueError):
    """A packet that cannot be parsed; `code` is the TFTP error to answer with."""

    def __init__(self, message: str, code: ErrorCode = ErrorCode.ILLEGAL_OPERATION) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Request:
    """RRQ or WRQ. `options` keeps the client's order; names are lower-cased."""

    opcode: Opcode
    filename: str
    mode: Mode
    options: dict[str, str] = field(default_factory=dict)

    @property
    def is_read(self) -> bool:
        return self.opcode is Opcode.RRQ


@dataclass(frozen=True, slots=True)
class Data:
    block: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class Ack:
    block: int


@dataclass(frozen=True, slots=True)
class Error:
    code: int
    message: str


@dataclass(frozen=True, slots=True)
class OAck:
    options: dict[str, str]


Packet = Request | Data | Ack | Error | OAck


def _split_strings(body: bytes, what: str) -> list[bytes]:
    """NUL-terminated strings of `body`; the last one must be terminated too."""
    if not body.endswith(b"\0"):
        raise MalformedPacket(f"{what} is not NUL-terminated")
    return body[:-1].split(b"\0")


def _ascii(raw: bytes, what: str) -> str:
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise MalformedPacket(f"{what} is not ASCII") from None
    return text


def _parse_options(parts: list[bytes]) -> dict[str, str]:
    if len(parts) % 2:
        # RFC 2347 gives no rule for a dangling name; a name with no value is dropped.
        parts = parts[:-1]
    options: dict[str, str] = {}
    for i in range(0, len(parts), 2):
        name = _ascii(parts[i], "option name").lower()
        value = _ascii(parts[i + 1], "option value")
        if not name:
            raise MalformedPacket("empty option name")
        if name in options:
            continue  # first one wins
        if len(options) >= MAX_OPTIONS:
            raise MalformedPacket("too many options")
        options[name] = value
    return options


def parse_request(packet: bytes) -> Request:
    if len(packet) > MAX_REQUEST_SIZE:
        raise MalformedPacket("request too long")
    if len(packet) < 2 or _OPCODE.unpack_from(packet)[0] not in (Opcode.RRQ, Opcode.WRQ):
        raise MalformedPacket("not a request")
    opcode = Opcode(_OPCODE.unpack_from(packet)[0])
    parts = _split_strings(packet[2:], "request")
    if len(parts) < 2:
        raise MalformedPacket("request has no mode")
    if not parts[0]:
        raise MalformedPacket("empty file name")
    try:
        filename = parts[0].decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedPacket("file name is not UTF-8") from None
    mode_text = _ascii(parts[1], "mode").lower()
    try:
        mode = Mode(mode_text)
    except ValueError:
        raise MalformedPacket(f"unsupported transfer mode {mode_text[:20]!r}") from None
    return Request(opcode, filename, mode, _parse_options(parts[2:]))


def parse(packet: bytes) -> Packet:
    """Parse one datagram. Raises MalformedPacket (only) on anything unexpected."""
    if len(packet) < 2:
        raise MalformedPacket("packet shorter than an opcode")
    raw_opcode = _OPCODE.unpack_from(packet)[0]
    if raw_opcode in (Opcode.RRQ, Opcode.WRQ):
        return parse_request(packet)
    if raw_opcode == Opcode.DATA:
        if len(packet) < 4:
            raise MalformedPacket("DATA shorter than its header")
        if len(packet) > 4 + MAX_BLKSIZE:
            raise MalformedPacket("DATA larger than the largest block size")
        return Data(_HEADER.unpack_from(packet)[1], packet[4:])
    if raw_opcode == Opcode.ACK:
        if len(packet) < 4:
            raise MalformedPacket("ACK shorter than its header")
        # Trailing bytes after an ACK are tolerated (some stacks pad short datagrams).
        return Ack(_HEADER.unpack_from(packet)[1])
    if raw_opcode == Opcode.ERROR:
        if len(packet) < 4:
            raise MalformedPacket("ERROR shorter than its header")
        code = _HEADER.unpack_from(packet)[1]
        # Lenient: a missing NUL or non-ASCII text still yields the error code.
        text = packet[4:].split(b"\0", 1)[0][:512]
        return Error(code, text.decode("ascii", "replace"))
    if raw_opcode == Opcode.OACK:
        if len(packet) > MAX_REQUEST_SIZE:
            raise MalformedPacket("OACK too long")
        body = packet[2:]
        if not body:
            return OAck({})
        return OAck(_parse_options(_split_strings(body, "OACK")))
    raise MalformedPacket(f"unknown opcode {raw_opcode}")


# -- encoders -------------------------------------------------------------------------------


def _options_bytes(options: dict[str, str]) -> bytes:
    out = bytearray()
    for name, value in options.items():
        if "\0" in name or "\0" in value:
            raise ValueError("option names and values cannot contain NUL")
        out += name.encode("ascii") + b"\0" + value.encode("ascii") + b"\0"
    return bytes(out)


def encode_request(
    opcode: Opcode, filename: str, mode: Mode = Mode.OCTET, options: dict[str, str] | None = None
) -> bytes:
    if opcode not in (Opcode.RRQ, Opcode.WRQ):
        raise ValueError("a request is RRQ or WRQ")
    if not filename or "\0" in filename:
        raise ValueError("file name must be non-empty and contain no NUL")
    packet = (
        _OPCODE.pack(opcode)
        + filename.encode("utf-8")
        + b"\0"
        + mode.value.encode("ascii")
        + b"\0"
        + _options_bytes(options or {})
    )
    if len(packet) > MAX_REQUEST_SIZE:
        raise ValueError("request too long")
    return packet


def encode_data(block: int, payload: bytes) -> bytes:
    return _HEADER.pack(Opcode.DATA, block & 0xFFFF) + payload


def encode_ack(block: int) -> bytes:
    return _HEADER.pack(Opcode.ACK, block & 0xFFFF)


def encode_error(code: int, message: str) -> bytes:
    text = message.replace("\0", " ").encode("ascii", "replace")[:500]
    return _HEADER.pack(Opcode.ERROR, code & 0xFFFF) + text + b"\0"


def encode_oack(options: dict[str, str]) -> bytes:
    return _OPCODE.pack(Opcode.OACK) + _options_bytes(options)


def encode(packet: Packet) -> bytes:
    if isinstance(packet, Request):
        return encode_request(packet.opcode, packet.filename, packet.mode, packet.options)
    if isinstance(packet, Data):
        return encode_data(packet.block, packet.payload)
    if isinstance(packet, Ack):
        return encode_ack(packet.block)
    if isinstance(packet, Error):
        return encode_error(packet.code, packet.message)
    return encode_oack(packet.options)


# -- option negotiation ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TransferOptions:
    """The values a transfer runs with after negotiation."""

    blksize: int = DEFAULT_BLKSIZE
    windowsize: int = 1
    timeout: float | None = None  # seconds, None when not negotiated
    tsize: int | None = None


@dataclass(frozen=True, slots=True)
class ServerLimits:
    max_blksize: int = MAX_BLKSIZE
    max_windowsize: int = 64
    allow_timeout: bool = True
    allow_tsize: bool = True


def _int_value(text: str) -> int | None:
    text = text.strip()
    if not text or len(text) > MAX_OPTION_VALUE_LEN or not text.isdigit() or not text.isascii():
        return None
    return int(text)


def negotiate(
    request: Request,
    limits: ServerLimits = ServerLimits(),
    file_size: int | None = None,
) -> tuple[TransferOptions, dict[str, str]]:
    """Server side: the options a transfer uses and the OACK to send (empty: no OACK).

    Values out of range are ignored, as RFC 2347 lets a server ignore any option; a blksize
    or windowsize larger than ours is answered with ours (RFC 2348/7440: the server may
    reply with a smaller value). `file_size` is the size a RRQ's tsize reports.
    """
    oack: dict[str, str] = {}
    blksize = DEFAULT_BLKSIZE
    windowsize = 1
    timeout: float | None = None
    tsize: int | None = None
    for name, raw in request.options.items():
        value = _int_value(raw)
        if value is None:
            continue
        if name == "blksize" and value >= MIN_BLKSIZE:
            blksize = min(value, limits.max_blksize, MAX_BLKSIZE)
            oack[name] = str(blksize)
        elif name == "windowsize" and value >= MIN_WINDOWSIZE and limits.max_windowsize > 1:
            windowsize = min(value, limits.max_windowsize, MAX_WINDOWSIZE)
            oack[name] = str(windowsize)
        elif name == "timeout" and MIN_TIMEOUT <= value <= MAX_TIMEOUT and limits.allow_timeout:
            timeout = float(value)
            oack[name] = str(value)  # RFC 2349: echoed unchanged or not at all
        elif name == "tsize" and limits.allow_tsize:
            if request.is_read:
                if file_size is not None and value == 0:
                    tsize = file_size
                    oack[name] = str(file_size)
            else:
                tsize = value
                oack[name] = str(value)
    return TransferOptions(blksize, windowsize, timeout, tsize), oack


def accept_oack(requested: dict[str, str], oack: dict[str, str]) -> TransferOptions:
    """Client side: check a server's OACK against what was asked and return the values.

    Raises MalformedPacket(OPTION_REFUSED) when the server answers an option not asked for or
    with a value the RFCs forbid (larger blksize/windowsize, a different timeout).
    """
    blksize = DEFAULT_BLKSIZE
    windowsize = 1
    timeout: float | None = None
    tsize: int | None = None
    for name, raw in oack.items():
        if name not in requested:
            raise MalformedPacket(
                f"server acknowledged option {name!r} not requested", ErrorCode.OPTION_REFUSED
            )
        value = _int_value(raw)
        asked = _int_value(requested[name])
        if value is None or asked is None:
            raise MalformedPacket(f"bad value for option {name!r}", ErrorCode.OPTION_REFUSED)
        if name == "blksize":
            if not MIN_BLKSIZE <= value <= min(asked, MAX_BLKSIZE):
                raise MalformedPacket("bad blksize in OACK", ErrorCode.OPTION_REFUSED)
            blksize = value
        elif name == "windowsize":
            if not MIN_WINDOWSIZE <= value <= min(asked, MAX_WINDOWSIZE):
                raise MalformedPacket("bad windowsize in OACK", ErrorCode.OPTION_REFUSED)
            windowsize = value
        elif name == "timeout":
            if value != asked:
                raise MalformedPacket("bad timeout in OACK", ErrorCode.OPTION_REFUSED)
            timeout = float(value)
        elif name == "tsize":
            tsize = value
    return TransferOptions(blksize, windowsize, timeout, tsize)


# -- netascii -------------------------------------------------------------------------------


def netascii_encode(data: bytes) -> bytes:
    """Local (LF line ends) to netascii: LF -> CR LF, CR -> CR NUL. Stateless per chunk."""
    return data.replace(b"\r", b"\r\0").replace(b"\n", b"\r\n")


class NetasciiDecoder:
    """Netascii to local text, chunk by chunk: CR LF -> LF, CR NUL -> CR.

    A CR at the end of a chunk waits for the next one. A bare CR followed by anything else
    is kept as it is (lenient).
    """

    def __init__(self) -> None:
        self._pending_cr = False

    def feed(self, chunk: bytes) -> bytes:
        if self._pending_cr:
            chunk = b"\r" + chunk
            self._pending_cr = False
        if chunk.endswith(b"\r"):
            chunk = chunk[:-1]
            self._pending_cr = True
        return chunk.replace(b"\r\n", b"\n").replace(b"\r\0", b"\r")

    def finish(self) -> bytes:
        if self._pending_cr:
            self._pending_cr = False
            return b"\r"
        return b""
