"""The director's DHCP server on real loopback sockets (guide: "Configuring the Director as
the DHCP Server"): DORA relayed and "broadcast", NAK, RELEASE, DECLINE, INFORM,
`ip dhcp remember` across restarts, coexistence mode, the hook, and bad input."""

from __future__ import annotations

import ipaddress
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartinstall.services.dhcp import (
    DhcpServer,
    DhcpServerConfig,
    StaticDhcpHook,
    make_pool,
)
from smartinstall.store.leases import JOURNAL_NAME, LeaseStore
from smartinstall.wire.dhcp import (
    DhcpDecodeError,
    DhcpPacket,
    MessageType,
    Opt,
    decode_relay_agent_info,
    decode_vivso,
    ip_list_value,
    smart_install_vivso,
)

from .dhcp_helpers import LoopbackAgent, free_udp_port, ip, request, u32

RELAY = "127.31.0.1"  # the relay agent's address = giaddr, inside the pool's network
MAC = bytes.fromhex("0021d7aefc00")


class Setup:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.agent = LoopbackAgent(RELAY)
        self.port = free_udp_port()
        self.hook = StaticDhcpHook(
            [(Opt.VIVSO, smart_install_vivso("imagelist.txt", "127.31.0.20"))],
            per_mac={MAC: [(Opt.BOOTFILE_NAME, b"Switch-1.cfg"), (Opt.HOSTNAME, b"Switch-1")]},
        )
        self.server: DhcpServer | None = None

    def config(self, **changes: object) -> DhcpServerConfig:
        pool = make_pool(
            "pool1",
            "127.31.0.0/24",
            default_router=["127.31.0.30"],
            file_server="127.31.0.40",
            lease_time=3600,
            excluded=["127.31.0.2-127.31.0.9"],
        )
        config = DhcpServerConfig(
            server_address=ipaddress.IPv4Address("127.0.0.1"),
            pools=[pool],
            listen_address="127.0.0.1",
            server_port=self.port,
            relay_port=self.agent.port,
            client_port=self.agent.port,
            broadcast_address=RELAY,
            data_dir=str(self.tmp / "data"),
        )
        for key, value in changes.items():
            setattr(config, key, value)
        return config

    async def start(self, **changes: object) -> DhcpServer:
        self.server = DhcpServer(self.config(**changes), self.hook)
        await self.server.start()
        return self.server

    async def restart(self, **changes: object) -> DhcpServer:
        assert self.server is not None
        await self.server.stop()
        return await self.start(**changes)

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    async def dora(self, mac: bytes, xid: int, **kw: object) -> tuple[DhcpPacket, DhcpPacket]:
        offer = await self.agent.exchange(
            request(MessageType.DISCOVER, mac, xid, giaddr=RELAY, **kw),  # type: ignore[arg-type]
            self.address,
        )
        assert offer is not None and offer.message_type == MessageType.OFFER
        ack = await self.agent.exchange(
            request(
                MessageType.REQUEST,
                mac,
                xid + 1,
                giaddr=RELAY,
                requested=ip(offer.yiaddr),
                server_id=ip(offer.get(Opt.SERVER_ID) or b""),
                **kw,
            ),  # type: ignore[arg-type]
            self.address,
        )
        assert ack is not None
        return offer, ack


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    s = Setup(tmp_path)
    yield s
    if s.server is not None:
        await s.server.stop()
    s.agent.close()


async def test_relayed_dora_gives_pool_and_smart_install_options(setup: Setup) -> None:
    await setup.start()
    offer, ack = await setup.dora(MAC, 100)
    assert ack.message_type == MessageType.ACK
    assert ack.yiaddr == offer.yiaddr
    address = ipaddress.IPv4Address(ack.yiaddr)
    assert address in ipaddress.IPv4Network("127.31.0.0/24")
    assert not ipaddress.IPv4Address("127.31.0.2") <= address <= ipaddress.IPv4Address("127.31.0.9")
    assert ack.giaddr == bytes([127, 31, 0, 1])
    assert ack.get(Opt.SUBNET_MASK) == bytes([255, 255, 255, 0])
    assert ack.get(Opt.ROUTER) == bytes([127, 31, 0, 30])
    assert ack.get(Opt.TFTP_SERVER_ADDRESS) == ip_list_value(["127.31.0.40"])
    assert ack.siaddr == bytes([127, 31, 0, 40])
    assert u32(ack.get(Opt.LEASE_TIME)) == 3600
    assert ack.get(Opt.SERVER_ID) == bytes([127, 0, 0, 1])
    assert ack.get(Opt.BOOTFILE_NAME) == b"Switch-1.cfg"
    assert ack.get(Opt.HOSTNAME) == b"Switch-1"
    (block,) = decode_vivso(ack.get(Opt.VIVSO) or b"")
    assert (block.enterprise, block.get(5), block.get(16)) == (
        9,
        b"imagelist.txt",
        bytes([127, 31, 0, 20]),
    )
    kinds = [(e.kind, e.client.mac) for e in setup.hook.events]
    assert kinds == [(k, MAC) for k in ("discover", "offer", "request", "ack")]
    assert setup.hook.events[0].client.giaddr == ipaddress.IPv4Address(RELAY)
    assert setup.hook.events[-1].address == address


async def test_broadcast_client_without_relay(setup: Setup) -> None:
    await setup.start(server_address=ipaddress.IPv4Address("127.31.0.1"), listen_address=RELAY)
    # server_address is now inside the pool; "broadcast" replies go to RELAY:agent port.
    server = (RELAY, setup.port)
    offer = await setup.agent.exchange(request(MessageType.DISCOVER, MAC, 1), server)
    assert offer is not None and offer.message_type == MessageType.OFFER
    assert offer.giaddr == bytes(4)
    ack = await setup.agent.exchange(
        request(MessageType.REQUEST, MAC, 2, requested=ip(offer.yiaddr), server_id=RELAY), server
    )
    assert ack is not None and ack.message_type == MessageType.ACK
    # Renewal is unicast to ciaddr (which is not a local address here, so nothing arrives);
    # the server answers, and the binding lives on.
    assert setup.server is not None
    assert setup.server.stats["acks"] == 1


async def test_same_address_after_restart_ip_dhcp_remember(setup: Setup) -> None:
    server = await setup.start()
    addresses = {}
    for n in range(5):
        mac = bytes([0, 0x21, 0xD7, 0, 0, n])
        _, ack = await setup.dora(mac, 1000 + 10 * n)
        addresses[mac] = ack.yiaddr
    assert len(set(addresses.values())) == 5
    journal = setup.tmp / "data" / JOURNAL_NAME
    assert journal.read_bytes().count(b"\n") == 5  # each ACK was on disk before it was sent
    server = await setup.restart()
    # New clients first, so a server that forgot would hand out the old addresses to them.
    for n in range(5):
        await setup.dora(bytes([0, 0x99, 0, 0, 0, n]), 5000 + 10 * n)
    for n, (mac, old) in enumerate(addresses.items()):
        _, ack = await setup.dora(mac, 9000 + 10 * n)
        assert ack.yiaddr == old
    assert server.stats["acks"] == 10


async def test_init_reboot_after_restart_is_acked_from_the_journal(setup: Setup) -> None:
    await setup.start()
    _, ack = await setup.dora(MAC, 10)
    await setup.restart()
    again = await setup.agent.exchange(
        request(MessageType.REQUEST, MAC, 20, giaddr=RELAY, requested=ip(ack.yiaddr)),
        setup.address,
    )
    assert again is not None and again.message_type == MessageType.ACK
    assert again.yiaddr == ack.yiaddr


async def test_wrong_requests_get_nak_or_silence(setup: Setup) -> None:
    await setup.start()
    _, ack = await setup.dora(MAC, 10)
    other = bytes.fromhex("020000000001")
    # Another client asks for that address: NAK.
    nak = await setup.agent.exchange(
        request(
            MessageType.REQUEST,
            other,
            30,
            giaddr=RELAY,
            requested=ip(ack.yiaddr),
            server_id="127.0.0.1",
        ),
        setup.address,
    )
    assert nak is not None and nak.message_type == MessageType.NAK
    assert nak.broadcast and nak.yiaddr == bytes(4)
    # INIT-REBOOT on the wrong network: NAK.
    nak = await setup.agent.exchange(
        request(MessageType.REQUEST, MAC, 31, giaddr=RELAY, requested="10.1.2.3"), setup.address
    )
    assert nak is not None and nak.message_type == MessageType.NAK
    # INIT-REBOOT from an unknown client: silence (RFC 2131 4.3.2).
    silent = await setup.agent.exchange(
        request(MessageType.REQUEST, other, 32, giaddr=RELAY, requested="127.31.0.77"),
        setup.address,
        timeout=0.3,
    )
    assert silent is None
    # REQUEST for another server: silence.
    silent = await setup.agent.exchange(
        request(
            MessageType.REQUEST,
            other,
            33,
            giaddr=RELAY,
            requested="127.31.0.78",
            server_id="127.0.0.99",
        ),
        setup.address,
        timeout=0.3,
    )
    assert silent is None


async def test_release_keeps_the_address_remembered_and_decline_blocks_it(setup: Setup) -> None:
    server = await setup.start()
    _, ack = await setup.dora(MAC, 10)
    release = request(
        MessageType.RELEASE, MAC, 40, giaddr=RELAY, ciaddr=ip(ack.yiaddr), server_id="127.0.0.1"
    )
    setup.agent.send(release, setup.address)
    offer = await setup.agent.exchange(
        request(MessageType.DISCOVER, MAC, 41, giaddr=RELAY), setup.address
    )
    assert offer is not None and offer.yiaddr == ack.yiaddr
    assert server.stats["releases"] == 1
    decline = request(
        MessageType.DECLINE, MAC, 42, giaddr=RELAY, requested=ip(ack.yiaddr), server_id="127.0.0.1"
    )
    setup.agent.send(decline, setup.address)
    offer = await setup.agent.exchange(
        request(MessageType.DISCOVER, MAC, 43, giaddr=RELAY), setup.address
    )
    assert offer is not None and offer.yiaddr != ack.yiaddr
    assert server.stats["declines"] == 1


async def test_inform_gets_options_without_a_lease(setup: Setup) -> None:
    await setup.start()
    setup.agent.send(
        request(MessageType.INFORM, MAC, 50, giaddr=RELAY, ciaddr="127.31.0.200"), setup.address
    )
    ack = await setup.agent.receive()
    assert ack is not None and ack.message_type == MessageType.ACK
    assert ack.yiaddr == bytes(4)
    assert ack.get(Opt.LEASE_TIME) is None
    assert ack.get(Opt.BOOTFILE_NAME) == b"Switch-1.cfg"


async def test_option_82_is_echoed_and_reported(setup: Setup) -> None:
    await setup.start()
    relay_info = b"\x01\x06Gi1/0/3\x02\x04sw-1"[:2] + b"Gi1/03" + b"\x02\x04sw-1"
    offer = await setup.agent.exchange(
        request(
            MessageType.DISCOVER, MAC, 60, giaddr=RELAY, extra=[(Opt.RELAY_AGENT_INFO, relay_info)]
        ),
        setup.address,
    )
    assert offer is not None
    assert offer.get(Opt.RELAY_AGENT_INFO) == relay_info
    seen = setup.hook.events[0].client.relay_info
    assert seen == decode_relay_agent_info(relay_info)
    assert seen is not None and seen.circuit_id == b"Gi1/03" and seen.remote_id == b"sw-1"


async def test_coexistence_answers_only_smart_install_clients(setup: Setup) -> None:
    server = await setup.start(only_smart_install=True)
    pc = bytes.fromhex("3c0754000001")
    silent = await setup.agent.exchange(
        request(MessageType.DISCOVER, pc, 70, giaddr=RELAY, vendor_class=b"MSFT 5.0"),
        setup.address,
        timeout=0.3,
    )
    assert silent is None
    known = await setup.agent.exchange(
        request(MessageType.DISCOVER, MAC, 71, giaddr=RELAY), setup.address
    )
    assert known is not None and known.message_type == MessageType.OFFER
    cisco = await setup.agent.exchange(
        request(
            MessageType.DISCOVER,
            bytes.fromhex("00000c000002"),
            72,
            giaddr=RELAY,
            vendor_class=b"ciscopnp",
        ),
        setup.address,
    )
    assert cisco is not None and cisco.message_type == MessageType.OFFER
    assert server.stats["ignored"] == 1


async def test_bad_packets_are_dropped_and_service_goes_on(setup: Setup) -> None:
    server = await setup.start()
    good = request(MessageType.DISCOVER, MAC, 80, giaddr=RELAY).encode()
    garbage = [
        b"",
        b"\x01",
        good[:200],
        good[:240] + b"\x35\x05\x01",
        good[:240] + b"\x35\x01\x63\xff",
        good[:240] + b"\x34\x01\x03\xff" + bytes(60),
        good[:240] + b"\xe0\x00" * 10_000,
        os.urandom(400),
        bytes([2]) + good[1:],  # a BOOTREPLY sent to the server
    ]
    for data in garbage:
        setup.agent.sock.sendto(data, setup.address)
    offer = await setup.agent.exchange(
        request(MessageType.DISCOVER, MAC, 81, giaddr=RELAY), setup.address
    )
    assert offer is not None and offer.message_type == MessageType.OFFER
    assert server.stats["malformed"] + server.stats["ignored"] >= len(garbage) - 1


async def test_pool_exhaustion_reclaims_expired_bindings(setup: Setup) -> None:
    pool = make_pool("tiny", "127.31.0.0/29", lease_time=3)  # .1 (server) .. .6
    await setup.start(pools=[pool], server_address=ipaddress.IPv4Address(RELAY))
    got = set()
    for n in range(5):
        _, ack = await setup.dora(bytes([2, 0, 0, 0, 1, n]), 2000 + 10 * n)
        assert ack.message_type == MessageType.ACK
        got.add(ack.yiaddr)
    assert len(got) == 5
    # Full: a sixth client gets nothing while the leases run.
    silent = await setup.agent.exchange(
        request(MessageType.DISCOVER, bytes([2, 0, 0, 0, 3, 0]), 2900, giaddr=RELAY),
        setup.address,
        timeout=0.3,
    )
    assert silent is None
    # Leases are 3 s long; once they expire (the server's wall clock turned 4 s on) a new
    # client gets the oldest one back.
    server = setup.server
    assert server is not None
    server.wall_clock = lambda: time.time() + 4.0
    _, ack = await setup.dora(bytes([2, 0, 0, 0, 2, 0]), 3000)
    assert ack.message_type == MessageType.ACK and ack.yiaddr in got


# Mutations of valid requests, fed straight to the server's packet handler: anything it
# cannot use must be a DhcpDecodeError (dropped and counted), never another exception.
_SEEDS = [
    request(
        kind,
        MAC,
        7,
        giaddr=RELAY,
        requested="127.31.0.50",
        server_id="127.0.0.1",
        extra=[(Opt.RELAY_AGENT_INFO, b"\x01\x02ab")],
    ).encode()
    for kind in MessageType
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(_SEEDS),
    st.lists(st.tuples(st.integers(0, 299), st.integers(0, 255)), max_size=12),
    st.integers(0, 400),
)
def test_server_handler_survives_mutated_packets(
    seed: bytes, flips: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(seed)
    for at, value in flips:
        if at < len(data):
            data[at] = value
    config = DhcpServerConfig(
        server_address=ipaddress.IPv4Address("127.0.0.1"),
        pools=[make_pool("p", "127.31.0.0/24", excluded=["127.31.0.2-127.31.0.9"])],
        data_dir=None,
    )
    server = DhcpServer(config, StaticDhcpHook(), LeaseStore(None))  # memory: no loop needed
    sent: list[bytes] = []
    server.send = lambda payload, to: sent.append(payload)  # type: ignore[method-assign]
    for payload in (bytes(data), bytes(data[:cut])):
        try:
            server._datagram(payload, ("127.31.0.1", 67))
        except DhcpDecodeError:
            continue
    for reply in sent:
        DhcpPacket.decode(reply)  # whatever we sent is well-formed


async def test_hook_options_replace_pool_options_but_not_the_message_type(setup: Setup) -> None:
    setup.hook.options += [
        (Opt.TFTP_SERVER_ADDRESS, ip_list_value(["127.31.0.41"])),  # the pool says .40
        (Opt.MESSAGE_TYPE, bytes([MessageType.NAK])),  # must be ignored
        (Opt.SERVER_ID, bytes([1, 2, 3, 4])),  # must be ignored
    ]
    await setup.start()
    offer, ack = await setup.dora(MAC, 90)
    for reply in (offer, ack):
        assert reply.get(Opt.TFTP_SERVER_ADDRESS) == ip_list_value(["127.31.0.41"])
        assert reply.get(Opt.SERVER_ID) == bytes([127, 0, 0, 1])
        assert [c for c, _ in reply.options].count(Opt.TFTP_SERVER_ADDRESS) == 1
    assert ack.message_type == MessageType.ACK
