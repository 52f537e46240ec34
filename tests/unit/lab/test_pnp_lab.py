"""The lab topology's ``pnp_server:`` section (a director in SMI Proxy mode, guide chapter 4,
talks to a PnP server): parsed with the topology, refused with one line when wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from smartinstall.explain.inventory import InventoryError
from smartinstall.lab.topology import load_topology, parse_topology

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "pnp-proxy" / "topology.yaml"


def test_the_example_has_a_pnp_server_and_a_proxy() -> None:
    topology = load_topology(EXAMPLE)
    spec = topology.pnp_server
    assert spec is not None and (spec.address, spec.port) == ("127.22.0.9", 8080)
    assert [d["serial"] for d in spec.plans["devices"]] == [
        "FOC56220001",
        "FOC56220002",
        "FOC56220003",
    ]
    assert "vstack proxy ip-address 127.22.0.1 startup-vlan 1" in topology.director_config
    assert "transport http ipv4 127.22.0.9 port 8080" in topology.director_config


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"address": "10.0.0.9", "port": 8080}, "127.0.0.0/8 only"),
        ({"address": "127.22.0.9", "port": 0}, "not a port number"),
        ({"address": "nowhere", "port": 80}, "IPv4 address"),
        ({"address": "127.22.0.9", "port": 80, "plans": ["x"]}, "'plans' must be a mapping"),
        ({"address": "127.22.0.1", "port": 80}, "used twice"),
        ({"address": "127.22.0.9", "port": 80, "files": {"../x": "y"}}, "inside"),
    ],
)
def test_a_wrong_section_is_refused(section: dict[str, object], message: str) -> None:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["pnp_server"] = section
    with pytest.raises(InventoryError, match=message):
        parse_topology(yaml.safe_dump(data), base=EXAMPLE.parent)
