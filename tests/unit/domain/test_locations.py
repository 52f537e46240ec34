"""Locations of images, configurations and scripts (guide: vstack image/config/script)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartinstall.domain.errors import DomainError
from smartinstall.domain.locations import parse_location, parse_repository


@pytest.mark.parametrize(
    "text",
    ["flash:c2960-lanbase-tar.122-52SE.tar", "flash0:a.tar", "flash1:a.tar", "bootflash:a.tar",
     "usb:a.tar", "tftp://101.122.33.10/c2960-lanbase-tar.122-52SE.tar", "tftp://h:6969/d/a.tar"],
)  # fmt: skip
def test_accepted_locations(text: str) -> None:
    assert parse_location(text).text == text


@pytest.mark.parametrize(
    "scheme", ["ftp:", "http:", "https:", "null:", "nvram:", "rcp:", "scp:", "system:", "tmpsys:"]
)
def test_refused_schemes_say_so(scheme: str) -> None:
    with pytest.raises(DomainError) as error:
        parse_location(f"{scheme}//host/file.tar")
    assert f"{scheme} is not supported" in str(error.value)


@pytest.mark.parametrize("text", ["flash:", "flash:../etc/passwd", "tftp:///x", "disk9:a", ""])
def test_bad_locations(text: str) -> None:
    with pytest.raises(DomainError):
        parse_location(text)


def test_local_and_remote_parts() -> None:
    local = parse_location("flash:/images/a.tar")
    assert local.local and local.path == "images/a.tar" and local.filename == "a.tar"
    remote = parse_location("tftp://10.0.0.1:6969/x/b.tar")
    assert (remote.host, remote.port, remote.path) == ("10.0.0.1", 6969, "x/b.tar")


def test_repository() -> None:
    assert parse_repository("flash:/vstack").path == "vstack"
    assert parse_repository("tftp://1.1.1.10/backups/").host == "1.1.1.10"
    with pytest.raises(DomainError):
        parse_repository("ftp://1.1.1.10/backups")


@given(st.text(max_size=80))
def test_never_raises_anything_else(text: str) -> None:
    for parser in (parse_location, parse_repository):
        with contextlib.suppress(DomainError):
            parser(text)
