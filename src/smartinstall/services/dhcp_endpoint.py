"""The DHCP service's UDP socket: non-blocking, read in batches straight from the selector.

Shared by :class:`~smartinstall.services.dhcp_server.DhcpServer` and
:class:`~smartinstall.services.dhcp_relay.DhcpRelay`: a malformed packet is counted and
dropped, a send that fails is counted (the client retries), and nothing a peer sends stops the
service.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

from smartinstall.services.dhcp_gate import HeldAcks
from smartinstall.wire.dhcp import DhcpDecodeError

# one logger for the whole service (dhcp_gate logs under it too)
log = logging.getLogger("smartinstall.services.dhcp")

_RECV_BATCH = 512  # datagrams read per wake-up before yielding to the loop


class _Endpoint:
    """A non-blocking UDP socket read in batches straight from the selector."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sock: socket.socket | None = None
        self.stats: dict[str, int] = {
            "received": 0,
            "malformed": 0,
            "sent": 0,
            "send_errors": 0,
            "ignored": 0,
            "held_back": 0,
        }
        self.held = HeldAcks(name, self.stats)

    def _open(
        self, address: str, port: int, interface: str | None, recv_buffer: int | None
    ) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
            if recv_buffer:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, recv_buffer)
        if interface:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, interface.encode())
        sock.bind((address, port))
        sock.setblocking(False)
        self.sock = sock
        asyncio.get_running_loop().add_reader(sock.fileno(), self._readable)

    @property
    def address(self) -> tuple[str, int]:
        assert self.sock is not None
        host, port = self.sock.getsockname()
        return str(host), int(port)

    def _readable(self) -> None:
        sock = self.sock
        if sock is None:
            return
        for _ in range(_RECV_BATCH):
            try:
                data, source = sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # e.g. ICMP port unreachable reported on the socket
                log.debug("%s: receive error %s", self.name, error)
                continue
            self.stats["received"] += 1
            try:
                self._datagram(data, source)
            except DhcpDecodeError as error:
                self.stats["malformed"] += 1
                log.debug("%s: dropped malformed packet from %s: %s", self.name, source, error)
            except Exception:  # a bug must not stop the service
                self.stats["malformed"] += 1
                log.exception("%s: error handling a packet from %s", self.name, source)

    def _datagram(self, data: bytes, source: tuple[str, int]) -> None:
        raise NotImplementedError

    def send(self, data: bytes, destination: tuple[str, int]) -> None:
        if self.sock is None:
            return
        try:
            self.sock.sendto(data, destination)
            self.stats["sent"] += 1
        except OSError as error:  # buffer full or unreachable: the client retries
            self.stats["send_errors"] += 1
            log.debug("%s: send to %s failed: %s", self.name, destination, error)

    def _close(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self.sock.fileno())
            self.sock.close()
            self.sock = None
