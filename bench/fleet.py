#!/usr/bin/env python3
"""Fleet benchmark: N emulated switches through zero touch against one director process.

For each count, a fresh director (`smartinstall director`, its own data directory, on
127.21.0.1) and N switches of one PID, run by `--fleet-processes` worker processes
(bench/fleet_worker.py); every switch pulls the same image at 512-byte TFTP blocks, then its
configuration, installs and reloads. Switches power on at `--ramp` per second. Measured:

* the time to the last UPGRADED (the director's database, opened read-only) and to the last
  switch up on its new image;
* the director's CPU including every process it forks (its own cgroup when it can be made,
  else its process tree sampled every 0.5 s), per switch and per MiB served, and its peak
  memory;
* the emulated side's CPU per MiB (the worker processes), to show it is not the bottleneck;
* with `--probe`, a control-plane probe (bench/probe.py, a process of its own): relayed DHCP
  DISCOVERs every 200 ms timed to their OFFER, and `show vstack status` every 2 s timed over
  the local console;
* the event-loop lag the director measures itself (`show vstack internal`, at the end);
* with `--peer`, tftp-hpa (`in.tftpd`) serving the same image to the same count at the same
  ramp with the same client, its CPU per MiB, and the director's ratio to it.

Writes bench/results/fleet-<time>.json and .md.

    .venv/bin/python bench/fleet.py [--counts 200,500,1000] [--image-mib 16] [--blksize 512]
        [--ramp 10] [--probe/--no-probe] [--peer/--no-peer] [--fleet-processes 1]
        [--timeout 3600] [--http-port N]

``--http-port`` turns on the director's REST API (for bench/http_api.py --fleet, which runs
this script and times ``GET /api/v1/devices`` while the switches download).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from console import count_device_rows, parse_loop_lag, run_console  # noqa: E402
from cpuacct import CpuGroup, TreeSampler, cgroup_wrapper, proc_hwm_mib  # noqa: E402
from peer_tftpd import TftpHpa, find_in_tftpd  # noqa: E402
from probe import percentile  # noqa: E402

from smartinstall.lab.file_servers import image_bytes  # noqa: E402
from smartinstall.lab.runner import DirectorPorts, DirectorRunner  # noqa: E402

ADDRESS = "127.21.0.1"  # the director
PEER_ADDRESS = "127.21.0.2"  # tftp-hpa, in the peer run
PROBE_GIADDR = "127.21.255.254"  # the probe's relay address (switches start at 127.21.1.1)
FIRST_SWITCH = "127.21.1.1"
FLEET_MAC_PREFIX = "0050.57"
PROBE_MAC_PREFIX = "0250.72"
PID = "WS-C2960X-48FPS-L"
IMAGE = "c2960x-universalk9-tar.152-7.E9.tar"
CONFIG = "fleet.txt"
MIB = 1 << 20
# with --http-port: the director's REST API, for bench/http_api.py --fleet (loopback only)
HTTP_USER, HTTP_PASSWORD = "bench", "bench-Pass1"


@dataclass
class Result:
    count: int
    image_bytes: int
    blksize: int
    ramp: float
    fleet_processes: int
    seconds_to_last_upgraded: float  # -1: not every switch was counted UPGRADED
    upgraded: int
    switches_up: int
    seconds_to_last_switch_up: float
    mib_served: float  # every TFTP byte the fleet received (images, imagelists, configs)
    director_cpu_seconds: float
    director_cpu_method: str  # cgroup | process tree
    director_cpu_ms_per_switch: float
    director_cpu_ms_per_mib: float | None
    director_peak_rss_mib: float  # VmHWM of the director's main process
    director_tree_peak_rss_mib: float  # largest sampled RSS sum of it and its children
    director_peak_processes: int
    emulated_cpu_seconds: float
    emulated_cpu_ms_per_mib: float | None
    bench_process_cpu_seconds: float
    loadavg_start: float
    loadavg_end: float
    # the probe (None: --no-probe, or it gave nothing)
    offers_sent: int | None = None
    offers_unanswered: int | None = None
    offers_late: int | None = None
    offer_p50_ms: float | None = None
    offer_p99_ms: float | None = None
    offer_max_ms: float | None = None
    console_runs: int | None = None
    console_failed: int | None = None
    console_p50_ms: float | None = None
    console_p99_ms: float | None = None
    console_max_ms: float | None = None
    console_max_device_rows: int | None = None
    # `show vstack internal` at the end (None: the director has no such line)
    loop_lag_p50_ms: float | None = None
    loop_lag_p99_ms: float | None = None
    loop_lag_max_ms: float | None = None
    loop_lag_samples: int | None = None
    final_console_ms: float | None = None  # `show vstack status` once more, at the end
    final_device_rows: int | None = None
    # tftp-hpa serving the same image to the same count at the same ramp (None: --no-peer)
    peer_cpu_seconds: float | None = None
    peer_cpu_method: str | None = None
    peer_mib_served: float | None = None
    peer_cpu_ms_per_mib: float | None = None
    peer_seconds_to_last_download: float | None = None
    peer_failed: int | None = None
    peer_client_cpu_ms_per_mib: float | None = None
    director_to_peer_cpu_per_mib: float | None = None
    notes: list[str] = field(default_factory=list)
    run_note: str = ""  # --note: what this run was (the code, the machine's state)
    probe_samples: dict[str, Any] | None = None  # the probe's raw samples (JSON only)
    internal_output: str | None = None  # `show vstack internal` at the end (JSON only)

    @property
    def mb_per_s(self) -> float | None:
        """Image bytes of the whole fleet over the time to the last switch up (or to the last
        UPGRADED, when the run ended on that first)."""
        seconds = self.seconds_to_last_switch_up
        if seconds <= 0:
            seconds = self.seconds_to_last_upgraded
        if seconds <= 0:
            return None
        return round(self.count * self.image_bytes / 1e6 / seconds, 1)


def director_config() -> str:
    return f"""hostname Director
vstack dhcp-localserver fleet
 address-pool 127.21.0.0 255.255.0.0
 default-router {ADDRESS}
 file-server {ADDRESS}
!
vstack director {ADDRESS}
vstack basic
vstack image flash:{IMAGE}
vstack config flash:{CONFIG}
"""


class UpgradeWatch:
    """Fleet clients whose image and configuration the director marks done, read from its
    SQLite file opened read-only (``mode=ro``: no migration, no write, no lock held between
    polls; the director commits from a writer thread, so a change shows up to about a second
    late).

    Two tables are read with plain SELECTs: ``downloads`` (image_status and config_status
    UPGRADED; the table keeps 255 rows at most, so a MAC seen done once stays counted) and,
    when the schema has it, ``devices`` (image_progress and config_progress ``done``, which
    the director keeps for clients whose row has left the table)."""

    def __init__(self, path: Path, mac_prefix: str) -> None:
        self.path = path
        self.prefix = mac_prefix.lower()
        self.done: set[str] = set()
        self.devices_readable = True
        self.errors = 0

    def poll(self) -> int:
        if not self.path.exists():
            return len(self.done)
        try:
            con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=2.0)
        except sqlite3.Error:
            self.errors += 1
            return len(self.done)
        try:
            rows = con.execute("SELECT mac, image_status, config_status FROM downloads")
            for mac, image, config in rows:
                if image == "UPGRADED" and config in ("UPGRADED", "**"):
                    self._add(mac)
            if self.devices_readable:
                try:
                    rows = con.execute(
                        "SELECT mac FROM devices WHERE image_progress = 'done' "
                        "AND config_progress = 'done'"
                    )
                    for (mac,) in rows:
                        self._add(mac)
                except sqlite3.OperationalError:
                    self.devices_readable = False  # not in this schema
        except sqlite3.Error:
            self.errors += 1
        finally:
            con.close()
        return len(self.done)

    def _add(self, mac: object) -> None:
        if isinstance(mac, str) and mac.lower().startswith(self.prefix):
            self.done.add(mac.lower())


class Workers:
    """The emulated side's processes (bench/fleet_worker.py), stopped by their PIDs."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: list[asyncio.subprocess.Process] = []
        self.latest: dict[int, dict[str, Any]] = {}
        self.finals: dict[int, dict[str, Any]] = {}
        self.ready: list[asyncio.Future[None]] = []
        self.readers: list[asyncio.Task[None]] = []

    async def start(self, specs: list[dict[str, Any]], timeout: float = 300.0) -> None:
        loop = asyncio.get_running_loop()
        for index, spec in enumerate(specs):
            log = open(self.log_dir / f"worker-{spec['mode']}-{index}.log", "ab")  # noqa: SIM115
            try:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    str(HERE / "fleet_worker.py"),
                    json.dumps(spec),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    limit=1 << 20,
                )
            finally:
                log.close()
            self.procs.append(proc)
            self.ready.append(loop.create_future())
            self.readers.append(asyncio.create_task(self._read(index, proc)))
        async with asyncio.timeout(timeout):
            await asyncio.gather(*self.ready)

    async def _read(self, index: int, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        async for line in proc.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            event = message.get("event")
            if event == "ready" and not self.ready[index].done():
                self.ready[index].set_result(None)
            elif event == "status":
                self.latest[index] = message
            elif event == "final":
                self.finals[index] = message
        if not self.ready[index].done():
            self.ready[index].set_exception(
                RuntimeError(f"worker {index} exited before it was ready; see {self.log_dir}")
            )

    def log_tail(self, index: int, size: int = 600) -> str:
        """The end of a worker's standard error (its log lives in the run's scratch space)."""
        for path in sorted(self.log_dir.glob(f"worker-*-{index}.log")):
            with contextlib.suppress(OSError):
                return path.read_bytes()[-size:].decode(errors="replace").strip()
        return ""

    def go(self, at: float) -> None:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write(f"go {at!r}\n".encode())

    def total(self, key: str, finals: bool = False) -> float:
        source = self.finals if finals else {**self.latest, **self.finals}
        return sum(float(m.get(key, 0) or 0) for m in source.values())

    def all_final(self) -> bool:
        return len(self.finals) == len(self.procs)

    def dead(self) -> list[int]:
        return [
            i for i, p in enumerate(self.procs) if p.returncode is not None and i not in self.finals
        ]

    async def stop(self, timeout: float = 90.0) -> None:
        for proc in self.procs:
            if proc.returncode is None and proc.stdin is not None:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    proc.stdin.write(b"stop\n")
        for proc in self.procs:
            try:
                async with asyncio.timeout(timeout):
                    await proc.wait()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
                try:
                    async with asyncio.timeout(10):
                        await proc.wait()
                except TimeoutError:
                    with contextlib.suppress(ProcessLookupError):
                        proc.kill()
                    await proc.wait()
        for reader in self.readers:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await reader


def split(count: int, processes: int) -> list[tuple[int, int]]:
    """(first, how many) of each worker: worker i takes switches i, i+N, i+2N, …"""
    n = max(1, min(processes, count))
    return [(i, len(range(i, count, n))) for i in range(n)]


def per_mib(seconds: float, nbytes: float) -> float | None:
    return round(1000 * seconds / (nbytes / MIB), 2) if nbytes > 0 else None


def r1(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


async def stop_probe(proc: subprocess.Popen[bytes], out: Path) -> dict[str, Any] | None:
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    while proc.poll() is None and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    try:
        data: dict[str, Any] = json.loads(out.read_text())
        return data
    except (OSError, ValueError):
        return None


def kill_leftovers(group: CpuGroup | None, sampler: TreeSampler, session: int) -> list[int]:
    """Processes of the director still alive after it stopped (its forked workers)."""
    pids = set(group.pids()) if group is not None else set()
    pids |= {p for p in sampler.ticks_seen if p != session}
    killed = []
    for pid in sorted(pids):
        with contextlib.suppress(OSError):
            if group is None and os.getpgid(pid) != session:
                continue  # not ours any more (a recycled PID)
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    return killed


async def run_one(count: int, args: argparse.Namespace, work: Path) -> Result:
    image_size = int(args.image_mib * MIB)
    data_dir = work / f"director-{count}"
    flash = data_dir / "flash"
    flash.mkdir(parents=True)
    config = director_config()
    if args.http_port:
        config += f"username {HTTP_USER} privilege 15 secret {HTTP_PASSWORD}\n"
    (data_dir / "startup-config").write_text(config)
    with open(flash / IMAGE, "wb") as out:
        for chunk in image_bytes(IMAGE, image_size):
            out.write(chunk)
    (flash / CONFIG).write_text("vlan 10\n name FLEET\n!\nend\n")
    group = CpuGroup.create("director")
    director = DirectorRunner(
        data_dir,
        ADDRESS,
        DirectorPorts.pick(ADDRESS),
        600.0,
        "UTC",
        wrapper=cgroup_wrapper(group) if group is not None else (),
        extra=("--http-port", str(args.http_port)) if args.http_port else (),
    )
    notes: list[str] = []
    try:
        await director.start()
    except BaseException:
        await director.stop()
        if group is not None:
            group.remove()
        raise
    assert director.process is not None
    pid = director.process.pid
    sampler = TreeSampler(pid)
    sampler.start()
    workers = Workers(work)
    probe: subprocess.Popen[bytes] | None = None
    probe_out = work / f"probe-{count}.json"
    watch = UpgradeWatch(data_dir / "director.db", FLEET_MAC_PREFIX)
    try:
        ports = director.ports
        parts = split(count, args.fleet_processes)
        specs = [
            {
                "mode": "fleet",
                "count": n,
                "first": first,
                "stride": len(parts),
                "address": ADDRESS,
                "dhcp_port": ports.dhcp,
                "relay_port": ports.relay,
                "client_smi_port": ports.client_smi,
                "smi_port": ports.smi,
                "tftp_port": ports.tftp,
                "blksize": args.blksize,
                "pid": PID,
                "first_address": FIRST_SWITCH,
                "mac_prefix": FLEET_MAC_PREFIX,
                "flash_root": str(work / f"switches-{count}"),
                "ramp": args.ramp,
            }
            for first, n in parts
        ]
        await workers.start(specs)
        if args.probe:
            probe = subprocess.Popen(
                [
                    sys.executable,
                    str(HERE / "probe.py"),
                    "--dhcp",
                    f"{ADDRESS}:{ports.dhcp}",
                    "--relay-port",
                    str(ports.relay),
                    "--giaddr",
                    PROBE_GIADDR,
                    "--mac-prefix",
                    PROBE_MAC_PREFIX,
                    "--macs",
                    str(args.probe_macs),
                    "--vendor-class",
                    f"cisco-{PID}",
                    "--data-dir",
                    str(data_dir),
                    "--out",
                    str(probe_out),
                    "--max-seconds",
                    str(args.timeout + 600),
                ],
                stdout=subprocess.DEVNULL,
            )
        load_start = os.getloadavg()[0]
        cpu_start = group.cpu() if group is not None else sampler.cpu()
        own_start = time.process_time()
        start = time.monotonic() + 0.2
        workers.go(start)
        upgraded, up, all_up_at, upgraded_at, printed = 0, 0, 0.0, -1.0, 0.0
        while True:
            await asyncio.sleep(1.0)
            elapsed = time.monotonic() - start
            upgraded = watch.poll()
            up = int(workers.total("up"))
            if up >= count and not all_up_at:
                all_up_at = elapsed
            if upgraded >= count and upgraded_at < 0:
                upgraded_at = elapsed
            if elapsed - printed >= 5 or (upgraded_at >= 0 and all_up_at):
                printed = elapsed
                print(
                    f"  {count}: {elapsed:6.0f}s  UPGRADED {upgraded}/{count}  up {up}  "
                    f"{workers.total('image_bytes') / 1e6:,.0f} MB",
                    flush=True,
                )
            if upgraded_at >= 0 and (all_up_at or elapsed > upgraded_at + 30):
                break  # the director's hellos after the reloads are part of the work measured
            if all_up_at and elapsed > all_up_at + 30:
                notes.append(
                    "every switch came up, but the director did not count all UPGRADED within 30 s"
                )
                break  # every switch runs its new image; the director's count will not move
            if elapsed > args.timeout:
                notes.append(f"timed out after {args.timeout:.0f} s")
                break
            if workers.dead():
                notes.append(
                    f"emulated-side worker(s) {workers.dead()} ended early: "
                    f"{workers.log_tail(workers.dead()[0])}"
                )
                break
            if director.process is None or director.process.poll() is not None:
                notes.append("the director exited during the run")
                break
        director_cpu = (group.cpu() if group is not None else sampler.cpu()) - cpu_start
        sampler.sample()
        bench_cpu = time.process_time() - own_start
        load_end = os.getloadavg()[0]
        hwm = proc_hwm_mib(pid)
        lag: dict[str, float] | None = None
        final_ms = final_rows = None
        internal = None
        with contextlib.suppress(OSError, TimeoutError):
            run = await run_console(data_dir, ["show vstack internal"], 60)
            internal = run.output
            lag = parse_loop_lag(run.output)
            if lag is None:
                notes.append("`show vstack internal` has no `Event loop lag` line: loop lag n/a")
        with contextlib.suppress(OSError, TimeoutError):
            run = await run_console(data_dir, ["show vstack status"], 60)
            final_ms, final_rows = 1000 * run.seconds, count_device_rows(run.output)
        report = await stop_probe(probe, probe_out) if probe is not None else None
        probe = None
        await workers.stop()
    finally:
        if probe is not None:
            await stop_probe(probe, probe_out)
        await workers.stop()  # again, if the run ended by an error: by their PIDs
        await sampler.stop()
        await director.stop()
        left = kill_leftovers(group, sampler, pid)
        if left:
            notes.append(f"killed {len(left)} process(es) the director left behind")
        if group is not None:
            group.remove()
    served = workers.total("tftp_bytes", finals=True)
    emulated_cpu = workers.total("cpu", finals=True)
    result = Result(
        count=count, image_bytes=image_size, blksize=args.blksize, ramp=args.ramp,
        fleet_processes=len(specs),
        seconds_to_last_upgraded=round(upgraded_at, 1), upgraded=upgraded,
        switches_up=int(workers.total("up", finals=True)),
        seconds_to_last_switch_up=round(all_up_at, 1),
        mib_served=round(served / MIB, 1),
        director_cpu_seconds=round(director_cpu, 1),
        director_cpu_method="cgroup" if group is not None else "process tree",
        director_cpu_ms_per_switch=round(1000 * director_cpu / count, 1),
        director_cpu_ms_per_mib=per_mib(director_cpu, served),
        director_peak_rss_mib=round(hwm, 1),
        director_tree_peak_rss_mib=round(sampler.peak_rss / MIB, 1),
        director_peak_processes=sampler.peak_processes,
        emulated_cpu_seconds=round(emulated_cpu, 1),
        emulated_cpu_ms_per_mib=per_mib(emulated_cpu, served),
        bench_process_cpu_seconds=round(bench_cpu, 1),
        loadavg_start=round(load_start, 1), loadavg_end=round(load_end, 1),
        final_console_ms=r1(final_ms), final_device_rows=final_rows, notes=notes,
        internal_output=internal,
    )  # fmt: skip
    if lag is not None:
        result.loop_lag_p50_ms, result.loop_lag_p99_ms = lag["p50"], lag["p99"]
        result.loop_lag_max_ms, result.loop_lag_samples = lag["max"], int(lag["samples"])
    if args.probe:
        apply_probe(result, report)
    return result


def apply_probe(result: Result, report: dict[str, Any] | None) -> None:
    if report is None:
        result.notes.append("the probe left no report")
        return
    dhcp, console = report.get("dhcp") or {}, report.get("console") or {}
    result.offers_sent = dhcp.get("sent")
    result.offers_unanswered = dhcp.get("unanswered")
    result.offers_late = dhcp.get("late")
    result.offer_p50_ms = r1(dhcp.get("p50_ms"))
    result.offer_p99_ms = r1(dhcp.get("p99_ms"))
    result.offer_max_ms = r1(dhcp.get("max_ms"))
    result.console_runs = console.get("runs")
    result.console_failed = console.get("failed")
    result.console_p50_ms = r1(console.get("p50_ms"))
    result.console_p99_ms = r1(console.get("p99_ms"))
    result.console_max_ms = r1(console.get("max_ms"))
    result.console_max_device_rows = console.get("max_device_rows")
    result.probe_samples = {
        "dhcp": dhcp.get("samples"),
        "console": console.get("samples"),
        "console_failures": console.get("failures"),
    }


async def run_peer(result: Result, args: argparse.Namespace, work: Path) -> None:
    """tftp-hpa serving the same image to the same count at the same ramp, same client."""
    count = result.count
    root = work / f"peer-{count}"
    root.mkdir()
    os.chmod(root, 0o755)
    with open(root / IMAGE, "wb") as out:
        for chunk in image_bytes(IMAGE, result.image_bytes):
            out.write(chunk)
    os.chmod(root / IMAGE, 0o644)
    workers = Workers(work)
    with TftpHpa(root, PEER_ADDRESS) as server:
        try:
            parts = split(count, args.fleet_processes)
            specs = [
                {
                    "mode": "peer",
                    "count": n,
                    "first": first,
                    "stride": len(parts),
                    "host": PEER_ADDRESS,
                    "port": server.port,
                    "file": IMAGE,
                    "size": result.image_bytes,
                    "blksize": args.blksize,
                    "ramp": args.ramp,
                }
                for first, n in parts
            ]
            await workers.start(specs)
            cpu_start = server.cpu()
            start = time.monotonic() + 0.2
            workers.go(start)
            printed = 0.0
            while not workers.all_final() and not workers.dead():
                await asyncio.sleep(0.5)
                server.sample()
                elapsed = time.monotonic() - start
                if elapsed - printed >= 5:
                    printed = elapsed
                    print(
                        f"  tftp-hpa {count}: {elapsed:6.0f}s  done "
                        f"{int(workers.total('done'))}/{count}  "
                        f"{workers.total('tftp_bytes') / 1e6:,.0f} MB",
                        flush=True,
                    )
                if elapsed > args.timeout:
                    result.notes.append(f"tftp-hpa run timed out after {args.timeout:.0f} s")
                    break
            await asyncio.sleep(0.3)  # forked transfer processes end and are reaped
            cpu = server.cpu() - cpu_start
        finally:
            await workers.stop()
    shutil.rmtree(root, ignore_errors=True)
    served = workers.total("tftp_bytes", finals=True)
    result.peer_cpu_seconds = round(cpu, 1)
    result.peer_cpu_method = server.method
    result.peer_mib_served = round(served / MIB, 1)
    result.peer_cpu_ms_per_mib = per_mib(cpu, served)
    result.peer_seconds_to_last_download = round(
        max((float(m.get("last_done_at", 0)) for m in workers.finals.values()), default=0.0), 1
    )
    result.peer_failed = int(workers.total("failed", finals=True))
    result.peer_client_cpu_ms_per_mib = per_mib(workers.total("cpu", finals=True), served)
    if result.director_cpu_ms_per_mib and result.peer_cpu_ms_per_mib:
        result.director_to_peer_cpu_per_mib = round(
            result.director_cpu_ms_per_mib / result.peer_cpu_ms_per_mib, 2
        )


def last(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds > 0 else "not reached"


def na(value: object, fmt: str = "{}") -> str:
    return "n/a" if value is None else fmt.format(value)


def triple(a: float | None, b: float | None, c: float | None) -> str:
    return "n/a" if a is None else f"{a} / {b} / {c}"


def targets(results: list[Result]) -> list[str]:
    """The rebuild's targets, checked on what this run measured."""

    def verdict(ok: bool | None) -> str:
        return "n/a" if ok is None else ("**met**" if ok else "**missed**")

    by_count = {r.count: r for r in results}
    lines = []
    r200 = by_count.get(200)
    if r200 is not None and r200.offer_p99_ms is not None:
        ok = r200.offer_p99_ms <= 20 and r200.offers_unanswered == 0
        lines.append(
            f"* DHCP OFFER p99 ≤ 20 ms, no probe unanswered (200 switches): "
            f"p99 {r200.offer_p99_ms} ms, {r200.offers_unanswered} of "
            f"{r200.offers_sent} unanswered — {verdict(ok)}"
        )
    # "with 1,000 devices": the probe runs that showed 1,000 to 1,300 rows (the probe's own
    # newcomers push the table far beyond the fleet); larger tables are reported beside
    samples = [
        (s[1], s[2], r.count)
        for r in results
        for s in ((r.probe_samples or {}).get("console") or [])
        if s[1] is not None and s[2] is not None
    ]
    around = [x for x in samples if 1000 <= x[1] <= 1300]
    larger = [x for x in samples if x[1] > 1300]
    if around:
        times = [t for t, _, _ in around]
        p99 = percentile(times, 99)
        line = (
            f"* `show vstack status` ≤ 100 ms with 1,000 devices: p99 {p99:.1f} ms, "
            f"max {max(times):.1f} ms over the {len(around)} probe runs that showed "
            f"{min(b[1] for b in around)}–{max(b[1] for b in around)} rows — "
            f"{verdict((p99 or 0) <= 100)}"
        )
        if larger:
            big = [t for t, _, _ in larger]
            line += (
                f" (larger tables, {min(b[1] for b in larger)}–{max(b[1] for b in larger)} "
                f"rows: p99 {percentile(big, 99):.1f} ms, max {max(big):.1f} ms)"
            )
        lines.append(line)
    ratios = [r for r in results if r.director_to_peer_cpu_per_mib is not None]
    if ratios:
        worst = max(ratios, key=lambda r: r.director_to_peer_cpu_per_mib or 0)
        lines.append(
            f"* director CPU per MiB ≤ 1.5× tftp-hpa's: up to "
            f"×{worst.director_to_peer_cpu_per_mib} ({worst.count} switches) — "
            f"{verdict((worst.director_to_peer_cpu_per_mib or 0) <= 1.5)}"
        )
    r1000 = by_count.get(1000)
    if r1000 is not None and r1000.image_bytes == 16 * MIB:
        t = r1000.seconds_to_last_upgraded
        ok = r1000.upgraded == 1000 and 0 < t <= 600
        lines.append(
            f"* 1,000 × 16 MiB all UPGRADED ≤ 600 s: {last(t)} "
            f"({r1000.upgraded} UPGRADED) — {verdict(ok)}"
        )
        if r200 is not None and r200.seconds_to_last_upgraded > 0 and t > 0:
            growth = t / r200.seconds_to_last_upgraded
            lines.append(
                f"* 1,000-switch time ≤ 5.5× the 200-switch time: ×{growth:.2f} — "
                f"{verdict(growth <= 5.5)}"
            )
    return lines


def markdown(results: list[Result], stamp: str, args: argparse.Namespace) -> str:
    lines = [
        f"Run `fleet-{stamp}` ({platform.python_version()}, {os.cpu_count()} CPUs), "
        f"ramp {args.ramp:g}/s, {results[0].fleet_processes if results else 1} emulated-side "
        f"process(es), probe {'on' if args.probe else 'off'}, tftp-hpa "
        f"{'on' if args.peer else 'off'}:",
        "",
        *([args.note, ""] if args.note else []),
        "| switches | image | time to last UPGRADED | last switch up | aggregate MB/s | "
        "director CPU s | director CPU ms/switch | director CPU ms/MiB | tftp-hpa CPU ms/MiB | "
        "director × tftp-hpa | emulated CPU ms/MiB | director peak RSS MiB (main / tree) | "
        "load avg |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.count} ({r.upgraded} UPGRADED) | {r.image_bytes / MIB:g} MiB @ {r.blksize} | "
            f"{last(r.seconds_to_last_upgraded)} | {last(r.seconds_to_last_switch_up)} | "
            f"{na(r.mb_per_s)} | {r.director_cpu_seconds} | {r.director_cpu_ms_per_switch:.0f} | "
            f"{na(r.director_cpu_ms_per_mib)} | {na(r.peer_cpu_ms_per_mib)} | "
            f"{na(r.director_to_peer_cpu_per_mib, '×{}')} | {na(r.emulated_cpu_ms_per_mib)} | "
            f"{r.director_peak_rss_mib} / {r.director_tree_peak_rss_mib} | "
            f"{r.loadavg_start}→{r.loadavg_end} |"
        )
    lines += [
        "",
        "| switches | OFFER p50 / p99 / max ms | probes unanswered (of sent) | "
        "`show vstack status` p50 / p99 / max ms | device rows (max) | "
        "loop lag p50 / p99 / max ms (samples) | tftp-hpa run: last download, failed |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lag = triple(r.loop_lag_p50_ms, r.loop_lag_p99_ms, r.loop_lag_max_ms)
        if r.loop_lag_samples is not None:
            lag += f" ({r.loop_lag_samples})"
        peer = (
            "n/a"
            if r.peer_seconds_to_last_download is None
            else f"{r.peer_seconds_to_last_download:.0f} s, {r.peer_failed}"
        )
        lines.append(
            f"| {r.count} | {triple(r.offer_p50_ms, r.offer_p99_ms, r.offer_max_ms)} | "
            f"{na(r.offers_unanswered)} ({na(r.offers_sent)}) | "
            f"{triple(r.console_p50_ms, r.console_p99_ms, r.console_max_ms)} | "
            f"{na(r.console_max_device_rows)} | {lag} | {peer} |"
        )
    if args.probe:
        kind = (
            "a fresh MAC each, so each probe is a new director entry and the device rows "
            "include them"
            if not args.probe_macs
            else f"{args.probe_macs} MACs in turn"
        )
        lines += [
            "",
            f"Probe: a relayed DISCOVER every 200 ms ({kind}), unanswered after "
            "2 s; `show vstack status` over the local console every 2 s. Loop lag: "
            "`show vstack internal` at the end of the count, since the director started.",
        ]
    if len(results) > 1:
        a, b = results[0], results[-1]
        up = b.seconds_to_last_switch_up / max(a.seconds_to_last_switch_up, 0.1)
        lines += [
            "",
            f"From {a.count} to {b.count} switches (×{b.count / a.count:.1f}): time to "
            f"the last switch up ×{up:.2f}, director CPU "
            f"×{b.director_cpu_seconds / max(a.director_cpu_seconds, 0.1):.2f}, peak RSS "
            f"×{b.director_peak_rss_mib / max(a.director_peak_rss_mib, 0.1):.2f}.",
        ]
    checks = targets(results)
    if checks:
        lines += ["", "Targets:", "", *checks]
    notes = [f"* {r.count}: {note}" for r in results for note in r.notes]
    if notes:
        lines += ["", "Notes:", "", *notes]
    return "\n".join(lines) + "\n"


def render_again(path: Path, args: argparse.Namespace) -> int:
    """The markdown of an earlier run, from its JSON (after a change of the report)."""
    rows = json.loads(path.read_text())
    results = [Result(**row) for row in rows]
    if results:
        args.ramp = results[0].ramp
        args.probe = any(r.probe_samples for r in results)
        args.peer = any(r.peer_cpu_ms_per_mib is not None for r in results)
        args.note = results[0].run_note
    stamp = path.stem.removeprefix("fleet-")
    path.with_suffix(".md").write_text(markdown(results, stamp, args))
    print(path.with_suffix(".md").read_text())
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="200,500,1000")
    parser.add_argument("--image-mib", type=float, default=16.0)
    parser.add_argument("--blksize", type=int, default=512)
    parser.add_argument(
        "--timeout",
        type=float,
        default=3600.0,
        help="seconds per count (and per tftp-hpa run) at most",
    )
    parser.add_argument(
        "--ramp", type=float, default=10.0, help="switches powered on per second (0: all at once)"
    )
    parser.add_argument(
        "--probe",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="DHCP and console probe during the run (bench/probe.py)",
    )
    parser.add_argument(
        "--peer",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="tftp-hpa serving the same image to the same count, after each",
    )
    parser.add_argument("--note", default="", help="a line on what this run is, for the results")
    parser.add_argument(
        "--probe-macs",
        type=int,
        default=0,
        help="0: every DHCP probe from a fresh MAC (a new director entry each, "
        "5/s); N: N MACs in turn",
    )
    parser.add_argument(
        "--fleet-processes",
        type=int,
        default=1,
        help="processes the emulated switches are spread over",
    )
    parser.add_argument(
        "--http-port",
        type=int,
        default=0,
        help="the director's REST API on this port, with a privilege-15 user "
        f"{HTTP_USER} (bench/http_api.py --fleet); 0: off",
    )
    parser.add_argument(
        "--render",
        type=Path,
        help="write the .md of an earlier run again from its .json (no run)",
    )
    args = parser.parse_args()
    if args.render is not None:
        return render_again(args.render, args)
    counts = [int(c) for c in args.counts.split(",") if c]
    if any(not 0 < c <= 60000 for c in counts):
        parser.error("counts are 1 to 60000 (the 127.21.0.0/16 pool)")
    if not 1 <= args.fleet_processes <= 64:
        parser.error("--fleet-processes is 1 to 64")
    if args.peer and find_in_tftpd() is None:
        parser.error("in.tftpd (tftp-hpa) is missing: scripts/install-test-tools, or --no-peer")
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    work = Path(tempfile.mkdtemp(prefix="smartinstall-fleet-"))
    results = []
    try:
        for count in counts:
            print(
                f"{count} switches, {args.image_mib:g} MiB image at {args.blksize}-byte blocks",
                flush=True,
            )
            result = asyncio.run(run_one(count, args, work))
            shutil.rmtree(work / f"switches-{count}", ignore_errors=True)
            shutil.rmtree(work / f"director-{count}", ignore_errors=True)
            if args.peer:
                print(f"tftp-hpa, the same image to {count} at {args.ramp:g}/s", flush=True)
                asyncio.run(run_peer(result, args, work))
            result.run_note = args.note
            results.append(result)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"fleet-{stamp}.json").write_text(json.dumps([asdict(r) for r in results], indent=1))
    text = markdown(results, stamp, args)
    (out / f"fleet-{stamp}.md").write_text(text)
    sys.stdout.write(text)
    return 0 if all(r.upgraded == r.count for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
