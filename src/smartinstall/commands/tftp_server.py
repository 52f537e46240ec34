"""`smartinstall tftp-server`: run the TFTP server alone (manual tests, benchmarks)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
from pathlib import Path

from smartinstall.services.tftp import (
    Address,
    LoadBoard,
    TftpServer,
    TftpServerConfig,
    TransferInfo,
)
from smartinstall.wire.tftp import ServerLimits

NAME = "tftp-server"
HELP = "serve a directory over TFTP (reads; writes only into --upload-dir)"

log = logging.getLogger(__name__)


class _OpenUploads:
    """Standalone policy: every name in the upload directory is welcome."""

    def transfer_started(self, info: TransferInfo) -> None:
        del info

    def transfer_progress(self, info: TransferInfo, done: int) -> None:
        del info, done

    def transfer_finished(self, info: TransferInfo, done: int, error: str | None) -> None:
        del info, done, error

    def approve_upload(self, peer: Address, name: str, size: int | None) -> bool:
        del peer, name, size
        return True


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
        "--workers", type=int, default=1, help="worker processes sharing the listening socket"
    )


async def _serve(
    config: TftpServerConfig, uploads: bool, listening: socket.socket | None = None
) -> None:
    server = TftpServer(config, _OpenUploads() if uploads else None)
    await server.start(listening)
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
        requests_per_wakeup=1 if workers > 1 else 64,
        load_board=LoadBoard(workers) if workers > 1 else None,
    )


def run(args: argparse.Namespace) -> int:
    if not args.root.is_dir():
        log.error("%s is not a directory", args.root)
        return 1
    workers = max(1, args.workers)
    config = _config(args, workers)
    uploads = args.upload_dir is not None
    if workers == 1:
        asyncio.run(_serve(config, uploads))
        return 0
    # Workers share one listening socket made here: every idle worker is woken by a request
    # and the first to read it serves it, so transfers spread over the workers by load
    # (SO_REUSEPORT would spread them by a hash of the client's address instead).
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_DGRAM)
    listening.bind((args.host, args.port))
    children: list[int] = []
    for slot in range(workers):
        pid = os.fork()
        if pid == 0:  # worker
            code = 0
            if config.load_board is not None:
                config.load_board.for_worker(slot)
            try:
                asyncio.run(_serve(config, uploads, listening))
            except BaseException:
                log.exception("tftp worker failed")
                code = 1
            os._exit(code)
        children.append(pid)
    listening.close()

    def forward(signum: int, frame: object) -> None:
        del frame
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    status = 0
    for child in children:
        while True:
            try:
                _, code = os.waitpid(child, 0)
                break
            except InterruptedError:
                continue
        status = status or (1 if code else 0)
    return status
