"""The default image only for the network's default product ID, never for a stack; a client
whose members are unknown waits for its hello when a stack group may match it.

Guide: "Adding a Client Switch to the Network" ("If not, the director determines if the switch
matches the Smart Install network default PID"), "Using Built-In Groups to Configure a Mixed
Network with Two Switch Types" ("could use the default image, configuration file, and post
install file if they match the default product ID"), "Configuring a Custom Group Based on a Stack
Number" ("A client switch in a stack can be updated only when it belongs to a custom stack group.
It cannot belong to the default group"), "Download Management for Non-Smart Install Clients"
("Stackable switches must have the correct configuration present because they do not have a
default image and configuration"), the command reference of ``vstack group custom``
(precedence) and ``%SMI-3-IMG_CFG_NOT_CONFIGURED``.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartinstall.domain import catalog
from smartinstall.domain.catalog import builtin_key
from smartinstall.domain.devices import Device, DeviceType, JoinState, StackMember
from smartinstall.domain.groups import (
    Assignment,
    BuiltinGroup,
    ClientFacts,
    CustomGroup,
    GroupFiles,
    GroupKind,
    GroupSettings,
    default_families,
    resolve,
)
from smartinstall.domain.platforms import PLATFORMS, image_families, image_name
from smartinstall.domain.provisioning import ClientContext, OfferAction, decide_offer
from smartinstall.explain.report import describe_default_product

C2960X = "flash:c2960x-universalk9-tar.152-7.E9.tar"
C3750 = "flash:c3750-ipbasek9-tar.122-55.SE12.tar"
PID_2960X = "WS-C2960X-48FPS-L"
PID_2960XR = "WS-C2960XR-24TD-I"
PID_3850 = "WS-C3850-24P-L"
PID_3560 = "WS-C3560-24TS-S"
PID_3750 = "WS-C3750-24PS-S"
DIRECTOR = "127.20.0.1"
UPSTREAM = ("127.20.0.1", "GigabitEthernet1/0/5")

# product IDs of many families, for the properties
PIDS = (
    PID_2960X, PID_2960XR, PID_3850, PID_3560, PID_3750, "WS-C2960-24TT-L", "WS-C2960S-24PS-L",
    "WS-C3750X-24P-L", "WS-C3750E-24PD-S", "WS-C3560X-24P-S", "WS-C3650-24PS-L",
    "WS-C3560CG-8PC-S", "WS-C2960C-8TC-L", "IE-2000-16PTC-G-E", "C9300-24P", "WS-C2975GS-48PS-L",
)  # fmt: skip


def default_of(image: str | None = C2960X, config: str | None = "flash:seed.txt") -> GroupSettings:
    return GroupSettings(default=GroupFiles(image=image, config=config))


def standalone(pid: str, mac: str = "0050.5601.0001", **kw: object) -> ClientFacts:
    return ClientFacts(mac=mac, pid=pid, **kw)  # type: ignore[arg-type]


def stack_of(pid: str, count: int = 3, **kw: object) -> ClientFacts:
    members = tuple(StackMember(n, pid, f"0050.5603.000{n}") for n in range(1, count + 1))
    return ClientFacts(mac=members[0].mac, pid=pid, members=members, **kw)  # type: ignore[arg-type]


def stack_group(
    family: str = "3750", port_config: str = "24poe", image: str = C3750
) -> CustomGroup:
    group = CustomGroup("backroom", GroupKind.STACK, GroupFiles(image=image, config="flash:s.txt"))
    group.add_match(["1", family, port_config])
    return group


# --- the platform of an image -------------------------------------------------------------


def test_every_platform_names_families_of_the_catalog() -> None:
    for families in PLATFORMS.values():
        for name in families:
            assert catalog.family(name).name == name


@pytest.mark.parametrize(
    ("location", "families"),
    [
        (C2960X, {"2960x", "2960xr"}),
        ("tftp://101.122.33.10/c2960-lanbase-tar.122-52SE.tar", {"2960", "2960g", "2960plus"}),
        ("flash:c2960-lanbase-tar.122-53.SE.tar.", {"2960", "2960g", "2960plus"}),
        ("usb:/images/C3750E-UNIVERSALK9-TAR.150-2.SE11.tar", {"3750e", "3750x"}),
        ("flash:cat3k_caa-universalk9.16.03.06.SPA.bin", {"3850", "3650"}),
        ("c3560c405ex-universalk9-tar.152-2.E.tar", {"3560cg"}),
        ("flash:golden.tar", None),
        ("flash:image_name.tar", None),
        ("flash:c9300-universalk9.bin", None),
    ],
)
def test_image_families_from_the_name(location: str, families: set[str] | None) -> None:
    assert image_families(location) == (frozenset(families) if families is not None else None)


@given(st.text(max_size=80))
def test_image_families_never_raises(text: str) -> None:
    found = image_families(text)
    assert found is None or found in PLATFORMS.values()
    assert "/" not in image_name(text)


@given(
    st.sampled_from(sorted(PLATFORMS)),
    st.sampled_from(["flash:", "flash0:", "usb:", "tftp://10.1.1.1/", "tftp://10.1.1.1/a/b/", ""]),
    st.sampled_from(["-universalk9-tar.152-7.E9.tar", "-lanbasek9-tar.122.tar", ".bin", "-x"]),
    st.booleans(),
)
def test_a_cisco_name_tells_its_platform(platform: str, where: str, rest: str, upper: bool) -> None:
    name = platform + rest
    assert image_families(where + (name.upper() if upper else name)) == PLATFORMS[platform]


def test_default_product_is_described() -> None:
    assert describe_default_product(default_of()).startswith("2960x/2960xr (the platform")
    assert "no image" in describe_default_product(default_of(image=None))
    assert "does not say" in describe_default_product(default_of(image="flash:golden.tar"))
    assert describe_default_product(GroupSettings()).startswith("none")
    assert default_families(default_of(image=None)) is None


# --- the default only for the default product ID ------------------------------------------


@pytest.mark.parametrize("pid", [PID_2960X, PID_2960XR])
def test_the_default_product_gets_the_default(pid: str) -> None:
    assignment = resolve(default_of(), standalone(pid))
    assert assignment.kind is GroupKind.DEFAULT and assignment.ok
    assert assignment.image == C2960X
    assert "is the network's default product ID" in assignment.reasons[-1]


@pytest.mark.parametrize("pid", [PID_3850, PID_3560, "C9300-24P"])
def test_another_product_gets_nothing(pid: str) -> None:
    # "a 3850 (or a 3560 in a 2960-X network)": no image, %SMI-3-IMG_CFG_NOT_CONFIGURED, and why
    assignment = resolve(default_of(), standalone(pid))
    assert assignment.kind is None and assignment.group == ""
    assert not assignment.ok and assignment.mnemonic == "IMG_CFG_NOT_CONFIGURED"
    assert assignment.image is None and assignment.config is None and not assignment.images
    assert "not the network's default product ID (2960x/2960xr" in assignment.reasons[-1]
    assert pid in assignment.problem


def test_a_group_still_wins_for_another_product() -> None:
    groups = default_of()
    key = builtin_key("3560", "24")
    groups.builtin[key] = BuiltinGroup(key, GroupFiles(image="flash:c3560.tar"))
    assert resolve(groups, standalone(PID_3560)).kind is GroupKind.BUILTIN


@pytest.mark.parametrize("image", [None, "flash:golden.tar"])
def test_without_a_platform_the_default_goes_to_every_standalone_switch(image: str | None) -> None:
    assignment = resolve(default_of(image=image), standalone(PID_3850))
    assert assignment.kind is GroupKind.DEFAULT and assignment.ok
    assert "no default product ID tells this switch apart" in assignment.reasons[-1]


def test_an_unknown_product_id_gets_the_default_with_the_reason() -> None:
    assignment = resolve(default_of(), ClientFacts(mac="0050.5600.0009"))
    assert assignment.kind is GroupKind.DEFAULT and assignment.ok
    assert "product ID is not known yet" in assignment.reasons[-1]


@settings(max_examples=200)
@given(st.sampled_from(PIDS), st.sampled_from(sorted(PLATFORMS)))
def test_default_image_only_on_its_platform(pid: str, platform: str) -> None:
    image = f"flash:{platform}-universalk9-tar.152-7.E9.tar"
    assignment = resolve(default_of(image=image), standalone(pid))
    family = catalog.family_for_pid(pid)
    if family in PLATFORMS[platform]:
        assert assignment.kind is GroupKind.DEFAULT and assignment.image == image
    else:
        assert assignment.kind is None and assignment.image is None
        assert assignment.mnemonic == "IMG_CFG_NOT_CONFIGURED"


# --- stacks never get the default ---------------------------------------------------------


def groups_strategy() -> st.SearchStrategy[GroupSettings]:
    """A default (for 3750, 2960-X, a configuration alone, or none at all), maybe a 3750
    built-in group, product-id and connectivity groups, maybe a stack group of 3750 or 3750-X."""

    @st.composite
    def build(draw: st.DrawFn) -> GroupSettings:
        image = draw(st.sampled_from([C3750, C2960X, None]))
        config = draw(st.sampled_from(["flash:d.txt", None]))  # both None: no default at all
        groups = GroupSettings(default=GroupFiles(image=image, config=config))
        if draw(st.booleans()):
            key = builtin_key("3750", "24poe")
            groups.builtin[key] = BuiltinGroup(key, GroupFiles(image=C3750))
        if draw(st.booleans()):
            group = CustomGroup("bypid", GroupKind.PRODUCT_ID, GroupFiles(config="flash:p.txt"))
            group.add_match([PID_3750])
            groups.custom[group.name] = group
        if draw(st.booleans()):
            group = CustomGroup("byport", GroupKind.CONNECTIVITY, GroupFiles(config="flash:c.txt"))
            group.add_match(["host", UPSTREAM[0], "interface", UPSTREAM[1]])
            groups.custom[group.name] = group
        family = draw(st.sampled_from(["3750", "3750x", None]))
        if family is not None:
            groups.custom["backroom"] = stack_group(family)
        return groups

    return build()


@settings(max_examples=200)
@given(groups_strategy(), st.integers(min_value=2, max_value=9), st.booleans())
def test_a_stack_gets_its_stack_group_or_nothing(
    groups: GroupSettings, count: int, cabled: bool
) -> None:
    upstream = {"upstream_ip": UPSTREAM[0], "upstream_interface": UPSTREAM[1]} if cabled else {}
    assignment = resolve(groups, stack_of(PID_3750, count, **upstream))
    stack_group_for_3750 = "backroom" in groups.custom and any(
        line.key.family == "3750" for line in groups.custom["backroom"].stack
    )
    if stack_group_for_3750:
        # provisioned whether or not a default exists
        assert assignment.kind is GroupKind.STACK and assignment.ok
        assert assignment.images == (C3750,) * count
    else:
        assert assignment.kind is None and not assignment.images
        assert assignment.mnemonic == "IMG_CFG_NOT_CONFIGURED"


def test_unmatched_3750_stack_does_not_get_the_3750_default() -> None:
    assignment = resolve(default_of(image=C3750), stack_of(PID_3750))
    assert assignment.kind is None and assignment.image is None
    assert assignment.problem == "a switch stack is upgraded only through a custom stack group"


def test_stack_group_without_any_default() -> None:
    groups = GroupSettings(custom={"backroom": stack_group()})
    assignment = resolve(groups, stack_of(PID_3750))
    assert assignment.kind is GroupKind.STACK and assignment.ok


# --- before the hello: members unknown --------------------------------------------------------


def test_a_client_that_may_be_a_stack_waits_for_its_hello() -> None:
    groups = GroupSettings(default=GroupFiles(image=C2960X), custom={"backroom": stack_group()})
    first = resolve(groups, standalone(PID_3750, identified=False))
    assert first.awaiting_hello and not first.ok and first.mnemonic == ""
    assert "custom group backroom (stack)" in first.reasons[-1]
    # once it has said hello, it is a stack of the group or a standalone switch with nothing
    assert resolve(groups, stack_of(PID_3750)).kind is GroupKind.STACK
    known = resolve(groups, standalone(PID_3750))
    assert not known.awaiting_hello and known.mnemonic == "IMG_CFG_NOT_CONFIGURED"


@pytest.mark.parametrize(
    ("pid", "awaiting"),
    [(PID_3750, True), ("", True), (PID_3560, False), ("C9300-24P", False)],
)
def test_only_a_stack_group_of_its_family_makes_it_wait(pid: str, awaiting: bool) -> None:
    groups = GroupSettings(custom={"backroom": stack_group()})
    client = ClientFacts(mac="0050.5603.0001", pid=pid, identified=False)
    assert resolve(groups, client).awaiting_hello is awaiting


def test_a_4500_chassis_waits_for_the_supervisor_its_hello_tells() -> None:
    # "Configuring a Group for Standalone Catalyst 4500 Series Switch": the group is by
    # supervisor and chassis; the DHCP request names only the chassis
    key = builtin_key("4500", "sup7-e", "4507r+e")
    groups = default_of()
    groups.builtin[key] = BuiltinGroup(key, GroupFiles(image="bootflash:cat4500e.bin"))
    chassis = ClientFacts(mac="68ef.bd08.6000", pid="WS-C4507R+E", identified=False)
    first = resolve(groups, chassis)
    assert first.awaiting_hello and "built-in group sup7-e 4507r+e" in first.reasons[-1]
    known = resolve(groups, ClientFacts(mac=chassis.mac, pid=chassis.pid, supervisor="sup7-e"))
    assert known.kind is GroupKind.BUILTIN and known.image == "bootflash:cat4500e.bin"


def test_a_standalone_answer_does_not_wait() -> None:
    # the default applies to a 2960-X: it is installed at once (a stack of them would be told
    # otherwise once it has said hello)
    groups = GroupSettings(
        default=GroupFiles(image=C2960X), custom={"flex": stack_group("2960x", "48poe-4sfp-lb")}
    )
    assignment = resolve(groups, standalone(PID_2960X, identified=False))
    assert assignment.kind is GroupKind.DEFAULT and not assignment.awaiting_hello


@pytest.mark.parametrize(
    ("device_type", "members", "known"),
    [
        (DeviceType.PENDING, (), False),
        (DeviceType.SMART_INSTALL, (), True),
        (DeviceType.NON_SMART_INSTALL, (), True),
        (DeviceType.PENDING, (StackMember(1, PID_3750, "0050.5603.0001"),), True),
    ],
)
def test_members_are_known_once_the_client_said_hello(
    device_type: DeviceType, members: tuple[StackMember, ...], known: bool
) -> None:
    device = Device(1, "0050.5603.0001", pid=PID_3750, device_type=device_type, members=members)
    assert ClientFacts.of_device(device).identified is known


# --- precedence: connectivity over product ID ------------------------------------------------


@settings(max_examples=100)
@given(groups_strategy(), st.sampled_from([PID_3750, PID_2960X, PID_3850]))
def test_connectivity_beats_product_id_built_in_and_default(
    groups: GroupSettings, pid: str
) -> None:
    # command reference, vstack group custom: "A connectivity match takes precedence over one
    # matched by product ID or stack"; a connectivity group on the director's own port
    group = CustomGroup("byport", GroupKind.CONNECTIVITY, GroupFiles(config="flash:c.txt"))
    group.add_match(["host", UPSTREAM[0], "interface", "Gi1/0/5"])
    groups.custom[group.name] = group
    client = standalone(pid, upstream_ip=UPSTREAM[0], upstream_interface=UPSTREAM[1])
    assignment = resolve(groups, client)
    assert (assignment.kind, assignment.group, assignment.config) == (
        GroupKind.CONNECTIVITY,
        "byport",
        "flash:c.txt",
    )


# --- the DHCP answer ------------------------------------------------------------------------


def answer(assignment: Assignment, **kw: object):  # type: ignore[no-untyped-def]
    context = ClientContext(mac="0050.5603.0001", **{"join_state": JoinState.ALLOWED, **kw})  # type: ignore[arg-type]
    return decide_offer(assignment, context, DIRECTOR, hostname_prefix="STORE")


def test_awaiting_hello_gets_only_the_director_address() -> None:
    groups = GroupSettings(custom={"backroom": stack_group()})
    offer = answer(resolve(groups, standalone(PID_3750, identified=False)))
    assert offer.action is OfferAction.IDENTIFY and offer.has_options
    assert offer.director_ip == DIRECTOR
    assert (offer.imagelist_file, offer.config_file, offer.tftp_server, offer.hostname) == (
        None,
        None,
        None,
        None,
    )


def test_a_replacement_with_a_backup_is_installed_at_once() -> None:
    # "Replacing a Client Switch": the backup of the replaced switch is its configuration; the
    # director does not wait for a hello it may never get
    groups = GroupSettings(custom={"backroom": stack_group()})
    assignment = resolve(groups, standalone(PID_3750, identified=False))
    offer = answer(assignment, replacing=True, replacement_backup="vstack/old-0050.5603.0009.REV2")
    assert offer.action is OfferAction.INSTALL
    assert offer.config_file == "vstack/old-0050.5603.0009.REV2"


@pytest.mark.parametrize(
    ("state", "action"),
    [(JoinState.DENIED, OfferAction.DENY), (JoinState.HOLD, OfferAction.HOLD)],
)
def test_the_join_window_comes_first(state: JoinState, action: OfferAction) -> None:
    groups = GroupSettings(custom={"backroom": stack_group()})
    offer = answer(resolve(groups, standalone(PID_3750, identified=False)), join_state=state)
    assert offer.action is action and not offer.has_options


def test_nothing_for_a_stack_is_the_director_address_alone() -> None:
    # before its hello the stack may have been answered as a standalone 3750 (the 3750 default):
    # the answer with the director's address alone replaces that one
    assignment = resolve(default_of(image=C3750), stack_of(PID_3750))
    alone = answer(resolve(default_of(image=C2960X), standalone(PID_3750)))
    assert alone.action is OfferAction.NOTHING and not alone.has_options
    again = answer(assignment, stack=True)
    assert again.action is OfferAction.NOTHING and again.has_options
    assert again.director_ip == DIRECTOR and again.imagelist_file is None
    assert again.config_file is None and again.hostname is None


@given(st.sampled_from(PIDS), st.booleans(), st.booleans())
def test_options_name_files_only_when_installing(pid: str, known: bool, stack: bool) -> None:
    groups = GroupSettings(default=GroupFiles(image=C2960X), custom={"backroom": stack_group()})
    offer = answer(resolve(groups, standalone(pid, identified=known)), stack=stack)
    if offer.action is OfferAction.INSTALL:
        assert offer.imagelist_file and offer.has_options
    else:
        assert offer.imagelist_file is None and offer.config_file is None
        assert offer.has_options is (offer.director_ip is not None)
