"""`smartinstall textfsm-dir DIR`: write a TextFSM index chaining smartinstall's templates to
ntc-templates', for Netmiko's ``NET_TEXTFSM``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from smartinstall.textfsm_dir import ntc_templates_dir, write_chained_dir

NAME = "textfsm-dir"
HELP = "write a TextFSM index of smartinstall's and ntc-templates' templates (for NET_TEXTFSM)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", type=Path, help="where to write the index")
    parser.add_argument(
        "--ntc-templates",
        type=Path,
        default=None,
        help="ntc-templates' template directory (default: the installed package's)",
    )


def run(args: argparse.Namespace) -> int:
    ntc = args.ntc_templates or ntc_templates_dir()
    if ntc is not None and not (ntc / "index").is_file():
        sys.stderr.write(f"% {ntc}: no TextFSM index there\n")
        return 1
    destination = write_chained_dir(args.directory, ntc)
    if ntc is None:
        sys.stderr.write("% ntc-templates is not installed: only smartinstall's templates\n")
    sys.stdout.write(f"export NET_TEXTFSM={destination.resolve()}\n")
    return 0
