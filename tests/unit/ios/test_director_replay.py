"""Replaying a director configuration through the engine (start-up, `smartinstall explain`):
guide examples replay, failing lines are reported with their numbers, nothing raises."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from smartinstall.domain.catalog import builtin_key
from smartinstall.domain.groups import GroupKind
from smartinstall.ios.director_commands import replay_director_config


def owns(ip: str) -> bool:
    return ip in ("1.1.1.20", "127.20.0.1")


def test_single_switch_type_example() -> None:
    # Guide, "Configuring a Network That Includes a Single Switch Type" (TFTP elsewhere).
    text = """
vstack director 1.1.1.20
vstack basic
vstack image tftp://101.122.33.10/c2960-lanbase-tar.122-52SE.tar
vstack config tftp://101.122.33.10/2960LANBase_config.txt
vstack script tftp://101.122.33.10/2960LANBase_post_install.txt
end
"""
    result = replay_director_config(text, owns)
    assert result.errors == []
    default = result.settings.groups.default
    assert default.image == "tftp://101.122.33.10/c2960-lanbase-tar.122-52SE.tar"
    assert default.script == "tftp://101.122.33.10/2960LANBase_post_install.txt"
    assert result.settings.basic


def test_mixed_network_custom_groups_and_dhcp_example() -> None:
    # Guide, "Using Built-In Groups …", "Configuring a Custom Group Based on MAC Address",
    # "… Stack Number", "Configuring the Director as the DHCP Server".
    text = """
vstack director 1.1.1.20
vstack basic
vstack dhcp-localserver pool1
 address-pool 1.1.1.0 255.255.255.0
 default-router 1.1.1.30
 file-server 1.1.1.40
 exit
ip dhcp remember
vstack group built-in 3560 24
 image tftp://101.122.33.10/c3560-ipbaselmk9-tar.122-52.SE.tar
 config tftp://101.122.33.10/3560-24-ipbase_config.txt
vstack group custom textgroup3 mac
 match mac 0023.34ca.c180
 match mac 001a.a1b4.ee00
 match mac 00:1B:54:44:C6:00
 image tftp://101.122.33.10/c3750-ipbase-tar.122-52.SE.tar
vstack group custom testgroup stack
 image tftp://101.122.33.10/c3750-ipbase-tar.122-52.SE.tar
 match 1 3750 24poe
 match 2 3750 24poe
vstack join-window start 07 july 2009 10:00 04:00 end 10 july 2009 recur
no vstack join-window mode auto
"""
    result = replay_director_config(text, owns)
    assert result.errors == []
    s = result.settings
    assert str(s.dhcp_pools["pool1"].network) == "1.1.1.0/24"
    assert s.dhcp_pools["pool1"].file_server == "1.1.1.40"
    assert s.dhcp_remember
    assert builtin_key("3560", "24") in s.groups.builtin
    mac_group = s.groups.custom["textgroup3"]
    assert mac_group.kind is GroupKind.MAC
    assert mac_group.macs == ["0023.34ca.c180", "001a.a1b4.ee00", "001b.5444.c600"]
    assert [m.member for m in s.groups.custom["testgroup"].stack] == [1, 2]
    assert s.join_window.schedule is not None and not s.join_window.auto


def test_failing_lines_are_reported_with_their_number_and_the_rest_replays() -> None:
    text = (
        "vstack director 9.9.9.9\nvstack basic\nvstack image flash:x.tar\nvstack image ftp:y.tar\n"
    )
    result = replay_director_config(text, owns)
    assert [number for number, _, _ in result.errors] == [2, 4]
    assert result.errors[0] == (
        2,
        "vstack basic",
        "Command Rejected: The Director IP address does not match a switch IP address.",
    )
    assert result.errors[1][:2] == (4, "vstack image ftp:y.tar")
    assert "ftp: is not supported" in result.errors[1][2]
    assert result.settings.groups.default.image == "flash:x.tar"
    assert not result.settings.basic


def test_render_then_replay_is_identical() -> None:
    text = Path("examples/branch/startup-config").read_text(encoding="utf-8")
    first = replay_director_config(text, owns)
    assert first.errors == []
    rendered = "\n".join(first.settings.render())
    second = replay_director_config(rendered, owns)
    assert second.errors == []
    assert second.settings.render() == first.settings.render()


def test_a_caret_error_names_its_column() -> None:
    result = replay_director_config("vstack startup-vlan 5000\n  vstack frobnicate\n", owns)
    assert result.errors == [
        (1, "vstack startup-vlan 5000", "% Invalid input detected at '^' marker. (column 24)"),
        (2, "vstack frobnicate", "% Invalid input detected at '^' marker. (column 8)"),
    ]


def test_a_failing_group_line_keeps_the_group_open_for_the_next_lines() -> None:
    text = (
        "vstack group custom g mac\n"
        " match mac 0023.34ca.c18g\n"
        " match mac 0023.34ca.c180\n"
        " image flash:x.tar\n"
    )
    result = replay_director_config(text, owns)
    assert [number for number, _, _ in result.errors] == [2]
    group = result.settings.groups.custom["g"]
    assert group.macs == ["0023.34ca.c180"] and group.files.image == "flash:x.tar"


def test_an_oversized_configuration_is_refused_whole() -> None:
    result = replay_director_config("!\n" * 600_000, owns)
    assert result.errors and result.errors[0][0] == 0
    assert "larger than" in result.errors[0][2]


@settings(max_examples=50, deadline=None)  # each example builds a whole engine
@given(st.text(max_size=200))
def test_replay_never_raises(text: str) -> None:
    result = replay_director_config(text, owns)
    assert all(number >= 1 for number, _, _ in result.errors)
