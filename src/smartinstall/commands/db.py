"""`smartinstall db check|backup|restore`: look after the director database.

``check`` reads it (integrity, schema revision, rows) and exits 1 when it is not sound;
``backup FILE`` takes a consistent copy while the director runs; ``restore FILE`` puts a
checked backup in place while the director is stopped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "db"
HELP = "check, back up or restore the director database"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("check", "backup", "restore"))
    parser.add_argument("file", nargs="?", type=Path, help="the backup file (backup, restore)")
    parser.add_argument("--data-dir", type=Path, required=True, help="the director's data dir")
    parser.add_argument("--database", help="SQLAlchemy URL (default: SQLite in the data dir)")


def run(args: argparse.Namespace) -> int:
    from smartinstall.director.terminals import SOCKET_NAME
    from smartinstall.services.cli_local import director_running
    from smartinstall.store import maintenance
    from smartinstall.store.database import DatabaseError, default_url

    url = args.database or default_url(args.data_dir)
    if args.action != "check" and args.file is None:
        sys.stderr.write(f"% db {args.action} needs a FILE\n")
        return 2
    try:
        if args.action == "check":
            report = maintenance.check(url)
            sys.stdout.write(report.render())
            return 0 if report.ok else 1
        if args.action == "backup":
            size = maintenance.backup(url, args.file)
            sys.stdout.write(f"Backed up to {args.file} ({size} bytes)\n")
            return 0
        if director_running(args.data_dir / SOCKET_NAME):
            sys.stderr.write(
                f"% The director on {args.data_dir} is running: stop it before a restore\n"
            )
            return 1
        report = maintenance.restore(url, args.file)
        if not report.ok:
            sys.stderr.write(f"% {args.file} is not a sound director database; nothing changed\n")
            sys.stdout.write(report.render())
            return 1
        sys.stdout.write(f"Restored {report.database} from {args.file}\n")
        return 0
    except (DatabaseError, OSError) as error:
        sys.stderr.write(f"% {error}\n")
        return 1
