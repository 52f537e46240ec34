"""``show ipv6 interface``, ``show lldp`` and ``show cdp`` of the director's host: the
``/proc/net/if_inet6`` parser (bounded, never raises) and the IOS layout the parsers read."""

from __future__ import annotations

import ipaddress
import re

from hypothesis import given
from hypothesis import strategies as st

from smartinstall.director.exec.host_probe import HostInterface
from smartinstall.director.exec.host_protocols import (
    MAX_LINES,
    SCOPE_HOST,
    SCOPE_LINK,
    ipv6_addresses,
    parse_if_inet6,
    render_cdp_global,
    render_ipv6_interface,
)

IF_INET6 = (
    "00000000000000000000000000000001 01 80 10 80       lo\n"
    "fd000000000000000000000000000002 04 40 00 80     eth0\n"
    "fe8000000000000000fc00fffe000001 04 40 20 80     eth0\n"
)
LO = HostInterface("lo", loopback=True, mtu=65536, admin_up=True, oper_up=True)
ETH = HostInterface("eth0", mac="02fc.0000.0001", mtu=1400, admin_up=True, oper_up=True)
IDLE = HostInterface("ifb0", mtu=1500)


def test_if_inet6_rows() -> None:
    rows = parse_if_inet6(IF_INET6)
    assert [(r.interface, str(r.address), r.scope) for r in rows] == [
        ("lo", "::1/128", SCOPE_HOST),
        ("eth0", "fd00::2/64", 0),
        ("eth0", "fe80::fc:ff:fe00:1/64", SCOPE_LINK),
    ]


def test_show_ipv6_interface_as_ios_prints_it() -> None:
    text = render_ipv6_interface([LO, IDLE, ETH], parse_if_inet6(IF_INET6))
    # only interfaces with IPv6 (loopback scope has no IOS counterpart)
    assert re.findall(r"^(\S+) is ", text, re.M) == ["eth0"]
    assert text.splitlines() == [
        "eth0 is up, line protocol is up",
        "  IPv6 is enabled, link-local address is FE80::FC:FF:FE00:1 ",
        "  No Virtual link-local address(es):",
        "  Global unicast address(es):",
        "    FD00::2, subnet is FD00::/64 ",
        "  MTU is 1400 bytes",
    ]
    assert render_ipv6_interface([LO, IDLE], parse_if_inet6(IF_INET6)) == ""


def test_lldp_and_cdp_global_information() -> None:
    cdp = render_cdp_global()
    assert cdp.startswith("Global CDP information:\n")
    # tools take "CDP is not enabled" for no CDP neighbours at all
    assert "CDP is not enabled" not in cdp and "180 seconds" in cdp


def test_this_hosts_addresses_are_read() -> None:
    for row in ipv6_addresses():
        assert isinstance(row.address, ipaddress.IPv6Interface) and row.interface


@given(st.text(max_size=400))
def test_parser_never_raises(text: str) -> None:
    for row in parse_if_inet6(text):
        assert 0 <= row.address.network.prefixlen <= 128


@given(
    st.lists(
        st.tuples(
            st.binary(min_size=16, max_size=16),
            st.integers(0, 255),
            st.sampled_from([0, SCOPE_HOST, SCOPE_LINK, 0x40]),
        ),
        max_size=20,
    )
)
def test_parser_reads_what_the_kernel_writes(rows: list[tuple[bytes, int, int]]) -> None:
    text = "".join(
        f"{packed.hex()} 02 {prefix:02x} {scope:02x} 80 eth0\n" for packed, prefix, scope in rows
    )
    parsed = parse_if_inet6(text)
    valid = [(p, n, s) for p, n, s in rows if n <= 128]
    assert [(r.address.ip.packed, r.address.network.prefixlen, r.scope) for r in parsed] == valid


def test_parser_is_bounded() -> None:
    line = "fd000000000000000000000000000002 04 40 00 80 eth0\n"
    assert len(parse_if_inet6(line * (MAX_LINES + 5))) == MAX_LINES
