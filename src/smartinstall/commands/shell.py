"""`smartinstall shell --config FILE`: an IOS-style shell on a director configuration file;
`smartinstall shell --data-dir DIR`: the command line of the director running on DIR.

On a terminal it runs the engine's own keystroke line editor on the raw tty (`?` help,
Tab completion, history, `--More--` paging). When standard input is not a terminal it
reads commands line by line and prints what IOS would: the prompt, the command, its
output. `write memory` saves FILE. The exit status is 1 when a command was rejected.
"""

from __future__ import annotations

import argparse
import codecs
import importlib
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from smartinstall.director.views import show_vstack_config
from smartinstall.domain.settings import DirectorSettings, Role
from smartinstall.ios import CommandSet, Engine, StartupConfig
from smartinstall.ios.director_config import DirectorCommands
from smartinstall.ios.director_config import director_command_set as _director_commands
from smartinstall.ios.editor import LineEditor
from smartinstall.services.cli_auth import CliAccess

NAME = "shell"
HELP = "interactive IOS-style shell on a configuration file"

#: command sets offered by the shell, as "module:factory"; each factory takes the engine
#: and returns the CommandSet to add
COMMAND_SETS: tuple[str, ...] = (
    "smartinstall.commands.shell:director_command_set",
    "smartinstall.commands.shell:access_command_set",  # username, enable secret, ip ssh …
    "smartinstall.ios.archive_config:archive_config_set",  # archive, file prompt, ip scp
)

DEFAULT_HOSTNAME = "Director"


def render_show_vstack_config(
    settings: DirectorSettings, role: Role, window_open: bool | None
) -> str:
    """`show vstack config` as the director prints it (the renderer the command set takes)."""
    return show_vstack_config(settings, role, window_open=window_open)


def director_command_set(engine: Engine) -> DirectorCommands:
    """The director's configuration commands with `show vstack config`: the command set of
    `smartinstall.ios` given the director's view, which that package does not import."""
    return _director_commands(engine, show_config=render_show_vstack_config)


def access_command_set(engine: Engine) -> CliAccess:
    """The director's access lines (users, secrets, SSH and telnet ports, limits, banner):
    kept by `show running-config` and `write memory`; the shell itself asks no login."""
    del engine
    return CliAccess()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="configuration file: replayed at start, saved by write memory",
    )
    where.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="a running director's data directory: connect to its command "
        "line (as smartinstall console)",
    )
    parser.add_argument(
        "--hostname",
        default=DEFAULT_HOSTNAME,
        help="hostname until the configuration sets one (default: %(default)s)",
    )


def _factories() -> list[Callable[[Engine], CommandSet]]:
    found = []
    for spec in COMMAND_SETS:
        module_name, _, attribute = spec.partition(":")
        found.append(getattr(importlib.import_module(module_name), attribute))
    return found


def build_engine(config: Path, hostname: str = DEFAULT_HOSTNAME) -> Engine:
    """The shell's engine: generic commands plus every set of COMMAND_SETS."""
    engine = Engine(hostname=hostname, store=StartupConfig(config))
    for factory in _factories():
        engine.add(factory(engine))
    return engine


def run(args: argparse.Namespace) -> int:
    if args.config is None:
        from smartinstall.director.terminals import SOCKET_NAME
        from smartinstall.services.cli_local import run_client

        return run_client(args.data_dir / SOCKET_NAME)
    engine = build_engine(args.config, args.hostname)
    try:
        report = engine.load_startup()
    except (OSError, ValueError) as error:
        sys.stderr.write(f"% cannot read {args.config}: {error}\n")
        return 2
    if report is not None:
        for failure in report.errors:
            sys.stderr.write(f"% {args.config} {failure}\n")
    if sys.stdin.isatty() and sys.stdout.isatty():
        return _interactive(engine)
    return _piped(engine, sys.stdin, sys.stdout)


def _piped(engine: Engine, source: TextIO, sink: TextIO) -> int:
    session = engine.session()
    status = 0
    for raw in source:
        line = raw.rstrip("\r\n")
        secret = session.pending is not None and session.pending.secret
        sink.write(session.prompt() + ("" if secret else line) + "\n")
        outcome = session.execute(line)
        sink.write(outcome.output)
        if not outcome.ok:
            status = 1
        if session.closed:
            break
    sink.flush()
    return status


def _interactive(engine: Engine) -> int:
    import termios
    import tty

    session = engine.session()
    size = os.get_terminal_size(sys.stdout.fileno())
    session.terminal_width = size.columns
    session.terminal_length = size.lines
    editor = LineEditor(session)
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    saved = termios.tcgetattr(stdin)

    def write(text: str) -> None:
        data = text.encode("utf-8")
        while data:
            written = os.write(stdout, data)
            data = data[written:]

    def resize(signum: int, frame: object) -> None:
        del signum, frame
        # the width follows the window; the length stays what `terminal length` set
        session.terminal_width = os.get_terminal_size(stdout).columns

    previous = signal.signal(signal.SIGWINCH, resize)
    try:
        tty.setraw(stdin)
        write(editor.start())
        while not editor.closed:
            chunk = os.read(stdin, 1024)
            if not chunk:
                break
            write(editor.feed(decoder.decode(chunk)))
    finally:
        termios.tcsetattr(stdin, termios.TCSADRAIN, saved)
        signal.signal(signal.SIGWINCH, previous)
    return 0
