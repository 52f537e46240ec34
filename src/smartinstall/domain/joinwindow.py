"""The join window: when the director hands out files, and the per-client join states.

Guide sections "Using a Join Window", "Configuring Join Window Mode", Table 1-3 and the
command reference of ``vstack join-window start [date] hh:mm [interval] [end date]
[recurring]``, ``vstack join-window close`` and ``vstack join-window mode auto``.

Rules, including where the guide is silent (each is documented in docs and tested):

* No window configured (no ``start``) and not closed: the window is open — "If a join window is
  not configured, a zero touch update can happen at any time because that is the default".
* ``close`` closes the window whatever the schedule says; ``no ... close`` reopens it to what
  the schedule says.
* A start with no date, or with ``recurring``, recurs daily at ``hh:mm`` ("When configured, if
  no dates or intervals are set, the start time is recurring").
* ``interval`` is how long each window stays open, more than 00:00 and at most 24 hours. A daily
  window without an interval stays open until the end of that day.
* A dated window without interval and without end date stays open from its start on ("start on
  July 4, 2009, and remain on"); with an end date and no interval it stays open until the end.
* The end is the end date at the start time: windows that would start at or after that moment do
  not happen and one in progress closes then ("recur daily at that time until July 10, when the
  join window ends and remains shut").
* Times are wall-clock times in the director's time zone, passed in explicitly.

Join states of a client joining now, as this project's issue settles the guide's wording:
auto mode and window open → ``a``; window closed (scheduled or ``close``) → ``d``; manual mode
and window open → ``h``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import Enum

from smartinstall.domain.devices import JoinState
from smartinstall.domain.errors import DomainError
from smartinstall.domain.values import (
    format_date,
    format_hhmm,
    parse_date,
    parse_duration,
    parse_hhmm,
)

MAX_INTERVAL = dt.timedelta(hours=24)


@dataclass(frozen=True)
class Schedule:
    """``vstack join-window start [date] hh:mm [interval] [end date] [recurring]``."""

    start_time: dt.time
    start_date: dt.date | None = None
    interval: dt.timedelta | None = None
    end_date: dt.date | None = None
    recurring: bool = False

    def __post_init__(self) -> None:
        if self.interval is not None and not dt.timedelta(0) < self.interval <= MAX_INTERVAL:
            raise DomainError("% Invalid interval: the join window lasts at most 24:00")
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise DomainError(
                f"% Invalid end date: {format_date(self.end_date)} is before the start date",
                format_date(self.end_date),
            )

    @property
    def daily(self) -> bool:
        return self.recurring or self.start_date is None

    def render(self) -> str:
        """The line ``show running-config`` prints."""
        words = ["vstack join-window start"]
        if self.start_date:
            words.append(format_date(self.start_date))
        words.append(format_hhmm(self.start_time))
        if self.interval is not None:
            words.append(format_hhmm(self.interval))
        if self.end_date:
            words.extend(["end", format_date(self.end_date)])
        if self.recurring:
            words.append("recurring")
        return " ".join(words)


def parse_schedule(words: Sequence[str]) -> Schedule:
    """Parse the words after ``vstack join-window start``.

    Dates are three words (``04 Jul 2009`` or ``04 july 2009``); ``recur`` abbreviates
    ``recurring`` as the guide's own example does.
    """
    tokens = list(words)
    if not tokens:
        raise DomainError("% Incomplete command.")
    start_date: dt.date | None = None
    if ":" not in tokens[0]:
        if len(tokens) < 4:
            raise DomainError("% Incomplete command.")
        start_date = parse_date(tokens[0], tokens[1], tokens[2])
        tokens = tokens[3:]
    start_time = parse_hhmm(tokens.pop(0))
    interval: dt.timedelta | None = None
    end_date: dt.date | None = None
    recurring = False
    if tokens and ":" in tokens[0]:
        interval = parse_duration(tokens.pop(0), MAX_INTERVAL)
    if tokens and "end".startswith(tokens[0].lower()) and tokens[0]:
        tokens.pop(0)
        if len(tokens) < 3:
            raise DomainError("% Incomplete command.")
        end_date = parse_date(tokens[0], tokens[1], tokens[2])
        tokens = tokens[3:]
    if tokens and len(tokens[0]) >= 1 and "recurring".startswith(tokens[0].lower()):
        tokens.pop(0)
        recurring = True
    if tokens:
        raise DomainError(f"% Invalid input: {tokens[0]}", tokens[0])
    return Schedule(start_time, start_date, interval, end_date, recurring)


@dataclass(frozen=True)
class JoinWindowSettings:
    schedule: Schedule | None = None
    closed: bool = False  # vstack join-window close
    auto: bool = True  # vstack join-window mode auto (the default); False = manual (hold)

    def render(self) -> list[str]:
        lines: list[str] = []
        if self.schedule is not None:
            lines.append(self.schedule.render())
        if self.closed:
            lines.append("vstack join-window close")
        if not self.auto:
            lines.append("no vstack join-window mode auto")
        return lines


# --- evaluation at a time -------------------------------------------------------------------


def _at(day: dt.date, time: dt.time, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=tz)


def _end_moment(schedule: Schedule, tz: dt.tzinfo) -> dt.datetime | None:
    if schedule.end_date is None:
        return None
    return _at(schedule.end_date, schedule.start_time, tz)


def windows(
    schedule: Schedule, start: dt.datetime, stop: dt.datetime, tz: dt.tzinfo
) -> Iterator[tuple[dt.datetime, dt.datetime | None]]:
    """The windows ``(opens, closes)`` that overlap ``[start, stop]``; ``closes`` None = never."""
    end_moment = _end_moment(schedule, tz)
    if not schedule.daily:
        assert schedule.start_date is not None
        opens = _at(schedule.start_date, schedule.start_time, tz)
        closes: dt.datetime | None
        closes = opens + schedule.interval if schedule.interval is not None else end_moment
        if end_moment is not None and closes is not None:
            closes = min(closes, end_moment)
        before_end = end_moment is None or opens < end_moment
        if before_end and (closes is None or closes > start) and opens <= stop:
            yield opens, closes
        return
    first_day = start.astimezone(tz).date() - dt.timedelta(days=1)
    if schedule.start_date is not None:
        first_day = max(first_day, schedule.start_date)
    last_day = stop.astimezone(tz).date()
    day = first_day
    while day <= last_day:
        opens = _at(day, schedule.start_time, tz)
        if end_moment is not None and opens >= end_moment:
            return
        if schedule.interval is not None:
            closes = opens + schedule.interval
        else:
            closes = _at(day + dt.timedelta(days=1), dt.time(0, 0), tz)
        if end_moment is not None:
            closes = min(closes, end_moment)
        if closes > start and opens <= stop:
            yield opens, closes
        day += dt.timedelta(days=1)


def _require_aware(at: dt.datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise DomainError("% Time zone required: join-window times are wall-clock times")


def schedule_open(schedule: Schedule, at: dt.datetime, tz: dt.tzinfo) -> bool:
    _require_aware(at)
    for opens, closes in windows(schedule, at, at, tz):
        if opens <= at and (closes is None or at < closes):
            return True
    return False


def is_open(settings: JoinWindowSettings, at: dt.datetime, tz: dt.tzinfo) -> bool:
    """Whether the director hands out files to a client joining at ``at``."""
    _require_aware(at)
    if settings.closed:
        return False
    if settings.schedule is None:
        return True
    return schedule_open(settings.schedule, at, tz)


def next_change(settings: JoinWindowSettings, at: dt.datetime, tz: dt.tzinfo) -> dt.datetime | None:
    """When the window next opens or closes after ``at``; None when it never changes by itself."""
    _require_aware(at)
    schedule = settings.schedule
    if settings.closed or schedule is None:
        return None
    now_open = schedule_open(schedule, at, tz)
    scan_from = at
    if schedule.start_date is not None:
        first = _at(schedule.start_date, schedule.start_time, tz)
        if first > at:
            scan_from = first - dt.timedelta(days=1)
    horizon = scan_from + dt.timedelta(days=3)
    boundaries: list[dt.datetime] = []
    for opens, closes in windows(schedule, scan_from, horizon, tz):
        boundaries.append(opens)
        if closes is not None:
            boundaries.append(closes)
    for moment in sorted(b for b in boundaries if b > at):
        if schedule_open(schedule, moment, tz) != now_open:
            return moment
    return None


def joining_state(settings: JoinWindowSettings, at: dt.datetime, tz: dt.tzinfo) -> JoinState:
    """The state of a client joining at ``at``: a (auto, open), h (manual, open), d (closed)."""
    if not is_open(settings, at, tz):
        return JoinState.DENIED
    return JoinState.ALLOWED if settings.auto else JoinState.HOLD


# --- Table 1-3 ------------------------------------------------------------------------------


class Operation(Enum):
    ZERO_TOUCH = "zero-touch update"
    ON_DEMAND = "on-demand update"
    BACKUP = "configuration backup"


class Permission(Enum):
    ALLOWED = "Allowed"
    WITH_INTERVENTION = "Allowed with user intervention"
    NOT_ALLOWED = "Not allowed"


# Guide, Table 1-3 "Join Window States and Functionality".
TABLE_1_3: dict[JoinState, dict[Operation, Permission]] = {
    JoinState.ALLOWED: {
        Operation.ZERO_TOUCH: Permission.ALLOWED,
        Operation.ON_DEMAND: Permission.ALLOWED,
        Operation.BACKUP: Permission.ALLOWED,
    },
    JoinState.DENIED: {
        Operation.ZERO_TOUCH: Permission.NOT_ALLOWED,
        Operation.ON_DEMAND: Permission.ALLOWED,
        Operation.BACKUP: Permission.ALLOWED,
    },
    JoinState.HOLD: {
        Operation.ZERO_TOUCH: Permission.WITH_INTERVENTION,
        Operation.ON_DEMAND: Permission.ALLOWED,
        Operation.BACKUP: Permission.NOT_ALLOWED,
    },
}


def permission(state: JoinState, operation: Operation) -> Permission:
    return TABLE_1_3[state][operation]


# --- operator actions on join states -------------------------------------------------------


def set_join_state(current: JoinState, target: str) -> JoinState:
    """``vstack join-window-status index <list> {allowed | held}`` for one client.

    ``allowed`` moves a client from deny or held to active; ``held`` moves it from deny to
    held (command reference). Held → held and active → active are no-ops; active → held is
    refused, since the guide only moves clients out of the deny state into hold.
    """
    if target == "allowed":
        return JoinState.ALLOWED
    if target == "held":
        if current is JoinState.ALLOWED:
            raise DomainError("% Client is active: only a denied client can be put on hold")
        return JoinState.HOLD
    raise DomainError(f"% Invalid join-window state: {target}", target)


@dataclass(frozen=True)
class HoldDecision:
    ok: bool
    state: JoinState
    removed: bool
    reason: str = ""


def on_hold_install(state: JoinState, removed: bool) -> HoldDecision:
    """``vstack on-hold-clients install``: upgrade a held client now.

    A client removed from the hold list is refused ("the request is denied") until it restarts.
    """
    if removed:
        return HoldDecision(False, state, True, "client was removed from the hold list")
    if state is not JoinState.HOLD:
        return HoldDecision(False, state, False, "client is not on hold")
    return HoldDecision(True, JoinState.ALLOWED, False)


def on_hold_remove(state: JoinState, removed: bool) -> HoldDecision:
    """``vstack on-hold-clients remove``: take a held client off the hold list. It is no
    longer held (its ``h`` goes); until it restarts it is not upgraded either ("you must
    restart the client to again put it in the hold state (if the mode is manual) or to
    automatically upgrade if the mode is auto and the join window is open")."""
    if state is not JoinState.HOLD or removed:
        return HoldDecision(False, state, removed, "client is not on hold")
    return HoldDecision(True, JoinState.ALLOWED, True)
