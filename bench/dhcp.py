#!/usr/bin/env python3
"""DHCP benchmark: Kea's perfdhcp against our server, kea-dhcp4 (memfile) and dnsmasq.

    sudo .venv/bin/python bench/dhcp.py                 # all servers, default rates
    sudo .venv/bin/python bench/dhcp.py --rates 2000,4000 --duration 5 --servers ours,kea

Topology (root needed): network namespaces made for the run: one for perfdhcp and one per
server, each server namespace joined to perfdhcp's by a veth pair with its own private /16
(10.214.0.0/16, 10.215.0.0/16, ...) that exists only there. Every server listens on port 67
in its namespace, and perfdhcp acts as a relay agent (``-l 10.x.0.2``, giaddr set), so the
path is the same for each. (Loopback alone cannot host dnsmasq: it answers relays on its own
server port, which perfdhcp would then have to bind too.) All servers run at once, idle but
for the one measured, and the rates interleave the servers, so a burst of other load on a
shared host hits them alike; each point is the best of ``--repeats`` runs. The namespaces
are removed at the end.

For each server and each offered rate perfdhcp runs for ``--duration`` seconds with
``--clients`` simulated clients; we record completed four-way exchanges per second, drops
of each half (DISCOVER-OFFER and REQUEST-ACK), average latency, and the server's CPU time.
Results go to ``bench/results/dhcp-<time>.json`` and ``.md``. Every run is bounded: rates,
duration and per-run timeouts are fixed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Row:
    server: str
    offered_rate: int
    duration: int
    repeats: int = 1
    exchanges_per_s: float = 0.0
    do_sent: int = 0
    do_received: int = 0
    ra_sent: int = 0
    ra_received: int = 0
    drops_pct: float = 0.0  # of all requests (DISCOVER + REQUEST) sent
    do_latency_ms: float = 0.0
    ra_latency_ms: float = 0.0
    server_cpu_pct: float = 0.0  # of one core, over the run
    perfdhcp_cpu_pct: float = 0.0  # the load generator's own CPU, same units
    error: str = ""


@dataclass
class Run:
    started: str
    host: dict[str, str]
    settings: dict[str, object]
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Site:
    """One server under test: its own namespace, veth pair and /16 (10.<214+n>.0.0)."""

    name: str
    ns: str
    dev: str
    net: str
    work: Path
    process: subprocess.Popen[bytes] | None = None
    log: object = None
    saturated: int = 0
    extra: list[str] = field(default_factory=list)  # more arguments for our server

    @property
    def server_ip(self) -> str:
        return f"{self.net}.0.1"

    @property
    def client_ip(self) -> str:
        return f"{self.net}.0.2"


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(args), capture_output=True, text=True, timeout=30)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {result.stderr.strip()}")
    return result


@contextlib.contextmanager
def topology(names: list[str], workdir: Path, extra: list[str]) -> Iterator[tuple[str, list[Site]]]:
    """One client namespace (perfdhcp) and one server namespace per server, veth-joined."""
    tag = str(os.getpid())
    client = f"si-bc{tag}"
    made: list[str] = []
    try:
        sh("ip", "netns", "add", client)
        made.append(client)
        sh("ip", "-n", client, "link", "set", "lo", "up")
        sites: list[Site] = []
        for n, name in enumerate(names):
            ns, dev, peer = f"si-bs{tag}-{n}", f"sibs{tag}{n}", f"sibc{tag}{n}"
            net = f"10.{214 + n}"
            sh("ip", "netns", "add", ns)
            made.append(ns)
            sh("ip", "link", "add", dev, "type", "veth", "peer", "name", peer)
            sh("ip", "link", "set", dev, "netns", ns)
            sh("ip", "link", "set", peer, "netns", client)
            sh("ip", "-n", ns, "addr", "add", f"{net}.0.1/16", "dev", dev)
            sh("ip", "-n", client, "addr", "add", f"{net}.0.2/16", "dev", peer)
            for space, link in ((ns, dev), (ns, "lo"), (client, peer)):
                sh("ip", "-n", space, "link", "set", link, "up")
            work = workdir / name
            work.mkdir()
            sites.append(Site(name, ns, dev, net, work, extra=list(extra)))
        yield client, sites
    finally:
        for ns in reversed(made):
            sh("ip", "netns", "del", ns, check=False)


def cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime (all threads)


def server_command(site: Site) -> list[str]:
    name, work, net, dev, ip = site.name, site.work, site.net, site.dev, site.server_ip
    exec_ns = ["ip", "netns", "exec", site.ns]
    if name.startswith("ours"):
        cmd = [
            *exec_ns,
            sys.executable,
            "-m",
            "smartinstall.cli",
            "-v",
            "dhcp-server",
            "--server-address",
            ip,
            "--interface",
            dev,
            "--pool",
            f"{net}.0.0/16",
            "--exclude",
            f"{net}.0.0-{net}.0.255",
            "--default-router",
            ip,
            "--file-server",
            ip,
            "--data-dir",
            str(work / "data"),
            "--imagelist",
            "imagelist.txt",
            "--director",
            ip,
            "--config-file",
            "switch.cfg",
        ]
        if name == "ours-nofsync":
            cmd.append("--no-fsync")
        return cmd + site.extra
    if name == "kea":
        config = {
            "Dhcp4": {
                "interfaces-config": {"interfaces": [dev], "dhcp-socket-type": "udp"},
                "lease-database": {
                    "type": "memfile",
                    "persist": True,
                    "name": str(work / "kea-leases.csv"),
                    "lfc-interval": 0,
                },
                "valid-lifetime": 86400,
                "subnet4": [
                    {
                        "id": 1,
                        "subnet": f"{net}.0.0/16",
                        "pools": [{"pool": f"{net}.1.1 - {net}.255.250"}],
                        "option-data": [{"name": "routers", "data": ip}],
                    }
                ],
                "loggers": [
                    {
                        "name": "kea-dhcp4",
                        "severity": "WARN",
                        "output_options": [{"output": str(work / "kea.log")}],
                    }
                ],
            }
        }
        (work / "kea.json").write_text(json.dumps(config))
        return [
            *exec_ns,
            "env",
            f"KEA_PIDFILE_DIR={work}",
            f"KEA_LOCKFILE_DIR={work}",
            shutil.which("kea-dhcp4") or "/usr/sbin/kea-dhcp4",
            "-c",
            str(work / "kea.json"),
        ]
    if name == "dnsmasq":
        return [
            *exec_ns,
            shutil.which("dnsmasq") or "/usr/sbin/dnsmasq",
            "--no-daemon",
            "--conf-file=/dev/null",
            "--port=0",
            f"--interface={dev}",
            f"--dhcp-range={net}.1.1,{net}.255.250,255.255.0.0,24h",
            f"--dhcp-leasefile={work / 'dnsmasq.leases'}",
            "--dhcp-authoritative",
            "--dhcp-lease-max=70000",
            "--no-ping",
            f"--pid-file={work / 'dnsmasq.pid'}",
            "--log-facility=/dev/null",
        ]
    raise ValueError(name)


def perfdhcp(
    client: str, site: Site, rate: int, duration: int, clients: int, extra: list[str]
) -> str:
    cmd = [
        "ip",
        "netns",
        "exec",
        client,
        shutil.which("perfdhcp") or "/usr/sbin/perfdhcp",
        "-4",
        "-l",
        site.client_ip,
        "-r",
        str(rate),
        "-p",
        str(duration),
        "-R",
        str(clients),
        "-W",
        "1000000",
        *extra,
        site.server_ip,
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    return result.stdout + result.stderr


def parse(output: str) -> dict[str, list[float]]:
    def grab(pattern: str) -> list[float]:
        return [float(v) for v in re.findall(pattern, output, re.M)]

    return {
        "sent": grab(r"^sent packets: (\d+)"),
        "received": grab(r"^received packets: (\d+)"),
        "latency": grab(r"^avg delay: ([\d.]+) ms"),
    }


def start(client: str, site: Site, limit: float = 20) -> str:
    """Start the server and wait until it completes an exchange; '' or an error text."""
    site.log = open(site.work / "server.log", "wb")  # noqa: SIM115 - closed in stop()
    site.process = subprocess.Popen(
        server_command(site),
        stdout=site.log,  # type: ignore[arg-type]
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if site.process.poll() is not None:
            break
        received = parse(perfdhcp(client, site, 10, 1, 5, ["-n", "2", "-d", "0.5"]))["received"]
        if len(received) >= 2 and received[1] >= 1:  # at least one ACK came back
            return ""
        time.sleep(0.3)
    tail = (site.work / "server.log").read_text(errors="replace")[-300:]
    return f"server did not start: {tail}"


def stop(site: Site) -> str:
    """Stop the server; return its closing statistics line, if it prints one."""
    if site.process is not None:
        site.process.terminate()
        try:
            site.process.wait(10)
        except subprocess.TimeoutExpired:
            site.process.kill()
            site.process.wait()
    if site.log is not None:
        site.log.close()  # type: ignore[attr-defined]
    log = site.work / "server.log"
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return next((line for line in reversed(lines) if "stopped:" in line), "")


def measure(client: str, site: Site, rate: int, args: argparse.Namespace) -> Row:
    """Best of ``--repeats`` runs (most exchanges): other load on the host only ever slows."""
    best: Row | None = None
    for _ in range(args.repeats):
        assert site.process is not None
        before, begin = cpu_ticks(site.process.pid), time.monotonic()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = perfdhcp(client, site, rate, args.duration, args.clients, [])
        elapsed = time.monotonic() - begin
        ticks = cpu_ticks(site.process.pid) - before
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        load_cpu = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
        got = parse(out)
        row = Row(site.name, rate, args.duration, args.repeats)
        if len(got["sent"]) < 2 or len(got["received"]) < 2:
            row.error = out.strip().splitlines()[-1] if out.strip() else "no output"
        else:
            row.do_sent, row.ra_sent = int(got["sent"][0]), int(got["sent"][1])
            row.do_received, row.ra_received = int(got["received"][0]), int(got["received"][1])
            sent = row.do_sent + row.ra_sent
            lost = (row.do_sent - row.do_received) + (row.ra_sent - row.ra_received)
            row.drops_pct = round(100.0 * lost / sent, 3) if sent else 0.0
            row.exchanges_per_s = round(row.ra_received / args.duration, 1)
            if len(got["latency"]) >= 2:
                row.do_latency_ms, row.ra_latency_ms = got["latency"][0], got["latency"][1]
            row.server_cpu_pct = round(100.0 * ticks / TICKS / elapsed, 1)
            row.perfdhcp_cpu_pct = round(100.0 * load_cpu / elapsed, 1)
        if best is None or (
            not row.error
            and (
                best.error
                or (row.exchanges_per_s, -row.drops_pct) > (best.exchanges_per_s, -best.drops_pct)
            )
        ):
            best = row
    assert best is not None
    return best


def bench(args: argparse.Namespace, run: Run) -> None:
    names = args.servers.split(",")
    with (
        tempfile.TemporaryDirectory(prefix="dhcp-bench-", dir=args.workdir) as tmp,
        topology(names, Path(tmp), args.ours_args.split()) as (client, sites),
    ):
        try:
            live: list[Site] = []
            for site in sites:
                error = start(client, site)
                if error:
                    run.rows.append(Row(site.name, 0, 0, error=error))
                    continue
                perfdhcp(client, site, 500, 2, args.clients, [])  # warm up, first bindings
                live.append(site)
            # Rates interleave the servers, so a burst of other load on the host hits them
            # alike instead of spoiling one server's whole series.
            for rate in args.rates:
                for site in live:
                    if site.saturated >= 2:  # far past saturation: higher rates add nothing
                        continue
                    row = measure(client, site, rate, args)
                    run.rows.append(row)
                    print(
                        f"{site.name:>13} {rate:>6}/s -> {row.exchanges_per_s:>8.1f}/s "
                        f"drops {row.drops_pct:6.3f}%  lat {row.do_latency_ms:.2f}/"
                        f"{row.ra_latency_ms:.2f} ms  cpu {row.server_cpu_pct}% "
                        f"perfdhcp {row.perfdhcp_cpu_pct}% "
                        f"{row.error}",
                        flush=True,
                    )
                    site.saturated = site.saturated + 1 if row.drops_pct > 20 else 0
        finally:
            for site in sites:
                closing = stop(site)
                if closing:
                    run.notes.append(f"{site.name} counters: {closing.split('stopped: ', 1)[-1]}")
    run.rows.sort(key=lambda r: (names.index(r.server), r.offered_rate))


def summary(run: Run) -> str:
    lines = [
        f"DHCP benchmark, {run.started}, {run.host['cpus']} CPU(s), "
        f"perfdhcp {run.settings['duration']} s per run, best of {run.settings['repeats']}, "
        f"{run.settings['clients']} clients, relayed over veth pairs between namespaces"
        + (
            f"; our server with `{run.settings['ours_args']}`."
            if run.settings["ours_args"]
            else "."
        ),
        "",
        "| server | offered /s | 4-way exchanges /s | drops % | latency DO / RA ms | "
        "server CPU % | perfdhcp CPU % |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in run.rows:
        if row.error:
            lines.append(f"| {row.server} | {row.offered_rate} | error: {row.error[:60]} | | | | |")
            continue
        lines.append(
            f"| {row.server} | {row.offered_rate} | {row.exchanges_per_s:.0f} | "
            f"{row.drops_pct:.3f} | {row.do_latency_ms:.2f} / {row.ra_latency_ms:.2f} | "
            f"{row.server_cpu_pct:.0f} | {row.perfdhcp_cpu_pct:.0f} |"
        )
    clean: dict[str, float] = {}
    peak: dict[str, float] = {}
    for row in run.rows:
        if row.error:
            continue
        peak[row.server] = max(peak.get(row.server, 0.0), row.exchanges_per_s)
        if row.drops_pct < 0.1:
            clean[row.server] = max(clean.get(row.server, 0.0), row.exchanges_per_s)

    def ratio(table: dict[str, float], server: str) -> str:
        return f" ({table[server] / table['kea']:.2f}× Kea)" if table.get("kea") else ""

    lines += [
        "",
        "| server | best rate with < 0.1 % drops | peak exchanges /s |",
        "|---|---:|---:|",
    ]
    for server in peak:
        lines.append(
            f"| {server} | {clean.get(server, 0):.0f}{ratio(clean, server)} | "
            f"{peak[server]:.0f}{ratio(peak, server)} |"
        )
    lines += ["", *run.notes]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", default="ours,ours-nofsync,kea,dnsmasq")
    parser.add_argument("--rates", default="250,500,1000,2000,4000,6000,8000,10000")
    parser.add_argument("--duration", type=int, default=5, help="seconds per run")
    parser.add_argument("--repeats", type=int, default=2, help="runs per rate; best kept")
    parser.add_argument("--clients", type=int, default=30_000)
    parser.add_argument("--workdir", default=None, help="where lease files live (a real disk)")
    parser.add_argument("--ours-args", default="", help="extra arguments for our server")
    args = parser.parse_args()
    args.rates = [int(r) for r in args.rates.split(",")]
    if os.geteuid() != 0:
        print("needs root: the benchmark runs in network namespaces", file=sys.stderr)
        return 2
    for program in ("perfdhcp", "kea-dhcp4", "dnsmasq", "ip"):
        if shutil.which(program) is None and not Path(f"/usr/sbin/{program}").exists():
            print(f"{program} is missing (scripts/install-test-tools)", file=sys.stderr)
            return 2
    with open("/proc/loadavg") as load:
        loadavg = load.read().split()[0]
    run = Run(
        started=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        host={
            "cpus": str(os.cpu_count()),
            "python": platform.python_version(),
            "kernel": platform.release(),
            "loadavg_at_start": loadavg,
        },
        settings={
            "rates": args.rates,
            "duration": args.duration,
            "clients": args.clients,
            "servers": args.servers,
            "repeats": args.repeats,
            "ours_args": args.ours_args,
        },
    )
    bench(args, run)
    with open("/proc/loadavg") as load:
        run.host["loadavg_at_end"] = load.read().split()[0]
    run.notes.append(
        f"Load average {run.host['loadavg_at_start']} at start, {run.host['loadavg_at_end']} "
        "at the end: the machine is shared, so rates are noisy; compare rows of one run."
    )
    RESULTS.mkdir(exist_ok=True)
    stamp = run.started.replace(":", "").replace("-", "")
    (RESULTS / f"dhcp-{stamp}.json").write_text(
        json.dumps({**asdict(run), "rows": [asdict(r) for r in run.rows]}, indent=2) + "\n"
    )
    text = summary(run)
    (RESULTS / f"dhcp-{stamp}.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
