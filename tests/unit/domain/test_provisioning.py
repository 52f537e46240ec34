"""The zero-touch DHCP decision (guide: "Adding a Client Switch to the Network",
"Zero-Touch Installation", "Configuration Guidelines and Recommendations")."""

from __future__ import annotations

import pytest

from smartinstall.domain.devices import JoinState, StackMember
from smartinstall.domain.groups import (
    ClientFacts,
    CustomGroup,
    GroupFiles,
    GroupKind,
    GroupSettings,
    resolve,
)
from smartinstall.domain.provisioning import ClientContext, OfferAction, decide_offer

MAC = "0050.5601.0001"
DEFAULT = GroupSettings(default=GroupFiles("flash:c2960x.tar", "flash:seed.txt", "flash:post.txt"))


def offer(state: JoinState = JoinState.ALLOWED, groups: GroupSettings = DEFAULT, **kw: object):  # type: ignore[no-untyped-def]
    assignment = resolve(groups, ClientFacts(mac=MAC, pid="WS-C2960X-48FPS-L"))
    context = ClientContext(mac=MAC, join_state=state, **kw)  # type: ignore[arg-type]
    return decide_offer(assignment, context, "127.20.0.1", hostname_prefix="STORE")


def test_allowed_client_gets_every_option() -> None:
    result = offer()
    assert result.action is OfferAction.INSTALL
    assert result.imagelist_file == "vstack/imagelist-default.txt"
    assert result.imagelist == "c2960x.tar\n"
    assert result.config_file == "seed.txt"
    assert result.tftp_server == "127.20.0.1"
    assert result.director_ip == "127.20.0.1"
    assert result.hostname == "STORE-01.0001"
    assert result.script == "flash:post.txt"


@pytest.mark.parametrize(
    ("state", "action"), [(JoinState.DENIED, OfferAction.DENY), (JoinState.HOLD, OfferAction.HOLD)]
)
def test_denied_and_held_clients_get_no_options(state: JoinState, action: OfferAction) -> None:
    result = offer(state)
    assert result.action is action and not result.has_options
    assert result.imagelist_file is None and result.config_file is None


def test_one_hop_at_a_time() -> None:
    # "The director cannot update switches in hop 2 while it is upgrading switches in hop 1."
    assert offer(hop=2, busy_hops=frozenset({1})).action is OfferAction.WAIT
    assert offer(hop=1, busy_hops=frozenset({1})).action is OfferAction.INSTALL
    assert offer(hop=2, busy_hops=frozenset({2, 3})).action is OfferAction.INSTALL


def test_backup_of_this_client_wins_over_seed() -> None:
    result = offer(last_backup="vstack/sw-0050.5601.0001.REV2")
    assert result.config_file == "vstack/sw-0050.5601.0001.REV2"


def test_replacement_gets_last_backup_or_seed() -> None:
    with_backup = offer(replacing=True, replacement_backup="vstack/old-0050.5601.0009.REV2")
    assert with_backup.config_file == "vstack/old-0050.5601.0009.REV2"
    without = offer(replacing=True)
    assert without.config_file == "seed.txt"


def test_image_only_group_with_backup_boots_with_backup() -> None:
    groups = GroupSettings(default=GroupFiles(image="flash:c2960x.tar"))
    result = offer(groups=groups, last_backup="vstack/sw-0050.5601.0001.REV2")
    assert result.imagelist == "c2960x.tar\n"
    assert result.config_file == "vstack/sw-0050.5601.0001.REV2"
    plain = offer(groups=groups)
    assert plain.config_file is None and plain.action is OfferAction.INSTALL


def test_legacy_client_gets_the_tailored_configuration() -> None:
    result = offer(legacy=True)
    assert result.tailored and result.config_file == "vstack/tailored-0050.5601.0001.txt"


def test_nothing_configured() -> None:
    result = offer(groups=GroupSettings())
    assert result.action is OfferAction.NOTHING
    assert "no image or configuration" in result.reasons[-1]


def test_remote_config_names_its_tftp_server() -> None:
    groups = GroupSettings(default=GroupFiles(config="tftp://101.122.33.10/cfg/2960.txt"))
    result = offer(groups=groups)
    assert result.config_file == "cfg/2960.txt" and result.tftp_server == "101.122.33.10"


def test_stack_imagelist_is_per_device() -> None:
    group = CustomGroup("stk", GroupKind.STACK, GroupFiles("flash:c3750.tar", "flash:s.txt"))
    group.add_match(["1", "3750", "24poe"])
    members = tuple(StackMember(n, "WS-C3750-24PS-S", f"0050.5603.000{n}") for n in (1, 2))
    assignment = resolve(GroupSettings(custom={"stk": group}), ClientFacts(MAC, members=members))
    result = decide_offer(assignment, ClientContext(MAC, JoinState.ALLOWED), "127.20.0.1")
    assert result.imagelist == "c3750.tar\nc3750.tar\n"
    assert result.imagelist_file == "vstack/imagelist-stk-0050.5601.0001.txt"
