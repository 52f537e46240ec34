"""An impaired link for one TFTP transfer: a UDP relay on loopback that delays and drops
packets in both directions (the switch's "slow or lossy TFTP" faults).

The switch's TFTP client talks to the relay; the relay talks to the server from the switch's
own address, so the server (the director) still sees the switch. TFTP's transfer IDs work
through it: the client sees one peer (the relay), the server sees one peer (the relay's
upstream socket), and the relay follows the server's new port after the first answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class Impairment:
    loss: float = 0.0  # probability of dropping each datagram, each way
    delay: float = 0.0  # seconds added to each datagram
    seed: int | None = None

    @property
    def active(self) -> bool:
        return self.loss > 0 or self.delay > 0


class ImpairedRelay:
    """Relays one client (the first to write) to ``server`` through an impaired link."""

    def __init__(
        self,
        server: tuple[str, int],
        upstream_host: str,
        impairment: Impairment,
        listen_host: str = "127.0.0.1",
    ) -> None:
        self.server = server
        self.impairment = impairment
        self.random = random.Random(impairment.seed)
        self.down = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.down.bind((listen_host, 0))
            self.up.bind((upstream_host, 0))
        except OSError:
            self.close()
            raise
        self.down.setblocking(False)
        self.up.setblocking(False)
        self.address: tuple[str, int] = self.down.getsockname()
        self.client: tuple[str, int] | None = None
        self.server_tid: tuple[str, int] | None = None
        self.dropped = 0
        self.relayed = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._pending: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._pump_down()), loop.create_task(self._pump_up())]

    def close(self) -> None:
        for task in (*self._tasks, *self._pending):
            task.cancel()
        self.down.close()
        self.up.close()

    async def __aenter__(self) -> ImpairedRelay:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _forward(self, sock: socket.socket, data: bytes, to: tuple[str, int]) -> None:
        if self.random.random() < self.impairment.loss:
            self.dropped += 1
            return
        self.relayed += 1
        if self.impairment.delay <= 0:
            with contextlib.suppress(OSError):
                sock.sendto(data, to)
            return

        async def later() -> None:
            await asyncio.sleep(self.impairment.delay)
            with contextlib.suppress(OSError):
                sock.sendto(data, to)

        task = asyncio.get_running_loop().create_task(later())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _pump_down(self) -> None:
        """client → server"""
        loop = asyncio.get_running_loop()
        while True:
            data, source = await loop.sock_recvfrom(self.down, 65536)
            if self.client is None:
                self.client = (source[0], source[1])
            elif (source[0], source[1]) != self.client:
                continue
            # a (re)sent request goes to the server's port; the rest to the transfer's TID
            request = data[:2] in (b"\x00\x01", b"\x00\x02")
            target = self.server if request or self.server_tid is None else self.server_tid
            self._forward(self.up, data, target)

    async def _pump_up(self) -> None:
        """server → client"""
        loop = asyncio.get_running_loop()
        while True:
            data, source = await loop.sock_recvfrom(self.up, 65536)
            if source[0] != self.server[0] or self.client is None:
                continue
            if self.server_tid is None:
                self.server_tid = (source[0], source[1])
            elif (source[0], source[1]) != self.server_tid:
                continue
            self._forward(self.down, data, self.client)
