"""The mixed example network (examples/mixed): `smartinstall explain` and the lab agree on it,
the default image and configuration come from a third-party TFTP server the lab runs, and the
lab's live table names the group each switch matched as explain names it (issue 14:
"The lab's live table shows which group each switch matched", "an added example topology with
a mixed network … whose `explain` and lab results agree").

Guide sections: "Adding a Client Switch to the Network" (a client that matches no group gets the
default only if it matches the network's default product ID), "Configuring a Custom Group Based
on a Stack Number" (a stack "cannot belong to the default group"), and the system message
``%SMI-3-IMG_CFG_NOT_CONFIGURED``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from smartinstall.lab.runner import Lab, render_table
from smartinstall.lab.topology import load_topology

ROOT = Path(__file__).resolve().parents[2]
MIXED = ROOT / "examples" / "mixed" / "topology.yaml"
DEFAULT_IMAGE = "c2960x-universalk9-tar.152-7.E9.tar"

pytestmark = pytest.mark.timeout(120)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smartinstall.cli", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=100, check=False,
    )  # fmt: skip


def explain_groups() -> dict[str, tuple[str, bool]]:
    """explain's verdict per switch: (group as it names it, would be installed)."""
    result = run("explain", str(MIXED), "--at", "2026-11-27 10:00")
    assert result.returncode == 0, result.stderr
    verdicts = {}
    for block in result.stdout.split("\n\n"):
        group = re.search(r"^  group    : (.*)$", block, re.MULTILINE)
        if group is None:
            continue
        verdicts[block.split()[0]] = (group.group(1), "nothing to install" not in block)
    return verdicts


def table_groups(table: str, names: list[str]) -> dict[str, str]:
    """The group column of the lab's table, read by its header's position."""
    lines = table.splitlines()
    start = lines[0].index("group")
    end = lines[0].index("state")
    return {
        line.split()[0]: line[start:end].strip()
        for line in lines[2:]
        if line.split() and line.split()[0] in names
    }


def test_explain_says_what_the_mixed_network_gets() -> None:
    verdicts = explain_groups()
    assert verdicts == {
        "access-1": ("default (default)", True),
        "access-2": ("default (default)", True),
        "core-3850": ("none", False),
        "stack-3750": ("none", False),
    }


async def test_the_lab_agrees_with_explain_on_the_mixed_network(tmp_path: Path) -> None:
    verdicts = explain_groups()
    topology = load_topology(MIXED)
    names = [s.name for s in topology.switches]
    async with Lab(topology, tmp_path / "lab", dhcp_retry=0.5) as lab:
        done = await lab.wait_until(lambda: all(r.done for r in lab.rows()), 60)
        rows = {r.name: r for r in lab.rows()}
        table = render_table(list(rows.values()), 0)
        assert done, table + lab.show_download_status()
        # the live table names each switch's group as explain does
        assert table_groups(table, names) == {n: g for n, (g, _) in verdicts.items()}, table
        assert "2/2 switches UPGRADED, 2/2 given nothing as explain says" in table
        for name, (_, installed) in verdicts.items():
            switch = lab.switch(name)
            entry = lab.latest_download(switch.mac)
            if installed:
                assert switch.image == DEFAULT_IMAGE and entry is not None, name
                assert (entry.image.value, entry.config.value) == ("UPGRADED", "UPGRADED")
            else:
                assert entry is None and switch.bytes_downloaded == 0, name
                assert not switch.flash_state.images, name
        # the files are on the third-party TFTP server (guide: "Third-Party, Non-Cisco IOS
        # Device as the TFTP Server"): the director wrote the imagelist there and named it in
        # option 125; the switches fetched the image, the imagelist and the configuration there
        (server,) = lab.file_servers
        assert server.spec.address == "127.21.0.5"
        imagelist = server.root / "imagelist-default.txt"
        assert imagelist.read_text() == f"tftp://127.21.0.5:6969/{DEFAULT_IMAGE}\n"
        assert not (lab.data_dir / "flash" / DEFAULT_IMAGE).exists()
        for name, (_, installed) in verdicts.items():
            lease = lab.switch(name).lease
            if installed:
                assert lease is not None and lease.tftp_server == "127.21.0.5", name
                assert lease.imagelist == "imagelist-default.txt", name
        log = lab.director.log()
        assert "%SMI-3-IMAGELIST_FAILED" not in log
    # the director says why each got nothing (the stack's product ID is not the default one
    # either, so it is answered without Smart Install options from its first DHCP)
    for pid in ("WS-C3850-24T-S", "WS-C3750-24PS-S"):
        assert f"%SMI-3-IMG_CFG_NOT_CONFIGURED: {pid}" in log


def test_lab_command_on_the_mixed_example() -> None:
    result = run("lab", str(MIXED), "--timeout", "60")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Every switch as explain says (2 given nothing, the rest UPGRADED)" in result.stdout
    tables = result.stdout.split("switch          PID")
    last = "switch          PID" + tables[-1]
    assert table_groups(last, ["access-1", "core-3850", "stack-3750"]) == {
        "access-1": "default (default)",
        "core-3850": "none",
        "stack-3750": "none",
    }
