"""Authenticated Smart Install: an HMAC-SHA256 trailer that binds a message to its sender, its
recipient and the sender's counter (our extension).

With ``vstack authentication key`` configured, every message (the public commands of types
2/3/5/7/8 and our own client/director messages alike) ends with five TLVs, 122 bytes in all::

    SENDER     type 0x534d4104, length 17, who sealed it (a :class:`PeerId`)
    RECIPIENT  type 0x534d4105, length 17, whom it is for (a :class:`PeerId`)
    COUNTER    type 0x534d4106, length 8,  u64, greater in every message the sender seals
    TIMESTAMP  type 0x534d4101, length 8,  u64 milliseconds since the Unix epoch
    HMAC       type 0x534d4103, length 32, HMAC-SHA256(key, header || payload up to HMAC value)

A client is named by its MAC, a director by its address. An acknowledgement carries, as its
counter, the counter of the message it answers. Type 0x534d4102 (the random nonce of the first
sealed layout) is retired and never reused.

The header's length word counts the trailer, and the MAC covers the header, so neither the
length nor the message type can be changed without breaking it. The receiver checks the MAC in
constant time, then that it is the recipient, that the timestamp is within ``max_skew`` of its
own clock, and that the counter is above every counter it accepted from that sender before
(:mod:`smartinstall.services.smi_replay` keeps those across restarts). Everything here is pure:
the clock and the counter are passed in.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from smartinstall.wire.smi import HEADER_SIZE, Header, SmiDecodeError
from smartinstall.wire.smi_client import format_mac, parse_mac

__all__ = [
    "AUTH_TRAILER_SIZE",
    "PEER_ID_SIZE",
    "AuthError",
    "PeerId",
    "PeerKind",
    "ReplayError",
    "Unsealed",
    "has_auth_trailer",
    "seal",
    "unseal",
]

TLV_TIMESTAMP: Final = 0x534D4101
TLV_HMAC: Final = 0x534D4103
TLV_SENDER: Final = 0x534D4104
TLV_RECIPIENT: Final = 0x534D4105
TLV_COUNTER: Final = 0x534D4106
PEER_ID_SIZE: Final = 17
MAC_SIZE: Final = 32
U64_MAX: Final = (1 << 64) - 1
_TLV_HEAD = struct.Struct(">II")
_U64_TLV = struct.Struct(">IIQ")
_ID_TLV_SIZE: Final = _TLV_HEAD.size + PEER_ID_SIZE
#: the trailer's TLVs, in order, as (type, length)
_LAYOUT: Final = (
    (TLV_SENDER, PEER_ID_SIZE),
    (TLV_RECIPIENT, PEER_ID_SIZE),
    (TLV_COUNTER, 8),
    (TLV_TIMESTAMP, 8),
    (TLV_HMAC, MAC_SIZE),
)
AUTH_TRAILER_SIZE: Final = sum(_TLV_HEAD.size + n for _, n in _LAYOUT)  # 122
MIN_KEY_SIZE: Final = 8


class AuthError(SmiDecodeError):
    """A message that fails authentication: missing trailer, bad MAC, stale or replayed."""


class ReplayError(AuthError):
    """An authentic message refused as a replay: for another recipient, or a counter already
    passed."""


class PeerKind(IntEnum):
    """The first byte of a :class:`PeerId`; the rest is the value, left-aligned, zero-padded."""

    CLIENT = 1  # a client switch: its MAC (6 bytes)
    DIRECTOR_NAME = 2  # a director known by a name, not an address: SHA-256 of it (16 bytes)
    DIRECTOR_V4 = 4  # a director: its IPv4 address (4 bytes)
    DIRECTOR_V6 = 6  # a director: its IPv6 address (16 bytes)


_VALUE_SIZE: Final[dict[int, int]] = {
    PeerKind.CLIENT: 6,
    PeerKind.DIRECTOR_NAME: 16,
    PeerKind.DIRECTOR_V4: 4,
    PeerKind.DIRECTOR_V6: 16,
}


@dataclass(frozen=True)
class PeerId:
    """Who a sealed message is from or for: 17 bytes, a kind then the value."""

    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) != PEER_ID_SIZE:
            raise ValueError(f"a peer identity is {PEER_ID_SIZE} bytes, not {len(self.raw)}")

    @classmethod
    def _of(cls, kind: PeerKind, value: bytes) -> PeerId:
        return cls(bytes([kind]) + value.ljust(PEER_ID_SIZE - 1, b"\0"))

    @classmethod
    def client(cls, mac: str | bytes) -> PeerId:
        """A client by its MAC (any of the forms :func:`parse_mac` takes, or 6 bytes)."""
        raw = mac if isinstance(mac, bytes) else parse_mac(mac)
        if len(raw) != 6:
            raise ValueError("a MAC is 6 bytes")
        return cls._of(PeerKind.CLIENT, raw)

    @classmethod
    def director(cls, address: str) -> PeerId:
        """A director by its address (an IPv4-mapped IPv6 address is its IPv4 address); a
        name that is no address is named by its digest."""
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0].strip())
        except ValueError:
            digest = hashlib.sha256(address.strip().lower().encode("utf-8")).digest()
            return cls._of(PeerKind.DIRECTOR_NAME, digest[:16])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if isinstance(ip, ipaddress.IPv4Address):
            return cls._of(PeerKind.DIRECTOR_V4, ip.packed)
        return cls._of(PeerKind.DIRECTOR_V6, ip.packed)

    @property
    def kind(self) -> int:
        return self.raw[0]

    @property
    def is_client(self) -> bool:
        return self.raw[0] == PeerKind.CLIENT

    def __str__(self) -> str:
        kind, value = self.raw[0], self.raw[1:]
        size = _VALUE_SIZE.get(kind, 0)
        if size == 0 or any(value[size:]):
            return f"unknown peer {self.raw.hex()}"
        if kind == PeerKind.CLIENT:
            return f"client {format_mac(value[:6])}"
        if kind == PeerKind.DIRECTOR_V4:
            return f"director {ipaddress.IPv4Address(value[:4])}"
        if kind == PeerKind.DIRECTOR_V6:
            return f"director {ipaddress.IPv6Address(value)}"
        return f"director {value.hex()}"


@dataclass(frozen=True)
class Unsealed:
    """The message as it was before sealing, with what the trailer bound it to."""

    frame: bytes
    sender: PeerId
    recipient: PeerId
    counter: int
    timestamp_ms: int


def _check_key(key: bytes) -> None:
    if len(key) < MIN_KEY_SIZE:
        raise ValueError(f"authentication key must be at least {MIN_KEY_SIZE} bytes")


def seal(
    message: bytes,
    key: bytes,
    timestamp_ms: int,
    *,
    sender: PeerId,
    recipient: PeerId,
    counter: int,
) -> bytes:
    """Append the authentication trailer to a complete frame (header + payload)."""
    _check_key(key)
    if not 0 <= counter <= U64_MAX or not 0 <= timestamp_ms <= U64_MAX:
        raise ValueError("counter and timestamp are unsigned 64-bit numbers")
    header = Header.decode(message)
    if header.length != len(message) - HEADER_SIZE:
        raise ValueError("frame length word does not match its payload")
    new_header = Header(
        header.sender, header.version, header.msg_type, header.length + AUTH_TRAILER_SIZE
    )
    body = (
        new_header.encode()
        + message[HEADER_SIZE:]
        + _TLV_HEAD.pack(TLV_SENDER, PEER_ID_SIZE)
        + sender.raw
        + _TLV_HEAD.pack(TLV_RECIPIENT, PEER_ID_SIZE)
        + recipient.raw
        + _U64_TLV.pack(TLV_COUNTER, 8, counter)
        + _U64_TLV.pack(TLV_TIMESTAMP, 8, timestamp_ms)
        + _TLV_HEAD.pack(TLV_HMAC, MAC_SIZE)
    )
    return body + hmac.new(key, body, hashlib.sha256).digest()


def has_auth_trailer(message: bytes) -> bool:
    """Whether a frame ends with the five trailer TLVs (the MAC is not checked here)."""
    if len(message) < HEADER_SIZE + AUTH_TRAILER_SIZE:
        return False
    offset = len(message) - AUTH_TRAILER_SIZE
    for expected in _LAYOUT:
        if _TLV_HEAD.unpack_from(message, offset) != expected:
            return False
        offset += _TLV_HEAD.size + expected[1]
    return True


def unseal(message: bytes, key: bytes) -> Unsealed:
    """Check the trailer of a complete frame and return the frame without it.

    Whether the recipient is the caller, the timestamp recent and the counter new is the
    caller's to judge (:mod:`smartinstall.services.smi_replay`)."""
    _check_key(key)
    try:
        header = Header.decode(message)
    except SmiDecodeError as exc:
        raise AuthError(exc.reason) from None
    if header.length != len(message) - HEADER_SIZE:
        raise AuthError("frame length word does not match its payload")
    if not has_auth_trailer(message):
        raise AuthError("no authentication trailer")
    expected = hmac.new(key, message[:-MAC_SIZE], hashlib.sha256).digest()
    if not hmac.compare_digest(expected, message[-MAC_SIZE:]):
        raise AuthError("authentication code does not match")
    start = len(message) - AUTH_TRAILER_SIZE
    sender_at = start + _TLV_HEAD.size
    recipient_at = sender_at + _ID_TLV_SIZE
    _, _, counter = _U64_TLV.unpack_from(message, start + 2 * _ID_TLV_SIZE)
    _, _, timestamp_ms = _U64_TLV.unpack_from(message, start + 2 * _ID_TLV_SIZE + _U64_TLV.size)
    inner_header = Header(
        header.sender, header.version, header.msg_type, header.length - AUTH_TRAILER_SIZE
    )
    return Unsealed(
        frame=inner_header.encode() + message[HEADER_SIZE:start],
        sender=PeerId(message[sender_at : sender_at + PEER_ID_SIZE]),
        recipient=PeerId(message[recipient_at : recipient_at + PEER_ID_SIZE]),
        counter=counter,
        timestamp_ms=timestamp_ms,
    )
