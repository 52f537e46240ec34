"""A lab switch's ``version_id``: the ``Version ID`` its ``show version`` prints, which SMI Proxy
reads with the PID and serial number to make the client's UDI (guide, chapter 4, "SMI Proxy and
Tailored Configuration Files")."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from smartinstall.explain.inventory import InventoryError
from smartinstall.lab.topology import load_topology, parse_topology

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "pnp-proxy" / "topology.yaml"


def test_each_switch_has_a_version_id_v01_unless_the_topology_says() -> None:
    topology = load_topology(EXAMPLE)
    assert {s.name: s.version_id for s in topology.switches} == {
        "access-1": "V01",
        "access-2": "V02",
        "access-3": "V01",
    }


@pytest.mark.parametrize("value", ["", "V 1", "V01,SN:X", 3, "V123456789"])
def test_a_wrong_version_id_is_refused(value: object) -> None:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["switches"][0]["version_id"] = value
    with pytest.raises(InventoryError, match="'version_id' must be letters and digits"):
        parse_topology(yaml.safe_dump(data), base=EXAMPLE.parent)
