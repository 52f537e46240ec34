#!/usr/bin/env python3
"""Control-plane probe of a running director, for bench/fleet.py (a process of its own).

* DHCP: every ``--interval`` seconds a relayed DISCOVER (``giaddr`` = ``--giaddr``, sent to
  the director's DHCP port from ``giaddr:relay-port``, as the emulated switches send theirs,
  see smartinstall.switch.netio) for a fresh MAC of the probe's own prefix (or one of
  ``--macs`` in turn), timed until its OFFER arrives; a probe without an OFFER after
  ``--wait`` seconds is unanswered (an OFFER after that is counted as late, not as
  answered). The director answers a DISCOVER from a new MAC with a new director-database
  entry and download-status row, so every fresh-MAC probe adds one (never REQUESTed, never
  downloading): five a second.
* Console: every ``--console-interval`` seconds ``show vstack status`` over the director's
  local console socket (DATA_DIR/cli.sock), timed from connecting to the end of the output,
  with the number of device rows it showed.

It runs until SIGTERM/SIGINT (or ``--max-seconds``), then writes its samples and summary as
JSON to ``--out`` (also every 10 s while it runs, so a killed probe leaves its samples).

    .venv/bin/python bench/probe.py --dhcp 127.21.0.1:PORT --relay-port PORT \\
        --giaddr 127.21.255.254 --data-dir DIR --out probe.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from console import count_device_rows, run_console  # noqa: E402

from smartinstall.wire.dhcp import (  # noqa: E402
    BOOTREPLY,
    DhcpDecodeError,
    DhcpPacket,
    MessageType,
    Opt,
)

DEFAULT_MAC_PREFIX = "0250.72"  # locally administered; the fleet's switches are 0050.57…


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil
    return ordered[int(min(rank, len(ordered))) - 1]


def summary(values: list[float]) -> dict[str, float | None]:
    return {
        "p50_ms": percentile(values, 50),
        "p99_ms": percentile(values, 99),
        "max_ms": max(values) if values else None,
    }


class DhcpProbe:
    def __init__(
        self,
        server: tuple[str, int],
        giaddr: str,
        relay_port: int,
        mac_prefix: str,
        vendor_class: str,
        wait: float,
        start: float,
        macs: int = 0,
    ) -> None:
        self.server = server
        self.giaddr = giaddr
        self.prefix = bytes.fromhex(mac_prefix.replace(".", "").replace(":", ""))
        if len(self.prefix) > 4:
            raise ValueError("a MAC prefix is 4 bytes at most")
        self.vendor_class = vendor_class.encode()
        self.wait = wait
        self.start = start
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.sock.bind((giaddr, relay_port))
        self.counter = 0
        self.macs = macs  # 0: a fresh MAC for every probe; else these many, in turn
        self.pending: dict[int, tuple[float, int]] = {}  # xid -> (sent at, sample index)
        self.samples: list[list[Any]] = []  # [seconds since start, latency ms or None]
        self.sent = 0
        self.answered = 0
        self.unanswered = 0
        self.late = 0
        self.other_replies = 0  # NAKs, stray packets
        self.send_errors = 0

    def close(self) -> None:
        self.sock.close()

    def next_mac(self) -> bytes:
        self.counter += 1
        number = self.counter if not self.macs else (self.counter - 1) % self.macs + 1
        tail = number.to_bytes(6 - len(self.prefix), "big")
        return self.prefix + tail

    def discover(self) -> None:
        self.expire()
        xid = random.getrandbits(32)
        while xid in self.pending:
            xid = random.getrandbits(32)
        options: list[tuple[int, bytes]] = [(Opt.MESSAGE_TYPE, bytes([MessageType.DISCOVER]))]
        if self.vendor_class:
            options.append((Opt.VENDOR_CLASS, self.vendor_class))
        options.append((Opt.PARAMETER_LIST, bytes([1, 3, 12, 67, 125, 150])))
        packet = DhcpPacket(
            xid=xid,
            chaddr=self.next_mac() + bytes(10),
            giaddr=socket.inet_aton(self.giaddr),
            hops=1,
            options=options,
        )
        now = time.monotonic()
        try:
            self.sock.sendto(packet.encode(), self.server)
        except OSError:
            self.send_errors += 1
            return
        self.sent += 1
        self.pending[xid] = (now, len(self.samples))
        self.samples.append([round(now - self.start, 3), None])

    def readable(self) -> None:
        while True:
            try:
                data = self.sock.recv(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            now = time.monotonic()
            try:
                reply = DhcpPacket.decode(data)
            except DhcpDecodeError:
                self.other_replies += 1
                continue
            if reply.op != BOOTREPLY or reply.message_type != MessageType.OFFER:
                self.other_replies += 1  # a NAK or a stray packet: the probe stays pending
                continue
            found = self.pending.pop(reply.xid, None)
            if found is None:
                self.late += 1  # expired already, or not ours
                continue
            sent_at, index = found
            if now - sent_at > self.wait:
                self.unanswered += 1
                self.late += 1
                continue
            self.answered += 1
            self.samples[index][1] = round(1000 * (now - sent_at), 3)

    def expire(self, everything: bool = False) -> int:
        """Count probes past their wait as unanswered; at the end (everything), those still
        within their wait are dropped from the samples' count (in flight, not unanswered)."""
        now = time.monotonic()
        in_flight = 0
        for xid, (sent_at, _) in list(self.pending.items()):
            if now - sent_at > self.wait:
                del self.pending[xid]
                self.unanswered += 1
            elif everything:
                del self.pending[xid]
                in_flight += 1
        return in_flight

    def report(self) -> dict[str, Any]:
        latencies = [s[1] for s in self.samples if s[1] is not None]
        return {
            "sent": self.sent,
            "answered": self.answered,
            "unanswered": self.unanswered,
            "late": self.late,
            "other_replies": self.other_replies,
            "send_errors": self.send_errors,
            "wait_s": self.wait,
            **summary(latencies),
            "samples": self.samples,
        }


class ConsoleProbe:
    def __init__(self, data_dir: Path, timeout: float, start: float) -> None:
        self.data_dir = data_dir
        self.timeout = timeout
        self.start = start
        self.samples: list[list[Any]] = []  # [seconds since start, ms or None, device rows]
        self.failures: list[str] = []

    async def once(self) -> None:
        at = round(time.monotonic() - self.start, 3)
        try:
            run = await run_console(self.data_dir, ["show vstack status"], self.timeout)
        except (OSError, TimeoutError) as error:
            self.samples.append([at, None, None])
            self.failures.append(f"{at}: {type(error).__name__}: {error}")
            return
        self.samples.append([at, round(1000 * run.seconds, 3), count_device_rows(run.output)])

    def report(self) -> dict[str, Any]:
        times = [s[1] for s in self.samples if s[1] is not None]
        rows = [s[2] for s in self.samples if s[2] is not None]
        return {
            "runs": len(self.samples),
            "failed": len(self.failures),
            "failures": self.failures[:20],
            **summary(times),
            "max_device_rows": max(rows) if rows else None,
            "samples": self.samples,
        }


async def run(args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    host, _, port = args.dhcp.rpartition(":")
    start = time.monotonic()
    dhcp = (
        DhcpProbe(
            (host, int(port)),
            args.giaddr,
            args.relay_port,
            args.mac_prefix,
            args.vendor_class,
            args.wait,
            start,
            args.macs,
        )
        if args.interval > 0
        else None
    )
    console = (
        ConsoleProbe(args.data_dir, args.console_timeout, start)
        if args.data_dir is not None and args.console_interval > 0
        else None
    )

    def write() -> None:
        report: dict[str, Any] = {
            "pid": os.getpid(),
            "seconds": round(time.monotonic() - start, 1),
            "interval_s": args.interval,
            "console_interval_s": args.console_interval,
            "mac_prefix": args.mac_prefix,
            "macs": args.macs,
            "giaddr": args.giaddr,
            "dhcp": dhcp.report() if dhcp else None,
            "console": console.report() if console else None,
        }
        temp = args.out.with_suffix(".tmp")
        temp.write_text(json.dumps(report))
        os.replace(temp, args.out)

    async def dhcp_loop() -> None:
        assert dhcp is not None
        loop.add_reader(dhcp.sock.fileno(), dhcp.readable)
        k = 0
        while not stop.is_set():
            dhcp.discover()
            k += 1  # on a fixed schedule: a late wake-up does not shift the next probes
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    stop.wait(), max(0.0, start + k * args.interval - time.monotonic())
                )
        await asyncio.sleep(0)  # answers already queued are read before the count

    async def console_loop() -> None:
        assert console is not None
        k = 0
        while not stop.is_set():
            await console.once()
            k += 1
            next_at = start + k * args.console_interval
            while next_at < time.monotonic():  # a slow run skips the turns it overran
                k += 1
                next_at = start + k * args.console_interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), next_at - time.monotonic())

    async def writer_loop() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 10.0)
            write()

    async def deadline() -> None:
        await asyncio.sleep(args.max_seconds)
        stop.set()

    tasks = [asyncio.create_task(writer_loop()), asyncio.create_task(deadline())]
    if dhcp is not None:
        tasks.append(asyncio.create_task(dhcp_loop()))
    if console is not None:
        tasks.append(asyncio.create_task(console_loop()))
    await stop.wait()
    if dhcp is not None:
        # the last probes get their wait before the count, unless the stop must be quick
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.sleep(min(args.wait, args.drain)), args.drain + 1)
        loop.remove_reader(dhcp.sock.fileno())
        dhcp.readable()
        dhcp.expire(everything=True)
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    write()
    if dhcp is not None:
        dhcp.close()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dhcp", required=True, help="the director's DHCP HOST:PORT")
    parser.add_argument(
        "--relay-port",
        type=int,
        required=True,
        help="where the director answers relay agents (--dhcp-relay-port)",
    )
    parser.add_argument(
        "--giaddr",
        default="127.21.255.254",
        help="the probe's relay address (in the pool's subnet, never a switch's)",
    )
    parser.add_argument("--mac-prefix", default=DEFAULT_MAC_PREFIX)
    parser.add_argument(
        "--macs",
        type=int,
        default=0,
        help="0: a fresh MAC for every probe (each becomes a new client of the "
        "director); N: N MACs in turn (known clients after the first round)",
    )
    parser.add_argument(
        "--vendor-class",
        default="cisco-WS-C2960X-48FPS-L",
        help="option 60 of the probes ('' for none)",
    )
    parser.add_argument(
        "--interval", type=float, default=0.2, help="seconds between probes (0: no DHCP probe)"
    )
    parser.add_argument("--wait", type=float, default=2.0, help="an OFFER later is unanswered")
    parser.add_argument("--data-dir", type=Path, help="the director's data directory (console)")
    parser.add_argument("--console-interval", type=float, default=2.0)
    parser.add_argument("--console-timeout", type=float, default=30.0)
    parser.add_argument(
        "--drain",
        type=float,
        default=2.0,
        help="at most this long after the stop for the last OFFERs",
    )
    parser.add_argument("--max-seconds", type=float, default=4 * 3600.0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    return asyncio.run(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
