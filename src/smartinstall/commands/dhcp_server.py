"""`smartinstall dhcp-server`: run the director's DHCP server (or relay) on its own.

For manual tests and the benchmark; the director runs the same service with its own hook.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import ipaddress
import logging
import signal

from smartinstall.services.dhcp import (
    DhcpRelay,
    DhcpRelayConfig,
    DhcpServer,
    DhcpServerConfig,
    StaticDhcpHook,
    make_pool,
)
from smartinstall.wire.dhcp import Opt, ip_list_value, smart_install_vivso

NAME = "dhcp-server"
HELP = "run the Smart Install DHCP server or relay on its own"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server-address", required=True, help="server identifier / giaddr")
    parser.add_argument("--listen", default="0.0.0.0", help="address to bind")
    parser.add_argument("--port", type=int, default=67, help="server port (default 67)")
    parser.add_argument("--client-port", type=int, default=68, help="client port (default 68)")
    parser.add_argument("--relay-port", type=int, help="port of relay agents (default: --port)")
    parser.add_argument("--broadcast", default="255.255.255.255", help="broadcast reply address")
    parser.add_argument("--interface", help="bind to this interface (SO_BINDTODEVICE)")
    parser.add_argument("--pool", help="address-pool network, e.g. 10.0.0.0/24")
    parser.add_argument("--default-router", action="append", default=[])
    parser.add_argument("--file-server", help="TFTP server (option 150)")
    parser.add_argument("--lease-time", type=int, default=86_400)
    parser.add_argument("--exclude", action="append", default=[], help="a or a-b")
    parser.add_argument("--data-dir", help="remember bindings here (ip dhcp remember)")
    parser.add_argument("--no-fsync", action="store_true", help="do not fsync the journal")
    parser.add_argument(
        "--only-smart-install",
        action="store_true",
        help="coexistence: answer Cisco vendor classes only",
    )
    parser.add_argument("--imagelist", help="option 125 sub-option 5 for every client")
    parser.add_argument("--director", help="option 125 sub-option 16 for every client")
    parser.add_argument("--config-file", help="option 67 for every client")
    parser.add_argument("--tftp-server", help="option 150 for every client")
    parser.add_argument(
        "--helper-address",
        action="append",
        default=[],
        help="relay mode: third-party server (repeatable)",
    )
    parser.add_argument("--upstream-port", type=int, default=67, help="relay: server port")
    parser.add_argument(
        "--recv-buffer",
        type=int,
        default=256 * 1024,
        help="socket receive buffer in bytes (0: system default)",
    )


def _hook(args: argparse.Namespace) -> StaticDhcpHook:
    options: list[tuple[int, bytes]] = []
    if args.imagelist or args.director:
        options.append((Opt.VIVSO, smart_install_vivso(args.imagelist, args.director)))
    if args.config_file:
        options.append((Opt.BOOTFILE_NAME, args.config_file.encode("ascii")))
    if args.tftp_server:
        options.append((Opt.TFTP_SERVER_ADDRESS, ip_list_value([args.tftp_server])))
    return StaticDhcpHook(options, max_events=100)


async def _serve(args: argparse.Namespace) -> int:
    hook = _hook(args)
    service: DhcpServer | DhcpRelay
    if args.helper_address:
        service = DhcpRelay(
            DhcpRelayConfig(
                relay_address=ipaddress.IPv4Address(args.server_address),
                helper_addresses=[ipaddress.IPv4Address(a) for a in args.helper_address],
                listen_address=args.listen,
                server_port=args.port,
                upstream_port=args.upstream_port,
                client_port=args.client_port,
                broadcast_address=args.broadcast,
                interface=args.interface,
                recv_buffer=args.recv_buffer or None,
            ),
            hook,
        )
    else:
        if not args.pool:
            log.error("--pool is required unless --helper-address is given")
            return 2
        pool = make_pool(
            "cli",
            args.pool,
            default_router=args.default_router,
            file_server=args.file_server,
            lease_time=args.lease_time,
            excluded=args.exclude,
        )
        service = DhcpServer(
            DhcpServerConfig(
                server_address=ipaddress.IPv4Address(args.server_address),
                pools=[pool],
                listen_address=args.listen,
                server_port=args.port,
                client_port=args.client_port,
                relay_port=args.relay_port,
                broadcast_address=args.broadcast,
                interface=args.interface,
                data_dir=args.data_dir,
                fsync=not args.no_fsync,
                only_smart_install=args.only_smart_install,
                recv_buffer=args.recv_buffer or None,
            ),
            hook,
        )
    await service.start()
    # Bindings and the loaded journal are long-lived and acyclic: keep the collector from
    # rescanning them, and collect the young generation less often (fewer pauses per packet).
    gc.freeze()
    gc.set_threshold(20_000, 20, 100)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await service.stop()
    log.warning("dhcp-server stopped: %s", service.stats)
    return 0


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_serve(args))
