"""show vstack neighbors (guide, chapter 3, "show vstack neighbors 1")."""

from __future__ import annotations

from smartinstall.director.views import (
    devices_in_builtin_group,
    devices_in_custom_group,
    select_devices,
    show_vstack_neighbors,
)
from smartinstall.domain import catalog
from smartinstall.domain.devices import Device, DeviceType, Neighbor
from smartinstall.domain.groups import CustomGroup, GroupKind, GroupSettings
from tests.unit.views.guide import example

# Guide, chapter 3: "Director #show vstack neighbors 1". Character for character.
EXPECTED = """\
MAC Address      Dev ID          IP_addr         Local Int       Out Port
=====
001d.71ba.f780  2960pd-47      1.1.1.1        Gig 1/0/1      Fas 0/7
"""

DIRECTOR = Device(
    0,
    "0023.5e32.3780",
    "WS-C3750E-24PD",
    ip="1.1.1.163",
    hostname="3750e-163-smi",
    is_director=True,
    neighbors=(
        Neighbor(
            "GigabitEthernet1/0/1", "001d.71ba.f780", "2960pd-47", "1.1.1.1", "FastEthernet0/7"
        ),
    ),
)
CLIENT = Device(
    1,
    "001d.71ba.f780",
    "WS-C2960PD-8TT-L",
    ip="1.1.1.1",
    hostname="2960pd-47",
    device_type=DeviceType.SMART_INSTALL,
    neighbors=(
        Neighbor("Fa0/7", "0023.5e32.3780", "3750e-163-smi", "1.1.1.163", "Gi1/0/1"),
        Neighbor("Fa0/8", "0023.5e32.3799"),
    ),
)


def test_neighbors_matches_the_guide() -> None:
    out = show_vstack_neighbors([DIRECTOR])
    assert out == EXPECTED
    assert out.splitlines() == example("Director #show vstack neighbors 1", 4)[1:]


def test_several_devices_come_in_sections() -> None:
    out = show_vstack_neighbors([CLIENT, DIRECTOR])
    assert out.splitlines() == [
        "Device Num : 0 (3750e-163-smi 1.1.1.163)",
        "MAC Address      Dev ID          IP_addr         Local Int       Out Port",
        "=====",
        "001d.71ba.f780  2960pd-47      1.1.1.1        Gig 1/0/1      Fas 0/7",
        "",
        "Device Num : 1 (2960pd-47 1.1.1.1)",
        "MAC Address      Dev ID          IP_addr         Local Int       Out Port",
        "=====",
        "0023.5e32.3780  3750e-163-smi  1.1.1.163      Fas 0/7        Gig 1/0/1",
        "0023.5e32.3799  **             **             Fas 0/8        **",
    ]
    assert show_vstack_neighbors([CLIENT], enabled=False) == "SmartInstall: DISABLED\n"


def test_selectors() -> None:
    devices = [CLIENT, DIRECTOR]
    assert select_devices(devices, "1") == [CLIENT]
    assert select_devices(devices, "1.1.1.163") == [DIRECTOR]
    assert select_devices(devices, "all") == [DIRECTOR, CLIENT]
    assert select_devices(devices, " ") == [DIRECTOR, CLIENT]
    assert select_devices(devices, "7") == []
    assert select_devices(devices, "10.0.0.1") == []
    key = catalog.builtin_key("2960", "8poe-pd")
    assert devices_in_builtin_group(devices, key) == [CLIENT]
    assert devices_in_builtin_group(devices, catalog.builtin_key("3750e", "24poe")) == []


def test_custom_group_members_follow_the_precedence_rule() -> None:
    # Guide, "Custom Groups": a group matched by MAC address takes precedence over connectivity,
    # stack and product ID; the client belongs to the group its files come from.
    other = Device(2, "0050.5600.0002", "WS-C2960PD-8TT-L", ip="1.1.1.2",
                   device_type=DeviceType.SMART_INSTALL)  # fmt: skip
    groups = GroupSettings()
    by_mac = CustomGroup("pharmacy", GroupKind.MAC)
    by_mac.add_match(["mac", CLIENT.mac])
    by_pid = CustomGroup("tills", GroupKind.PRODUCT_ID)
    by_pid.add_match(["WS-C2960PD-8TT-L"])
    groups.custom = {"tills": by_pid, "pharmacy": by_mac}
    devices = [other, DIRECTOR, CLIENT]
    assert devices_in_custom_group(devices, groups, "pharmacy") == [CLIENT]
    assert devices_in_custom_group(devices, groups, "tills") == [other]
    assert devices_in_custom_group(devices, groups, "nosuch") == []
