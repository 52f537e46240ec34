"""`DirectorCommands`: the director's configuration command set, made of its parts (global
commands, join window, groups, DHCP pools), and its one EXEC command, `show vstack config`,
whose output the caller renders (`show_config`): this package knows nothing of the director's
views."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from smartinstall.domain.joinwindow import is_open
from smartinstall.domain.settings import DirectorSettings
from smartinstall.ios.director_config.base import (
    OnChange,
    OwnsAddress,
    SettingsHolder,
    ShowConfig,
)
from smartinstall.ios.director_config.dhcp_pool import DHCP_MODE, DhcpPoolCommands
from smartinstall.ios.director_config.global_commands import GlobalCommands
from smartinstall.ios.director_config.groups import GROUP_MODES, GroupCommands
from smartinstall.ios.director_config.http import HttpCommands
from smartinstall.ios.director_config.join_window import JoinWindowCommands
from smartinstall.ios.director_config.proxy import ProxyCommands
from smartinstall.ios.director_config.snmp import SnmpCommands
from smartinstall.ios.engine import Context
from smartinstall.ios.tree import EXEC, PRIVILEGED_LEVEL


class DirectorCommands(
    GlobalCommands,
    JoinWindowCommands,
    GroupCommands,
    DhcpPoolCommands,
    HttpCommands,
    SnmpCommands,
    ProxyCommands,
):
    """The director's configuration commands, editing `settings`."""

    def __init__(
        self,
        settings: DirectorSettings | SettingsHolder | None = None,
        owns_address: OwnsAddress | None = None,
        now: Callable[[], dt.datetime] | None = None,
        *,
        show_commands: bool = True,
        show_config: ShowConfig | None = None,
        on_change: OnChange | None = None,
    ) -> None:
        """`settings` is the object the commands edit, or a holder whose `settings` attribute
        is read on every command (so an owner may replace the object); None: fresh settings.

        `owns_address` answers whether this host owns an address (default: whether it can
        bind it). `on_change` is called once after every configuration command of this set
        that completed without error (entering a group or DHCP pool counts only when it
        created one); never after a rejected command, nor after `show` commands.

        `show vstack config` is declared when `show_commands` is true and `show_config`, its
        renderer, is given: `show_config(settings, role, window_open)`, where `window_open`
        says whether the join window is open by `now`, the director's time zone-aware local
        time (None without `now`: the renderer says Scheduled)."""
        super().__init__(settings, owns_address, on_change)
        self._now = now
        self._render_show_config = show_config
        for mode in (*GROUP_MODES, DHCP_MODE):
            self.add_mode(mode)
        self.keyword_help.update(
            vstack="Configure vstack parameters",
            ip="Global IP configuration subcommands",
            logging="Modify message logging facilities",
            show="Show running system information",
        )
        self._declare_global()
        self._declare_join_window()
        self._declare_groups()
        self._declare_dhcp()
        self._declare_snmp()
        self._declare_http()
        self._declare_proxy()
        # the running director's EXEC set has its own show commands
        if show_commands and show_config is not None:
            self._declare_show()

    def _declare_show(self) -> None:
        self.command(
            EXEC,
            "show vstack config",
            self._show_config,
            level=PRIVILEGED_LEVEL,
            output=True,
            help={
                "vstack": "Show Smart Install information",
                "config": "View configuration parameters under Vstack mode",
            },
        )

    def _show_config(self, ctx: Context) -> None:
        render = self._render_show_config
        assert render is not None  # declared only with a renderer
        settings = self.settings
        role = settings.role(self.owns_address)
        window_open = None
        if self._now is not None:
            moment = self._now()
            if moment.tzinfo is not None:
                window_open = is_open(settings.join_window, moment, moment.tzinfo)
        ctx.write(render(settings, role, window_open))


__all__ = ["DirectorCommands"]
