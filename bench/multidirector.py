#!/usr/bin/env python3
"""Many directors on one PostgreSQL database: N directors x M emulated switches each.

Each director is a `smartinstall director` process with its own data directory, its own
loopback /24 (127.(60+i).1.0/24) and `vstack director-id bench-<i>`, all on one database of a
throwaway PostgreSQL cluster (bench/pgcluster.py; or --database URL). The switches of every
director run on this script's event loop (smartinstall.lab) and power on at once; each pulls
the image (--image-kib) and its configuration, installs and reloads. Measured:

* the time to the last UPGRADED of all directors, read from the shared database
  (smartinstall.store.inventory, as `smartinstall fleet status` reads it);
* the database's commits per second over the run (pg_stat_database.xact_commit);
* per director, relayed DHCP DISCOVERs every 200 ms timed to their OFFER by a probe process
  of its own (bench/probe.py, 20 MACs in turn, never this script's busy loop): p50/p99, and
  the slowest director's p99.

Bounded: it stops at --timeout seconds whatever the state, loopback only. Writes
bench/results/multidirector-<time>.json and .md.

    .venv/bin/python bench/multidirector.py [--directors 10] [--switches 100]
        [--image-kib 64] [--timeout 900] [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from pgcluster import ThrowawayCluster  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from smartinstall.lab.runner import DirectorRunner, Lab  # noqa: E402
from smartinstall.lab.topology import parse_topology  # noqa: E402
from smartinstall.store.inventory import read_fleet  # noqa: E402

PID = "WS-C2960X-48FPS-L"
IMAGE = "c2960x-universalk9-tar.152-7.E9.tar"
PROBE_EVERY = 0.2


def start_probe(lab: Lab, out: Path) -> subprocess.Popen[bytes]:
    ports = lab.director.ports
    giaddr = probe_prefix(lab.address.rsplit(".", 1)[0]) + ".254"
    command = [
        sys.executable, str(HERE / "probe.py"), "--dhcp", f"{lab.address}:{ports.dhcp}",
        "--relay-port", str(ports.relay), "--giaddr", giaddr, "--macs", "20",
        "--mac-prefix", "0250.72", "--interval", str(PROBE_EVERY), "--console-interval", "0",
        "--max-seconds", "3600", "--out", str(out),
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def probe_prefix(prefix: str) -> str:
    """127.(60+i).1 → 127.(60+i).2: the probe's relay subnet."""
    return prefix.rsplit(".", 1)[0] + ".2"


def config_of(prefix: str, director_id: str) -> str:
    return "\n".join([
        "hostname Director",
        "vstack dhcp-localserver lab",
        f" address-pool {prefix}.0 255.255.255.0",
        f" default-router {prefix}.1",
        f" file-server {prefix}.1",
        "!",
        # the probe's clients lease from a pool of their own (its relay address is there),
        # never an address a switch asks for
        "vstack dhcp-localserver probe",
        f" address-pool {probe_prefix(prefix)}.0 255.255.255.0",
        f" default-router {probe_prefix(prefix)}.1",
        f" file-server {prefix}.1",
        "!",
        f"vstack director-id {director_id}",
        f"vstack director {prefix}.1",
        "vstack basic",
        f"vstack image flash:{IMAGE}",
        "vstack config flash:default.txt",
        "no vstack backup",
        "",
    ])  # fmt: skip


def make_lab(work: Path, index: int, switches: int, image_kib: int, url: str) -> Lab:
    import yaml

    prefix = f"127.{60 + index}.1"
    director_id = f"bench-{index}"
    base = work / director_id
    base.mkdir(parents=True)
    (base / "startup-config").write_text(config_of(prefix, director_id))
    data = {
        "director": {"address": f"{prefix}.1", "hostname": "Director",
                     "config": "startup-config", "timezone": "UTC"},
        "switches": [
            {"name": f"sw{h}", "pid": PID, "mac": f"0051.{60 + index:02x}00.{h:04x}",
             "address": f"{prefix}.{h}",
             "upstream": {"device": "director", "interface": f"GigabitEthernet1/0/{h % 48 + 1}"}}
            for h in range(10, 10 + switches)
        ],
        "lab": {"images": {IMAGE: image_kib * 1024},
                "files": {"default.txt": "vlan 10\n!\ninterface Vlan1\n ip address dhcp\n!\nend\n"},
                "keepalive": 30},
    }  # fmt: skip
    topo = parse_topology(yaml.safe_dump(data, sort_keys=False), base=base)
    lab = Lab(topo, base / "lab", dhcp_retry=2.0, database_url=url)
    assert isinstance(lab.director, DirectorRunner)
    lab.director.extra = (*lab.director.extra, "--tftp-workers", "0", "--commit-delay", "0.5")
    # the ports every switch binds on its own address: fixed, below the ephemeral range, so
    # that none collides with another socket's ephemeral port on a thousand addresses
    ports = lab.director.ports
    ports.relay, ports.client_smi, ports.client_telnet = 1067, 4786, 2323
    return lab


def commits(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT xact_commit FROM pg_stat_database "
                        "WHERE datname = current_database()"
                    )
                ).scalar_one()
            )
    finally:
        engine.dispose()


def upgraded_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        return {line.director_id: line.statuses.get("UPGRADED", 0) for line in read_fleet(engine)}
    finally:
        engine.dispose()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    cluster = None if args.database else ThrowawayCluster()
    if cluster is not None:
        name = f"smi_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(cluster.url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = cluster.url(name)
    else:
        url = args.database
    work = Path(tempfile.mkdtemp(prefix="smi-multidirector-"))
    labs = [make_lab(work, i, args.switches, args.image_kib, url) for i in range(args.directors)]
    probes: list[subprocess.Popen[bytes]] = []
    result: dict[str, Any] = {}
    try:
        started = time.monotonic()
        for lab in labs:  # each director migrates, joins the fleet and starts
            await lab.start(power_on=False)
        print(f"{len(labs)} directors ready in {time.monotonic() - started:.1f}s", flush=True)
        outs = [work / f"probe-{i}.json" for i in range(len(labs))]
        probes = [start_probe(lab, out) for lab, out in zip(labs, outs, strict=True)]
        commits_before, t0 = await asyncio.to_thread(commits, url), time.monotonic()
        for lab in labs:
            lab.power_on(staged=False)
        total = args.directors * args.switches
        done: dict[str, int] = {}
        while time.monotonic() - t0 < args.timeout:
            done = await asyncio.to_thread(upgraded_counts, url)
            if sum(done.values()) >= total:
                break
            await asyncio.sleep(2.0)
        elapsed = time.monotonic() - t0
        commits_after = await asyncio.to_thread(commits, url)
        for probe in probes:
            probe.send_signal(signal.SIGTERM)
        for probe in probes:
            await asyncio.to_thread(probe.wait, 30)
        per_director = []
        for lab, out in zip(labs, outs, strict=True):
            dhcp = json.loads(out.read_text())["dhcp"]
            name = lab.data_dir.parent.parent.name
            per_director.append({
                "director_id": name, "upgraded": done.get(name, 0),
                "dhcp_probes": dhcp["sent"], "dhcp_answered": dhcp["answered"],
                "dhcp_p50_ms": dhcp["p50_ms"], "dhcp_p99_ms": dhcp["p99_ms"],
            })  # fmt: skip
        p99s = [d["dhcp_p99_ms"] for d in per_director if d["dhcp_p99_ms"] is not None]
        result = {
            "directors": args.directors, "switches_per_director": args.switches,
            "image_kib": args.image_kib, "all_upgraded": sum(done.values()) >= total,
            "upgraded": sum(done.values()), "seconds": round(elapsed, 1),
            "commits": commits_after - commits_before,
            "commits_per_second": round((commits_after - commits_before) / elapsed, 1),
            "slowest_dhcp_p99_ms": max(p99s) if p99s else None,
            "per_director": per_director, "python": platform.python_version(),
        }  # fmt: skip
    finally:
        for probe in probes:
            if probe.poll() is None:
                probe.kill()
                probe.wait()
        for lab in labs:
            await lab.stop()
        if cluster is not None:
            cluster.stop()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--directors", type=int, default=10)
    parser.add_argument("--switches", type=int, default=100)
    parser.add_argument("--image-kib", type=int, default=64)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--database", help="a PostgreSQL URL (default: a throwaway cluster)")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out = HERE / "results" / f"multidirector-{stamp}"
    out.parent.mkdir(exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    line = (
        f"{result['directors']} directors x {result['switches_per_director']} switches on one "
        f"PostgreSQL: {result['upgraded']} UPGRADED in {result['seconds']}s, "
        f"{result['commits_per_second']} commits/s, slowest director's DHCP p99 "
        f"{result['slowest_dhcp_p99_ms']} ms"
    )
    out.with_suffix(".md").write_text(f"# multidirector {stamp}\n\n{line}\n")
    print(line)
    return 0 if result.get("all_upgraded") else 1


if __name__ == "__main__":
    raise SystemExit(main())
