"""Kea's perfdhcp (a real, independent DHCP implementation) against our server on loopback.

perfdhcp with ``-l <address>`` acts as a relay agent: it sets giaddr to that address and
listens for the replies on ``-L``; the server sends relayed replies to that port.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
from pathlib import Path

import pytest

from smartinstall.services.dhcp import DhcpServer, DhcpServerConfig, StaticDhcpHook, make_pool
from smartinstall.store.leases import LeaseStore
from smartinstall.wire.dhcp import Opt, smart_install_vivso
from tests.tools import require_program

from .dhcp_helpers import free_udp_port

# perfdhcp only binds to an address configured on an interface, so the relay agent is
# 127.0.0.1 and the pool is the loopback network (its addresses only travel inside packets).
RELAY = "127.0.0.1"


def counters(output: str) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for name in ("sent packets", "received packets", "drops"):
        found[name] = [int(v) for v in re.findall(rf"^{name}: (\d+)", output, re.M)]
    return found


def leases(output: str, section: str) -> list[str]:
    """Addresses perfdhcp printed under ``***Leases for <section>***`` (``-x l``)."""
    block = output.split(f"***Leases for {section}***", 1)[1].split("***", 1)[0]
    return re.findall(r"^,([0-9.]+),", block, re.M)


@pytest.mark.slow
async def test_perfdhcp_four_way_exchanges_against_our_server(tmp_path: Path) -> None:
    perfdhcp = require_program("perfdhcp")
    server_port, relay_port = free_udp_port(), free_udp_port(RELAY)
    hook = StaticDhcpHook([(Opt.VIVSO, smart_install_vivso("imagelist.txt", "127.0.0.20"))])
    config = DhcpServerConfig(
        server_address=ipaddress.IPv4Address("127.0.0.1"),
        pools=[make_pool("bench", "127.0.0.0/16", default_router=["127.0.0.254"])],
        listen_address="127.0.0.1",
        server_port=server_port,
        relay_port=relay_port,
        data_dir=str(tmp_path),
    )
    server = DhcpServer(config, hook)
    await server.start()
    try:
        process = await asyncio.create_subprocess_exec(
            perfdhcp,
            "-4",
            "-l",
            RELAY,
            "-L",
            str(relay_port),
            "-N",
            str(server_port),
            "-r",
            "200",
            "-n",
            "400",
            "-R",
            "300",
            "-x",
            "l",
            "-W",
            "500000",
            "127.0.0.1",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(process.communicate(), 60)
    finally:
        await server.stop()
    text = out.decode(errors="replace")
    assert process.returncode == 0, text  # 0 = every exchange completed
    stats = counters(text)
    assert stats["sent packets"] == [400, 400], text  # DISCOVER-OFFER, REQUEST-ACK
    assert stats["received packets"] == [400, 400], text
    assert stats["drops"] == [0, 0], text
    acked = leases(text, "REQUEST-ACK")
    assert len(acked) == 400
    network = ipaddress.IPv4Network("127.0.0.0/16")
    assert all(ipaddress.IPv4Address(a) in network for a in acked)
    assert server.stats["acks"] == 400
    # The same client (perfdhcp picks among 300 MACs) always got the same address, and
    # every binding is in the journal.
    store = LeaseStore(tmp_path)
    try:
        bound = {lease.address for lease in store}
        assert len(store) == len({int(ipaddress.IPv4Address(a)) for a in acked}) == len(bound)
        assert len(store) <= 300
    finally:
        store.close_sync()
    assert sum(1 for e in hook.events if e.kind == "ack") == 400
