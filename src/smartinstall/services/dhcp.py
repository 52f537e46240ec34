"""The director's DHCP service: a server for `vstack dhcp-localserver` pools, and a relay.

* :class:`DhcpServer` answers DISCOVER/REQUEST/DECLINE/RELEASE/INFORM from its pools
  (RFC 2131), broadcast or relayed (``giaddr``). With a data directory it remembers bindings
  (`ip dhcp remember`) in a group-committed journal (:mod:`smartinstall.store.leases`); an ACK
  leaves only once its binding is on disk, and what the hook needs durable too — or not at
  all when that cannot be written (a full disk): the client asks again
  (:mod:`smartinstall.services.dhcp_gate`). ``only_smart_install`` makes it coexist with a
  third-party server: it answers Smart Install switches only and stays silent for the rest.
* :class:`DhcpRelay` relays between clients and a third-party server (RFC 3046 style,
  `ip helper-address`), inserting the Smart Install options into the OFFER and ACK on the way
  back; this is how the director "snoops" DHCP.

Both report every exchange to a :class:`DhcpHook` and ask it for per-client options.

Ports are configurable: on loopback the tests run the server on an unprivileged port, the
client/relay side on another, and "broadcast" replies go to a loopback address.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from smartinstall.services.dhcp_admission import AdmissionConfig, NewClientAdmission
from smartinstall.services.dhcp_gate import HeldAcks, after_gate
from smartinstall.store.leases import Lease, LeaseStore
from smartinstall.wire.dhcp import (
    BOOTREPLY,
    BOOTREQUEST,
    DhcpDecodeError,
    DhcpPacket,
    MessageType,
    Opt,
    RelayAgentInfo,
    encode_options,
    encode_packet,
    ip_list_value,
    ip_value,
    u32_value,
)

__all__ = [
    "BaseDhcpHook",
    "DhcpClientInfo",
    "DhcpEvent",
    "DhcpHook",
    "DhcpRelay",
    "DhcpRelayConfig",
    "DhcpServer",
    "DhcpServerConfig",
    "PoolConfig",
    "StaticDhcpHook",
    "is_cisco_vendor_class",
]

log = logging.getLogger(__name__)

_ZERO4 = b"\x00\x00\x00\x00"
_RECV_BATCH = 512  # datagrams read per wake-up before yielding to the loop


# ------------------------------------------------------------------ configuration


@dataclass(slots=True)
class PoolConfig:
    """One `vstack dhcp-localserver` pool.

    ``address-pool`` → ``network``; ``default-router`` → ``default_router``; ``file-server``
    → ``file_server`` (option 150, and ``siaddr``). Addresses in ``excluded`` (single
    addresses or inclusive ranges), the network and broadcast addresses, the routers and the
    server's own address are never leased.
    """

    name: str
    network: ipaddress.IPv4Network
    default_router: list[ipaddress.IPv4Address] = field(default_factory=list)
    file_server: ipaddress.IPv4Address | None = None
    lease_time: int = 86_400
    excluded: list[tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]] = field(
        default_factory=list
    )
    dns_servers: list[ipaddress.IPv4Address] = field(default_factory=list)
    domain_name: str | None = None


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


# ---------------------------------------------------------------------- the hook


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


# ---------------------------------------------------------------------- sockets


class _Endpoint:
    """A non-blocking UDP socket read in batches straight from the selector."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sock: socket.socket | None = None
        self.stats: dict[str, int] = {
            "received": 0,
            "malformed": 0,
            "sent": 0,
            "send_errors": 0,
            "ignored": 0,
            "held_back": 0,
        }
        self.held = HeldAcks(name, self.stats)

    def _open(
        self, address: str, port: int, interface: str | None, recv_buffer: int | None
    ) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
            if recv_buffer:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, recv_buffer)
        if interface:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, interface.encode())
        sock.bind((address, port))
        sock.setblocking(False)
        self.sock = sock
        asyncio.get_running_loop().add_reader(sock.fileno(), self._readable)

    @property
    def address(self) -> tuple[str, int]:
        assert self.sock is not None
        host, port = self.sock.getsockname()
        return str(host), int(port)

    def _readable(self) -> None:
        sock = self.sock
        if sock is None:
            return
        for _ in range(_RECV_BATCH):
            try:
                data, source = sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # e.g. ICMP port unreachable reported on the socket
                log.debug("%s: receive error %s", self.name, error)
                continue
            self.stats["received"] += 1
            try:
                self._datagram(data, source)
            except DhcpDecodeError as error:
                self.stats["malformed"] += 1
                log.debug("%s: dropped malformed packet from %s: %s", self.name, source, error)
            except Exception:  # a bug must not stop the service
                self.stats["malformed"] += 1
                log.exception("%s: error handling a packet from %s", self.name, source)

    def _datagram(self, data: bytes, source: tuple[str, int]) -> None:
        raise NotImplementedError

    def send(self, data: bytes, destination: tuple[str, int]) -> None:
        if self.sock is None:
            return
        try:
            self.sock.sendto(data, destination)
            self.stats["sent"] += 1
        except OSError as error:  # buffer full or unreachable: the client retries
            self.stats["send_errors"] += 1
            log.debug("%s: send to %s failed: %s", self.name, destination, error)

    def _close(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self.sock.fileno())
            self.sock.close()
            self.sock = None


# ------------------------------------------------------------------------- pools


class _Pool:
    """Address bookkeeping for one pool; bindings themselves live in the LeaseStore."""

    def __init__(self, config: PoolConfig, reserved: set[int]) -> None:
        self.config = config
        net = config.network
        self.first = int(net.network_address) + (1 if net.prefixlen < 31 else 0)
        self.last = int(net.broadcast_address) - (1 if net.prefixlen < 31 else 0)
        self.excluded = [(int(a), int(b)) for a, b in config.excluded]
        self.reserved = reserved | {int(r) for r in config.default_router}
        self.cursor = self.first  # next never-tried address
        self.returned: list[int] = []  # addresses given back (released offers, forgets)
        mask = ip_value(net.netmask)
        static: list[tuple[int, bytes]] = [(Opt.SUBNET_MASK, mask)]
        if config.default_router:
            static.append((Opt.ROUTER, ip_list_value(config.default_router)))
        if config.dns_servers:
            static.append((Opt.DNS_SERVERS, ip_list_value(config.dns_servers)))
        if config.domain_name:
            static.append((Opt.DOMAIN_NAME, config.domain_name.encode("ascii")))
        if config.file_server is not None:
            static.append((Opt.TFTP_SERVER_ADDRESS, ip_value(config.file_server)))
        self.static_options = static
        lt = config.lease_time
        self.lease_options = [
            (Opt.LEASE_TIME, u32_value(lt)),
            (Opt.RENEWAL_TIME, u32_value(lt // 2)),
            (Opt.REBINDING_TIME, u32_value(lt * 7 // 8)),
        ]
        self.siaddr = ip_value(config.file_server) if config.file_server else _ZERO4
        self.lease_blob = encode_options(self.lease_options, end=False)
        self.static_blob = encode_options(self.static_options, end=False)
        # Hook options with these codes go through the (slower) merge.
        self.fixed_codes = _PROTECTED | {c for c, _ in static + self.lease_options}

    def contains(self, address: int) -> bool:
        return self.first <= address <= self.last

    def usable(self, address: int) -> bool:
        if not self.first <= address <= self.last or address in self.reserved:
            return False
        for a, b in self.excluded:  # noqa: SIM110 - no generator per call on the hot path
            if a <= address <= b:
                return False
        return True


# ------------------------------------------------------------------------ server


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


def make_pool(
    name: str,
    network: str,
    *,
    default_router: Sequence[str] = (),
    file_server: str | None = None,
    lease_time: int = 86_400,
    excluded: Sequence[str] = (),
) -> PoolConfig:
    """Convenience: a PoolConfig from text (``excluded`` items are ``a`` or ``a-b``)."""
    ranges: list[tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]] = []
    for item in excluded:
        first, _, last = item.partition("-")
        ranges.append((ipaddress.IPv4Address(first), ipaddress.IPv4Address(last or first)))
    return PoolConfig(
        name=name,
        network=ipaddress.IPv4Network(network, strict=False),
        default_router=[ipaddress.IPv4Address(r) for r in default_router],
        file_server=ipaddress.IPv4Address(file_server) if file_server else None,
        lease_time=lease_time,
        excluded=ranges,
    )
