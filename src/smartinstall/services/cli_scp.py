"""The SCP server of the director's SSH server, as IOS's ``ip scp server enable`` gives it:
``scp file director:flash:/name`` (NAPALM's and Netmiko's file transfer) and ``scp
director:flash:/name file``.

* Only with ``ip scp server enable``, only for a user of privilege 15 (as IOS asks).
* Only files of the director's ``flash:`` (its repository): ``flash:/a``, ``flash:a`` or a
  relative ``a``; an absolute path, ``..``, a symbolic link out of it or another file system
  is refused. One file per command (no ``-r``, as IOS).
* A received file is written by a thread (`Repository.write`: temporary file, fsync,
  rename): a reader sees the old file or the new one, never part of it, and the event loop
  never waits for the disk. A file that does not arrive whole is dropped.
* The control lines (``C0644 <size> <name>``, ``T…``, ``E``) are parsed with strict bounds
  (`parse_control`); a bad one ends the transfer with an SCP error, never the server.

The remote command is what ``scp`` runs on the server: ``scp [-v] [-p] [-d] -t|-f
[--] <path>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from smartinstall.domain.locations import LOCAL_FILESYSTEMS
from smartinstall.store.repository import CHUNK, Repository, RepositoryError

log = logging.getLogger(__name__)

#: longest control line and remote command taken
MAX_CONTROL = 1024
#: largest file taken (an IOS image fits)
MAX_FILE = 4 << 30
#: seconds without a byte from the peer before the transfer is dropped
IDLE_TIMEOUT = 60.0
PRIVILEGE = 15
LATIN_1 = "latin-1"


class ScpError(Exception):
    """A refused request or a malformed control line; the text goes to the peer."""


@dataclass(frozen=True)
class ScpRequest:
    """What the remote ``scp`` asked: to receive (``-t``) or send (``-f``) ``path``."""

    sink: bool
    path: str
    recursive: bool = False
    target_is_dir: bool = False


@dataclass(frozen=True)
class Control:
    """One control line: ``C`` (a file), ``D`` (a directory), ``E`` (end of directory) or
    ``T`` (times)."""

    kind: str
    mode: int = 0
    size: int = 0
    name: str = ""


def parse_scp_command(command: str) -> ScpRequest:
    """The request of a remote ``scp`` command; `ScpError` when it is not one we take."""
    if len(command) > MAX_CONTROL:
        raise ScpError("command too long")
    try:
        words = shlex.split(command)
    except ValueError as error:
        raise ScpError(f"bad command: {error}") from None
    if not words or words[0] != "scp":
        raise ScpError("not an scp command")
    sink: bool | None = None
    recursive = target_is_dir = False
    paths: list[str] = []
    options_done = False
    for word in words[1:]:
        if not options_done and word == "--":
            options_done = True
        elif not options_done and word.startswith("-") and len(word) > 1:
            for flag in word[1:]:
                if flag in "tf":
                    if sink is not None:
                        raise ScpError("both -t and -f")
                    sink = flag == "t"
                elif flag == "r":
                    recursive = True
                elif flag == "d":
                    target_is_dir = True
                elif flag not in "vpq":
                    raise ScpError(f"unknown option -{flag}")
        else:
            paths.append(word)
    if sink is None:
        raise ScpError("neither -t nor -f")
    if len(paths) != 1:
        raise ScpError("one path is needed")
    return ScpRequest(sink, paths[0], recursive, target_is_dir)


def parse_control(line: bytes) -> Control:
    """One control line (without its newline); `ScpError` when it is malformed."""
    if not line or len(line) > MAX_CONTROL:
        raise ScpError("bad control line")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise ScpError("control line is not UTF-8") from None
    kind, rest = text[0], text[1:]
    if kind == "E" and not rest:
        return Control("E")
    if kind == "T":
        parts = rest.split(" ")
        if len(parts) != 4 or not all(p.isdigit() and len(p) <= 20 for p in parts):
            raise ScpError("bad time line")
        return Control("T")
    if kind not in "CD":
        raise ScpError("unknown control line")
    parts = rest.split(" ", 2)
    if len(parts) != 3:
        raise ScpError("bad file line")
    mode_text, size_text, name = parts
    if len(mode_text) != 4 or any(c not in "01234567" for c in mode_text):
        raise ScpError("bad file mode")
    if not size_text.isdigit() or len(size_text) > 20:
        raise ScpError("bad file size")
    if not name or name in (".", "..") or "/" in name or any(ord(c) < 32 for c in name):
        raise ScpError(f"bad file name: {name!r}")
    return Control(kind, int(mode_text, 8), int(size_text), name)


def flash_location(repo: Repository, text: str) -> str:
    """The repository path of an SCP path (``""``: the root); `ScpError` outside flash:."""
    lowered = text.lower()
    scheme = next((fs for fs in LOCAL_FILESYSTEMS if lowered.startswith(fs)), None)
    if scheme is not None:
        path = text[len(scheme) :]
    elif ":" in text.split("/", 1)[0]:
        raise ScpError(f"{text}: invalid file system")
    elif text.startswith("/"):
        raise ScpError(f"{text}: absolute path outside flash:")
    else:
        path = text
    path = path.strip("/")
    if path in ("", "."):
        return ""
    try:
        repo.resolve(path)
    except RepositoryError as error:
        raise ScpError(f"{text}: {error}") from None
    return path


class _Input:
    """Buffered reads of the channel's bytes, each bounded in time."""

    def __init__(self, read: Callable[[int], Any]) -> None:
        self._read = read
        self._buffer = bytearray()
        self.eof = False

    async def _more(self) -> bool:
        data = await asyncio.wait_for(self._read(65536), IDLE_TIMEOUT)
        if not data:
            self.eof = True
            return False
        self._buffer += data.encode(LATIN_1) if isinstance(data, str) else data
        return True

    async def line(self) -> bytes | None:
        """The next line (without ``\\n``); None at the end of the stream."""
        while b"\n" not in self._buffer:
            if len(self._buffer) > MAX_CONTROL:
                raise ScpError("control line too long")
            if not await self._more():
                if self._buffer:
                    raise ScpError("truncated control line")
                return None
        end = self._buffer.index(b"\n")
        found = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        return found

    async def byte(self) -> int:
        if not self._buffer and not await self._more():
            raise ScpError("connection closed")
        value = self._buffer[0]
        del self._buffer[:1]
        return value

    async def chunks(self, size: int) -> Any:
        """``size`` bytes, as they come."""
        left = size
        while left:
            if not self._buffer and not await self._more():
                raise ScpError("connection closed in the middle of a file")
            piece = bytes(self._buffer[:left])
            del self._buffer[: len(piece)]
            left -= len(piece)
            yield piece


class _Output:
    """Bytes to the channel (which encodes the characters as Latin-1)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, data: bytes) -> None:
        self._stream.write(data.decode(LATIN_1))

    async def drain(self) -> None:
        await self._stream.drain()


class _Aborted(Exception):
    pass


class _FileWriter:
    """A repository file written by a thread from chunks handed over on the loop."""

    def __init__(self, repo: Repository, path: str) -> None:
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._aborted = False
        self.task = asyncio.ensure_future(asyncio.to_thread(repo.write, path, self._chunks()))

    def _chunks(self) -> Iterator[bytes]:
        while (chunk := self._queue.get()) is not None:
            yield chunk
        if self._aborted:
            raise _Aborted

    def put(self, data: bytes) -> None:
        if self.task.done():  # the thread failed: its error ends the transfer
            self.task.result()
        self._queue.put(data)

    async def finish(self) -> None:
        self._queue.put(None)
        await self.task

    async def abort(self) -> None:
        self._aborted = True
        self._queue.put(None)
        with contextlib.suppress(BaseException):
            await self.task


class ScpServer:
    """SCP to and from the director's flash:, when ``enabled()`` says so."""

    def __init__(self, repo: Repository, enabled: Callable[[], bool]) -> None:
        self.repo = repo
        self.enabled = enabled

    async def serve(self, process: Any, user: str, privilege: int, peer: str) -> int:
        """Run one ``scp`` command on an SSH channel; the exit status."""
        # SCP speaks bytes; the terminal channel decodes UTF-8. Latin-1 maps every byte to
        # one character and back, so from here on the channel carries the bytes unchanged
        # (what came before, a receiver's first ``\0``, is the same in both)
        process.channel.set_encoding(LATIN_1)
        stdin = _Input(process.stdin.read)
        out = _Output(process.stdout)
        write = out.write
        try:
            if not self.enabled():
                raise ScpError("SCP server not enabled (ip scp server enable)")
            if privilege < PRIVILEGE:
                raise ScpError(f"privilege level {PRIVILEGE} is needed")
            request = parse_scp_command(process.command or "")
            if request.recursive:
                raise ScpError("recursive copies are not supported")
            location = flash_location(self.repo, request.path)
            if request.sink:
                await self._receive(stdin, write, location, request)
            else:
                await self._send(stdin, out, location)
        except (ScpError, RepositoryError) as error:
            log.info("SCP by %s from %s refused: %s", user, peer, error)
            with contextlib.suppress(Exception):
                write(b"\x01scp: " + str(error).encode("utf-8", "replace")[:512] + b"\n")
            return 1
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError) as error:
            log.info("SCP by %s from %s ended: %s", user, peer, error or type(error).__name__)
            return 1
        return 0

    def _is_dir(self, location: str) -> bool:
        return not location or self.repo.resolve(location).is_dir()

    async def _receive(
        self, stdin: _Input, write: Callable[[bytes], None], location: str, request: ScpRequest
    ) -> None:
        is_dir = await asyncio.to_thread(self._is_dir, location)
        if request.target_is_dir and not is_dir:
            raise ScpError(f"{request.path}: not a directory")
        write(b"\0")
        while (line := await stdin.line()) is not None:
            if line[:1] in (b"\x01", b"\x02"):
                log.info("SCP peer error: %s", line[1:].decode("utf-8", "replace")[:200])
                return
            control = parse_control(line)
            if control.kind in ("T", "E"):
                write(b"\0")
                continue
            if control.kind == "D":
                raise ScpError("directories are not supported")
            if control.size > MAX_FILE:
                raise ScpError(f"{control.name}: file too large")
            target = f"{location}/{control.name}".strip("/") if is_dir else location
            self.repo.resolve(target)
            free = await asyncio.to_thread(self.repo.free_space)
            if free is not None and control.size > free:
                raise ScpError(f"{control.name}: not enough space on flash:")
            write(b"\0")
            await self._store(stdin, target, control.size)
            write(b"\0")
            log.info("SCP: flash:/%s written (%d bytes)", target, control.size)

    async def _store(self, stdin: _Input, target: str, size: int) -> None:
        writer = _FileWriter(self.repo, target)
        try:
            async for piece in stdin.chunks(size):
                writer.put(piece)
            if await stdin.byte() != 0:
                raise ScpError("the sender reported an error")
        except BaseException:
            await writer.abort()
            raise
        await writer.finish()

    async def _send(self, stdin: _Input, out: _Output, location: str) -> None:
        if not location:
            raise ScpError("flash: is a directory")
        if await stdin.byte() != 0:
            return
        repo = self.repo

        def opened() -> tuple[int, Iterator[bytes]]:
            size = repo.size(location)
            return size, repo.iter_chunks(location, CHUNK)

        size, chunks = await asyncio.to_thread(opened)
        try:
            name = location.rsplit("/", 1)[-1]
            out.write(f"C0644 {size} {name}\n".encode())
            if await stdin.byte() != 0:
                return
            while piece := await asyncio.to_thread(next, chunks, b""):
                out.write(piece)
                await out.drain()  # the file is read as fast as the peer takes it
            out.write(b"\0")
            await stdin.byte()
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                await asyncio.to_thread(close)


__all__ = [
    "Control",
    "ScpError",
    "ScpRequest",
    "ScpServer",
    "flash_location",
    "parse_control",
    "parse_scp_command",
]
