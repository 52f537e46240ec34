"""The director's telnet client for a client switch's command line.

``show vstack client … {running-config|tech-support|version}`` logs in to each client (the
guide: "To attach to a client, the client switch must be configured for telnet service and
have a configured enable password"), enters privileged EXEC with the enable password when the
client asks for it, turns paging off, runs one command and returns its output. Telnet
negotiation is refused (every DO/WILL answered WONT/DONT) and the exchange is bounded in time
and size.
"""

from __future__ import annotations

import asyncio
import contextlib
import re

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
PROMPT = re.compile(rb"(?:^|[\r\n])([A-Za-z0-9_.()-]{1,63})([>#]) ?$")
PASSWORD = re.compile(rb"[Pp]assword: ?$")
MAX_OUTPUT = 4 * 1024 * 1024


class ClientCliError(Exception):
    """The client could not be reached, refused the password or did not answer in time."""


def strip_negotiation(data: bytes) -> tuple[bytes, bytes]:
    """(text, replies): the data without telnet commands, and the refusals to send back."""
    text = bytearray()
    replies = bytearray()
    i = 0
    while i < len(data):
        byte = data[i]
        if byte != IAC:
            text.append(byte)
            i += 1
            continue
        if i + 1 >= len(data):
            break
        command = data[i + 1]
        if command == IAC:
            text.append(IAC)
            i += 2
        elif command in (DO, DONT, WILL, WONT) and i + 2 < len(data):
            option = data[i + 2]
            if command == DO:
                replies += bytes((IAC, WONT, option))
            elif command == WILL:
                replies += bytes((IAC, DONT, option))
            i += 3
        elif command == SB:
            end = data.find(bytes((IAC, SE)), i + 2)
            i = len(data) if end < 0 else end + 2
        else:
            i += 2
    return bytes(text), bytes(replies)


class _Session:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.buffer = bytearray()

    async def expect(self, *patterns: re.Pattern[bytes], timeout: float) -> tuple[int, bytes]:
        """Read until one pattern matches the end of what arrived; (index, text read)."""
        async with asyncio.timeout(timeout):
            while True:
                for index, pattern in enumerate(patterns):
                    if pattern.search(bytes(self.buffer[-200:])):
                        text = bytes(self.buffer)
                        self.buffer.clear()
                        return index, text
                chunk = await self.reader.read(65536)
                if not chunk:
                    raise ClientCliError("connection closed by the client")
                text, replies = strip_negotiation(chunk)
                if replies:
                    self.writer.write(replies)
                self.buffer += text
                if len(self.buffer) > MAX_OUTPUT:
                    raise ClientCliError("output too large")

    def send(self, line: str) -> None:
        self.writer.write(line.encode("ascii", "replace") + b"\r\n")


async def run_on_client(
    host: str, port: int, command: str, password: str | None = None, timeout: float = 15.0
) -> str:
    """Run one EXEC command on a client's command line and return its output."""
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError) as error:
        raise ClientCliError(f"cannot connect to {host} port {port}: {error}") from None
    session = _Session(reader, writer)
    try:
        index, text = await session.expect(PROMPT, PASSWORD, timeout=timeout)
        if index == 1:  # a login password (line password)
            if not password:
                raise ClientCliError("the client asks for a password")
            session.send(password)
            index, text = await session.expect(PROMPT, PASSWORD, timeout=timeout)
            if index == 1:
                raise ClientCliError("password refused")
        match = PROMPT.search(text[-200:])
        if match is not None and match.group(2) == b">":
            session.send("enable")
            index, text = await session.expect(PROMPT, PASSWORD, timeout=timeout)
            if index == 1:
                if not password:
                    raise ClientCliError("the client asks for an enable password")
                session.send(password)
                index, text = await session.expect(PROMPT, PASSWORD, timeout=timeout)
                if index == 1 or not text.rstrip().endswith(b"#"):
                    raise ClientCliError("enable password refused")
        session.send("terminal length 0")
        await session.expect(PROMPT, timeout=timeout)
        session.send(command)
        _, text = await session.expect(PROMPT, timeout=timeout)
        session.send("exit")
    except TimeoutError:
        raise ClientCliError("the client did not answer in time") from None
    except (OSError, ConnectionError) as error:
        raise ClientCliError(f"connection lost: {error}") from None
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    lines = text.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "").split("\n")
    if lines and command in lines[0]:
        lines = lines[1:]  # the echo of the command
    if lines and PROMPT.search(lines[-1].encode()):
        lines = lines[:-1]  # the prompt after it
    return "\n".join(lines).rstrip("\n") + "\n"
