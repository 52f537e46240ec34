"""``show vstack proxy-db [detail]`` (guide, command reference of ``show vstack``: "Displays the
status of the SMI Proxy database"): the proxy database of a director in SMI Proxy mode, with
``Smi PnP Proxy: DISABLED`` and no entries otherwise."""

from __future__ import annotations

from typing import Any

from smartinstall.director.exec.host import Family
from smartinstall.director.views.proxy import (
    ProxyClient,
    show_vstack_proxy_db,
    show_vstack_proxy_db_detail,
)
from smartinstall.ios import EXEC, USER_LEVEL, Context

VSTACK = {"vstack": "Smart Install information"}


class ProxyDbCommands(Family):
    """``show vstack proxy-db [detail]``."""

    def declare(self) -> None:
        self.command(
            EXEC,
            "show vstack proxy-db [detail]",
            self._show_proxy_db,
            level=USER_LEVEL,
            output=True,
            help={
                **VSTACK,
                "proxy-db": "show the proxy database",
                "detail": "Show detailed status",
            },
        )

    def _show_proxy_db(self, ctx: Context) -> None:
        proxy: Any = getattr(self.host, "proxy", None)
        enabled = self.settings.proxy is not None and proxy is not None
        clients: list[ProxyClient] = proxy.clients() if enabled else []
        if "detail" in ctx.keywords:
            ctx.write(show_vstack_proxy_db_detail(clients, enabled=enabled))
        else:
            ctx.write(show_vstack_proxy_db(clients, enabled=enabled))


__all__ = ["ProxyDbCommands"]
