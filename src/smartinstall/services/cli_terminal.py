"""What the director's terminal front ends (SSH, telnet, local console) share.

A `TerminalHub` holds the engine, the access settings (users, secrets, limits), the login
guard, the slots of connections still logging in and the EXEC command set that lists
sessions. Network sessions (SSH, telnet) count against ``ip cli session-limit`` once logged
in; the local console has a pool of its own (`CONSOLE_SESSIONS`), so no network client can
take the operator's console away. `run_terminal` drives one session: the engine's `LineEditor`
turns keystrokes into IOS behaviour; the transport only moves text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from smartinstall.ios import Engine
from smartinstall.ios.editor import LineEditor
from smartinstall.services.cli_auth import CliAccess
from smartinstall.services.cli_guard import LoginGuard, LoginSlot, LoginSlots
from smartinstall.services.telnet_client import strip_negotiation

log = logging.getLogger(__name__)

READ_CHUNK = 4096
CONSOLE_SESSIONS = 16  # local console sessions at once, apart from the network's
TOO_MANY = "% Too many sessions; try again later"


@dataclass
class TerminalHub:
    engine: Engine
    access: CliAccess
    guard: LoginGuard = field(default_factory=LoginGuard)
    #: the EXEC set (``ExecCommands``) with attach/detach/touch, when there is one
    lines: Any = None
    active: int = 0
    console: int = 0
    slots: LoginSlots = field(init=False)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.slots = LoginSlots(self.guard.known_source, self.guard.clock)

    def login_slot(
        self,
        kind: str,
        peer: str,
        close: Callable[[], None],
        progress: Callable[[], int] = lambda: 0,
    ) -> LoginSlot | None:
        """A slot for a network connection that is about to log in (see `LoginSlots`)."""
        return self.slots.take(kind, peer, close, self.access.login_slots, progress)

    def login_done(self, slot: LoginSlot | None) -> None:
        self.slots.release(slot)

    @property
    def login_timeout(self) -> float:
        return float(self.access.login_timeout)

    def admit(self, kind: str, peer: str) -> bool:
        """One more network session once logged in, unless the session limit is reached."""
        if self.active >= self.access.session_limit:
            log.warning(
                "%s session from %s refused: session limit %d reached",
                kind,
                peer,
                self.access.session_limit,
            )
            return False
        self.active += 1
        return True

    def release(self) -> None:
        self.active = max(0, self.active - 1)

    def admit_console(self) -> bool:
        """One more local console session: its own pool, never the network's."""
        if self.console >= CONSOLE_SESSIONS:
            log.warning("local console session refused: %d console sessions", self.console)
            return False
        self.console += 1
        return True

    def release_console(self) -> None:
        self.console = max(0, self.console - 1)

    def no_users_reason(self) -> str | None:
        if not self.access.users:
            return (
                "no username is configured (configure 'username NAME secret PASSWORD'): "
                "every login is refused"
            )
        return None


class TerminalIO:
    """A transport's side of one session."""

    async def read(self) -> str:  # "" at end of input
        raise NotImplementedError

    def write(self, text: str) -> None:
        raise NotImplementedError

    def resize(self) -> tuple[int, int] | None:
        """A new (width, height) since the last call, if the window changed."""
        return None


async def run_terminal(
    hub: TerminalHub,
    io: TerminalIO,
    *,
    kind: str,
    user: str,
    peer: str,
    level: int,
    width: int = 80,
    height: int = 24,
    on_close: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Run one interactive session until `exit`, end of input or the idle timeout."""
    session = hub.engine.session(level=level)
    if width > 0:
        session.terminal_width = width
    if height > 0:
        session.terminal_length = height
    editor = LineEditor(session)

    def notify(text: str) -> None:
        with contextlib.suppress(Exception):
            io.write(editor.interject(text))

    if hub.lines is not None:
        hub.lines.attach(session, kind, user, peer, notify)
    try:
        io.write(editor.start())
        while not editor.closed:
            idle = hub.access.idle_seconds
            try:
                chunk = await asyncio.wait_for(io.read(), idle)
            except TimeoutError:
                io.write("\r\n% Session idle timeout\r\n")
                log.info("%s session of %s from %s: idle timeout", kind, user, peer)
                break
            size = io.resize()
            if size is not None:
                session.terminal_width = size[0]
            if not chunk:
                break
            if hub.lines is not None:
                hub.lines.touch(session)
            out = editor.feed(chunk)
            if session.attach is not None:
                prompt = session.prompt()
                io.write(out[: -len(prompt)] if out.endswith(prompt) else out)
                host, port = session.attach
                session.attach = None
                await attach(io, host, port, typed=editor.take_held())
                io.write(prompt)
                continue
            io.write(out)
            while editor.waiting and not editor.closed:
                io.write(await editor.settle())
    except (ConnectionError, asyncio.IncompleteReadError, BrokenPipeError):
        log.info("%s session of %s from %s: connection lost", kind, user, peer)
    finally:
        if hub.lines is not None:
            hub.lines.detach(session)
        if on_close is not None:
            with contextlib.suppress(Exception):
                await on_close()


async def attach(
    io: TerminalIO, host: str, port: int, timeout: float = 10.0, typed: str = ""
) -> None:
    """``vstack attach``: this terminal on a client's telnet command line until the client
    closes the connection (``exit`` there), as IOS's telnet does; ``typed`` are keys that came
    after the command (pasted or piped lines), sent to the client first."""
    io.write(f"Trying {host} ... ")
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError) as error:
        io.write(f"\r\n% Connection refused by remote host ({error})\r\n")
        return
    io.write("Open\r\n")
    if typed:
        writer.write(typed.encode("utf-8", "replace"))

    async def down() -> None:
        while True:
            chunk = await reader.read(4096)
            if not chunk:
                return
            text, replies = strip_negotiation(chunk)
            if replies:
                writer.write(replies)
            io.write(text.decode("utf-8", "replace"))

    async def up() -> None:
        while True:
            chunk = await io.read()
            if not chunk:
                return
            writer.write(chunk.encode("utf-8", "replace"))
            await writer.drain()

    remote = asyncio.ensure_future(down())
    local = asyncio.ensure_future(up())
    try:
        await asyncio.wait({remote, local}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (remote, local):
            task.cancel()
        await asyncio.gather(remote, local, return_exceptions=True)
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    io.write(f"\r\n[Connection to {host} closed by foreign host]\r\n")


async def close_server(server: asyncio.AbstractServer, tasks: set[asyncio.Task[None]]) -> None:
    """Stop a terminal server: no new connections, every session's task cancelled, and the
    server given five seconds to wind down."""
    server.close()
    for task in list(tasks):
        task.cancel()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(server.wait_closed(), 5)
