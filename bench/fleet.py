#!/usr/bin/env python3
"""Fleet benchmark: N emulated switches through zero touch against one director process.

For each count, a fresh director (`smartinstall director`, its own data directory, on
127.21.0.1) and N switches of one PID on one event loop in this process (the emulated side is
kept cheap so the director is what is measured); every switch pulls the same image at 512-byte
TFTP blocks, then its configuration, installs and reloads. Reports the time to the last
UPGRADED row of the director's download-status table, the director's CPU (user+system) and its
peak memory (VmHWM), and how they grow with the count. Writes bench/results/fleet-<time>.json
and .md.

    .venv/bin/python bench/fleet.py [--counts 200,500,1000] [--image-mib 16] [--blksize 512]
                                    [--timeout 3600]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from smartinstall.domain.devices import Progress
from smartinstall.lab.runner import DirectorPorts, DirectorRunner, image_bytes
from smartinstall.store.database import DirectorDatabase
from smartinstall.switch.fleet import Fleet, FleetSpec
from smartinstall.switch.netio import NetConfig

HERE = Path(__file__).resolve().parent
CLK = os.sysconf("SC_CLK_TCK")
ADDRESS = "127.21.0.1"
PID = "WS-C2960X-48FPS-L"
IMAGE = "c2960x-universalk9-tar.152-7.E9.tar"


@dataclass
class Result:
    count: int
    image_bytes: int
    blksize: int
    seconds_to_last_upgraded: float
    upgraded: int
    switches_up: int
    seconds_to_last_switch_up: float
    director_cpu_seconds: float
    director_peak_rss_mib: float
    bench_process_cpu_seconds: float
    loadavg_start: float
    loadavg_end: float

    @property
    def mb_per_s(self) -> float:
        return self.count * self.image_bytes / 1e6 / max(self.seconds_to_last_switch_up, 1e-9)


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
vstack config flash:fleet.txt
"""


def proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def proc_hwm_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def upgraded_count(data_dir: Path) -> int:
    """Clients whose image and configuration the director's database marks done (the status
    letters I and C of ``show vstack status``). The download-status table is not used: it
    keeps the guide's 255 entries at most, so beyond 255 clients the oldest rows are gone."""
    db = DirectorDatabase.open(data_dir)
    try:
        return sum(1 for d in db.devices()
                   if d.upgrade.image is Progress.DONE and d.upgrade.config is Progress.DONE)
    finally:
        db.close()


async def run_one(count: int, image_size: int, blksize: int, timeout: float,
                  work: Path, ramp: float) -> Result:
    data_dir = work / f"director-{count}"
    flash = data_dir / "flash"
    flash.mkdir(parents=True)
    (data_dir / "startup-config").write_text(director_config())
    with open(flash / IMAGE, "wb") as out:
        for chunk in image_bytes(IMAGE, image_size):
            out.write(chunk)
    (flash / "fleet.txt").write_text("vlan 10\n name FLEET\n!\nend\n")
    director = DirectorRunner(data_dir, ADDRESS, DirectorPorts.pick(ADDRESS), 600.0, "UTC")
    await director.start()
    assert director.process is not None
    pid = director.process.pid
    net = NetConfig(dhcp_server=(ADDRESS, director.ports.dhcp), relay_port=director.ports.relay,
                    smi_port=director.ports.client_smi, tftp_blksize=blksize,
                    tftp_timeout=2.0, dhcp_timeout=4.0, smi_timeout=30.0)
    fleet = Fleet(FleetSpec(count=count, pid=PID, first_address="127.21.1.1",
                            flash_root=work / f"switches-{count}", net=net,
                            director_port=director.ports.smi, tftp_port=director.ports.tftp,
                            keepalive=600.0, dhcp_retry=3.0))
    load_start = os.getloadavg()[0]
    cpu_start = proc_cpu(pid)
    own_start = time.process_time()
    start = time.monotonic()
    upgraded = 0
    all_up_at = 0.0
    upgraded_at = -1.0  # the director never counted every client UPGRADED
    try:
        if ramp > 0:  # switches power on at `ramp` per second, as a rollout does
            for index, switch in enumerate(fleet.switches):
                switch.power_on()
                if index % max(1, int(ramp)) == 0:
                    await asyncio.sleep(max(1.0, ramp) / ramp)
        else:
            fleet.power_on()
        deadline = start + timeout
        while time.monotonic() < deadline:
            await asyncio.sleep(2.0)
            upgraded = upgraded_count(data_dir)
            up = sum(1 for s in fleet.switches if s.state.value == "running" and s.boots >= 2)
            if up >= count and not all_up_at:
                all_up_at = time.monotonic() - start
            print(f"  {count}: {time.monotonic() - start:6.0f}s  UPGRADED {upgraded}/{count}  "
                  f"up {up}  {fleet.bytes_downloaded() / 1e6:,.0f} MB", flush=True)
            if upgraded >= count:
                upgraded_at = time.monotonic() - start
                break
            if all_up_at and time.monotonic() - start > all_up_at + 30:
                break  # every switch runs its new image; the director's count will not move
        return Result(
            count=count, image_bytes=image_size, blksize=blksize,
            seconds_to_last_upgraded=round(upgraded_at, 1), upgraded=upgraded,
            switches_up=sum(1 for s in fleet.switches
                            if s.state.value == "running" and s.boots >= 2),
            seconds_to_last_switch_up=round(all_up_at, 1),
            director_cpu_seconds=round(proc_cpu(pid) - cpu_start, 1),
            director_peak_rss_mib=round(proc_hwm_mib(pid), 1),
            bench_process_cpu_seconds=round(time.process_time() - own_start, 1),
            loadavg_start=round(load_start, 1), loadavg_end=round(os.getloadavg()[0], 1),
        )  # fmt: skip
    finally:
        await fleet.shutdown()
        await director.stop()


def last(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds > 0 else "not reached"


def markdown(results: list[Result], stamp: str) -> str:
    lines = [
        f"Run `fleet-{stamp}` ({platform.python_version()}, {os.cpu_count()} CPUs):",
        "",
        "| switches | image | time to last UPGRADED | last switch up | aggregate MB/s | "
        "director CPU s | director CPU ms/switch | director peak RSS MiB | load avg |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.count} ({r.upgraded} UPGRADED) | {r.image_bytes >> 20} MiB @ {r.blksize} | "
            f"{last(r.seconds_to_last_upgraded)} | {last(r.seconds_to_last_switch_up)} | "
            f"{r.mb_per_s:.1f} | {r.director_cpu_seconds} | "
            f"{1000 * r.director_cpu_seconds / r.count:.0f} | {r.director_peak_rss_mib} | "
            f"{r.loadavg_start}→{r.loadavg_end} |"
        )
    if len(results) > 1:
        a, b = results[0], results[-1]
        up = b.seconds_to_last_switch_up / max(a.seconds_to_last_switch_up, 0.1)
        lines += ["", f"From {a.count} to {b.count} switches (×{b.count / a.count:.1f}): time to "
                  f"the last switch up ×{up:.2f}, director CPU "
                  f"×{b.director_cpu_seconds / max(a.director_cpu_seconds, 0.1):.2f}, peak RSS "
                  f"×{b.director_peak_rss_mib / max(a.director_peak_rss_mib, 0.1):.2f}."]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="200,500,1000")
    parser.add_argument("--image-mib", type=float, default=16.0)
    parser.add_argument("--blksize", type=int, default=512)
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--ramp", type=float, default=10.0,
                        help="switches powered on per second (0: all at once)")
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",") if c]
    if any(not 0 < c <= 60000 for c in counts):
        parser.error("counts are 1 to 60000 (the 127.21.0.0/16 pool)")
    image_size = int(args.image_mib * (1 << 20))
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    work = Path(tempfile.mkdtemp(prefix="smartinstall-fleet-"))
    results = []
    try:
        for count in counts:
            print(f"{count} switches, {image_size >> 20} MiB image at {args.blksize}-byte "
                  "blocks", flush=True)
            results.append(asyncio.run(run_one(count, image_size, args.blksize, args.timeout,
                                               work, args.ramp)))
            shutil.rmtree(work / f"switches-{count}", ignore_errors=True)
            shutil.rmtree(work / f"director-{count}", ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"fleet-{stamp}.json").write_text(json.dumps([asdict(r) for r in results], indent=2))
    text = markdown(results, stamp)
    (out / f"fleet-{stamp}.md").write_text(text)
    sys.stdout.write(text)
    return 0 if all(r.upgraded == r.count for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
