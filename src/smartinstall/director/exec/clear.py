"""``clear vstack director-db | download-list | download-status``: entries of the director
database and of the download status list, after a ``[confirm]`` (guide, "Clearing the
Director Database"). The director core clears them."""

from __future__ import annotations

from smartinstall.director.exec.host import CONFIRM, Family, confirmed
from smartinstall.ios import EXEC, PRIVILEGED_LEVEL, Arg, CommandError, Context, Number


class ClearCommands(Family):
    """``clear vstack director-db [entry <n>]``, ``clear vstack download-list [entry <n>]``
    and ``clear vstack download-status entry <n>``."""

    def declare(self) -> None:
        c = self.command
        p = PRIVILEGED_LEVEL
        clear_help = {
            "vstack": "Smart Install",
            "director-db": "Clear the director database",
            "download-list": "Clear the download status list",
            "download-status": "Clear the download status list",
            "entry": "One entry",
        }
        # guide, clear vstack: "The index number range is from 1 to 255" (both lists)
        entry = {"entry": Arg(Number(1, 255), "Entry number")}
        c(
            EXEC,
            "clear vstack director-db [entry <entry>]",
            self._clear_db,
            level=p,
            help=clear_help,
            args=entry,
        )
        c(
            EXEC,
            "clear vstack download-list [entry <entry>]",
            self._clear_downloads,
            level=p,
            help=clear_help,
            args=entry,
        )
        c(
            EXEC,
            "clear vstack download-status entry <entry>",
            self._clear_downloads,
            level=p,
            help=clear_help,
            args=entry,
        )

    def _clear_db(self, ctx: Context) -> None:
        self.director_only()
        director = self.host.director
        number = ctx.args.get("entry")
        if number is None:

            def answer_all(reply: str) -> str:
                if confirmed(reply):
                    director.clear_all_entries()
                return ""

            ctx.ask(f"All entries of the director database will be cleared. {CONFIRM}", answer_all)
            return
        entry = int(str(number))
        device = self.host.state.device_by_number(entry)
        if device is None or device.is_director:
            raise CommandError(f"% Entry {entry} does not exist in the director database")

        def answer(reply: str) -> str:
            if confirmed(reply):
                director.clear_entry(entry)
            return ""

        if self.settings.backup.enabled:
            ctx.write(
                "Config backup feature is ON. If IBC is replaced by another switch, that "
                "wont get backup\n"
            )
            ctx.ask(f"config file. {CONFIRM}", answer)
        else:
            ctx.ask(CONFIRM, answer)

    def _clear_downloads(self, ctx: Context) -> None:
        self.director_only()
        director = self.host.director
        number = ctx.args.get("entry")
        alias = ctx.command.syntax.startswith("clear vstack download-status")
        if number is None:

            def answer_all(reply: str) -> str:
                if confirmed(reply):
                    director.clear_downloads()
                return ""

            ctx.write(
                "status of upgrading client will not have correct status on clearing the "
                "download list.\n"
            )
            ctx.ask(CONFIRM, answer_all)
            return
        entry = int(str(number))
        if entry > len(self.host.state.downloads()):
            raise CommandError(f"% Entry {entry} does not exist in the download status list")

        def answer(reply: str) -> str:
            if confirmed(reply):
                director.clear_download(entry)
            return ""

        what = "entry" if alias else "list"
        ctx.write(
            "status of upgrading client will not have correct status on clearing the "
            f"download {what}.\n"
        )
        ctx.ask(CONFIRM, answer)
