"""`smartinstall lab --netns`: the example branch on a Linux bridge of network namespaces made
for the test, with real broadcast DHCP (no relay) between the switches and the director
(docs/lab.md, "--netns"). Nothing leaves the namespaces; they are gone when the lab stops."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from smartinstall.lab.netns import Fabric, NetnsLab, remove_stale_namespaces
from smartinstall.lab.topology import load_topology
from tests.tools import require_program, require_root

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "branch" / "topology.yaml"

pytestmark = [pytest.mark.needs_root, pytest.mark.slow, pytest.mark.timeout(180)]


def _namespaces() -> set[str]:
    listing = subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True, check=False
    ).stdout
    return {line.split()[0] for line in listing.splitlines() if line.strip()}


@pytest.fixture(autouse=True)
def _root() -> None:
    require_root()
    require_program("ip")
    require_program("sysctl")


async def test_the_branch_is_provisioned_over_broadcast_dhcp_on_a_bridge(tmp_path: Path) -> None:
    lab = NetnsLab(load_topology(EXAMPLE), tmp_path / "lab", dhcp_retry=0.5)
    tag = lab.fabric.tag
    try:
        await lab.start()
    except Exception as error:  # a kernel without veth/bridge support
        await lab.stop()
        pytest.skip(f"cannot build the bridge: {error}")
    try:
        assert await lab.wait_until(lambda: all(r.done for r in lab.rows()), 90), (
            lab.show_status() + lab.show_download_status() + lab.director.log()[-3000:]
        )
        log = lab.director.log()
        assert "DHCP server listening on 0.0.0.0:67" in log  # bound to br0, not to an address
        # every switch holds its leased address on eth0 of its own namespace
        for item in lab.topology.switches:
            namespace = lab.fabric.switch_ns[item.name]
            shown = subprocess.run(
                ["ip", "-n", namespace, "-4", "addr", "show", "eth0"],
                capture_output=True,
                text=True,
                check=False,
            ).stdout
            assert f"inet {item.spec.address}/16" in shown, (item.name, shown)
        # the director reaches a switch's telnet console across the bridge (port 23)
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "smartinstall.cli", "console", "--data-dir",
             str(lab.data_dir)],
            input="show vstack client group built-in 3750 24poe NONE version\n",
            capture_output=True, text=True, timeout=60, check=False, cwd=ROOT,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        assert "BACKROOM-STACK uptime is 2 reloads" in result.stdout, result.stdout
        assert "Switch 03: WS-C3750-24PS-S 0050.5603.0003" in result.stdout
    finally:
        await lab.stop()
    assert not {n for n in _namespaces() if n.startswith(f"{tag}-")}


def test_namespaces_of_a_lab_that_is_gone_are_removed() -> None:
    gone = Fabric(tag="si999999999")  # no such process
    made = subprocess.run(
        ["ip", "netns", "add", gone.director_ns], capture_output=True, text=True, check=False
    )
    if made.returncode != 0:
        pytest.skip(f"cannot create a network namespace: {made.stderr.strip()}")
    mine = Fabric()
    subprocess.run(["ip", "netns", "add", mine.director_ns], check=True)
    try:
        removed = remove_stale_namespaces()
        assert gone.director_ns in removed
        assert gone.director_ns not in _namespaces()
        assert mine.director_ns in _namespaces()  # this process is alive
        assert mine.tag == f"si{os.getpid()}"
    finally:
        subprocess.run(["ip", "netns", "delete", mine.director_ns], check=False)
        subprocess.run(["ip", "netns", "delete", gone.director_ns], check=False)


def test_the_lab_command_refuses_netns_without_root(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # the refusal is one line, before the topology is read or anything is created
    from smartinstall.cli import main

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert main(["lab", "--netns", "absent.yaml"]) == 1
    assert capsys.readouterr().err == (
        "% --netns needs root (it creates network namespaces and a bridge)\n"
    )
