"""IOS's Rollback Confirmed Change on the director: a configuration change that reverts by
itself unless it is confirmed in time (NAPALM's ``commit_config(revert_in=…)``,
``confirm_commit`` and ``rollback`` of a pending commit).

    configure replace <file> … revert trigger [error] timer <minutes>   (or revert timer)
    configure terminal revert timer <minutes>
    configure confirm                     keep the change; the timer stops
    configure revert now                  put the previous configuration back at once
    configure revert timer <minutes>      give the timer a new value
    show archive config rollback timer

The previous configuration is the running configuration when the change began; reverting is
a configuration replace back to it (`smartinstall.ios.config_replace`), on the event loop
where the engine lives. Like IOS, it needs the configuration archive (``archive`` / ``path``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from smartinstall.director.exec.commands import ExecCommands
from smartinstall.director.exec.host import DirectorHost
from smartinstall.ios import (
    CONFIG,
    EXEC,
    PRIVILEGED_LEVEL,
    Arg,
    CommandError,
    CommandSet,
    Context,
    Engine,
    Number,
)
from smartinstall.ios.config_replace import replace_steps, run_stepwise

log = logging.getLogger(__name__)

NOTHING_PENDING = "No Rollback Confirmed Change pending"
MINUTES = Arg(Number(1, 120), "Minutes before the configuration is reverted")


#: reverts started by an expired timer (kept until they end)
_REVERTING: set[asyncio.Task[bool]] = set()


@dataclass
class PendingChange:
    user: str
    minutes: int
    configured: dt.datetime
    original: str
    handle: asyncio.TimerHandle | None = None


class RollbackTimer:
    """The one pending change of the director (IOS has one per device)."""

    def __init__(self, engine: Engine, host: DirectorHost, archive_on: Callable[[], bool]) -> None:
        self.engine = engine
        self.host = host
        self.archive_on = archive_on
        self.pending: PendingChange | None = None

    def declare(self, commands: CommandSet) -> None:
        c = commands.command
        p = PRIVILEGED_LEVEL
        c(EXEC, "configure confirm", self._confirm, level=p,
          help={"confirm": "Confirm replacement of running-config"})  # fmt: skip
        revert_help = {
            "revert": "Parameters for reverting the configuration",
            "now": "Cancel the timer and revert now",
            "timer": "Reset the revert timer",
            "terminal": "Configure from the terminal",
        }
        c(EXEC, "configure revert now", self._revert_now, level=p, help=revert_help)
        c(EXEC, "configure revert timer <minutes>", self._reset, level=p, help=revert_help,
          args={"minutes": MINUTES})  # fmt: skip
        c(EXEC, "configure terminal revert timer <minutes>", self._terminal, level=p,
          help=revert_help, args={"minutes": MINUTES})  # fmt: skip
        show_help = {
            "archive": "Archive functions",
            "config": "Configuration archive",
            "rollback": "Rollback Confirmed Change",
            "timer": "Show the rollback timer",
        }
        c(EXEC, "show archive config rollback timer", self._show, level=p, output=True,
          help=show_help)  # fmt: skip

    def user_of(self, ctx: Context) -> str:
        for command_set in self.engine.sets:
            if isinstance(command_set, ExecCommands):
                line = command_set.lines.get(ctx.session)
                if line is not None:
                    return line.user
        return "console"

    def check(self) -> None:
        """A new change with a timer: refused without the archive, or with one pending."""
        if not self.archive_on():
            raise CommandError(
                "%Please turn config archive on before using Rollback Confirmed Change"
            )
        if self.pending is not None:
            raise CommandError("%Rollback Confirmed Change already pending")

    def start(self, user: str, minutes: int, original: str) -> None:
        """A change to revert to ``original`` in ``minutes`` unless confirmed (on the loop)."""
        self.pending = PendingChange(user, minutes, dt.datetime.now(self.host.director.tz),
                                     original)  # fmt: skip
        self._arm()

    def _arm(self) -> None:
        pending = self.pending
        assert pending is not None
        if pending.handle is not None:
            pending.handle.cancel()
        loop = asyncio.get_running_loop()
        pending.handle = loop.call_later(pending.minutes * 60, self._expired)

    def _expired(self) -> None:
        log.warning("%%ARCHIVE_DIFF-5-ROLLBK_CNFRM_TIMER_EXPIRED: the configuration is reverted")
        task = asyncio.get_running_loop().create_task(self.revert())
        _REVERTING.add(task)
        task.add_done_callback(_REVERTING.discard)

    async def revert(self) -> bool:
        """The previous configuration back (on the loop); whether every command was taken."""
        pending, self.pending = self.pending, None
        if pending is None:
            return True
        if pending.handle is not None:
            pending.handle.cancel()
        result = await run_stepwise(replace_steps(self.engine, pending.original))
        if not result.done:
            log.error("reverting the configuration left %d commands refused", len(result.rejected))
        return result.done

    # --- handlers -----------------------------------------------------------------------------

    def _confirm(self, ctx: Context) -> None:
        pending, self.pending = self.pending, None
        if pending is None:
            raise CommandError(f"% {NOTHING_PENDING}")
        if pending.handle is not None:
            pending.handle.cancel()

    def _revert_now(self, ctx: Context) -> None:
        if self.pending is None:
            raise CommandError(f"% {NOTHING_PENDING}")

        async def work() -> str:
            if await self.revert():
                return "Rollback Done\n"
            raise CommandError("%Error: the previous configuration could not be restored")

        ctx.wait(work)

    def _reset(self, ctx: Context) -> None:
        if self.pending is None:
            raise CommandError(f"% {NOTHING_PENDING}")
        minutes = ctx.args["minutes"]
        assert isinstance(minutes, int)
        self.pending.minutes = minutes
        self.pending.configured = dt.datetime.now(self.host.director.tz)
        self._arm()

    def _terminal(self, ctx: Context) -> None:
        self.check()
        minutes = ctx.args["minutes"]
        assert isinstance(minutes, int)
        self.start(self.user_of(ctx), minutes, self.engine.running_config())
        ctx.write("Enter configuration commands, one per line.  End with CNTL/Z.\n")
        ctx.session.enter(CONFIG)

    def _show(self, ctx: Context) -> None:
        pending = self.pending
        if pending is None:
            ctx.write(f"{NOTHING_PENDING}\n")
            return
        when = pending.configured
        ctx.write(
            f"Time configured(or Reset) : {when:%H:%M:%S} {when.tzname() or 'UTC'} "
            f"{when:%a %b} {when.day} {when.year}\n"
            "Timer type: Rollback Confirmed Change\n"
            f"Timer value: {pending.minutes} min\n"
            f"User: {pending.user}\n"
        )


__all__ = ["NOTHING_PENDING", "PendingChange", "RollbackTimer"]
