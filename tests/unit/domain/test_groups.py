"""Group precedence (guide: "Smart Install Groups", "Using Custom Groups …", command reference
of vstack group custom), table-driven."""

from __future__ import annotations

import pytest

from smartinstall.domain.catalog import builtin_key
from smartinstall.domain.devices import StackMember
from smartinstall.domain.groups import (
    BuiltinGroup,
    ClientFacts,
    CustomGroup,
    GroupFiles,
    GroupKind,
    GroupSettings,
    resolve,
)

MAC = "0023.34ca.c180"
PID_2960 = "WS-C2960-48TC-L"
UPSTREAM = ("1.1.1.10", "GigabitEthernet 1/0/3")


def files(tag: str) -> GroupFiles:
    return GroupFiles(image=f"flash:{tag}.tar", config=f"flash:{tag}.txt")


def settings(*kinds: str) -> GroupSettings:
    """Groups of the guide's examples; each kind that is named is configured."""
    groups = GroupSettings(default=files("default"))
    if "mac" in kinds:
        group = CustomGroup("testgroup3", GroupKind.MAC, files("mac"))
        group.add_match(["mac", MAC])
        groups.custom[group.name] = group
    if "connectivity" in kinds:
        group = CustomGroup("testgroup2", GroupKind.CONNECTIVITY, files("connectivity"))
        group.add_match(["host", UPSTREAM[0], "interface", *UPSTREAM[1].split()])
        groups.custom[group.name] = group
    if "stack" in kinds:
        group = CustomGroup("testgroup", GroupKind.STACK, files("stack"))
        for member in ("1", "2", "3"):
            group.add_match([member, "3750", "24poe"])
        groups.custom[group.name] = group
    if "product-id" in kinds:
        group = CustomGroup("textgroup4", GroupKind.PRODUCT_ID, files("product-id"))
        group.add_match([PID_2960])
        groups.custom[group.name] = group
    if "built-in" in kinds:
        key = builtin_key("2960", "48")
        groups.builtin[key] = BuiltinGroup(key, files("built-in"))
    return groups


STANDALONE = ClientFacts(
    mac=MAC, pid=PID_2960, upstream_ip=UPSTREAM[0], upstream_interface="Gi1/0/3"
)

ALL = ("mac", "connectivity", "stack", "product-id", "built-in")


# Precedence: custom before built-in before default; among custom MAC > connectivity > stack >
# product-id (command reference, vstack group custom: "Among custom groups, a group matched by MAC
# address takes precedence over other matches. A connectivity match takes precedence over one
# matched by product ID or stack, and a stack match takes precedence over product ID"). The
# overview's list ("stack group, MAC address, connectivity, and product ID") is not followed.
@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        (ALL, "mac"),
        (("connectivity", "stack", "product-id", "built-in"), "connectivity"),
        (("product-id", "built-in"), "product-id"),
        (("built-in",), "built-in"),
        ((), "default"),
    ],
)
def test_standalone_precedence(configured: tuple[str, ...], expected: str) -> None:
    assignment = resolve(settings(*configured), STANDALONE)
    assert assignment.kind is GroupKind(expected)
    assert assignment.image == f"flash:{expected}.tar"
    assert assignment.ok
    assert assignment.reasons


def test_overview_order_is_not_used_mac_beats_stack() -> None:
    stack = ClientFacts(
        mac=MAC, pid="WS-C3750-24PS-S",
        members=tuple(StackMember(n, "WS-C3750-24PS-S", f"0023.34ca.c18{n}") for n in (1, 2, 3)),
    )  # fmt: skip
    assert resolve(settings("mac", "stack"), stack).kind is GroupKind.MAC


def test_stack_members_only_through_stack_groups() -> None:
    # "A client switch in a stack can be updated only when it belongs to a custom stack group.
    # It cannot belong to the default group."
    stack = ClientFacts(
        mac="0050.5603.0001", pid="WS-C3750-24PS-S",
        members=tuple(StackMember(n, "WS-C3750-24PS-S", f"0050.5603.000{n}") for n in (1, 2, 3)),
        upstream_ip=UPSTREAM[0], upstream_interface="Gi1/0/3",
    )  # fmt: skip
    with_stack = resolve(settings(*ALL), stack)
    assert with_stack.kind is GroupKind.STACK
    assert with_stack.images == ("flash:stack.tar",) * 3
    without = resolve(settings("connectivity", "product-id", "built-in"), stack)
    assert without.kind is None and not without.ok
    assert without.mnemonic == "IMG_CFG_NOT_CONFIGURED"


def test_connectivity_and_product_id_only_for_standalone() -> None:
    stack = ClientFacts(
        mac="0050.5603.0001", pid=PID_2960,
        members=(
            StackMember(1, PID_2960, "0050.5603.0001"),
            StackMember(2, PID_2960, "0050.5603.0002"),
        ),
        upstream_ip=UPSTREAM[0], upstream_interface="Gi1/0/3",
    )  # fmt: skip
    assert resolve(settings("connectivity", "product-id"), stack).kind is None


def test_mixed_stack_group_takes_an_image_per_family() -> None:
    group = CustomGroup("mixed", GroupKind.STACK, files("c3750"))
    group.add_match(["1", "3750", "24poe"])
    group.add_match(["2", "3750e", "24poe"])
    group.files.set_family_image("3750e", "flash:c3750e.tar")
    groups = GroupSettings(custom={"mixed": group})
    stack = ClientFacts(
        mac="0050.5603.0001",
        members=(StackMember(1, "WS-C3750-24PS-S", "0050.5603.0001"),
                 StackMember(2, "WS-C3750E-24PD-S", "0050.5603.0002")),
    )  # fmt: skip
    assignment = resolve(groups, stack)
    assert assignment.ok, assignment.problem
    assert assignment.member_images == ((1, "flash:c3750.tar"), (2, "flash:c3750e.tar"))


def test_homogeneous_stack_needs_one_line() -> None:
    group = CustomGroup("homog", GroupKind.STACK, files("h"))
    group.add_match(["1", "3750", "24poe"])
    stack = ClientFacts(
        mac="0050.5603.0001",
        members=tuple(StackMember(n, "WS-C3750-24PS-S", f"0050.5603.000{n}") for n in (1, 2, 3)),
    )  # fmt: skip
    assert resolve(GroupSettings(custom={"homog": group}), stack).kind is GroupKind.STACK


def test_connectivity_compares_canonical_interface_names() -> None:
    for name in ("Gi1/0/3", "GigabitEthernet1/0/3", "gig 1/0/3"):
        client = ClientFacts(mac="0050.5600.0001", pid="WS-C3560-24TS-S",
                             upstream_ip=UPSTREAM[0], upstream_interface=name)  # fmt: skip
        assert resolve(settings("connectivity"), client).kind is GroupKind.CONNECTIVITY
    other = ClientFacts(mac="0050.5600.0001", upstream_ip=UPSTREAM[0], upstream_interface="Gi1/0/4")
    assert resolve(settings("connectivity"), other).kind is GroupKind.DEFAULT


def test_unconfigured_builtin_group_does_not_capture() -> None:
    groups = settings()
    key = builtin_key("2960", "48")
    groups.builtin[key] = BuiltinGroup(key)  # named but without files
    assert resolve(groups, STANDALONE).kind is GroupKind.DEFAULT


def test_4500_all_chassis_group_covers_each_chassis() -> None:
    key = builtin_key("4500", "sup7-e", "all")
    groups = GroupSettings(builtin={key: BuiltinGroup(key, files("sup7"))})
    client = ClientFacts(mac="68ef.bd08.6000", pid="WS-C4507R-E", supervisor="WS-X45-SUP7-E")
    assignment = resolve(groups, client)
    assert assignment.kind is GroupKind.BUILTIN
    assert assignment.image == "flash:sup7.tar"


def test_script_alone_is_not_an_upgrade() -> None:
    groups = GroupSettings(default=GroupFiles(script="flash:post_install.txt"))
    assignment = resolve(groups, STANDALONE)
    assert not assignment.ok
    assert "script alone" in assignment.problem


def test_nothing_configured() -> None:
    assignment = resolve(GroupSettings(), STANDALONE)
    assert assignment.kind is GroupKind.DEFAULT
    assert assignment.mnemonic == "IMG_CFG_NOT_CONFIGURED"


def test_unknown_pid_falls_to_default() -> None:
    # A switch known only by its MAC is type P and falls to the default.
    assignment = resolve(settings("built-in", "product-id"), ClientFacts(mac="0050.5600.0009"))
    assert assignment.kind is GroupKind.DEFAULT
