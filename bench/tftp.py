#!/usr/bin/env python3
"""TFTP benchmark: our server beside tftp-hpa (in.tftpd) and atftpd, in one run, on loopback.

Downloads a 32 MiB file with curl (lock-step rows) and atftp (windowsize row): one transfer at
512, 1468 and 8192-byte blocks, 1468 with windowsize 8, and 20 concurrent transfers at 512 and
1468. Reports throughput and server CPU (user+system of the server's process tree) and our
ratios to each peer. Writes bench/results/tftp-<time>.json and .md.

    .venv/bin/python bench/tftp.py [--size-mib 32] [--repeat 2] [--workers 8] [--rows 1,5]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
CLK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Row:
    name: str
    client: str  # curl | atftp
    blksize: int
    windowsize: int
    concurrency: int


ROWS = (
    Row("1 x 512", "curl", 512, 1, 1),
    Row("1 x 1468", "curl", 1468, 1, 1),
    Row("1 x 8192", "curl", 8192, 1, 1),
    Row("1 x 1468 w8 (atftp)", "atftp", 1468, 8, 1),
    Row("20 x 512", "curl", 512, 1, 20),
    Row("20 x 1468", "curl", 1468, 1, 20),
)


def find(name: str) -> str | None:
    for folder in ("", "/usr/sbin", "/sbin", "/usr/local/sbin"):
        path = shutil.which(name) if not folder else os.path.join(folder, name)
        if path and os.access(path, os.X_OK):
            return path
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def tree_cpu(pid: int) -> float:
    """CPU seconds (user+system) of pid, its live descendants and its reaped children."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry)] = fields
        children.setdefault(int(fields[1]), []).append(int(entry))
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        found = stats.get(p)
        if found is None:
            continue
        # found[11..14] = utime stime cutime cstime (stat fields 14-17)
        total += sum(int(x) for x in found[11:15])
        todo.extend(children.get(p, []))
    return total / CLK


CGROUP_ROOT = Path("/sys/fs/cgroup/cpuacct")


def make_cgroup(name: str) -> Path | None:
    """A cpuacct cgroup (v1) that counts every process a server forks, if we may make one."""
    path = CGROUP_ROOT / f"smartinstall-bench-{name}-{os.getpid()}"
    try:
        path.mkdir()
    except OSError:
        return None
    return path


class Server:
    def __init__(self, name: str, argv: list[str], port: int) -> None:
        self.name = name
        self.port = port
        self.cgroup = make_cgroup(name)
        procs = self.cgroup / "cgroup.procs" if self.cgroup else None

        def enter_cgroup() -> None:  # in the child, before exec: all its forks follow
            if procs is not None:
                procs.write_text(str(os.getpid()))

        self.proc = subprocess.Popen(
            argv,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=enter_cgroup,
        )

    def cpu(self) -> float:
        if self.cgroup is not None:
            return int((self.cgroup / "cpuacct.usage").read_text()) / 1e9
        return tree_cpu(self.proc.pid)

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        if self.cgroup is not None:
            for _ in range(50):  # forked children may linger a moment
                try:
                    self.cgroup.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)


def wait_ready(port: int, timeout: float = 10.0) -> None:
    """A server is up once it answers a request for a missing file."""
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        while time.monotonic() < deadline:
            sock.sendto(b"\x00\x01no-such-file\x00octet\x00", ("127.0.0.1", port))
            try:
                sock.recvfrom(600)
                return
            except TimeoutError:
                continue
    raise RuntimeError(f"no TFTP server answered on port {port}")


def client_argv(row: Row, port: int, out: str) -> list[str]:
    if row.client == "curl":
        return [
            "curl",
            "-sS",
            "--tftp-blksize",
            str(row.blksize),
            "-o",
            out,
            "-w",
            "%{size_download}",
            f"tftp://127.0.0.1:{port}/image.bin",
        ]
    argv = ["atftp", "--option", f"blksize {row.blksize}"]
    if row.windowsize > 1:
        argv += ["--option", f"windowsize {row.windowsize}"]
    return [*argv, "-g", "-r", "image.bin", "-l", out, "127.0.0.1", str(port)]


def one_download(row: Row, port: int, out: str, size: int) -> None:
    result = subprocess.run(
        client_argv(row, port, out), capture_output=True, timeout=300, check=False, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(f"{row.client} failed: {result.stdout} {result.stderr}")
    got = int(result.stdout.strip()) if row.client == "curl" else os.path.getsize(out)
    if got != size:
        raise RuntimeError(f"{row.client} got {got} bytes, expected {size}")


def measure(row: Row, server: Server, size: int, scratch: Path) -> dict[str, float]:
    outs = [str(scratch / f"{server.name}-{i}.out") for i in range(row.concurrency)]
    cpu0 = server.cpu()
    start = time.perf_counter()
    with ThreadPoolExecutor(row.concurrency) as pool:
        for future in [pool.submit(one_download, row, server.port, out, size) for out in outs]:
            future.result()
    wall = time.perf_counter() - start
    time.sleep(0.3)  # let forked per-transfer children end and be reaped
    cpu = server.cpu() - cpu0
    for out in outs:
        os.unlink(out)
    total = size * row.concurrency
    return {
        "seconds": wall,
        "mb_per_s": total / wall / 1e6,
        "cpu_s": cpu,
        "cpu_s_per_gb": cpu / (total / 1e9),
    }


def start_servers(root: Path, workers: int, python: str) -> list[Server]:
    servers = []
    port = free_port()
    servers.append(
        Server(
            "smartinstall",
            [
                python,
                "-m",
                "smartinstall.cli",
                "tftp-server",
                str(root),
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            port,
        )
    )
    hpa = find("in.tftpd")
    if hpa:
        port = free_port()
        argv = [hpa, "--foreground", "--listen", "--address", f"127.0.0.1:{port}", "--secure"]
        if os.geteuid() == 0:
            argv += ["--user", "root"]
        servers.append(Server("tftp-hpa", [*argv, str(root)], port))
    atftpd = find("atftpd")
    if atftpd:
        port = free_port()
        argv = [
            atftpd,
            "--daemon",
            "--no-fork",
            "--port",
            str(port),
            "--bind-address",
            "127.0.0.1",
            "--logfile",
            "/dev/null",
            "--maxthread",
            "100",
        ]
        if os.geteuid() == 0:
            argv += ["--user", "root", "--group", "root"]
        servers.append(Server("atftpd", [*argv, str(root)], port))
    for server in servers:
        wait_ready(server.port)
    return servers


def markdown(result: dict[str, object]) -> str:
    rows: list[dict[str, object]] = result["rows"]  # type: ignore[assignment]
    peers = [s for s in result["servers"] if s != "smartinstall"]  # type: ignore[attr-defined]
    head = "| row | ours MB/s | " + " | ".join(f"{p} MB/s" for p in peers)
    head += " | " + " | ".join(f"× {p} (speed)" for p in peers)
    head += " | " + " | ".join(f"× {p} (CPU/GB)" for p in peers) + " |"
    lines = [head, "|" + "---|" * (2 + 3 * len(peers))]
    for row in rows:
        cells: dict[str, dict[str, float]] = row["servers"]  # type: ignore[assignment]
        ours = cells["smartinstall"]
        line = f"| {row['row']} | {ours['mb_per_s']:.1f} | "
        line += " | ".join(f"{cells[p]['mb_per_s']:.1f}" for p in peers)
        line += " | " + " | ".join(f"{ours['mb_per_s'] / cells[p]['mb_per_s']:.2f}" for p in peers)
        line += " | " + " | ".join(
            f"{ours['cpu_s_per_gb'] / cells[p]['cpu_s_per_gb']:.2f}"
            if cells[p]["cpu_s_per_gb"] > 0
            else "n/a"
            for p in peers
        )
        lines.append(line + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=2, help="runs per cell; the best counts")
    parser.add_argument(
        "--workers",
        type=int,
        default=4 * (os.cpu_count() or 1),
        help="our worker processes (SO_REUSEPORT)",
    )
    parser.add_argument("--rows", help="comma-separated row numbers (1-based) to run")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    for program in ("curl", "atftp"):
        if not find(program):
            print(f"{program} is missing: run scripts/install-test-tools", file=sys.stderr)
            return 2
    rows = list(ROWS)
    if args.rows:
        rows = [ROWS[int(i) - 1] for i in args.rows.split(",")]
    load_before = os.getloadavg()
    size = args.size_mib * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="tftp-bench-") as tmp:
        root = Path(tmp) / "root"
        scratch = Path(tmp) / "out"
        root.mkdir()
        scratch.mkdir()
        os.chmod(root, 0o755)
        with open(root / "image.bin", "wb") as f:
            for _ in range(args.size_mib):
                f.write(os.urandom(1 << 20))
        os.chmod(root / "image.bin", 0o644)
        servers = start_servers(root, args.workers, sys.executable)
        results = []
        try:
            for row in rows:
                runs: dict[str, list[dict[str, float]]] = {s.name: [] for s in servers}
                for rep in range(args.repeat):
                    # interleaved and rotated, so a noisy moment does not hit one server only
                    order = servers[rep % len(servers) :] + servers[: rep % len(servers)]
                    for server in order:
                        cell = measure(row, server, size, scratch)
                        runs[server.name].append(cell)
                        print(
                            f"{row.name:22} {server.name:12} {cell['mb_per_s']:8.1f} MB/s"
                            f"  cpu {cell['cpu_s']:6.2f} s",
                            flush=True,
                        )
                cells = {name: max(r, key=lambda c: c["mb_per_s"]) for name, r in runs.items()}
                results.append(
                    {"row": row.name, "row_spec": asdict(row), "servers": cells, "runs": runs}
                )
        finally:
            for server in servers:
                server.stop()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    result: dict[str, object] = {
        "benchmark": "tftp",
        "time": stamp,
        "file_bytes": size,
        "repeat": args.repeat,
        "workers": args.workers,
        "machine": {
            "cpus": os.cpu_count(),
            "load_before": load_before,
            "python": platform.python_version(),
            "kernel": platform.release(),
        },
        "servers": [s.name for s in servers],
        "rows": results,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"tftp-{stamp}.json").write_text(json.dumps(result, indent=2) + "\n")
    table = markdown(result)
    summary = (
        f"# TFTP benchmark {stamp}\n\n{size >> 20} MiB file, best of {args.repeat} "
        f"per cell, our server with {args.workers} worker process(es); ratios are "
        f"ours/peer (speed: higher is better; CPU per GB: lower is better).\n\n{table}"
    )
    (args.out / f"tftp-{stamp}.md").write_text(summary)
    print()
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
