"""`vstack dhcp-localserver` pools: their configuration and their address bookkeeping.

``address-pool``, ``default-router``, ``file-server`` and ``lease`` become a
:class:`PoolConfig`; the server keeps one :class:`_Pool` per pool, with its fixed options
pre-encoded. Bindings themselves live in the lease store (:mod:`smartinstall.store.leases`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field

from smartinstall.services.dhcp_hook import _PROTECTED, _ZERO4
from smartinstall.wire.dhcp import Opt, encode_options, ip_list_value, ip_value, u32_value


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
