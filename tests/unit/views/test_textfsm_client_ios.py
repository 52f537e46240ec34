"""The TextFSM templates of ``show vstack client … {version | running-config | tech-support}``,
``show vstack proxy-db [detail]`` and of the IOS commands the director answers for automation
that ntc-templates has no template for (``show ipv6 interface``, ``show lldp``, ``show cdp``,
``verify /md5``, ``show archive config differences | incremental-diffs | rollback timer``),
read through the shipped index as Netmiko reads it: the guide's examples (command reference,
``show vstack``: "This is example output from the show vstack client running-config command",
"This example shows the output of the show vstack proxy-db command") and the director's own
renderings parse into the rows they were made from, and the chained index sends each command to
the intended template, ours before ntc-templates'."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("textfsm")
import textfsm
from textfsm import clitable

from smartinstall.director.exec.host_probe import HostInterface
from smartinstall.director.exec.host_protocols import (
    SCOPE_LINK,
    Ipv6Address,
    render_cdp_global,
    render_ipv6_interface,
)
from smartinstall.director.structured import structure
from smartinstall.director.views.proxy import (
    ProxyClient,
    show_vstack_proxy_db,
    show_vstack_proxy_db_detail,
)
from smartinstall.domain.proxy import ClientUdi, EntryState, ProxyEntry
from smartinstall.ios.config_replace import contextual_diff, incremental_diff
from smartinstall.textfsm_dir import TEMPLATES, ntc_templates_dir, write_chained_dir
from tests.unit.views.guide import example

GUIDE_UDI = "PID:WS-C3750E-48TD,VID:V01,SN:FDO1152V10R"


def parse(command: str, output: str, directory: Path = TEMPLATES) -> list[dict[str, Any]]:
    table = clitable.CliTable("index", str(directory))
    table.ParseCmd(output, {"Command": command, "Platform": "cisco_ios"})
    keys = [heading.lower() for heading in table.header]
    return [dict(zip(keys, row, strict=True)) for row in table]


def template_of(command: str, directory: Path = TEMPLATES) -> str:
    table = clitable.CliTable("index", str(directory))
    row = table.index.GetRowMatch({"Command": command, "Platform": "cisco_ios"})
    assert row, command
    return Path(str(table.index.index[row]["Template"])).name


# --- show vstack client … ------------------------------------------------------------------


def test_guide_show_vstack_client_running_config() -> None:
    """Command reference, show vstack: the example of ``show vstack client 1 password
    running-config`` (its ``----- [show running-config] for <host> @ <ip> -----`` line)."""
    lines = example("Director# show vstack client 1 password running-config", 24)
    assert lines[-1] == "<output truncated>"
    [row] = parse("show vstack client 1 password running-config", "\n".join(lines[1:]) + "\n")
    assert (row["client_hostname"], row["client_ip"], row["hostname"], row["version"]) == (
        "2960pd-47",
        "1.1.1.1",
        "2960pd-47",
        "12.2",
    )
    assert row["config"][:3] == ["!", "version 12.2", "no service pad"]
    assert "enable password test" in row["config"]
    assert row["config"][-1] == "<output truncated>"
    assert row["error"] == "" and row["client"] == ""


CLIENT_OUTPUT = """Client 1 (10.0.0.5, 0050.5601.0020):
Cisco IOS Software, FACTORY-UNIVERSALK9-M, Version 12.2(55)SE, RELEASE SOFTWARE
Switch uptime is 0 reloads
System image file is "flash:factory-universalk9-mz.122-55.SE.bin"

Base ethernet MAC Address       : 0050.5601.0020
Model number                    : WS-C2960X-48FPS-L
System serial number            : FOC56010020

Client 2 (no IP, 0050.5601.0021):
% IP address unknown

Client 3 (10.0.0.7, 0050.5601.0022):
% cannot connect to 10.0.0.7 port 23: [Errno 111] Connection refused
"""

#: an IOS stack's show version as a client prints it
STACK_VERSION = """----- [show version] for 3750-stack @ 1.1.1.3 -----
Cisco IOS Software, C3750E Software (C3750E-UNIVERSALK9-M), Version 15.2(4)E10, RELEASE SOFTWARE (fc2)
Technical Support: http://www.cisco.com/techsupport
Copyright (c) 1986-2020 by Cisco Systems, Inc.

ROM: Bootstrap program is C3750E boot loader
3750-stack uptime is 1 year, 2 weeks, 3 days, 4 hours, 5 minutes
System returned to ROM by power-on
System image file is "flash:/c3750e-universalk9-mz.152-4.E10.bin"

cisco WS-C3750X-24 (PowerPC405) processor (revision A0) with 262144K bytes of memory.
Processor board ID FDO1234X0AB
Base ethernet MAC Address       : 00:1D:71:BA:F7:80
Model number                    : WS-C3750X-24
System serial number            : FDO1234X0AB

Switch Ports Model              SW Version            SW Image
------ ----- -----              ----------            ----------
*    1 30    WS-C3750X-24       15.2(4)E10            C3750E-UNIVERSALK9-M
     2 30    WS-C3750X-24P      15.2(4)E10            C3750E-UNIVERSALK9-M

Switch 02
---------
Base ethernet MAC Address       : 00:1D:71:BA:F7:81
Model number                    : WS-C3750X-24P
System serial number            : FDO1234X0AC

Configuration register is 0xF
"""


def test_show_vstack_client_version_one_row_per_client() -> None:
    """Guide, "Connecting to a Client Switch": the director runs the command on each client
    under a line naming it; a client it cannot reach has its error."""
    rows = parse("show vstack client all NONE version", CLIENT_OUTPUT)
    assert [(r["client"], r["client_ip"], r["client_mac"], r["error"]) for r in rows] == [
        ("1", "10.0.0.5", "0050.5601.0020", ""),
        ("2", "no IP", "0050.5601.0021", "IP address unknown"),
        ("3", "10.0.0.7", "0050.5601.0022",
         "cannot connect to 10.0.0.7 port 23: [Errno 111] Connection refused"),
    ]  # fmt: skip
    first = rows[0]
    assert (first["software_image"], first["version"], first["hostname"]) == (
        "FACTORY-UNIVERSALK9-M",
        "12.2(55)SE",
        "Switch",
    )
    assert first["running_image"] == "factory-universalk9-mz.122-55.SE.bin"
    assert (first["hardware"], first["serial"], first["mac_address"]) == (
        ["WS-C2960X-48FPS-L"],
        ["FOC56010020"],
        ["0050.5601.0020"],
    )
    assert rows[1]["version"] == "" and rows[1]["hardware"] == []


def test_show_vstack_client_version_of_an_ios_stack() -> None:
    """The fields ntc-templates' cisco_ios_show_version gives, one entry per stack member."""
    [row] = parse("show vstack client 3 pw version", STACK_VERSION)
    assert (row["client_hostname"], row["client_ip"]) == ("3750-stack", "1.1.1.3")
    assert (row["software_image"], row["version"], row["release"]) == (
        "C3750E-UNIVERSALK9-M",
        "15.2(4)E10",
        "fc2",
    )
    assert row["uptime"] == "1 year, 2 weeks, 3 days, 4 hours, 5 minutes"
    assert row["hardware"] == ["WS-C3750X-24", "WS-C3750X-24P"]
    assert row["serial"] == ["FDO1234X0AB", "FDO1234X0AC"]
    assert row["mac_address"] == ["00:1D:71:BA:F7:80", "00:1D:71:BA:F7:81"]
    assert row["config_register"] == "0xF"


def test_json_of_the_client_forms_keeps_lists_as_arrays() -> None:
    """``show vstack client … | json`` shapes with the same template: a list is an array."""
    [row] = json.loads(structure("show vstack client all NONE version", CLIENT_OUTPUT) or "")[:1]
    assert row["hardware"] == ["WS-C2960X-48FPS-L"]
    assert row["client_ip"] == "10.0.0.5"


def test_show_vstack_client_running_config_and_tech_support() -> None:
    text = (
        "Client 1 (10.0.0.5, 0050.5601.0020):\nBuilding configuration...\n\n"
        "Current configuration : 24 bytes\n!\nhostname Switch\n!\nend\n\n"
        "Client 2 (no IP, 0050.5601.0021):\n% IP address unknown\n"
    )
    rows = parse("show vstack client all NONE running-config", text)
    assert [(r["client"], r["hostname"], r["config"], r["error"]) for r in rows] == [
        ("1", "Switch", ["!", "hostname Switch", "!", "end"], ""),
        ("2", "", [], "IP address unknown"),
    ]
    tech = (
        "Client 4 (10.0.0.4, 0050.5601.0024):\n\n"
        "------------------ show version ------------------\n\n"
        "Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version 15.2(7)E9, "
        "RELEASE SOFTWARE (fc1)\nsw4 uptime is 2 days, 3 minutes\n\n"
        "------------------ show running-config ------------------\n\n"
        "Building configuration...\n"
    )
    [row] = parse("show vstack client 4 NONE tech-support", tech)
    assert (row["client"], row["version"], row["hostname"], row["uptime"]) == (
        "4",
        "15.2(7)E9",
        "sw4",
        "2 days, 3 minutes",
    )
    assert row["commands"] == ["show version", "show running-config"]


# --- show vstack proxy-db [detail] -----------------------------------------------------------


def test_guide_show_vstack_proxy_db() -> None:
    """Command reference, show vstack: "This example shows the output of the show vstack
    proxy-db command" (the extraction puts a sentence inside the example: left out)."""
    lines = [
        line
        for line in example("IBD# show vstack proxy-db", 12)[1:]
        if not line.startswith("After proxy mode")
    ]
    assert parse("show vstack proxy-db", "\n".join(lines) + "\n") == [
        {"mac_addr": "001e.f76d.af80", "udi": GUIDE_UDI, "state": "NO STATE"}
    ]


def test_guide_show_vstack_proxy_db_detail() -> None:
    text = "\n".join(example("IBD# show vstack proxy-db detail", 9)[1:]) + "\n"
    assert parse("show vstack proxy-db detail", text) == [
        {"device_id": "Switch", "mac_address": "001e.f76d.af80", "ip_addr": "5.1.1.4",
         "udi": GUIDE_UDI, "state": "HELLO", "status": "A"}
    ]  # fmt: skip


def test_rendered_proxy_db_parses_back() -> None:
    known = ProxyEntry("0050.5603.0001", ClientUdi("WS-C2960X-48FPS-L", "V02", "FOC1"))
    stale = ProxyEntry(
        "0050.5603.0002", ClientUdi("WS-C3750E-48TD", "", "FDO2"), EntryState.TERMINATED
    )
    clients = [ProxyClient(known, "10.0.0.9", "ACCESS-01", "A"), ProxyClient(stale)]
    assert parse("show vstack proxy-db", show_vstack_proxy_db(clients, enabled=True)) == [
        {"mac_addr": "0050.5603.0001", "udi": str(known.udi), "state": "NO STATE"},
        {"mac_addr": "0050.5603.0002", "udi": str(stale.udi), "state": "TERMINATED"},
    ]
    detail = show_vstack_proxy_db_detail(clients, enabled=True)
    assert [
        (r["device_id"], r["mac_address"], r["ip_addr"], r["udi"], r["state"], r["status"])
        for r in parse("show vstack proxy-db detail", detail)
    ] == [
        ("ACCESS-01", "0050.5603.0001", "10.0.0.9", str(known.udi), "NO STATE", "A"),
        # a stale entry: the director database does not know the client
        ("**", "0050.5603.0002", "**", str(stale.udi), "TERMINATED", "**"),
    ]
    assert parse("show vstack proxy-db", show_vstack_proxy_db([], enabled=False)) == []


# --- IOS commands ----------------------------------------------------------------------------


def test_show_ipv6_interface_of_the_director() -> None:
    interfaces = [
        HostInterface("lo", loopback=True, mtu=65536, admin_up=True, oper_up=True),
        HostInterface("eth0", mtu=1400, admin_up=True, oper_up=True),
        HostInterface("eth1", mtu=1500, admin_up=False),
    ]
    addresses = [
        Ipv6Address("eth0", ipaddress.IPv6Interface("fe80::fc:ff:fe00:1/64"), SCOPE_LINK),
        Ipv6Address("eth0", ipaddress.IPv6Interface("fd00::2/64"), 0),
        Ipv6Address("eth0", ipaddress.IPv6Interface("2001:db8::2/48"), 0),
        Ipv6Address("eth1", ipaddress.IPv6Interface("fe80::1/64"), SCOPE_LINK),
    ]
    output = render_ipv6_interface(interfaces, addresses)
    assert parse("show ipv6 interface", output) == [
        {"interface": "eth0", "link_status": "up", "protocol_status": "up",
         "ipv6_status": "enabled", "link_local": "FE80::FC:FF:FE00:1",
         "ipv6_address": ["FD00::2", "2001:DB8::2"],
         "ipv6_subnet": ["FD00::/64", "2001:DB8::/48"], "mtu": "1400"},
        {"interface": "eth1", "link_status": "administratively down",
         "protocol_status": "down", "ipv6_status": "enabled", "link_local": "FE80::1",
         "ipv6_address": [], "ipv6_subnet": [], "mtu": "1500"},
    ]  # fmt: skip


def test_show_ipv6_interface_of_an_ios_switch() -> None:
    """The lines IOS adds (groups joined, ICMP, ND) are not kept; the addresses are."""
    text = (
        "Vlan10 is up, line protocol is up\n"
        "  IPv6 is enabled, link-local address is FE80::C801:FF:FE24:8 \n"
        "  No Virtual link-local address(es):\n"
        "  Global unicast address(es):\n"
        "    2001:DB8:0:1::1, subnet is 2001:DB8:0:1::/64 \n"
        "    2001:DB8:0:2::1, subnet is 2001:DB8:0:2::/64 [EUI]\n"
        "  Joined group address(es):\n    FF02::1\n    FF02::2\n"
        "  MTU is 1500 bytes\n"
        "  ICMP error messages limited to one every 100 milliseconds\n"
        "  ND DAD is enabled, number of DAD attempts: 1\n"
        "Vlan20 is administratively down, line protocol is down\n"
        "  IPv6 is tentative, link-local address is FE80::1 [TEN]\n"
        "  No global unicast address is configured\n"
        "  MTU is 1500 bytes\n"
    )
    rows = parse("show ipv6 interface", text)
    assert [(r["interface"], r["ipv6_status"], r["ipv6_address"], r["mtu"]) for r in rows] == [
        ("Vlan10", "enabled", ["2001:DB8:0:1::1", "2001:DB8:0:2::1"], "1500"),
        ("Vlan20", "tentative", [], "1500"),
    ]


def test_show_lldp_and_show_cdp() -> None:
    assert parse("show lldp", "% LLDP is not enabled\n") == [
        {"status": "not enabled", "advertisement_interval": "", "holdtime": "",
         "reinitialisation_delay": ""}
    ]  # fmt: skip
    ios_lldp = (
        "\nGlobal LLDP Information:\n    Status: ACTIVE\n"
        "    LLDP advertisements are sent every 30 seconds\n"
        "    LLDP hold time advertised is 120 seconds\n"
        "    LLDP interface reinitialisation delay is 2 seconds\n"
    )
    assert parse("show lldp", ios_lldp) == [
        {"status": "ACTIVE", "advertisement_interval": "30", "holdtime": "120",
         "reinitialisation_delay": "2"}
    ]  # fmt: skip
    assert parse("show cdp", render_cdp_global()) == [
        {"status": "", "sending": "no", "send_interval": "", "holdtime": "180",
         "cdpv2_advertisements": ""}
    ]  # fmt: skip
    ios_cdp = (
        "Global CDP information:\n\tSending CDP packets every 60 seconds\n"
        "\tSending a holdtime value of 180 seconds\n"
        "\tSending CDPv2 advertisements is  enabled\n"
    )
    assert parse("show cdp", ios_cdp) == [
        {"status": "", "sending": "", "send_interval": "60", "holdtime": "180",
         "cdpv2_advertisements": "enabled"}
    ]  # fmt: skip
    assert parse("show cdp", "% CDP is not enabled\n")[0]["status"] == "not enabled"


def test_verify_md5() -> None:
    digest = "f318b347fd66f78f3e8a0ec99766e676"
    text = f".Done!\nverify /md5 (flash:seed.txt) = {digest}\n"
    assert parse("verify /md5 flash:seed.txt", text) == [
        {"file": "flash:seed.txt", "md5": digest, "expected": "", "error": ""}
    ]
    missing = "%Error opening flash:nosuch.bin (No such file or directory)\n"
    assert parse("verify /md5 flash:nosuch.bin", missing) == [
        {"file": "flash:nosuch.bin", "md5": "", "expected": "",
         "error": "No such file or directory"}
    ]  # fmt: skip
    mismatch = (
        ".....Done!\n%Error verifying flash:x.bin\n"
        f"Computed signature   = {digest}\nSubmitted signature  = {'0' * 32}\n"
    )
    assert parse(f"verify /md5 flash:x.bin {'0' * 32}", mismatch) == [
        {"file": "flash:x.bin", "md5": digest, "expected": "0" * 32, "error": ""}
    ]


OLD = """hostname A
interface Gi1/0/1
 description old
 shutdown
router bgp 1
 address-family ipv4
  network 10.0.0.0
ntp server 10.0.0.1
interface Gi1/0/2
 description gone
"""
NEW = """hostname B
interface Gi1/0/1
 description new
 shutdown
router bgp 1
 neighbor 10.0.0.2 remote-as 2
 address-family ipv4
  network 10.1.0.0
snmp-server community lab
"""


def test_show_archive_config_differences() -> None:
    """Each added (+) or removed (-) line with the lines it is under."""
    rows = parse("show archive config differences", contextual_diff(OLD, NEW))
    assert [(r["parent"], r["subparent"], r["action"], r["line"]) for r in rows] == [
        ("", "", "-", "hostname A"),
        ("", "", "-", "ntp server 10.0.0.1"),
        ("", "", "-", "interface Gi1/0/2"),
        ("interface Gi1/0/2", "", "-", "description gone"),
        ("", "", "+", "hostname B"),
        ("interface Gi1/0/1", "", "-", "description old"),
        ("interface Gi1/0/1", "", "+", "description new"),
        ("router bgp 1", "", "+", "neighbor 10.0.0.2 remote-as 2"),
        ("router bgp 1", "address-family ipv4", "-", "network 10.0.0.0"),
        ("router bgp 1", "address-family ipv4", "+", "network 10.1.0.0"),
        ("", "", "+", "snmp-server community lab"),
    ]
    assert parse("show archive config differences", contextual_diff(OLD, OLD)) == []


def test_show_archive_config_incremental_diffs_and_rollback_timer() -> None:
    rows = parse("show archive config incremental-diffs flash:new", incremental_diff(OLD, NEW))
    assert [r["line"] for r in rows] == [
        "hostname B", "interface Gi1/0/1", " description new", "router bgp 1",
        " neighbor 10.0.0.2 remote-as 2", " address-family ipv4", "  network 10.1.0.0",
        "snmp-server community lab",
    ]  # fmt: skip
    assert parse("show archive config incremental-diffs flash:x", incremental_diff(OLD, OLD)) == []
    timer = (
        "Time configured(or Reset) : 10:15:00 UTC Thu Dec 3 2026\n"
        "Timer type: Rollback Confirmed Change\nTimer value: 5 min\nUser: admin\n"
    )
    assert parse("show archive config rollback timer", timer) == [
        {"configured": "10:15:00 UTC Thu Dec 3 2026", "timer_type": "Rollback Confirmed Change",
         "minutes": "5", "user": "admin"}
    ]  # fmt: skip
    assert (
        parse("show archive config rollback timer", "No Rollback Confirmed Change pending\n") == []
    )


# --- the index -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "template"),
    [
        ("show vstack client 1 NONE version", "show_vstack_client_version"),
        ("sh vs cl all secret ver", "show_vstack_client_version"),
        ("show vstack client group built-in 2960x 48poe NONE version",
         "show_vstack_client_version"),
        ("show vstack client group custom lab NONE running-config",
         "show_vstack_client_running-config"),
        ("show vstack client 10.0.0.1 vpass running-config", "show_vstack_client_running-config"),
        ("show vstack client all NONE tech-support", "show_vstack_client_tech-support"),
        ("show vstack proxy-db", "show_vstack_proxy-db"),
        ("show vstack proxy-db detail", "show_vstack_proxy-db_detail"),
        ("show vstack group custom lab detail", "show_vstack_group_custom_detail"),
        ("show ipv6 interface", "show_ipv6_interface"),
        ("show ipv6 interface Vlan1", "show_ipv6_interface"),
        ("show lldp", "show_lldp"),
        ("show cdp", "show_cdp"),
        ("verify /md5 flash:seed.txt", "verify_md5"),
        ("show archive config differences", "show_archive_config_differences"),
        ("show archive config differences flash:a flash:b", "show_archive_config_differences"),
        ("show archive config incremental-diffs flash:a", "show_archive_config_incremental-diffs"),
        ("show archive config rollback timer", "show_archive_config_rollback_timer"),
    ],
)  # fmt: skip
def test_index_routes_each_command(command: str, template: str) -> None:
    assert template_of(command) == f"cisco_ios_{template}.textfsm"


@pytest.mark.parametrize(
    "command",
    ["show ipv6 interface brief", "show lldp neighbors", "show lldp neighbors detail",
     "show cdp neighbors", "show cdp neighbors detail", "show archive", "show version"],
)  # fmt: skip
def test_index_leaves_longer_commands_to_ntc_templates(command: str) -> None:
    table = clitable.CliTable("index", str(TEMPLATES))
    assert not table.index.GetRowMatch({"Command": command, "Platform": "cisco_ios"})


@pytest.mark.parametrize(
    ("command", "template"),
    [
        ("show vstack client 1 NONE version", "cisco_ios_show_vstack_client_version.textfsm"),
        ("show archive config differences", "cisco_ios_show_archive_config_differences.textfsm"),
        ("show archive config rollback timer",
         "cisco_ios_show_archive_config_rollback_timer.textfsm"),
        ("show ipv6 interface", "cisco_ios_show_ipv6_interface.textfsm"),
        ("show archive", "cisco_ios_show_archive.textfsm"),
        ("show ipv6 interface brief", "cisco_ios_show_ipv6_interface_brief.textfsm"),
        ("show cdp neighbors", "cisco_ios_show_cdp_neighbors.textfsm"),
        ("show lldp neighbors", "cisco_ios_show_lldp_neighbors.textfsm"),
        ("show version", "cisco_ios_show_version.textfsm"),
        ("dir flash:", "cisco_ios_dir.textfsm"),
    ],
)  # fmt: skip
def test_chained_index_resolves_ours_before_ntc_templates(
    command: str, template: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """ntc-templates' row of ``show archive`` has no ``$`` and would take ``show archive config
    differences`` (and fail on it): our rows come first in the chained index."""
    ntc = ntc_templates_dir()
    if ntc is None:
        pytest.skip("ntc-templates is not installed")
    directory = write_chained_dir(tmp_path_factory.mktemp("chain"), ntc)
    table = clitable.CliTable("index", str(directory))
    row = table.index.GetRowMatch({"Command": command, "Platform": "cisco_ios"})
    assert row, command
    found = Path(str(table.index.index[row]["Template"]))
    assert found.name == template
    ours = clitable.CliTable("index", str(TEMPLATES)).index.GetRowMatch(
        {"Command": command, "Platform": "cisco_ios"}
    )
    assert found.parent == (TEMPLATES if ours else ntc)


NEW_TEMPLATES = [
    "cisco_ios_show_vstack_client_version.textfsm",
    "cisco_ios_show_vstack_client_running-config.textfsm",
    "cisco_ios_show_vstack_client_tech-support.textfsm",
    "cisco_ios_show_ipv6_interface.textfsm",
    "cisco_ios_show_lldp.textfsm",
    "cisco_ios_show_cdp.textfsm",
    "cisco_ios_verify_md5.textfsm",
    "cisco_ios_show_archive_config_differences.textfsm",
    "cisco_ios_show_archive_config_incremental-diffs.textfsm",
    "cisco_ios_show_archive_config_rollback_timer.textfsm",
]
LINES = st.lists(
    st.one_of(
        st.sampled_from(
            ["Client 1 (10.0.0.5, 0050.5601.0020):", "% IP address unknown", "end", "!",
             "Global CDP information:", "  Global unicast address(es):", "-hostname A",
             " +description x", "eth0 is up, line protocol is up", "Switch 02"]
        ),
        st.text(max_size=40),
    ),
    max_size=12,
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(lines=LINES, name=st.sampled_from(NEW_TEMPLATES))
def test_templates_parse_or_refuse_any_text(lines: list[str], name: str) -> None:
    """Whatever a device prints, a template gives rows or a TextFSM error, nothing else."""
    with open(TEMPLATES / name) as handle:
        fsm = textfsm.TextFSM(handle)
    try:
        rows = fsm.ParseText("\n".join(lines) + "\n")
    except textfsm.TextFSMError:
        return
    assert all(len(row) == len(fsm.header) for row in rows)
