"""``vstack attach`` with piped input: the lines after the command go to the client's command
line, not to the director's, until the client ends the session (guide, "Connecting to a Client
Switch": the command is a wrapper for telnet).

A pipe has no keyboard to wait for, so the lines are paced as a person at the terminal would
type them: one line, then the client's answer until its command line shows a prompt (``>``,
``#``, ``Password:``, ``[confirm]`` …) and goes quiet, or until `ANSWER_TIMEOUT` passes (the
next line is then typed ahead, as IOS buffers it). When the client closes the connection
(``exit`` there) the remaining lines go back to the director; when the input ends first, the
connection is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import re

from smartinstall.services.telnet_client import strip_negotiation

#: how long the client may stay silent after a prompt before the next line is sent
QUIET = 0.15
#: the longest wait for a client's answer to one line
ANSWER_TIMEOUT = 15.0
CONNECT_TIMEOUT = 10.0
MAX_LINE = 8192
_PROMPT = re.compile(r"(?:[>#:\]?])\s*$")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def printable(text: str) -> str:
    """A terminal's output as lines of a pipe: CR LF as LF, no cursor movements."""
    text = _ANSI.sub("", text.replace("\r\n", "\n"))
    return "\n".join(part.rsplit("\r", 1)[-1] for part in text.split("\n"))


async def read_line(reader: asyncio.StreamReader) -> bytes | None:
    """The next piped line without its end (None at the end of the input); an overlong line
    is cut to `MAX_LINE` bytes."""
    try:
        return (await reader.readuntil(b"\n")).rstrip(b"\r\n")
    except asyncio.IncompleteReadError as partial:
        return bytes(partial.partial).rstrip(b"\r\n") or None
    except asyncio.LimitOverrunError:
        data = await reader.read(MAX_LINE)
        with contextlib.suppress(asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            await reader.readuntil(b"\n")
        return data.rstrip(b"\r\n")


class _Client:
    """The client's side of the telnet connection: its answers, negotiation answered."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.closed = False

    async def answer(self, timeout: float = ANSWER_TIMEOUT) -> str:
        """What the client prints until it shows a prompt and goes quiet, closes, or
        `timeout` passes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        text = ""
        while not self.closed:
            left = deadline - loop.time()
            if left <= 0:
                break
            wait = min(QUIET, left) if _PROMPT.search(printable(text)) else left
            try:
                chunk = await asyncio.wait_for(self.reader.read(4096), wait)
            except TimeoutError:
                break
            except (ConnectionError, OSError):
                chunk = b""
            if not chunk:
                self.closed = True
                break
            data, replies = strip_negotiation(chunk)
            if replies:
                self.writer.write(replies)
            text += data.decode("utf-8", "replace")
        return printable(text)

    async def send(self, line: bytes) -> None:
        try:
            self.writer.write(line + b"\r\n")
            await self.writer.drain()
        except (ConnectionError, OSError):
            self.closed = True

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()


async def attach_piped(
    lines: asyncio.StreamReader, out: asyncio.StreamWriter, host: str, port: int
) -> None:
    """Run the piped lines that follow ``vstack attach`` on the client at ``host:port`` and
    write what its command line prints to ``out``."""
    out.write(f"Trying {host} ... ".encode())
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            reader, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError) as error:
        out.write(f"\n% Connection refused by remote host ({error})\n".encode())
        return
    out.write(b"Open\n")
    client = _Client(reader, writer)
    try:
        out.write((await client.answer()).encode())
        await out.drain()
        while not client.closed:
            line = await read_line(lines)
            if line is None:
                break
            await client.send(line)
            out.write((await client.answer()).encode())
            await out.drain()
    finally:
        await client.close()
    if client.closed:
        out.write(f"\n[Connection to {host} closed by foreign host]\n".encode())
    else:
        out.write(b"\n")
