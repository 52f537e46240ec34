"""On-demand upgrades: ``vstack download-image`` and ``vstack download-config``, to clients
by IP address or index, or to a built-in group (guide, "Performing On-Demand Updates"). The
choice of targets, the compatibility check and the imagelist are `director.ondemand`'s."""

from __future__ import annotations

import datetime as dt

from smartinstall.director import ondemand
from smartinstall.director.exec.host import Family
from smartinstall.domain.devices import UpgradeKind
from smartinstall.domain.errors import DomainError
from smartinstall.domain.locations import parse_location
from smartinstall.ios import (
    EXEC,
    PRIVILEGED_LEVEL,
    Arg,
    CommandError,
    Context,
    IndexList,
    IPv4,
    Line,
    TimeOfDay,
    Url,
    Word,
)

#: the highest client index an index list takes (the guide sets none; the director numbers
#: its clients from 1 with no limit of 255)
MAX_INDEX = 65535


class DownloadCommands(Family):
    """``vstack download-image {tar <url> … | built-in …}`` and ``vstack download-config
    {<url> … | built-in …}``."""

    def declare(self) -> None:
        c = self.command
        p = PRIVILEGED_LEVEL
        image_help = {
            "download-image": "Download image to clients",
            "tar": "Image in tar format",
            "index": "Client indexes",
            # the guide's `… NONE ?` and `… NONE issu ?` lists
            "override": "Override the existing image",
            "issu": "Force ISSU Upgrade",
            "allow-reload": "Allow Reloading the switch if ISSU fails",
            "reload": "Reload the switch",
            "in": "Specify time in",
            "built-in": "Built-in group",
        }
        targets = {
            "url": Arg(Word("WORD"), "Image tar file URL (tftp://… or flash:…)"),
            "imagelist": Arg(Url("WORD"), "Imagelist file URL (tftp://… or flash:…)"),
            "ip": Arg(IPv4(), "Client IP address"),
            # the guide gives index lists no upper bound (unlike `entry` and `client-id`)
            "indexes": Arg(IndexList(MAX_INDEX), "Client indexes (for example 1,3-5,7)"),
            "password": Arg(Word(), "Enable password of the clients (NONE for none)"),
            "at": Arg(TimeOfDay(), "Time of day to reload"),
            "words": Arg(
                Line(),
                "<family> <port> [<chassis>] <password> [override] "
                "[issu [allow-reload]] [reload] [in hh:mm]",
            ),
        }
        # guide, vstack download-image and "On-demand upgrade with ISSU": a tar image, or (the
        # form of releases before 12.2(55)SE) an imagelist file, to clients by IP or index
        options = "[override] [{issu [allow-reload] [in <at>] | reload [in <at>]}]"
        c(
            EXEC,
            f"vstack download-image tar <url> {{<ip> | index <indexes>}} <password> {options}",
            self._download_image,
            level=p,
            help=image_help,
            args=targets,
        )
        c(
            EXEC,
            f"vstack download-image <imagelist> {{<ip> | index <indexes>}} <password> {options}",
            self._download_image,
            level=p,
            help=image_help,
            args=targets,
        )
        c(
            EXEC,
            "vstack download-image built-in <words>",
            self._download_builtin_image,
            level=p,
            help=image_help,
            args=targets,
        )
        config_help = {
            "download-config": "Download configuration to clients",
            "index": "Client indexes",
            "startup": "As the startup configuration",
            "reload": "Reload the clients after the download",
            "in": "Reload at a time of day",
            "built-in": "Built-in group",
        }
        config_args = dict(targets)
        config_args["url"] = Arg(Word("WORD"), "Configuration file URL (tftp://… or flash:…)")
        config_args["words"] = Arg(
            Line(), "<family> <port> [<chassis>] <password> startup [reload [in hh:mm]]"
        )
        c(
            EXEC,
            "vstack download-config built-in <words>",
            self._download_builtin_config,
            level=p,
            help=config_help,
            args=config_args,
        )
        c(
            EXEC,
            "vstack download-config <url> {<ip> | index <indexes>} <password> startup "
            "[reload [in <at>]]",
            self._download_config,
            level=p,
            help=config_help,
            args=config_args,
        )

    def _start_download(self, ctx: Context, request: ondemand.OnDemandRequest) -> None:
        self.director_only()
        try:
            url, selection = ondemand.plan(self.host.director, request)
        except ondemand.OnDemandError as error:
            raise CommandError(str(error)) from None
        if not selection.targets:
            for line in selection.refused:
                ctx.write(line + "\n")
            raise CommandError("% No client to update")
        director = self.host.director
        what = "image" if request.kind is UpgradeKind.IMAGE else "config"
        ctx.write(f"Requesting {what} download from {url} on {len(selection.targets)} client(s)\n")

        async def work() -> str:
            return await ondemand.execute(director, request, url, selection)

        ctx.wait(work)

    @staticmethod
    def _reload(ctx: Context) -> tuple[bool, tuple[int, int] | None]:
        at = ctx.args.get("at")
        if isinstance(at, dt.time):
            return False, (at.hour, at.minute)
        return "reload" in ctx.keywords, None

    def _download_image(self, ctx: Context) -> None:
        now, at = self._reload(ctx)
        indexes = ctx.args.get("indexes")
        imagelist = "imagelist" in ctx.args
        url = str(ctx.args["imagelist" if imagelist else "url"])
        if imagelist:
            self._check_imagelist(url)
        request = ondemand.OnDemandRequest(
            UpgradeKind.IMAGE, url=url, imagelist=imagelist,
            ip=str(ctx.args["ip"]) if ctx.args.get("ip") is not None else None,
            indexes=tuple(indexes) if isinstance(indexes, list | tuple) else (),
            password=ondemand.password_of(str(ctx.args["password"])),
            override="override" in ctx.keywords, issu="issu" in ctx.keywords,
            allow_reload="allow-reload" in ctx.keywords, reload_now=now, reload_at=at,
        )  # fmt: skip
        self._start_download(ctx, request)

    def _check_imagelist(self, url: str) -> None:
        """An imagelist on the director's own file system must be there (one stat)."""
        try:
            location = parse_location(url, "imagelist")
        except DomainError as error:
            raise CommandError(str(error)) from None
        if location.local and not self.host.repo.exists(location.path):
            raise CommandError(f"%Error opening {url} (No such file or directory)")

    def _download_config(self, ctx: Context) -> None:
        now, at = self._reload(ctx)
        indexes = ctx.args.get("indexes")
        request = ondemand.OnDemandRequest(
            UpgradeKind.CONFIG, url=str(ctx.args["url"]),
            ip=str(ctx.args["ip"]) if ctx.args.get("ip") is not None else None,
            indexes=tuple(indexes) if isinstance(indexes, list | tuple) else (),
            password=ondemand.password_of(str(ctx.args["password"])),
            reload_now=now, reload_at=at,
        )  # fmt: skip
        self._start_download(ctx, request)

    def _download_builtin_image(self, ctx: Context) -> None:
        try:
            request = ondemand.parse_builtin(UpgradeKind.IMAGE, str(ctx.args["words"]).split())
        except ondemand.OnDemandError as error:
            raise CommandError(str(error)) from None
        self._start_download(ctx, request)

    def _download_builtin_config(self, ctx: Context) -> None:
        try:
            request = ondemand.parse_builtin(UpgradeKind.CONFIG, str(ctx.args["words"]).split())
        except ondemand.OnDemandError as error:
            raise CommandError(str(error)) from None
        self._start_download(ctx, request)
