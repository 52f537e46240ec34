"""Join window schedules, states and Table 1-3 (guide: "Using a Join Window",
"Configuring Join Window Mode", vstack join-window start)."""

from __future__ import annotations

import contextlib
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartinstall.domain.devices import JoinState
from smartinstall.domain.errors import DomainError
from smartinstall.domain.joinwindow import (
    JoinWindowSettings,
    Operation,
    Permission,
    is_open,
    joining_state,
    next_change,
    on_hold_install,
    on_hold_remove,
    parse_schedule,
    permission,
    set_join_state,
)

UTC = dt.UTC
PARIS = ZoneInfo("Europe/Paris")


def at(text: str, tz: dt.tzinfo = UTC) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=tz)


def window(line: str, closed: bool = False, auto: bool = True) -> JoinWindowSettings:
    return JoinWindowSettings(parse_schedule(line.split()), closed, auto)


def test_no_window_configured_is_open() -> None:
    # "If a join window is not configured, a zero touch update can happen at any time."
    assert is_open(JoinWindowSettings(), at("2009-07-04 03:00"), UTC)
    assert next_change(JoinWindowSettings(), at("2009-07-04 03:00"), UTC) is None


# Each example of the command reference, with instants inside and outside its window.
@pytest.mark.parametrize(
    ("line", "moment", "expected"),
    [
        # "starting at 10 a.m. and recurring every day at this time" (no interval: rest of day)
        ("10:00 recurring", "2009-07-04 09:59", False),
        ("10:00 recurring", "2009-07-04 10:00", True),
        ("10:00 recurring", "2020-01-01 23:59", True),
        ("10:00 recurring", "2020-01-02 00:00", False),
        # "start on July 4, 2009, and remain on (no end date)"
        ("04 july 2009 09:00", "2009-07-04 08:59", False),
        ("04 july 2009 09:00", "2009-07-04 09:00", True),
        ("04 july 2009 09:00", "2015-03-01 02:00", True),
        # "start on July 4, 2009, and end on July 5, 2009" (end at the start time)
        ("04 july 2009 10:00 end 05 july 2009", "2009-07-04 12:00", True),
        ("04 july 2009 10:00 end 05 july 2009", "2009-07-05 09:59", True),
        ("04 july 2009 10:00 end 05 july 2009", "2009-07-05 10:00", False),
        # "start on July 4, 2009, at 10 a.m. and to continue for 4 hours"
        ("04 july 2009 10:00 04:00", "2009-07-04 13:59", True),
        ("04 july 2009 10:00 04:00", "2009-07-04 14:00", False),
        ("04 july 2009 10:00 04:00", "2009-07-05 11:00", False),
        # "start on July 7, 2009 at 10 a.m., operate for 4 hours, recur daily … until July 10,
        # when the join window ends and remains shut"
        ("07 july 2009 10:00 04:00 end 10 july 2009 recur", "2009-07-06 11:00", False),
        ("07 july 2009 10:00 04:00 end 10 july 2009 recur", "2009-07-07 11:00", True),
        ("07 july 2009 10:00 04:00 end 10 july 2009 recur", "2009-07-09 13:59", True),
        ("07 july 2009 10:00 04:00 end 10 july 2009 recur", "2009-07-09 15:00", False),
        ("07 july 2009 10:00 04:00 end 10 july 2009 recur", "2009-07-10 11:00", False),
        # "if no dates or intervals are set, the start time is recurring"
        ("10:00", "2030-05-05 10:30", True),
        # a daily window that crosses midnight
        ("22:00 04:00", "2030-05-06 01:59", True),
        ("22:00 04:00", "2030-05-06 02:00", False),
    ],
)
def test_guide_examples(line: str, moment: str, expected: bool) -> None:
    assert is_open(window(line), at(moment), UTC) is expected


def test_close_overrides_schedule_and_no_close_restores_it() -> None:
    settings = window("10:00 recurring", closed=True)
    assert not is_open(settings, at("2009-07-04 11:00"), UTC)
    assert not is_open(JoinWindowSettings(closed=True), at("2009-07-04 11:00"), UTC)
    reopened = JoinWindowSettings(settings.schedule, closed=False)
    assert is_open(reopened, at("2009-07-04 11:00"), UTC)


def test_time_zone_is_explicit() -> None:
    settings = window("10:00 02:00")
    # 10:30 in Paris (summer, UTC+2) is 08:30 UTC.
    assert is_open(settings, at("2009-07-04 08:30"), PARIS)
    assert not is_open(settings, at("2009-07-04 08:30"), UTC)
    with pytest.raises(DomainError):
        is_open(settings, dt.datetime(2009, 7, 4, 8, 30), UTC)


def test_next_change() -> None:
    settings = window("10:00 04:00")
    assert next_change(settings, at("2009-07-04 08:00"), UTC) == at("2009-07-04 10:00")
    assert next_change(settings, at("2009-07-04 11:00"), UTC) == at("2009-07-04 14:00")
    future = window("01 jan 2030 09:00")
    assert next_change(future, at("2029-12-01 00:00"), UTC) == at("2030-01-01 09:00")
    assert next_change(future, at("2030-06-01 00:00"), UTC) is None
    ended = window("07 july 2009 10:00 04:00 end 10 july 2009 recur")
    assert next_change(ended, at("2009-07-09 15:00"), UTC) is None


# The reading of the guide: auto + open → a, closed → d, manual + open → h.
@pytest.mark.parametrize(
    ("closed", "auto", "moment", "state"),
    [
        (False, True, "2009-07-04 11:00", JoinState.ALLOWED),
        (False, True, "2009-07-04 09:00", JoinState.DENIED),
        (True, True, "2009-07-04 11:00", JoinState.DENIED),
        (False, False, "2009-07-04 11:00", JoinState.HOLD),
        (False, False, "2009-07-04 09:00", JoinState.DENIED),
        (True, False, "2009-07-04 11:00", JoinState.DENIED),
    ],
)
def test_joining_state(closed: bool, auto: bool, moment: str, state: JoinState) -> None:
    settings = window("10:00 recurring", closed=closed, auto=auto)
    assert joining_state(settings, at(moment), UTC) is state


# Guide, Table 1-3 "Join Window States and Functionality", row by row.
@pytest.mark.parametrize(
    ("state", "zero_touch", "on_demand", "backup"),
    [
        (JoinState.ALLOWED, Permission.ALLOWED, Permission.ALLOWED, Permission.ALLOWED),
        (JoinState.DENIED, Permission.NOT_ALLOWED, Permission.ALLOWED, Permission.ALLOWED),
        (JoinState.HOLD, Permission.WITH_INTERVENTION, Permission.ALLOWED, Permission.NOT_ALLOWED),
    ],
)
def test_table_1_3(
    state: JoinState, zero_touch: Permission, on_demand: Permission, backup: Permission
) -> None:
    assert permission(state, Operation.ZERO_TOUCH) is zero_touch
    assert permission(state, Operation.ON_DEMAND) is on_demand
    assert permission(state, Operation.BACKUP) is backup


def test_join_window_status_command() -> None:
    # "allowed: from deny or held to active; held: from deny to held".
    assert set_join_state(JoinState.DENIED, "allowed") is JoinState.ALLOWED
    assert set_join_state(JoinState.HOLD, "allowed") is JoinState.ALLOWED
    assert set_join_state(JoinState.DENIED, "held") is JoinState.HOLD
    with pytest.raises(DomainError):
        set_join_state(JoinState.ALLOWED, "held")


def test_on_hold_install_and_remove() -> None:
    assert on_hold_install(JoinState.HOLD, removed=False).ok
    removed = on_hold_remove(JoinState.HOLD, removed=False)
    assert removed.ok and removed.removed
    assert removed.state is JoinState.ALLOWED  # off the hold list: no more "h"
    # "When a client has been removed from the on-hold list and you enter the vstack
    # on-hold-clients install … for the client, the request is denied."
    denied = on_hold_install(removed.state, removed.removed)
    assert not denied.ok and "removed" in denied.reason
    assert not on_hold_install(JoinState.ALLOWED, removed=False).ok


@pytest.mark.parametrize(
    "line",
    ["24:00", "10:00 24:01", "31 feb 2010 10:00", "04 july 2009 10:00 end 01 july 2009", "10:00 x",
     "04 july", "10:00 end 05"],
)  # fmt: skip
def test_bad_schedules(line: str) -> None:
    with pytest.raises(DomainError):
        parse_schedule(line.split())


def test_schedule_renders_back() -> None:
    line = "07 july 2009 10:00 04:00 end 10 july 2009 recur"
    assert window(line).schedule is not None
    rendered = window(line).render()
    assert rendered == [
        "vstack join-window start 07 Jul 2009 10:00 04:00 end 10 Jul 2009 recurring"
    ]
    again = parse_schedule(rendered[0].split()[3:])
    assert again == window(line).schedule


@given(st.lists(st.text(max_size=10), max_size=8))
def test_parse_schedule_raises_only_domain_errors(words: list[str]) -> None:
    with contextlib.suppress(DomainError):
        parse_schedule(words)


@given(
    st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2040, 1, 1)),
    st.sampled_from(["10:00 recurring", "22:00 04:00", "04 july 2009 10:00 04:00",
                     "07 july 2009 10:00 04:00 end 10 july 2009 recur", "01 jan 2030 09:00"]),
)  # fmt: skip
def test_next_change_really_changes(moment: dt.datetime, line: str) -> None:
    settings = window(line)
    now = moment.replace(tzinfo=UTC)
    change = next_change(settings, now, UTC)
    if change is not None:
        assert change > now
        assert is_open(settings, change, UTC) != is_open(settings, now, UTC)
        halfway = now + (change - now) / 2
        assert is_open(settings, halfway, UTC) == is_open(settings, now, UTC)
