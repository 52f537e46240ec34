"""`smartinstall pnp-server`: run the lab PnP server alone (docs/pnp-server.md)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path

NAME = "pnp-server"
HELP = "run a small Cisco PnP server (plans in DIR/plans.yaml, exchanges in DIR/exchanges.jsonl)"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--address", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8080, help="TCP port (default 8080)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        required=True,
        help="plans.yaml, the image and config files it names, exchanges.jsonl",
    )
    parser.add_argument("--plans", type=Path, help="plans file (default DATA_DIR/plans.yaml)")
    parser.add_argument(
        "--xsd-dir",
        type=Path,
        help="Cisco's PnP XSDs: validate every agent message and record the errors",
    )


async def _serve(args: argparse.Namespace) -> int:
    # imported here: every `smartinstall` command loads this module, and the server's web
    # framework would slow them all (the console among them) by half a second
    from smartinstall.pnp.plans import PlanError
    from smartinstall.pnp.server import serve_pnp

    try:
        handle = await serve_pnp(
            args.address, args.port, args.data_dir, args.plans, xsd_dir=args.xsd_dir
        )
    except PlanError as exc:
        log.error("%s", exc)
        return 1
    except OSError as exc:
        log.error("cannot listen on %s:%d: %s", args.address, args.port, exc)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("PnP server ready on %s", handle.url)
    await stop.wait()
    await handle.stop()
    return 0


def run(args: argparse.Namespace) -> int:
    if args.plans is not None and not args.plans.is_file():
        log.error("%s: no such plans file", args.plans)
        return 1
    if args.xsd_dir is not None and not args.xsd_dir.is_dir():
        log.error("%s is not a directory", args.xsd_dir)
        return 1
    return asyncio.run(_serve(args))
