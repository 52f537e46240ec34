"""show vstack group built-in … and show vstack group custom detail (guide, chapters 2, 3)."""

from __future__ import annotations

import pytest

from smartinstall.director.views import show_vstack_group_builtin, show_vstack_group_custom
from smartinstall.domain import catalog
from smartinstall.domain.catalog import CatalogError
from smartinstall.domain.settings import DirectorSettings
from tests.unit.views.guide import example


def four_k() -> DirectorSettings:
    # Guide, chapter 2, "Configuring a Group for Standalone Catalyst 4500 Series Switch".
    settings = DirectorSettings()
    group = settings.builtin_group("4500", "sup8-e", "4506")
    group.files.set("image", "bootflash:k10.tar")
    group.files.set("config", "bootflash:mayagraw-4k-startup-config.txt")
    return settings


# Guide, chapter 2: "Switch# show vstack group built-in detail configured". Character for
# character.
EXPECTED_CONFIGURED = """\
*** Only Configured Groups will be shown ***
-----
Group Name: sup8-e 4506
Image Name: bootflash:k10.tar
Config file name: bootflash:mayagraw-4k-startup-config.txt
No Script file specified
"""


def test_configured_groups_match_the_guide() -> None:
    out = show_vstack_group_builtin(four_k().groups, detail=True, configured=True)
    assert out == EXPECTED_CONFIGURED
    assert (
        out.splitlines() == example("Switch# show vstack group built-in detail configured", 7)[1:]
    )


def test_configured_group_with_a_script() -> None:
    # Guide, chapter 2, the same example after "script bootflash:…post_install.txt". The guide
    # prints both "Script file name: …" and "No Script file specified", a contradiction; we
    # print only the file name.
    settings = four_k()
    settings.builtin_group("4500", "sup8-e", "4506").files.set(
        "script", "bootflash:mayagraw-4k-startup-post_install.txt"
    )
    out = show_vstack_group_builtin(settings.groups, detail=True, configured=True)
    guide = example("Switch# show vstack group built detail configured", 8)[1:]
    assert guide[-1] == "No Script file specified"
    assert out.splitlines() == [line.rstrip() for line in guide[:-1]]


# Guide, chapter 3, show vstack: "show vst group built-in 4500 sup8-e 4503 de" and
# "show vst group built-in 4500 sup8-e de". Character for character.
EXPECTED_SUP8_4503 = """\
-----
Group Name: sup8-e 4503
No Image name specified
No config file name specified
No Script file specified
"""


def test_unconfigured_4500_groups_match_the_guide() -> None:
    groups = DirectorSettings().groups
    one = show_vstack_group_builtin(groups, "4500", "sup8-e", "4503", detail=True)
    assert one == EXPECTED_SUP8_4503
    assert one.splitlines() == example("Switch# show vst group built-in 4500 sup8-e 4503 de", 6)[1:]
    every = show_vstack_group_builtin(groups, "4500", "sup8-e", detail=True)
    assert every.splitlines() == example("Switch# show vst group built-in 4500 sup8-e de", 21)[1:]


def test_supervisor_all_group_applies_to_every_chassis() -> None:
    settings = DirectorSettings()
    settings.builtin_group("4500", "sup7-e", "all").files.set("image", "bootflash:k7.tar")
    settings.builtin_group("4500", "sup7-e", "4503").files.set("image", "bootflash:k7-4503.tar")
    out = show_vstack_group_builtin(settings.groups, "4500", "sup7-e", detail=True, configured=True)
    images = [line for line in out.splitlines() if line.startswith(("Group Name", "Image Name"))]
    assert images[:4] == [
        "Group Name: sup7-e 4503",
        "Image Name: bootflash:k7-4503.tar",
        "Group Name: sup7-e 4506",
        "Image Name: bootflash:k7.tar",
    ]
    assert len(images) == 2 * len(catalog.supervisor("sup7-e").chassis)


def test_family_detail_and_port_config() -> None:
    settings = DirectorSettings()
    settings.builtin_group("3750", "24poe").files.set("config", "flash:3750-24poe.txt")
    out = show_vstack_group_builtin(settings.groups, "3750", detail=True)
    names = [line for line in out.splitlines() if line.startswith("Group Name")]
    assert names == [f"Group Name: 3750 {pc.name}" for pc in catalog.family("3750").port_configs]
    one = show_vstack_group_builtin(settings.groups, "3750", "24poe", detail=True)
    assert one.splitlines() == [
        "-----",
        "Group Name: 3750 24poe",
        "No Image name specified",
        "Config file name: flash:3750-24poe.txt",
        "No Script file specified",
    ]
    assert show_vstack_group_builtin(settings.groups, configured=True).splitlines() == [
        "*** Only Configured Groups will be shown ***",
        *one.splitlines(),
    ]


def test_family_list() -> None:
    # Guide, chapter 3: "Director# show vstack group built-in" (an older release: fewer
    # families, some help texts in capitals). Every family both list with the same help text
    # has the same line, character for character.
    out = show_vstack_group_builtin(DirectorSettings().groups).splitlines()
    assert len(out) == len(catalog.FAMILIES)
    guide = example("Director# show vstack group built-in", 24)[1:]
    common = [line for line in guide if line in out]
    assert len(common) >= 18
    assert "2960s-fe  2960s-fe product family" in common
    assert "sm-d-es3g sm-d-es3g product family" in out


def test_help_lists_below_a_family() -> None:
    groups = DirectorSettings().groups
    assert show_vstack_group_builtin(groups, "3750").splitlines() == [
        f"{pc.name:<9} {pc.help}" for pc in catalog.family("3750").port_configs
    ]
    assert show_vstack_group_builtin(groups, "4500").splitlines()[-1] == (
        "sup8-e    sup8-e supervisor"
    )
    assert show_vstack_group_builtin(groups, "4500", "sup8-e").splitlines() == [
        "4503      4503 chassis type",
        "4506      4506 chassis type",
        "4507r+e   4507r+e chassis type",
        "4510r+e   4510r+e chassis type",
    ]
    assert show_vstack_group_builtin(groups, "3750", "24poe") == "24poe     3750 24 port POE\n"
    for words in (("3750x9",), ("3750", "99"), ("4500", "sup9"), ("4500", "sup8-e", "4507r-e")):
        with pytest.raises(CatalogError):
            show_vstack_group_builtin(groups, *words)
        with pytest.raises(CatalogError):
            show_vstack_group_builtin(groups, *words, detail=True)


def guide_custom() -> DirectorSettings:
    # The groups of the guide's show vstack group custom detail example (chapter 3).
    settings = DirectorSettings()
    conn = settings.custom_group("2960-8", "connectivity")
    conn.files.set("image", "tftp://1.1.1.100/c2960-lanbasek9-tar.122-0.0.221.DEV.tar")
    conn.files.set("config", "tftp://1.1.1.100/2960-8-config.txt")
    conn.add_match(["host", "1.1.1.163", "interface", "FastEthernet1/0/1"])
    pid = settings.custom_group("WS-C3560E-24TD", "product-id")
    pid.files.set("image", "tftp://1.1.1.0/c3560e-ipbasek9-tar.122-0.0.221.DEV.tar")
    pid.files.set("config", "tftp://1.1.1.100/3560e-config.txt")
    pid.add_match(["WS-C3560E-24TD"])
    stack = settings.custom_group("lotr-stack", "stack")
    stack.files.set("image", "tftp://1.1.1.100/c3750e-universalk9-tar.122-0.0.221.DEV.tar")
    # The guide shows a second image without saying which members take it; our mixed stack
    # groups have an image per family, listed as Image 2, 3 … in configuration order.
    stack.files.set_family_image(
        "3750g", "tftp://1.1.1.100/c3750e-ipservicesk9-tar.122-0.0.221.DEV.tar"
    )
    stack.files.set("config", "tftp://1.1.1.100/lotr-stack-config.txt")
    stack.add_match(["1", "3750g", "24"])
    stack.add_match(["3", "3750g", "24poe"])
    return settings


# Guide, chapter 3: the first "Director # show vstack group custom detail" example (the second
# lost part of its padding in the extraction). Character for character.
EXPECTED_CUSTOM = """\
-----
Group Name:   2960-8
Image:        tftp://1.1.1.100/c2960-lanbasek9-tar.122-0.0.221.DEV.tar
Config File:  tftp://1.1.1.100/2960-8-config.txt
Connectivity Details (IP Adress:Interface):
  1.1.1.163:FastEthernet1/0/1
-----
Group Name:   WS-C3560E-24TD
Image:        tftp://1.1.1.0/c3560e-ipbasek9-tar.122-0.0.221.DEV.tar
Config File:  tftp://1.1.1.100/3560e-config.txt
Product-ID:   WS-C3560E-24TD
-----
Group Name:   lotr-stack
Image 1:      tftp://1.1.1.100/c3750e-universalk9-tar.122-0.0.221.DEV.tar
Image 2:      tftp://1.1.1.100/c3750e-ipservicesk9-tar.122-0.0.221.DEV.tar
Config File:  tftp://1.1.1.100/lotr-stack-config.txt
Stack Details (Switch_number:Product-id):
  1:3750G 24
  3:3750G 24POE
"""


def test_custom_detail_matches_the_guide() -> None:
    out = show_vstack_group_custom(guide_custom().groups)
    assert out == EXPECTED_CUSTOM
    assert out.splitlines() == example("Director # show vstack group custom detail", 20)[1:]


def test_custom_by_name_and_other_kinds() -> None:
    settings = guide_custom()
    assert show_vstack_group_custom(settings.groups, "lotr-stack") == (
        "-----\n" + EXPECTED_CUSTOM.split("-----\n")[3]
    )
    assert show_vstack_group_custom(settings.groups, "nope") == "% Group nope does not exist\n"
    macs = settings.custom_group("pharmacy", "mac")
    macs.add_match(["0022.0d26.6300"])
    macs.add_match(["mac", "00:1e:be:67:30:00"])
    macs.files.set("config", "flash:pharmacy.txt")
    macs.files.set("script", "flash:pharmacy-post.txt")
    assert show_vstack_group_custom(settings.groups, "pharmacy").splitlines() == [
        "-----",
        "Group Name:   pharmacy",
        "Config File:  flash:pharmacy.txt",
        "Script File:  flash:pharmacy-post.txt",
        "MAC Address Details:",
        "  0022.0d26.6300",
        "  001e.be67.3000",
    ]
    assert show_vstack_group_custom(DirectorSettings().groups) == ""
