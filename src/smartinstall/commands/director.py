"""`smartinstall director`: run the Smart Install director until signalled."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from smartinstall import crashpoints
from smartinstall.commands._args import port
from smartinstall.logfile import LogFile, parse_size
from smartinstall.logrepeat import RepeatFilter

NAME = "director"
HELP = "run the Smart Install director (DHCP, TFTP and SMI services) on a data directory"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, required=True, help="data directory")
    parser.add_argument("--address", help="address to listen on (default: vstack director IP)")
    parser.add_argument("--dhcp-port", type=port, default=67, help="DHCP server port (67)")
    parser.add_argument("--dhcp-client-port", type=port, default=68, help="DHCP client port (68)")
    parser.add_argument(
        "--dhcp-relay-port", type=port, help="port of relay agents (default: the DHCP port)"
    )
    parser.add_argument(
        "--dhcp-upstream-port", type=port, default=67,
        help="port of the third-party DHCP server behind ip helper-address (67)",
    )  # fmt: skip
    parser.add_argument(
        "--dhcp-interface",
        help="serve DHCP broadcasts of switches on this interface's segment (no relay between):"
        " listen on 0.0.0.0 bound to the interface (default: the director's address only,"
        " for relayed requests)",
    )
    parser.add_argument("--tftp-port", type=port, default=69, help="TFTP port (69)")
    parser.add_argument(
        "--tftp-workers", type=int, default=None,
        help="worker processes for TFTP transfers (default: one per core, at most 4; "
        "0 runs them on the director's event loop)",
    )  # fmt: skip
    parser.add_argument("--smi-port", type=port, default=4786, help="Smart Install port (4786)")
    parser.add_argument(
        "--client-smi-port", type=port, default=4786, help="clients' Smart Install port (4786)"
    )
    parser.add_argument(
        "--client-telnet-port", type=port, default=23,
        help="clients' telnet port, for vstack attach and show vstack client (23)",
    )  # fmt: skip
    parser.add_argument("--ssh-port", type=port, help="SSH CLI port (off by default)")
    parser.add_argument("--telnet-port", type=port, help="telnet CLI port (off by default)")
    parser.add_argument(
        "--http-port", type=port,
        help="HTTP port of the REST API, dashboard and metrics (off by default; ip http server)",
    )  # fmt: skip
    parser.add_argument(
        "--https-port", type=port,
        help="HTTPS port of the same (off by default; ip http secure-server)",
    )  # fmt: skip
    parser.add_argument(
        "--snmp-port", type=port, default=161,
        help="SNMP agent port (161; the agent runs only with snmp-server lines)",
    )  # fmt: skip
    parser.add_argument("--database", help="SQLAlchemy URL (default: SQLite in the data dir)")
    parser.add_argument(
        "--keepalive", type=float, default=60.0, help="client keepalive period in seconds (60)"
    )
    parser.add_argument("--timezone", default="UTC", help="time zone of the join window (UTC)")
    parser.add_argument(
        "--log-file", type=Path,
        help="also write the log to this file (reopened when logrotate moves it away)",
    )  # fmt: skip
    parser.add_argument(
        "--log-max-bytes", type=_size, default=0, metavar="SIZE",
        help="roll the log file over before it grows past SIZE bytes (k, M, G allowed: 10M): "
        "FILE becomes FILE.1, FILE.1 FILE.2 and so on (default 0: no limit, leave it to "
        "logrotate; the two can be used together)",
    )  # fmt: skip
    parser.add_argument(
        "--log-backups", type=int, default=5, metavar="K",
        help="rolled-over log files kept with --log-max-bytes (5; 0: the file starts again "
        "empty)",
    )  # fmt: skip
    parser.add_argument(
        "--ignore-config-errors",
        action="store_true",
        help="start even when startup-config has lines the director rejects (they are logged)",
    )
    parser.add_argument(
        "--new-database",
        action="store_true",
        help="begin with an empty database when the data directory's is missing, empty or "
        "damaged (a damaged file is moved aside, never deleted); without it the director "
        "refuses to start",
    )
    parser.add_argument(
        "--rename-director-id",
        action="store_true",
        help="move the records of the director id this data directory ran under before to the "
        "id now configured (vstack director-id); without it a changed id refuses to start",
    )
    parser.add_argument(
        "--hot-standby",
        action="store_true",
        help="with a PostgreSQL --database: wait as the standby while another process of the "
        "same director id is active, and take over when it goes (docs/scale-out.md)",
    )
    parser.add_argument(
        "--shared-dir",
        type=Path,
        help="where flash: and the DHCP bindings live (a directory both members of a standby "
        "pair reach; default: the data directory)",
    )
    parser.add_argument(
        "--config-check",
        action="store_true",
        help="check the data directory (startup-config, database, flash:) as the director "
        "would at start, say what was found, and exit: 0 when it can start, 1 otherwise; "
        "nothing is started or written",
    )
    parser.add_argument(
        "--commit-delay", type=float, default=1.0,
        help="longest time in seconds a change waits to be committed with others (1.0); "
        "acknowledged changes are committed at once",
    )  # fmt: skip


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def run(args: argparse.Namespace) -> int:
    from smartinstall.director.daemon import ConfigError, DaemonOptions, DirectorDaemon
    from smartinstall.store.database import DatabaseError
    from smartinstall.store.port import StoreError

    if args.config_check:
        return _config_check(args)
    try:
        tz = ZoneInfo(args.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        sys.stderr.write(f"% Unknown time zone: {args.timezone}\n")
        return 1
    try:
        crash_at = crashpoints.armed()
    except ValueError as error:
        sys.stderr.write(f"% Director not started: {error}\n")
        return 1
    root = logging.getLogger()
    if not args.verbose:
        root.setLevel(logging.INFO)
    if args.log_file:
        # logrotate may move the file away: the handler notices and opens a new one; with
        # --log-max-bytes it also rolls the file over itself
        handler = LogFile(args.log_file, args.log_max_bytes, args.log_backups)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        root.addHandler(handler)
    if crash_at:
        logging.getLogger(__name__).warning("armed to die at crash point %s", crash_at)
    # a flood of one error is said once a minute with its count (each handler decides for
    # itself: a filter sees every record once per handler)
    for each in root.handlers:
        each.addFilter(RepeatFilter(level=logging.ERROR))
    options = DaemonOptions(
        data_dir=args.data_dir,
        address=args.address,
        dhcp_port=args.dhcp_port,
        dhcp_client_port=args.dhcp_client_port,
        dhcp_relay_port=args.dhcp_relay_port,
        dhcp_upstream_port=args.dhcp_upstream_port,
        dhcp_interface=args.dhcp_interface,
        tftp_port=args.tftp_port,
        smi_port=args.smi_port,
        client_smi_port=args.client_smi_port,
        database=args.database,
        keepalive=args.keepalive,
        timezone=tz,
        ssh_port=args.ssh_port,
        client_telnet_port=args.client_telnet_port,
        telnet_port=args.telnet_port,
        http_port=args.http_port,
        https_port=args.https_port,
        snmp_port=args.snmp_port,
        commit_delay=max(0.0, args.commit_delay),
        ignore_config_errors=args.ignore_config_errors,
        new_database=args.new_database,
        rename_director_id=args.rename_director_id,
        hot_standby=args.hot_standby,
        shared_dir=args.shared_dir,
    )
    if args.tftp_workers is not None:
        options.tftp_workers = max(0, min(64, args.tftp_workers))
    try:
        daemon = DirectorDaemon(options)
    except (ConfigError, DatabaseError) as error:
        sys.stderr.write(f"% Director not started: {error}\n")
        return 1
    except OSError as error:
        sys.stderr.write(f"% Cannot start the director: {error}\n")
        return 1
    try:
        asyncio.run(daemon.run())
    except (OSError, DatabaseError, StoreError) as error:
        sys.stderr.write(f"% Director stopped: {error}\n")
        return 1
    return 0


def _config_check(args: argparse.Namespace) -> int:
    """``--config-check``: the findings on stdout, 0 when the director can start."""
    from smartinstall.director.configcheck import check_data_dir

    check = check_data_dir(
        args.data_dir,
        args.database,
        ignore_config_errors=args.ignore_config_errors,
        new_database=args.new_database,
    )
    sys.stdout.write(check.render())
    return 0 if check.ok else 1
