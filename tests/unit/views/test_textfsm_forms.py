"""The TextFSM templates of the ``show vstack`` forms added beside the first six (host, group
built-in, group custom detail, join-window configuration) and of the IOS commands ntc-templates
has none for, read through the shipped index as Netmiko reads it: the guide's example outputs
parse (guide, "show vstack" and "Configuring Built-in Groups"), and the chained index that
``smartinstall textfsm-dir`` writes routes IOS commands to ntc-templates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("textfsm")
from textfsm import clitable

from smartinstall.textfsm_dir import (
    TEMPLATES,
    chained_index,
    ntc_templates_dir,
    write_chained_dir,
)
from tests.unit.views.guide import example


def parse(command: str, output: str, directory: Path = TEMPLATES) -> list[dict[str, Any]]:
    table = clitable.CliTable("index", str(directory))
    table.ParseCmd(output, {"Command": command, "Platform": "cisco_ios"})
    keys = [heading.lower() for heading in table.header]
    return [dict(zip(keys, row, strict=True)) for row in table]


def guide_text(marker: str, count: int) -> str:
    return "".join(f"{line}\n" for line in example(marker, count)[1:])


def test_guide_show_vstack_host() -> None:
    rows = parse("show vstack host 1.1.1.1", guide_text("Director# show vstack host 1.1.1.1", 9))
    host = ("1", "001d.71ba.f780", "WS-C2960PD-8TT-L", "1.1.1.1", "2960pd-47")
    assert [
        (r["devno"], r["mac_address"], r["product_id"], r["ip_address"], r["hostname"])
        for r in rows
    ] == [host, host]
    assert rows[0]["neighbor_mac"] == ""
    assert (rows[1]["neighbor_mac"], rows[1]["neighbor_id"], rows[1]["neighbor_ip"]) == (
        "0023.5e32.3780",
        "3750e-163-smi",
        "1.1.1.163",
    )
    assert (rows[1]["local_interface"], rows[1]["remote_interface"]) == ("Fas 0/7", "Gig 1/0/1")


def test_guide_show_vstack_join_window_configuration() -> None:
    text = guide_text("Director# show vstack join-window configuration", 5)
    assert parse("show vstack join-window configuration", text) == [
        {"window": "Open (default)", "start_date": "", "start_time": "", "interval": "",
         "end_date": "", "recurring": "", "mode": "auto (default)"}
    ]  # fmt: skip


def test_guide_show_vstack_group_built_in_detail_configured() -> None:
    text = guide_text("Switch# show vstack group built-in detail configured", 7)
    assert parse("show vstack group built-in detail configured", text) == [
        {"group_name": "sup8-e 4506", "image": "bootflash:k10.tar",
         "config": "bootflash:mayagraw-4k-startup-config.txt", "script": ""}
    ]  # fmt: skip


def test_guide_show_vstack_group_custom_detail() -> None:
    rows = parse(
        "show vstack group custom detail",
        guide_text("Director # show vstack group custom detail", 20),
    )
    assert [row["group_name"] for row in rows] == ["2960-8", "WS-C3560E-24TD", "lotr-stack"]
    assert rows[0]["connectivity"] == ["1.1.1.163:FastEthernet1/0/1"]
    assert rows[1]["product_id"] == ["WS-C3560E-24TD"]
    assert rows[2]["image"] == [
        "tftp://1.1.1.100/c3750e-universalk9-tar.122-0.0.221.DEV.tar",
        "tftp://1.1.1.100/c3750e-ipservicesk9-tar.122-0.0.221.DEV.tar",
    ]
    assert rows[2]["stack"] == ["1:3750G 24", "3:3750G 24POE"]


@pytest.mark.parametrize(
    ("command", "template"),
    [
        ("show vstack group built-in", "group_built-in"),
        ("sh vs g b 2960", "group_built-in"),
        ("show vstack group built-in 4500 sup7-e c4503", "group_built-in"),
        ("show vstack group built-in detail", "group_built-in_detail"),
        ("show vstack group built-in 2960 24 detail", "group_built-in_detail"),
        ("show vstack group built-in configured", "group_built-in_detail"),
        ("show vstack group built-in detail configured", "group_built-in_detail"),
        ("show vstack group custom detail", "group_custom_detail"),
        ("show vstack host 10.0.0.1", "host"),
        ("show vstack join-window configuration", "join-window_configuration"),
    ],
)
def test_index_routes_each_form(command: str, template: str) -> None:
    table = clitable.CliTable("index", str(TEMPLATES))
    row = table.index.GetRowMatch({"Command": command, "Platform": "cisco_ios"})
    assert row, command
    assert table.index.index[row]["Template"] == f"cisco_ios_show_vstack_{template}.textfsm"


def test_ios_rows_end_with_the_command() -> None:
    """`show hosts summary` is ntc-templates': the row of `show hosts` does not take it."""
    table = clitable.CliTable("index", str(TEMPLATES))
    assert table.index.GetRowMatch({"Command": "show hosts", "Platform": "cisco_ios"})
    assert not table.index.GetRowMatch({"Command": "show hosts summary", "Platform": "cisco_ios"})


def test_chained_index_puts_ours_first_then_ntc_templates(tmp_path: Path) -> None:
    ntc = ntc_templates_dir()
    if ntc is None:
        pytest.skip("ntc-templates is not installed")
    directory = write_chained_dir(tmp_path / "chain")
    index = (directory / "index").read_text()
    assert index == chained_index(ntc)
    assert index.index("show_vstack_status") < index.index("cisco_ios_show_version")
    clock = "12:01:02.345 UTC Thu Dec 3 2026\n"
    assert parse("show clock", clock, directory)[0]["time"] == "12:01:02.345"
    assert parse("show privilege", "Current privilege level is 15\n", directory) == [
        {"level": "15"}
    ]


def test_chained_index_without_ntc_templates_has_ours_only() -> None:
    text = chained_index(None)
    assert str(TEMPLATES / "cisco_ios_show_vstack_status.textfsm") in text
    assert "cisco_ios_show_version" not in text
