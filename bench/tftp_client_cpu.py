#!/usr/bin/env python3
"""CPU of our TFTP client per MiB downloaded (the emulated switches' download path).

tftp-hpa (`in.tftpd --listen`, C, its own processes) serves one file on loopback; this
process downloads it `--concurrency` times at once with `tftp_client.fetch_to` into a sink
that hands each write on as the emulated switch's flash does (`netio._Sink`), and reports
this process's CPU (user+system) per MiB. The server's CPU is not counted. Run it before and
after a change of src/smartinstall/services/tftp_client.py:

    .venv/bin/python bench/tftp_client_cpu.py [--concurrency 20] [--size-mib 4] [--blksize 512]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from peer_tftpd import TftpHpa  # noqa: E402

from smartinstall.services import tftp_client  # noqa: E402
from smartinstall.switch.netio import _Sink  # noqa: E402


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def download_all(port: int, concurrency: int, blksize: int, size: int) -> float:
    counted = [0]

    def sink(data: bytes) -> None:
        counted[0] += len(data)

    options = tftp_client.ClientOptions(
        blksize=blksize, retransmit_timeout=2.0, local_host="127.0.0.1"
    )

    async def one() -> None:
        got = await tftp_client.fetch_to("127.0.0.1", port, "image.bin", _Sink(sink), options)  # type: ignore[arg-type]
        if got != size:
            raise RuntimeError(f"got {got} bytes, expected {size}")

    start = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(concurrency)))
    wall = time.perf_counter() - start
    if counted[0] != size * concurrency:
        raise RuntimeError(f"sink saw {counted[0]} bytes")
    return wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--size-mib", type=float, default=4.0)
    parser.add_argument("--blksize", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=2, help="runs; the least CPU counts")
    args = parser.parse_args()
    size = int(args.size_mib * (1 << 20))
    runs = []
    with tempfile.TemporaryDirectory(prefix="tftp-client-cpu-") as tmp:
        root = Path(tmp)
        os.chmod(root, 0o755)
        with open(root / "image.bin", "wb") as out:
            left = size
            while left > 0:
                out.write(os.urandom(min(left, 1 << 20)))
                left -= min(left, 1 << 20)
        os.chmod(root / "image.bin", 0o644)
        with TftpHpa(root, "127.0.0.1") as server:
            for _ in range(args.repeat):
                cpu0 = self_cpu()
                wall = asyncio.run(download_all(server.port, args.concurrency, args.blksize, size))
                cpu = self_cpu() - cpu0
                mib = size * args.concurrency / (1 << 20)
                runs.append(
                    {
                        "wall_s": round(wall, 2),
                        "cpu_s": round(cpu, 2),
                        "client_cpu_ms_per_mib": round(1000 * cpu / mib, 1),
                        "mib_per_s": round(mib / wall, 1),
                    }
                )
                print(json.dumps(runs[-1]), flush=True)
    best = min(runs, key=lambda r: r["client_cpu_ms_per_mib"])
    print(
        f"{args.concurrency} x {size / (1 << 20):g} MiB at {args.blksize}-byte blocks: client "
        f"{best['client_cpu_ms_per_mib']} ms CPU per MiB ({best['mib_per_s']} MiB/s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
