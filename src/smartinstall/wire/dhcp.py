"""DHCPv4 packets and options (RFC 2131, RFC 2132), with the Smart Install options.

Pure codec: bytes in, dataclasses out, and back. Every length is checked against the
buffer before it is used; anything malformed raises :class:`DhcpDecodeError` (a
``ValueError``), never another exception.

Options are kept as an ordered list of ``(code, value)`` pairs so that a packet decodes and
re-encodes to the same bytes, and so that options this module does not know (option 82
from a relay agent, say) pass through intact. Values longer than 255 bytes are split on
encoding and concatenated on decoding (RFC 3396).

Smart Install uses (see ``spec/wire-protocol.md`` section 5):

* option 125 (RFC 3925 V-I vendor-specific information), Cisco enterprise 9:
  sub-option 5 = imagelist file name, sub-option 16 = director IPv4 address;
* option 67 = configuration file, options 66/150 = TFTP server, option 12 = host name.
"""

from __future__ import annotations

import enum
import ipaddress
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "BOOTREPLY",
    "BOOTREQUEST",
    "CISCO_ENTERPRISE",
    "MAGIC_COOKIE",
    "MAX_OPTIONS",
    "MAX_PACKET_SIZE",
    "MIN_PACKET_SIZE",
    "SI_SUBOPT_DIRECTOR_IP",
    "SI_SUBOPT_IMAGELIST",
    "DhcpDecodeError",
    "DhcpPacket",
    "MessageType",
    "Opt",
    "RelayAgentInfo",
    "VendorBlock",
    "decode_options",
    "decode_relay_agent_info",
    "decode_vivso",
    "encode_options",
    "encode_packet",
    "encode_relay_agent_info",
    "encode_vivso",
    "ip_list_value",
    "ip_value",
    "parse_ip_list",
    "smart_install_vivso",
    "u32_value",
]

BOOTREQUEST = 1
BOOTREPLY = 2
MAGIC_COOKIE = b"\x63\x82\x53\x63"
#: Fixed BOOTP header (236 bytes) plus the magic cookie.
MIN_PACKET_SIZE = 240
#: The largest UDP payload; a bigger buffer is refused before any parsing.
MAX_PACKET_SIZE = 65507
#: More options than this in one packet is an attack, not a client.
MAX_OPTIONS = 1024
CISCO_ENTERPRISE = 9
#: Sub-options of option 125 / enterprise 9 used by Smart Install.
SI_SUBOPT_IMAGELIST = 5
SI_SUBOPT_DIRECTOR_IP = 16

_HEADER = struct.Struct("!BBBBIHH4s4s4s4s16s64s128s")
_U32 = struct.Struct("!I")


class DhcpDecodeError(ValueError):
    """The bytes are not a well-formed DHCP packet or option."""


class MessageType(enum.IntEnum):
    """Option 53 values (RFC 2132 section 9.6)."""

    DISCOVER = 1
    OFFER = 2
    REQUEST = 3
    DECLINE = 4
    ACK = 5
    NAK = 6
    RELEASE = 7
    INFORM = 8


class Opt(enum.IntEnum):
    """Option codes this project reads or writes."""

    PAD = 0
    SUBNET_MASK = 1
    ROUTER = 3
    DNS_SERVERS = 6
    HOSTNAME = 12
    DOMAIN_NAME = 15
    REQUESTED_IP = 50
    LEASE_TIME = 51
    OVERLOAD = 52
    MESSAGE_TYPE = 53
    SERVER_ID = 54
    PARAMETER_LIST = 55
    MESSAGE = 56
    MAX_MESSAGE_SIZE = 57
    RENEWAL_TIME = 58
    REBINDING_TIME = 59
    VENDOR_CLASS = 60
    CLIENT_ID = 61
    TFTP_SERVER_NAME = 66
    BOOTFILE_NAME = 67
    RELAY_AGENT_INFO = 82
    VIVSO = 125
    TFTP_SERVER_ADDRESS = 150
    END = 255


# --------------------------------------------------------------------------- options


def decode_options(data: bytes, *, limit: int = MAX_OPTIONS) -> list[tuple[int, bytes]]:
    """Decode an options area into ``(code, value)`` pairs, in order.

    Pads are skipped; END stops the scan (bytes after it are padding). A missing END is
    tolerated (many clients omit it in sname/file). Repeated codes are left as separate
    pairs here; :class:`DhcpPacket` joins them per RFC 3396.
    """
    out: list[tuple[int, bytes]] = []
    i = 0
    n = len(data)
    while i < n:
        code = data[i]
        if code == 0:
            i += 1
            continue
        if code == 255:
            break
        if i + 1 >= n:
            raise DhcpDecodeError(f"option {code} at offset {i} has no length byte")
        length = data[i + 1]
        end = i + 2 + length
        if end > n:
            raise DhcpDecodeError(
                f"option {code} at offset {i} claims {length} bytes, {n - i - 2} left"
            )
        if len(out) >= limit:
            raise DhcpDecodeError(f"more than {limit} options")
        out.append((code, data[i + 2 : end]))
        i = end
    return out


def encode_options(options: Iterable[tuple[int, bytes]], *, end: bool = True) -> bytes:
    """Encode ``(code, value)`` pairs; values over 255 bytes are split (RFC 3396)."""
    parts: list[bytes] = []
    for code, value in options:
        if not 0 < code < 255:
            raise ValueError(f"option code {code} cannot be encoded")
        if not value:
            parts.append(bytes((code, 0)))
            continue
        for start in range(0, len(value), 255):
            chunk = value[start : start + 255]
            parts.append(bytes((code, len(chunk))))
            parts.append(chunk)
    if end:
        parts.append(b"\xff")
    return b"".join(parts)


def _join_repeats(pairs: Sequence[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    """Concatenate repeated codes into the first occurrence (RFC 3396)."""
    seen: dict[int, int] = {}
    out: list[tuple[int, bytes]] = []
    for code, value in pairs:
        at = seen.get(code)
        if at is None:
            seen[code] = len(out)
            out.append((code, value))
        else:
            out[at] = (code, out[at][1] + value)
    return out


def ip_value(address: str | ipaddress.IPv4Address) -> bytes:
    return ipaddress.IPv4Address(address).packed


def ip_list_value(addresses: Iterable[str | ipaddress.IPv4Address]) -> bytes:
    return b"".join(ipaddress.IPv4Address(a).packed for a in addresses)


def u32_value(number: int) -> bytes:
    return _U32.pack(number)


def parse_ip_list(value: bytes) -> list[ipaddress.IPv4Address]:
    if len(value) % 4:
        raise DhcpDecodeError(f"address list of {len(value)} bytes is not a multiple of 4")
    return [ipaddress.IPv4Address(value[i : i + 4]) for i in range(0, len(value), 4)]


# --------------------------------------------------------------- option 125 (RFC 3925)


@dataclass(frozen=True, slots=True)
class VendorBlock:
    """One enterprise's data in option 125: its sub-options in order."""

    enterprise: int
    suboptions: tuple[tuple[int, bytes], ...]

    def get(self, code: int) -> bytes | None:
        for sub, value in self.suboptions:
            if sub == code:
                return value
        return None


def decode_vivso(value: bytes) -> list[VendorBlock]:
    """Decode option 125 data: ``enterprise(4) data-len(1) {code(1) len(1) data}*``."""
    blocks: list[VendorBlock] = []
    i = 0
    n = len(value)
    while i < n:
        if i + 5 > n:
            raise DhcpDecodeError("option 125: truncated enterprise header")
        enterprise = _U32.unpack_from(value, i)[0]
        data_len = value[i + 4]
        end = i + 5 + data_len
        if end > n:
            raise DhcpDecodeError(f"option 125: enterprise {enterprise} data runs past the end")
        subs: list[tuple[int, bytes]] = []
        j = i + 5
        while j < end:
            if j + 2 > end:
                raise DhcpDecodeError("option 125: truncated sub-option header")
            code, length = value[j], value[j + 1]
            if j + 2 + length > end:
                raise DhcpDecodeError(f"option 125: sub-option {code} runs past its block")
            subs.append((code, value[j + 2 : j + 2 + length]))
            j += 2 + length
        blocks.append(VendorBlock(enterprise, tuple(subs)))
        i = end
    return blocks


def encode_vivso(blocks: Iterable[VendorBlock]) -> bytes:
    out = bytearray()
    for block in blocks:
        data = bytearray()
        for code, sub in block.suboptions:
            if len(sub) > 255:
                raise ValueError(f"option 125 sub-option {code} is longer than 255 bytes")
            data += bytes((code, len(sub))) + sub
        if len(data) > 255:
            raise ValueError(f"option 125 enterprise {block.enterprise} data exceeds 255 bytes")
        out += _U32.pack(block.enterprise) + bytes((len(data),)) + data
    return bytes(out)


def smart_install_vivso(
    imagelist: str | None = None, director: str | ipaddress.IPv4Address | None = None
) -> bytes:
    """Option 125 value with Cisco's sub-option 5 (imagelist) and/or 16 (director IP)."""
    subs: list[tuple[int, bytes]] = []
    if imagelist is not None:
        subs.append((SI_SUBOPT_IMAGELIST, imagelist.encode("ascii")))
    if director is not None:
        subs.append((SI_SUBOPT_DIRECTOR_IP, ip_value(director)))
    return encode_vivso([VendorBlock(CISCO_ENTERPRISE, tuple(subs))])


# ------------------------------------------------------------ option 82 (RFC 3046)


@dataclass(frozen=True, slots=True)
class RelayAgentInfo:
    """Option 82: sub-options in order; circuit id (1) and remote id (2) picked out."""

    suboptions: tuple[tuple[int, bytes], ...]

    @property
    def circuit_id(self) -> bytes | None:
        return self._get(1)

    @property
    def remote_id(self) -> bytes | None:
        return self._get(2)

    def _get(self, code: int) -> bytes | None:
        for sub, value in self.suboptions:
            if sub == code:
                return value
        return None


def decode_relay_agent_info(value: bytes) -> RelayAgentInfo:
    subs: list[tuple[int, bytes]] = []
    i = 0
    n = len(value)
    while i < n:
        if i + 2 > n:
            raise DhcpDecodeError("option 82: truncated sub-option header")
        code, length = value[i], value[i + 1]
        if i + 2 + length > n:
            raise DhcpDecodeError(f"option 82: sub-option {code} runs past the end")
        subs.append((code, value[i + 2 : i + 2 + length]))
        i += 2 + length
    return RelayAgentInfo(tuple(subs))


def encode_relay_agent_info(info: RelayAgentInfo) -> bytes:
    out = bytearray()
    for code, value in info.suboptions:
        if len(value) > 255:
            raise ValueError(f"option 82 sub-option {code} is longer than 255 bytes")
        out += bytes((code, len(value))) + value
    return bytes(out)


# ------------------------------------------------------------------------- packets

_ZERO4 = b"\x00\x00\x00\x00"
_ZERO64 = bytes(64)
_ZERO128 = bytes(128)


def encode_packet(
    op: int,
    htype: int,
    hlen: int,
    hops: int,
    xid: int,
    secs: int,
    flags: int,
    ciaddr: bytes,
    yiaddr: bytes,
    siaddr: bytes,
    giaddr: bytes,
    chaddr: bytes,
    options: bytes,
    sname: bytes = _ZERO64,
    file: bytes = _ZERO128,
    *,
    min_size: int = 300,
) -> bytes:
    """A packet from its fields and an already encoded options area (END is appended).

    The fast path for servers that pre-encode their fixed options. Address fields must be
    4 bytes; chaddr, sname and file at most 16, 64 and 128 (they are NUL-padded).
    """
    if not (len(ciaddr) == len(yiaddr) == len(siaddr) == len(giaddr) == 4):
        raise ValueError("IPv4 address fields must be 4 bytes")
    if len(chaddr) > 16 or len(sname) > 64 or len(file) > 128:
        raise ValueError("chaddr, sname or file is too long")
    body = b"".join(
        (
            _HEADER.pack(
                op,
                htype,
                hlen,
                hops,
                xid & 0xFFFFFFFF,
                secs,
                flags,
                ciaddr,
                yiaddr,
                siaddr,
                giaddr,
                chaddr,
                sname,
                file,
            ),
            MAGIC_COOKIE,
            options,
            b"\xff",
        )
    )
    if len(body) < min_size:
        body += bytes(min_size - len(body))
    return body


@dataclass(slots=True)
class DhcpPacket:
    """A BOOTP/DHCP message. Addresses are 4-byte ``bytes`` (fast and exact)."""

    op: int = BOOTREQUEST
    htype: int = 1
    hlen: int = 6
    hops: int = 0
    xid: int = 0
    secs: int = 0
    flags: int = 0
    ciaddr: bytes = _ZERO4
    yiaddr: bytes = _ZERO4
    siaddr: bytes = _ZERO4
    giaddr: bytes = _ZERO4
    chaddr: bytes = bytes(16)
    sname: bytes = bytes(64)
    file: bytes = bytes(128)
    options: list[tuple[int, bytes]] = field(default_factory=list)
    # Lookup cache for get(); rebuilt when ``options`` is replaced or changes length, and
    # dropped by set()/remove(). Change options through those (or assign a new list).
    _index: dict[int, bytes] | None = field(default=None, repr=False, compare=False)
    _index_of: list[tuple[int, bytes]] | None = field(default=None, repr=False, compare=False)
    _index_len: int = field(default=-1, repr=False, compare=False)

    BROADCAST_FLAG = 0x8000

    # -- decoding

    @classmethod
    def decode(cls, data: bytes, *, max_options: int = MAX_OPTIONS) -> DhcpPacket:
        """Parse one datagram. Option overload (52) is honoured once, never recursively."""
        n = len(data)
        if n < MIN_PACKET_SIZE:
            raise DhcpDecodeError(f"packet of {n} bytes is shorter than {MIN_PACKET_SIZE}")
        if n > MAX_PACKET_SIZE:
            raise DhcpDecodeError(f"packet of {n} bytes is longer than {MAX_PACKET_SIZE}")
        (
            op,
            htype,
            hlen,
            hops,
            xid,
            secs,
            flags,
            ciaddr,
            yiaddr,
            siaddr,
            giaddr,
            chaddr,
            sname,
            file,
        ) = _HEADER.unpack_from(data, 0)
        if op not in (BOOTREQUEST, BOOTREPLY):
            raise DhcpDecodeError(f"op {op} is neither BOOTREQUEST nor BOOTREPLY")
        if hlen > 16:
            raise DhcpDecodeError(f"hardware address length {hlen} exceeds 16")
        if data[236:240] != MAGIC_COOKIE:
            raise DhcpDecodeError("no DHCP magic cookie")
        pairs = decode_options(data[240:], limit=max_options)
        overload = 0
        for code, value in pairs:
            if code == Opt.OVERLOAD:
                if len(value) != 1 or value[0] not in (1, 2, 3):
                    raise DhcpDecodeError(f"bad option overload value {value.hex()}")
                overload = value[0]
        # RFC 2131 4.1: options field, then file, then sname. Option 52 found inside the
        # overloaded fields is ignored, so there is no way to loop.
        if overload & 1:
            more = decode_options(file, limit=max_options - len(pairs))
            pairs += [(c, v) for c, v in more if c != Opt.OVERLOAD]
            file = bytes(128)
        if overload & 2:
            more = decode_options(sname, limit=max_options - len(pairs))
            pairs += [(c, v) for c, v in more if c != Opt.OVERLOAD]
            sname = bytes(64)
        if overload:
            pairs = [(c, v) for c, v in pairs if c != Opt.OVERLOAD]
        options = _join_repeats(pairs) if len({c for c, _ in pairs}) != len(pairs) else pairs
        return cls(
            op,
            htype,
            hlen,
            hops,
            xid,
            secs,
            flags,
            ciaddr,
            yiaddr,
            siaddr,
            giaddr,
            chaddr,
            sname,
            file,
            options,
        )

    # -- encoding

    def encode(self, *, min_size: int = 300) -> bytes:
        """Serialize; padded to ``min_size`` (BOOTP relays expect at least 300 bytes)."""
        return encode_packet(
            self.op,
            self.htype,
            self.hlen,
            self.hops,
            self.xid,
            self.secs,
            self.flags,
            self.ciaddr,
            self.yiaddr,
            self.siaddr,
            self.giaddr,
            self.chaddr,
            encode_options(self.options, end=False),
            self.sname,
            self.file,
            min_size=min_size,
        )

    # -- option access

    def get(self, code: int) -> bytes | None:
        """The first value of option ``code``, or None."""
        options = self.options
        index = self._index
        if index is None or self._index_of is not options or self._index_len != len(options):
            index = dict(reversed(options))  # the first occurrence wins
            self._index = index
            self._index_of = options
            self._index_len = len(options)
        return index.get(code)

    def set(self, code: int, value: bytes) -> None:
        """Replace the option in place (keeping its position) or append it."""
        self._index = None
        for i, (c, _) in enumerate(self.options):
            if c == code:
                self.options[i] = (code, value)
                return
        self.options.append((code, value))

    def remove(self, code: int) -> None:
        self._index = None
        self.options = [(c, v) for c, v in self.options if c != code]

    @property
    def message_type(self) -> int | None:
        """Option 53 as an int (1..255), or None when absent or malformed."""
        value = self.get(Opt.MESSAGE_TYPE)
        if value is None or len(value) != 1:
            return None
        return value[0]

    @property
    def mac(self) -> bytes:
        return self.chaddr[: min(self.hlen, 16)]

    @property
    def client_id(self) -> bytes | None:
        return self.get(Opt.CLIENT_ID)

    @property
    def vendor_class(self) -> bytes | None:
        return self.get(Opt.VENDOR_CLASS)

    @property
    def requested_ip(self) -> bytes | None:
        value = self.get(Opt.REQUESTED_IP)
        return value if value is not None and len(value) == 4 else None

    @property
    def server_id(self) -> bytes | None:
        value = self.get(Opt.SERVER_ID)
        return value if value is not None and len(value) == 4 else None

    @property
    def relay_agent_info(self) -> RelayAgentInfo | None:
        """Option 82 parsed; None when absent. Malformed option 82 raises DhcpDecodeError."""
        value = self.get(Opt.RELAY_AGENT_INFO)
        return None if value is None else decode_relay_agent_info(value)

    @property
    def broadcast(self) -> bool:
        return bool(self.flags & self.BROADCAST_FLAG)
