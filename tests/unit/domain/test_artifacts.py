"""Imagelist, tailored configuration and post-install scripts (guide: "Image List File",
"SMI Proxy and Tailored Configuration Files", "Support for Post-install Operations")."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartinstall.domain.artifacts import (
    TailoredConfig,
    imagelist_name,
    parse_imagelist,
    parse_post_install,
    render_imagelist,
)
from smartinstall.domain.errors import DomainError


def test_imagelist_one_per_line_local_by_name_remote_by_url() -> None:
    text = render_imagelist(
        [
            "flash:c3750-ipbase-tar.122-52.SE.tar",
            "tftp://101.122.33.10/c3750e-universalk9-tar.122-52.SE.tar",
        ]
    )
    assert text == (
        "c3750-ipbase-tar.122-52.SE.tar\n"
        "tftp://101.122.33.10/c3750e-universalk9-tar.122-52.SE.tar\n"
    )
    assert parse_imagelist(text) == text.splitlines()


def test_imagelist_needs_tar_or_bin() -> None:
    # "The images for the Catalyst 3850 and 3650 platforms are bundled with a .bin extension".
    assert render_imagelist(["flash:cat3k_caa-universalk9.SPA.03.06.06.E.152-2.E6.bin"])
    with pytest.raises(DomainError):
        render_imagelist(["flash:config.txt"])
    with pytest.raises(DomainError):
        render_imagelist([])
    assert imagelist_name("3750 24poe") == "imagelist-3750_24poe.txt"


def test_tailored_configuration_like_the_guide_example() -> None:
    text = TailoredConfig("5.1.1.1", "cisco", "cisco").render()
    for line in ("enable password cisco", "username cisco", "ip http authentication enable",
                 "do telnet 5.1.1.1 19140", "vstack director 5.1.1.1", "end"):  # fmt: skip
        assert line in text.splitlines()
    with pytest.raises(DomainError):
        TailoredConfig("5.1.1.1", "").render()


def test_post_install_example_of_the_guide() -> None:
    script = '"system mtu 1600"\n"vlan 123" "name VLAN" "exit"\n"sdm prefer default"\n'
    lines = parse_post_install(script)
    assert [line.commands for line in lines] == [
        ("system mtu 1600",),
        ("vlan 123", "name VLAN", "exit"),
        ("sdm prefer default",),
    ]
    assert [line.group for line in lines] == ["system mtu", "vlan", "sdm"]
    assert parse_post_install('"vtp domain cisco"')[0].group == "vtp"


def test_only_double_quoted_commands_run() -> None:
    # "The parser execute only those CLIs which are enclosed by double quote and all other
    # CLIs/characters are ignored": single quotes, commas and '>' are ignored.
    assert parse_post_install("'sdm prefer default'") == []
    assert parse_post_install("'vlan 123' , 'name VLAN' , 'exit'") == []
    assert parse_post_install('>"vlan 123" "name VLAN" "exit"')[0].commands == (
        "vlan 123", "name VLAN", "exit",
    )  # fmt: skip


def test_two_distinct_commands_on_one_line_is_an_error() -> None:
    with pytest.raises(DomainError) as error:
        parse_post_install('"vlan 123" "system mtu 1600"')
    assert "line 1" in str(error.value)


def test_unterminated_quote_names_the_line() -> None:
    with pytest.raises(DomainError) as error:
        parse_post_install('"system mtu 1600"\n"vlan 12" "name TEST')
    assert "line 2" in str(error.value) and "unterminated" in str(error.value)


def test_at_most_20_commands_per_line() -> None:
    ok = '"vlan 10"' + ' "name A"' * 19
    assert len(parse_post_install(ok)[0].commands) == 20
    with pytest.raises(DomainError) as error:
        parse_post_install(ok + ' "exit"')
    assert "21 commands" in str(error.value)


def test_unsupported_command() -> None:
    with pytest.raises(DomainError) as error:
        parse_post_install('"interface gi1/0/1"')
    assert "unsupported" in str(error.value)


@given(st.text(max_size=300))
def test_post_install_parser_raises_only_domain_errors(text: str) -> None:
    with contextlib.suppress(DomainError):
        parse_post_install(text)
