"""The `smartinstall` command: one sub-command per module of smartinstall.commands."""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
from collections.abc import Sequence
from types import ModuleType

from smartinstall import __version__

# Every module of smartinstall.commands is a sub-command (NAME, HELP, add_arguments(), run()).
COMMANDS_PACKAGE = "smartinstall.commands"


def _load() -> list[ModuleType]:
    package = importlib.import_module(COMMANDS_PACKAGE)
    names = sorted(
        info.name
        for info in pkgutil.iter_modules(package.__path__)
        if not info.name.startswith("_")  # shared helpers, not sub-commands
    )
    return [importlib.import_module(f"{COMMANDS_PACKAGE}.{name}") for name in names]


def build_parser(modules: Sequence[ModuleType]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smartinstall",
        description="Smart Install director, emulated clients and lab.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--version", action="version", version=f"smartinstall {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in modules:
        command = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(_load())
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    result: int = args._run(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
