"""Group rows by SNMP SET (services/snmp_groups.py through the bridge): a custom group made
of its profile row and match rows in one request, a match added, changed and destroyed, the
name and files of a custom or built-in group changed in place as `image` / `config` in the
group change them, a group destroyed; refusals leave the groups as they were (docs/snmp.md,
section 4)."""

from __future__ import annotations

from typing import Any

import pytest
from pysnmp.proto import rfc1902

from smartinstall.domain.groups import GroupKind
from smartinstall.services.snmp import SetRefused
from tests.unit.director.test_snmp_bridge import bridge

CSI = (1, 3, 6, 1, 4, 1, 9, 9, 725)
PROFILE = (*CSI, 1, 2, 5, 1)
MATCH = (*CSI, 1, 2, 6, 1)
GO, DESTROY = rfc1902.Integer32(4), rfc1902.Integer32(6)


def text(value: str) -> rfc1902.OctetString:
    return rfc1902.OctetString(value.encode())


def new_mac_group(row: int = 2) -> list[tuple[tuple[int, ...], Any]]:
    return [
        ((*PROFILE, 2, row), text("pharmacy")),
        ((*PROFILE, 3, row), text("flash:c2960x.tar")),
        ((*PROFILE, 5, row), text("flash:pharmacy.txt")),
        ((*PROFILE, 7, row), GO),
        ((*MATCH, 2, row, 1), rfc1902.Integer32(2)),
        ((*MATCH, 3, row, 1), rfc1902.OctetString(bytes.fromhex("005056aa0001"))),
        ((*MATCH, 11, row, 1), GO),
    ]


def test_custom_group_made_extended_and_destroyed() -> None:
    snmp, daemon = bridge()
    snmp.write(new_mac_group(), True)
    group = daemon.settings.groups.custom["pharmacy"]
    assert group.kind is GroupKind.MAC and group.macs == ["0050.56aa.0001"]
    assert (group.files.image, group.files.config) == ("flash:c2960x.tar", "flash:pharmacy.txt")
    lines = daemon.settings.render()
    assert "vstack group custom pharmacy mac" in lines and " match mac 0050.56aa.0001" in lines
    # one more match (row 2 of the group), then the first one destroyed
    snmp.write(
        [((*MATCH, 3, 2, 2), rfc1902.OctetString(bytes.fromhex("005056aa0002"))),
         ((*MATCH, 11, 2, 2), GO)], True,
    )  # fmt: skip
    group = daemon.settings.groups.custom["pharmacy"]
    assert group.macs == ["0050.56aa.0001", "0050.56aa.0002"]
    snmp.write([((*MATCH, 11, 2, 1), DESTROY)], True)
    assert daemon.settings.groups.custom["pharmacy"].macs == ["0050.56aa.0002"]
    snmp.write([((*PROFILE, 7, 2), DESTROY)], True)
    assert "pharmacy" not in daemon.settings.groups.custom


def test_connectivity_and_stack_groups() -> None:
    snmp, daemon = bridge()
    snmp.write(
        [((*PROFILE, 2, 2), text("uplink")), ((*PROFILE, 7, 2), GO),
         ((*MATCH, 2, 2, 1), rfc1902.Integer32(3)),
         ((*MATCH, 5, 2, 1), rfc1902.OctetString(bytes([10, 0, 0, 2]))),
         ((*MATCH, 6, 2, 1), text("GigabitEthernet1/0/1")), ((*MATCH, 11, 2, 1), GO)],
        True,
    )  # fmt: skip
    snmp.write(
        [((*PROFILE, 2, 3), text("stack")), ((*PROFILE, 7, 3), GO),
         ((*MATCH, 2, 3, 1), rfc1902.Integer32(5)), ((*MATCH, 8, 3, 1), rfc1902.Unsigned32(1)),
         ((*MATCH, 9, 3, 1), text("3750e 24poe")), ((*MATCH, 11, 3, 1), GO)],
        True,
    )  # fmt: skip
    custom = daemon.settings.groups.custom
    assert custom["uplink"].hosts[0].host == "10.0.0.2"
    assert custom["stack"].stack[0].member == 1


@pytest.mark.parametrize(
    ("change", "status"),
    [
        (lambda b: [(o, v) for o, v in b if o[-3:] != (11, 2, 1) and o[-4:-2] != (2,)][:4],
         "inconsistentValue"),  # no match rows
        (lambda b: [((*o[:-1], 5) if o[: len(PROFILE)] == PROFILE else o, v) for o, v in b],
         "inconsistentValue"),  # not the next free index
        (lambda b: [*b[:5], ((*MATCH, 3, 2, 1), rfc1902.OctetString(b"\x00\x01")), b[6]],
         "wrongLength"),
        (lambda b: [*b[:4], ((*MATCH, 2, 2, 1), rfc1902.Integer32(9)), *b[5:]], "wrongValue"),
        (lambda b: [(o, text("../../etc") if o[-2:] == (3, 2) else v) for o, v in b],
         "wrongValue"),
        (lambda b: [((*PROFILE, 3, 9), text("x"))], "noCreation"),
        (lambda b: [((*PROFILE, 1, 2), text("x"))], "notWritable"),
        (lambda b: [*b[:4], ((*MATCH, 2, 2, 1), rfc1902.Integer32(5)),
                    ((*MATCH, 8, 2, 1), rfc1902.Unsigned32(1)),
                    ((*MATCH, 9, 2, 1), text("3750e 99x")), b[6]], "wrongValue"),
        (lambda b: [((*PROFILE, 7, 9), DESTROY)], "noCreation"),
        (lambda b: [((*MATCH, 11, 9, 1), GO)], "noCreation"),
    ],
)  # fmt: skip
def test_refused_group_sets_change_nothing(change: Any, status: str) -> None:
    snmp, daemon = bridge()
    before = daemon.settings.render()
    with pytest.raises(SetRefused) as refused:
        snmp.write(change(new_mac_group()), False)
    assert refused.value.status == status, refused.value
    assert daemon.settings.render() == before


STACK_IMAGE = "flash:c3750e-universalk9-tar.122-55.SE.tar"
SECOND_IMAGE = "flash:c2960x-universalk9-tar.152-2.E.tar"


def with_groups() -> tuple[Any, Any]:
    """A built-in group (row 2), the MAC group "pharmacy" (row 3) and a mixed stack group
    "mixed" (row 4) of a 3750-E and a 2960-X."""
    snmp, daemon = bridge()
    daemon.settings.builtin_group("3750e", "24poe")
    snmp.write(new_mac_group(3), True)
    snmp.write(
        [((*PROFILE, 2, 4), text("mixed")), ((*PROFILE, 3, 4), text(STACK_IMAGE)),
         ((*PROFILE, 4, 4), text(SECOND_IMAGE)), ((*PROFILE, 7, 4), GO),
         ((*MATCH, 2, 4, 1), rfc1902.Integer32(5)), ((*MATCH, 8, 4, 1), rfc1902.Unsigned32(1)),
         ((*MATCH, 9, 4, 1), text("3750e 24poe")), ((*MATCH, 11, 4, 1), GO),
         ((*MATCH, 8, 4, 2), rfc1902.Unsigned32(2)),
         ((*MATCH, 9, 4, 2), text("2960x 24poe-4sfp-lb")), ((*MATCH, 11, 4, 2), GO)],
        True,
    )  # fmt: skip
    return snmp, daemon


def test_stack_group_made_with_its_second_image() -> None:
    _, daemon = with_groups()
    mixed = daemon.settings.groups.custom["mixed"]
    assert mixed.files.image == STACK_IMAGE
    assert mixed.files.family_images == {"2960x": SECOND_IMAGE}
    assert f" image {SECOND_IMAGE} family 2960x" in daemon.settings.render()


def test_files_of_an_existing_custom_group_change_as_the_cli_changes_them() -> None:
    snmp, daemon = with_groups()
    changed = len(daemon.changed)
    # RowStatus left out, then active(1) with the columns: both change the active row
    snmp.write([((*PROFILE, 5, 3), text("tftp://10.0.0.9/pharmacy-v2.txt"))], True)
    snmp.write(
        [((*PROFILE, 3, 3), text("flash:c2960x-new.tar")),
         ((*PROFILE, 7, 3), rfc1902.Integer32(1)), ((*PROFILE, 6, 3), rfc1902.Integer32(3))],
        True,
    )  # fmt: skip
    group = daemon.settings.groups.custom["pharmacy"]
    assert group.files.config == "tftp://10.0.0.9/pharmacy-v2.txt"
    assert group.files.image == "flash:c2960x-new.tar"
    lines = daemon.settings.render()
    at = lines.index("vstack group custom pharmacy mac")
    assert " config tftp://10.0.0.9/pharmacy-v2.txt" in lines[at:]
    assert len(daemon.changed) == changed + 2
    # an empty value is `no config`
    snmp.write([((*PROFILE, 5, 3), text(""))], True)
    assert daemon.settings.groups.custom["pharmacy"].files.config is None
    assert not any(line.startswith(" config") for line in daemon.settings.render())


def test_second_image_of_a_stack_group_replaced_and_removed() -> None:
    snmp, daemon = with_groups()
    snmp.write([((*PROFILE, 4, 4), text("tftp://10.0.0.9/c2960x-v2.tar"))], True)
    files = daemon.settings.groups.custom["mixed"].files
    assert files.family_images == {"2960x": "tftp://10.0.0.9/c2960x-v2.tar"}
    snmp.write([((*PROFILE, 4, 4), text(""))], True)
    assert daemon.settings.groups.custom["mixed"].files.family_images == {}
    assert " family " not in "\n".join(daemon.settings.render())


def test_builtin_group_files_as_vstack_group_built_in() -> None:
    snmp, daemon = with_groups()
    snmp.write(
        [((*PROFILE, 2, 2), text("3750e 24poe")), ((*PROFILE, 3, 2), text(STACK_IMAGE)),
         ((*PROFILE, 5, 2), text("flash:3750e.txt"))],
        True,
    )  # fmt: skip
    lines = daemon.settings.render()
    at = lines.index("vstack group built-in 3750e 24poe")
    assert lines[at + 1 : at + 3] == [f" image {STACK_IMAGE}", " config flash:3750e.txt"]


def test_group_renamed_in_place() -> None:
    snmp, daemon = with_groups()
    snmp.write([((*PROFILE, 2, 3), text("clinic"))], True)
    assert list(daemon.settings.groups.custom) == ["clinic", "mixed"]
    assert "vstack group custom clinic mac" in daemon.settings.render()
    # the new name and its files in one request
    snmp.write([((*PROFILE, 2, 3), text("ward")), ((*PROFILE, 5, 3), text("flash:w.txt"))], True)
    assert daemon.settings.groups.custom["ward"].files.config == "flash:w.txt"


def test_match_rows_changed_in_place() -> None:
    snmp, daemon = with_groups()
    snmp.write([((*MATCH, 3, 3, 1), rfc1902.OctetString(bytes.fromhex("005056aa0009")))], True)
    assert daemon.settings.groups.custom["pharmacy"].macs == ["0050.56aa.0009"]
    snmp.write(
        [((*MATCH, 9, 4, 2), text("2960x 48poe-2sfp-lb")),
         ((*MATCH, 11, 4, 2), rfc1902.Integer32(1))],
        True,
    )  # fmt: skip
    stack = daemon.settings.groups.custom["mixed"].stack
    assert [(m.member, m.key.port_config) for m in stack] == [(1, "24poe"), (2, "48poe-2sfp-lb")]
    assert " match 2 2960x 48poe-2sfp-lb" in daemon.settings.render()


@pytest.mark.parametrize(
    ("binds", "status"),
    [
        ([((*PROFILE, 5, 3), text("flash:../etc/passwd"))], "wrongValue"),
        ([((*PROFILE, 5, 3), text("ftp://10.0.0.9/x.txt"))], "wrongValue"),
        ([((*PROFILE, 5, 3), text("flash:a b.txt"))], "wrongValue"),
        ([((*PROFILE, 3, 3), rfc1902.Integer32(7))], "wrongType"),
        ([((*PROFILE, 5, 3), text("flash:" + "x" * 250))], "wrongLength"),
        ([((*PROFILE, 2, 3), text("n" * 65))], "wrongLength"),
        ([((*PROFILE, 2, 3), text("n" * 40))], "wrongValue"),
        ([((*PROFILE, 2, 3), text("has space"))], "wrongValue"),
        ([((*PROFILE, 2, 3), text("mixed"))], "inconsistentValue"),
        ([((*PROFILE, 2, 2), text("2960x 24poe-4sfp-lb"))], "inconsistentValue"),
        ([((*PROFILE, 6, 3), rfc1902.Integer32(2))], "wrongValue"),
        ([((*PROFILE, 7, 3), rfc1902.Integer32(5))], "wrongValue"),
        ([((*PROFILE, 7, 3), rfc1902.Integer32(2))], "wrongValue"),
        ([((*PROFILE, 7, 3), GO)], "inconsistentValue"),
        ([((*PROFILE, 8, 3), text("x"))], "notWritable"),
        ([((*PROFILE, 4, 3), text(SECOND_IMAGE))], "inconsistentValue"),
        ([((*PROFILE, 4, 2), text(SECOND_IMAGE))], "inconsistentValue"),
        ([((*PROFILE, 5, 3), text("flash:ok.txt")), ((*PROFILE, 3, 3), text("usb"))],
         "wrongValue"),
        ([((*MATCH, 2, 3, 1), rfc1902.Integer32(4))], "inconsistentValue"),
        ([((*MATCH, 3, 3, 1), text("0050"))], "wrongLength"),
        ([((*MATCH, 8, 4, 2), rfc1902.Unsigned32(1))], "inconsistentValue"),
        ([((*MATCH, 8, 4, 2), rfc1902.Unsigned32(12))], "wrongValue"),
        ([((*MATCH, 4, 3, 1), rfc1902.Integer32(2))], "wrongValue"),
        ([((*MATCH, 11, 3, 1), GO)], "inconsistentValue"),
        ([((*MATCH, 3, 3, 5), rfc1902.OctetString(bytes(6)))], "noCreation"),
    ],
)  # fmt: skip
def test_refused_changes_of_existing_rows(binds: Any, status: str) -> None:
    snmp, daemon = with_groups()
    before = daemon.settings.render()
    with pytest.raises(SetRefused) as refused:
        snmp.write(binds, False)
    assert refused.value.status == status, refused.value
    assert getattr(refused.value, "index", None) == len(binds) - 1
    assert daemon.settings.render() == before


def test_second_image_needs_a_family_its_name_tells() -> None:
    """A stack group without a second image: the family comes from the image's name and the
    group's members; a name that tells none is refused (the CLI's `image … family …` says it)."""
    snmp, daemon = with_groups()
    snmp.write([((*PROFILE, 4, 4), text(""))], True)
    before = daemon.settings.render()
    with pytest.raises(SetRefused) as refused:
        snmp.write([((*PROFILE, 4, 4), text("flash:renamed.tar"))], False)
    assert refused.value.status == "inconsistentValue"
    assert daemon.settings.render() == before
    snmp.write([((*PROFILE, 4, 4), text("tftp://10.0.0.9/c2960x-lanbase.tar"))], True)
    files = daemon.settings.groups.custom["mixed"].files
    assert files.family_images == {"2960x": "tftp://10.0.0.9/c2960x-lanbase.tar"}
