"""The download-status table (guide, command reference of show vstack and clear vstack)."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartinstall.domain.downloads import (
    DownloadEntry,
    DownloadMethod,
    DownloadStatus,
    clear_entry,
    format_downloaded_at,
    numbered,
    parse_downloaded_at,
)
from smartinstall.domain.errors import DomainError


def entry(ip: str, **changes: object) -> DownloadEntry:
    return DownloadEntry(ip, "0017.9570.c780", DownloadMethod.ZERO_TOUCH, **changes)  # type: ignore[arg-type]


def test_vocabulary_is_the_guides() -> None:
    assert [s.value for s in DownloadStatus] == [
        "NOT STARTED",
        "UPGRADING",
        "UPGRADED",
        "FAILED",
        "**",
    ]
    assert DownloadStatus.parse("NOT  STARTED") is DownloadStatus.NOT_STARTED
    assert DownloadMethod.parse(" image-upgrade ") is DownloadMethod.IMAGE_UPGRADE
    with pytest.raises(DomainError):
        DownloadStatus.parse("DONE")
    with pytest.raises(DomainError):
        DownloadMethod.parse("ftp")


def test_entry_normalises_and_validates() -> None:
    e = DownloadEntry("10.1.1.4", "00-17-95-70-C7-80", DownloadMethod.IMAGE_UPGRADE)
    assert e.client_mac == "0017.9570.c780"
    assert (e.image, e.config, e.script) == (
        DownloadStatus.NOT_STARTED,
        DownloadStatus.NOT_APPLICABLE,
        DownloadStatus.NOT_APPLICABLE,
    )
    assert e.image_fail_reason == "NA" and not e.finished
    assert entry("10.1.1.5", image_fail_reason="  ").image_fail_reason == "NA"
    with pytest.raises(DomainError):
        entry("10.1.1.300")
    with pytest.raises(DomainError):
        entry("10.1.1.5", hostname="")
    with pytest.raises(DomainError):
        entry("10.1.1.5", config_fail_reason="x" * 300)
    with pytest.raises(DomainError):
        entry("10.1.1.5", hostname="a\x00b")


def test_finished() -> None:
    up = DownloadStatus.UPGRADED
    assert entry("10.0.0.1", image=up).finished
    assert not entry("10.0.0.1", image=up, config=DownloadStatus.UPGRADING).finished
    assert entry("10.0.0.1", image=DownloadStatus.FAILED).finished


def test_clear_entry_renumbers() -> None:
    # Guide, clear vstack: after "clear vstack download-status entry 2" entry 3 becomes 2.
    table = (entry("10.1.1.4"), entry("10.1.1.6"), entry("10.1.1.11"))
    left = clear_entry(table, 2)
    assert [(n, e.client_ip) for n, e in numbered(left)] == [(1, "10.1.1.4"), (2, "10.1.1.11")]
    for bad in (0, 4, -1):
        with pytest.raises(DomainError):
            clear_entry(table, bad)
    assert clear_entry(table, 1) == table[1:]


def test_downloaded_at_format() -> None:
    # Guide: "image downloaded at: 02:47:39 UTC Mar 30 2011".
    moment = dt.datetime(2011, 3, 30, 2, 47, 39, tzinfo=dt.UTC)
    assert format_downloaded_at(moment) == "02:47:39 UTC Mar 30 2011"
    assert format_downloaded_at(None) == "-"
    assert parse_downloaded_at("02:47:39 UTC Mar 30 2011") == moment
    assert parse_downloaded_at("-") is None
    later = dt.datetime(2011, 3, 30, 4, 47, 39, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert format_downloaded_at(later) == "02:47:39 UTC Mar 30 2011"
    assert format_downloaded_at(moment.replace(tzinfo=None)) == "02:47:39 UTC Mar 30 2011"
    with pytest.raises(DomainError):
        parse_downloaded_at("yesterday")


@given(st.datetimes(min_value=dt.datetime(1993, 1, 1), max_value=dt.datetime(2035, 12, 31)))
def test_downloaded_at_round_trip(moment: dt.datetime) -> None:
    aware = moment.replace(microsecond=0, tzinfo=dt.UTC)
    assert parse_downloaded_at(format_downloaded_at(aware)) == aware


@given(st.text(max_size=60))
def test_parsers_never_raise_anything_but_domain_errors(text: str) -> None:
    for parse in (DownloadStatus.parse, DownloadMethod.parse, parse_downloaded_at):
        with contextlib.suppress(DomainError):
            parse(text)
