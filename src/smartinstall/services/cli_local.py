"""The local console: a UNIX socket in the director's data directory (``DATA/cli.sock``).

Only the director's own user (and root) may connect: the socket is created with mode 0600 and
the peer's credentials (SO_PEERCRED) are checked. A console session starts in privileged
EXEC, as the host's operator already owns the director's data. Console sessions have a pool
of their own (`CONSOLE_SESSIONS`): SSH and telnet clients, logged in or not, never use it.
When the pool is full the server answers ``% Too many sessions; try again later`` and closes;
`smartinstall console` then exits with status 2 (as when it cannot connect).

Protocol: the client sends one header line, then bytes.

    SMARTINSTALL-CONSOLE 1 tty <columns> <rows>\\n   keystrokes follow; the server answers
                                                     with what the terminal shows; a window
                                                     change is sent as ESC [ 8 ; rows ; cols t
    SMARTINSTALL-CONSOLE 1 pipe\\n                    command lines follow; the server prints
                                                     prompt, line and output for each, as
                                                     ``smartinstall shell`` does when piped
                                                     (after ``vstack attach``, the lines
                                                     go to the client: `cli_attach`)

`run_client` is the client side (``smartinstall console``).
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import logging
import os
import re
import socket
import struct
import sys
from collections.abc import Iterator
from pathlib import Path

from smartinstall.ios import PRIVILEGED_LEVEL, Session
from smartinstall.services.cli_attach import attach_piped
from smartinstall.services.cli_terminal import (
    READ_CHUNK,
    TOO_MANY,
    TerminalHub,
    TerminalIO,
    close_server,
    run_terminal,
)

log = logging.getLogger(__name__)

MAGIC = "SMARTINSTALL-CONSOLE"
MAX_HEADER = 128
MAX_PIPED_LINE = 8192
REFUSED = 2  # exit status: no session (cannot connect, or the director refused)
_RESIZE = re.compile(r"\x1b\[8;(\d{1,4});(\d{1,4})t")


def peer_uid(sock: socket.socket | None) -> int | None:
    if sock is None or not hasattr(socket, "SO_PEERCRED"):
        return None
    try:
        data = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except OSError:
        return None
    _, uid, _ = struct.unpack("3i", data)
    return int(uid)


#: the longest path an AF_UNIX address holds (sun_path is 108 bytes with its NUL)
UNIX_PATH_MAX = 107


@contextlib.contextmanager
def socket_address(path: Path) -> Iterator[str]:
    """The address to bind or connect ``path`` by: the path itself, or, when it is too long
    for an AF_UNIX address (a deep data directory), the same file reached through a handle on
    its directory (``/proc/self/fd/N/cli.sock``), open while the address is in use."""
    text = str(path)
    if len(os.fsencode(text)) <= UNIX_PATH_MAX or not Path("/proc/self/fd").is_dir():
        yield text
        return
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{fd}/{path.name}"
    finally:
        os.close(fd)


class _LocalIO(TerminalIO):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._size: tuple[int, int] | None = None
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    async def read(self) -> str:
        data = await self.reader.read(READ_CHUNK)
        if not data:
            return ""
        text = self._decoder.decode(data)
        for match in _RESIZE.finditer(text):
            rows, columns = int(match.group(1)), int(match.group(2))
            if 0 < columns <= 512:
                self._size = (columns, rows)
        cleaned = _RESIZE.sub("", text)
        return cleaned if cleaned else "\x00"

    def write(self, text: str) -> None:
        if self.writer.is_closing():
            raise BrokenPipeError("connection closed")
        self.writer.write(text.encode("utf-8"))

    def resize(self) -> tuple[int, int] | None:
        size, self._size = self._size, None
        return size


class LocalConsoleServer:
    def __init__(self, hub: TerminalHub, path: Path) -> None:
        self.hub = hub
        self.path = path
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        if self.path.exists() or self.path.is_symlink():
            if _alive(self.path):
                raise OSError(f"another director serves {self.path}")
            self.path.unlink()
        old = os.umask(0o177)
        try:
            with socket_address(self.path) as address:
                self._server = await asyncio.start_unix_server(self._client, path=address)
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        log.info("local console on %s", self.path)

    async def close(self) -> None:
        if self._server is not None:
            await close_server(self._server, self._tasks)
            self._server = None
            with contextlib.suppress(OSError):
                self.path.unlink()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        admitted = False
        try:
            uid = peer_uid(writer.get_extra_info("socket"))
            if uid is not None and uid not in (0, os.getuid()):
                log.warning("local console: uid %d refused", uid)
                return
            header = await asyncio.wait_for(reader.readline(), 10)
            words = header[:MAX_HEADER].decode("ascii", errors="replace").split()
            if len(words) < 3 or words[0] != MAGIC or words[1] != "1":
                writer.write(b"% Not a smartinstall console client\n")
                return
            admitted = self.hub.admit_console()
            if not admitted:
                writer.write(TOO_MANY.encode() + b"\n")
                return
            user = f"uid{uid}" if uid is not None else "local"
            if words[2] == "pipe":
                await self._piped(reader, writer, user)
                return
            width = _int(words[3]) if len(words) > 3 else 80
            height = _int(words[4]) if len(words) > 4 else 24
            log.info("local console session opened (%s)", user)
            await run_terminal(
                self.hub,
                _LocalIO(reader, writer),
                kind="con",
                user=user,
                peer="local",
                level=PRIVILEGED_LEVEL,
                width=width,
                height=height,
            )
        except (TimeoutError, ConnectionError, BrokenPipeError, asyncio.CancelledError):
            pass
        except Exception:
            log.exception("local console session failed")
        finally:
            if admitted:
                self.hub.release_console()
            with contextlib.suppress(Exception):
                await writer.drain()
            writer.close()
            if task is not None:
                self._tasks.discard(task)

    async def _piped(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, user: str
    ) -> None:
        session = self.hub.engine.session(level=PRIVILEGED_LEVEL)
        session.terminal_length = 0
        if self.hub.lines is not None:
            self.hub.lines.attach(session, "con", user, "local")
        try:
            await self._run_piped(session, reader, writer)
        finally:
            if self.hub.lines is not None:
                self.hub.lines.detach(session)

    async def _run_piped(
        self, session: Session, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        failed = 0
        while not session.closed:
            try:
                raw = await reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as partial:
                raw = partial.partial
                if not raw:
                    break
            except asyncio.LimitOverrunError:
                await reader.read(MAX_PIPED_LINE)
                writer.write(b"% Line too long\n")
                failed += 1
                continue
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            secret = session.pending is not None and session.pending.secret
            writer.write((session.prompt() + ("" if secret else line) + "\n").encode())
            outcome = session.execute(line)
            writer.write(outcome.output.encode())
            ok = outcome.ok
            if session.waiting is not None:
                writer.write((await session.settle()).encode())
                ok = ok and session.settled_ok
            failed += 0 if ok else 1
            if session.attach is not None:  # vstack attach: the next lines are the client's
                (host, port), session.attach = session.attach, None
                await attach_piped(reader, writer, host, port)
            await writer.drain()
        writer.write(f"\x00{failed}\n".encode())


def _int(word: str) -> int:
    return int(word) if word.isdigit() and len(word) <= 4 else 0


def director_running(path: Path) -> bool:
    """Does a director answer on this console socket?"""
    return path.exists() and _alive(path)


def _alive(path: Path) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(1)
        with socket_address(path) as address:
            probe.connect(address)
    except OSError:
        return False
    finally:
        probe.close()
    return True


def run_client(path: Path) -> int:
    """``smartinstall console``: connect this terminal (or standard input) to the director."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with socket_address(path) as address:
            sock.connect(address)
    except OSError as error:
        why = error.strerror or str(error)
        sys.stderr.write(f"% Cannot connect to the director at {path}: {why}\n")
        return REFUSED
    with sock:
        if sys.stdin.isatty() and sys.stdout.isatty():
            return _interactive(sock)
        return _pipe(sock)


def _exchange(sock: socket.socket, data: bytes) -> tuple[bytes, int]:
    """Send piped lines, read the whole answer: (output, number of rejected lines). Raises
    `Refused` when the director gave no session (its answer ends without the count)."""
    if data and not data.endswith(b"\n"):
        data += b"\n"
    try:
        sock.sendall(f"{MAGIC} 1 pipe\n".encode() + data)
        sock.shutdown(socket.SHUT_WR)
    except (BrokenPipeError, ConnectionResetError):
        pass  # a director that refused the session stops reading: its answer says why
    received = bytearray()
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        received += chunk
    marker = received.rfind(b"\x00")
    if marker < 0:  # a refusal, or a director that went away in the middle
        lines = bytes(received).decode("utf-8", errors="replace").strip().splitlines()
        raise Refused(lines[-1][:200] if lines else "% The director closed the session")
    tail = received[marker + 1 :].strip()
    failed = int(tail) if tail.isdigit() else 0
    return bytes(received[:marker]), failed


class Refused(ConnectionRefusedError):
    """The director answered without giving a session (``% Too many sessions``)."""


def run_lines(path: Path, lines: str, timeout: float = 30.0) -> tuple[str, int]:
    """Run command lines on a running director through its console socket, as a pipe:
    (everything it printed, the number of lines it rejected). Raises OSError when the
    director cannot be reached or refuses the session (`Refused`)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        with socket_address(path) as address:
            sock.connect(address)
        output, failed = _exchange(sock, lines.encode())
    return output.decode("utf-8", errors="replace"), failed


def _pipe(sock: socket.socket) -> int:
    try:
        output, failed = _exchange(sock, sys.stdin.buffer.read())
    except Refused as refusal:
        sys.stderr.write(f"{refusal}\n")
        return REFUSED
    sys.stdout.buffer.write(output)
    sys.stdout.flush()
    return 1 if failed else 0


def _interactive(sock: socket.socket) -> int:
    import selectors
    import signal
    import termios
    import tty

    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    size = os.get_terminal_size(stdout)
    sock.sendall(f"{MAGIC} 1 tty {size.columns} {size.lines}\n".encode())
    saved = termios.tcgetattr(stdin)

    def resize(signum: int, frame: object) -> None:
        del signum, frame
        now = os.get_terminal_size(stdout)
        with contextlib.suppress(OSError):
            sock.sendall(f"\x1b[8;{now.lines};{now.columns}t".encode())

    previous = signal.signal(signal.SIGWINCH, resize)
    selector = selectors.DefaultSelector()
    first = bytearray()  # the answer's start: a refusal is one line, then the end
    selector.register(stdin, selectors.EVENT_READ)
    selector.register(sock, selectors.EVENT_READ)
    try:
        tty.setraw(stdin)
        while True:
            for key, _ in selector.select():
                if key.fileobj == stdin:
                    data = os.read(stdin, 1024)
                    if not data:
                        return 0
                    sock.sendall(data)
                else:
                    data = sock.recv(65536)
                    if not data:
                        return REFUSED if bytes(first).startswith(TOO_MANY.encode()) else 0
                    if len(first) < len(TOO_MANY):
                        first += data[: len(TOO_MANY) - len(first)]
                    while data:
                        written = os.write(stdout, data)
                        data = data[written:]
    finally:
        termios.tcsetattr(stdin, termios.TCSADRAIN, saved)
        signal.signal(signal.SIGWINCH, previous)
        selector.close()
