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

The service is split by idea: :mod:`~smartinstall.services.dhcp_hook` (the hook and its
options), :mod:`~smartinstall.services.dhcp_pool` (pools),
:mod:`~smartinstall.services.dhcp_endpoint` (the socket),
:mod:`~smartinstall.services.dhcp_server` and :mod:`~smartinstall.services.dhcp_relay`; this
module gathers them.
"""

from __future__ import annotations

from smartinstall.services.dhcp_hook import (
    AckGate,
    BaseDhcpHook,
    DhcpClientInfo,
    DhcpEvent,
    DhcpHook,
    StaticDhcpHook,
    is_cisco_vendor_class,
)
from smartinstall.services.dhcp_pool import PoolConfig, make_pool
from smartinstall.services.dhcp_relay import DhcpRelay, DhcpRelayConfig
from smartinstall.services.dhcp_server import DhcpServer, DhcpServerConfig

__all__ = [
    "AckGate",
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
    "make_pool",
]
