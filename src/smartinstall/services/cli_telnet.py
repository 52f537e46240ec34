"""The director's telnet server: a small RFC 854 server of our own (no dependency).

The server says WILL ECHO and WILL SUPPRESS-GO-AHEAD (character at a time, as IOS), DO NAWS
(window size, RFC 1073), asks ``Username:`` and ``Password:`` (no echo), then hands the
keystrokes to the engine's line editor. Until it logs in, a connection holds one of the hub's
login slots and has ``ip cli login-timeout`` seconds; three wrong passwords end it; once
logged in it counts against ``ip cli session-limit``. Option negotiation is parsed with
strict bounds: unknown options are refused, subnegotiations longer than 64 bytes are dropped.
Telnet sends passwords in clear: use it only on a management network or the loopback.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import logging

from smartinstall.services.cli_auth import User
from smartinstall.services.cli_terminal import (
    READ_CHUNK,
    TOO_MANY,
    TerminalHub,
    TerminalIO,
    close_server,
    run_terminal,
)

log = logging.getLogger(__name__)

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
ECHO, SGA, NAWS, LINEMODE = 1, 3, 31, 34
MAX_SUBNEGOTIATION = 64
LOGIN_ATTEMPTS = 3


class TelnetCodec:
    """Splits received bytes into data and telnet commands; answers option requests."""

    def __init__(self) -> None:
        self.state = "data"
        self.verb = 0
        self.sub: bytearray = bytearray()
        self.size: tuple[int, int] | None = None
        self._replies = bytearray()

    @staticmethod
    def greeting() -> bytes:
        return bytes([IAC, WILL, ECHO, IAC, WILL, SGA, IAC, DO, NAWS, IAC, DONT, LINEMODE])

    def take_replies(self) -> bytes:
        replies, self._replies = bytes(self._replies), bytearray()
        return replies

    def decode(self, data: bytes) -> bytes:
        out = bytearray()
        for byte in data:
            state = self.state
            if state == "data":
                if byte == IAC:
                    self.state = "iac"
                else:
                    out.append(byte)
            elif state == "iac":
                if byte == IAC:
                    out.append(IAC)
                    self.state = "data"
                elif byte in (WILL, WONT, DO, DONT):
                    self.verb = byte
                    self.state = "option"
                elif byte == SB:
                    self.sub = bytearray()
                    self.state = "sub"
                else:  # NOP, GA, AYT, IP …: IP (interrupt) acts as Ctrl-C
                    if byte == 244:
                        out.append(3)
                    self.state = "data"
            elif state == "option":
                self._option(self.verb, byte)
                self.state = "data"
            elif state == "sub":
                if byte == IAC:
                    self.state = "sub-iac"
                elif len(self.sub) < MAX_SUBNEGOTIATION:
                    self.sub.append(byte)
            elif state == "sub-iac":
                if byte == SE:
                    self._subnegotiation(bytes(self.sub))
                    self.state = "data"
                else:
                    if byte == IAC and len(self.sub) < MAX_SUBNEGOTIATION:
                        self.sub.append(IAC)
                    self.state = "sub"
        return bytes(out)

    def _option(self, verb: int, option: int) -> None:
        if verb == DO and option not in (ECHO, SGA):
            self._replies += bytes([IAC, WONT, option])
        elif verb == WILL and option not in (NAWS,):
            self._replies += bytes([IAC, DONT, option])

    def _subnegotiation(self, body: bytes) -> None:
        if len(body) == 5 and body[0] == NAWS:
            width = body[1] << 8 | body[2]
            height = body[3] << 8 | body[4]
            if 0 < width <= 512 and 0 <= height <= 512:
                self.size = (width, height)


def escape(text: str) -> bytes:
    return text.encode("utf-8").replace(bytes([IAC]), bytes([IAC, IAC]))


class _TelnetIO(TerminalIO):
    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, codec: TelnetCodec
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.codec = codec
        self._size: tuple[int, int] | None = None
        self._seen_size: tuple[int, int] | None = None
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.heard = False  # the client sent something
        self.named = False  # the client gave a user name

    def progress(self) -> int:
        """How far the login got, for `LoginSlots`: 0 silent, 1 spoke, 2 gave a name."""
        return 2 if self.named else 1 if self.heard else 0

    async def read(self) -> str:
        while True:
            data = await self.reader.read(READ_CHUNK)
            if not data:
                return ""
            self.heard = True
            text: str = self._decoder.decode(self.codec.decode(data))
            replies = self.codec.take_replies()
            if replies:
                self.writer.write(replies)
            if self.codec.size != self._seen_size:
                self._seen_size = self._size = self.codec.size
            if text:
                return text
            if self._size is not None:
                return "\x00"  # wakes the loop to apply the window size; NUL is ignored

    def write(self, text: str) -> None:
        if self.writer.is_closing():
            raise BrokenPipeError("connection closed")
        self.writer.write(escape(text))

    def resize(self) -> tuple[int, int] | None:
        size, self._size = self._size, None
        return size


class TelnetCliServer:
    def __init__(self, hub: TerminalHub, host: str, port: int) -> None:
        self.hub = hub
        self.host = host
        self.port = port
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, self.host, self.port)
        if self.port == 0:
            self.port = int(self._server.sockets[0].getsockname()[1])
        reason = self.hub.no_users_reason()
        if reason is not None:
            log.warning("telnet server: %s", reason)
        log.info("telnet CLI on %s:%d", self.host, self.port)

    async def close(self) -> None:
        if self._server is not None:
            await close_server(self._server, self._tasks)
            self._server = None

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        peer_info = writer.get_extra_info("peername")
        peer = str(peer_info[0]) if peer_info else "?"
        admitted = False

        def evict() -> None:
            if task is not None:
                task.cancel()
            else:
                writer.close()

        codec = TelnetCodec()
        io = _TelnetIO(reader, writer, codec)
        slot = self.hub.login_slot("telnet", peer, evict, io.progress)
        try:
            if slot is None:
                writer.write(TOO_MANY.encode() + b"\r\n")
                return
            writer.write(codec.greeting())
            try:
                user = await asyncio.wait_for(self._login(io, peer), self.hub.login_timeout)
            except TimeoutError:
                log.info("telnet connection from %s closed: not logged in in time", peer)
                writer.write(b"\r\n% Login timed out\r\n")
                return
            self.hub.login_done(slot)
            slot = None
            if user is None:
                return
            admitted = self.hub.admit("telnet", peer)
            if not admitted:
                writer.write(TOO_MANY.encode() + b"\r\n")
                return
            width, height = codec.size or (80, 24)
            await run_terminal(
                self.hub,
                io,
                kind="vty",
                user=user.name,
                peer=peer,
                level=user.privilege or 1,
                width=width,
                height=height,
            )
        except (TimeoutError, ConnectionError, BrokenPipeError, asyncio.CancelledError):
            pass
        except Exception:
            log.exception("telnet session from %s failed", peer)
        finally:
            self.hub.login_done(slot)
            if admitted:
                self.hub.release()
            with contextlib.suppress(Exception):
                await writer.drain()
            writer.close()
            if task is not None:
                self._tasks.discard(task)

    async def _line(self, io: _TelnetIO, secret: bool) -> str | None:
        buffer: list[str] = []
        while True:
            text = await io.read()
            if not text:
                return None
            for char in text:
                if char in "\r\n":
                    io.write("\r\n")
                    return "".join(buffer)
                if char in "\x7f\x08":
                    if buffer:
                        buffer.pop()
                        if not secret:
                            io.write("\b \b")
                elif char == "\x03":
                    return None
                elif char >= " " and len(buffer) < 128:
                    buffer.append(char)
                    if not secret:
                        io.write(char)

    async def _login(self, io: _TelnetIO, peer: str) -> User | None:
        access = self.hub.access
        if access.banner:
            io.write("\r\n" + access.banner.replace("\n", "\r\n") + "\r\n")
        io.write("\r\nUser Access Verification\r\n\r\n")
        for _ in range(LOGIN_ATTEMPTS):
            io.write("Username: ")
            name = await self._line(io, secret=False)
            if name is None:
                return None
            io.named = True
            io.write("Password: ")
            password = await self._line(io, secret=True)
            if password is None:
                return None
            reason = self.hub.no_users_reason()

            async def check(name: str = name, password: str = password) -> User | None:
                return await asyncio.to_thread(access.check_user, name, password)

            user = await self.hub.guard.attempt(peer, name, self.port, check)
            if user is not None:
                io.write("\r\n")
                return user
            if reason is not None:
                log.warning("telnet login of %r from %s refused: %s", name[:64], peer, reason)
            io.write("% Login invalid\r\n\r\n")
        io.write("% Bad passwords\r\n")
        return None
