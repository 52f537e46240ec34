"""What every family of EXEC commands shares: the running director they read and drive
(:class:`DirectorHost`), the terminal lines ``show users`` lists (:class:`TerminalLine`),
IOS ``[confirm]`` answers, and :class:`Family`, the typed base of a family of commands.

Commands only *read* the director's state (``host.state``, ``host.director.state``); every
change goes through the director core (``host.director.clear_entry(n)``, ``hold_remove``,
``set_join_states``, ``download`` …).

The director's event loop never blocks on disk work: a command whose work reads or writes
more than one directory entry runs it in a thread (:func:`asyncio.to_thread`) and finishes
with ``ctx.wait(work)``, whose returned text is printed before the next prompt.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, Protocol

from smartinstall.director.core import Director
from smartinstall.director.eventlog import EventLog, LoggedLine
from smartinstall.director.internals import Internals
from smartinstall.director.state import DirectorState
from smartinstall.domain.errors import DomainError
from smartinstall.domain.joinwindow import is_open
from smartinstall.domain.settings import DirectorSettings
from smartinstall.ios import CommandError, CommandSet, Context, Session
from smartinstall.store.repository import Repository

CONFIRM = "proceed?[confirm]"
P = ParamSpec("P")


class DirectorHost(Protocol):
    """What the EXEC commands read and drive (``DirectorDaemon`` is one)."""

    data_dir: Path
    events: EventLog
    state: DirectorState  # read only: changes go through the director core
    repo: Repository
    director: Director
    dhcp: Any  # DhcpServer | DhcpRelay | None
    started_at: dt.datetime

    @property
    def settings(self) -> DirectorSettings: ...

    def internals(self) -> Internals: ...


@dataclass
class TerminalLine:
    """One connected terminal, as ``show users`` lists it."""

    kind: str  # "vty" (SSH, telnet) or "con" (local console)
    number: int
    user: str
    peer: str
    notify: Callable[[str], None] | None = None  # writes a message above the prompt
    last_input: float = field(default_factory=time.monotonic)
    monitor: Callable[[LoggedLine], None] | None = None


#: the connected terminals by session (``ExecCommands.attach`` / ``detach``)
Lines = dict[Session, TerminalLine]


def confirmed(reply: str) -> bool:
    """IOS ``[confirm]``: Enter or y confirms, anything else aborts."""
    return reply.strip().lower() in ("", "y", "yes")


def finish_in_thread(
    ctx: Context, function: Callable[P, str], *args: P.args, **kwargs: P.kwargs
) -> None:
    """Finish the command with ``function(*args, **kwargs)`` run in a thread: disk work never
    blocks the event loop. The text it returns is printed before the next prompt (a
    ``CommandError`` it raises is printed as its message)."""

    async def work() -> str:
        return await asyncio.to_thread(function, *args, **kwargs)

    ctx.wait(work)


class Family:
    """One family of EXEC commands on the director's EXEC set.

    A subclass declares its commands in :meth:`declare` with ``self.command`` (the set's
    `CommandSet.command`) and handles them reading ``self.host``; ``self.lines`` are the
    connected terminals, shared by every family of the set.
    """

    def __init__(self, commands: CommandSet, host: DirectorHost, lines: Lines) -> None:
        self.host = host
        self.lines = lines
        self.command = commands.command
        self.declare()

    def declare(self) -> None:
        raise NotImplementedError

    @property
    def settings(self) -> DirectorSettings:
        return self.host.settings

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    def director_only(self) -> None:
        if not self.host.director.is_director:
            raise CommandError(
                "% This command is available only on the director "
                "(vstack director <ip> and vstack basic)"
            )

    def window_open(self) -> bool | None:
        """Whether the join window is open now (None: it cannot be told)."""
        director = self.host.director
        try:
            return is_open(self.settings.join_window, director.now(), director.tz)
        except (DomainError, TypeError, ValueError):
            return None
