"""`smartinstall tftp-server`: run the TFTP server alone (manual tests, benchmarks)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path

from smartinstall.services.tftp import TftpServer, TftpServerConfig
from smartinstall.services.tftp_base import OpenUploads
from smartinstall.wire.tftp import ServerLimits

NAME = "tftp-server"
HELP = "serve a directory over TFTP (reads; writes only into --upload-dir)"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("root", type=Path, help="directory served for reads (flash:)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=69, help="UDP port (default 69)")
    parser.add_argument("--upload-dir", type=Path, help="backup repository accepting writes")
    parser.add_argument(
        "--upload-prefix",
        default="backup",
        help="WRQ names must be <prefix>/<name> (default backup)",
    )
    parser.add_argument("--max-upload", type=int, default=16 << 20, help="upload size cap")
    parser.add_argument("--max-blksize", type=int, default=65464)
    parser.add_argument("--max-windowsize", type=int, default=64)
    parser.add_argument("--timeout", type=float, default=1.0, help="first retransmission, s")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes running the transfers (default 1: a single process)",
    )


async def _serve(config: TftpServerConfig, uploads: bool) -> None:
    server = TftpServer(config, OpenUploads() if uploads else None)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.close()


def _config(args: argparse.Namespace, workers: int) -> TftpServerConfig:
    return TftpServerConfig(
        root=args.root,
        host=args.host,
        port=args.port,
        upload_dir=args.upload_dir,
        upload_prefix=args.upload_prefix,
        max_upload_size=args.max_upload,
        limits=ServerLimits(max_blksize=args.max_blksize, max_windowsize=args.max_windowsize),
        retransmit_timeout=args.timeout,
        # One process serves everything; more: this process keeps the listening socket and
        # hands the transfers to that many worker processes (docs/tftp.md).
        workers=workers if workers > 1 else 0,
        worker_nice=0,  # no control plane here to protect from the transfers
    )


def run(args: argparse.Namespace) -> int:
    if not args.root.is_dir():
        log.error("%s is not a directory", args.root)
        return 1
    config = _config(args, max(1, args.workers))
    asyncio.run(_serve(config, args.upload_dir is not None))
    return 0
