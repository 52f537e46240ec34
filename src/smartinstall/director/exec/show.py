"""``show vstack …``: the director database, the download status, the groups and the
configuration (guide, "Displaying Smart Install Information" and "Managing Client
Configuration Files")."""

from __future__ import annotations

from pathlib import Path

from smartinstall.director import views
from smartinstall.director.exec.host import Family
from smartinstall.director.internals import show_vstack_internal
from smartinstall.director.views.groups import show_vstack_group_builtin, show_vstack_group_custom
from smartinstall.director.views.neighbors import devices_in_builtin_group, select_devices
from smartinstall.domain import catalog, downloads
from smartinstall.domain.catalog import CatalogError
from smartinstall.domain.devices import Device, validate_ipv4
from smartinstall.domain.errors import DomainError
from smartinstall.ios import (
    EXEC,
    PRIVILEGED_LEVEL,
    USER_LEVEL,
    Arg,
    CommandError,
    Context,
    IPv4,
    Line,
    Word,
)
from smartinstall.store.records import DownloadEntry as StoredDownload

VSTACK = {"vstack": "Smart Install information"}


class ShowCommands(Family):
    """``show vstack config | status | internal | download-status | host | neighbors | group |
    join-window configuration``."""

    def declare(self) -> None:
        c = self.command
        vstack = VSTACK
        c(
            EXEC,
            "show vstack config",
            self._show_config,
            level=USER_LEVEL,
            output=True,
            help={**vstack, "config": "View configuration parameters under Vstack mode"},
        )
        c(
            EXEC,
            "show vstack status [detail]",
            self._show_status,
            level=USER_LEVEL,
            output=True,
            help={
                **vstack,
                "status": "show the status of CDP database",
                "detail": "Show detailed status",
            },
        )
        c(
            EXEC,
            "show vstack internal",
            self._show_internal,
            level=PRIVILEGED_LEVEL,
            output=True,
            help={
                **vstack,
                "internal": "Director internals: event loop, database writer, workers, tasks",
            },
        )
        c(
            EXEC,
            "show vstack download-status [detail]",
            self._show_downloads,
            level=USER_LEVEL,
            output=True,
            help={
                **vstack,
                "download-status": "show the status of config or image download",
                "detail": "Show detailed status",
            },
        )
        c(
            EXEC,
            "show vstack host <ip>",
            self._show_host,
            level=USER_LEVEL,
            output=True,
            help={**vstack, "host": "Show the neighbors of a client"},
            args={"ip": Arg(IPv4(), "IP address of the client")},
        )
        c(
            EXEC,
            "show vstack neighbors [<selector>]",
            self._show_neighbors,
            level=USER_LEVEL,
            output=True,
            help={**vstack, "neighbors": "Show the CDP neighbors of clients"},
            args={
                "selector": Arg(
                    Word(), "Device number, IP address, all, or group built-in <family> <port>"
                )
            },
        )
        c(
            EXEC,
            "show vstack neighbors group built-in <words>",
            self._show_neighbors_group,
            level=USER_LEVEL,
            output=True,
            help={
                **vstack,
                "neighbors": "Show the CDP neighbors of clients",
                "group": "Clients of a group",
                "built-in": "Built-in group",
            },
            args={"words": Arg(Line(), "Product family, port configuration [chassis]")},
        )
        c(
            EXEC,
            "show vstack group built-in [<words>]",
            self._show_group_builtin,
            level=USER_LEVEL,
            output=True,
            help={**vstack, "group": "Show group information", "built-in": "Built-in groups"},
            args={"words": Arg(Line(), "[family [port [chassis]]] [detail] [configured]")},
        )
        c(
            EXEC,
            "show vstack group custom [<name>] detail",
            self._show_group_custom,
            level=USER_LEVEL,
            output=True,
            help={
                **vstack,
                "group": "Show group information",
                "custom": "Custom groups",
                "detail": "Show the groups' details",
            },
            args={"name": Arg(Word(), "Custom group name")},
        )
        c(
            EXEC,
            "show vstack join-window configuration",
            self._show_join_window,
            level=USER_LEVEL,
            output=True,
            help={
                **vstack,
                "join-window": "Join window information",
                "configuration": "Join window configuration",
            },
        )

    def _show_config(self, ctx: Context) -> None:
        role = self.host.director.role
        ctx.write(views.show_vstack_config(self.settings, role, window_open=self.window_open()))

    def _details(self, devices: list[Device]) -> dict[str, views.DeviceDetail]:
        found = {}
        for device in devices:
            backup = self.host.state.latest_backup(device.mac)
            if backup is not None:
                found[device.mac] = views.DeviceDetail(
                    backup_file=Path(backup.file).name, backup_client_name=backup.hostname,
                    checksum=backup.checksum,
                )  # fmt: skip
        return found

    def _show_status(self, ctx: Context) -> None:
        devices = self.host.state.devices()
        if "detail" in ctx.keywords:
            ctx.write(
                views.show_vstack_status_detail(
                    devices, self._details(devices), enabled=self.enabled
                )
            )
        else:
            ctx.write(views.show_vstack_status(devices, enabled=self.enabled))

    def _show_internal(self, ctx: Context) -> None:
        ctx.write(show_vstack_internal(self.host.internals()))

    def _show_downloads(self, ctx: Context) -> None:
        entries = [view_entry(entry) for entry in self.host.state.downloads()]
        if "detail" in ctx.keywords:
            ctx.write(views.show_vstack_download_status_detail(entries, enabled=self.enabled))
        else:
            ctx.write(views.show_vstack_download_status(entries, enabled=self.enabled))

    def _show_host(self, ctx: Context) -> None:
        ip = str(ctx.args["ip"])
        ctx.write(
            views.show_vstack_host(self.host.state.device_by_ip(ip), ip, enabled=self.enabled)
        )

    def _show_neighbors(self, ctx: Context) -> None:
        selector = str(ctx.args.get("selector") or "")
        devices = select_devices(self.host.state.devices(), selector)
        if not devices and self.enabled:
            raise CommandError(f"% No client {selector} in the director database")
        ctx.write(views.show_vstack_neighbors(devices, enabled=self.enabled))

    def _show_neighbors_group(self, ctx: Context) -> None:
        words = str(ctx.args["words"]).split()
        if not 2 <= len(words) <= 3:
            raise CommandError(
                "% Usage: show vstack neighbors group built-in <family> <port> [<chassis>]"
            )
        try:
            key = catalog.builtin_key(
                words[0].lower(), words[1].lower(), words[2].lower() if len(words) > 2 else None
            )
        except (CatalogError, DomainError) as error:
            raise CommandError(str(error)) from None
        devices = devices_in_builtin_group(self.host.state.devices(), key)
        if not devices and self.enabled:
            ctx.write("% No client of this group in the director database\n")
            return
        ctx.write(views.show_vstack_neighbors(devices, enabled=self.enabled))

    def _show_group_builtin(self, ctx: Context) -> None:
        words = [w.lower() for w in str(ctx.args.get("words") or "").split()]
        detail = configured = False
        while words and words[-1] in ("detail", "configured"):
            last = words.pop()
            detail = detail or last == "detail"
            configured = configured or last == "configured"
        if len(words) > 3:
            raise CommandError("% Invalid input: too many words")
        padded: list[str | None] = [*words, None, None, None]
        family, port, chassis = padded[:3]
        try:
            ctx.write(
                show_vstack_group_builtin(
                    self.settings.groups,
                    family,
                    port,
                    chassis,
                    detail=detail,
                    configured=configured,
                )
            )
        except (CatalogError, DomainError) as error:
            raise CommandError(str(error)) from None

    def _show_group_custom(self, ctx: Context) -> None:
        name = ctx.args.get("name")
        ctx.write(
            show_vstack_group_custom(self.settings.groups, str(name) if name is not None else None)
        )

    def _show_join_window(self, ctx: Context) -> None:
        ctx.write(
            views.show_vstack_join_window_configuration(
                self.settings.join_window, window_open=self.window_open()
            )
        )


def view_entry(entry: StoredDownload) -> downloads.DownloadEntry:
    """A download-status row of the database as the views take it."""
    status = {item.value: item for item in downloads.DownloadStatus}
    image = status.get(entry.image.value, downloads.DownloadStatus.NOT_APPLICABLE)
    config = status.get(entry.config.value, downloads.DownloadStatus.NOT_APPLICABLE)
    script = status.get(entry.script.value, downloads.DownloadStatus.NOT_APPLICABLE)
    methods = {item.value: item for item in downloads.DownloadMethod}
    method = methods.get(entry.method.value)
    if method is None:  # on-demand rows: named after what they download
        method = (
            downloads.DownloadMethod.CONFIG_UPGRADE
            if image is downloads.DownloadStatus.NOT_APPLICABLE
            else downloads.DownloadMethod.IMAGE_UPGRADE
        )
    try:
        ip = validate_ipv4(entry.ip) if entry.ip else "0.0.0.0"
    except DomainError:
        ip = "0.0.0.0"
    hostname = "".join(c for c in entry.hostname if c.isprintable())[:63].strip() or "Switch"

    def reason(text: str) -> str:
        return " ".join("".join(c for c in text if c.isprintable()).split())[:200]

    return downloads.DownloadEntry(
        client_ip=ip, client_mac=entry.mac, method=method, image=image, config=config,
        script=script, hostname=hostname, image_fail_reason=reason(entry.image_reason),
        config_fail_reason=reason(entry.config_reason),
        script_fail_reason=reason(entry.script_reason), image_downloaded_at=entry.image_at,
        config_downloaded_at=entry.config_at, script_downloaded_at=entry.script_at,
    )  # fmt: skip
