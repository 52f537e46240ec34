"""The director's DHCP relay (`ip helper-address`, RFC 3046 style).

:class:`DhcpRelay` relays between clients and a third-party server, inserting the Smart Install
options into the OFFER and ACK on the way back; this is how the director "snoops" DHCP.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from dataclasses import dataclass

from smartinstall.services.dhcp_endpoint import _Endpoint
from smartinstall.services.dhcp_gate import after_gate
from smartinstall.services.dhcp_hook import (
    _ZERO4,
    BaseDhcpHook,
    DhcpClientInfo,
    DhcpEvent,
    DhcpHook,
    _client_info,
    _merge_options,
)
from smartinstall.wire.dhcp import (
    BOOTREQUEST,
    DhcpDecodeError,
    DhcpPacket,
    MessageType,
    Opt,
    ip_value,
)

# one logger for the whole service (dhcp_gate logs under it too)
log = logging.getLogger("smartinstall.services.dhcp")


@dataclass(slots=True)
class DhcpRelayConfig:
    relay_address: ipaddress.IPv4Address  # our giaddr
    helper_addresses: list[ipaddress.IPv4Address]  # `ip helper-address`
    listen_address: str = "0.0.0.0"
    server_port: int = 67  # where we listen (clients and the upstream server's replies)
    upstream_port: int = 67  # where the third-party server listens
    client_port: int = 68
    broadcast_address: str = "255.255.255.255"
    interface: str | None = None
    pending_limit: int = 65_536  # remembered exchanges (bounded memory)
    recv_buffer: int | None = 256 * 1024


# ------------------------------------------------------------------------- relay


@dataclass(slots=True)
class _Exchange:
    info: DhcpClientInfo
    source: tuple[str, int]


class DhcpRelay(_Endpoint):
    """Relay between clients and third-party DHCP servers, adding Smart Install options."""

    def __init__(self, config: DhcpRelayConfig, hook: DhcpHook | None = None) -> None:
        super().__init__("dhcp-relay")
        self.config = config
        self.hook: DhcpHook = hook if hook is not None else BaseDhcpHook()
        self.giaddr = ip_value(config.relay_address)
        self.helpers = {str(a) for a in config.helper_addresses}
        self._exchanges: dict[tuple[int, bytes], _Exchange] = {}
        self.stats.update({"to_server": 0, "to_client": 0, "rewritten": 0})

    async def start(self) -> None:
        cfg = self.config
        self._open(cfg.listen_address, cfg.server_port, cfg.interface, cfg.recv_buffer)
        log.info("DHCP relay listening on %s:%d", *self.address)

    async def stop(self) -> None:
        self._close()

    def _observe(self, kind: str, info: DhcpClientInfo, address: bytes | None) -> None:
        try:
            self.hook.observe(
                DhcpEvent(
                    kind,
                    info,
                    None if address in (None, _ZERO4) else ipaddress.IPv4Address(address),
                    "relay",
                )
            )
        except Exception:
            log.exception("DHCP hook failed on %s", kind)

    def _datagram(self, data: bytes, source: tuple[str, int]) -> None:
        packet = DhcpPacket.decode(data)
        kind = packet.message_type
        if kind is None or not MessageType.DISCOVER <= kind <= MessageType.INFORM:
            raise DhcpDecodeError(f"message type {kind!r} is not relayable")
        if packet.op == BOOTREQUEST:
            self._from_client(packet, kind, source)
        else:
            self._from_server(packet, kind, source)

    def _from_client(self, packet: DhcpPacket, kind: int, source: tuple[str, int]) -> None:
        if packet.hops >= 16:  # RFC 1542 4.1.1: drop looping requests
            self.stats["ignored"] += 1
            return
        info = _client_info(packet, kind)
        ours = packet.giaddr == _ZERO4
        if ours:
            packet.giaddr = self.giaddr
        packet.hops += 1
        if len(self._exchanges) >= self.config.pending_limit:
            self._exchanges.pop(next(iter(self._exchanges)))
        if ours:
            # Replies come back to us only when we set giaddr; otherwise the server answers
            # the first relay directly and we see just the request.
            self._exchanges[(packet.xid, packet.chaddr)] = _Exchange(info, source)
        name = MessageType(kind).name.lower()
        self._observe(name, info, packet.get(Opt.REQUESTED_IP) or packet.ciaddr)
        data = packet.encode()
        for helper in self.helpers:
            self.send(data, (helper, self.config.upstream_port))
        self.stats["to_server"] += 1

    def _from_server(self, packet: DhcpPacket, kind: int, source: tuple[str, int]) -> None:
        if source[0] not in self.helpers:
            log.warning("DHCP reply from %s, which is not a helper address: dropped", source[0])
            self.stats["ignored"] += 1
            return
        exchange = self._exchanges.get((packet.xid, packet.chaddr))
        if exchange is None or packet.giaddr != self.giaddr:
            self.stats["ignored"] += 1
            return
        info = exchange.info
        if kind in (MessageType.OFFER, MessageType.ACK):
            try:
                extra = self.hook.client_options(info)
            except Exception:
                log.exception("DHCP hook failed to give options")
                extra = ()
            if extra:
                packet.options = _merge_options(packet.options, extra)
                self.stats["rewritten"] += 1
        if kind in (MessageType.ACK, MessageType.NAK):
            self._exchanges.pop((packet.xid, packet.chaddr), None)
        cfg = self.config
        packet.giaddr = _ZERO4
        if packet.ciaddr != _ZERO4 and kind != MessageType.NAK:
            destination = (socket.inet_ntoa(packet.ciaddr), cfg.client_port)
        else:
            destination = (cfg.broadcast_address, cfg.client_port)
        data = packet.encode()
        name = MessageType(kind).name.lower()
        yiaddr = packet.yiaddr

        def forward() -> None:
            self._observe(name, info, yiaddr)
            self.send(data, destination)
            self.stats["to_client"] += 1

        if kind == MessageType.ACK and yiaddr != _ZERO4:
            after_gate(self.hook, info, ipaddress.IPv4Address(yiaddr), forward, self.held)()
        else:
            forward()
