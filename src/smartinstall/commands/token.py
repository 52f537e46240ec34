"""`smartinstall token create|list|revoke`: bearer tokens of the director's REST API."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from smartinstall.services.http.tokens import TokenStore

NAME = "token"
HELP = "create, list or revoke bearer tokens of the director's REST API"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", type=Path, default=Path("."), help="the director's data directory (.)"
    )
    sub = parser.add_subparsers(dest="action", required=True)
    create = sub.add_parser("create", help="a new token for a user of the director")
    create.add_argument("--user", required=True, help="the user (a username line) it acts for")
    sub.add_parser("list", help="the tokens: id, user, creation time (never the secret)")
    revoke = sub.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("id")


def run(args: argparse.Namespace) -> int:
    store = TokenStore(args.data_dir)
    try:
        if args.action == "create":
            record, token = store.create(args.user)
            sys.stderr.write(
                f"token {record.id} for {record.user}: it is shown once, keep it safe\n"
            )
            sys.stdout.write(token + "\n")
        elif args.action == "list":
            for record in store.load():
                sys.stdout.write(f"{record.id}  {record.user}  {record.created}\n")
        elif not store.revoke(args.id):
            sys.stderr.write(f"% No token {args.id}\n")
            return 1
    except OSError as error:
        sys.stderr.write(f"% {store.path}: {error}\n")
        return 1
    return 0
