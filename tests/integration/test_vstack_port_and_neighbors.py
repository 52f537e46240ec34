"""A running director closes its Smart Install port on ``no vstack`` and opens it again on
``vstack`` (issue 14, "Live configuration changes apply at once": "`no vstack` closes port
4786"), and its neighbour tables list every neighbour a client reported (issue 14, "neighbour
tables list every neighbour"), driven from outside: the director process, its console, TCP and
a scripted client's DHCP and SMI.

Guide sections: the command reference of ``vstack`` ("To disable Smart Install on a device,
use the no form of this command"; "Smart Install is enabled by default" on TCP port 4786), and
of ``show vstack neighbors`` / ``show vstack host`` (the neighbour table of a client: MAC, device
ID, IP address, local interface and out port of each neighbour).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from smartinstall.wire import smi_client
from tests.integration.director_harness import DirectorProcess, ScriptedClient, console
from tests.integration.test_director import PID, branch_director

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def director(tmp_path: Path) -> Iterator[DirectorProcess]:
    yield from branch_director(tmp_path, image_size=20_000)


def connects(address: str, port: int) -> bool:
    """A TCP connect to the director's SMI port: accepted (True) or refused (False)."""
    try:
        with socket.create_connection((address, port), timeout=2.0):
            return True
    except (ConnectionRefusedError, ConnectionResetError):
        return False  # refused, or reset by a listening socket closing under the connect


async def until_port(director: DirectorProcess, open_: bool, timeout: float = 10.0) -> bool:
    """Until the SMI port is ``open_`` (the change is applied by the director's loop)."""
    port = director.ports["smi"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await asyncio.to_thread(connects, director.address, port) is open_:
            return True
        await asyncio.sleep(0.05)
    return await asyncio.to_thread(connects, director.address, port) is open_


async def test_no_vstack_closes_the_smi_port_and_vstack_opens_it(
    director: DirectorProcess,
) -> None:
    assert await until_port(director, True, timeout=1.0)
    output = await console(director, "configure terminal\nno vstack\nend\n")
    assert "%" not in output.split("configure terminal", 1)[-1], output
    assert await until_port(director, False), "port 4786 still accepts after no vstack"
    # the port refuses at once; the line is logged once its connections have closed too
    await director.await_log("closed (no vstack)")
    output = await console(director, "configure terminal\nvstack\nend\n")
    assert "%" not in output.split("configure terminal", 1)[-1], output
    assert await until_port(director, True), "port 4786 refused after vstack"
    # the reopened port serves clients again: a hello is acknowledged
    client = ScriptedClient(director, "0050.5601.0071", PID)
    await client.dhcp()
    assert (await client.hello("till-71", has_startup_config=False)).status == 0


async def test_every_reported_neighbour_is_listed(director: DirectorProcess) -> None:
    client = ScriptedClient(director, "0050.5601.0081", PID)
    await client.dhcp()
    assert (await client.hello("access-81", has_startup_config=False)).status == 0
    prefix = director.prefix
    neighbours = (
        # the director itself, cabled to the client's uplink
        smi_client.Neighbor(
            local_port="GigabitEthernet1/0/52",
            mac="0050.5601.00f1",
            device_id="Director",
            ip=director.address,
            remote_port="GigabitEthernet1/0/1",
            platform="cisco WS-C3850",
        ),
        # a Smart Install switch downstream, a legacy one, one without an address yet
        smi_client.Neighbor(
            local_port="GigabitEthernet1/0/1",
            mac="0050.5601.0082",
            device_id="floor-82",
            ip=f"{prefix}.82",
            remote_port="GigabitEthernet1/0/49",
            platform="cisco WS-C2960X-48FPS-L",
        ),
        smi_client.Neighbor(
            local_port="GigabitEthernet1/0/2",
            mac="0050.5601.0083",
            device_id="closet-83",
            ip=f"{prefix}.83",
            remote_port="FastEthernet0/24",
            platform="cisco WS-C2960-24TT-L legacy",
        ),
        smi_client.Neighbor(
            local_port="GigabitEthernet1/0/3",
            mac="0050.5601.0084",
            device_id="new-84",
            remote_port="GigabitEthernet0/1",
            platform="cisco WS-C2960X-24PS-L",
        ),
        # the same neighbour on a second link (an EtherChannel member) is a row of its own
        smi_client.Neighbor(
            local_port="GigabitEthernet1/0/4",
            mac="0050.5601.0082",
            device_id="floor-82",
            ip=f"{prefix}.82",
            remote_port="GigabitEthernet1/0/50",
            platform="cisco WS-C2960X-48FPS-L",
        ),
    )
    report = smi_client.NeighborReport(
        sequence=client.next_sequence(), mac=client.mac, neighbors=neighbours
    )
    assert (await client.send(report)).status == 0
    expected = [
        ("0050.5601.00f1", "Gig 1/0/52"),
        ("0050.5601.0082", "Gig 1/0/1 "),
        ("0050.5601.0083", "Gig 1/0/2 "),
        ("0050.5601.0084", "Gig 1/0/3 "),
        ("0050.5601.0082", "Gig 1/0/4 "),
    ]

    def listed(table: str) -> bool:
        rows = [line for line in table.splitlines() if line.startswith("0050.5601.")]
        return len(rows) == len(expected) and all(
            line.startswith(mac) and port in line
            for line, (mac, port) in zip(rows, expected, strict=True)
        )

    for command in (f"show vstack neighbors {client.ip}", f"show vstack host {client.ip}"):
        output = await console(director, command + "\n")
        assert listed(output.split(command, 1)[-1]), f"{command}:\n{output}"
    everything = await console(director, "show vstack neighbors all\n")
    block = everything.split(f"(access-81 {client.ip})", 1)
    assert len(block) == 2, everything
    assert listed(block[1].split("Device Num", 1)[0]), everything
    # the switches it reported are known to the director (type P, N for the legacy one),
    # the director itself is not added as a client
    status = await console(director, "show vstack status\n")
    for mac in ("0050.5601.0082", "0050.5601.0083", "0050.5601.0084"):
        assert mac in status, status
    assert "0050.5601.00f1" not in status, status
