"""Argument types: what each accepts, refuses, and how far a bad token reads."""

from __future__ import annotations

import contextlib
import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartinstall.ios import (
    ArgError,
    Date,
    IndexList,
    IPv4,
    MacAddress,
    Mask,
    Number,
    TimeOfDay,
    Url,
    VlanRange,
    Word,
)
from smartinstall.ios.types import ArgType, Month, RangeList


@pytest.mark.parametrize(
    "text",
    ["00:1B:54:44:C6:00", "001b.5444.c600", "001B-5444-C600", "00-1b-54-44-c6-00", "001B5444C600"],
)
def test_mac_spellings_give_one_value(text: str) -> None:
    assert MacAddress().parse(text) == "001b.5444.c600"


@pytest.mark.parametrize(
    "text", ["00:1B:54:44:C6", "001b.5444", "00:1B:54:44:C6:0G", "00:1b-54:44:c6:00x", "", "0"]
)
def test_mac_refuses(text: str) -> None:
    with pytest.raises(ArgError):
        MacAddress().parse(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [("6:30", (6, 30)), ("06:30", (6, 30)), ("00:00", (0, 0)), ("23:59", (23, 59))],
)
def test_time_of_day(text: str, value: tuple[int, int]) -> None:
    assert TimeOfDay().parse(text) == datetime.time(*value)


@pytest.mark.parametrize("text", ["24:00", "12:60", "1230", "12:3", ":30", "123:00", "a:00"])
def test_time_of_day_refuses(text: str) -> None:
    with pytest.raises(ArgError):
        TimeOfDay().parse(text)


def test_date_combines_parts_and_refuses_31_february() -> None:
    date = Date()
    parts = date.parts()
    day, month, year = (kind for kind, _ in parts)
    assert date.combine([day.parse("04"), month.parse("Jul"), year.parse("2009")]) == datetime.date(
        2009, 7, 4
    )
    assert date.combine([4, month.parse("july"), 2009]) == datetime.date(2009, 7, 4)
    with pytest.raises(ArgError):
        date.combine([31, month.parse("Feb"), 2009])


@pytest.mark.parametrize(("text", "number"), [("jan", 1), ("JANUARY", 1), ("sept", 9), ("Dec", 12)])
def test_month_names(text: str, number: int) -> None:
    assert Month().parse(text) == number


@pytest.mark.parametrize("text", ["ju", "juno", "13", "janx"])
def test_month_refuses(text: str) -> None:
    with pytest.raises(ArgError):
        Month().parse(text)


def test_ranges() -> None:
    assert IndexList().parse("1,3-5,7") == (1, 3, 4, 5, 7)
    assert IndexList().parse("1-3, 4") == (1, 2, 3, 4)
    assert IndexList().continues("1-3,") and not IndexList().continues("1-3")
    assert VlanRange().parse("10,1-2,10") == (1, 2, 10)
    for bad in ("5-3", "0", "4095", "1,,2", "a", "1-", ""):
        with pytest.raises(ArgError):
            VlanRange().parse(bad)


def test_number_range_and_partial() -> None:
    vlan = Number(1, 4094)
    assert vlan.label == "<1-4094>"
    assert vlan.parse("4094") == 4094
    for bad in ("0", "4095", "-1", "1a", "", "٣"):
        with pytest.raises(ArgError):
            vlan.parse(bad)
    assert vlan.partial("5000") == 3
    assert vlan.partial("12x") == 2


def test_ipv4_and_mask() -> None:
    assert IPv4().parse("10.0.0.1") == "10.0.0.1"
    for bad in ("10.0.0", "10.0.0.256", "1.2.3.4.5", "a.b.c.d", "1..2.3"):
        with pytest.raises(ArgError):
            IPv4().parse(bad)
    assert IPv4().partial("10.0.0.256") == 9  # the caret goes under the 6
    assert Mask().parse("255.255.255.0") == 24
    assert Mask().parse("/16") == 16
    assert Mask().parse("0.0.0.0") == 0
    for bad in ("255.0.255.0", "/33", "/", "255.255.255"):
        with pytest.raises(ArgError):
            Mask().parse(bad)


def test_url_and_word() -> None:
    assert Url().parse("tftp://10.0.0.1/x.tar") == "tftp://10.0.0.1/x.tar"
    assert Url().parse("flash:x.tar") == "flash:x.tar"
    with pytest.raises(ArgError):
        Url().parse("x.tar")
    assert Word(pattern=r"[a-z]+").partial("abc1") == 3


TYPES: list[ArgType] = [
    Number(1, 4094),
    IPv4(),
    Mask(),
    MacAddress(),
    Url(),
    TimeOfDay(),
    Month(),
    VlanRange(),
    IndexList(),
    Word(),
]


@given(st.sampled_from(TYPES), st.text(max_size=40))
def test_types_never_raise_anything_but_arg_error(kind: ArgType, text: str) -> None:
    with contextlib.suppress(ArgError):
        kind.parse(text)
    assert 0 <= kind.partial(text) <= len(text)


def test_overlapping_ranges_are_merged_cheaply() -> None:
    assert IndexList().parse("3-5,1-4,4") == (1, 2, 3, 4, 5)
    repeated = ",".join(["1-65535"] * 4000)
    assert len(IndexList().parse(repeated)) == 65535  # distinct values, computed once


@given(st.lists(st.tuples(st.integers(1, 60), st.integers(0, 5)), min_size=1, max_size=8))
def test_range_list_equals_the_set_of_its_items(spans: list[tuple[int, int]]) -> None:
    text = ",".join(f"{first}-{first + extra}" for first, extra in spans)
    expected = sorted({n for first, extra in spans for n in range(first, first + extra + 1)})
    assert RangeList(1, 100).parse(text) == tuple(expected)
