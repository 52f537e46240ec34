"""Full walk of CISCO-SMART-INSTALL-MIB with a 1,000-device table: the director's SNMP agent
(services/snmp.py, pysnmp on asyncio) beside net-snmp's snmpd serving the same objects as a
static table (one `override` line per object), both on loopback, in one run.

    .venv/bin/python bench/snmp.py [--devices 1000] [--repeat 3]

Each server is walked with `snmpwalk` (GETNEXT, one object per request) and `snmpbulkwalk`
(GETBULK, 25 repetitions); the best of the repeats counts. Both answer the same objects (the
line counts are checked). Results: bench/results/snmp-<time>.json and a markdown line.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from pysnmp.proto import rfc1902  # noqa: E402

from smartinstall.domain.devices import Device  # noqa: E402
from smartinstall.ios.director_config import replay_director_config  # noqa: E402
from smartinstall.services.snmp_mib import CSI, MibInputs, mib_objects  # noqa: E402

HOST = "127.0.0.1"
CONFIG = "vstack director 10.0.0.1\nvstack basic\nsnmp-server community public RO\n"


def device(n: int) -> Device:
    return Device(
        number=n, mac=f"0050.56{n >> 16 & 0xFF:02x}.{n & 0xFFFF:04x}",
        ip=f"10.{n >> 16 & 0xFF}.{n >> 8 & 0xFF}.{n & 0xFF}", hostname=f"STORE-{n}",
        pid="WS-C2960X-48FPS-L", serial=f"FOC{n:08d}", version="15.2(7)E9",
    )  # fmt: skip


def inputs(count: int) -> MibInputs:
    settings = replay_director_config(CONFIG, owns_address=lambda ip: True).settings
    devices = [device(n) for n in range(1, count + 1)]
    return MibInputs(settings, devices, True, 1.0, lambda mac: f"STORE-{mac}.REV2")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


async def serve_ours(port: int, count: int) -> None:
    from smartinstall.services.snmp import SnmpAgent

    values = inputs(count)
    agent = SnmpAgent(HOST, port, lambda: values)
    await agent.follow(values.settings.snmp)
    print("ready", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await agent.close()


def override_line(oid: tuple[int, ...], value: object) -> str:
    name = "." + ".".join(map(str, oid))
    if isinstance(value, rfc1902.Unsigned32 | rfc1902.Gauge32):
        return f"override {name} unsigned {int(value)}"
    if isinstance(value, rfc1902.Integer32):
        return f"override {name} integer {int(value)}"
    assert isinstance(value, rfc1902.OctetString)
    octets = bytes(value.asOctets())
    if all(32 <= b < 127 and b != 34 for b in octets):
        return f'override {name} octet_str "{octets.decode()}"'
    return f"override {name} octet_str 0x{octets.hex() or '00'}"


def start_snmpd(base: Path, port: int, count: int) -> subprocess.Popen[bytes]:
    program = shutil.which("snmpd") or "/usr/sbin/snmpd"
    lines = [f"rocommunity public {HOST}"]
    lines += [override_line(o, v) for o, v in mib_objects(inputs(count)) if o[:9] == CSI]
    (base / "snmpd.conf").write_text("\n".join(lines) + "\n")
    env = {**os.environ, "SNMP_PERSISTENT_DIR": str(base), "MIBS": ""}
    return subprocess.Popen(
        [program, "-f", "-C", "-c", str(base / "snmpd.conf"), "-Lf", str(base / "snmpd.log"),
         "-I", "-ifTable,ifXTable,ipAddressTable,hrSWRunTable,vacm_vars",
         f"udp:{HOST}:{port}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def walk(tool: str, port: int) -> tuple[float, int]:
    extra = ["-Cr25"] if tool == "snmpbulkwalk" else []
    start = time.perf_counter()
    out = subprocess.run(
        [tool, "-v2c", "-c", "public", "-On", "-m", "", "-t", "5", *extra,
         f"{HOST}:{port}", ".".join(map(str, CSI))],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    took = time.perf_counter() - start
    # an agent whose view ends with the MIB answers endOfMibView, which the walk prints
    return took, sum("No more variables" not in line for line in out.stdout.splitlines())


def wait_ready(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        probe = subprocess.run(
            ["snmpget", "-v2c", "-c", "public", "-t", "0.3", "-r", "0", "-m", "",
             f"{HOST}:{port}", ".".join(map(str, (*CSI, 1, 1, 1, 0)))],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if "INTEGER" in probe.stdout:
            return
        time.sleep(0.2)
    raise SystemExit(f"no answer on {HOST}:{port}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--serve-ours", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_ours:
        asyncio.run(serve_ours(args.serve_ours, args.devices))
        return
    with tempfile.TemporaryDirectory() as tmp:
        ours_port, snmpd_port = free_port(), free_port()
        ours = subprocess.Popen(
            [sys.executable, __file__, "--serve-ours", str(ours_port), "--devices",
             str(args.devices)], stdout=subprocess.PIPE,
        )  # fmt: skip
        snmpd = start_snmpd(Path(tmp), snmpd_port, args.devices)
        try:
            assert ours.stdout is not None and ours.stdout.readline().strip() == b"ready"
            wait_ready(ours_port)
            wait_ready(snmpd_port)
            results: dict[str, dict[str, float]] = {}
            for tool in ("snmpwalk", "snmpbulkwalk"):
                best: dict[str, tuple[float, int]] = {}
                for _ in range(args.repeat):
                    for name, port in (("ours", ours_port), ("snmpd", snmpd_port)):
                        took, lines = walk(tool, port)
                        if name not in best or took < best[name][0]:
                            best[name] = (took, lines)
                assert best["ours"][1] == best["snmpd"][1], best
                results[tool] = {
                    "objects": best["ours"][1],
                    "ours_s": round(best["ours"][0], 3),
                    "snmpd_s": round(best["snmpd"][0], 3),
                    "ratio": round(best["ours"][0] / best["snmpd"][0], 2),
                }
        finally:
            for process in (ours, snmpd):
                process.terminate()
                process.wait(timeout=10)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = ROOT / "bench" / "results" / f"snmp-{stamp}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"devices": args.devices, "results": results}, indent=2) + "\n")
    print(f"| walk ({args.devices} devices) | objects | ours s | snmpd s | ours/snmpd |")
    print("|---|---|---|---|---|")
    for tool, row in results.items():
        print(
            f"| {tool} | {row['objects']} | {row['ours_s']} | {row['snmpd_s']} | {row['ratio']} |"
        )
    print(f"results: {out}")


if __name__ == "__main__":
    main()
