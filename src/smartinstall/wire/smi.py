"""Smart Install (SMI, TCP 4786) codec: the 16-byte header and every message whose layout is public.

Layouts follow ``spec/wire-protocol.md`` (section numbers below refer to it) and are produced
byte for byte as the vectors in ``spec/vectors/`` show. Decoding is strict about bounds: every
length is checked against the bytes actually present and against fixed limits before anything is
read, so no input can make the codec index past its buffer, allocate without bound or loop without
progress. Every failure is a :class:`SmiDecodeError`; nothing else escapes from ``decode_*``.

Words whose meaning is unknown (the "opaque" words of types 2, 3, 5 and 8) are kept as fields with
the observed values as defaults, so a decoded message re-encodes to the same bytes.

Our own client <-> director messages (not public) live in :mod:`smartinstall.wire.smi_client`;
the authentication trailer in :mod:`smartinstall.wire.smi_auth`.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import ClassVar, Final

__all__ = [
    "BACKUP_PREAMBLE",
    "CLIENT_PROBE_REPLY",
    "HEADER_SIZE",
    "INIT_DISCOVERY_LIMITS",
    "PROBE",
    "STATUS_REPLY",
    "BackupConfig",
    "Command",
    "DownloadConfig",
    "DownloadImage",
    "Execute",
    "Header",
    "InitDiscovery",
    "MessageType",
    "Probe",
    "ProbeReply",
    "Sender",
    "SmiDecodeError",
    "SmiVersionError",
    "StatusReply",
    "Tlv",
    "TlvLimits",
    "decode_command",
    "decode_frame",
    "decode_tlvs",
    "encode_tlvs",
    "frame",
]

HEADER_SIZE: Final = 16
_HEADER = struct.Struct(">IIII")
_U32 = struct.Struct(">I")
_TLV_HEAD = struct.Struct(">II")
U32_MAX: Final = 0xFFFFFFFF


class SmiDecodeError(ValueError):
    """Bytes that are not a well-formed Smart Install message. ``reason`` is short and loggable."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SmiVersionError(SmiDecodeError):
    """A well-formed message of a protocol version or message type this side does not speak:
    the case the guide's ``%SMI-6-SMI_INVALID_MESSAGE`` describes (newer sender, older receiver).
    """


class Sender(IntEnum):
    """Header word 0 (``msg_from`` in the Embedi write-up). Section 2."""

    DIRECTOR = 1
    DIRECTOR_V2 = 2  # only seen on type 5 ("version command")
    CLIENT = 4


class MessageType(IntEnum):
    """Header word 2 of director -> client commands (section 3)."""

    DOWNLOAD_IMAGE = 2
    DOWNLOAD_CONFIG = 3
    PROBE = 4
    EXECUTE = 5
    INIT_DISCOVERY = 7
    BACKUP_CONFIG = 8


#: Header word 1 of every command; replies carry 0.
VERSION_COMMAND: Final = 1
VERSION_REPLY: Final = 0
#: Reply types (client -> scanner/director): 3 answers the probe, 4 is the generic status reply.
REPLY_TYPE_PROBE: Final = 3
REPLY_TYPE_STATUS: Final = 4


# --------------------------------------------------------------------------------------- header


@dataclass(frozen=True)
class Header:
    """The 16-byte header: four big-endian u32 words."""

    sender: int
    version: int
    msg_type: int
    length: int

    def __post_init__(self) -> None:
        for name in ("sender", "version", "msg_type", "length"):
            value = getattr(self, name)
            if not 0 <= value <= U32_MAX:
                raise ValueError(f"header {name} {value} does not fit in 32 bits")

    def encode(self) -> bytes:
        return _HEADER.pack(self.sender, self.version, self.msg_type, self.length)

    @classmethod
    def decode(cls, data: bytes) -> Header:
        if len(data) < HEADER_SIZE:
            raise SmiDecodeError(f"short header: {len(data)} of {HEADER_SIZE} bytes")
        return cls(*_HEADER.unpack_from(data, 0))


def frame(sender: int, version: int, msg_type: int, payload: bytes) -> bytes:
    """Header + payload, with the length word set to the payload size."""
    return Header(sender, version, msg_type, len(payload)).encode() + payload


def decode_frame(data: bytes, max_payload: int) -> tuple[Header, bytes, bytes]:
    """Split ``data`` into (header, payload, trailing bytes).

    The payload is exactly ``header.length`` bytes; anything after it is returned as trailing (a
    scanner may append a newline, section 3.1). Raises if the stream is shorter than the header
    claims or the claim exceeds ``max_payload``.
    """
    header = Header.decode(data)
    if header.length > max_payload:
        raise SmiDecodeError(f"length {header.length} exceeds maximum {max_payload}")
    end = HEADER_SIZE + header.length
    if len(data) < end:
        raise SmiDecodeError(
            f"length {header.length} exceeds the {len(data) - HEADER_SIZE} payload bytes present"
        )
    return header, data[HEADER_SIZE:end], data[end:]


# ------------------------------------------------------------------------------ field helpers


def _u32(data: bytes, offset: int) -> int:
    value: int = _U32.unpack_from(data, offset)[0]
    return value


def _pack_u32(*values: int) -> bytes:
    for value in values:
        if not 0 <= value <= U32_MAX:
            raise ValueError(f"word {value} does not fit in 32 bits")
    return b"".join(_U32.pack(v) for v in values)


_PRINTABLE = re.compile(rb"[\x20-\x7e]*")


def _pad_text(text: str, size: int, what: str) -> bytes:
    """ASCII text NUL-padded to ``size``; at least one NUL always ends it."""
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError(f"{what} must be ASCII") from None
    if b"\0" in raw:
        raise ValueError(f"{what} must not contain NUL")
    if len(raw) > size - 1:
        raise ValueError(f"{what} is {len(raw)} bytes; the slot holds at most {size - 1}")
    return raw + b"\0" * (size - len(raw))


def _text_slot(data: bytes, offset: int, size: int, what: str) -> str:
    """Text up to the first NUL of a fixed slot. A slot without NUL, non-ASCII or control
    characters, or bytes after the terminator is refused: it is not what a director sends, and
    a URL or command line is the last place to be lenient."""
    slot = data[offset : offset + size]
    end = slot.find(b"\0")
    if end < 0:
        raise SmiDecodeError(f"{what} is not NUL-terminated within its {size}-byte slot")
    raw = slot[:end]
    if slot[end:].strip(b"\0"):
        raise SmiDecodeError(f"{what} has bytes after its terminator")
    if _PRINTABLE.fullmatch(raw) is None:
        raise SmiDecodeError(f"{what} contains non-printable or non-ASCII bytes")
    return raw.decode("ascii")


def _check_time(hour: int, minute: int) -> None:
    if hour > 23 or minute > 59:
        raise ValueError(f"reload time {hour}:{minute} is not a valid hh:mm")


# ----------------------------------------------------------------------- probe and its replies


@dataclass(frozen=True)
class Probe:
    """Type 4 detection probe, 24 bytes: header 1,1,4,8 and payload words 1, 0 (section 3.1)."""

    word_a: int = 1
    word_b: int = 0

    MSG_TYPE: ClassVar[int] = MessageType.PROBE
    PAYLOAD_SIZE: ClassVar[int] = 8

    def encode(self) -> bytes:
        return frame(
            Sender.DIRECTOR, VERSION_COMMAND, MessageType.PROBE, _pack_u32(self.word_a, self.word_b)
        )

    @classmethod
    def decode_payload(cls, payload: bytes) -> Probe:
        if len(payload) != cls.PAYLOAD_SIZE:
            raise SmiDecodeError(f"probe payload is {len(payload)} bytes, expected 8")
        return cls(_u32(payload, 0), _u32(payload, 4))


@dataclass(frozen=True)
class ProbeReply:
    """A client's reply to the probe: header 4,0,3,8 echoing the payload (section 3.1).

    Scanners compare all 24 bytes, so a client must send exactly this in one write.
    """

    word_a: int = 1
    word_b: int = 0

    def encode(self) -> bytes:
        return frame(
            Sender.CLIENT, VERSION_REPLY, REPLY_TYPE_PROBE, _pack_u32(self.word_a, self.word_b)
        )

    @classmethod
    def decode(cls, data: bytes) -> ProbeReply:
        header, payload, trailing = decode_frame(data, 8)
        if (
            (header.sender, header.version, header.msg_type)
            != (Sender.CLIENT, VERSION_REPLY, REPLY_TYPE_PROBE)
            or len(payload) != 8
            or trailing
        ):
            raise SmiDecodeError("not a probe reply")
        return cls(_u32(payload, 0), _u32(payload, 4))


@dataclass(frozen=True)
class StatusReply:
    """The 20-byte generic reply 4,0,4,4 + status (section 3.2), sent by a client to malformed,
    short, unknown-version or unknown input. Greenbone and nmap identify SMI by it."""

    status: int = 1

    def encode(self) -> bytes:
        return frame(Sender.CLIENT, VERSION_REPLY, REPLY_TYPE_STATUS, _pack_u32(self.status))

    @classmethod
    def decode(cls, data: bytes) -> StatusReply:
        header, payload, trailing = decode_frame(data, 4)
        if (
            (header.sender, header.version, header.msg_type)
            != (Sender.CLIENT, VERSION_REPLY, REPLY_TYPE_STATUS)
            or len(payload) != 4
            or trailing
        ):
            raise SmiDecodeError("not a status reply")
        return cls(_u32(payload, 0))


PROBE: Final = Probe().encode()
CLIENT_PROBE_REPLY: Final = ProbeReply().encode()
STATUS_REPLY: Final = StatusReply().encode()


# ---------------------------------------------------------------- type 2: download image


@dataclass(frozen=True)
class DownloadImage:
    """Type 2 "download image command" (section 3.3), 468 bytes.

    Offsets (whole message): 16 operation (2), 20 flags (0x821 reload now / 0x801 scheduled),
    24-31 zero, 32 reload-now word, 36 scheduled flag, 40 hour, 44 minute, 48 a word always 1,
    52 imagelist URL (415 bytes, NUL-padded), 467 a trailing byte always 1.
    """

    imagelist_url: str
    reload_now: int = 1
    reload_scheduled: int = 0
    reload_hour: int = 0
    reload_minute: int = 0
    flags: int = 0x821
    operation: int = 2
    reserved: tuple[int, int] = (0, 0)
    marker: int = 1
    trailer: int = 1

    MSG_TYPE: ClassVar[int] = MessageType.DOWNLOAD_IMAGE
    SENDER: ClassVar[int] = Sender.DIRECTOR
    PAYLOAD_SIZE: ClassVar[int] = 452
    URL_SIZE: ClassVar[int] = 415

    @classmethod
    def now(cls, imagelist_url: str) -> DownloadImage:
        """SIET's "reload time 00:00" variant: install and reload as soon as the image is in."""
        return cls(imagelist_url)

    @classmethod
    def at(cls, imagelist_url: str, hour: int, minute: int) -> DownloadImage:
        """SIET's scheduled variant: reload at hh:mm."""
        _check_time(hour, minute)
        return cls(
            imagelist_url,
            reload_now=0,
            reload_scheduled=1,
            reload_hour=hour,
            reload_minute=minute,
            flags=0x801,
        )

    @property
    def reload_at(self) -> tuple[int, int] | None:
        return (self.reload_hour, self.reload_minute) if self.reload_scheduled else None

    def encode_payload(self) -> bytes:
        _check_time(self.reload_hour, self.reload_minute)
        if not 0 <= self.trailer <= 0xFF:
            raise ValueError("trailer must be one byte")
        return (
            _pack_u32(
                self.operation,
                self.flags,
                *self.reserved,
                self.reload_now,
                self.reload_scheduled,
                self.reload_hour,
                self.reload_minute,
                self.marker,
            )
            + _pad_text(self.imagelist_url, self.URL_SIZE, "imagelist URL")
            + bytes([self.trailer])
        )

    def encode(self) -> bytes:
        return frame(self.SENDER, VERSION_COMMAND, self.MSG_TYPE, self.encode_payload())

    @classmethod
    def decode_payload(cls, payload: bytes) -> DownloadImage:
        _expect_size(payload, cls.PAYLOAD_SIZE, "download image")
        words = [_u32(payload, 4 * i) for i in range(9)]
        _check_time_decoded(words[6], words[7])
        return cls(
            imagelist_url=_text_slot(payload, 36, cls.URL_SIZE, "imagelist URL"),
            operation=words[0],
            flags=words[1],
            reserved=(words[2], words[3]),
            reload_now=words[4],
            reload_scheduled=words[5],
            reload_hour=words[6],
            reload_minute=words[7],
            marker=words[8],
            trailer=payload[451],
        )


# ---------------------------------------------------------------- type 3: download config


@dataclass(frozen=True)
class DownloadConfig:
    """Type 3 "download config command" (section 3.4), 312 bytes.

    Offsets: 16 operation (3), 20-27 zero, 28 a word seen as 2, 32 zero, 36 reload flag,
    40 hour, 44 minute, 48 an unused 132-byte slot, 180 config URL (132 bytes, NUL-padded).
    """

    config_url: str
    reload: int = 0
    reload_hour: int = 0
    reload_minute: int = 0
    operation: int = 3
    reserved: tuple[int, int] = (0, 0)
    unknown: int = 2
    reserved2: int = 0
    spare_slot: str = ""

    MSG_TYPE: ClassVar[int] = MessageType.DOWNLOAD_CONFIG
    SENDER: ClassVar[int] = Sender.DIRECTOR
    PAYLOAD_SIZE: ClassVar[int] = 296
    SLOT_SIZE: ClassVar[int] = 132

    @classmethod
    def at(cls, config_url: str, hour: int, minute: int) -> DownloadConfig:
        _check_time(hour, minute)
        return cls(config_url, reload=1, reload_hour=hour, reload_minute=minute)

    @property
    def reload_at(self) -> tuple[int, int] | None:
        return (self.reload_hour, self.reload_minute) if self.reload else None

    def encode_payload(self) -> bytes:
        _check_time(self.reload_hour, self.reload_minute)
        return (
            _pack_u32(
                self.operation,
                *self.reserved,
                self.unknown,
                self.reserved2,
                self.reload,
                self.reload_hour,
                self.reload_minute,
            )
            + _pad_text(self.spare_slot, self.SLOT_SIZE, "spare slot")
            + _pad_text(self.config_url, self.SLOT_SIZE, "config URL")
        )

    def encode(self) -> bytes:
        return frame(self.SENDER, VERSION_COMMAND, self.MSG_TYPE, self.encode_payload())

    @classmethod
    def decode_payload(cls, payload: bytes) -> DownloadConfig:
        _expect_size(payload, cls.PAYLOAD_SIZE, "download config")
        words = [_u32(payload, 4 * i) for i in range(8)]
        _check_time_decoded(words[6], words[7])
        return cls(
            config_url=_text_slot(payload, 164, cls.SLOT_SIZE, "config URL"),
            operation=words[0],
            reserved=(words[1], words[2]),
            unknown=words[3],
            reserved2=words[4],
            reload=words[5],
            reload_hour=words[6],
            reload_minute=words[7],
            spare_slot=_text_slot(payload, 32, cls.SLOT_SIZE, "spare slot"),
        )


# --------------------------------------------------------------------- type 5: execute


@dataclass(frozen=True)
class Execute:
    """Type 5 with sender word 2, the "version command" / SIET execute (section 3.5), 544 bytes.

    Offsets: 16 a word seen as 1, 20 an unused 128-byte slot, 148 an unused 264-byte slot,
    412 script URL (131 bytes, NUL-padded), 543 a trailing byte always 1.
    """

    script_url: str
    word: int = 1
    slot_a: str = ""
    slot_b: str = ""
    trailer: int = 1

    MSG_TYPE: ClassVar[int] = MessageType.EXECUTE
    SENDER: ClassVar[int] = Sender.DIRECTOR_V2
    PAYLOAD_SIZE: ClassVar[int] = 528

    def encode_payload(self) -> bytes:
        if not 0 <= self.trailer <= 0xFF:
            raise ValueError("trailer must be one byte")
        return (
            _pack_u32(self.word)
            + _pad_text(self.slot_a, 128, "slot a")
            + _pad_text(self.slot_b, 264, "slot b")
            + _pad_text(self.script_url, 131, "script URL")
            + bytes([self.trailer])
        )

    def encode(self) -> bytes:
        return frame(self.SENDER, VERSION_COMMAND, self.MSG_TYPE, self.encode_payload())

    @classmethod
    def decode_payload(cls, payload: bytes) -> Execute:
        _expect_size(payload, cls.PAYLOAD_SIZE, "execute")
        return cls(
            script_url=_text_slot(payload, 396, 131, "script URL"),
            word=_u32(payload, 0),
            slot_a=_text_slot(payload, 4, 128, "slot a"),
            slot_b=_text_slot(payload, 132, 264, "slot b"),
            trailer=payload[527],
        )


# ---------------------------------------------------------------- type 8: backup config

#: The 24 bytes after the header of type 8, replayed verbatim by every public tool (section 3.7).
BACKUP_PREAMBLE: Final = bytes.fromhex("000100140000000100000000fc99473786600000000303f4")


@dataclass(frozen=True)
class BackupConfig:
    """Type 8 "backup config command" (section 3.7), 1048 bytes: 24 opaque bytes, then three
    336-byte NUL-padded exec command slots run in order (empty slots do nothing)."""

    commands: tuple[str, str, str]
    preamble: bytes = BACKUP_PREAMBLE

    MSG_TYPE: ClassVar[int] = MessageType.BACKUP_CONFIG
    SENDER: ClassVar[int] = Sender.DIRECTOR
    PAYLOAD_SIZE: ClassVar[int] = 1032
    SLOT_SIZE: ClassVar[int] = 336

    @classmethod
    def of(cls, *commands: str) -> BackupConfig:
        if len(commands) > 3:
            raise ValueError("type 8 carries at most three commands")
        padded = (*commands, "", "", "")[:3]
        return cls((padded[0], padded[1], padded[2]))

    @property
    def active_commands(self) -> tuple[str, ...]:
        return tuple(c for c in self.commands if c)

    def encode_payload(self) -> bytes:
        if len(self.preamble) != 24:
            raise ValueError("type 8 preamble is 24 bytes")
        return self.preamble + b"".join(
            _pad_text(c, self.SLOT_SIZE, f"command {i + 1}") for i, c in enumerate(self.commands)
        )

    def encode(self) -> bytes:
        return frame(self.SENDER, VERSION_COMMAND, self.MSG_TYPE, self.encode_payload())

    @classmethod
    def decode_payload(cls, payload: bytes) -> BackupConfig:
        _expect_size(payload, cls.PAYLOAD_SIZE, "backup config")
        slots = [
            _text_slot(payload, 24 + i * cls.SLOT_SIZE, cls.SLOT_SIZE, f"command {i + 1}")
            for i in range(3)
        ]
        return cls((slots[0], slots[1], slots[2]), preamble=payload[:24])


# ------------------------------------------------------------------------------------ TLVs


@dataclass(frozen=True)
class Tlv:
    """u32 type, u32 length, value (section 3.6)."""

    type: int
    value: bytes

    def encode(self) -> bytes:
        if not 0 <= self.type <= U32_MAX:
            raise ValueError("TLV type does not fit in 32 bits")
        return _TLV_HEAD.pack(self.type, len(self.value)) + self.value


@dataclass(frozen=True)
class TlvLimits:
    """Bounds a TLV list must respect. ``per_type`` caps the value length of given types;
    ``default_max`` caps every other type."""

    max_count: int = 64
    default_max: int = 1024
    per_type: Mapping[int, int] = field(default_factory=dict)

    def max_for(self, tlv_type: int) -> int:
        return self.per_type.get(tlv_type, self.default_max)


def encode_tlvs(tlvs: Iterable[Tlv]) -> bytes:
    return b"".join(t.encode() for t in tlvs)


def decode_tlvs(data: bytes, limits: TlvLimits) -> tuple[Tlv, ...]:
    """Parse a complete TLV list. Every TLV must lie wholly inside ``data``; lengths are checked
    against the bytes left and against ``limits`` before any value is taken."""
    tlvs: list[Tlv] = []
    offset = 0
    size = len(data)
    while offset < size:
        if len(tlvs) >= limits.max_count:
            raise SmiDecodeError(f"more than {limits.max_count} TLVs")
        if size - offset < _TLV_HEAD.size:
            raise SmiDecodeError(f"{size - offset} stray bytes after the last TLV")
        tlv_type, length = _TLV_HEAD.unpack_from(data, offset)
        offset += _TLV_HEAD.size
        if length > limits.max_for(tlv_type):
            raise SmiDecodeError(
                f"TLV {tlv_type} length {length} exceeds its limit {limits.max_for(tlv_type)}"
            )
        if length > size - offset:
            raise SmiDecodeError(
                f"TLV {tlv_type} length {length} runs past the payload ({size - offset} left)"
            )
        tlvs.append(Tlv(tlv_type, data[offset : offset + length]))
        offset += length
    return tuple(tlvs)


# ------------------------------------------------------------------ type 7: init discovery

#: TLV type 1 of the init-discovery message is copied by unpatched IOS into a 0x58-byte stack
#: buffer (CVE-2018-0171). We neither accept nor send a longer one.
INIT_DISCOVERY_TLV1_MAX: Final = 0x58
INIT_DISCOVERY_LIMITS: Final = TlvLimits(
    max_count=32, default_max=512, per_type={1: INIT_DISCOVERY_TLV1_MAX}
)


@dataclass(frozen=True)
class InitDiscovery:
    """Type 7 "init discovery" (section 3.6): a TLV list whose contents are not public.

    The header length must cover every TLV exactly (the CVE-2018-0171 proof of concept sets it to
    the first value's length only; that is refused here, not parsed past)."""

    tlvs: tuple[Tlv, ...]

    MSG_TYPE: ClassVar[int] = MessageType.INIT_DISCOVERY
    SENDER: ClassVar[int] = Sender.DIRECTOR

    def encode_payload(self) -> bytes:
        if len(self.tlvs) > INIT_DISCOVERY_LIMITS.max_count:
            raise ValueError("too many TLVs for init discovery")
        for tlv in self.tlvs:
            if len(tlv.value) > INIT_DISCOVERY_LIMITS.max_for(tlv.type):
                raise ValueError(f"TLV {tlv.type} value is longer than a client can hold")
        return encode_tlvs(self.tlvs)

    def encode(self) -> bytes:
        return frame(self.SENDER, VERSION_COMMAND, self.MSG_TYPE, self.encode_payload())

    @classmethod
    def decode_payload(cls, payload: bytes) -> InitDiscovery:
        return cls(decode_tlvs(payload, INIT_DISCOVERY_LIMITS))


# ------------------------------------------------------------------------- command dispatch

Command = DownloadImage | DownloadConfig | Execute | BackupConfig | InitDiscovery | Probe

_COMMANDS: Final[
    dict[int, type[DownloadImage | DownloadConfig | Execute | BackupConfig | InitDiscovery | Probe]]
] = {
    MessageType.DOWNLOAD_IMAGE: DownloadImage,
    MessageType.DOWNLOAD_CONFIG: DownloadConfig,
    MessageType.PROBE: Probe,
    MessageType.EXECUTE: Execute,
    MessageType.INIT_DISCOVERY: InitDiscovery,
    MessageType.BACKUP_CONFIG: BackupConfig,
}

#: Largest public command payload (type 8); with the authentication trailer a little more.
MAX_COMMAND_PAYLOAD: Final = BackupConfig.PAYLOAD_SIZE


def is_command_type(msg_type: int) -> bool:
    return msg_type in _COMMANDS


def decode_command(header: Header, payload: bytes) -> Command:
    """Decode a director -> client command whose header has been read.

    The sender word must be the one the public messages use for that type (2 for type 5, 1 for
    every other) and the version word must be 1.
    """
    cls = _COMMANDS.get(header.msg_type)
    if cls is None:
        raise SmiDecodeError(f"unknown message type {header.msg_type}")
    if header.version != VERSION_COMMAND:
        raise SmiDecodeError(f"unsupported version {header.version}")
    expected_sender = Sender.DIRECTOR_V2 if cls is Execute else Sender.DIRECTOR
    if header.sender != expected_sender:
        raise SmiDecodeError(
            f"sender word {header.sender} is not {int(expected_sender)} for type {header.msg_type}"
        )
    if header.length != len(payload):
        raise SmiDecodeError("payload size differs from the header length")
    return cls.decode_payload(payload)


def decode_command_bytes(data: bytes) -> Command:
    """Decode one whole command; bytes after the payload are refused here (the stream reader
    tolerates them, a single-message decode does not)."""
    header, payload, trailing = decode_frame(data, MAX_COMMAND_PAYLOAD)
    if trailing:
        raise SmiDecodeError(f"{len(trailing)} bytes after the message")
    return decode_command(header, payload)


def encode_command(command: Command) -> bytes:
    return command.encode()


def _expect_size(payload: bytes, size: int, what: str) -> None:
    if len(payload) != size:
        raise SmiDecodeError(f"{what} payload is {len(payload)} bytes, expected {size}")


def _check_time_decoded(hour: int, minute: int) -> None:
    if hour > 23 or minute > 59:
        raise SmiDecodeError(f"reload time {hour}:{minute} is not a valid hh:mm")
