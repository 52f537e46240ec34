"""Value parsers: MAC, hh:mm, dates, index lists, VLAN ranges, hostname prefix."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartinstall.domain.errors import DomainError
from smartinstall.domain.values import (
    format_date,
    format_number_list,
    normalize_mac,
    parse_date,
    parse_duration,
    parse_hhmm,
    parse_index_list,
    parse_vlan_range,
    prefixed_hostname,
)


# Guide, "Configuring a Custom Group Based on MAC Address": the example mixes both notations.
@pytest.mark.parametrize(
    "text",
    ["00:1B:54:44:C6:00", "001b.5444.c600", "001B-5444-C600", "00-1b-54-44-c6-00", "001b5444c600"],
)
def test_mac_forms_of_the_guide_normalise(text: str) -> None:
    assert normalize_mac(text) == "001b.5444.c600"


@pytest.mark.parametrize(
    "text", ["", "001b.5444", "00:1B:54:44:C6", "zz1b.5444.c600", "001b.5444.c600.0000", "0:1"]
)
def test_bad_macs_name_the_token(text: str) -> None:
    with pytest.raises(DomainError) as error:
        normalize_mac(text)
    assert "Invalid MAC address" in str(error.value)
    assert "\n" not in str(error.value)


# Guide, vstack download-image: "in time … format hh:mm. The range is from 00:00 to 23:59"; the
# examples write both "6:30" and "06:30".
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("6:30", dt.time(6, 30)),
        ("06:30", dt.time(6, 30)),
        ("00:00", dt.time(0)),
        ("23:59", dt.time(23, 59)),
    ],
)
def test_hhmm(text: str, expected: dt.time) -> None:
    assert parse_hhmm(text) == expected


@pytest.mark.parametrize("text", ["24:00", "12:60", "7", "-1:00", "1:5", "aa:bb", ""])
def test_impossible_times_rejected(text: str) -> None:
    with pytest.raises(DomainError) as error:
        parse_hhmm(text)
    assert text.strip() in str(error.value)


def test_join_window_interval_is_at_most_24_hours() -> None:
    # Guide, vstack join-window start: "The maximum duration that you can configure is 24 hours."
    assert parse_duration("04:00") == dt.timedelta(hours=4)
    assert parse_duration("24:00") == dt.timedelta(hours=24)
    for bad in ("24:01", "00:00", "25:00", "01:75"):
        with pytest.raises(DomainError):
            parse_duration(bad)


# Guide, vstack join-window start examples: "04 july 2009"; syntax: 3-letter month, 1993-2035.
@pytest.mark.parametrize(
    ("day", "month", "year"), [("04", "july", "2009"), ("04", "Jul", "2009"), ("4", "JULY", "2009")]
)
def test_dates(day: str, month: str, year: str) -> None:
    assert parse_date(day, month, year) == dt.date(2009, 7, 4)


@pytest.mark.parametrize(
    ("day", "month", "year", "token"),
    [
        ("31", "Feb", "2010", "31 Feb"),
        ("30", "feb", "2012", "30 feb"),
        ("00", "Jan", "2010", "00"),
        ("12", "Foo", "2010", "Foo"),
        ("12", "Ju", "2010", "Ju"),
        ("12", "Jan", "1992", "1992"),
        ("12", "Jan", "2036", "2036"),
    ],
)
def test_impossible_dates_name_the_token(day: str, month: str, year: str, token: str) -> None:
    with pytest.raises(DomainError) as error:
        parse_date(day, month, year)
    assert token in str(error.value)


def test_date_round_trip() -> None:
    assert format_date(parse_date("04", "july", "2009")) == "04 Jul 2009"


# Guide, vstack join-window-status index: "for example 1,3-5,7,9-11"; on-demand: "1-3, 4".
def test_index_lists_of_the_guide() -> None:
    assert parse_index_list("1,3-5,7,9-11") == (1, 3, 4, 5, 7, 9, 10, 11)
    assert parse_index_list("1-3, 4") == (1, 2, 3, 4)
    assert parse_index_list("4,4,2") == (2, 4)


@pytest.mark.parametrize("text", ["5-3", "", "1,,2", "a", "1-", "-1", "1-2-3", "70000"])
def test_bad_index_lists(text: str) -> None:
    with pytest.raises(DomainError):
        parse_index_list(text)


def test_backwards_range_names_it() -> None:
    with pytest.raises(DomainError) as error:
        parse_index_list("1,5-3")
    assert "5-3" in str(error.value)


def test_vlan_range_bounds_and_compact_form() -> None:
    assert parse_vlan_range("10,20-22") == (10, 20, 21, 22)
    assert format_number_list([1, 3, 4, 5, 7]) == "1,3-5,7"
    with pytest.raises(DomainError):
        parse_vlan_range("0-2")
    with pytest.raises(DomainError):
        parse_vlan_range("4095")


def test_hostname_prefix_rule_of_the_guide() -> None:
    # Guide, "Configuring a Client Hostname Prefix": prefix Cisco gives CISCO-bf.97c0 — the
    # prefix in capitals, a dash and the last three bytes of the MAC.
    assert prefixed_hostname("Cisco", "0022.90bf.97c0") == "CISCO-bf.97c0"
    # show vstack status detail: Device ID IBC_WOW-08.603f for interface MAC 68ef.bd08.603f.
    assert prefixed_hostname("IBC_WOW", "68ef.bd08.603f") == "IBC_WOW-08.603f"


@given(st.text(max_size=60))
def test_parsers_raise_only_domain_errors(text: str) -> None:
    for parser in (normalize_mac, parse_hhmm, parse_index_list, parse_vlan_range, parse_duration):
        try:
            parser(text)
        except DomainError as error:
            assert "\n" not in str(error)


@given(st.text(max_size=12), st.text(max_size=12), st.text(max_size=12))
def test_dates_raise_only_domain_errors(day: str, month: str, year: str) -> None:
    with contextlib.suppress(DomainError):
        parse_date(day, month, year)
