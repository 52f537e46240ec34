"""How the director takes part in DHCP: the hook, what it is told and the options it adds.

Both the server and the relay report every exchange to a :class:`DhcpHook` (as a
:class:`DhcpEvent` about a :class:`DhcpClientInfo`) and ask it for per-client options, which
are merged into the OFFER and ACK; the options that define the exchange itself stay ours.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from smartinstall.wire.dhcp import DhcpDecodeError, DhcpPacket, Opt, RelayAgentInfo

_ZERO4 = b"\x00\x00\x00\x00"


# Not frozen: frozen dataclasses cost several times more to build, and two are built per
# packet. Treat both as read-only.
@dataclass(slots=True)
class DhcpClientInfo:
    """What a DHCP message says about its client (read-only)."""

    mac: bytes
    client_id: bytes | None
    vendor_class: bytes | None
    hostname: bytes | None
    giaddr: ipaddress.IPv4Address | None
    relay_info: RelayAgentInfo | None
    message_type: int
    xid: int

    @property
    def mac_text(self) -> str:
        """MAC in Cisco's dotted form, e.g. ``0021.d7ae.fc00``."""
        h = self.mac.hex()
        return ".".join(h[i : i + 4] for i in range(0, len(h), 4))


@dataclass(slots=True)
class DhcpEvent:
    kind: str  # discover offer request ack nak decline release inform
    client: DhcpClientInfo
    address: ipaddress.IPv4Address | None
    via: str  # "server" or "relay"


class DhcpHook(Protocol):
    """How the director takes part: per-client options, and every exchange reported."""

    def client_options(self, client: DhcpClientInfo) -> Sequence[tuple[int, bytes]]:
        """Options to add to (or replace in) this client's OFFER/ACK, e.g. 125/67/150/12."""
        ...

    def is_smart_install_client(self, client: DhcpClientInfo) -> bool:
        """True for a known Smart Install switch (used in coexistence mode)."""
        ...

    def observe(self, event: DhcpEvent) -> None:
        """Called for each DISCOVER/OFFER/REQUEST/ACK/NAK/DECLINE/RELEASE/INFORM."""
        ...


class AckGate(Protocol):
    """Optional part of a hook: told of the binding an ACK is about to confirm, it says what
    must be durable before the ACK leaves (the director's record of a new client and its
    address, say). None: nothing to wait for. When the future fails, no ACK is sent; the
    client asks again."""

    def ready_to_ack(
        self, client: DhcpClientInfo, address: ipaddress.IPv4Address
    ) -> asyncio.Future[None] | None: ...


def is_cisco_vendor_class(vendor_class: bytes | None) -> bool:
    return vendor_class is not None and vendor_class[:5].lower() == b"cisco"


class BaseDhcpHook:
    """No extra options; Cisco vendor class counts as Smart Install; events ignored."""

    def client_options(self, client: DhcpClientInfo) -> Sequence[tuple[int, bytes]]:
        return ()

    def is_smart_install_client(self, client: DhcpClientInfo) -> bool:
        return is_cisco_vendor_class(client.vendor_class)

    def observe(self, event: DhcpEvent) -> None:
        return None


class StaticDhcpHook(BaseDhcpHook):
    """Fixed options for every client plus per-MAC ones; known MACs are Smart Install.

    Keeps the last ``max_events`` events (for the standalone runner and tests).
    """

    def __init__(
        self,
        options: Sequence[tuple[int, bytes]] = (),
        per_mac: dict[bytes, Sequence[tuple[int, bytes]]] | None = None,
        max_events: int = 10_000,
    ) -> None:
        self.options = list(options)
        self.per_mac = dict(per_mac or {})
        self.events: list[DhcpEvent] = []
        self.max_events = max_events

    def client_options(self, client: DhcpClientInfo) -> Sequence[tuple[int, bytes]]:
        extra = self.per_mac.get(client.mac)
        return self.options if extra is None else [*self.options, *extra]

    def is_smart_install_client(self, client: DhcpClientInfo) -> bool:
        return client.mac in self.per_mac or is_cisco_vendor_class(client.vendor_class)

    def observe(self, event: DhcpEvent) -> None:
        if len(self.events) >= self.max_events:
            del self.events[: self.max_events // 2]
        self.events.append(event)


_GIADDRS: dict[bytes, ipaddress.IPv4Address] = {}  # relay agents are few: cache their objects


def _giaddr(raw: bytes) -> ipaddress.IPv4Address | None:
    if raw == _ZERO4:
        return None
    address = _GIADDRS.get(raw)
    if address is None:
        if len(_GIADDRS) >= 4096:
            _GIADDRS.clear()
        address = _GIADDRS[raw] = ipaddress.IPv4Address(raw)
    return address


def _client_info(packet: DhcpPacket, message_type: int) -> DhcpClientInfo:
    relay_info = None
    if packet.get(Opt.RELAY_AGENT_INFO) is not None:
        # A malformed option 82 is still echoed as raw bytes; only the parsed view is missing.
        with contextlib.suppress(DhcpDecodeError):
            relay_info = packet.relay_agent_info
    return DhcpClientInfo(
        packet.mac,
        packet.get(Opt.CLIENT_ID),
        packet.get(Opt.VENDOR_CLASS),
        packet.get(Opt.HOSTNAME),
        _giaddr(packet.giaddr),
        relay_info,
        message_type,
        packet.xid,
    )


# Options a hook may not set: pad/end, and the ones that define the exchange itself.
_PROTECTED = frozenset({Opt.PAD, Opt.END, Opt.MESSAGE_TYPE, Opt.SERVER_ID, Opt.OVERLOAD})


def _merge_options(
    base: list[tuple[int, bytes]], extra: Iterable[tuple[int, bytes]]
) -> list[tuple[int, bytes]]:
    """``base`` with each code of ``extra`` replaced or appended; protected codes skipped."""
    out = list(base)
    for code, value in extra:
        if code in _PROTECTED or not 0 < code < 255:
            continue
        for i, (c, _) in enumerate(out):
            if c == code:
                out[i] = (code, value)
                break
        else:
            out.append((code, value))
    return out
