"""The join window (guide, chapter 2, "Configuring the Join Window"): `vstack join-window start
[date] hh:mm [interval] [end date] [recurring]`, `vstack join-window close`, `vstack
join-window mode auto`, and their `no` forms."""

from __future__ import annotations

import datetime as dt

from smartinstall.domain.joinwindow import JoinWindowSettings, Schedule
from smartinstall.domain.values import MONTHS, YEAR_RANGE
from smartinstall.ios.director_config.base import DirectorCommandsBase, domain_errors, said
from smartinstall.ios.director_config.types import CalendarDate, Interval
from smartinstall.ios.engine import CommandError, Context
from smartinstall.ios.tree import CONFIG
from smartinstall.ios.types import Arg, Line, TimeOfDay


class JoinWindowCommands(DirectorCommandsBase):
    """`vstack join-window …`: when clients may join and whether they are upgraded at once."""

    def _declare_join_window(self) -> None:
        c = self.command
        help_ = {
            "join-window": "Configure the vstack join window",
            "start": "Configure when the join window opens",
            "end": "Configure the date the join window ends",
            "recurring": "Open the join window every day at the start time",
            "close": "Close the join window",
            "mode": "Configure the join window mode",
            "auto": "Upgrade joining clients automatically (no: hold them)",
        }
        first, last = YEAR_RANGE
        args = {
            "date": Arg(CalendarDate(first, last), "Day of the month"),
            "time": Arg(TimeOfDay(), "Start time (hh:mm)"),
            "interval": Arg(Interval(), "How long the window stays open (hh:mm, up to 24:00)"),
            "end": Arg(CalendarDate(first, last), "Day of the month"),
            "ignored": Arg(Line(), "The rest of the start command"),
        }
        c(
            CONFIG,
            "vstack join-window start [<date>] <time> [<interval>] [end <end>] [recurring]",
            self._join_start,
            help=help_,
            args=args,
        )
        c(
            CONFIG,
            "no vstack join-window start [<ignored>]",
            self._join_start,
            help=help_,
            args=args,
        )
        c(CONFIG, "vstack join-window close", self._join_close, help=help_)
        c(CONFIG, "no vstack join-window close", self._join_close, help=help_)
        c(CONFIG, "vstack join-window mode auto", self._join_mode, help=help_)
        c(CONFIG, "no vstack join-window mode [auto]", self._join_mode, help=help_)

    # --- handlers ------------------------------------------------------------------------

    def _join_start(self, ctx: Context) -> None:
        settings = self.settings
        window = settings.join_window
        if ctx.negated:
            settings.join_window = JoinWindowSettings(None, window.closed, window.auto)
            return
        args = ctx.args
        time = args["time"]
        assert isinstance(time, dt.time)
        start = _date(args.get("date"))
        end = _date(args.get("end"))
        interval = args.get("interval")
        assert interval is None or isinstance(interval, dt.timedelta)
        recurring = said(ctx, "recurring")
        with domain_errors():
            schedule = Schedule(time, start, interval, end, recurring)
        settings.join_window = JoinWindowSettings(schedule, window.closed, window.auto)

    def _join_close(self, ctx: Context) -> None:
        settings = self.settings
        window = settings.join_window
        settings.join_window = JoinWindowSettings(window.schedule, not ctx.negated, window.auto)

    def _join_mode(self, ctx: Context) -> None:
        settings = self.settings
        window = settings.join_window
        settings.join_window = JoinWindowSettings(window.schedule, window.closed, not ctx.negated)


def _date(value: object) -> dt.date | None:
    """A `CalendarDate` value as a date; an impossible day is refused with its name."""
    if value is None:
        return None
    assert isinstance(value, tuple)
    day, month, year = value
    try:
        return dt.date(year, month, day)
    except ValueError:
        name = MONTHS[month - 1][:3].capitalize()
        raise CommandError(f"% Invalid date: {day:02d} {name} {year}") from None


__all__ = ["JoinWindowCommands"]
