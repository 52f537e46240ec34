"""`smartinstall lab FILE [--netns]`: run a branch (director + emulated switches) on loopback,
or with ``--netns`` on a bridge of network namespaces with real broadcast DHCP."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

NAME = "lab"
HELP = "run a topology: the director and every switch on loopback, with live progress"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("topology", type=Path, help="topology file (YAML)")
    parser.add_argument(
        "--keep-running", action="store_true", help="leave the lab up at the end (Ctrl-C stops it)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        help="seconds to wait for every switch (default: the topology's, or 300)",
    )
    parser.add_argument(
        "--netns",
        action="store_true",
        help="root only: every switch in a network namespace of its own, cabled "
        "to the director's bridge, with real broadcast DHCP (no relay)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="where the director's data and the switches' flash go "
        "(default: a new temporary directory, removed at the end)",
    )


def run(args: argparse.Namespace) -> int:
    from smartinstall.explain.inventory import InventoryError
    from smartinstall.lab.topology import load_topology

    if args.netns:
        from smartinstall.lab.netns import NetnsError, check_privileges

        try:
            check_privileges()
        except NetnsError as error:
            sys.stderr.write(f"% {error}\n")
            return 1
    try:
        topology = load_topology(args.topology)
    except InventoryError as error:
        sys.stderr.write(f"% {error}\n")
        return 1
    temporary = args.workdir is None
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="smartinstall-lab-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        return asyncio.run(_run(topology, workdir, args))
    except KeyboardInterrupt:
        return 130
    finally:
        if temporary:
            shutil.rmtree(workdir, ignore_errors=True)


async def _run(topology: object, workdir: Path, args: argparse.Namespace) -> int:
    from smartinstall.lab.runner import Lab, LabError, render_table
    from smartinstall.lab.topology import LabTopology

    assert isinstance(topology, LabTopology)
    out = sys.stdout
    tty = out.isatty()
    timeout = args.timeout if args.timeout is not None else topology.timeout
    if args.netns:
        from smartinstall.lab.netns import NetnsLab

        try:
            lab: Lab = NetnsLab(topology, workdir)
        except LabError as error:
            sys.stderr.write(f"% {error}\n")
            return 1
    else:
        lab = Lab(topology, workdir)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    header = (
        f"Lab {args.topology}: director {lab.address} (data in {workdir}), "
        f"{len(topology.switches)} switches"
    )
    if args.netns:
        header += ", on a bridge of network namespaces (broadcast DHCP)"
    if topology.clock:
        header += f"; director clock pinned at {topology.clock} ({lab.timezone})"
    header += "\n"
    out.write(header)
    out.flush()
    try:
        await lab.start()
    except (LabError, OSError) as error:
        await lab.stop()
        sys.stderr.write(f"% {error}\n")
        return 1
    try:
        start = time.monotonic()
        last = ""
        ok = False
        while True:
            elapsed = time.monotonic() - start
            rows = lab.rows()
            table = render_table(rows, elapsed)
            if tty:
                out.write("\x1b[H\x1b[J" + header + table)
                out.flush()
            else:
                # not a terminal: print the table only when a state or status changed
                signature = "".join(f"{r.state}{r.image}{r.config}{r.script}" for r in rows)
                if signature != last:
                    last = signature
                    out.write(table + "\n")
                    out.flush()
            if all(r.done for r in rows):
                ok = True
                break
            if elapsed > timeout or stop.is_set():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5 if tty else 1.0)
        elapsed = time.monotonic() - start
        final = lab.rows()
        if not tty:
            out.write(render_table(final, elapsed))
        nothing = sum(r.nothing for r in final)
        if ok:
            verdict = "Every switch UPGRADED"
            if nothing:
                verdict = (
                    f"Every switch as explain says ({nothing} given nothing, the rest UPGRADED)"
                )
        else:
            verdict = "NOT every switch UPGRADED"
            if nothing:
                verdict = "NOT every switch as explain says"
        out.write(f"\n{verdict} in {elapsed:.1f}s.\n\n")
        director = topology.inventory.director_hostname
        out.write(f"{director}#show vstack status\n{lab.show_status()}\n")
        out.write(f"{director}#show vstack download-status\n{lab.show_download_status()}\n")
        if lab.pnp_server is not None:  # SMI Proxy mode (docs/pnp-proxy.md)
            from smartinstall.lab.pnp_lab import show_proxy_db

            proxy_db = show_proxy_db(lab.data_dir, lab.database().devices())
            out.write(f"{director}#show vstack proxy-db\n{proxy_db}\n")
        if not ok:
            out.write(f"The director's log: {lab.director.log_file}\n")
        out.flush()
        if args.keep_running and not stop.is_set():
            p = lab.director.ports
            out.write(
                f"The lab stays up (Ctrl-C stops it). Director {lab.address}: DHCP {p.dhcp}, "
                f"TFTP {p.tftp}, SMI {p.smi}, SNMP {p.snmp} (with snmp-server lines); data and "
                f"log in {lab.data_dir}; the switches'\n"
                f"telnet consoles on port {p.client_telnet} of their addresses (vstack attach)\n"
                f"Its command line: smartinstall console --data-dir {lab.data_dir}\n"
            )
            out.flush()
            await stop.wait()
        return 0 if ok else 1
    finally:
        await lab.stop()
