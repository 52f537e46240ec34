"""`smartinstall explain`: which group each device falls in, what it gets, and whether the
join window lets it join now."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from smartinstall.explain.inventory import InventoryError, load_inventory
from smartinstall.explain.report import render_report
from smartinstall.hostaddr import host_owns_address
from smartinstall.ios.director_commands import replay_director_config
from smartinstall.services.cli_auth import without_terminal_lines

NAME = "explain"
HELP = "explain what each device of a branch would receive from the director, and why"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "topology", type=Path, help="topology file (YAML) listing the director and its switches"
    )
    parser.add_argument(
        "--config",
        type=Path,
        help="director configuration (IOS text); default: the topology's director.config",
    )
    parser.add_argument(
        "--at",
        help="evaluate the join window at this local time (YYYY-MM-DD HH:MM); default: now",
    )
    parser.add_argument("--timezone", help="time zone of the join window (default: topology's)")


def run(args: argparse.Namespace) -> int:
    try:
        inventory = load_inventory(args.topology)
    except InventoryError as error:
        sys.stderr.write(f"% {error}\n")
        return 1
    config_path = args.config or inventory.config_path
    if config_path is None:
        sys.stderr.write("% No director configuration: give --config or director.config\n")
        return 1
    try:
        text = config_path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        sys.stderr.write(f"% Cannot read {config_path}: {error.strerror or error}\n")
        return 1
    zone_name = args.timezone or inventory.timezone
    try:
        tz = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        sys.stderr.write(f"% Unknown time zone: {zone_name}\n")
        return 1
    if args.at:
        try:
            at = dt.datetime.strptime(args.at, "%Y-%m-%d %H:%M").replace(tzinfo=tz)
        except ValueError:
            sys.stderr.write(f"% Invalid time: {args.at} (expected YYYY-MM-DD HH:MM)\n")
            return 1
    else:
        at = dt.datetime.now(tz).replace(second=0, microsecond=0)
    # the configuration is replayed through the director's command language, as the
    # director's own start-up does (the terminals' lines left to them); rejected lines are
    # listed in the report
    text = without_terminal_lines(text)
    result = replay_director_config(text, host_owns_address, str(config_path))
    sys.stdout.write(
        render_report(result.settings, inventory, at, tz, host_owns_address, result.errors)
    )
    return 0
