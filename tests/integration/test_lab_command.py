"""`smartinstall lab FILE` as a user runs it: the example branch's topology file is read the
same way by explain and by the lab; a small branch runs to the end with the director's show
output; a branch that cannot finish exits 1."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from smartinstall.explain.inventory import load_inventory
from smartinstall.lab.topology import TopologyError, load_topology, parse_size, pinned_zone
from tests.e2e.lab_kit import IMAGE, director_config, lab_prefix, switch

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "branch" / "topology.yaml"

pytestmark = pytest.mark.timeout(90)


def test_example_is_one_file_for_explain_and_the_lab() -> None:
    inventory = load_inventory(EXAMPLE)
    topology = load_topology(EXAMPLE)
    assert [s.name for s in inventory.switches] == [s.name for s in topology.switches]
    assert topology.clock == "10:00"
    assert dict(topology.images)[IMAGE] == 3 * 1024 * 1024
    assert topology.switch("closet").spec.legacy
    assert topology.switch("stockroom").spec.hops == 2
    assert len(topology.switch("backroom-stack").spec.members) == 3
    assert "vstack tailored-config enable-password" in topology.director_config


@pytest.mark.parametrize("hour", [0, 5, 10, 13, 23])
def test_pinned_zone_reads_the_pinned_hour(hour: int) -> None:
    for utc_hour in range(24):
        now = dt.datetime(2026, 11, 27, utc_hour, 42, tzinfo=dt.UTC)
        zone = ZoneInfo(pinned_zone(f"{hour:02d}:00", now))
        assert now.astimezone(zone).hour == hour


def test_sizes_and_bad_topologies(tmp_path: Path) -> None:
    assert parse_size("2MiB", "x") == 2 << 20 and parse_size(512, "x") == 512
    assert parse_size("64KiB", "x") == 65536
    for bad in ("2GB", "-1", True, "2 TiB"):
        with pytest.raises(TopologyError):
            parse_size(bad, "x")
    (tmp_path / "startup-config").write_text("hostname D\n")
    base = {
        "director": {"address": "127.20.0.1", "config": "startup-config"},
        "switches": [
            {
                "name": "a",
                "pid": "WS-C2960X-48FPS-L",
                "mac": "0050.5600.0001",
                "address": "127.20.1.1",
            }
        ],
    }
    cases = {
        "the lab runs on 127.0.0.0/8 only": {"address": "10.0.0.1"},
        "used twice": None,
    }
    for message, change in cases.items():
        data = yaml.safe_load(yaml.safe_dump(base))
        if change is None:
            data["switches"].append({**data["switches"][0], "name": "b", "mac": "0050.5600.0002"})
        else:
            data["switches"][0].update(change)
        path = tmp_path / "t.yaml"
        path.write_text(yaml.safe_dump(data))
        with pytest.raises(TopologyError, match=message):
            load_topology(path)
    # switches without an address: the director's pool gives them one (none without a pool)
    data = yaml.safe_load(yaml.safe_dump(base))
    data["switches"][0].pop("address")
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(TopologyError, match="no vstack dhcp-localserver address-pool"):
        load_topology(tmp_path / "t.yaml")
    (tmp_path / "startup-config").write_text(
        "vstack dhcp-localserver p\n address-pool 127.20.0.0 255.255.255.252\n"
        " default-router 127.20.0.1\n"
    )
    data["switches"].append({"name": "b", "address": "127.20.0.2"})
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(
        TopologyError, match=r"switch a: no free address left in pool 127.20.0.0/30"
    ):
        load_topology(tmp_path / "t.yaml")
    (tmp_path / "startup-config").write_text(
        "vstack dhcp-localserver p\n address-pool 127.20.0.0 255.255.255.248\n"
        " default-router 127.20.0.1\n"
    )
    data["switches"].append({"name": "c"})
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(data))
    specs = load_topology(tmp_path / "t.yaml").by_name()
    assert [specs[n].address for n in "abc"] == ["127.20.0.3", "127.20.0.2", "127.20.0.4"]
    (tmp_path / "startup-config").write_text("hostname D\n")

    data = yaml.safe_load(yaml.safe_dump(base))
    data["lab"] = {"images": {"../escape.tar": 10}}
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(TopologyError, match="inside flash"):
        load_topology(tmp_path / "t.yaml")


def _write(tmp_path: Path, config: str, prefix: str) -> Path:
    (tmp_path / "startup-config").write_text(config)
    data = {
        "director": {"address": f"{prefix}.1", "config": "startup-config"},
        # "two" has neither MAC nor address: the lab generates the MAC and leases it the
        # pool's first free address (prefix.1 is the director, router and file server)
        "switches": [
            switch("one", 10, prefix),
            {**switch("two", 11, prefix), "mac": None, "address": None},
        ],
        "lab": {
            "images": {IMAGE: "64KiB"},
            "files": {"default.txt": "vlan 10\nend\n"},
            "clock": "10:00",
        },
    }
    path = tmp_path / "topology.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _lab(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smartinstall.cli", "lab", str(path), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=80,
        check=False,
    )


def test_lab_command_runs_a_branch_to_the_end(tmp_path: Path) -> None:
    prefix = lab_prefix()
    result = _lab(_write(tmp_path, director_config(prefix), prefix), "--timeout", "40")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "2/2 switches UPGRADED" in out and "Every switch UPGRADED" in out
    assert "Director#show vstack status" in out
    assert "Total no of entries : 2" in out
    assert f" {prefix}.2 " in out  # the generated address, leased by the director
    rows = [line for line in out.splitlines() if "zero-touch" in line]
    assert len(rows) == 2 and all(line.split()[4:6] == ["UPGRADED", "UPGRADED"] for line in rows)


def test_lab_command_exits_1_when_a_switch_cannot_be_upgraded(tmp_path: Path) -> None:
    prefix = lab_prefix()
    config = director_config(prefix).replace(IMAGE, "c2960x-universalk9-tar.152-7.E10.tar")
    result = _lab(_write(tmp_path, config, prefix), "--timeout", "4")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "NOT every switch UPGRADED" in result.stdout
    assert "FAILED" in result.stdout  # the director's own download-status says why


def test_lab_command_reports_a_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("director: [1, 2]\n")
    result = _lab(path)
    assert result.returncode == 1 and result.stderr.startswith("% ")
