"""`smartinstall version`: print the version."""

from __future__ import annotations

import argparse
import sys

from smartinstall import __version__

NAME = "version"
HELP = "print the version"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


def run(args: argparse.Namespace) -> int:
    del args
    sys.stdout.write(f"smartinstall {__version__}\n")
    return 0
