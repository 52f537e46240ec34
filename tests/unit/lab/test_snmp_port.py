"""``lab: snmp_port``: the port the lab's director gives its SNMP agent (docs/lab.md,
docs/snmp.md); without it a free port is picked."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartinstall.lab.runner import DirectorPorts
from smartinstall.lab.topology import TopologyError
from tests.unit.lab.test_file_servers import topology


def test_snmp_port_from_the_topology(tmp_path: Path) -> None:
    assert topology(tmp_path, snmp_port=1161).snmp_port == 1161
    assert topology(tmp_path).snmp_port is None


@pytest.mark.parametrize("value", [0, 70000, "161", True])
def test_a_bad_snmp_port_is_one_line(tmp_path: Path, value: object) -> None:
    with pytest.raises(TopologyError, match=r"snmp_port .* is not a port number"):
        topology(tmp_path, snmp_port=value)


def test_picked_ports_include_a_free_snmp_port() -> None:
    ports = DirectorPorts.pick("127.0.0.1")
    assert ports.snmp != 161 and 1024 <= ports.snmp < 65536
