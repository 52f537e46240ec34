"""`smartinstall console --data-dir DIR`: this terminal on a running director's command line.

It connects to the director's local console socket (``DIR/cli.sock``, mode 0600, so only the
director's user and root can) — no SSH client or user account needed on the host. On a
terminal the keys behave as on IOS; with standard input from a pipe or a file each line is
run and printed with its prompt, and the exit status is 1 when a line was rejected. The exit
status is 2 when there is no session: the director cannot be reached, or it refuses one
(``% Too many sessions``, on standard error when piped), so scripts can tell.
"""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "console"
HELP = "connect this terminal to a running director's command line (local socket)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", type=Path, required=True, help="the running director's data directory"
    )
    parser.add_argument(
        "--json",
        metavar="COMMAND",
        help="run one show command and print its output as JSON (`COMMAND | json`), for "
        "scripts: exit status 1 when the command has no JSON form or is rejected",
    )


def run(args: argparse.Namespace) -> int:
    from smartinstall.director.terminals import SOCKET_NAME
    from smartinstall.services.cli_local import run_client

    if args.json is not None:
        return _json(args.data_dir / SOCKET_NAME, args.json)
    return run_client(args.data_dir / SOCKET_NAME)


def _json(path: Path, command: str) -> int:
    """The JSON the director prints for ``command | json``, without the prompts."""
    import sys

    from smartinstall.services.cli_local import run_lines

    line = " ".join(command.split())
    if not line or "|" in line or "?" in line:
        sys.stderr.write("% Give one show command, without output modifiers\n")
        return 1
    try:
        output, failed = run_lines(path, f"{line} | json\n")
    except OSError as error:
        sys.stderr.write(f"% {error}\n")
        return 2
    start, end = output.find("["), output.rfind("]")
    if failed or start < 0 or end < start:
        sys.stderr.write(output)
        return 1
    sys.stdout.write(output[start : end + 1] + "\n")
    return 0
