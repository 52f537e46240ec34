"""The rules of a fleet of directors (docs/scale-out.md): director ids, when a member is
down, what one inventory line says."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartinstall.domain.errors import DomainError
from smartinstall.domain.fleet import (
    FleetLine,
    MemberBeat,
    Role,
    is_down,
    new_director_id,
    overall_status,
    render_fleet,
    validate_director_id,
)

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)


def beat(role: Role, age: float, member: str = "h:1") -> MemberBeat:
    return MemberBeat("b", member, role, "10.0.0.1", NOW - dt.timedelta(seconds=age), 1)


def test_director_ids_are_ios_words() -> None:
    assert validate_director_id(" branch-17 ") == "branch-17"
    assert validate_director_id("7.west_2") == "7.west_2"
    for bad in ("", "-x", "a b", "x" * 64, "é"):
        with pytest.raises(DomainError, match="Invalid director id"):
            validate_director_id(bad)
    made = new_director_id()
    assert validate_director_id(made) == made and made != new_director_id()


@given(st.text(max_size=80))
def test_validation_never_crashes(text: str) -> None:
    with contextlib.suppress(DomainError):
        assert len(validate_director_id(text)) <= 63


def test_a_member_is_down_when_it_stops_beating_or_left() -> None:
    assert not is_down(beat(Role.ACTIVE, 2), NOW)
    assert is_down(beat(Role.ACTIVE, 10.5), NOW)
    assert is_down(beat(Role.ACTIVE, 3.5), NOW, down_after=3)
    assert is_down(beat(Role.STOPPED, 0), NOW) and is_down(beat(Role.FENCED, 0), NOW)


def test_one_word_per_download_row() -> None:
    assert overall_status("UPGRADED", "UPGRADED", "**") == "UPGRADED"
    assert overall_status("UPGRADED", "FAILED", "**") == "FAILED"
    assert overall_status("UPGRADING", "NOT STARTED", "**") == "UPGRADING"
    assert overall_status("UPGRADED", "NOT STARTED", "**") == "NOT STARTED"
    assert overall_status("NOT STARTED", "NOT STARTED", "NOT STARTED") == "NOT STARTED"


def test_the_inventory_has_one_line_per_director_with_its_role() -> None:
    lines = [
        FleetLine(
            "pair", 20, {"UPGRADED": 18, "UPGRADING": 2},
            (beat(Role.ACTIVE, 0.4, "a:1"), beat(Role.STANDBY, 0.9, "b:2")),
        ),
        FleetLine("west", 2, {"UPGRADED": 2}, (beat(Role.ACTIVE, 11.2),)),
        FleetLine("lonely", 0, {}, ()),
    ]  # fmt: skip
    text = render_fleet(lines, NOW)
    rows = text.splitlines()
    assert rows[0].split() == ["Director", "Role", "Last", "contact", "Devices", "Status"]
    assert rows[2].split() == ["pair", "active+1", "standby", "0.4s", "ago", "20", "18",
                               "UPGRADED,", "2", "UPGRADING"]  # fmt: skip
    assert rows[3].split()[:2] == ["west", "down"]
    assert rows[4].split() == ["lonely", "-", "never", "0", "-"]
    standby_only = FleetLine("s", 0, {}, (beat(Role.STANDBY, 1),))
    assert standby_only.role_text(NOW) == "standby only"


def test_a_following_standby_says_how_far_behind_it_is() -> None:
    state_at = NOW - dt.timedelta(seconds=3)
    following = MemberBeat("pair", "b:2", Role.STANDBY, "", NOW, 0, state_at, 0.25)
    line = FleetLine("pair", 1, {}, (beat(Role.ACTIVE, 0.4, "a:1"), following))
    rows = render_fleet([line], NOW).splitlines()
    assert rows[2].split()[:2] == ["pair", "active+1"]
    assert rows[3] == "  standby b:2: 0.2s behind, state of 11:59:57.000"
    # a standby that does not follow (or is down) has no line of its own
    quiet = FleetLine("pair", 1, {}, (beat(Role.ACTIVE, 0.4, "a:1"), beat(Role.STANDBY, 0.5)))
    assert len(render_fleet([quiet], NOW).splitlines()) == 3
