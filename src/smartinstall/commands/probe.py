"""`smartinstall probe HOST`: is the peer a Smart Install client, a director, or neither?

Sends the public detection probe (the bytes of Cisco's smi_check, SIET and Metasploit) and
reads the answer the way Cisco's checker does: the exact 24-byte reply means a client (exposed
to the attacks in the guide's "Restrictions for Smart Install"); a close without a word means a
director. Useful to audit a network and to test our own listeners.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from smartinstall.services.smi import SMI_PORT, ProbeVerdict, probe

NAME = "probe"
HELP = (
    "send the Smart Install probe to HOST and say whether it is a client, a director or "
    "something else (exit 0 client, 3 director, 4 SMI status reply, 1 other, 2 unreachable)"
)

EXIT_CODES = {
    ProbeVerdict.CLIENT: 0,
    ProbeVerdict.OTHER: 1,
    ProbeVerdict.NO_ANSWER: 1,
    ProbeVerdict.DIRECTOR: 3,
    ProbeVerdict.SMI_STATUS: 4,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("host", metavar="HOST", help="address or name of the device to probe")
    parser.add_argument("--port", type=int, default=SMI_PORT, help=f"TCP port (default {SMI_PORT})")
    parser.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        metavar="S",
        help="seconds to wait for the connection and for the reply (default 5)",
    )


def run(args: argparse.Namespace) -> int:
    target = f"{args.host}:{args.port}"
    if not 0 < args.port < 65536 or args.timeout <= 0:
        sys.stderr.write("% Invalid port or timeout\n")
        return 2
    try:
        result = asyncio.run(probe(args.host, args.port, args.timeout))
    except (OSError, TimeoutError) as exc:
        if isinstance(exc, TimeoutError):
            reason = "timed out"
        elif exc.errno:
            reason = os.strerror(exc.errno)
        else:
            reason = str(exc)
        sys.stdout.write(f"{target}: cannot connect ({reason})\n")
        return 2
    sys.stdout.write(f"{target}: {result.verdict.value} ({result.detail})\n")
    return EXIT_CODES[result.verdict]
