"""The director's DHCP service (``vstack dhcp-localserver`` pools, or a relay to ``ip
helper-address``): ``show dhcp server``, ``show ip dhcp pool`` and ``show ip dhcp binding``."""

from __future__ import annotations

import datetime as dt
import ipaddress
import time
from typing import Any

from smartinstall.director.exec.host import Family
from smartinstall.domain.values import normalize_mac
from smartinstall.ios import EXEC, PRIVILEGED_LEVEL, Context


class DhcpCommands(Family):
    """``show dhcp server``, ``show ip dhcp pool`` and ``show ip dhcp binding``."""

    def declare(self) -> None:
        c = self.command
        c(
            EXEC,
            "show dhcp server",
            self._show_dhcp_server,
            level=PRIVILEGED_LEVEL,
            output=True,
            help={
                "dhcp": "Dynamic Host Configuration Protocol status",
                "server": "Show DHCP Servers we know about",
            },
        )
        c(
            EXEC,
            "show ip dhcp pool",
            self._show_dhcp_pool,
            level=PRIVILEGED_LEVEL,
            output=True,
            help={
                "ip": "IP information",
                "dhcp": "Show items in the DHCP database",
                "pool": "DHCP pools information",
            },
        )
        c(
            EXEC,
            "show ip dhcp binding",
            self._show_dhcp_binding,
            level=PRIVILEGED_LEVEL,
            output=True,
            help={
                "ip": "IP information",
                "dhcp": "Show items in the DHCP database",
                "binding": "DHCP address bindings",
            },
        )

    def _dhcp_server(self) -> Any:
        """The DHCP server (None when the service is off or a relay)."""
        server = self.host.dhcp
        return server if server is not None and hasattr(server, "pools") else None

    def _show_dhcp_server(self, ctx: Context) -> None:
        dhcp = self.host.dhcp
        if dhcp is None:
            ctx.write("DHCP service: off (no vstack dhcp-localserver pool, no ip helper-address)\n")
            return
        if not hasattr(dhcp, "pools"):
            helpers = ", ".join(self.settings.helper_addresses)
            ctx.write(f"DHCP service: relay to {helpers}\n")
            return
        config = dhcp.config
        leases = dhcp.leases
        ctx.write(f"DHCP server: {config.listen_address} port {config.server_port}\n")
        ctx.write(f"  Pools: {len(dhcp.pools)}\n")
        ctx.write(f"  Bindings: {len(leases) if leases is not None else 0}\n")
        ctx.write(f"  Remembered bindings: {'yes' if config.data_dir else 'no'}\n")

    def _show_dhcp_pool(self, ctx: Context) -> None:
        dhcp = self._dhcp_server()
        if dhcp is None:
            return
        leases = list(dhcp.leases) if dhcp.leases is not None else []
        now = time.time()
        for pool in dhcp.pools:
            config = pool.config
            total = pool.last - pool.first + 1
            leased = sum(
                1 for lease in leases if pool.contains(lease.address) and lease.expires > now
            )
            ctx.write(f"\nPool {config.name} :\n")
            ctx.write(" Utilization mark (high/low)    : 100 / 0\n")
            ctx.write(" Subnet size (first/next)       : 0 / 0\n")
            ctx.write(f" Total addresses                : {total}\n")
            ctx.write(f" Leased addresses               : {leased}\n")
            ctx.write(f" Excluded addresses             : {len(pool.excluded)}\n")
            ctx.write(" Pending event                  : none\n")
            ctx.write(" 1 subnet is currently in the pool :\n")
            ctx.write(
                " Current index        IP address range                    Leased/Excluded/Total\n"
            )
            first = ipaddress.IPv4Address(pool.first)
            last = ipaddress.IPv4Address(pool.last)
            current = ipaddress.IPv4Address(min(pool.cursor, pool.last))
            ctx.write(
                f" {current!s:<20} {first!s:<15} - {last!s:<18} "
                f"{leased} / {len(pool.excluded)} / {total}\n"
            )

    def _show_dhcp_binding(self, ctx: Context) -> None:
        ctx.write("Bindings from all pools not associated with VRF:\n")
        ctx.write("IP address          Client-ID/              Lease expiration        Type\n")
        ctx.write("                    Hardware address/\n")
        ctx.write("                    User name\n")
        dhcp = self._dhcp_server()
        if dhcp is None or dhcp.leases is None:
            return
        now = time.time()
        tz = self.host.director.tz
        for lease in sorted(dhcp.leases, key=lambda item: item.address):
            if lease.expires <= now:
                continue
            when = dt.datetime.fromtimestamp(lease.expires, tz)
            hardware = lease.mac.hex() if lease.mac else lease.key.hex()
            client = normalize_mac(hardware) if len(hardware) == 12 else dotted(hardware)
            expiry = f"{when:%b %d %Y %I:%M %p}"
            ctx.write(
                f"{ipaddress.IPv4Address(lease.address)!s:<19} {client:<23} "
                f"{expiry:<23} Automatic\n"
            )


def dotted(hexdigits: str) -> str:
    """A client identifier that is not a MAC address, in IOS's dotted groups of four."""
    padded = hexdigits + "0" * (-len(hexdigits) % 4)
    return ".".join(padded[i : i + 4] for i in range(0, len(padded), 4))
