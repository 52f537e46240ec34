#!/usr/bin/env python3
"""DHCP benchmark: Kea's perfdhcp against our server, kea-dhcp4 (memfile) and dnsmasq.

    sudo .venv/bin/python bench/dhcp.py                 # all servers, default rates
    sudo .venv/bin/python bench/dhcp.py --rates 2000,4000 --duration 5 --servers ours,kea

Topology (root needed): two network namespaces made for the run, joined by a veth pair with
a private range that exists only there (10.214.0.0/16). Every server runs in turn in the
server namespace on port 67; perfdhcp runs in the client namespace as a relay agent
(``-l 10.214.0.2``, giaddr set), so the path is the same for every server. (Loopback alone
cannot host dnsmasq: it answers relays on its own server port, which perfdhcp would then
have to bind too.) The namespaces are removed at the end.

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
NET = "10.214"
SERVER_IP = f"{NET}.0.1"
CLIENT_IP = f"{NET}.0.2"
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Row:
    server: str
    offered_rate: int
    duration: int
    exchanges_per_s: float = 0.0
    do_sent: int = 0
    do_received: int = 0
    ra_sent: int = 0
    ra_received: int = 0
    drops_pct: float = 0.0  # of all requests (DISCOVER + REQUEST) sent
    do_latency_ms: float = 0.0
    ra_latency_ms: float = 0.0
    server_cpu_pct: float = 0.0  # of one core, over the run
    error: str = ""


@dataclass
class Run:
    started: str
    host: dict[str, str]
    settings: dict[str, object]
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(args), capture_output=True, text=True, timeout=30)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {result.stderr.strip()}")
    return result


@contextlib.contextmanager
def namespaces() -> Iterator[tuple[str, str, str]]:
    tag = str(os.getpid())
    srv, cli, veth_s, veth_c = f"si-bs{tag}", f"si-bc{tag}", f"sibs{tag}", f"sibc{tag}"
    sh("ip", "netns", "add", srv)
    try:
        sh("ip", "netns", "add", cli)
        sh("ip", "link", "add", veth_s, "type", "veth", "peer", "name", veth_c)
        sh("ip", "link", "set", veth_s, "netns", srv)
        sh("ip", "link", "set", veth_c, "netns", cli)
        sh("ip", "-n", srv, "addr", "add", f"{SERVER_IP}/16", "dev", veth_s)
        sh("ip", "-n", cli, "addr", "add", f"{CLIENT_IP}/16", "dev", veth_c)
        for ns, dev in ((srv, veth_s), (cli, veth_c)):
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "link", "set", dev, "up")
        yield srv, cli, veth_s
    finally:
        sh("ip", "netns", "del", cli, check=False)
        sh("ip", "netns", "del", srv, check=False)


def cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime (all threads)


def server_command(name: str, ns: str, dev: str, work: Path) -> list[str]:
    exec_ns = ["ip", "netns", "exec", ns]
    if name.startswith("ours"):
        cmd = [*exec_ns, sys.executable, "-m", "smartinstall.cli", "-v", "dhcp-server",
               "--server-address", SERVER_IP, "--interface", dev,
               "--pool", f"{NET}.0.0/16", "--exclude", f"{NET}.0.0-{NET}.0.255",
               "--default-router", SERVER_IP, "--file-server", SERVER_IP,
               "--data-dir", str(work / "data"), "--imagelist", "imagelist.txt",
               "--director", SERVER_IP, "--config-file", "switch.cfg"]
        if name == "ours-nofsync":
            cmd.append("--no-fsync")
        return cmd
    if name == "kea":
        config = {"Dhcp4": {
            "interfaces-config": {"interfaces": [dev], "dhcp-socket-type": "udp"},
            "lease-database": {"type": "memfile", "persist": True,
                               "name": str(work / "kea-leases.csv"), "lfc-interval": 0},
            "valid-lifetime": 86400,
            "subnet4": [{"id": 1, "subnet": f"{NET}.0.0/16",
                         "pools": [{"pool": f"{NET}.1.1 - {NET}.255.250"}],
                         "option-data": [{"name": "routers", "data": SERVER_IP}]}],
            "loggers": [{"name": "kea-dhcp4", "severity": "WARN",
                         "output_options": [{"output": str(work / "kea.log")}]}],
        }}
        (work / "kea.json").write_text(json.dumps(config))
        return [*exec_ns, "env", f"KEA_PIDFILE_DIR={work}", f"KEA_LOCKFILE_DIR={work}",
                shutil.which("kea-dhcp4") or "/usr/sbin/kea-dhcp4", "-c", str(work / "kea.json")]
    if name == "dnsmasq":
        return [*exec_ns, shutil.which("dnsmasq") or "/usr/sbin/dnsmasq", "--no-daemon",
                "--conf-file=/dev/null", "--port=0", f"--interface={dev}",
                f"--dhcp-range={NET}.1.1,{NET}.255.250,255.255.0.0,24h",
                f"--dhcp-leasefile={work / 'dnsmasq.leases'}", "--dhcp-authoritative",
                "--dhcp-lease-max=70000", "--no-ping", f"--pid-file={work / 'dnsmasq.pid'}",
                "--log-facility=/dev/null"]
    raise ValueError(name)


def perfdhcp(ns: str, rate: int, duration: int, clients: int, extra: list[str]) -> str:
    cmd = ["ip", "netns", "exec", ns, shutil.which("perfdhcp") or "/usr/sbin/perfdhcp", "-4",
           "-l", CLIENT_IP, "-r", str(rate), "-p", str(duration), "-R", str(clients),
           "-W", "1000000", *extra, SERVER_IP]
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


def wait_ready(ns: str, process: subprocess.Popen[bytes], limit: float = 15) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        out = perfdhcp(ns, 10, 1, 5, ["-n", "2", "-d", "0.5"])
        received = parse(out)["received"]
        if len(received) >= 2 and received[1] >= 1:  # at least one ACK came back
            return True
        time.sleep(0.3)
    return False


def bench_server(name: str, srv: str, cli: str, dev: str, args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix=f"dhcp-bench-{name}-", dir=args.workdir) as tmp:
        work = Path(tmp)
        log = open(work / "server.log", "wb")  # noqa: SIM115 - closed below
        process = subprocess.Popen(server_command(name, srv, dev, work), stdout=log,
                                   stderr=subprocess.STDOUT)
        try:
            if not wait_ready(cli, process):
                tail = (work / "server.log").read_text(errors="replace")[-500:]
                return [Row(name, 0, 0, error=f"server did not start: {tail}")]
            warm = perfdhcp(cli, 500, 2, args.clients, [])  # fill caches, first bindings
            del warm
            failures = 0
            for rate in args.rates:
                before, start = cpu_ticks(process.pid), time.monotonic()
                out = perfdhcp(cli, rate, args.duration, args.clients, [])
                elapsed = time.monotonic() - start
                ticks = cpu_ticks(process.pid) - before
                got = parse(out)
                row = Row(name, rate, args.duration)
                if len(got["sent"]) < 2 or len(got["received"]) < 2:
                    row.error = out.strip().splitlines()[-1] if out.strip() else "no output"
                    rows.append(row)
                    continue
                row.do_sent, row.ra_sent = int(got["sent"][0]), int(got["sent"][1])
                row.do_received, row.ra_received = (int(got["received"][0]),
                                                    int(got["received"][1]))
                sent = row.do_sent + row.ra_sent
                lost = (row.do_sent - row.do_received) + (row.ra_sent - row.ra_received)
                row.drops_pct = round(100.0 * lost / sent, 3) if sent else 0.0
                row.exchanges_per_s = round(row.ra_received / args.duration, 1)
                if len(got["latency"]) >= 2:
                    row.do_latency_ms, row.ra_latency_ms = got["latency"][0], got["latency"][1]
                row.server_cpu_pct = round(100.0 * ticks / TICKS / elapsed, 1)
                rows.append(row)
                print(f"{name:>13} {rate:>6}/s -> {row.exchanges_per_s:>8.1f}/s "
                      f"drops {row.drops_pct:6.3f}%  lat {row.do_latency_ms:.2f}/"
                      f"{row.ra_latency_ms:.2f} ms  cpu {row.server_cpu_pct}%", flush=True)
                failures = failures + 1 if row.drops_pct > 20 else 0
                if failures >= 2:  # far past saturation; higher rates only add noise
                    break
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()
    return rows


def summary(run: Run) -> str:
    lines = [
        f"DHCP benchmark, {run.started}, {run.host['cpus']} CPU(s), "
        f"perfdhcp {run.settings['duration']} s per rate, {run.settings['clients']} clients, "
        "relayed over a veth pair between two namespaces.",
        "",
        "| server | offered /s | 4-way exchanges /s | drops % | latency DO / RA ms | "
        "server CPU % |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in run.rows:
        if row.error:
            lines.append(f"| {row.server} | {row.offered_rate} | error: {row.error[:60]} "
                         "| | | |")
            continue
        lines.append(
            f"| {row.server} | {row.offered_rate} | {row.exchanges_per_s:.0f} | "
            f"{row.drops_pct:.3f} | {row.do_latency_ms:.2f} / {row.ra_latency_ms:.2f} | "
            f"{row.server_cpu_pct:.0f} |"
        )
    best: dict[str, float] = {}
    for row in run.rows:
        if not row.error and row.drops_pct < 0.1:
            best[row.server] = max(best.get(row.server, 0.0), row.exchanges_per_s)
    lines += ["", "Highest rate with under 0.1 % drops:", ""]
    for server, rate in best.items():
        ratio = f" ({rate / best['kea']:.2f}× Kea)" if best.get("kea") else ""
        lines.append(f"* {server}: {rate:.0f}/s{ratio}")
    lines += ["", *run.notes]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", default="ours,ours-nofsync,kea,dnsmasq")
    parser.add_argument("--rates", default="250,500,1000,2000,4000,6000,8000,10000")
    parser.add_argument("--duration", type=int, default=8, help="seconds per rate")
    parser.add_argument("--clients", type=int, default=30_000)
    parser.add_argument("--workdir", default=None, help="where lease files live (a real disk)")
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
        host={"cpus": str(os.cpu_count()), "python": platform.python_version(),
              "kernel": platform.release(), "loadavg_at_start": loadavg},
        settings={"rates": args.rates, "duration": args.duration, "clients": args.clients,
                  "servers": args.servers},
    )
    with namespaces() as (srv, cli, dev):
        for name in args.servers.split(","):
            run.rows += bench_server(name, srv, cli, dev, args)
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
