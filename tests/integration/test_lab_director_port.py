"""A connectivity group on the director's own port, in the lab: the lab's switches cabled to the
director relay their DHCP with option 82 (circuit ID their upstream interface, remote ID the
director's MAC), so the live director sees the port, and a switch matching that connectivity
group and a product-ID group gets the connectivity group's files, as `smartinstall explain`
says (guide: "Configuring a Custom Group Based on Connectivity" and ``vstack group custom``: "A
connectivity match takes precedence over one matched by product ID or stack")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.lab_kit import (
    IMAGE,
    director_config,
    group_file,
    make_lab,
    switch,
    topology,
    until_upgraded,
)
from tests.integration.director_harness import ROOT, lab_prefix

pytestmark = pytest.mark.timeout(120)

PID_PORTER = "WS-C2960X-24PS-L"
PORT = "GigabitEthernet1/0/9"


def explain(folder: Path, address: str, switches: list[dict[str, Any]]) -> dict[str, str]:
    """`smartinstall explain` on ``folder/startup-config`` and these switches, by name."""
    data = {
        "director": {"address": address, "config": "startup-config", "timezone": "UTC"},
        "switches": switches,
    }
    path = folder / "explain.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    result = subprocess.run(
        [sys.executable, "-m", "smartinstall.cli", "explain", str(path), "--at", "2026-11-27 10:00"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return {block.split()[0]: block for block in result.stdout.split("\n\n") if block.strip()}


async def test_connectivity_group_on_the_director_port_in_the_lab_and_in_explain(
    tmp_path: Path,
) -> None:
    prefix = lab_prefix()
    body = f"""vstack group custom byport connectivity
 match host {prefix}.1 interface {PORT}
 image flash:{IMAGE}
 config flash:byport.txt
vstack group custom bypid product-id
 match {PID_PORTER}
 image flash:{IMAGE}
 config flash:bypid.txt
"""
    config = director_config(prefix, body)
    on_port = switch("porter", 50, prefix, pid=PID_PORTER)
    on_port["upstream"] = {"device": "director", "interface": PORT}
    elsewhere = switch("other", 51, prefix, pid=PID_PORTER)
    elsewhere["upstream"] = {"device": "director", "interface": "GigabitEthernet1/0/10"}
    files = {"byport.txt": group_file("byport"), "bypid.txt": group_file("bypid")}
    topo = topology(tmp_path, prefix, config, [on_port, elsewhere], files=files)
    async with make_lab(tmp_path, topo) as lab:
        await until_upgraded(lab)
        # the switch on the director's port 9 matches both groups: connectivity wins
        assert lab.switch("porter").hostname == "BYPORT"
        assert lab.switch("other").hostname == "BYPID"
    blocks = explain(tmp_path, f"{prefix}.1", [on_port, elsewhere])
    assert "group    : byport (connectivity)" in blocks["porter"], blocks["porter"]
    assert "config   : flash:byport.txt" in blocks["porter"]
    assert "group    : bypid (product-id)" in blocks["other"], blocks["other"]
    assert "config   : flash:bypid.txt" in blocks["other"]
