"""The IOS layouts of the host commands (``show version``, ``show ip interface brief``,
``show interfaces``, ``show arp``, ``show cdp neighbors``) from given data, and the kernel
reads of ``host_probe`` on this host."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import socket

import pytest

from smartinstall import __version__
from smartinstall.director.exec import host_probe
from smartinstall.director.exec.host_info import (
    render_interfaces,
    render_ip_interface,
    render_ip_interface_brief,
    render_memory_statistics,
)
from smartinstall.director.exec.host_probe import HostInterface, Memory
from smartinstall.director.exec.neighbors import ArpRow, CdpRow, render_arp, render_cdp
from smartinstall.director.exec.system import ios_uptime, render_version
from smartinstall.domain.settings import Role

LO = HostInterface(
    "lo", loopback=True, mtu=65536, admin_up=True, oper_up=True,
    addresses=[ipaddress.IPv4Interface("127.0.0.1/8")],
)  # fmt: skip
ETH = HostInterface(
    "eth0", mac="02fc.0000.0001", mtu=1500, admin_up=True, oper_up=False, speed_mbps=1000,
    addresses=[ipaddress.IPv4Interface("192.0.2.2/24"), ipaddress.IPv4Interface("10.9.0.1/16")],
)  # fmt: skip
IDLE = HostInterface("ifb0", mac="e62f.8fae.83aa", mtu=1500)


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (30, "0 minutes"),
        (60, "1 minute"),
        (3600 + 120, "1 hour, 2 minutes"),
        (86400, "1 day, 0 hours, 0 minutes"),
        (8 * 86400 + 60, "1 week, 1 day, 0 hours, 1 minute"),
        (366 * 86400, "1 year, 0 weeks, 1 day, 0 hours, 0 minutes"),
    ],
)
def test_uptime_in_ios_words(seconds: int, words: str) -> None:
    assert ios_uptime(dt.timedelta(seconds=seconds)) == words


def test_show_version_lines_the_parsers_read() -> None:
    text = render_version(
        "Branch", dt.timedelta(hours=2), Role.DIRECTOR, Memory(8 * 2**30, 2**30), "3D1219C7C4C"
    )
    lines = text.splitlines()
    assert lines[0].startswith("Cisco IOS Software, smartinstall Software (SMARTINSTALL-DIRECTOR)")
    assert "not Cisco software" in lines[1]
    assert "Branch uptime is 2 hours, 0 minutes" in lines
    assert "Processor board ID 3D1219C7C4C" in lines
    assert any(
        line.startswith("Cisco SMARTINSTALL-DIRECTOR (")
        and line.endswith(" processor with 8388608K bytes of memory.")
        for line in lines
    )
    # what Ansible's cisco.ios cliconf reads for its device facts
    model = re.search(r"^[Cc]isco (\S+).+bytes of .*memory", text, re.M)
    assert model is not None and model[1] == "SMARTINSTALL-DIRECTOR"
    version = re.search(r"Version (\S+)", text)
    assert version is not None and version[1].strip(",") == __version__
    client = render_version("Sw", dt.timedelta(), Role.CLIENT, Memory(0, 0), "")
    assert "(SMARTINSTALL-CLIENT)" in client and "Processor board ID unknown" in client


def test_ip_interface_brief_columns() -> None:
    assert render_ip_interface_brief([LO, ETH, IDLE]) == (
        "Interface              IP-Address      OK? Method Status                Protocol\n"
        "lo                     127.0.0.1       YES manual up                    up\n"
        "eth0                   192.0.2.2       YES manual down                  down\n"
        "ifb0                   unassigned      YES unset  administratively down down\n"
    )


def test_show_ip_interface_primary_then_secondary() -> None:
    text = render_ip_interface([ETH, IDLE])
    assert text.startswith(
        "eth0 is down, line protocol is down\n"
        "  Internet address is 192.0.2.2/24\n  Broadcast address is 192.0.2.255\n"
    )
    assert "  Secondary address 10.9.0.1/16\n" in text
    assert text.endswith(
        "ifb0 is administratively down, line protocol is down\n"
        "  Internet protocol processing disabled\n"
    )


def test_show_interfaces_blocks() -> None:
    text = render_interfaces([LO, ETH])
    assert (
        "lo is up, line protocol is up \n  Hardware is Loopback, address is 0000.0000.0000" in text
    )
    assert "  MTU 65536 bytes, BW 10000000 Kbit/sec, DLY 10 usec, \n" in text
    assert "eth0 is down, line protocol is down \n" in text
    assert "  Internet address is 192.0.2.2/24\n  Secondary address is 10.9.0.1/16\n" in text
    assert "  MTU 1500 bytes, BW 1000000 Kbit/sec" in text and "  Full-duplex, 1000Mb/s\n" in text


def test_memory_statistics_processor_line() -> None:
    line = render_memory_statistics(Memory(1000, 400)).splitlines()[1]
    assert line.split() == ["Processor", "-", "1000", "600", "400", "400", "400"]
    # Ansible's ios_facts reads every number on the line (the head is no number), even large
    large = render_memory_statistics(Memory(25_276_071_936, 23_831_040_000)).splitlines()[1]
    numbers = re.findall(r"\s(\d+)\s", large)
    assert numbers[0] == "25276071936" and numbers[3] == "23831040000"


def test_arp_rows_in_address_order_on_their_interface() -> None:
    rows = [ArpRow("192.0.2.10", "0050.5600.0001", 3), ArpRow("192.0.2.2", "02fc.0000.0001", None)]
    text = render_arp(rows, [LO, ETH])
    header, first, second = text.splitlines()
    assert first.split() == ["Internet", "192.0.2.2", "-", "02fc.0000.0001", "ARPA", "eth0"]
    assert second.split() == ["Internet", "192.0.2.10", "3", "0050.5600.0001", "ARPA", "eth0"]
    for row in (first, second):  # IOS's columns: under their headings
        assert row.index(row.split()[3]) == header.index("Hardware Addr")
        assert row.index("ARPA") == header.index("Type")
        assert row.index("eth0") == header.index("Interface")
        assert row.rindex(row.split()[2]) + len(row.split()[2]) == header.index(")")
    # an address on no interface of the host has no interface column
    assert render_arp([ArpRow("203.0.113.9", "0050.5600.0002", 0)], [LO]).endswith(
        "0050.5600.0002  ARPA\n"
    )


def test_cdp_neighbors_short_and_detail() -> None:
    row = CdpRow(
        "access-switch-in-the-back-room", "192.0.2.10", "WS-C2960X-48FPS-L",
        "Cisco IOS Software, Version 15.2(7)E9", "GigabitEthernet1/0/1",
        "GigabitEthernet1/0/48", 170,
    )  # fmt: skip
    short = render_cdp([row], [ETH], detail=False)
    assert "\naccess-switch-in-the-back-room\n" in short  # a long ID has a line of its own
    assert short.rstrip().endswith("Total cdp entries displayed : 1")
    header = next(line for line in short.splitlines() if line.startswith("Device ID"))
    line = next(line for line in short.splitlines() if "Gig 1/0/1" in line)
    assert line.index("Gig 1/0/1") == header.index("Local Intrfce")
    assert line.index("170") == header.index("Holdtme")
    assert line.index("S I") + len("S I") == header.index("Platform") - 2
    assert line.index("WS-C2960X ") == header.index("Platform")
    assert line.index("Gig 1/0/48") == header.index("Port ID")
    detail = render_cdp([row], [ETH], detail=True)
    assert "Interface: GigabitEthernet1/0/1,  Port ID (outgoing port): GigabitEthernet1/0/48\n" in (
        detail
    )
    unknown_port = CdpRow("sw", "192.0.2.11", "WS-C3850", "", "", "", 100)
    assert "sw               eth0" in render_cdp([unknown_port], [ETH], detail=False)


def test_host_probe_reads_this_host() -> None:
    interfaces = host_probe.interfaces()
    assert [i.name for i in interfaces] == [name for _, name in sorted(socket.if_nameindex())]
    loopback = next(i for i in interfaces if i.name == "lo")
    assert loopback.loopback and loopback.admin_up and loopback.oper_up
    assert ipaddress.IPv4Interface("127.0.0.1/8") in loopback.addresses
    assert host_probe.interface_of("127.33.4.5", interfaces) is loopback
    assert host_probe.interface_of("not-an-ip", interfaces) is None
    memory = host_probe.memory()
    assert memory.total > memory.free > 0
    assert all(0 <= load <= 100 for load in host_probe.load_percent())
    assert host_probe.dotted_mac("AA:BB:CC:DD:EE:FF") == "aabb.ccdd.eeff"
