"""DHCP starvation against the real director process: a flood of DISCOVERs with invented MACs
through one relay port, while an honest new switch on another port and a known switch ask for
their addresses. The honest exchanges complete with their Smart Install options, the flood
takes only its port's budget of addresses and entries, and the drops are logged with a count.

Threat: docs/security.md ("DHCP starvation"). Every packet goes to 127.0.0.0/8; the flood is
bounded in count (3,000 packets) and time.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from smartinstall.wire.dhcp import MessageType, Opt, RelayAgentInfo, encode_relay_agent_info
from tests.integration.dhcp_helpers import request
from tests.integration.director_harness import DirectorProcess, Offer, ScriptedClient
from tests.integration.test_director import PID, branch_director

FLOOD = 3_000


@pytest.fixture
def director(tmp_path: Path) -> Iterator[DirectorProcess]:
    yield from branch_director(tmp_path, image_size=20_000)


def option82(port: str) -> list[tuple[int, bytes]]:
    info = RelayAgentInfo(((1, port.encode()), (2, b"0023.5e32.3780")))
    return [(Opt.RELAY_AGENT_INFO, encode_relay_agent_info(info))]


def flood(director: DirectorProcess, count: int) -> None:
    """DISCOVERs of invented Cisco MACs through port Gi1/0/48 of the relay, as fast as the
    socket takes them (the replies go to the relay's port, which nobody reads here)."""
    rng = random.Random(7)
    giaddr = f"{director.prefix}.254"
    target = (director.address, director.ports["dhcp"])
    extra = option82("GigabitEthernet1/0/48")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((f"{director.prefix}.253", 0))
        for _ in range(count):
            mac = bytes(
                [0x00, 0x50, 0x56, rng.randrange(256), rng.randrange(256), rng.randrange(256)]
            )
            packet = request(
                MessageType.DISCOVER, mac, rng.getrandbits(32), giaddr=giaddr,
                vendor_class=f"cisco-{PID}".encode(), extra=extra,
            )  # fmt: skip
            sock.sendto(packet.encode(), target)


async def retried(client: ScriptedClient, port: str) -> tuple[Offer, Offer]:
    """A DHCP client retransmits (RFC 2131, 4.1): under a flood the kernel may drop a packet
    before any server sees it; what the director must do is answer the retry."""
    for attempt in range(3):
        try:
            return await client.dhcp(upstream=(port, "0023.5e32.3780"))
        except AssertionError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def test_a_flood_of_invented_macs_does_not_starve_real_switches(
    director: DirectorProcess,
) -> None:
    known = ScriptedClient(director, "0050.5601.0051", PID)
    offer, _ = await known.dhcp(upstream=("GigabitEthernet1/0/3", "0023.5e32.3780"))
    assert offer.imagelist is not None
    flood(director, FLOOD)
    honest = ScriptedClient(director, "0050.5601.0052", PID)
    offer, ack = await retried(honest, "GigabitEthernet1/0/5")
    assert offer.imagelist == "vstack/imagelist-default.txt" and ack.address
    offer, _ = await retried(known, "GigabitEthernet1/0/3")
    assert offer.imagelist is not None
    flood(director, FLOOD)
    await director.await_log("DHCP: DISCOVER of a new client via")
    devices = director.database().devices()
    # the flood's port got its burst and its rate, not the table: a few dozen entries at most
    assert len(devices) < 40, len(devices)
    assert {d.mac for d in devices} >= {known.mac, honest.mac}
