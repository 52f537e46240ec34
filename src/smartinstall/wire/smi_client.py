"""Our client <-> director messages: same 16-byte header as public SMI, TLV payload.

Nothing public describes what a Smart Install client tells its director (hello, neighbours,
keepalive, write memory, upgrade status), so this project defines it once, here, and documents
it field by field in ``docs/protocol.md``. Rules:

* header: sender word 4 (client) or 1 (director), version word 1, a message type of 0x101 and up
  (outside every public type), length = payload size;
* payload: TLVs (u32 type, u32 length, value), the first one PROTOCOL_VERSION, the second
  SEQUENCE; then the message's fields in a fixed order; unknown TLV types are skipped (newer
  senders), duplicates of single-valued fields and out-of-range lengths are refused;
* values: text is UTF-8 without NUL; MAC 6 bytes; IPv4 4 bytes; integers big-endian u8/u32/u64;
  stack members and neighbours are nested TLV lists, one level deep, nothing nests further.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from enum import IntEnum
from typing import Any, ClassVar, Final, TypeVar

from smartinstall.wire.smi import (
    VERSION_COMMAND,
    Header,
    Sender,
    SmiDecodeError,
    SmiVersionError,
    Tlv,
    TlvLimits,
    decode_frame,
    decode_tlvs,
    encode_tlvs,
    frame,
)

__all__ = [
    "MAX_CLIENT_PAYLOAD",
    "PROTOCOL_VERSION",
    "Ack",
    "BackupResult",
    "Capability",
    "ClientMessage",
    "ClientMessageType",
    "Hello",
    "JoinState",
    "Keepalive",
    "Neighbor",
    "NeighborReport",
    "Operation",
    "StackMember",
    "TlvType",
    "UpgradeState",
    "UpgradeStatus",
    "WriteMemory",
    "decode_client_message",
    "decode_client_payload",
    "format_mac",
    "is_client_message_type",
]

#: Version of this message set, carried in the PROTOCOL_VERSION TLV of every message.
PROTOCOL_VERSION: Final = 1
#: Largest payload accepted from a client (a 9-member stack of 48-port switches reporting every
#: neighbour fits comfortably).
MAX_CLIENT_PAYLOAD: Final = 256 * 1024
MAX_TEXT: Final = 255
MAX_REASON: Final = 1024
MAX_STACK_MEMBERS: Final = 16
MAX_NEIGHBORS: Final = 1024


class ClientMessageType(IntEnum):
    HELLO = 0x101
    NEIGHBOR_REPORT = 0x102
    KEEPALIVE = 0x103
    WRITE_MEMORY = 0x104
    UPGRADE_STATUS = 0x105
    BACKUP_RESULT = 0x106
    ACK = 0x1FF


class TlvType(IntEnum):
    PROTOCOL_VERSION = 1
    SEQUENCE = 2
    MAC = 16
    PID = 17
    SERIAL = 18
    SW_VERSION = 19
    IMAGE = 20
    HOSTNAME = 21
    IP = 22
    STACK_MEMBER = 23
    SUPERVISOR = 24
    CHASSIS = 25
    SMI_VERSION = 26
    CAPABILITIES = 27
    HAS_STARTUP_CONFIG = 28
    JOIN_STATE = 29
    NEIGHBOR = 30
    UPTIME = 31
    OPERATION = 32
    STATE = 33
    FILE = 34
    BYTES_DONE = 35
    BYTES_TOTAL = 36
    REASON = 37
    SUCCESS = 38
    REPOSITORY = 39
    ACKED_TYPE = 40
    ACKED_SEQUENCE = 41
    STATUS = 42
    MEMBER_NUMBER = 48
    LOCAL_PORT = 56
    DEVICE_ID = 57
    REMOTE_PORT = 58
    PLATFORM = 59


class Capability(IntEnum):
    """Bits of the CAPABILITIES TLV."""

    CLIENT = 0x01
    DIRECTOR = 0x02
    POST_INSTALL_SCRIPT = 0x04  # type 5 / post-install (15.2(2)E and later)
    NON_VLAN1 = 0x08  # management on a VLAN other than 1
    AUTHENTICATION = 0x10  # speaks the authenticated mode


class JoinState(IntEnum):
    """Where the client is in joining the Smart Install network (its own view)."""

    UNKNOWN = 0
    NEW = 1  # no startup-config: waiting for the director's decision
    DOWNLOADING = 2  # image or configuration download in progress
    JOINED = 3  # configured, member of the Smart Install network
    ON_HOLD = 4  # told to wait (join window in manual mode)
    DENIED = 5  # refused (join window closed)


class Operation(IntEnum):
    IMAGE = 1
    CONFIG = 2
    SCRIPT = 3
    BACKUP = 4


class UpgradeState(IntEnum):
    STARTED = 1
    PROGRESS = 2
    DONE = 3
    FAILED = 4


# ----------------------------------------------------------------------- value encodings

_MAC_TEXT = re.compile(r"^([0-9a-f]{4})\.([0-9a-f]{4})\.([0-9a-f]{4})$")


def format_mac(raw: bytes) -> str:
    """Cisco's dotted form, as in ``show vstack status``: 0018.7363.4200."""
    h = raw.hex()
    return f"{h[0:4]}.{h[4:8]}.{h[8:12]}"


def parse_mac(text: str) -> bytes:
    """Accept 0018.7363.4200, 00:18:73:63:42:00 or 00-18-73-63-42-00 (any case)."""
    t = text.strip().lower()
    m = _MAC_TEXT.match(t)
    hexdigits = "".join(m.groups()) if m else re.sub(r"[:\-]", "", t)
    if len(hexdigits) != 12 or not re.fullmatch(r"[0-9a-f]{12}", hexdigits):
        raise ValueError(f"{text!r} is not a MAC address")
    return bytes.fromhex(hexdigits)


def _canon_mac(text: str) -> str:
    return format_mac(parse_mac(text))


def _enc_text(value: str, limit: int) -> bytes:
    raw = value.encode("utf-8")
    if b"\0" in raw or len(raw) > limit:
        raise ValueError(f"text field too long or contains NUL: {value[:40]!r}")
    return raw


def _dec_text(raw: bytes, limit: int) -> str:
    if len(raw) > limit or b"\0" in raw:
        raise SmiDecodeError("text field too long or contains NUL")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SmiDecodeError("text field is not UTF-8") from None


def _dec_uint(raw: bytes, size: int) -> int:
    if len(raw) != size:
        raise SmiDecodeError(f"integer field is {len(raw)} bytes, expected {size}")
    return int.from_bytes(raw, "big")


def _enc_uint(value: int, size: int) -> bytes:
    if not 0 <= value < 1 << (8 * size):
        raise ValueError(f"{value} does not fit in {size} bytes")
    return value.to_bytes(size, "big")


# A field kind: how one dataclass attribute becomes one TLV value and back.
@dataclass(frozen=True)
class _Kind:
    encode: Callable[[Any], bytes]
    decode: Callable[[bytes], Any]
    max_len: int
    omit: Callable[[Any], bool]  # value that is left out on the wire (the field's default)


def _text(limit: int = MAX_TEXT) -> _Kind:
    return _Kind(
        lambda v: _enc_text(v, limit), lambda r: _dec_text(r, limit), limit, lambda v: v == ""
    )


def _uint(size: int) -> _Kind:
    return _Kind(lambda v: _enc_uint(v, size), lambda r: _dec_uint(r, size), size, lambda v: False)


def _enc_mac(value: str) -> bytes:
    return parse_mac(value)


def _dec_mac(raw: bytes) -> str:
    if len(raw) != 6:
        raise SmiDecodeError(f"MAC is {len(raw)} bytes, expected 6")
    return format_mac(raw)


def _enc_ip(value: str) -> bytes:
    return ipaddress.IPv4Address(value).packed


def _dec_ip(raw: bytes) -> str:
    if len(raw) != 4:
        raise SmiDecodeError(f"IPv4 address is {len(raw)} bytes, expected 4")
    return str(ipaddress.IPv4Address(raw))


def _dec_bool(raw: bytes) -> bool:
    value = _dec_uint(raw, 1)
    if value > 1:
        raise SmiDecodeError("boolean field is neither 0 nor 1")
    return value == 1


TEXT: Final = _text()
REASON_TEXT: Final = _text(MAX_REASON)
U32: Final = _uint(4)
U64: Final = _uint(8)
MAC: Final = _Kind(_enc_mac, _dec_mac, 6, lambda v: v == "")
IP: Final = _Kind(_enc_ip, _dec_ip, 4, lambda v: v == "")
BOOL: Final = _Kind(lambda v: b"\x01" if v else b"\x00", _dec_bool, 1, lambda v: False)


def _meta(tlv: TlvType, kind: _Kind) -> dict[str, object]:
    return {"tlv": tlv, "kind": kind}


def _tlv_field(tlv: TlvType, kind: _Kind, default: object) -> Any:
    return field(default=default, metadata=_meta(tlv, kind))


def _list_field(tlv: TlvType) -> Any:
    return field(default=(), metadata={"tlv": tlv, "kind": None})


T = TypeVar("T")


def _encode_fields(obj: object) -> list[Tlv]:
    out: list[Tlv] = []
    for f in fields(obj):  # type: ignore[arg-type]
        if "tlv" not in f.metadata:
            continue
        value = getattr(obj, f.name)
        kind: _Kind | None = f.metadata["kind"]
        tlv_type: int = f.metadata["tlv"]
        if kind is None:  # nested list
            out.extend(Tlv(tlv_type, encode_tlvs(_encode_fields(item))) for item in value)
        elif not kind.omit(value):
            out.append(Tlv(tlv_type, kind.encode(value)))
    return out


def _decode_fields(
    cls: type[T], tlvs: tuple[Tlv, ...], nested: dict[int, type[Any]], **extra: Any
) -> T:
    by_type: dict[int, Any] = {}
    names: dict[int, tuple[str, _Kind | None]] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        if "tlv" in f.metadata:
            names[f.metadata["tlv"]] = (f.name, f.metadata["kind"])
    lists: dict[int, list[Any]] = {t: [] for t, (_, k) in names.items() if k is None}
    for tlv in tlvs:
        entry = names.get(tlv.type)
        if entry is None:
            continue  # unknown field from a newer sender
        name, kind = entry
        if kind is None:
            inner = decode_tlvs(tlv.value, _NESTED_LIMITS)
            lists[tlv.type].append(_decode_fields(nested[tlv.type], inner, {}))
            continue
        if tlv.type in by_type:
            raise SmiDecodeError(f"duplicate TLV {tlv.type} ({name})")
        if len(tlv.value) > kind.max_len:
            raise SmiDecodeError(f"TLV {tlv.type} ({name}) is too long")
        by_type[tlv.type] = kind.decode(tlv.value)
    kwargs: dict[str, Any] = dict(extra)
    for tlv_type, (name, kind) in names.items():
        if kind is None:
            kwargs[name] = tuple(lists[tlv_type])
        elif tlv_type in by_type:
            kwargs[name] = by_type[tlv_type]
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise SmiDecodeError(f"invalid {cls.__name__}: {exc}") from None


# ------------------------------------------------------------------------- nested records


@dataclass(frozen=True)
class StackMember:
    number: int = _tlv_field(TlvType.MEMBER_NUMBER, U32, 1)
    pid: str = _tlv_field(TlvType.PID, TEXT, "")
    mac: str = _tlv_field(TlvType.MAC, MAC, "")
    serial: str = _tlv_field(TlvType.SERIAL, TEXT, "")

    def __post_init__(self) -> None:
        if self.mac:
            object.__setattr__(self, "mac", _canon_mac(self.mac))
        if not 1 <= self.number <= 16:
            raise ValueError(f"stack member number {self.number} is not 1-16")


@dataclass(frozen=True)
class Neighbor:
    """One row of the neighbour table (CDP/LLDP as the client sees it)."""

    local_port: str = _tlv_field(TlvType.LOCAL_PORT, TEXT, "")
    mac: str = _tlv_field(TlvType.MAC, MAC, "")
    device_id: str = _tlv_field(TlvType.DEVICE_ID, TEXT, "")
    ip: str = _tlv_field(TlvType.IP, IP, "")
    remote_port: str = _tlv_field(TlvType.REMOTE_PORT, TEXT, "")
    platform: str = _tlv_field(TlvType.PLATFORM, TEXT, "")

    def __post_init__(self) -> None:
        if self.mac:
            object.__setattr__(self, "mac", _canon_mac(self.mac))


_NESTED_LIMITS: Final = TlvLimits(max_count=16, default_max=MAX_TEXT)

# -------------------------------------------------------------------------------- messages


@dataclass(frozen=True)
class _Base:
    MSG_TYPE: ClassVar[int]
    SENDER: ClassVar[int] = Sender.CLIENT
    sequence: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.sequence <= 0xFFFFFFFF:
            raise ValueError("sequence does not fit in 32 bits")
        mac = getattr(self, "mac", "")
        if mac:
            object.__setattr__(self, "mac", _canon_mac(mac))

    def encode_payload(self) -> bytes:
        head = [
            Tlv(TlvType.PROTOCOL_VERSION, _enc_uint(PROTOCOL_VERSION, 4)),
            Tlv(TlvType.SEQUENCE, _enc_uint(self.sequence, 4)),
        ]
        return encode_tlvs(head + _encode_fields(self))

    def encode(self) -> bytes:
        payload = self.encode_payload()
        if len(payload) > MAX_CLIENT_PAYLOAD:
            raise ValueError("message exceeds the maximum payload size")
        return frame(self.SENDER, VERSION_COMMAND, self.MSG_TYPE, payload)


@dataclass(frozen=True)
class Hello(_Base):
    """Sent when a client comes up (and again after a director change): who it is."""

    MSG_TYPE: ClassVar[int] = ClientMessageType.HELLO
    mac: str = _tlv_field(TlvType.MAC, MAC, "")
    pid: str = _tlv_field(TlvType.PID, TEXT, "")
    serial: str = _tlv_field(TlvType.SERIAL, TEXT, "")
    sw_version: str = _tlv_field(TlvType.SW_VERSION, TEXT, "")
    image: str = _tlv_field(TlvType.IMAGE, TEXT, "")
    hostname: str = _tlv_field(TlvType.HOSTNAME, TEXT, "")
    ip: str = _tlv_field(TlvType.IP, IP, "")
    stack: tuple[StackMember, ...] = _list_field(TlvType.STACK_MEMBER)
    supervisor: str = _tlv_field(TlvType.SUPERVISOR, TEXT, "")
    chassis: str = _tlv_field(TlvType.CHASSIS, TEXT, "")
    smi_version: int = _tlv_field(TlvType.SMI_VERSION, U32, 1)
    capabilities: int = _tlv_field(TlvType.CAPABILITIES, U32, Capability.CLIENT)
    has_startup_config: bool = _tlv_field(TlvType.HAS_STARTUP_CONFIG, BOOL, False)
    join_state: int = _tlv_field(TlvType.JOIN_STATE, U32, JoinState.UNKNOWN)


@dataclass(frozen=True)
class NeighborReport(_Base):
    """The client's neighbour table. The director learns switches downstream of a Smart Install
    client from it, before they have an address (docs/protocol.md, "Knowing a new switch")."""

    MSG_TYPE: ClassVar[int] = ClientMessageType.NEIGHBOR_REPORT
    mac: str = _tlv_field(TlvType.MAC, MAC, "")
    neighbors: tuple[Neighbor, ...] = _list_field(TlvType.NEIGHBOR)


@dataclass(frozen=True)
class Keepalive(_Base):
    MSG_TYPE: ClassVar[int] = ClientMessageType.KEEPALIVE
    mac: str = _tlv_field(TlvType.MAC, MAC, "")
    ip: str = _tlv_field(TlvType.IP, IP, "")
    uptime: int = _tlv_field(TlvType.UPTIME, U32, 0)
    join_state: int = _tlv_field(TlvType.JOIN_STATE, U32, JoinState.UNKNOWN)


@dataclass(frozen=True)
class WriteMemory(_Base):
    """ "write memory happened": the director may now back up the startup-config (type 8)."""

    MSG_TYPE: ClassVar[int] = ClientMessageType.WRITE_MEMORY
    mac: str = _tlv_field(TlvType.MAC, MAC, "")
    hostname: str = _tlv_field(TlvType.HOSTNAME, TEXT, "")
    ip: str = _tlv_field(TlvType.IP, IP, "")


@dataclass(frozen=True)
class UpgradeStatus(_Base):
    """Progress of an image/config/script download: started, progress, done or failed + reason."""

    MSG_TYPE: ClassVar[int] = ClientMessageType.UPGRADE_STATUS
    mac: str = _tlv_field(TlvType.MAC, MAC, "")
    operation: int = _tlv_field(TlvType.OPERATION, U32, Operation.IMAGE)
    state: int = _tlv_field(TlvType.STATE, U32, UpgradeState.STARTED)
    file: str = _tlv_field(TlvType.FILE, TEXT, "")
    bytes_done: int = _tlv_field(TlvType.BYTES_DONE, U64, 0)
    bytes_total: int = _tlv_field(TlvType.BYTES_TOTAL, U64, 0)
    reason: str = _tlv_field(TlvType.REASON, REASON_TEXT, "")


@dataclass(frozen=True)
class BackupResult(_Base):
    """Outcome of a configuration backup the director ordered."""

    MSG_TYPE: ClassVar[int] = ClientMessageType.BACKUP_RESULT
    mac: str = _tlv_field(TlvType.MAC, MAC, "")
    success: bool = _tlv_field(TlvType.SUCCESS, BOOL, False)
    repository: str = _tlv_field(TlvType.REPOSITORY, TEXT, "")
    file: str = _tlv_field(TlvType.FILE, TEXT, "")
    reason: str = _tlv_field(TlvType.REASON, REASON_TEXT, "")


@dataclass(frozen=True)
class Ack(_Base):
    """Answer to any message above, on the same connection (status 0 = accepted)."""

    MSG_TYPE: ClassVar[int] = ClientMessageType.ACK
    SENDER: ClassVar[int] = Sender.DIRECTOR
    acked_type: int = _tlv_field(TlvType.ACKED_TYPE, U32, 0)
    acked_sequence: int = _tlv_field(TlvType.ACKED_SEQUENCE, U32, 0)
    status: int = _tlv_field(TlvType.STATUS, U32, 0)
    reason: str = _tlv_field(TlvType.REASON, REASON_TEXT, "")


ClientMessage = (
    Hello | NeighborReport | Keepalive | WriteMemory | UpgradeStatus | BackupResult | Ack
)

_MESSAGES: Final[dict[int, type[_Base]]] = {
    cls.MSG_TYPE: cls
    for cls in (Hello, NeighborReport, Keepalive, WriteMemory, UpgradeStatus, BackupResult, Ack)
}
_NESTED: Final[dict[int, type[Any]]] = {
    TlvType.STACK_MEMBER: StackMember,
    TlvType.NEIGHBOR: Neighbor,
}
_LIMITS: Final = TlvLimits(
    max_count=MAX_NEIGHBORS + MAX_STACK_MEMBERS + 32,
    default_max=MAX_REASON,
    per_type={TlvType.NEIGHBOR: 16 * (8 + MAX_TEXT), TlvType.STACK_MEMBER: 16 * (8 + MAX_TEXT)},
)


def is_client_message_type(msg_type: int) -> bool:
    return msg_type in _MESSAGES


def decode_client_payload(header: Header, payload: bytes) -> ClientMessage:
    cls = _MESSAGES.get(header.msg_type)
    if cls is None:
        raise SmiVersionError(f"unknown message type {header.msg_type:#x}")
    if header.sender != cls.SENDER:
        raise SmiDecodeError(
            f"sender word {header.sender} is not {cls.SENDER} for type {header.msg_type:#x}"
        )
    if header.version != VERSION_COMMAND:
        raise SmiDecodeError(f"unsupported version {header.version}")
    if header.length != len(payload):
        raise SmiDecodeError("payload size differs from the header length")
    tlvs = decode_tlvs(payload, _LIMITS)
    if (
        len(tlvs) < 2
        or tlvs[0].type != TlvType.PROTOCOL_VERSION
        or tlvs[1].type != TlvType.SEQUENCE
    ):
        raise SmiDecodeError("message does not start with PROTOCOL_VERSION and SEQUENCE")
    version = _dec_uint(tlvs[0].value, 4)
    if version != PROTOCOL_VERSION:
        raise SmiVersionError(f"unsupported protocol version {version}")
    counts = {t: 0 for t in _NESTED}
    for tlv in tlvs:
        if tlv.type in counts:
            counts[tlv.type] += 1
    if counts[TlvType.STACK_MEMBER] > MAX_STACK_MEMBERS or counts[TlvType.NEIGHBOR] > MAX_NEIGHBORS:
        raise SmiDecodeError("too many stack members or neighbours")
    sequence = _dec_uint(tlvs[1].value, 4)
    message = _decode_fields(cls, tlvs[2:], _NESTED, sequence=sequence)
    return message  # type: ignore[return-value]


def decode_client_message(data: bytes) -> ClientMessage:
    """Decode one whole message (header + payload, nothing after it)."""
    header, payload, trailing = decode_frame(data, MAX_CLIENT_PAYLOAD)
    if trailing:
        raise SmiDecodeError(f"{len(trailing)} bytes after the message")
    return decode_client_payload(header, payload)
