"""The director's DHCP server for `vstack dhcp-localserver` pools (RFC 2131).

:class:`DhcpServer` answers DISCOVER/REQUEST/DECLINE/RELEASE/INFORM from its pools, broadcast
or relayed (``giaddr``). With a data directory it remembers bindings (`ip dhcp remember`) in a
group-committed journal (:mod:`smartinstall.store.leases`); an ACK leaves only once its binding
is on disk, and what the hook needs durable too — or not at all when that cannot be written (a
full disk): the client asks again (:mod:`smartinstall.services.dhcp_gate`).
``only_smart_install`` makes it coexist with a third-party server: it answers Smart Install
switches only and stays silent for the rest.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from smartinstall.services.dhcp_admission import AdmissionConfig, NewClientAdmission
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
from smartinstall.services.dhcp_pool import PoolConfig, _Pool
from smartinstall.store.leases import Lease, LeaseStore
from smartinstall.wire.dhcp import (
    BOOTREPLY,
    BOOTREQUEST,
    DhcpDecodeError,
    DhcpPacket,
    MessageType,
    Opt,
    encode_options,
    encode_packet,
    ip_value,
)

# one logger for the whole service (dhcp_gate logs under it too)
log = logging.getLogger("smartinstall.services.dhcp")


@dataclass(slots=True)
class DhcpServerConfig:
    server_address: ipaddress.IPv4Address  # server identifier (option 54)
    pools: list[PoolConfig]
    listen_address: str = "0.0.0.0"
    server_port: int = 67
    client_port: int = 68
    #: Port to which replies for a relay agent (giaddr) go; None = server_port.
    relay_port: int | None = None
    #: Destination of "broadcast" replies (a loopback address in tests).
    broadcast_address: str = "255.255.255.255"
    #: Bind to this interface (SO_BINDTODEVICE) so broadcasts leave through it.
    interface: str | None = None
    #: `ip dhcp remember`: keep bindings in this directory (None: memory only).
    data_dir: str | None = None
    fsync: bool = True
    #: Coexistence with a third-party server: answer Smart Install switches only.
    only_smart_install: bool = False
    offer_hold: float = 30.0
    decline_hold: float = 600.0
    #: Socket receive buffer (bytes; None = system default). Small on purpose: under
    #: overload a deep queue only holds requests whose clients have already retried.
    recv_buffer: int | None = 256 * 1024


class DhcpServer(_Endpoint):
    """RFC 2131 server for the director's pools. Use ``await start()`` / ``await stop()``."""

    def __init__(
        self,
        config: DhcpServerConfig,
        hook: DhcpHook | None = None,
        leases: LeaseStore | None = None,
        admission: AdmissionConfig | None = None,
    ) -> None:
        super().__init__("dhcp-server")
        self.config = config
        self.hook: DhcpHook = hook if hook is not None else BaseDhcpHook()
        self._own_leases = leases is None
        self.leases = leases
        self.server_id = ip_value(config.server_address)
        reserved = {int(config.server_address)}
        self.pools = [_Pool(p, reserved) for p in config.pools]
        self.offers: dict[int, tuple[bytes, float]] = {}  # address -> (client key, until)
        # with ``admission``, new clients are admitted at a bounded rate per port and in all
        # (the director: a flood of invented MACs must not take the pool from real switches);
        # without, the server is a plain one (benchmarks, the standalone command)
        self.admission = NewClientAdmission(admission)
        self._admitting = admission is not None
        self.declined: dict[int, float] = {}  # address -> until
        # lease expiry is wall-clock time (it survives restarts); tests turn this clock
        self.wall_clock: Callable[[], float] = time.time
        self.stats.update(
            {"offers": 0, "acks": 0, "naks": 0, "releases": 0, "declines": 0, "dropped_new": 0}
        )
        self._head: dict[int, bytes] = {
            int(kind): encode_options(
                [(Opt.MESSAGE_TYPE, bytes((kind,))), (Opt.SERVER_ID, self.server_id)], end=False
            )
            for kind in (MessageType.OFFER, MessageType.ACK, MessageType.NAK)
        }

    async def start(self) -> None:
        if self.leases is None:
            self.leases = LeaseStore(self.config.data_dir, fsync=self.config.fsync)
        cfg = self.config
        self._open(cfg.listen_address, cfg.server_port, cfg.interface, cfg.recv_buffer)
        log.info("DHCP server listening on %s:%d", *self.address)

    async def stop(self) -> None:
        self._close()
        if self._own_leases and self.leases is not None:
            await self.leases.close()

    # -- dispatch

    def _datagram(self, data: bytes, source: tuple[str, int]) -> None:
        packet = DhcpPacket.decode(data)
        if packet.op != BOOTREQUEST:
            self.stats["ignored"] += 1
            return
        kind = packet.message_type
        if kind is None or not MessageType.DISCOVER <= kind <= MessageType.INFORM:
            raise DhcpDecodeError(f"message type {kind!r} is not a client message")
        if packet.hlen == 0 and not packet.get(Opt.CLIENT_ID):
            raise DhcpDecodeError("request names no client (no chaddr, no client id)")
        info = _client_info(packet, kind)
        if self.config.only_smart_install and not self.hook.is_smart_install_client(info):
            self.stats["ignored"] += 1
            return
        if kind == MessageType.DISCOVER:
            self._discover(packet, info)
        elif kind == MessageType.REQUEST:
            self._request(packet, info)
        elif kind == MessageType.RELEASE:
            self._release(packet, info)
        elif kind == MessageType.DECLINE:
            self._decline(packet, info)
        elif kind == MessageType.INFORM:
            self._inform(packet, info)
        else:  # OFFER/ACK/NAK sent by a client
            self.stats["ignored"] += 1

    @staticmethod
    def _key(packet: DhcpPacket) -> bytes:
        client_id = packet.get(Opt.CLIENT_ID)
        if client_id:
            return client_id
        return bytes((packet.htype,)) + packet.mac

    def _pool_for(self, packet: DhcpPacket) -> _Pool | None:
        if packet.giaddr != _ZERO4:
            addr = int.from_bytes(packet.giaddr, "big")
        elif packet.ciaddr != _ZERO4:
            addr = int.from_bytes(packet.ciaddr, "big")
        else:
            addr = int(self.config.server_address)
        for pool in self.pools:
            if pool.contains(addr):
                return pool
        if packet.giaddr == _ZERO4 and len(self.pools) == 1:
            return self.pools[0]
        return None

    def _observe(self, kind: str, info: DhcpClientInfo, address: int | None) -> None:
        try:
            self.hook.observe(
                DhcpEvent(
                    kind,
                    info,
                    None if address is None else ipaddress.IPv4Address(address),
                    "server",
                )
            )
        except Exception:
            log.exception("DHCP hook failed on %s", kind)

    # -- allocation

    def _free(self, pool: _Pool, address: int, key: bytes, now: float) -> bool:
        """Address can go to ``key``: in the pool, not bound, offered or declined to others."""
        if not pool.usable(address):
            return False
        assert self.leases is not None
        lease = self.leases.owner(address)
        if lease is not None and lease.key != key:
            return False
        offer = self.offers.get(address)
        if offer is not None and offer[0] != key and offer[1] > now:
            return False
        until = self.declined.get(address)
        return until is None or until <= now

    def _allocate(self, pool: _Pool, key: bytes, wanted: int | None, now: float) -> int | None:
        assert self.leases is not None
        lease = self.leases.get(key)
        if (
            lease is not None
            and pool.contains(lease.address)
            and self._free(pool, lease.address, key, now)
        ):
            return lease.address  # remembered binding
        if wanted is not None and self._free(pool, wanted, key, now):
            return wanted
        while pool.returned:
            address = pool.returned.pop()
            if self._free(pool, address, key, now):
                return address
        while pool.cursor <= pool.last:
            address = pool.cursor
            pool.cursor += 1
            if self._free(pool, address, key, now):
                return address
        return self._reclaim(pool, key, now)

    def _reclaim(self, pool: _Pool, key: bytes, now: float) -> int | None:
        """Pool exhausted: forget the binding that expired longest ago, and stale offers."""
        assert self.leases is not None
        for address, (_, until) in list(self.offers.items()):
            if until <= now:
                del self.offers[address]
                if pool.contains(address):
                    pool.returned.append(address)
        for address, until in list(self.declined.items()):
            if until <= now:
                del self.declined[address]
                pool.returned.append(address)
        oldest: Lease | None = None
        wall = self.wall_clock()
        for lease in self.leases:
            if (
                pool.contains(lease.address)
                and lease.expires <= wall
                and (oldest is None or lease.expires < oldest.expires)
            ):
                oldest = lease
        if oldest is not None:
            self.leases.forget(oldest.key)
            pool.returned.append(oldest.address)
        while pool.returned:
            address = pool.returned.pop()
            if self._free(pool, address, key, now):
                return address
        return None

    # -- replies

    def _reply(
        self,
        request: DhcpPacket,
        kind: int,
        yiaddr: int | None,
        pool: _Pool | None,
        info: DhcpClientInfo,
        lease_options: bool = True,
    ) -> bytes:
        """Encode a reply. The pool's fixed options are pre-encoded; the hook's are merged."""
        parts = [self._head[kind]]
        if kind != MessageType.NAK and pool is not None:
            try:
                extra = self.hook.client_options(info)
            except Exception:
                log.exception("DHCP hook failed to give options")
                extra = ()
            if extra and not {c for c, _ in extra}.isdisjoint(pool.fixed_codes):
                fixed = (
                    pool.lease_options + pool.static_options
                    if lease_options
                    else (pool.static_options)
                )
                parts.append(encode_options(_merge_options(fixed, extra), end=False))
            else:
                if lease_options:
                    parts.append(pool.lease_blob)
                parts.append(pool.static_blob)
                if extra:
                    parts.append(encode_options(extra, end=False))
            siaddr = pool.siaddr
        else:
            siaddr = _ZERO4
        relay = request.get(Opt.RELAY_AGENT_INFO)
        if relay is not None:  # RFC 3046 2.2: echo option 82 back to the relay agent
            parts.append(encode_options([(Opt.RELAY_AGENT_INFO, relay)], end=False))
        flags = request.flags
        if kind == MessageType.NAK and request.giaddr != _ZERO4:
            flags |= DhcpPacket.BROADCAST_FLAG  # RFC 2131 4.3.2: relay broadcasts the NAK
        return encode_packet(
            BOOTREPLY,
            request.htype,
            request.hlen,
            0,
            request.xid,
            0,
            flags,
            request.ciaddr if kind != MessageType.NAK else _ZERO4,
            _ZERO4 if yiaddr is None else yiaddr.to_bytes(4, "big"),
            siaddr,
            request.giaddr,
            request.chaddr,
            b"".join(parts),
        )

    def _destination(self, request: DhcpPacket, kind: int) -> tuple[str, int]:
        """RFC 2131 4.1: to the relay, to ciaddr, or broadcast."""
        cfg = self.config
        if request.giaddr != _ZERO4:
            port = cfg.relay_port if cfg.relay_port is not None else cfg.server_port
            return socket.inet_ntoa(request.giaddr), port
        if request.ciaddr != _ZERO4 and kind != MessageType.NAK:
            return socket.inet_ntoa(request.ciaddr), cfg.client_port
        # Unicast to yiaddr would need an ARP entry we cannot add; broadcast instead.
        return cfg.broadcast_address, cfg.client_port

    def _send_reply(self, request: DhcpPacket, kind: int, reply: bytes) -> None:
        self.send(reply, self._destination(request, kind))

    # -- messages

    def _discover(self, packet: DhcpPacket, info: DhcpClientInfo) -> None:
        self._observe("discover", info, None)
        pool = self._pool_for(packet)
        if pool is None:
            self.stats["ignored"] += 1
            log.debug("no pool for DISCOVER via giaddr %s", info.giaddr)
            return
        now = time.monotonic()
        key = self._key(packet)
        assert self.leases is not None
        new = self.leases.get(key) is None and key not in self.admission.unconfirmed
        circuit = (info.relay_info.circuit_id if info.relay_info else None) or b""
        source = (str(info.giaddr or ""), circuit[:64])
        if new and self._admitting and not self.admission.admit(source, now):
            self.stats["dropped_new"] += 1
            return
        wanted = packet.requested_ip
        address = self._allocate(pool, key, int.from_bytes(wanted, "big") if wanted else None, now)
        if address is None:
            log.warning("pool %s is exhausted", pool.config.name)
            self.stats["ignored"] += 1
            return
        self.offers[address] = (key, now + self.config.offer_hold)
        if self._admitting and self.leases.get(key) is None:
            withdrawn = self.admission.offered(key, address, source, now)
            if withdrawn is not None and withdrawn != address:
                # too many offers to new clients wait: the oldest goes back to its pool
                self.offers.pop(withdrawn, None)
                for each in self.pools:
                    if each.contains(withdrawn):
                        each.returned.append(withdrawn)
        reply = self._reply(packet, MessageType.OFFER, address, pool, info)
        self._send_reply(packet, MessageType.OFFER, reply)
        self.stats["offers"] += 1
        self._observe("offer", info, address)

    def _nak(self, packet: DhcpPacket, info: DhcpClientInfo, why: str) -> None:
        log.debug("NAK to %s: %s", info.mac_text, why)
        reply = self._reply(packet, MessageType.NAK, None, None, info)
        self._send_reply(packet, MessageType.NAK, reply)
        self.stats["naks"] += 1
        self._observe("nak", info, None)

    def _request(self, packet: DhcpPacket, info: DhcpClientInfo) -> None:
        self._observe("request", info, None)
        assert self.leases is not None
        key = self._key(packet)
        self.admission.confirmed(key)
        server_id = packet.server_id
        wanted = packet.requested_ip
        now = time.monotonic()
        pool = self._pool_for(packet)
        if server_id is not None:  # SELECTING
            if server_id != self.server_id:
                # The client chose another server: our offer is void.
                if wanted is not None:
                    address = int.from_bytes(wanted, "big")
                    offer = self.offers.get(address)
                    if offer is not None and offer[0] == key:
                        del self.offers[address]
                return
            if wanted is None:
                self._nak(packet, info, "REQUEST without requested address")
                return
            address = int.from_bytes(wanted, "big")
            if pool is None or not self._free(pool, address, key, now):
                self._nak(packet, info, "requested address is not available")
                return
        elif wanted is not None:  # INIT-REBOOT
            address = int.from_bytes(wanted, "big")
            if pool is None or not pool.contains(address):
                self._nak(packet, info, "requested address is on the wrong network")
                return
            lease = self.leases.get(key)
            if lease is None:
                return  # no record of this client: stay silent (RFC 2131 4.3.2)
            if lease.address != address or not self._free(pool, address, key, now):
                self._nak(packet, info, "requested address is not this client's binding")
                return
        elif packet.ciaddr != _ZERO4:  # RENEWING / REBINDING
            address = int.from_bytes(packet.ciaddr, "big")
            lease = self.leases.get(key)
            if lease is None or lease.address != address:
                if pool is not None and self.leases.owner(address) is not None:
                    self._nak(packet, info, "address is bound to another client")
                return
            if pool is None:
                return
        else:
            self.stats["ignored"] += 1
            return
        assert pool is not None
        self.offers.pop(address, None)
        reply = self._reply(packet, MessageType.ACK, address, pool, info)
        lease = Lease(key, address, self.wall_clock() + pool.config.lease_time, packet.mac)

        def acknowledge() -> None:
            self._send_reply(packet, MessageType.ACK, reply)
            self.stats["acks"] += 1
            self._observe("ack", info, address)

        # The ACK leaves once the binding is durable, and what the hook needs durable too.
        bound = ipaddress.IPv4Address(address)
        self.leases.bind(lease, after_gate(self.hook, info, bound, acknowledge, self.held))

    def _release(self, packet: DhcpPacket, info: DhcpClientInfo) -> None:
        assert self.leases is not None
        key = self._key(packet)
        lease = self.leases.get(key)
        address = int.from_bytes(packet.ciaddr, "big")
        self._observe("release", info, address or None)
        if lease is None or lease.address != address:
            return
        # Remembered (same address next time) but no longer in use.
        self.leases.bind(Lease(key, address, self.wall_clock(), lease.mac))
        self.stats["releases"] += 1

    def _decline(self, packet: DhcpPacket, info: DhcpClientInfo) -> None:
        assert self.leases is not None
        wanted = packet.requested_ip
        if wanted is None:
            return
        address = int.from_bytes(wanted, "big")
        self._observe("decline", info, address)
        key = self._key(packet)
        lease = self.leases.get(key)
        if lease is not None and lease.address == address:
            self.leases.forget(key)
        self.offers.pop(address, None)
        self.declined[address] = time.monotonic() + self.config.decline_hold
        self.stats["declines"] += 1
        log.warning("address %s declined by %s", ipaddress.IPv4Address(address), info.mac_text)

    def _inform(self, packet: DhcpPacket, info: DhcpClientInfo) -> None:
        self._observe("inform", info, None)
        if packet.ciaddr == _ZERO4:
            return
        pool = self._pool_for(packet)
        reply = self._reply(packet, MessageType.ACK, None, pool, info, lease_options=False)
        self._send_reply(packet, MessageType.ACK, reply)
        self._observe("ack", info, None)
