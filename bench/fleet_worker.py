#!/usr/bin/env python3
"""One process of bench/fleet.py's emulated side (started by it; not meant to be run by hand).

``fleet`` mode: every ``stride``-th switch of the fleet from number ``first`` on
(smartinstall.switch.fleet.Fleet), powered on at ``ramp`` switches per second of the whole
fleet (switch number g at ``go + g / ramp``). ``peer`` mode: the same schedule of plain image
downloads from a TFTP server (tftp-hpa) with the switches' TFTP client and block size.

Protocol on stdin/stdout, one JSON object a line: the worker prints ``{"event": "ready"}``
once built, waits for ``go <time.monotonic() of the start>`` on stdin, prints a ``status``
every second and a ``final`` (with its own CPU since the start) when told ``stop`` (or on
SIGTERM), or by itself in peer mode once every download ended.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import signal
import sys
import time
from pathlib import Path
from typing import Any, BinaryIO

from smartinstall.services import tftp_client
from smartinstall.switch.fleet import Fleet, FleetSpec
from smartinstall.switch.machine import State
from smartinstall.switch.netio import NetConfig, _Sink


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def emit(event: str, **fields: Any) -> None:
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


class FleetPart:
    def __init__(self, spec: dict[str, Any]) -> None:
        net = NetConfig(
            dhcp_server=(spec["address"], spec["dhcp_port"]),
            relay_port=spec["relay_port"],
            smi_port=spec["client_smi_port"],
            tftp_blksize=spec["blksize"],
            tftp_timeout=2.0,
            dhcp_timeout=4.0,
            smi_timeout=30.0,
        )
        self.fleet = Fleet(
            FleetSpec(
                count=spec["count"],
                pid=spec["pid"],
                first_address=spec["first_address"],
                flash_root=Path(spec["flash_root"]),
                net=net,
                director_port=spec["smi_port"],
                tftp_port=spec["tftp_port"],
                keepalive=600.0,
                dhcp_retry=3.0,
                mac_prefix=spec["mac_prefix"],
                first_index=spec["first"],
                stride=spec["stride"],
            )
        )
        self.numbers = list(self.fleet.spec.numbers())
        self.powered = 0

    async def run(self, go: float, ramp: float) -> None:
        for number, switch in zip(self.numbers, self.fleet.switches, strict=True):
            if ramp > 0:
                delay = go + number / ramp - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            switch.power_on()
            self.powered += 1
        await asyncio.Event().wait()  # the switches run on their own until the stop

    def status(self) -> dict[str, Any]:
        switches = self.fleet.switches
        return {
            "powered": self.powered,
            "up": sum(1 for s in switches if s.state is State.RUNNING and s.boots >= 2),
            "image_bytes": self.fleet.bytes_downloaded(),
            "tftp_bytes": self.fleet.tftp_bytes(),
            "states": dict(self.fleet.states()),
        }

    async def close(self) -> None:
        await self.fleet.shutdown()


class PeerPart:
    """Image downloads on the fleet's schedule, from the peer server."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.numbers = [spec["first"] + k * spec["stride"] for k in range(spec["count"])]
        self.started = 0
        self.done = 0
        self.failed: list[str] = []
        self.tftp_bytes = 0
        self.last_done_at = 0.0  # seconds after go
        self.finished = asyncio.Event()

    async def one(self, number: int, go: float) -> None:
        spec = self.spec

        def sink(data: bytes) -> None:
            self.tftp_bytes += len(data)

        options = tftp_client.ClientOptions(
            blksize=spec["blksize"], retransmit_timeout=2.0, local_host="127.0.0.1"
        )
        try:
            out: BinaryIO = _Sink(sink)  # type: ignore[assignment]
            got = await tftp_client.fetch_to(spec["host"], spec["port"], spec["file"], out, options)
            if got != spec["size"]:
                self.failed.append(f"{number}: {got} bytes, expected {spec['size']}")
        except (tftp_client.TftpClientError, OSError) as error:
            self.failed.append(f"{number}: {error}")
        self.done += 1
        self.last_done_at = time.monotonic() - go
        if self.done == len(self.numbers):
            self.finished.set()

    async def run(self, go: float, ramp: float) -> None:
        tasks = []
        for number in self.numbers:
            if ramp > 0:
                delay = go + number / ramp - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self.one(number, go)))
            self.started += 1
        await asyncio.gather(*tasks)

    def status(self) -> dict[str, Any]:
        return {
            "powered": self.started,
            "done": self.done,
            "failed": len(self.failed),
            "failures": self.failed[:5],
            "tftp_bytes": self.tftp_bytes,
            "last_done_at": round(self.last_done_at, 2),
        }

    async def close(self) -> None:
        pass


async def main_async(spec: dict[str, Any]) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    part: FleetPart | PeerPart = FleetPart(spec) if spec["mode"] == "fleet" else PeerPart(spec)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    emit("ready", pid=os.getpid())
    go = 0.0
    while not stop.is_set():
        line = (await reader.readline()).decode().split()
        if not line or line[0] == "stop":
            stop.set()
        elif line[0] == "go":
            go = float(line[1])
            break
    if stop.is_set():
        await part.close()
        emit("final", cpu=0.0, **part.status())
        return 0
    cpu0 = own_cpu()

    async def commands() -> None:
        while True:
            line = await reader.readline()
            if not line or line.split()[:1] == [b"stop"]:
                stop.set()
                return

    async def reporter() -> None:
        while True:
            await asyncio.sleep(1.0)
            emit("status", cpu=round(own_cpu() - cpu0, 2), **part.status())

    tasks = [
        asyncio.create_task(commands()),
        asyncio.create_task(reporter()),
        asyncio.create_task(part.run(go, spec["ramp"])),
    ]
    waits = [asyncio.create_task(stop.wait())]
    if isinstance(part, PeerPart):
        waits.append(asyncio.create_task(part.finished.wait()))
    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    cpu = own_cpu() - cpu0
    status = part.status()
    for task in tasks + waits:
        task.cancel()
    for task in tasks + waits:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    with contextlib.suppress(Exception):
        async with asyncio.timeout(30):
            await part.close()
    emit("final", cpu=round(cpu, 2), **status)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("spec", help="JSON: what this process runs")
    args = parser.parse_args()
    return asyncio.run(main_async(json.loads(args.spec)))


if __name__ == "__main__":
    raise SystemExit(main())
