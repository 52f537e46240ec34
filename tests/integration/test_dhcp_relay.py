"""Relay/snooping mode with a real third-party server (kea-dhcp4, memfile) on loopback.

client (127.0.0.2) ──▶ our relay (127.0.0.1, sets giaddr) ──▶ kea-dhcp4 (127.0.0.1, -p)
       ◀── OFFER/ACK with options 125/67/150 inserted ◀── replies to giaddr (kea -P port)

The lease must come from Kea's pool (and be in Kea's lease file), the Smart Install options
from our hook, and the hook must see every message of the exchange.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartinstall.services.dhcp import DhcpRelay, DhcpRelayConfig, StaticDhcpHook
from smartinstall.wire.dhcp import (
    DhcpDecodeError,
    DhcpPacket,
    MessageType,
    Opt,
    decode_vivso,
    ip_list_value,
    smart_install_vivso,
)
from tests.tools import require_program

from .dhcp_helpers import LoopbackAgent, free_udp_port, ip, request

MAC = bytes.fromhex("0021d7aefc01")
KEA_POOL = ("127.40.0.10", "127.40.0.200")


@contextlib.asynccontextmanager
async def kea(tmp: Path, server_port: int, client_port: int) -> AsyncIterator[Path]:
    program = require_program("kea-dhcp4")
    leases = tmp / "kea-leases.csv"
    config = {
        "Dhcp4": {
            "interfaces-config": {"interfaces": ["lo"], "dhcp-socket-type": "udp"},
            "lease-database": {
                "type": "memfile",
                "persist": True,
                "name": str(leases),
                "lfc-interval": 0,
            },
            "valid-lifetime": 600,
            "subnet4": [
                {
                    "id": 1,
                    "subnet": "127.0.0.0/8",
                    "pools": [{"pool": f"{KEA_POOL[0]} - {KEA_POOL[1]}"}],
                    "option-data": [{"name": "routers", "data": "127.40.0.1"}],
                }
            ],
            "loggers": [
                {
                    "name": "kea-dhcp4",
                    "severity": "WARN",
                    "output_options": [{"output": str(tmp / "kea.log")}],
                }
            ],
        }
    }
    path = tmp / "kea.json"
    path.write_text(json.dumps(config))
    env = dict(os.environ, KEA_PIDFILE_DIR=str(tmp), KEA_LOCKFILE_DIR=str(tmp))
    process = await asyncio.create_subprocess_exec(
        program,
        "-c",
        str(path),
        "-p",
        str(server_port),
        "-P",
        str(client_port),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
    )
    try:
        yield leases
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


async def retry(agent: LoopbackAgent, packet: DhcpPacket, to: tuple[str, int]) -> DhcpPacket:
    """Send like a client does: again until answered (Kea needs a moment to start)."""
    for _ in range(20):
        reply = await agent.exchange(packet, to, timeout=0.5)
        if reply is not None:
            return reply
    raise AssertionError("no reply through the relay")


@pytest.mark.slow
async def test_relay_inserts_smart_install_options_into_kea_replies(tmp_path: Path) -> None:
    kea_port = free_udp_port()
    relay_port = free_udp_port()
    agent = LoopbackAgent("127.0.0.2")
    hook = StaticDhcpHook(
        [
            (Opt.VIVSO, smart_install_vivso("imagelist.txt", "127.0.0.1")),
            (Opt.TFTP_SERVER_ADDRESS, ip_list_value(["127.0.0.1"])),
        ],
        per_mac={MAC: [(Opt.BOOTFILE_NAME, b"Switch-7.cfg")]},
    )
    relay = DhcpRelay(
        DhcpRelayConfig(
            relay_address=ipaddress.IPv4Address("127.0.0.1"),
            helper_addresses=[ipaddress.IPv4Address("127.0.0.1")],
            listen_address="127.0.0.1",
            server_port=relay_port,
            upstream_port=kea_port,
            client_port=agent.port,
            broadcast_address="127.0.0.2",
        ),
        hook,
    )
    await relay.start()
    try:
        async with kea(tmp_path, kea_port, relay_port) as kea_leases:
            to = ("127.0.0.1", relay_port)
            offer = await retry(agent, request(MessageType.DISCOVER, MAC, 0x7001), to)
            assert offer.message_type == MessageType.OFFER
            server_id = offer.get(Opt.SERVER_ID)
            assert server_id is not None
            ack = await retry(
                agent,
                request(
                    MessageType.REQUEST,
                    MAC,
                    0x7002,
                    requested=ip(offer.yiaddr),
                    server_id=ip(server_id),
                ),
                to,
            )
            await asyncio.sleep(0.2)
            kea_file = kea_leases.read_text() if kea_leases.exists() else ""
    finally:
        await relay.stop()
        agent.close()
    assert ack.message_type == MessageType.ACK
    address = ipaddress.IPv4Address(ack.yiaddr)
    first, last = (ipaddress.IPv4Address(a) for a in KEA_POOL)
    assert first <= address <= last  # the third party's pool, not ours
    assert ack.get(Opt.ROUTER) == bytes([127, 40, 0, 1])  # Kea's own option survives
    assert ack.giaddr == bytes(4)  # delivered to the client as if from its own segment
    for reply in (offer, ack):
        (block,) = decode_vivso(reply.get(Opt.VIVSO) or b"")
        assert block.enterprise == 9 and block.get(5) == b"imagelist.txt"
        assert block.get(16) == bytes([127, 0, 0, 1])
        assert reply.get(Opt.BOOTFILE_NAME) == b"Switch-7.cfg"
        assert reply.get(Opt.TFTP_SERVER_ADDRESS) == ip_list_value(["127.0.0.1"])
    # Kea recorded the lease for this MAC.
    assert "00:21:d7:ae:fc:01" in kea_file and str(address) in kea_file
    seen = [(e.kind, e.via) for e in hook.events if e.client.mac == MAC]
    for kind in ("discover", "offer", "request", "ack"):
        assert (kind, "relay") in seen
    assert relay.stats["rewritten"] >= 2


async def test_relay_drops_replies_from_strangers(tmp_path: Path) -> None:
    relay_port = free_udp_port()
    agent = LoopbackAgent("127.0.0.2")
    stranger = LoopbackAgent("127.0.0.3")
    relay = DhcpRelay(
        DhcpRelayConfig(
            relay_address=ipaddress.IPv4Address("127.0.0.1"),
            helper_addresses=[ipaddress.IPv4Address("127.0.0.9")],
            listen_address="127.0.0.1",
            server_port=relay_port,
            upstream_port=free_udp_port(),
            client_port=agent.port,
            broadcast_address="127.0.0.2",
        ),
        StaticDhcpHook(),
    )
    await relay.start()
    try:
        agent.send(request(MessageType.DISCOVER, MAC, 0x99), ("127.0.0.1", relay_port))
        await asyncio.sleep(0.1)
        forged = request(MessageType.OFFER, MAC, 0x99, giaddr="127.0.0.1")
        forged.op = 2
        stranger.send(forged, ("127.0.0.1", relay_port))
        assert await agent.receive(timeout=0.3) is None
        assert relay.stats["ignored"] == 1
        assert relay.stats["to_server"] == 1
    finally:
        await relay.stop()
        agent.close()
        stranger.close()


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(
        [
            MessageType.DISCOVER,
            MessageType.REQUEST,
            MessageType.OFFER,
            MessageType.ACK,
            MessageType.NAK,
        ]
    ),
    st.lists(st.tuples(st.integers(0, 299), st.integers(0, 255)), max_size=12),
)
def test_relay_handler_survives_mutated_packets(
    kind: MessageType, flips: list[tuple[int, int]]
) -> None:
    packet = request(kind, MAC, 5, extra=[(Opt.RELAY_AGENT_INFO, b"\x01\x01x")])
    relay = DhcpRelay(
        DhcpRelayConfig(
            relay_address=ipaddress.IPv4Address("127.0.0.1"),
            helper_addresses=[ipaddress.IPv4Address("127.0.0.9")],
        ),
        StaticDhcpHook([(Opt.BOOTFILE_NAME, b"x.cfg")]),
    )
    sent: list[bytes] = []
    relay.send = lambda payload, to: sent.append(payload)  # type: ignore[method-assign]
    relay._datagram(packet.encode(), ("127.0.0.2", 68))  # a real request first
    for source in ("127.0.0.2", "127.0.0.9"):
        data = bytearray(packet.encode())
        data[0] = 2 if source == "127.0.0.9" else 1
        if source == "127.0.0.9":
            data[24:28] = bytes([127, 0, 0, 1])
        for at, value in flips:
            data[at] = value
        with contextlib.suppress(DhcpDecodeError):
            relay._datagram(bytes(data), (source, 67))
    for reply in sent:
        DhcpPacket.decode(reply)
