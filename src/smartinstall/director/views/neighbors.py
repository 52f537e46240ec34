"""``show vstack neighbors [n | ip | all | group built-in …]``.

The layout is that of the guide's example ``show vstack neighbors 1`` (command reference of
``show vstack``): a fixed header, the rule, and one row per CDP neighbour with the interfaces in
the short form IOS prints (``Gig 1/0/1``). The rows are 16, 15, 15 and 15 characters wide, as
in that example. With several devices (``all``, a group) each device's table comes under a
``Device Num`` line naming the device; the guide shows no example of that form.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from smartinstall.director.views.common import DISABLED, RULE, cell, known, text
from smartinstall.domain import catalog
from smartinstall.domain.catalog import BuiltinKey
from smartinstall.domain.devices import Device, Neighbor
from smartinstall.domain.groups import ClientFacts, GroupSettings, resolve
from smartinstall.domain.interfaces import short_interface

NEIGHBOR_HEADER = "MAC Address      Dev ID          IP_addr         Local Int       Out Port"
NEIGHBOR_WIDTHS = (16, 15, 15, 15)


def neighbor_row(neighbor: Neighbor) -> str:
    widths = NEIGHBOR_WIDTHS
    out_port = short_interface(neighbor.port) if neighbor.port else "**"
    return (
        cell(neighbor.mac, widths[0])
        + cell(known(neighbor.device_id), widths[1])
        + cell(known(neighbor.ip), widths[2])
        + cell(short_interface(neighbor.local_port), widths[3])
        + out_port
    )


def neighbor_table(neighbors: Iterable[Neighbor]) -> list[str]:
    return [NEIGHBOR_HEADER, RULE, *(neighbor_row(n) for n in neighbors)]


def device_heading(device: Device) -> str:
    return f"Device Num : {device.number} ({known(device.hostname)} {known(device.ip)})"


def show_vstack_neighbors(devices: Sequence[Device], *, enabled: bool = True) -> str:
    """The neighbours of one device (a plain table) or of several (a table per device)."""
    if not enabled:
        return text([DISABLED])
    if len(devices) == 1:
        return text(neighbor_table(devices[0].neighbors))
    lines: list[str] = []
    for device in sorted(devices, key=lambda d: d.number):
        if lines:
            lines.append("")
        lines.append(device_heading(device))
        lines.extend(neighbor_table(device.neighbors))
    return text(lines)


def select_devices(devices: Sequence[Device], selector: str) -> list[Device]:
    """The devices ``show vstack neighbors <selector>`` names: a device number, a client IP
    address, or ``all`` or nothing (every device, the director included). An unknown number or
    address selects none."""
    word = selector.strip()
    if word.lower() in ("all", ""):
        return sorted(devices, key=lambda d: d.number)
    if word.isascii() and word.isdigit():
        return [d for d in devices if d.number == int(word)]
    return [d for d in devices if d.ip and d.ip == word]


def devices_in_builtin_group(devices: Sequence[Device], key: BuiltinKey) -> list[Device]:
    """The clients that belong to a built-in group (``… group built-in <family> <port>``);
    a 4500 key with chassis ``all`` stands for every chassis of its supervisor."""
    wanted = set(catalog.keys_matching(key))
    found = []
    for device in sorted(devices, key=lambda d: d.number):
        if device.is_director or not device.pid:
            continue
        client_key = catalog.builtin_key_for_pid(device.pid, device.supervisor or None)
        if client_key in wanted:
            found.append(device)
    return found


def devices_in_custom_group(
    devices: Sequence[Device], groups: GroupSettings, name: str
) -> list[Device]:
    """The clients a custom group provisions: those the precedence rule gives to the group
    named ``name`` (a client matched by a MAC group and by a product-id group belongs to the MAC
    group, as its files come from there)."""
    found = []
    for device in sorted(devices, key=lambda d: d.number):
        if device.is_director:
            continue
        if resolve(groups, ClientFacts.of_device(device)).group == name:
            found.append(device)
    return found
