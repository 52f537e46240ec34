"""The topology file read by `smartinstall explain`."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartinstall.explain.inventory import (
    InventoryError,
    generated_mac,
    load_inventory,
    parse_inventory,
)


def test_example_branch_loads() -> None:
    inventory = load_inventory(Path("examples/branch/topology.yaml"))
    names = [s.name for s in inventory.switches]
    assert "backroom-stack" in names and "pharmacy" in names
    stockroom = next(s for s in inventory.switches if s.name == "stockroom")
    assert stockroom.hops == 2
    assert stockroom.upstream_interface == "GigabitEthernet1/0/48"
    assert inventory.upstream_ip(stockroom) == "127.20.1.2"
    stack = next(s for s in inventory.switches if s.name == "backroom-stack")
    assert len(stack.members) == 3 and stack.mac == "0050.5603.0001"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("director: {}", "missing 'address'"),
        ("director: {address: 1.2.3}", "Invalid IP address"),
        ("director: {address: 1.1.1.1}\nswitches: [{name: a, mac: zz}]", "switch a"),
        ("director: {address: 1.1.1.1}\nswitches: [{name: a, mac: 0050.5600.0001, "
         "upstream: {device: b}}]", "not in the topology"),
        ("director: {address: 1.1.1.1}\nswitches: [{name: a, mac: 0050.5600.0001}, "
         "{name: a, mac: 0050.5600.0002}]", "name used twice"),
        ("director: {address: 1.1.1.1}\nswitches: [{name: a, mac: 0050.5600.0001}, "
         "{name: b, stack: [{member: 1, pid: WS-C3750-24PS-S, mac: 0050.5600.0001}]}]",
         "MAC 0050.5600.0001 used twice"),
        ("director: [", "not valid YAML"),
    ],
)  # fmt: skip
def test_bad_topologies_get_one_line(text: str, message: str) -> None:
    with pytest.raises(InventoryError) as error:
        parse_inventory(text)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_upstream_loop_is_refused() -> None:
    text = (
        "director: {address: 1.1.1.1}\nswitches:\n"
        " - {name: a, mac: 0050.5600.0001, upstream: {device: b}}\n"
        " - {name: b, mac: 0050.5600.0002, upstream: {device: a}}\n"
    )
    with pytest.raises(InventoryError, match="loop"):
        parse_inventory(text)


@given(st.text(max_size=300))
def test_parse_inventory_raises_only_inventory_errors(text: str) -> None:
    with contextlib.suppress(InventoryError):
        parse_inventory(text)


def test_a_switch_without_a_mac_gets_a_stable_generated_one() -> None:
    text = (
        "director: {address: 1.1.1.1}\nswitches:\n"
        " - {name: till-1, pid: WS-C2960X-48FPS-L}\n"
        " - {name: till-2, pid: WS-C2960X-48FPS-L}\n"
        " - {name: rack, stack: [{member: 1, pid: WS-C3750-24PS-S},"
        " {member: 2, pid: WS-C3750-24PS-S, mac: 0050.5600.0002}]}\n"
    )
    first, second, stack = parse_inventory(text).switches
    assert first.mac == generated_mac("till-1") == parse_inventory(text).switches[0].mac
    assert first.mac != second.mac
    assert int(first.mac[:2], 16) & 0b11 == 0b10  # locally administered, unicast
    assert [m.mac for m in stack.members] == [generated_mac("rack", "1"), "0050.5600.0002"]
    assert stack.mac == stack.members[0].mac


def test_more_than_seven_hops_is_refused() -> None:
    # Guide: clients up to seven hops from the director.
    lines = ["director: {address: 1.1.1.1}", "switches:", " - {name: h1, mac: 0050.5600.0001}"]
    for n in range(2, 9):
        lines.append(f" - {{name: h{n}, mac: 0050.5600.{n:04x}, upstream: {{device: h{n - 1}}}}}")
    assert max(s.hops for s in parse_inventory("\n".join(lines[:-1])).switches) == 7
    with pytest.raises(InventoryError, match="switch h8: 8 hops"):
        parse_inventory("\n".join(lines))
