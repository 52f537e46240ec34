"""``show vstack config`` in SMI Proxy mode and ``show vstack proxy-db [detail]`` (guide, command
reference of ``show vstack``: "This is example output from the show vstack config command in
SMI Proxy mode", "This example shows the output of the show vstack proxy-db command").

The proxy database view prints the two tables of the guide's example: the entries (MAC
address, UDI, entry state), then the clients' addresses, hostnames and health under the
``Health_status`` legend; ``detail`` prints one block per entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from smartinstall.director.views.common import SEPARATOR, cell, known, text
from smartinstall.domain.proxy import DEFAULT_PNP_PROFILE, ProxyEntry
from smartinstall.domain.settings import DEFAULT_MANAGEMENT_VLAN, DirectorSettings
from smartinstall.domain.values import format_number_list

PROXY_ENABLED = "Smi PnP Proxy:    ENABLED"
PROXY_DISABLED = "Smi PnP Proxy:    DISABLED"
HEALTH_LEGEND = ("Status: Health_status", "Health_status: A - Active I - Inactive")
RULE = "-----          -"  # as the guide prints it under both headers


@dataclass(frozen=True)
class ProxyClient:
    """One entry of the proxy database with what the director database knows of its client
    (nothing for a stale entry: "contains the entries for stale devices")."""

    entry: ProxyEntry
    ip: str = ""
    hostname: str = ""
    health: str = ""  # "A" or "I"; "" when the client is not in the director database


def show_vstack_proxy_config(settings: DirectorSettings) -> str:
    """``show vstack config`` of a proxy: the guide's five lines, then the PnP profile the
    proxy is associated with and where its PnP server is (not in the guide)."""
    proxy = settings.proxy
    assert proxy is not None
    startup = settings.startup_vlan or DEFAULT_MANAGEMENT_VLAN
    vlans = sorted(settings.vlans | {startup})
    profile = settings.pnp_profiles.get(proxy.profile)
    if profile is None or profile.server is None:
        server = "not configured"
    else:
        server = profile.server.base_url
    default = " (default)" if proxy.profile == DEFAULT_PNP_PROFILE else ""
    return text(
        [
            "Role: SMI PnP Proxy",
            f"Vstack SMI PnP Proxy IP address: {settings.director_ip or '0.0.0.0'}",
            f"Vstack default management vlan: {DEFAULT_MANAGEMENT_VLAN}",
            f"Vstack start-up management vlan: {startup}",
            f"Vstack management Vlans: {format_number_list(vlans)}",
            f"Vstack PnP profile: {proxy.profile}{default}",
            f"Vstack PnP server: {server}",
        ]
    )


def show_vstack_proxy_db(clients: Sequence[ProxyClient], *, enabled: bool) -> str:
    """``show vstack proxy-db`` (``Smi PnP Proxy: DISABLED`` alone outside proxy mode, as
    ``show vstack status`` says ``SmartInstall: DISABLED``)."""
    if not enabled:
        return text([PROXY_DISABLED])
    lines = [PROXY_ENABLED, "", "Proxy Database:"]
    lines.append(cell("MAC ADDR", 17) + cell("UDI", 50) + "State")
    lines.append(RULE)
    for client in clients:
        entry = client.entry
        lines.append(cell(entry.mac, 17) + cell(str(entry.udi), 50) + entry.state.value)
    lines.append("")
    lines.extend(HEALTH_LEGEND)
    lines.append("Proxy Database:")
    lines.append(cell("MAC ADDR", 17) + cell("IP_addr", 17) + cell("Hostname", 18) + "Status")
    lines.append(RULE)
    for client in clients:
        lines.append(
            cell(client.entry.mac, 17)
            + cell(known(client.ip), 17)
            + cell(known(client.hostname), 18)
            + known(client.health)
        )
    return text(lines)


def show_vstack_proxy_db_detail(clients: Sequence[ProxyClient], *, enabled: bool) -> str:
    """``show vstack proxy-db detail``: one block per entry."""
    if not enabled:
        return text([PROXY_DISABLED])
    lines = [PROXY_ENABLED, ""]
    for client in clients:
        entry = client.entry
        lines.extend(
            [
                SEPARATOR,
                f"Device ID          : {known(client.hostname)}",
                f"MAC Address        : {entry.mac}",
                f"IP Addr            : {known(client.ip)}",
                f"UDI                : {entry.udi}",
                f"state              : {entry.state.value}",
                f"status             : {known(client.health)}",
                "",
            ]
        )
    return text(lines)


__all__ = [
    "PROXY_DISABLED",
    "PROXY_ENABLED",
    "ProxyClient",
    "show_vstack_proxy_config",
    "show_vstack_proxy_db",
    "show_vstack_proxy_db_detail",
]
