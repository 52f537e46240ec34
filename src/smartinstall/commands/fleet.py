"""`smartinstall fleet status --database URL`: one inventory across the directors that share
a database — one line per director id with its role (active, standby, down), its last contact
and its clients by status (docs/scale-out.md).

A director that stopped beating for ``DOWN_AFTER`` seconds shows as down. ``--json`` prints
the same as the REST API's ``GET /api/v1/fleet``.
"""

from __future__ import annotations

import argparse
import json
import sys

from smartinstall.domain.fleet import DOWN_AFTER

NAME = "fleet"
HELP = "the directors sharing a database: roles, last contact, clients by status"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("status",))
    parser.add_argument("--database", required=True, help="the shared database (SQLAlchemy URL)")
    parser.add_argument("--json", action="store_true", help="JSON instead of the table")
    parser.add_argument(
        "--down-after",
        type=float,
        default=DOWN_AFTER,
        help=f"seconds without a heartbeat after which a director is down ({DOWN_AFTER:g})",
    )


def run(args: argparse.Namespace) -> int:
    from smartinstall.domain.fleet import render_fleet
    from smartinstall.store.database import DatabaseError, create_reader_engine, describe
    from smartinstall.store.inventory import database_now, fleet_json, read_fleet

    try:
        engine = create_reader_engine(args.database)
    except DatabaseError as error:
        sys.stderr.write(f"% {error}\n")
        return 1
    try:
        lines = read_fleet(engine)
        now = database_now(engine)
    except Exception as error:
        sys.stderr.write(f"% cannot read the fleet from the database: {describe(error)}\n")
        return 1
    finally:
        engine.dispose()
    if args.json:
        sys.stdout.write(json.dumps(fleet_json(lines, now, args.down_after), indent=2) + "\n")
    else:
        sys.stdout.write(render_fleet(lines, now, args.down_after))
    return 0
