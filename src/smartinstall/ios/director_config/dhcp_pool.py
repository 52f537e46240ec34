"""The director's DHCP server pools (guide, chapter 2, "Configuring the Director as the DHCP
Server"): `vstack dhcp-localserver <pool>` and the DHCP pool configuration mode
(`Director(config-vstack-dhcp)#`): `address-pool`, `default-router`, `file-server`, and their
`no` forms."""

from __future__ import annotations

from smartinstall.domain.devices import validate_ipv4
from smartinstall.domain.settings import DhcpPoolSettings
from smartinstall.ios.director_config.base import DirectorCommandsBase, domain_errors, text
from smartinstall.ios.engine import CommandError, Context
from smartinstall.ios.tree import CONFIG, VSTACK_DHCP
from smartinstall.ios.types import Arg, IPv4, Mask, Word

DHCP_MODE = VSTACK_DHCP
POOL_NAME = Arg(Word(pattern=r"[A-Za-z0-9_.-]{1,31}", max_len=31), "Name of the DHCP pool")


class DhcpPoolCommands(DirectorCommandsBase):
    """`vstack dhcp-localserver <pool>` and the commands of its sub-mode."""

    # --- declarations --------------------------------------------------------------------

    def _declare_dhcp(self) -> None:
        c = self.command
        pool_help = {"dhcp-localserver": "Configure vstack dhcp parameters"}
        pool_name = {"pool": POOL_NAME}
        c(
            CONFIG,
            "vstack dhcp-localserver <pool>",
            self._dhcp_pool,
            help=pool_help,
            args=pool_name,
            notify=False,
        )
        c(
            CONFIG,
            "no vstack dhcp-localserver <pool>",
            self._dhcp_pool,
            help=pool_help,
            args=pool_name,
        )
        help_ = {
            "address-pool": "Configure the network and mask of the pool",
            "default-router": "Configure the default router of the clients",
            "file-server": "Configure the TFTP server of the clients",
        }
        pool = {
            "network": Arg(IPv4(), "Network number of the pool"),
            "mask": Arg(Mask(), "Network mask or prefix length"),
        }
        c(DHCP_MODE, "address-pool <network> <mask>", self._address_pool, help=help_, args=pool)
        c(
            DHCP_MODE,
            "no address-pool [<network> [<mask>]]",
            self._address_pool,
            help=help_,
            args=pool,
        )
        router = {"address": Arg(IPv4(), "IP address of the default router")}
        c(DHCP_MODE, "default-router <address>", self._default_router, help=help_, args=router)
        c(DHCP_MODE, "no default-router [<address>]", self._default_router, help=help_, args=router)
        server = {"address": Arg(IPv4(), "IP address of the TFTP server")}
        c(DHCP_MODE, "file-server <address>", self._file_server, help=help_, args=server)
        c(DHCP_MODE, "no file-server [<address>]", self._file_server, help=help_, args=server)

    # --- handlers: global configuration --------------------------------------------------

    def _dhcp_pool(self, ctx: Context) -> None:
        settings = self.settings
        name = text(ctx.args["pool"])
        if ctx.negated:
            if settings.dhcp_pools.pop(name, None) is None:
                raise CommandError(f"% DHCP pool {name} does not exist")
            return
        before = len(settings.dhcp_pools)
        with domain_errors():
            pool = settings.dhcp_pool(name)
        ctx.enter(DHCP_MODE, pool)
        if len(settings.dhcp_pools) != before:  # entering an existing pool changes nothing
            self.changed()

    # --- handlers: DHCP pool configuration -----------------------------------------------

    def _address_pool(self, ctx: Context) -> None:
        pool = _pool_of(ctx)
        if ctx.negated:
            pool.network = None
            return
        prefix = ctx.args["mask"]
        with domain_errors():
            pool.set_address_pool(text(ctx.args["network"]), f"/{prefix}")

    def _default_router(self, ctx: Context) -> None:
        pool = _pool_of(ctx)
        pool.default_router = None if ctx.negated else validate_ipv4(text(ctx.args["address"]))

    def _file_server(self, ctx: Context) -> None:
        pool = _pool_of(ctx)
        pool.file_server = None if ctx.negated else validate_ipv4(text(ctx.args["address"]))


def _pool_of(ctx: Context) -> DhcpPoolSettings:
    """The pool the current sub-mode edits."""
    pool = ctx.mode_data
    assert isinstance(pool, DhcpPoolSettings)
    return pool


__all__ = ["DHCP_MODE", "DhcpPoolCommands"]
