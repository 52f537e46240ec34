#!/usr/bin/env python3
"""REST API latency: ``GET /api/v1/devices`` with N devices in the director's memory.

Two modes, both on loopback, each request timed by ``curl`` itself (``time_total``) on one
reused connection:

* idle (default): the director's HTTP service (the real FastAPI app on uvicorn) over a
  director state of N clients built in this process (stacks of one, three neighbours each, a
  group rule configured), queried back to back;
* ``--fleet``: the issue's target, ≤ 50 ms p99 for 1,000 devices *while a fleet downloads*.
  bench/fleet.py runs a real director process (127.21.0.1, its REST API on by
  ``--http-port``) and N emulated switches that power on at ``--ramp`` per second and pull an
  ``--image-mib`` image at 512-byte blocks; meanwhile ``GET /api/v1/devices`` is asked
  ``--rate`` times a second (curl ``--rate``, batches of ``--batch``), and before and after
  each batch ``/metrics`` tells how many clients the director holds and how many TFTP
  transfers run. The figure is the p99 of the requests whose batch saw N clients or more and
  transfers running on both sides. Bounded by ``--requests`` and ``--max-seconds`` (and
  fleet.py's ``--timeout``).

Prints p50/p99/max in ms and writes bench/results/http-<time>.md (and, with ``--fleet``,
http-fleet-<time>.json; fleet.py writes its own fleet-<time>.md beside it).

    .venv/bin/python bench/http_api.py [--devices 1000] [--requests 300]
    .venv/bin/python bench/http_api.py --fleet [--devices 1000] [--image-mib 4] [--ramp 25]
        [--rate 10] [--batch 50] [--requests 4000] [--max-seconds 280]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import platform
import signal
import socket
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from smartinstall.director.eventlog import EventLog
from smartinstall.director.http_bridge import DirectorHttpBridge
from smartinstall.director.state import DirectorState
from smartinstall.domain.devices import Device, DeviceType, Neighbor
from smartinstall.domain.http import HttpSettings
from smartinstall.domain.settings import DirectorSettings
from smartinstall.services.http.host import Principal
from smartinstall.services.http.service import HttpService

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from fleet import ADDRESS as FLEET_ADDRESS  # noqa: E402
from fleet import HTTP_PASSWORD, HTTP_USER  # noqa: E402
from probe import percentile  # noqa: E402

ADDRESS = "127.22.0.1"


def fleet_state(count: int) -> DirectorState:
    state = DirectorState()
    for n in range(count):
        mac = f"0050.56{n >> 16 & 0xFF:02x}.{n & 0xFFFF:04x}"
        state.upsert_device(
            Device(
                number=0,
                mac=mac,
                pid="WS-C2960X-48FPS-L",
                ip=f"10.{n >> 16 & 0xFF}.{n >> 8 & 0xFF}.{n & 0xFF or 1}",
                hostname=f"sw-{n}",
                hop=1,
                device_type=DeviceType.SMART_INSTALL,
                neighbors=tuple(
                    Neighbor(f"Gi1/0/{p}", f"0060.00{p:02x}.{n & 0xFFFF:04x}") for p in (1, 2, 3)
                ),
            )
        )
    return state


class Bridge(DirectorHttpBridge):
    """The real bridge; logins are taken as admin (the benchmark measures the reads)."""

    def privilege_of(self, name: str) -> int | None:
        return 15

    async def login_attempt(self, peer, user, port, check):  # type: ignore[no-untyped-def]
        return Principal("admin", 15)


async def run(args: argparse.Namespace) -> dict[str, float]:
    settings = DirectorSettings()
    settings.custom_group("floor2", "product-id").product_ids.append("WS-C2960X-48FPS-L")
    daemon = SimpleNamespace(
        data_dir=Path("/nonexistent"),
        state=fleet_state(args.devices),
        settings=settings,
        events=EventLog(),
        terminals=None,
    )
    service = HttpService(Bridge(daemon), ADDRESS, http_port=0)  # type: ignore[arg-type]
    await service.apply(HttpSettings())
    port = service.ports["http"]
    url = f"http://{ADDRESS}:{port}/api/v1/devices"
    command = ["curl", "-s", "-u", "admin:x", "-w", "%{time_total}\\n"]
    for _ in range(args.requests):
        command += ["-o", "/dev/null", url]
    process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
    out, _ = await process.communicate()
    await service.close()
    times = sorted(float(x) * 1000 for x in out.split())[1:]  # the first one opens the socket
    return {
        "p50_ms": statistics.median(times),
        "p99_ms": times[int(len(times) * 0.99) - 1],
        "max_ms": times[-1],
        "requests": float(len(times)),
    }


# --- --fleet: the same request while bench/fleet.py's switches download ---------------------


@dataclass
class Batch:
    """One curl run of ``--batch`` requests, and what /metrics said before and after it."""

    at: float  # seconds since the bench started, when the batch began
    devices: int  # clients in the director's database (the fewer of the two scrapes)
    transfers: int  # TFTP transfers running (the fewer of the two scrapes)
    bytes_sent: float  # smartinstall_tftp_bytes_sent_total after the batch
    times_ms: list[float] = field(default_factory=list)
    failed: int = 0  # answers other than 200, or no answer


def free_tcp_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


async def scrape(client: httpx.AsyncClient, base: str) -> tuple[int, int, float] | None:
    """(clients, TFTP transfers running, bytes served) from /metrics; None while it does not
    answer (the director starting or gone)."""
    try:
        response = await client.get(base + "/metrics")
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    devices, transfers, sent = 0.0, 0.0, 0.0
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == "smartinstall_devices":
                devices += sample.value
            elif sample.name == "smartinstall_tftp_transfers_active":
                transfers = sample.value
            elif sample.name == "smartinstall_tftp_bytes_sent_total":
                sent = sample.value
    return int(devices), int(transfers), sent


async def curl_batch(url: str, count: int, rate: float) -> tuple[list[float], int]:
    """``count`` requests on one connection, ``rate`` a second; each one's time in ms."""
    command = ["curl", "-s", "-u", f"{HTTP_USER}:{HTTP_PASSWORD}", "--rate", f"{rate:g}/s"]
    command += ["-w", "%{http_code} %{time_total}\\n", "--max-time", "10"]
    for _ in range(count):
        command += ["-o", "/dev/null", url]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )
    out, _ = await process.communicate()
    times, failed = [], 0
    for line in out.decode().splitlines():
        code, _, seconds = line.partition(" ")
        if code == "200":
            times.append(float(seconds) * 1000)
        else:
            failed += 1
    return times, failed + max(0, count - len(out.splitlines()))


def stats(batches: list[Batch]) -> dict[str, Any]:
    times = [t for b in batches for t in b.times_ms]
    return {
        "requests": len(times),
        "failed": sum(b.failed for b in batches),
        "p50_ms": percentile(times, 50),
        "p99_ms": percentile(times, 99),
        "max_ms": max(times) if times else None,
    }


async def stop_fleet(fleet: asyncio.subprocess.Process, timeout: float) -> None:
    """fleet.py ends by itself (its --timeout bounds the run); past ``timeout`` it is
    interrupted (SIGINT: its cleanup stops the director and the switches), then killed."""
    try:
        await asyncio.wait_for(fleet.wait(), timeout)
        return
    except TimeoutError:
        fleet.send_signal(signal.SIGINT)
    try:
        await asyncio.wait_for(fleet.wait(), 60)
    except TimeoutError:
        fleet.kill()
        await fleet.wait()


async def run_fleet(args: argparse.Namespace) -> dict[str, Any]:
    port = free_tcp_port(FLEET_ADDRESS)
    command = [
        sys.executable, str(HERE / "fleet.py"), "--counts", str(args.devices),
        "--image-mib", f"{args.image_mib:g}", "--ramp", f"{args.ramp:g}", "--no-peer",
        "--no-probe", "--timeout", f"{args.fleet_timeout:g}", "--http-port", str(port),
        "--note", f"GET /api/v1/devices asked {args.rate:g}/s by bench/http_api.py --fleet",
    ]  # fmt: skip
    started = time.monotonic()
    fleet = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    output: list[str] = []

    async def echo() -> None:
        assert fleet.stdout is not None
        async for raw in fleet.stdout:
            line = raw.decode(errors="replace").rstrip()
            output.append(line)
            print(f"  fleet | {line}", flush=True)

    echoing = asyncio.create_task(echo())
    base = f"http://{FLEET_ADDRESS}:{port}"
    batches: list[Batch] = []
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            while (
                fleet.returncode is None
                and time.monotonic() - started < args.max_seconds
                and sum(len(b.times_ms) + b.failed for b in batches) < args.requests
            ):
                before = await scrape(client, base)
                if before is None:
                    await asyncio.sleep(0.2)
                    continue
                at = time.monotonic() - started
                times, failed = await curl_batch(base + "/api/v1/devices", args.batch, args.rate)
                after = await scrape(client, base)
                if after is None:
                    continue  # the director stopped during the batch: not counted
                batches.append(
                    Batch(
                        round(at, 1),
                        min(before[0], after[0]),
                        min(before[1], after[1]),
                        after[2],
                        times,
                        failed,
                    )
                )
                last = batches[-1]
                print(
                    f"  http  | {at:5.0f}s  {last.devices} clients, {last.transfers} transfers, "
                    f"p99 of batch {percentile(times, 99) or 0:.1f} ms",
                    flush=True,
                )
    finally:
        await stop_fleet(fleet, args.fleet_timeout + 120)
        await echoing
    target = [b for b in batches if b.devices >= args.devices and b.transfers > 0]
    ramp = [b for b in batches if b.devices < args.devices and b.transfers > 0]
    idle = [b for b in batches if b.devices >= args.devices and b.transfers == 0]
    fleet_json = sorted(
        (p for p in (HERE / "results").glob("fleet-*.json") if p.stat().st_mtime > time.time()
         - (time.monotonic() - started)),
        key=lambda p: p.stat().st_mtime,
    )  # fmt: skip
    fleet_result: dict[str, Any] = {}
    if fleet_json:
        fleet_result = json.loads(fleet_json[-1].read_text())[0]
    return {
        "devices": args.devices,
        "image_mib": args.image_mib,
        "ramp": args.ramp,
        "rate": args.rate,
        "seconds": round(time.monotonic() - started, 1),
        "fleet_exit": fleet.returncode,
        "fleet_run": fleet_json[-1].stem if fleet_json else None,
        "while_downloading_all_clients": stats(target),
        "while_downloading_fewer_clients": stats(ramp),
        "all_clients_no_transfers": stats(idle),
        "all": stats(batches),
        "max_transfers_seen": max((b.transfers for b in batches), default=0),
        "bytes_sent_metric": batches[-1].bytes_sent if batches else None,
        "fleet": {k: fleet_result.get(k) for k in FLEET_KEYS},
        "batches": [asdict(b) for b in batches],
    }


FLEET_KEYS = (
    "upgraded", "seconds_to_last_upgraded", "mib_served", "director_cpu_seconds",
    "loop_lag_p50_ms", "loop_lag_p99_ms", "loop_lag_max_ms", "loadavg_start", "loadavg_end",
    "notes",
)  # fmt: skip


def fleet_markdown(result: dict[str, Any], stamp: str) -> str:
    def ms(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.1f}"

    fleet = result["fleet"]
    lines = [
        f"# http-fleet-{stamp}",
        "",
        f"GET /api/v1/devices asked {result['rate']:g}/s (curl, one connection per batch) "
        f"while bench/fleet.py's {result['devices']} switches downloaded a "
        f"{result['image_mib']:g} MiB image at 512-byte blocks (ramp {result['ramp']:g}/s), "
        f"run `{result['fleet_run']}`; Python {platform.python_version()}, "
        f"{result['seconds']:.0f} s in all. Target: ≤ 50 ms p99 with {result['devices']} "
        "clients while the fleet downloads.",
        "",
        "| when | requests | failed | p50 ms | p99 ms | max ms |",
        "|---|---|---|---|---|---|",
    ]
    everyone = result["devices"]
    for label, key in (
        (f"fleet downloading, {everyone} clients (the target)", "while_downloading_all_clients"),
        ("fleet downloading, fewer clients (power-on ramp)", "while_downloading_fewer_clients"),
        (f"{everyone} clients, no transfer running", "all_clients_no_transfers"),
        ("every request", "all"),
    ):
        row = result[key]
        lines.append(
            f"| {label} | {row['requests']} | {row['failed']} | {ms(row['p50_ms'])} | "
            f"{ms(row['p99_ms'])} | {ms(row['max_ms'])} |"
        )
    sent = result["bytes_sent_metric"]
    lines += [
        "",
        f"Fleet: {fleet.get('upgraded')} UPGRADED in {fleet.get('seconds_to_last_upgraded')} s, "
        f"{fleet.get('mib_served')} MiB served (`smartinstall_tftp_bytes_sent_total` at the "
        f"last batch: {(sent or 0) / (1 << 20):,.0f} MiB), up to "
        f"{result['max_transfers_seen']} TFTP transfers at once; director loop lag p50 / p99 / "
        f"max {fleet.get('loop_lag_p50_ms')} / {fleet.get('loop_lag_p99_ms')} / "
        f"{fleet.get('loop_lag_max_ms')} ms; load average {fleet.get('loadavg_start')} → "
        f"{fleet.get('loadavg_end')}.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument(
        "--fleet", action="store_true", help="while bench/fleet.py's switches download"
    )
    parser.add_argument("--image-mib", type=float, default=4.0, help="--fleet: image size")
    parser.add_argument("--ramp", type=float, default=25.0, help="--fleet: switches on per s")
    parser.add_argument("--rate", type=float, default=10.0, help="--fleet: requests per s")
    parser.add_argument("--batch", type=int, default=50, help="--fleet: requests per curl")
    parser.add_argument(
        "--max-seconds", type=float, default=280.0, help="--fleet: asking stops after this"
    )
    parser.add_argument(
        "--fleet-timeout", type=float, default=240.0, help="--fleet: fleet.py's --timeout"
    )
    args = parser.parse_args()
    if args.fleet:
        if args.requests == 300:
            args.requests = 4000  # the time bounds it first
        return fleet_main(args)
    started = time.time()
    result = asyncio.run(run(args))
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    text = (
        f"# http-{stamp}\n\nGET /api/v1/devices, {args.devices} devices, "
        f"{int(result['requests'])} requests on one connection, idle director "
        f"(Python {platform.python_version()}, {time.time() - started:.0f} s):\n\n"
        f"| p50 ms | p99 ms | max ms |\n|---|---|---|\n"
        f"| {result['p50_ms']:.1f} | {result['p99_ms']:.1f} | {result['max_ms']:.1f} |\n"
    )
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / f"http-{stamp}.md").write_text(text)
    sys.stdout.write(text)
    return 0


def fleet_main(args: argparse.Namespace) -> int:
    result = asyncio.run(run_fleet(args))
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / f"http-fleet-{stamp}.json").write_text(json.dumps(result, indent=1))
    text = fleet_markdown(result, stamp)
    (HERE / "results" / f"http-fleet-{stamp}.md").write_text(text)
    sys.stdout.write(text)
    return 0 if result["while_downloading_all_clients"]["requests"] else 1


if __name__ == "__main__":
    sys.exit(main())
