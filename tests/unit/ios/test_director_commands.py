"""The director's configuration commands: every configuration example of the guide's chapters
2 ("Configuring Cisco Smart Install Devices") and 3 ("Cisco Smart Install CLI Commands")
replayed line by line, prompts included, with the resulting settings and running
configuration; `?` help against the guide; errors; round trips.

Examples are copied from the guide with their prompts. The replay checks that our prompt
after each line is the one the guide shows before the next (the mode part; host names vary
between examples). Where the guide's prompt is a typo, the test lists it.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from pathlib import Path

import pytest

from smartinstall.commands.shell import render_show_vstack_config
from smartinstall.domain.catalog import builtin_key
from smartinstall.domain.groups import GroupKind
from smartinstall.domain.settings import DirectorSettings
from smartinstall.ios import PRIVILEGED_LEVEL, Engine, Session, StartupConfig
from smartinstall.ios.director_commands import (
    DirectorCommands,
    director_command_set,
    join_location,
    replay_director_config,
)
from smartinstall.ios.engine import CommandError
from tests.unit.views.guide import example

OWNED = {"1.1.1.1", "1.1.1.20", "192.168.1.1", "127.20.0.1"}


def make(store: Path | None = None) -> tuple[Engine, DirectorCommands]:
    engine = Engine(hostname="Director", store=StartupConfig(store) if store is not None else None)
    commands = engine.add(
        director_command_set(
            engine, owns_address=OWNED.__contains__, show_config=render_show_vstack_config
        )
    )
    assert isinstance(commands, DirectorCommands)
    return engine, commands


_PROMPT = re.compile(r"\s*[A-Za-z][\w-]*\s?(?:\((?P<mode>[a-z-]+)\))?(?P<end>[#>])\s?")


def _mode_of(session: Session) -> str:
    mode = session.mode
    return "exec" if mode.name == "exec" else (mode.prompt_name or mode.name)


def replay_example(engine: Engine, text: str) -> list[str]:
    """Run a guide example in one privileged session; every line must be accepted.

    Returns the lines whose prompt (mode part) is not the one our session shows."""
    session = engine.session(PRIVILEGED_LEVEL)
    mismatches = []
    for number, raw in enumerate(text.strip("\n").splitlines()):
        found = _PROMPT.match(raw)
        if number == 0 and found and found.group("mode"):
            session.run("configure terminal")  # an example that starts in configuration
        if found:
            command = raw[found.end() :]
            if (found.group("mode") or "exec") != _mode_of(session):
                mismatches.append(raw)
        else:
            command = raw
            if session.mode.name == "exec":
                session.run("configure terminal")
        outcome = session.execute(command)
        assert outcome.ok, f"{raw!r} was rejected:\n{outcome.output}"
    return mismatches


def body(engine: Engine) -> str:
    """The running configuration as `show running-config` prints it after its header."""
    session = engine.session(PRIVILEGED_LEVEL)
    output = session.run("show running-config")
    header, _, rest = output.partition("!\n")
    assert header.startswith("Building configuration...\n\nCurrent configuration : ")
    assert header.endswith(f" : {len(('!' + chr(10) + rest).encode())} bytes\n")
    return "!\n" + rest


# --- chapter 2: Configuring Cisco Smart Install Devices ----------------------------------------


def test_director_as_the_dhcp_server() -> None:
    # "Configuring the Director as the DHCP Server"
    engine, commands = make()
    assert (
        replay_example(
            engine,
            """
Director# configure terminal
Director(config)# vstack director 1.1.1.20
Director(config)# vstack basic
Director(config)# vstack dhcp-localserver pool1
Director(config-vstack-dhcp)# address-pool 1.1.1.0 255.255.255.0
Director(config-vstack-dhcp)# default-router 1.1.1.30
Director(config-vstack-dhcp)# file-server 1.1.1.40
Director(config-vstack-dhcp)# exit
Director(config)# ip dhcp remember
Director(config)# end
""",
        )
        == []
    )
    s = commands.settings
    pool = s.dhcp_pools["pool1"]
    assert pool.network == ipaddress.IPv4Network("1.1.1.0/24")
    assert (pool.default_router, pool.file_server) == ("1.1.1.30", "1.1.1.40")
    assert s.dhcp_remember and s.basic and s.director_ip == "1.1.1.20"
    assert body(engine) == (
        "!\n"
        "hostname Director\n"
        "!\n"
        "vstack dhcp-localserver pool1\n"
        " address-pool 1.1.1.0 255.255.255.0\n"
        " default-router 1.1.1.30\n"
        " file-server 1.1.1.40\n"
        "!\n"
        "ip dhcp remember\n"
        "!\n"
        "vstack director 1.1.1.20\n"
        "vstack basic\n"
        "!\n"
        "end\n"
    )


def test_director_as_the_tftp_server() -> None:
    # "Configuring the TFTP Server": the guide writes the script's location and file name
    # apart (`flash: post_install.txt`), as the syntax lines of chapter 3 do; one word results
    engine, commands = make()
    assert (
        replay_example(
            engine,
            """
vstack config flash:new_configuration_file
vstack image flash:image_name.tar
vstack script flash: post_install.txt
""",
        )
        == []
    )
    default = commands.settings.groups.default
    assert default.config == "flash:new_configuration_file"
    assert default.image == "flash:image_name.tar"
    assert default.script == "flash:post_install.txt"
    assert body(engine) == (
        "!\nhostname Director\n!\n"
        "vstack image flash:image_name.tar\n"
        "vstack config flash:new_configuration_file\n"
        "vstack script flash:post_install.txt\n"
        "!\nend\n"
    )


def test_single_switch_type_with_the_files_in_flash() -> None:
    # "Configuring a Network That Includes a Single Switch Type", first example
    engine, commands = make()
    assert (
        replay_example(
            engine,
            """
Director# configure terminal
Director(config)# vstack director 1.1.1.20
Director(config)# vstack basic
Director(config)# vstack image flash:c2960-lanbase-tar.122-52SE.tar
Director(config)# vstack config flash:2960lanbase_config.txt
Director(config)# vstack script flash:2960lanbase_post_install.txt
Director(config)# end
""",
        )
        == []
    )
    default = commands.settings.groups.default
    assert (default.image, default.config, default.script) == (
        "flash:c2960-lanbase-tar.122-52SE.tar",
        "flash:2960lanbase_config.txt",
        "flash:2960lanbase_post_install.txt",
    )


def test_single_switch_type_with_a_tftp_server() -> None:
    # "Configuring a Network That Includes a Single Switch Type", second example
    engine, commands = make()
    assert (
        replay_example(
            engine,
            """
Director# configure terminal
Director(config)# vstack director 1.1.1.20
Director(config)# vstack basic
Director(config)# vstack image tftp://101.122.33.10/c2960-lanbase-tar.122-52SE.tar
Director(config)# vstack config tftp://101.122.33.10/2960LANBase_config.txt
Director(config)# vstack script tftp://101.122.33.10/2960LANBase_post_install.txt
Director(config)# end
""",
        )
        == []
    )
    assert body(engine) == (
        "!\nhostname Director\n!\n"
        "vstack director 1.1.1.20\n"
        "vstack basic\n"
        "vstack image tftp://101.122.33.10/c2960-lanbase-tar.122-52SE.tar\n"
        "vstack config tftp://101.122.33.10/2960LANBase_config.txt\n"
        "vstack script tftp://101.122.33.10/2960LANBase_post_install.txt\n"
        "!\nend\n"
    )
    assert commands.settings.groups.default.script == (
        "tftp://101.122.33.10/2960LANBase_post_install.txt"
    )


def test_built_in_groups_for_two_switch_types() -> None:
    # "Using Built-In Groups to Configure a Mixed Network with Two Switch Types"
    engine, commands = make()
    mismatches = replay_example(
        engine,
        """
Director# configure terminal
Director(config)# vstack director 1.1.1.20
Director(config)# vstack basic
Director(config)# vstack group built-in 3560 24
Director(config-vstack-group)# image tftp://101.122.33.10/c3560-ipbaselmk9-tar.122-52.SE.tar
Director(config-vstack-group)# config tftp://101.122.33.10/3560-24-ipbase_config.txt
Director(config-vstack-group)# script tftp://101.122.33.10/3560-24-ipbase_post_install.txt
Director(config)# exit
Director(config)# vstack group built-in 2960 24
Director(config-vstack-group)# image tftp://101.122.33.10/c2960-lanbasek9-tar.122-52.SE.tar
Director(config-vstack-group)# config tftp://101.122.33.10/2960-24-LANbase_config.txt
Director(config-vstack-group)# script tftp://101.122.33.10/3560-24-ipbase_post_install.txt
Director(config)# end
""",
    )
    # the guide shows `(config)#` before `exit` and `end` although the group mode is open
    assert mismatches == ["Director(config)# exit", "Director(config)# end"]
    groups = commands.settings.groups.builtin
    assert list(groups) == [builtin_key("3560", "24"), builtin_key("2960", "24")]
    assert groups[builtin_key("2960", "24")].files.config == (
        "tftp://101.122.33.10/2960-24-LANbase_config.txt"
    )
    assert body(engine) == (
        "!\nhostname Director\n!\n"
        "vstack director 1.1.1.20\n"
        "vstack basic\n"
        "vstack group built-in 2960 24\n"
        " image tftp://101.122.33.10/c2960-lanbasek9-tar.122-52.SE.tar\n"
        " config tftp://101.122.33.10/2960-24-LANbase_config.txt\n"
        " script tftp://101.122.33.10/3560-24-ipbase_post_install.txt\n"
        "!\n"
        "vstack group built-in 3560 24\n"
        " image tftp://101.122.33.10/c3560-ipbaselmk9-tar.122-52.SE.tar\n"
        " config tftp://101.122.33.10/3560-24-ipbase_config.txt\n"
        " script tftp://101.122.33.10/3560-24-ipbase_post_install.txt\n"
        "!\nend\n"
    )


def test_custom_group_based_on_connectivity() -> None:
    # "Configuring Custom Group Based on Connectivity": the interface name has a space
    engine, commands = make()
    assert (
        replay_example(
            engine,
            """
Director# configure terminal
Director(config)# vstack director 1.1.1.20
Director(config)# vstack basic
Director(config)# vstack group custom testgroup2 connectivity
Director(config-vstack-group)# match host 1.1.1.10 interface GigabitEthernet 1/0/3
Director(config-vstack-group)# image tftp://101.122.33.10/c3750-ipbase-tar.122-52.SE.tar
Director(config-vstack-group)# config tftp://101.122.33.10/3750-24-ipbase_config.txt
Director(config-vstack-group)# script tftp://101.122.33.10/3750-24-ipbase_post_install.txt
Director(config-vstack-group)# exit
Director(config)# end
""",
        )
        == []
    )
    group = commands.settings.groups.custom["testgroup2"]
    assert group.kind is GroupKind.CONNECTIVITY
    assert [(h.host, h.interface) for h in group.hosts] == [("1.1.1.10", "GigabitEthernet1/0/3")]
    assert body(engine).endswith(
        "vstack group custom testgroup2 connectivity\n"
        " match host 1.1.1.10 interface GigabitEthernet1/0/3\n"
        " image tftp://101.122.33.10/c3750-ipbase-tar.122-52.SE.tar\n"
        " config tftp://101.122.33.10/3750-24-ipbase_config.txt\n"
        " script tftp://101.122.33.10/3750-24-ipbase_post_install.txt\n"
        "!\nend\n"
    )


def test_custom_group_based_on_mac_address() -> None:
    # "Configuring a Custom Group Based on MAC Address": three spellings of a MAC address
    engine, commands = make()
    assert (
        replay_example(
            engine,
            """
Director# configure terminal
Director(config)# vstack director 1.1.1.20
Director(config)# vstack basic
Director(config)# vstack group custom textgroup3 mac
Director(config-vstack-group)# match mac 0023.34ca.c180
Director(config-vstack-group)# match mac 001a.a1b4.ee00
Director(config-vstack-group)# match mac 00:1B:54:44:C6:00
Director(config-vstack-group)# image tftp://101.122.33.10/c3750-ipbase-tar.122-52.SE.tar
Director(config-vstack-group)# config tftp://101.122.33.10/3750-24-ipbase_config.txt
Director(config-vstack-group)# script tftp://101.122.33.10/3750-24-ipbase_post_install.txt
Director(config-vstack-group)# exit
Director(config)# end
""",
        )
        == []
    )
    group = commands.settings.groups.custom["textgroup3"]
    assert group.macs == ["0023.34ca.c180", "001a.a1b4.ee00", "001b.5444.c600"]
    assert "\n".join(group.render()) == (
        "vstack group custom textgroup3 mac\n"
        " match mac 0023.34ca.c180\n"
        " match mac 001a.a1b4.ee00\n"
        " match mac 001b.5444.c600\n"
        " image tftp://101.122.33.10/c3750-ipbase-tar.122-52.SE.tar\n"
        " config tftp://101.122.33.10/3750-24-ipbase_config.txt\n"
        " script tftp://101.122.33.10/3750-24-ipbase_post_install.txt"
    )


def test_custom_group_based_on_a_stack_number() -> None:
    # "Configuring a Custom Group Based on a Stack Number"
    engine, commands = make()
    assert (
        replay_example(
            engine,
            """
Director# configure terminal
Director(config)# vstack director 1.1.1.20
Director(config)# vstack basic
Director(config)# vstack group custom testgroup stack
Director(config-vstack-group)# image tftp://101.122.33.10/c3750-ipbase-tar.122-52.SE.tar
Director(config-vstack-group)# config tftp://101.122.33.10/3750stack_config.txt
Director(config-vstack-group)# script tftp://101.122.33.10/3750stack_post_install.txt
Director(config-vstack-group)# match 1 3750 24poe
Director(config-vstack-group)# match 2 3750 24poe
Director(config-vstack-group)# match 3 3750 24poe
Director(config-vstack-group)# exit
Director(config)# end
""",
        )
        == []
    )
    group = commands.settings.groups.custom["testgroup"]
    assert [(m.member, m.key) for m in group.stack] == [
        (n, builtin_key("3750", "24poe")) for n in (1, 2, 3)
    ]
    assert body(engine).endswith(
        "vstack group custom testgroup stack\n"
        " match 1 3750 24poe\n match 2 3750 24poe\n match 3 3750 24poe\n"
        " image tftp://101.122.33.10/c3750-ipbase-tar.122-52.SE.tar\n"
        " config tftp://101.122.33.10/3750stack_config.txt\n"
        " script tftp://101.122.33.10/3750stack_post_install.txt\n"
        "!\nend\n"
    )


def test_custom_group_based_on_product_id() -> None:
    # "Custom Group Based on Product ID"
    engine, commands = make()
    assert (
        replay_example(
            engine,
            """
Director# configure terminal
Director(config)# vstack director 1.1.1.20
Director(config)# vstack basic
Director(config)# vstack group custom textgroup4 product-id
Director(config-vstack-group)# match WS-C2960-48TC-L
Director(config-vstack-group)# image tftp://101.122.33.10/c2960-lanbase-tar.122-52.SE.tar
Director(config-vstack-group)# config tftp://101.122.33.10/c2960-lanbase_config.txt
Director(config-vstack-group)# script tftp://101.122.33.10/c2960-lanbase_post_install.txt
Director(config-vstack-group)# exit
Director(config)# end
""",
        )
        == []
    )
    group = commands.settings.groups.custom["textgroup4"]
    assert group.kind is GroupKind.PRODUCT_ID and group.product_ids == ["WS-C2960-48TC-L"]
    assert " match WS-C2960-48TC-L\n" in body(engine)


def test_client_hostname_prefix() -> None:
    # "Configuring a Client Hostname Prefix"
    engine, commands = make()
    assert (
        replay_example(
            engine,
            """
Director(config)# vstack hostname-prefix Cisco
Director(config)# exit
Director#
""",
        )
        == []
    )
    assert commands.settings.hostname_prefix == "Cisco"
    assert "vstack hostname-prefix Cisco\n" in body(engine)


def test_additional_management_vlans_and_the_startup_vlan() -> None:
    # "Configuring Additional Smart Install Management VLANs": the steps of the procedure
    engine, commands = make()
    assert (
        replay_example(
            engine,
            """
Director# configure terminal
Director(config)# vstack director 1.1.1.20
Director(config)# vstack basic
Director(config)# vstack vlan 7
Director(config)# vstack startup-vlan 7
""",
        )
        == []
    )
    s = commands.settings
    assert s.vlans == {7} and s.startup_vlan == 7 and s.management_vlan == 7
    replay_example(engine, "no vstack startup-vlan\nno vstack vlan")
    assert s.startup_vlan is None and s.management_vlan == 1 and s.vlans == set()


def test_catalyst_4500_groups(tmp_path: Path) -> None:
    # "Configuring a Group for Standalone Catalyst 4500 Series Switch": both examples,
    # including `wr`, which saves the startup configuration
    store = tmp_path / "startup-config"
    engine, commands = make(store)
    assert (
        replay_example(
            engine,
            """
Switch# configure terminal
Switch(config)# vstack group built-in 4500 sup6-e 4507r-e
Switch(config-vstack-group)# exit
Switch(config)# vstack group built-in 4500 sup8-e 4506
Switch(config-vstack-group)# image bootflash:k10.tar
Switch(config-vstack-group)# config bootflash:mayagraw-4k-startup-config.txt
Switch(config-vstack-group)# script bootflash:mayagraw-4k-startup-post_install.txt
Switch(config-vstack-group)# exit
Switch(config)# exit
Switch# wr
""",
        )
        == []
    )
    groups = commands.settings.groups.builtin
    files = groups[builtin_key("4500", "sup8-e", "4506")].files
    assert files.image == "bootflash:k10.tar"
    assert files.script == "bootflash:mayagraw-4k-startup-post_install.txt"
    assert builtin_key("4500", "sup6-e", "4507r-e") in groups
    saved = store.read_text()
    assert saved == body(engine)
    assert "vstack group built-in 4500 sup8-e 4506\n image bootflash:k10.tar\n" in saved


def test_post_install_scripts_for_default_built_in_and_custom_groups() -> None:
    # "Support for Post-install Operations": default, built-in and custom group examples
    engine, commands = make()
    assert (
        replay_example(
            engine,
            """
Switch# config terminal
Switch(config)# vstack script flash:post_install.txt
Switch(config)# end
""",
        )
        == []
    )
    assert (
        replay_example(
            engine,
            """
Switch# configure terminal
Switch(config)# vstack group built-in 2960xr 24-2sfp-il
switch(config-vstack-group)# script flash:post_install.txt
switch(config-vstack-group)# end
""",
        )
        == []
    )
    assert (
        replay_example(
            engine,
            """
Switch# config terminal
Switch(config)# vstack group custom 3k-stack stack
Switch(config-vstack-group)# script flash:post_install.txt
Switch(config-vstack-group)# match 1 3750x 24
Switch(config-vstack-group)# end
""",
        )
        == []
    )
    groups = commands.settings.groups
    assert groups.default.script == "flash:post_install.txt"
    assert groups.builtin[builtin_key("2960xr", "24-2sfp-il")].files.script == (
        "flash:post_install.txt"
    )
    stack = groups.custom["3k-stack"]
    assert stack.files.script == "flash:post_install.txt"
    assert [(m.member, m.key.label()) for m in stack.stack] == [(1, "3750x 24")]


@pytest.mark.parametrize("server", ["flash:", "tftp://server-ip-address/"])
def test_configuration_examples_director_as_dhcp_and_tftp_server(server: str) -> None:
    # "Smart Install Configuration Examples": "Director as the TFTP Server" and "Third-Party,
    # Non-Cisco IOS Device as the TFTP Server". `interface vlan 1` / `ip address` configure
    # the host's interface, which the director does not manage; the placeholders
    # network_ip_address and director_ip_address are given the example's 192.168.1.x values.
    engine, commands = make()
    files = (
        f"Director(config)# vstack config {server}default_configuration.txt\n"
        f"Director(config)# vstack image {server}IOS_image_file_name.tar\n"
    )
    assert (
        replay_example(
            engine,
            "Director# configure terminal\n"
            + files
            + """
Director(config)# vstack dhcp-localserver smart_install_pool
Director(config-vstack-dhcp)# address-pool 192.168.1.0 255.255.255.0
Director(config-vstack-dhcp)# file-server 192.168.1.1
Director(config-vstack-dhcp)# default-router 192.168.1.1
Director(config-vstack-dhcp)# exit
Director(config)# ip dhcp remember
Director(config)# vstack director 192.168.1.1
Director(config)# vstack basic
""",
        )
        == []
    )
    s = commands.settings
    assert s.groups.default.config == f"{server}default_configuration.txt"
    assert str(s.dhcp_pools["smart_install_pool"].network) == "192.168.1.0/24"
    assert s.basic and s.director_ip == "192.168.1.1"


# --- chapter 3: Cisco Smart Install CLI Commands -----------------------------------------------


def test_match_command_reference_examples() -> None:
    # "match (Smart Install group configuration)"
    engine, commands = make()
    assert (
        replay_example(
            engine,
            """
Director# configure terminal
Director(config)# vstack group custom test connectivity
Director(config-vstack-group)# match host 2.2.2.2 interface gigabitethernet0/1
Director(config-vstack-group)# image tftp://101.122.33.10/c3560-ipservices-tar.122-52.SE.tar
Director(config-vstack-group)# config tftp://101.122.33.10/3560-24-ipbase-config.txt
Director(config-vstack-group)# script tftp://101.122.33.10/3560-24-post_install.txt
Director(config-vstack-group)# exit
Director(config)# vstack group custom testgroup3 mac
Director(config-vstack-group)# match mac 0023.34ca.c180
Director(config-vstack-group)# match mac 001a.a1b4.ee00
Director(config-vstack-group)# match mac 0019.309d.5c80
Director(config-vstack-group)# image tftp://101.122.33.10/c3750-ipbase-tar.122-52.SE.tar
Director(config-vstack-group)# config tftp://101.122.33.10/3750-24-ipbase_config.txt
Director(config-vstack-group)# script tftp://101.122.33.10/3560-24-post_install.txt
""",
        )
        == []
    )
    custom = commands.settings.groups.custom
    assert [h.interface for h in custom["test"].hosts] == ["GigabitEthernet0/1"]
    assert custom["testgroup3"].macs[-1] == "0019.309d.5c80"


def test_no_vstack_and_vstack() -> None:
    # "vstack": disabling keeps the configuration; director and basic are then refused
    engine, commands = make()
    replay_example(engine, "vstack director 1.1.1.1\nvstack basic")
    assert replay_example(engine, "Director(config)# no vstack") == []
    s = commands.settings
    assert not s.enabled and s.director_ip == "1.1.1.1" and s.basic
    session = engine.session(PRIVILEGED_LEVEL)
    session.run("configure terminal")
    refusal = "Command Rejected: Smart Install is disabled; enter the vstack command to enable it\n"
    assert session.execute("vstack basic") == session.execute("vstack basic")
    assert session.run("vstack director 1.1.1.20") == refusal
    assert session.run("vstack basic") == refusal
    assert body(engine).endswith("vstack basic\nno vstack\n!\nend\n")
    assert session.run("vstack") == ""
    assert s.enabled


def test_vstack_backup_examples() -> None:
    # "vstack backup"
    engine, commands = make()
    replay_example(engine, "no vstack backup")
    assert not commands.settings.backup.enabled
    assert "no vstack backup\n" in body(engine)
    assert replay_example(engine, "Director(config)# vstack backup") == []
    assert commands.settings.backup.enabled
    replay_example(
        engine,
        "vstack backup file-server tftp://10.0.0.9/backups\nvstack backup file-server flash:",
    )
    assert commands.settings.backup.repository == "flash:"
    replay_example(engine, "vstack backup file-server usb:client-backups")
    assert "vstack backup file-server usb:client-backups\n" in body(engine)
    replay_example(engine, "no vstack backup file-server")
    assert commands.settings.backup.repository is None and commands.settings.backup.enabled


def test_vstack_basic_examples_and_both_rejections() -> None:
    # "vstack basic": accepted when the address is the host's; the guide's two messages
    engine, commands = make()
    session = engine.session(PRIVILEGED_LEVEL)
    session.run("configure terminal")
    assert session.run("vstack basic") == "Command Rejected: Director IP is not configured\n"
    assert session.run("vstack director 10.9.9.9") == ""
    assert session.run("vstack basic") == (
        "Command Rejected: The Director IP address does not match a switch IP address.\n"
    )
    assert not commands.settings.basic
    assert session.run("vstack director 1.1.1.1") == ""
    assert session.run("vstack basic") == ""
    assert session.prompt() == "Director(config)#"
    assert commands.settings.basic


def test_vstack_basic_asks_the_host_by_default() -> None:
    # without an injected check, an address is the host's when the host can bind it: all of
    # 127.0.0.0/8 is; 192.0.2.1 (TEST-NET-1) is not (binding sends nothing)
    engine = Engine(hostname="Director")
    commands = engine.add(director_command_set(engine))
    session = engine.session(PRIVILEGED_LEVEL)
    session.run("configure terminal")
    session.run("vstack director 192.0.2.1")
    assert session.run("vstack basic").startswith("Command Rejected: The Director IP")
    session.run("vstack director 127.20.0.1")
    assert session.run("vstack basic") == ""
    assert isinstance(commands, DirectorCommands) and commands.settings.basic


def test_vstack_config_image_script_examples() -> None:
    # "vstack config", "vstack image", "vstack script"
    engine, commands = make()
    assert (
        replay_example(
            engine,
            """
Director# configure terminal
Director(config)# vstack config flash:2960-24-lanbase-config.txt
Director(config)# vstack config tftp://1.1.1.10/2960-24-lanbase-config.txt
Director(config)# vstack image flash:c2960-lanbase-tar.122-53.SE.tar.
Director(config)# vstack script flash:2960-24-lanbase-post_install.txt
Director(config)# vstack script tftp://1.1.1.10/2960-24-lanbase-post_install.txt
""",
        )
        == []
    )
    default = commands.settings.groups.default
    assert default.config == "tftp://1.1.1.10/2960-24-lanbase-config.txt"
    assert default.image == "flash:c2960-lanbase-tar.122-53.SE.tar."
    assert default.script == "tftp://1.1.1.10/2960-24-lanbase-post_install.txt"
    replay_example(engine, "no vstack config\nno vstack image\nno vstack script")
    assert default.empty


def test_vstack_dhcp_localserver_example_with_a_prefix_length() -> None:
    # "vstack dhcp-localserver": `address-pool 1.1.1.1 /22`
    engine, commands = make()
    assert (
        replay_example(
            engine,
            """
Director# configure terminal
Director(config)# vstack dhcp-localserver smart_install1
Director(config-vstack-dhcp)# address-pool 1.1.1.1 /22
Director(config-vstack-dhcp)# default-router 2.2.2.2
Director(config-vstack-dhcp)# file-server 3.3.3.3
Director(config-vstack-dhcp)# exit
""",
        )
        == []
    )
    pool = commands.settings.dhcp_pools["smart_install1"]
    assert pool.network == ipaddress.IPv4Network("1.1.0.0/22")
    assert body(engine) == (
        "!\nhostname Director\n!\n"
        "vstack dhcp-localserver smart_install1\n"
        " address-pool 1.1.0.0 255.255.252.0\n"
        " default-router 2.2.2.2\n"
        " file-server 3.3.3.3\n"
        "!\nend\n"
    )
    replay_example(engine, "no vstack dhcp-localserver smart_install1")
    assert commands.settings.dhcp_pools == {}


def test_vstack_director_example() -> None:
    # "vstack director" (the guide's last prompt lost its `#`)
    engine, commands = make()
    assert (
        replay_example(
            engine,
            """
Director# configure terminal
Director(config)# vstack director 1.1.1.1
Director(config)# vstack basic
""",
        )
        == []
    )
    replay_example(engine, "no vstack director")
    assert commands.settings.director_ip is None and not commands.settings.basic


def test_vstack_group_built_in_and_custom_examples() -> None:
    # "vstack group built-in" (3560 8poe) and "vstack group custom" (interface `finance`)
    engine, commands = make()
    assert (
        replay_example(
            engine,
            """
Director# configure terminal
Director(config)# vstack group built-in 3560 8poe
Director(config-vstack-group)# image tftp://1.1.1.10/c3560-ipbase-mz.122-52.SE.tar
Director(config-vstack-group)# config tftp://1.1.1.10/c3560-24-ipbase-config.txt
Director(config-vstack-group)# script tftp://1.1.1.10/c3560-24-ipbase-post_install.txt
Director(config-vstack-group)# exit
Director(config)# vstack group custom test connectivity
Director(config-vstack-group)# match host 2.2.2.2 interface finance
Director(config-vstack-group)# image tftp://1.1.1.10/c3560-ipbase-mz.122-52.SE.tar
Director(config-vstack-group)# config tftp://1.1.1.10/3560-24-ipbaseconfig.txt
Director(config-vstack-group)# script tftp://1.1.1.10/3560-24-ipbase_post_install.txt
""",
        )
        == []
    )
    groups = commands.settings.groups
    assert groups.builtin[builtin_key("3560", "8poe")].files.image == (
        "tftp://1.1.1.10/c3560-ipbase-mz.122-52.SE.tar"
    )
    assert [h.interface for h in groups.custom["test"].hosts] == ["finance"]
    replay_example(engine, "no vstack group built-in 3560 8poe\nno vstack group custom test")
    assert not groups.builtin and not groups.custom


def test_join_window_examples() -> None:
    # "vstack join-window close", "… mode auto", "… start" (all five examples)
    engine, commands = make()
    session = engine.session(PRIVILEGED_LEVEL)
    session.run("configure terminal")
    window = lambda: commands.settings.join_window  # noqa: E731
    assert session.run("vstack join-window close") == "" and window().closed
    assert session.run("no vstack join-window close") == "" and not window().closed
    assert session.run("no vstack join-window mode") == "" and not window().auto
    assert session.run("vstack join-window mode auto") == "" and window().auto
    cases = {
        "vstack join-window start 10:00 recurring": (dt.time(10), None, None, None, True),
        "vstack join-window start 04 july 2009 09:00": (
            dt.time(9),
            dt.date(2009, 7, 4),
            None,
            None,
            False,
        ),
        "vstack join-window start 04 july 2009 10:00 end 05 july 2009": (
            dt.time(10),
            dt.date(2009, 7, 4),
            None,
            dt.date(2009, 7, 5),
            False,
        ),
        "vstack join-window start 04 july 2009 10:00 04:00": (
            dt.time(10),
            dt.date(2009, 7, 4),
            dt.timedelta(hours=4),
            None,
            False,
        ),
        "vstack join-window start 07 july 2009 10:00 04:00 end 10 july 2009 recur": (
            dt.time(10),
            dt.date(2009, 7, 7),
            dt.timedelta(hours=4),
            dt.date(2009, 7, 10),
            True,
        ),
    }
    for line, expected in cases.items():
        assert session.run(line) == "", line
        schedule = window().schedule
        assert schedule is not None
        assert (
            schedule.start_time,
            schedule.start_date,
            schedule.interval,
            schedule.end_date,
            schedule.recurring,
        ) == expected
    assert "vstack join-window start 07 Jul 2009 10:00 04:00 end 10 Jul 2009 recurring\n" in (
        body(engine)
    )
    assert session.run("vstack join-window start 29 feb 2012 10:00") == ""  # a leap day
    assert session.run("vstack join-window start 6:30 24:00") == ""
    assert "vstack join-window start 06:30 24:00\n" in body(engine)
    assert session.run("no vstack join-window start") == "" and window().schedule is None


def test_startup_vlan_and_vlan_examples() -> None:
    # "vstack startup-vlan", "vstack vlan"
    engine, commands = make()
    assert (
        replay_example(
            engine,
            """
Director# configure terminal
Director(config)# vstack startup-vlan 10
Director(config)# vstack vlan 10
Director(config)# vstack vlan 10-12,100,200
""",
        )
        == []
    )
    s = commands.settings
    assert s.startup_vlan == 10 and s.vlans == {10, 11, 12, 100, 200}
    assert "vstack startup-vlan 10\nvstack vlan 10-12,100,200\n" in body(engine)
    replay_example(engine, "vstack vlan 13, 14\nno vstack vlan 100")
    assert s.vlans == {10, 11, 12, 13, 14, 200}


def test_ip_helper_spelled_as_in_the_guide_and_the_security_lines() -> None:
    engine, commands = make()
    assert (
        replay_example(
            engine,
            """
ip helper 10.0.0.5
ip helper-address 10.0.0.6
logging host 10.0.0.7 transport tcp port 6514 rfc3164
logging host 10.0.0.8
vstack tailored-config enable-password s3cret
vstack authentication key 0123456789abcdef
vstack allowed-clients 10.1.0.0/16 10.2.3.4/24
""",
        )
        == []
    )
    s = commands.settings
    assert s.helper_addresses == ["10.0.0.5", "10.0.0.6"]
    assert [t.render() for t in s.logging_hosts] == [
        "logging host 10.0.0.7 transport tcp port 6514 rfc3164",
        "logging host 10.0.0.8",
    ]
    assert s.allowed_clients == ["10.1.0.0/16", "10.2.3.0/24"]
    text = body(engine)
    assert "vstack authentication key 0123456789abcdef\n" in text
    assert "vstack allowed-clients 10.1.0.0/16 10.2.3.0/24\n" in text
    session = engine.session(PRIVILEGED_LEVEL)
    session.run("configure terminal")
    assert session.run("vstack authentication key short") == (
        "% The authentication key needs 16 characters or more\n"
    )
    assert session.run("vstack allowed-clients 10.1.0.0/16 10.300.0.0/8") == (
        "% Invalid prefix: 10.300.0.0/8\n"
    )
    for line in (
        "no ip helper-address 10.0.0.5",
        "no logging host 10.0.0.8",
        "no vstack tailored-config",
        "no vstack authentication",
        "no vstack allowed-clients",
    ):
        assert session.run(line) == "", line
    assert s.helper_addresses == ["10.0.0.6"] and len(s.logging_hosts) == 1
    assert s.tailored_password is None and s.smi_key is None and s.allowed_clients == []


# --- mixed stacks ----------------------------------------------------------------------------


def test_mixed_stack_group_takes_an_image_per_second_family() -> None:
    engine, commands = make()
    session = engine.session(PRIVILEGED_LEVEL)
    session.run("configure terminal")
    for line in (
        "vstack group custom mixed stack",
        "match 1 3750x 24",
        "match 2 3750 24poe",
        "image flash:c3750e-universalk9-tar.152-2.E.tar",
        "image flash:c3750-ipbasek9-tar.122-55.SE12.tar family 3750",
    ):
        assert session.run(line) == "", line
    files = commands.settings.groups.custom["mixed"].files
    assert files.image == "flash:c3750e-universalk9-tar.152-2.E.tar"
    assert files.family_images == {"3750": "flash:c3750-ipbasek9-tar.122-55.SE12.tar"}
    assert " image flash:c3750-ipbasek9-tar.122-55.SE12.tar family 3750\n" in body(engine)
    # only stack groups take a family image
    assert session.run("exit") == ""
    session.run("vstack group built-in 3750 24poe")
    assert "% Invalid input" in session.run("image flash:x.tar family 3750")
    session.run("vstack group custom mixed")
    assert session.run("no image family 3750") == ""
    assert files.family_images == {} and files.image is not None


# --- the running configuration ---------------------------------------------------------------

EVERYTHING = """\
hostname Branch7
vstack dhcp-localserver pool1
 address-pool 10.7.0.0 /16
 default-router 10.7.0.1
 file-server 10.7.0.2
vstack dhcp-localserver pool2
 address-pool 10.8.0.0 255.255.255.0
ip dhcp remember
ip helper 10.0.0.5
logging host 10.0.0.7 transport udp port 5514
vstack director 1.1.1.20
vstack basic
vstack startup-vlan 7
vstack vlan 7-9, 20
vstack image flash:default.tar
vstack config flash: default.txt
vstack script tftp://10.0.0.2 post.txt
vstack hostname-prefix STORE
vstack backup file-server tftp://10.0.0.9/backups
vstack join-window start 04 jul 2026 6:30 12:00 end 31 dec 2026 recurring
vstack join-window close
no vstack join-window mode auto
vstack tailored-config enable-password s3cret
vstack authentication key 0123456789abcdef0123
vstack allowed-clients 10.7.0.0/16
vstack group built-in 4500 sup7-e all
 image bootflash:cat4500e.tar
vstack group built-in 3750x 24
 config flash:3750x.txt
vstack group custom m mac
 match 0023.34ca.c180
 script flash:m.txt
vstack group custom c connectivity
 match host 10.7.0.3 interface Gi1/0/48
 config flash:c.txt
vstack group custom p product-id
 match ws-c2960x-48fps-l
 image flash:p.tar
vstack group custom s stack
 match 2 3750 24poe
 match 1 3750x 24
 image flash:s.tar
 image flash:s3750.tar family 3750
no vstack
"""


def test_everything_round_trips_and_matches_the_settings_model() -> None:
    engine, commands = make()
    report = engine.replay(EVERYTHING)
    assert report.errors == []
    first = body(engine)
    # the running configuration is exactly DirectorSettings.render(), framed by the engine
    assert (
        first
        == "!\n"
        + "".join(f"{line}\n" for line in commands.settings.render())
        + ("" if commands.settings.render()[-1] == "!" else "!\n")
        + "end\n"
    )
    assert "vstack config flash:default.txt\n" in first
    assert "vstack script tftp://10.0.0.2/post.txt\n" in first
    assert "vstack join-window start 04 Jul 2026 06:30 12:00 end 31 Dec 2026 recurring\n" in (first)
    again, _ = make()
    assert again.replay(first).errors == []
    assert body(again) == first
    replayed = replay_director_config(first, OWNED.__contains__)
    assert replayed.errors == []
    assert replayed.settings.render() == commands.settings.render()
    assert replayed.settings.hostname == "Branch7"


def test_render_of_every_default_is_only_the_hostname() -> None:
    engine, commands = make()
    assert body(engine) == "!\nhostname Director\n!\nend\n"
    assert commands.render_config() == []
    assert DirectorSettings().render() == ["hostname Director", "!"]


def test_the_hostname_lives_in_the_settings() -> None:
    engine, commands = make()
    session = engine.session(PRIVILEGED_LEVEL)
    session.run("configure terminal")
    session.run("hostname IBD")
    assert commands.settings.hostname == "IBD" and session.prompt() == "IBD(config)#"
    session.run("no hostname")
    assert commands.settings.hostname == "Director"


def test_show_vstack_config_shows_the_role() -> None:
    engine, _ = make()
    session = engine.session(PRIVILEGED_LEVEL)
    assert session.run("show vstack config") == (
        "Role: Client (SmartInstall enabled)\nVstack Director IP address: 0.0.0.0\n"
    )
    replay_example(engine, "vstack director 1.1.1.20\nvstack basic\nvstack vlan 10-12")
    out = engine.session(PRIVILEGED_LEVEL).run("show vstack config | include Role|Vlans")
    assert out == "Role: Director\nVstack management Vlans: 10-12\n"
    user = engine.session()
    # privileged only: user EXEC has no `show vstack`
    assert user.run("show vstack config") == (
        "              ^\n% Invalid input detected at '^' marker.\n\n"
    )


# --- `?` help against the guide ----------------------------------------------------------------


def squeeze(lines: list[str]) -> list[str]:
    return [" ".join(line.split()) for line in lines if line.strip()]


def config_session() -> Session:
    engine, _ = make()
    session = engine.session(PRIVILEGED_LEVEL)
    session.run("configure terminal")
    return session


def test_help_of_vstack_group_built_in_lists_every_family() -> None:
    # 'Switch(config)# vstack group built-in ?' (release XE 3.6.0E, with the 4500 lines)
    session = config_session()
    ours = session.help("vstack group built-in ")
    guide = example("Switch(config)# vstack group built-in ?", 39, occurrence=1)[1:]
    assert squeeze(ours.splitlines()) == squeeze(guide)
    assert ours.startswith("  1783       1783 product family\n")
    assert ours.endswith("  sm-es3g    sm-es3g product family\n\n")


def test_help_of_the_4500_supervisors_and_chassis() -> None:
    session = config_session()
    guide = example("Switch(config)# vstack group built-in 4500 ?", 6)[1:]
    assert squeeze(session.help("vstack group built-in 4500 ").splitlines()) == squeeze(guide)
    guide = example("Switch(config)# vstack group built-in 4500 sup8-e ?", 6)[1:]
    ours = session.help("vstack group built-in 4500 sup8-e ")
    assert squeeze(ours.splitlines()) == squeeze(guide)
    # our layout, character for character: the guide's list is one column wider than the
    # rule that its other examples follow (docs/cli.md)
    assert ours == (
        "  4503     4503 chassis type\n"
        "  4506     4506 chassis type\n"
        "  4507r+e  4507r+e chassis type\n"
        "  4510r+e  4510r+e chassis type\n"
        "  all      Configure all Chassis for this Sup\n"
        "\n"
    )
    assert session.help("vstack group built-in 4500 sup8-e 4506 ") == "  <cr>\n\n"
    assert example("Switch(config)# vstack group built-in 4500 sup8-e 4506 ?", 2)[1] == "<cr>"


def test_help_in_a_built_in_group() -> None:
    # 'Switch(config-vstack-group)#?' after 'vstack group built-in 2960xr 24-2sfp-il'
    session = config_session()
    session.run("vstack group built-in 2960xr 24-2sfp-il")
    ours = session.help("")
    guide = example("Switch(config-vstack-group)#?", 7)[1:]
    assert squeeze(ours.splitlines()) == squeeze(guide)
    assert ours == (
        "Vstack group configuration commands\n"
        "  config  The config file for the group\n"
        "  exit    Exit from group-vstack config mode\n"
        "  image   The image file for the group\n"
        "  no      Negate a command or set its defaults\n"
        "  script  The script file for the group\n"
        "\n"
    )


def test_help_in_custom_groups_offers_the_match_of_their_type() -> None:
    session = config_session()
    session.run("vstack group custom g mac")
    assert "  match   Identify the clients of the group\n" in session.help("")
    assert session.help("match ") == "  mac  MAC address of a client\n\n"
    session.run("vstack group custom h connectivity")
    assert session.help("match ") == "  host  Upstream neighbour of the clients\n\n"
    session.run("vstack group custom s stack")
    assert session.help("match ") == "  <1-9>  Switch number in the stack\n\n"
    assert session.help("match 1 3750 ") == (
        "  24     3750 24 port non POE\n"
        "  24poe  3750 24 port POE\n"
        "  48     3750 48 port non POE\n"
        "  48poe  3750 48 port POE\n"
        "\n"
    )


def test_help_of_backup_file_server_and_startup_vlan() -> None:
    session = config_session()
    guide = example("Director(config)# vstack backup file-server ?", 8)[1:]
    ours = session.help("vstack backup file-server ")
    assert squeeze(ours.splitlines()) == squeeze(guide)
    assert ours.startswith("  flash:  Repository using flash:\n  ftp:    Repository using ftp:\n")
    # the guide shows this one at a `Director#` prompt; it is a configuration command
    guide = example("Director# vstack startup-vlan ?", 2)[1:]
    ours = session.help("vstack startup-vlan ")
    assert squeeze(ours.splitlines()) == squeeze(guide)
    assert ours == "  <1-4094>  Startup Management Vlan\n\n"


def test_help_of_vstack_lists_the_guide_texts() -> None:
    # the SMI proxy chapter's `vst ?` gives three of the texts
    session = config_session()
    ours = session.help("vst ")
    for line in example("IBD(config)# vst ?", 5)[1:]:
        words = squeeze([line])[0]
        if not words.startswith("proxy"):
            assert words in squeeze(ours.splitlines())
    assert ours.endswith("  <cr>\n\n")
    assert session.help("vstack gr") == "group\n\n"
    assert session.help("vstack group built-in 2960x") == "2960x  2960xr\n\n"
    assert session.help("vstack group built-in 27") == "% Unrecognized command\n"


# --- bad input: an IOS message naming the token ------------------------------------------------


def caret(session: Session, line: str) -> int:
    """The column (0-based, in `line`) of the caret of an invalid-input answer."""
    out = session.run(line)
    lines = out.splitlines()
    assert lines[1] == "% Invalid input detected at '^' marker.", out
    return lines[0].index("^") - len(session.prompt())


@pytest.mark.parametrize(
    ("line", "token"),
    [
        ("vstack group built-in 3751 24", "3751"),
        ("vstack group built-in 3750 24pox", "24pox"),
        ("vstack group built-in 4500 sup9-e all", "sup9-e"),
        ("vstack group built-in 4500 sup61-e 4510r+e", "4510r+e"),
        ("vstack join-window start 24:00", "24:00"),
        ("vstack join-window start 10:00 24:01", "24:01"),
        ("vstack join-window start 04 Jly 2010 10:00", "Jly"),
        ("vstack startup-vlan 4095", "4095"),
        ("vstack director 1.1.1.300", "1.1.1.300"),
        ("vstack group custom bad/name mac", "bad/name"),
        ("vstack image c2960.tar", "c2960.tar"),
    ],
)
def test_bad_input_gets_a_caret_under_the_token(line: str, token: str) -> None:
    session = config_session()
    column = caret(session, line)
    start = line.index(token)
    assert start <= column <= start + len(token), (line, column)


@pytest.mark.parametrize(
    ("line", "token"),
    [
        ("match mac 0023.34ca.c18g", "0023.34ca.c18g"),
        ("match mac 0023.34ca", "0023.34ca"),
        ("match 0023-34ca-c180-11", "0023-34ca-c180-11"),
    ],
)
def test_wrong_macs_get_a_caret_under_the_token(line: str, token: str) -> None:
    session = config_session()
    session.run("vstack group custom g mac")
    column = caret(session, line)
    start = line.index(token)
    assert start <= column <= start + len(token), (line, column)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("vstack vlan 5-3", "% Invalid VLAN range: 5-3 (the end is below the start)"),
        ("vstack join-window start 31 Feb 2010 10:00", "% Invalid date: 31 Feb 2010"),
        (
            "vstack join-window start 01 jan 2010 10:00 end 30 february 2011",
            "% Invalid date: 30 Feb 2011",
        ),
        ("vstack vlan 10,5000", "% Invalid VLAN: 5000 (range 1 to 4094)"),
        ("vstack image ftp:c2960.tar", "% ftp: is not supported for the image"),
        ("vstack config http://10.0.0.1/x.txt", "% http: is not supported for the config"),
        ("vstack script nvram:x", "% nvram: is not supported for the script"),
        ("vstack image tftp:///x.tar", "% Invalid TFTP server in image location: tftp:///x.tar"),
        ("vstack image flash:../x.tar", "% Invalid image location: flash:../x.tar"),
        ("vstack backup file-server scp:", "% Invalid repository: scp:"),
        ("vstack backup file-server ftp://10.0.0.1/b", "% Invalid repository: ftp://10.0.0.1/b"),
        ("vstack image flash:x.tar y.tar", "% flash:x.tar is a file already"),
        ("vstack hostname-prefix 9lives", "% Invalid hostname: 9lives"),
        (
            "vstack join-window start 10 jul 2010 10:00 end 09 jul 2010",
            "% Invalid end date: 09 Jul 2010 is before the start date",
        ),
        ("vstack group custom nosuch", "% Group nosuch does not exist; give its type"),
        ("no vstack dhcp-localserver nosuch", "% DHCP pool nosuch does not exist"),
    ],
)
def test_refused_values_get_a_message_naming_them(line: str, message: str) -> None:
    session = config_session()
    out = session.run(line)
    assert out.startswith(message), out
    assert out.count("\n") == 1


def test_a_group_line_in_the_wrong_group_type_is_invalid_there() -> None:
    session = config_session()
    assert session.run("vstack group custom g1 stack") == ""
    assert session.run("vstack group custom g1 mac") == (
        "% Group g1 is a stack group; remove it first\n"
    )
    assert session.run("no vstack group custom g1 mac") == "% Group g1 is a stack group\n"
    session.run("vstack group built-in 3750 24poe")
    assert session.run("match mac 0023.34ca.c180").splitlines()[1].startswith("% Invalid")
    session.run("vstack group custom p product-id")
    assert session.run("match ws-c3750x-24t-s") == ""
    assert session.run("match bad pid").splitlines()[1].startswith("% Invalid")


def test_a_location_and_file_name_apart_join_into_one() -> None:
    assert join_location("flash:", "x.tar") == "flash:x.tar"
    assert join_location("flash:/images/", "x.tar") == "flash:/images/x.tar"
    assert join_location("tftp://10.0.0.1", "x.tar") == "tftp://10.0.0.1/x.tar"
    assert join_location("flash:x.tar", None) == "flash:x.tar"
    with pytest.raises(CommandError):
        join_location("flash:a.tar", "b.tar")


def test_a_global_line_mistyped_in_a_group_gets_its_caret_where_it_fails() -> None:
    session = config_session()
    session.run("vstack group built-in 3750 24poe")
    assert caret(session, "vstack startup-vlan 5000") == 23
    assert session.prompt() == "Director(config-vstack-group)#"
    assert caret(session, "imagex flash:x.tar") == 5


def test_help_of_a_location_lists_the_file_systems() -> None:
    # "Although visible in the command-line help, these options are not supported: ftp:, …"
    session = config_session()
    listed = session.help("vstack image ")
    assert "  flash:      Image file on flash:\n" in listed
    assert "  tftp:       Image file on a TFTP server (tftp://server/file)\n" in listed
    for refused in (
        "ftp:",
        "http:",
        "https:",
        "null:",
        "nvram:",
        "rcp:",
        "scp:",
        "system:",
        "tmpsys:",
    ):
        assert f"  {refused.ljust(10)}  Not supported\n" in listed
    session.run("vstack group built-in 3560 24")
    assert "  usb:        Configuration file on usb:\n" in session.help("config ")
    assert session.run("config usb: 3560.txt") == ""
    assert session.run("script flash:") == "% No file name in script location: flash:\n"
    assert session.run("image ftp: c3560.tar").startswith("% ftp: is not supported")


def test_show_vstack_config_says_whether_the_window_is_open_given_a_clock() -> None:
    moments = [dt.datetime(2026, 11, 27, 10, 0, tzinfo=dt.UTC)]
    engine = Engine(hostname="Director")
    engine.add(
        DirectorCommands(
            owns_address=OWNED.__contains__,
            now=lambda: moments[0],
            show_config=render_show_vstack_config,
        )
    )
    replay_example(
        engine,
        "vstack director 1.1.1.20\nvstack basic\nvstack join-window start 05:00 16:00 recurring",
    )
    session = engine.session(PRIVILEGED_LEVEL)
    assert session.run("show vstack config | include  Window:") == (
        "    Window: Open (scheduled)\n"
    )
    moments[0] = moments[0].replace(hour=23)
    assert session.run("show vstack config | include  Window:") == (
        "    Window: Closed (scheduled)\n"
    )
