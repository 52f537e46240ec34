"""Authenticated Smart Install: an HMAC-SHA256 trailer with timestamp and nonce (our extension).

With ``vstack authentication key`` configured, every message (the public commands of types
2/3/5/7/8 and our own client/director messages alike) ends with three TLVs, 80 bytes in all::

    TIMESTAMP  type 0x534d4101, length 8,  u64 milliseconds since the Unix epoch
    NONCE      type 0x534d4102, length 16, random bytes, never reused by the sender
    HMAC       type 0x534d4103, length 32, HMAC-SHA256(key, header || payload up to HMAC value)

The header's length word counts the trailer, and the MAC covers the header, so neither the
length nor the message type can be changed without breaking it. The receiver checks the MAC in
constant time, then that the timestamp is within ``max_skew`` of its own clock, then that the
nonce has not been seen within the window (:class:`ReplayGuard`). Everything here is pure: the
clock and randomness are passed in.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

from smartinstall.wire.smi import HEADER_SIZE, Header, SmiDecodeError

__all__ = [
    "AUTH_TRAILER_SIZE",
    "AuthError",
    "ReplayGuard",
    "Unsealed",
    "has_auth_trailer",
    "seal",
    "unseal",
]

TLV_TIMESTAMP: Final = 0x534D4101
TLV_NONCE: Final = 0x534D4102
TLV_HMAC: Final = 0x534D4103
NONCE_SIZE: Final = 16
MAC_SIZE: Final = 32
_TS_TLV = struct.Struct(">IIQ")
_TLV_HEAD = struct.Struct(">II")
AUTH_TRAILER_SIZE: Final = _TS_TLV.size + 8 + NONCE_SIZE + 8 + MAC_SIZE  # 80
MIN_KEY_SIZE: Final = 8


class AuthError(SmiDecodeError):
    """A message that fails authentication: missing trailer, bad MAC, stale or replayed."""


@dataclass(frozen=True)
class Unsealed:
    """The message as it was before sealing, with its freshness data."""

    frame: bytes
    timestamp_ms: int
    nonce: bytes


def _check_key(key: bytes) -> None:
    if len(key) < MIN_KEY_SIZE:
        raise ValueError(f"authentication key must be at least {MIN_KEY_SIZE} bytes")


def seal(message: bytes, key: bytes, timestamp_ms: int, nonce: bytes) -> bytes:
    """Append the authentication trailer to a complete frame (header + payload)."""
    _check_key(key)
    if len(nonce) != NONCE_SIZE:
        raise ValueError(f"nonce must be {NONCE_SIZE} bytes")
    header = Header.decode(message)
    if header.length != len(message) - HEADER_SIZE:
        raise ValueError("frame length word does not match its payload")
    new_header = Header(
        header.sender, header.version, header.msg_type, header.length + AUTH_TRAILER_SIZE
    )
    body = (
        new_header.encode()
        + message[HEADER_SIZE:]
        + _TS_TLV.pack(TLV_TIMESTAMP, 8, timestamp_ms)
        + _TLV_HEAD.pack(TLV_NONCE, NONCE_SIZE)
        + nonce
        + _TLV_HEAD.pack(TLV_HMAC, MAC_SIZE)
    )
    return body + hmac.new(key, body, hashlib.sha256).digest()


def has_auth_trailer(message: bytes) -> bool:
    """Whether a frame ends with the three trailer TLVs (the MAC is not checked here)."""
    if len(message) < HEADER_SIZE + AUTH_TRAILER_SIZE:
        return False
    start = len(message) - AUTH_TRAILER_SIZE
    ts_type, ts_len, _ = _TS_TLV.unpack_from(message, start)
    n_type, n_len = _TLV_HEAD.unpack_from(message, start + _TS_TLV.size)
    m_type, m_len = _TLV_HEAD.unpack_from(message, len(message) - MAC_SIZE - 8)
    return (ts_type, ts_len, n_type, n_len, m_type, m_len) == (
        TLV_TIMESTAMP,
        8,
        TLV_NONCE,
        NONCE_SIZE,
        TLV_HMAC,
        MAC_SIZE,
    )


def unseal(message: bytes, key: bytes) -> Unsealed:
    """Check the trailer of a complete frame and return the frame without it.

    Freshness (timestamp window, nonce reuse) is the caller's :class:`ReplayGuard`'s job."""
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
    _, _, timestamp_ms = _TS_TLV.unpack_from(message, start)
    nonce_at = start + _TS_TLV.size + 8
    inner_header = Header(
        header.sender, header.version, header.msg_type, header.length - AUTH_TRAILER_SIZE
    )
    return Unsealed(
        frame=inner_header.encode() + message[HEADER_SIZE:start],
        timestamp_ms=timestamp_ms,
        nonce=message[nonce_at : nonce_at + NONCE_SIZE],
    )


class ReplayGuard:
    """Refuses messages whose timestamp is outside ``max_skew_ms`` of now, and nonces seen before.

    A nonce is remembered for twice the skew window (after that its timestamp alone refuses it),
    and at most ``capacity`` nonces are held. When full, new messages are refused rather than old
    nonces forgotten early: forgetting would reopen a replay, refusing only delays a sender.
    """

    def __init__(self, max_skew_ms: int = 60_000, capacity: int = 100_000) -> None:
        if max_skew_ms <= 0 or capacity <= 0:
            raise ValueError("skew and capacity must be positive")
        self.max_skew_ms = max_skew_ms
        self.capacity = capacity
        self._seen: OrderedDict[bytes, int] = OrderedDict()  # nonce -> time first seen (ms)

    def __len__(self) -> int:
        return len(self._seen)

    def _expire(self, now_ms: int) -> None:
        horizon = now_ms - 2 * self.max_skew_ms
        while self._seen:
            nonce, seen_at = next(iter(self._seen.items()))
            if seen_at > horizon:
                break
            del self._seen[nonce]

    def check(self, timestamp_ms: int, nonce: bytes, now_ms: int) -> None:
        """Accept (and remember) a fresh message, or raise :class:`AuthError`."""
        if abs(timestamp_ms - now_ms) > self.max_skew_ms:
            raise AuthError(
                f"timestamp is {(timestamp_ms - now_ms) / 1000:+.1f} s from local "
                "time, outside the allowed window"
            )
        self._expire(now_ms)
        if nonce in self._seen:
            raise AuthError("replayed message (nonce already seen)")
        if len(self._seen) >= self.capacity:
            raise AuthError("replay cache full; message refused")
        self._seen[nonce] = now_ms
