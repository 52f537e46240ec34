"""Built-in groups catalogue, checked against the Smart Install Configuration Guide.

Section names in test names and comments refer to the guide
(``../shared/spec/smart-install-guide.txt``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from smartinstall.domain import catalog
from smartinstall.domain.catalog import (
    FAMILIES,
    SUPERVISORS,
    BuiltinKey,
    CatalogError,
    builtin_key,
    builtin_key_for_pid,
    family,
    family_for_pid,
    keys_matching,
)

GUIDE = Path(__file__).resolve().parents[3] / ".." / "shared" / "spec" / "smart-install-guide.txt"

# "Configuring a Group for Standalone Catalyst 4500 Series Switch": `vstack group built-in ?`
GUIDE_FAMILIES = [
    "1783",
    "1783BMS",
    "2918",
    "2960",
    "2960c",
    "2960cg",
    "2960g",
    "2960plus",
    "2960s",
    "2960s-fe",
    "2960x",
    "2960xr",
    "2975",
    "3560",
    "3560c",
    "3560cg",
    "3560e",
    "3560g",
    "3560x",
    "3650",
    "3750",
    "3750e",
    "3750g",
    "3750x",
    "3850",
    "4500",
    "4500x",
    "4900",
    "IE2000",
    "IE3000",
    "IE3010",
    "nme-es",
    "sm-d-es2",
    "sm-d-es3",
    "sm-d-es3g",
    "sm-es2",
    "sm-es3",
    "sm-es3g",
]


def test_families_are_those_of_vstack_group_built_in_help_in_order() -> None:
    # "Configuring a Group for Standalone Catalyst 4500 Series Switch", `vstack group built-in ?`
    assert list(FAMILIES) == GUIDE_FAMILIES
    for name, fam in FAMILIES.items():
        assert fam.name == name
        assert fam.help == f"{name} product family"
        assert fam.chassis_based == (name == "4500")


def test_families_match_the_guide_text_when_present() -> None:
    if not GUIDE.exists():
        pytest.skip(f"guide not found at {GUIDE}")
    text = GUIDE.read_text(encoding="utf-8")
    # the first full `vstack group built-in ?` listing (the 3.6.0E one, with 4500/4500x/4900)
    start = text.index("Switch(config)# vstack group built-in ?")
    block = text[start:].split("\n", 1)[1]
    seen: list[tuple[str, str]] = []
    for line in block.splitlines():
        m = re.fullmatch(r"\s*(\S+)\s+(\S+ product family)\s*", line)
        if m is None:
            break
        seen.append((m.group(1), m.group(2)))
    assert [name for name, _ in seen] == list(FAMILIES)
    assert [hlp for _, hlp in seen] == [f.help for f in FAMILIES.values()]


def test_supervisors_of_vstack_group_built_in_4500_help() -> None:
    # same section: `vstack group built-in 4500 ?`
    assert list(SUPERVISORS) == ["sup6-e", "sup61-e", "sup7-e", "sup71-e", "sup8-e"]
    for name, sup in SUPERVISORS.items():
        assert sup.help == f"{name} supervisor"
    assert {s.part_numbers for s in SUPERVISORS.values()} == {
        ("WS-X45-SUP6-E",),
        ("WS-X45-SUP6L-E",),
        ("WS-X45-SUP7-E",),
        ("WS-X45-SUP7L-E",),
        ("WS-X45-SUP8-E",),
    }


# Appendix B, Table 2-1 "Compatibility between Catalyst 4500 Switch Supervisor Engine and
# Chassis" (6L-E = sup61-e, 7L-E = sup71-e).
@pytest.mark.parametrize(
    ("sup", "chassis"),
    [
        ("sup6-e", ("4503", "4506", "4507r+e", "4507r-e", "4510r+e", "4510r-e")),
        ("sup61-e", ("4503", "4506", "4507r+e", "4507r-e")),
        ("sup7-e", ("4503", "4506", "4507r+e", "4507r-e", "4510r+e", "4510r-e")),
        ("sup71-e", ("4503", "4506", "4507r+e", "4507r-e")),
    ],
)
def test_table_2_1_supervisor_chassis(sup: str, chassis: tuple[str, ...]) -> None:
    assert SUPERVISORS[sup].chassis == chassis


def test_sup8e_follows_the_cli_examples_not_table_2_1() -> None:
    # Table 2-1 gives the Supervisor Engine 8-E 4503, 4506, 4507R+E, 4507R-E; the CLI examples
    # (`vstack group built-in 4500 sup8-e ?` and `show vstack group built-in 4500 sup8-e
    # detail`, which prints sup8-e 4503 / 4506 / 4507r+e / 4510r+e) disagree.  We follow the CLI.
    assert SUPERVISORS["sup8-e"].chassis == ("4503", "4506", "4507r+e", "4510r+e")
    assert builtin_key("4500", "sup8-e", "4510r+e").label() == "sup8-e 4510r+e"
    with pytest.raises(CatalogError, match="4507r-e"):
        builtin_key("4500", "sup8-e", "4507r-e")


def test_chassis_help_and_all() -> None:
    # `vstack group built-in 4500 sup8-e ?`: "4503 chassis type" ... "all Configure all
    # Chassis for this Sup"
    for c in SUPERVISORS["sup8-e"].chassis:
        assert catalog.chassis(c).help == f"{c} chassis type"
    assert catalog.ALL_CHASSIS_HELP == "Configure all Chassis for this Sup"


# The guide's examples of built-in groups.
@pytest.mark.parametrize(
    ("args", "label"),
    [
        (("3560", "24"), "3560 24"),  # "Configuring Built-In Groups" example
        (("2960", "24"), "2960 24"),  # same example
        (("3560", "8poe"), "3560 8poe"),  # command reference, vstack group built-in example
        (("3750", "24poe"), "3750 24poe"),  # stack group example: match 1 3750 24poe
        (("3750", "24"), "3750 24"),  # on-demand: vstack download-image built-in 3750 24
        (("2960xr", "24-2sfp-il"), "2960xr 24-2sfp-il"),  # "Support for Post-install ..."
        (("4500", "sup6-e", "4507r-e"), "sup6-e 4507r-e"),  # 4500 section, first example
        (("4500", "sup8-e", "4506"), "sup8-e 4506"),  # "Group Name: sup8-e 4506"
        (("4500", "sup8-e", "4503"), "sup8-e 4503"),  # show vst group built-in 4500 sup8-e 4503
        (("4500", "sup8-e", "4507r+e"), "sup8-e 4507r+e"),  # vstack download-image ... 4507r+e
    ],
)
def test_guide_examples_are_valid_groups(args: tuple[str, ...], label: str) -> None:
    key = builtin_key(*args)
    assert key.label() == label
    assert keys_matching(key) == [key]


def test_all_expands_to_every_chassis_of_the_supervisor() -> None:
    # `show vst group built-in 4500 sup8-e de` lists the four sup8-e groups in this order
    key = builtin_key("4500", "sup8-e", "all")
    assert [k.label() for k in keys_matching(key)] == [
        "sup8-e 4503",
        "sup8-e 4506",
        "sup8-e 4507r+e",
        "sup8-e 4510r+e",
    ]
    assert len(keys_matching(builtin_key("4500", "sup7-e", "all"))) == 6


def test_keys_matching_rejects_invalid_keys() -> None:
    with pytest.raises(CatalogError, match="'99'"):
        keys_matching(BuiltinKey("3750", "99"))


def test_builtin_keys_sort() -> None:
    keys = [builtin_key("3750", "48"), builtin_key("2960", "24"), builtin_key("3750", "24")]
    assert [k.label() for k in sorted(keys)] == ["2960 24", "3750 24", "3750 48"]


# Appendix B, Table 2-2 "Compatibility between Catalyst 2k and 3k Chassis, SKU ID, and SKI":
# (chassis row, SKU ID, expected family, expected port configuration).
TABLE_2_2 = [
    ("3560", "3560_48_POE", "3560", "48poe"),
    ("3560", "3560_24_POE", "3560", "24poe"),
    ("3560", "3560_48", "3560", "48"),
    ("3560", "3560_24", "3560", "24"),
    ("3560", "3560_12", "3560", "12"),
    ("3560", "3560_8", "3560", "8poe"),  # SKI: "3560 8 port POE" (and the `3560 8poe` example)
    ("3560E", "3560_48_POE", "3560e", "48poe"),
    ("3560E", "3560_24_POE", "3560e", "24poe"),
    ("3560E", "3560_48", "3560e", "48"),
    ("3560E", "3560_24", "3560e", "24"),
    ("3560E", "3560E_12_10gig", "3560e", "12-10gig"),
    ("3750", "3750_48_POE", "3750", "48poe"),
    ("3750", "3750_24_POE", "3750", "24poe"),
    ("3750", "3750_48", "3750", "48"),
    ("3750", "3750_24", "3750", "24"),
    ("3750E", "3750E_48_POE", "3750e", "48poe"),
    ("3750E", "3750E_24_POE", "3750e", "24poe"),
    ("3750E", "3750E_48", "3750e", "48"),
    ("3750E", "3750E_24", "3750e", "24"),
    ("2918", "2918_24", "2918", "24"),
    ("2918", "2918_48", "2918", "48"),
    ("2960 LAN Base", "2960_48", "2960", "48"),
    ("2960 LAN Base", "2960_24", "2960", "24"),
    ("2960 LAN Base", "2960_48_POE", "2960", "48poe"),
    ("2960 LAN Base", "2960_24_POE", "2960", "24poe"),
    ("2960 LAN Base", "2960_24_8_POE", "2960", "24-8poe"),
    ("2960 LAN Base", "2960_8_POE_PD", "2960", "8poe-pd"),
    ("2960 LAN Base", "2960_8", "2960", "8"),
    # the Gigabit models have their own family keyword, 2960g
    ("2960 LAN Base", "2960_8_gig", "2960g", "8"),
    ("2960 LAN Base", "2960_24_gig", "2960g", "24"),
    ("2960 LAN Base", "2960_48_gig", "2960g", "48"),
    ("2960 LAN-lite", "2960_8_LL", "2960", "8-ll"),
    ("2960 LAN-lite", "2960_24_LL_nouplink", "2960", "24-ll-nouplink"),
    ("2960 LAN-lite", "2960_24_LL", "2960", "24-ll"),
    ("2960 LAN-lite", "2960_48_LL", "2960", "48-ll"),
    ("2975 2K Stackable", "2975_48_poe", "2975", "48poe"),
    ("2960X LAN Base", "2960X-24PD-L", "2960x", "24poe-2sfp-lb"),
    ("2960X LAN Base", "2960X-24PS-L", "2960x", "24poe-4sfp-lb"),
    ("2960X LAN Base", "2960X-24PSQ-L", "2960x", "24-8poe-2sfp-lb"),
    ("2960X LAN Base", "2960X-24TD-L", "2960x", "24-2sfp-lb"),
    ("2960X LAN Base", "2960X-24TS-L", "2960x", "24-4sfp-lb"),
    ("2960X LAN Base", "2960X-48FPD-L", "2960x", "48poe-2sfp-lb"),
    ("2960X LAN Base", "2960X-48FPS-L", "2960x", "48poe-4sfp-lb"),
    ("2960X LAN Base", "2960X-48LPD-L", "2960x", "48poe-2sfp-lb"),
    ("2960X LAN Base", "2960X-48LPS-L", "2960x", "48poe-4sfp-lb"),
    ("2960X LAN Base", "2960X-48TD-L", "2960x", "48-2sfp-lb"),
    # SKI says "48 ports, 2 SFP", but S is the four-SFP uplink letter on LAN Base (24TS-L:
    # "24 ports, 4 SFP"); the product-ID grammar is followed.
    ("2960X LAN Base", "2960X-48TS-L", "2960x", "48-4sfp-lb"),
    ("2960X LAN Lite", "2960X-24TS-LL", "2960x", "24-2sfp-ll"),
    ("2960X LAN Lite", "2960X-48TS-LL", "2960x", "48-2sfp-ll"),
    ("2960XR- IP Lite", "2960XR-48FPD-I", "2960xr", "48poe-2sfp-il"),
    ("2960XR- IP Lite", "2960XR-48LPD-I", "2960xr", "48poe-2sfp-il"),
    ("2960XR- IP Lite", "2960XR-24PD-I", "2960xr", "24poe-2sfp-il"),
    # SKI says "PoE", but T is the copper (non-PoE) type letter; the grammar is followed.
    ("2960XR- IP Lite", "2960XR-48TD-I", "2960xr", "48-2sfp-il"),
    ("2960XR- IP Lite", "2960XR-24TD-I", "2960xr", "24-2sfp-il"),  # the guide's example group
    ("2960XR- IP Lite", "2960XR-48FPS-I", "2960xr", "48poe-4sfp-il"),
    ("2960XR- IP Lite", "2960XR-48LPS-I", "2960xr", "48poe-4sfp-il"),
    ("2960XR- IP Lite", "2960XR-24PS-I", "2960xr", "24poe-4sfp-il"),
    ("2960XR- IP Lite", "2960XR-48TS-I", "2960xr", "48-4sfp-il"),
    ("2960XR- IP Lite", "2960XR-24TS-I", "2960xr", "24-4sfp-il"),
    ("3850", "WS-C3850-24T", "3850", "24"),
    ("3850", "WS-C3850-48T", "3850", "48"),
    ("3850", "WS-C3850-24P", "3850", "24poe"),
    ("3850", "WS-C3850-48P", "3850", "48poe"),
    ("3850", "WS-C3850-48F", "3850", "48poe"),
    ("3850", "WS-C3850-24U", "3850", "24upoe"),
    ("3850", "WS-C3850-48U", "3850", "48upoe"),
    ("3850", "WS-C3850-12S", "3850", "12sfp"),
    ("3850", "WS-C3850-24S", "3850", "24sfp"),
    ("3650", "WS-C3650-24TS", "3650", "24"),
    ("3650", "WS-C3650-48TS", "3650", "48"),
    ("3650", "WS-C3650-24PS", "3650", "24poe"),
    ("3650", "WS-C3650-48PS", "3650", "48poe"),
    ("3650", "WS-C3650-48FS", "3650", "48poe"),
    ("3650", "WS-C3650-24TD", "3650", "24"),
    ("3650", "WS-C3650-24PD", "3650", "24poe"),
    ("3650", "WS-C3650-48PD", "3650", "48poe"),
    ("3650", "WS-C3650-48FD", "3650", "48poe"),
    ("3650", "WS-C3650-48TQ", "3650", "48"),
    ("3650", "WS-C3650-48PQ", "3650", "48poe"),
    ("3650", "WS-C3650-48FQ", "3650", "48poe"),
    ("IE2000 LAN Lite", "IE-2000-4TS-L1", "IE2000", "4ts"),  # "L1": license L, footnote 1
    ("IE2000 LAN Lite", "IE-2000-4T-L", "IE2000", "4t"),
    ("IE2000 LAN Lite", "IE-2000-4TS-G-L", "IE2000", "4ts-g"),
    ("IE2000 LAN Lite", "IE-2000-4T-G-L", "IE2000", "4t-g"),
    ("IE2000 LAN Lite", "IE-2000-4S-TS-G-L", "IE2000", "4s-ts-g"),
    ("IE2000 LAN Lite", "IE-2000-8TC-L", "IE2000", "8tc"),
    ("IE2000 LAN Lite", "IE-2000-8TC-G-L", "IE2000", "8tc-g"),
    ("IE2000 LAN Lite", "IE-2000-16TC-L", "IE2000", "16tc"),
    ("IE2000 LAN Lite", "IE-2000-16TC-G-L", "IE2000", "16tc-g"),
    ("IE2000 LAN Lite", "IE-2000-16PTC-G-L", "IE2000", "16ptc-g"),
    ("IE2000 LAN Base", "IE-2000-4TS-B", "IE2000", "4ts"),
    ("IE2000 LAN Base", "IE-2000-4T-B", "IE2000", "4t"),
    ("IE2000 LAN Base", "IE-2000-4TS-G-B", "IE2000", "4ts-g"),
    ("IE2000 LAN Base", "IE-2000-4T-G-B", "IE2000", "4t-g"),
    ("IE2000 LAN Base", "IE-2000-4S-TS-G-B", "IE2000", "4s-ts-g"),
    ("IE2000 LAN Base", "IE-2000-8TC-B", "IE2000", "8tc"),
    ("IE2000 LAN Base", "IE-2000-8TC-G-B", "IE2000", "8tc-g"),
    ("IE2000 LAN Base", "IE-2000-8TC-G-E", "IE2000", "8tc-g"),
    ("IE2000 LAN Base", "IE-2000-16TC-B", "IE2000", "16tc"),
    ("IE2000 LAN Base", "IE-2000-16TC-G-E", "IE2000", "16tc-g"),
    ("IE2000 LAN Base", "IE-2000-16TC-G-X", "IE2000", "16tc-g"),
    ("IE2000 LAN Base", "IE-2000-16PTC-G-E", "IE2000", "16ptc-g"),
    ("IE2000 Enhanced LAN Base", "IE-2000-8TC-G-N", "IE2000", "8tc-g"),
    ("IE2000 Enhanced LAN Base", "IE-2000-16TC-G-N", "IE2000", "16tc-g"),
    ("IE2000 Enhanced LAN Base", "IE-2000-16PTC-G-NX", "IE2000", "16ptc-g"),
    ("IE-3000 LAN Base", "IE-3000-4TC", "IE3000", "4tc"),
    ("IE-3000 LAN Base", "IE-3000-8TC", "IE3000", "8tc"),
    ("IE-3010", "IE-3010-16S-8PC", "IE3010", "16s-8pc"),
    ("IE-3010", "IE-3010-24TC", "IE3010", "24tc"),
]


@pytest.mark.parametrize(("row", "sku", "fam", "port_config"), TABLE_2_2)
def test_appendix_b_table_2_2_sku_maps_to_builtin_group(
    row: str, sku: str, fam: str, port_config: str
) -> None:
    key = builtin_key(fam, port_config)  # the group exists in the catalogue
    got = builtin_key_for_pid(sku)
    assert got is not None, sku
    if row == "3560E" and sku.startswith("3560_"):
        # Table 2-2 repeats the 3560 SKU IDs under the 3560E chassis: the ID itself names the
        # 3560 family, the port configuration is the same in both.
        assert got == BuiltinKey("3560", port_config)
        return
    assert got == key
    assert family_for_pid(sku) == fam


def test_every_table_2_2_family_port_config_has_help_from_the_ski_column() -> None:
    # spot checks of the SKI texts used as `?` help
    assert FAMILIES["3560"].port_config("8poe").help == "3560 8 port POE"
    assert FAMILIES["2960"].port_config("24-8poe").help == "24 port SKU with 8 port POE"
    assert FAMILIES["2960xr"].port_config("24-2sfp-il").help == "24 ports, 2 SFP+"
    assert FAMILIES["IE3010"].port_config("16s-8pc").help == "16 ports, 8 PoE ports"


# Product IDs the guide shows for clients (show vstack status / client / group examples) and in
# "Configuring a Group for Standalone Catalyst 4500 Series Switch".
GUIDE_PIDS = [
    ("WS-C2960-48TC-S", BuiltinKey("2960", "48-ll")),  # -S: LAN Lite
    ("WS-C2960-48TC-L", BuiltinKey("2960", "48")),  # custom group example testgroup4
    ("WS-C3750E-24PD", BuiltinKey("3750e", "24poe")),
    ("WS-C3750E-24TD", BuiltinKey("3750e", "24")),
    ("WS-C3750E-48TD", BuiltinKey("3750e", "48")),
    ("WS-C3750-24TS", BuiltinKey("3750", "24")),
    ("WS-C3750G-24TS", BuiltinKey("3750g", "24")),
    ("WS-C3750G-24TS-1U", BuiltinKey("3750g", "24")),
    ("WS-C3750X-48P", BuiltinKey("3750x", "48poe")),
    ("WS-C3750X-24", BuiltinKey("3750x", "24")),
    ("WS-C2960S-48TD-L", BuiltinKey("2960s", "48")),
    ("WS-C3560G-24PS", BuiltinKey("3560g", "24poe")),
    ("WS-C2960PD-8TT-L", BuiltinKey("2960", "8poe-pd")),
    ("WS-C3560E-24TD", BuiltinKey("3560e", "24")),
    ("WS-C4500X-32", BuiltinKey("4500x", "32")),
    ("WS-C4500X-16", BuiltinKey("4500x", "16")),
    ("WS-C4900M", BuiltinKey("4900", "4900m")),
    ("WS-C4948", BuiltinKey("4900", "4948")),
    ("WS-C4948-10GE", BuiltinKey("4900", "4948-10ge")),
    ("NME-16ES-1G-P", BuiltinKey("nme-es", "16poe")),  # Table A-1
    # common models of the brief's families
    ("WS-C2960X-24PS-L", BuiltinKey("2960x", "24poe-4sfp-lb")),
    ("WS-C3560CG-8PC-S", BuiltinKey("3560cg", "8poe")),
    ("IE-3000-8TC", BuiltinKey("IE3000", "8tc")),
    ("WS-C2960S-F48TS-L", BuiltinKey("2960s-fe", "48")),
    ("WS-C2960+24PC-L", BuiltinKey("2960plus", "24poe")),
    ("WS-C2960-24-S", BuiltinKey("2960", "24-ll-nouplink")),
    ("WS-C2960-24LT-L", BuiltinKey("2960", "24-8poe")),
    ("WS-C3560E-12D-S", BuiltinKey("3560e", "12-10gig")),
    ("WS-C3560-8PC-S", BuiltinKey("3560", "8poe")),
    ("WS-C3560X-48U-L", BuiltinKey("3560x", "48upoe")),
    ("WS-C2975GS-48PS-L", BuiltinKey("2975", "48poe")),
    ("SM-ES3-24-P", BuiltinKey("sm-es3", "24poe")),
    ("SM-X-ES3-24-P", BuiltinKey("sm-es3", "24poe")),
    ("SM-D-ES2-48", BuiltinKey("sm-d-es2", "48")),
    ("1783-BMS10CGP", BuiltinKey("1783BMS", "10poe")),
    ("1783-MS06T", BuiltinKey("1783", "6")),
    (" ws-c3750e-24pd ", BuiltinKey("3750e", "24poe")),  # case and blanks ignored
]


@pytest.mark.parametrize(("pid", "expected"), GUIDE_PIDS)
def test_product_id_maps_to_builtin_group(pid: str, expected: BuiltinKey) -> None:
    assert builtin_key_for_pid(pid) == expected
    assert family_for_pid(pid) == expected.family
    # the result is always a group `vstack group built-in` accepts
    assert builtin_key(expected.family, expected.port_config) == expected


# "Configuring a Group for Standalone Catalyst 4500 Series Switch": the chassis SMI supports
@pytest.mark.parametrize(
    ("pid", "chassis"),
    [
        ("WS-C4503-E", "4503"),
        ("WS-C4506-E", "4506"),
        ("WS-C4507R-E", "4507r-e"),
        ("WS-C4507R+E", "4507r+e"),
        ("WS-C4510R-E", "4510r-e"),
        ("WS-C4510R+E", "4510r+e"),
    ],
)
def test_4500_chassis_product_ids(pid: str, chassis: str) -> None:
    assert family_for_pid(pid) == "4500"
    # without the supervisor the client reports there is no built-in group
    assert builtin_key_for_pid(pid) is None
    key = builtin_key_for_pid(pid, "WS-X45-SUP7-E")
    assert key == BuiltinKey("4500", "sup7-e", chassis)
    assert builtin_key_for_pid(pid, "sup7-e") == key
    assert key.label() == f"sup7-e {chassis}"


def test_4500_supervisor_must_support_the_chassis() -> None:
    # Table 2-1: the 6L-E (sup61-e) has no 10-slot chassis; sup8-e has no 4507r-e (CLI)
    assert builtin_key_for_pid("WS-C4510R-E", "WS-X45-SUP6L-E") is None
    assert builtin_key_for_pid("WS-C4507R-E", "WS-X45-SUP8-E") is None
    assert builtin_key_for_pid("WS-C4510R+E", "WS-X45-SUP8-E") == BuiltinKey(
        "4500", "sup8-e", "4510r+e"
    )
    assert builtin_key_for_pid("WS-C4507R-E", "WS-X45-SUP9-E") is None


@pytest.mark.parametrize(
    "pid",
    [
        "",
        "WS-C",
        "WS-C2960",
        "WS-C2960-",
        "WS-C9999-24TS",
        "WS-C2960-99TC-L",
        "WS-C2960-24TC-Q",  # unknown 2960 license
        "WS-C3750-24FS-S",  # 100BASE-FX SFP model: no such port configuration
        "WS-C2960X-24TQ-L",  # unknown uplink letter
        "3560_99",
        "9999_24",
        "3560__24",
        "IE-2000-",
        "IE-2000-G-L",
        "WS-C3560E-24TD\nX",
        "WS-C3560E-24TD;reload",
        "WS-C3560E-24TD\x00",
    ],
)
def test_unknown_product_ids_have_no_builtin_group(pid: str) -> None:
    assert builtin_key_for_pid(pid) is None


def test_family_for_pid_names_the_family_even_without_a_port_config() -> None:
    assert family_for_pid("WS-C2960-99TC-L") == "2960"
    assert family_for_pid("WS-C4507R-E") == "4500"
    assert family_for_pid("C9300-24T") is None


# Bad input: unknown families and port configurations are rejected with a one-line message
# naming the offending token.
@pytest.mark.parametrize(
    ("args", "token"),
    [
        (("2961", "24"), "'2961'"),
        (("3750", "25poe"), "'25poe'"),
        (("3750", "24POE"), "'24POE'"),  # keywords are exact
        (("4500", "sup9-e", "4503"), "'sup9-e'"),
        (("4500", "sup7-e", "4509"), "'4509'"),
        (("3750", "24", "4506"), "'4506'"),
        (("4500", "sup7-e"), "sup7-e"),
        (("", "24"), "''"),
        (("3750", "24\npoe"), "'24\\npoe'"),
    ],
)
def test_bad_keys_raise_catalog_error_naming_the_token(args: tuple[str, ...], token: str) -> None:
    with pytest.raises(CatalogError) as info:
        builtin_key(*args)
    message = str(info.value)
    assert token in message
    assert "\n" not in message
    assert message.startswith("% ")


def test_family_lookup() -> None:
    assert family("3750").port_config("24poe").name == "24poe"
    with pytest.raises(CatalogError, match="'3750E'"):
        family("3750E")
    with pytest.raises(CatalogError, match="port configuration '7'"):
        family("3750").port_config("7")


def test_catalog_error_is_a_value_error() -> None:
    assert issubclass(CatalogError, ValueError)


def test_long_tokens_are_shortened_in_messages() -> None:
    with pytest.raises(CatalogError) as info:
        family("x" * 500)
    assert len(str(info.value)) < 100


def test_port_config_keywords_are_unique_and_have_help() -> None:
    for fam in FAMILIES.values():
        names = [pc.name for pc in fam.port_configs]
        assert len(names) == len(set(names)), fam.name
        assert all(pc.help for pc in fam.port_configs)
        assert bool(names) != fam.chassis_based


# The data file is validated strictly at import; malformed variants are refused.
def _data() -> dict[str, object]:
    from importlib import resources

    text = (resources.files("smartinstall") / "data" / "catalog.yaml").read_text("utf-8")
    doc = yaml.safe_load(text)
    assert isinstance(doc, dict)
    return doc


def test_packaged_data_parses() -> None:
    families, _rules, sups, chassis, _ = catalog._parse(_data())
    assert list(families) == GUIDE_FAMILIES
    assert set(sups) == set(SUPERVISORS)
    assert "all" not in chassis


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("families", "3750", "pid_style"), "guess"),
        (("families", "3750", "port_configs", "24"), ""),
        (("families", "3750", "port_configs"), {"24 poe": "bad keyword"}),
        (("families", "3750", "colour"), "blue"),
        (("families", "3750", "pid_prefixes"), ["WS-C2960-"]),  # owned by 2960 already
        (("supervisors", "sup8-e", "chassis"), ["4503", "4599"]),
        (("chassis", "all"), {"help": "x", "pid": "WS-C4500"}),
        (("families", "4500", "pid_style"), "ports"),
        (("all_chassis_help",), None),
    ],
)
def test_malformed_data_is_refused(path: tuple[str, ...], value: object) -> None:
    doc = _data()
    node: object = doc
    for key in path[:-1]:
        assert isinstance(node, dict)
        node = node[key]
    assert isinstance(node, dict)
    node[path[-1]] = value
    with pytest.raises(catalog._DataError):
        catalog._parse(doc)


@pytest.mark.parametrize(
    ("reported", "expected"),
    [
        ("WS-X45-SUP6-E", "sup6-e"),
        ("WS-X45-SUP6L-E", "sup61-e"),
        ("WS-X45-SUP7-E", "sup7-e"),
        ("WS-X45-SUP7L-E", "sup71-e"),
        ("WS-X45-SUP8-E", "sup8-e"),
        ("ws-x45-sup8-e ", "sup8-e"),
        ("sup8-e", "sup8-e"),
        ("SUP7-E", "sup7-e"),
        ("WS-X45-SUP9-E", None),
        ("", None),
        (None, None),
    ],
)
def test_supervisor_from_a_client_report(reported: str | None, expected: str | None) -> None:
    found = catalog.supervisor_for(reported)
    assert (found.name if found else None) == expected


@given(st.text(max_size=60))
def test_lookups_raise_only_catalog_error(token: str) -> None:
    for lookup in (family, catalog.supervisor, catalog.chassis):
        try:
            found = lookup(token)
        except CatalogError as exc:
            assert "\n" not in str(exc)
        else:
            assert found.name == token
    sup = catalog.supervisor_for(token)
    assert sup is None or sup.name in SUPERVISORS


@given(st.text(max_size=80), st.one_of(st.none(), st.text(max_size=40)))
def test_pid_mapping_never_raises(pid: str, sup: str | None) -> None:
    key = builtin_key_for_pid(pid, sup)
    assert key is None or isinstance(key, BuiltinKey)
    fam = family_for_pid(pid)
    assert fam is None or fam in FAMILIES
    if key is not None:
        assert keys_matching(key) == [key]


_tokens = st.one_of(
    st.text(max_size=30),
    st.sampled_from([*GUIDE_FAMILIES, "sup8-e", "all", "24poe", "4506", "24", "sup7-e"]),
)


@given(_tokens, _tokens, st.one_of(st.none(), _tokens))
def test_builtin_key_raises_only_catalog_error(fam: str, pc: str, ch: str | None) -> None:
    try:
        key = builtin_key(fam, pc, ch)
    except CatalogError as exc:
        assert "\n" not in str(exc)
        return
    assert key.family == fam
    assert keys_matching(key)
