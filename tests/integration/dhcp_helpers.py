"""Shared pieces of the DHCP integration tests: a loopback client/relay agent on real sockets."""

from __future__ import annotations

import asyncio
import socket
import struct

from smartinstall.wire.dhcp import DhcpDecodeError, DhcpPacket, MessageType, Opt


def free_udp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class LoopbackAgent:
    """Talks DHCP to a server on loopback as a relay agent (giaddr) or a plain client."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.setblocking(False)
        self.host = host
        self.port = int(self.sock.getsockname()[1])

    def close(self) -> None:
        self.sock.close()

    def send(self, packet: DhcpPacket, server: tuple[str, int]) -> None:
        self.sock.sendto(packet.encode(), server)

    async def receive(self, timeout: float = 5.0) -> DhcpPacket | None:
        loop = asyncio.get_running_loop()
        try:
            data, _ = await asyncio.wait_for(loop.sock_recvfrom(self.sock, 65535), timeout)
        except TimeoutError:
            return None
        return DhcpPacket.decode(data)

    async def exchange(
        self, packet: DhcpPacket, server: tuple[str, int], timeout: float = 5.0
    ) -> DhcpPacket | None:
        self.send(packet, server)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return None
            try:
                reply = await self.receive(left)
            except DhcpDecodeError:
                continue
            if reply is None or reply.xid == packet.xid:
                return reply


def request(
    kind: MessageType,
    mac: bytes,
    xid: int,
    *,
    giaddr: str | None = None,
    ciaddr: str | None = None,
    requested: str | None = None,
    server_id: str | None = None,
    vendor_class: bytes | None = None,
    extra: list[tuple[int, bytes]] | None = None,
) -> DhcpPacket:
    options: list[tuple[int, bytes]] = [(Opt.MESSAGE_TYPE, bytes([kind]))]
    if requested:
        options.append((Opt.REQUESTED_IP, socket.inet_aton(requested)))
    if server_id:
        options.append((Opt.SERVER_ID, socket.inet_aton(server_id)))
    if vendor_class:
        options.append((Opt.VENDOR_CLASS, vendor_class))
    options += extra or []
    return DhcpPacket(
        xid=xid,
        chaddr=mac + bytes(16 - len(mac)),
        giaddr=socket.inet_aton(giaddr) if giaddr else bytes(4),
        ciaddr=socket.inet_aton(ciaddr) if ciaddr else bytes(4),
        options=options,
    )


def ip(raw: bytes) -> str:
    return socket.inet_ntoa(raw)


def u32(raw: bytes | None) -> int:
    assert raw is not None
    return int(struct.unpack("!I", raw)[0])
