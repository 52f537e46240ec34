"""`smartinstall switch`: run one emulated Smart Install client switch in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from smartinstall.commands._args import port

if TYPE_CHECKING:
    from smartinstall.switch.machine import Switch

NAME = "switch"
HELP = "run one emulated Smart Install client switch (zero touch against a director)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pid", required=True, help="product ID, e.g. WS-C2960X-48FPS-L")
    parser.add_argument("--mac", help="MAC address (default: derived from the address and PID)")
    parser.add_argument(
        "--address", default="127.0.0.2",
        help="the switch's own address: port 4786 from power-on, its relay address (giaddr) "
        "and the address it asks DHCP for (127.0.0.2)",
    )  # fmt: skip
    parser.add_argument(
        "--director", default="127.0.0.1",
        help="director IP[:PORT]: its DHCP server and, until option 125 says, its SMI port",
    )  # fmt: skip
    parser.add_argument("--flash", type=Path, help="flash directory (default: ./flash-<mac>)")
    parser.add_argument("--smi-port", type=port, default=4786, help="own Smart Install port")
    parser.add_argument("--dhcp-port", type=port, default=67, help="director's DHCP port (67)")
    parser.add_argument(
        "--dhcp-relay-port", type=port,
        help="port the director answers relay agents on (default: --dhcp-port)",
    )  # fmt: skip
    parser.add_argument("--tftp-port", type=port, default=69, help="TFTP server port (69)")
    parser.add_argument(
        "--telnet-port", type=port, help="console (IOS shell) over telnet on --address"
    )
    parser.add_argument("--http-port", type=port, default=80, help="legacy HTTP exec port (80)")
    parser.add_argument("--legacy", action="store_true", help="not Smart Install capable")
    parser.add_argument("--stack", help="stack member PIDs, member 1 first: PID,PID,...")
    parser.add_argument("--supervisor", default="", help="Catalyst 4500: e.g. WS-X45-SUP7-E")
    parser.add_argument("--chassis", default="", help="Catalyst 4500: chassis, e.g. WS-C4507R+E")
    parser.add_argument("--upstream-port", default="", help="option 82 circuit id (upstream port)")
    parser.add_argument("--upstream-mac", default="", help="option 82 remote id (upstream MAC)")
    parser.add_argument(
        "--neighbor", action="append", default=[], metavar="MAC[,PORT[,PLATFORM]]",
        help="a CDP neighbour to report (repeatable); PLATFORM with 'legacy' marks a legacy one",
    )  # fmt: skip
    parser.add_argument("--keepalive", type=float, default=60.0, help="keepalive period (60 s)")
    parser.add_argument("--auth-key", help="vstack authentication key (16 or more characters)")
    parser.add_argument("--blksize", type=int, default=1468, help="TFTP block size (1468)")
    parser.add_argument("--tftp-windowsize", type=int, help="TFTP window size (RFC 7440)")
    parser.add_argument(
        "--tftp-loss",
        type=float,
        default=0.0,
        help="fault: drop this share of TFTP datagrams (0-1)",
    )
    parser.add_argument(
        "--tftp-delay",
        type=float,
        default=0.0,
        help="fault: delay each TFTP datagram by this many seconds",
    )


def _mac(seed: str, index: int = 0) -> str:
    digest = hashlib.sha256(f"{seed}/{index}".encode()).digest()
    raw = bytes([0x00, 0x50, 0x56]) + digest[:3]
    text = raw.hex()
    return f"{text[0:4]}.{text[4:8]}.{text[8:12]}"


def run(args: argparse.Namespace) -> int:
    from smartinstall.domain.catalog import family_for_pid
    from smartinstall.domain.errors import DomainError
    from smartinstall.domain.values import normalize_mac
    from smartinstall.switch.flash import Flash
    from smartinstall.switch.link import Impairment
    from smartinstall.switch.machine import Member, Switch, SwitchConfig
    from smartinstall.switch.netio import NetConfig, NetIo
    from smartinstall.wire.smi_client import Neighbor

    if not args.verbose:
        logging.getLogger().setLevel(logging.INFO)
    host, _, port_text = args.director.partition(":")
    try:
        director_port = port(port_text) if port_text else 4786
        mac = normalize_mac(args.mac) if args.mac else _mac(f"{args.address}/{args.pid}")
    except (ValueError, DomainError, argparse.ArgumentTypeError) as error:
        sys.stderr.write(f"% {error}\n")
        return 1
    members: tuple[Member, ...] = ()
    neighbors = []
    for text in args.neighbor:
        parts = [p.strip() for p in text.split(",", 2)]
        try:
            neighbors.append(
                Neighbor(
                    mac=parts[0],
                    local_port=parts[1] if len(parts) > 1 else "",
                    platform=parts[2] if len(parts) > 2 else "",
                )
            )
        except (ValueError, DomainError) as error:
            sys.stderr.write(f"% Bad --neighbor {text}: {error}\n")
            return 1
    if family_for_pid(args.pid) is None:
        logging.getLogger(__name__).warning("%s is not a product ID of the catalogue", args.pid)
    if args.stack:
        pids = [p.strip() for p in args.stack.split(",") if p.strip()]
        if not 1 <= len(pids) <= 9:
            sys.stderr.write("% A stack has 1 to 9 members\n")
            return 1
        members = tuple(
            Member(i + 1, pid, mac if i == 0 else _mac(mac, i)) for i, pid in enumerate(pids)
        )
    try:
        config = SwitchConfig(
            pid=args.pid, mac=mac, address=args.address, legacy=args.legacy, members=members,
            director_port=director_port, tftp_port=args.tftp_port, keepalive=args.keepalive,
            supervisor=args.supervisor, chassis=args.chassis, upstream_port=args.upstream_port,
            upstream_mac=args.upstream_mac, neighbors=tuple(neighbors),
        )  # fmt: skip
    except ValueError as error:
        sys.stderr.write(f"% {error}\n")
        return 1
    net = NetConfig(
        dhcp_server=(host, args.dhcp_port), relay_port=args.dhcp_relay_port or args.dhcp_port,
        smi_port=args.smi_port, smi_key=args.auth_key, http_port=args.http_port,
        tftp_blksize=args.blksize, tftp_windowsize=args.tftp_windowsize,
        tftp_link=Impairment(loss=args.tftp_loss, delay=args.tftp_delay),
    )  # fmt: skip
    flash = Flash(args.flash or Path(f"flash-{mac}"))
    try:
        return asyncio.run(_main(Switch(config, flash, NetIo(net)), args.telnet_port))
    except (OSError, ValueError) as error:
        sys.stderr.write(f"% Switch stopped: {error}\n")
        return 1


async def _main(switch: Switch, telnet_port: int | None) -> int:
    from smartinstall.switch.shell import TelnetConsole

    console = TelnetConsole(switch, telnet_port) if telnet_port else None
    if console is not None:
        await console.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    logging.getLogger(__name__).info("switch %s (%s) powering on", switch.mac, switch.config.pid)
    switch.power_on()
    await stop.wait()
    if console is not None:
        await console.close()
    await switch.shutdown()
    return 0
