"""The connection of a TCP or TLS syslog destination: a bounded queue of framed lines drained
by one task that connects, reconnects with back-off and never blocks the caller.

When the queue is full (the server is down or slow) the oldest line is dropped and counted.
TLS (RFC 5425) checks the server's certificate against the CA file given (``logging tls-ca``)
or the system's store, and its name against the address the line names; a handshake that fails
is logged once as one line, until a connection succeeds again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections import deque

log = logging.getLogger("smartinstall.services.syslog")

MAX_QUEUE = 10_000
CONNECT_TIMEOUT = 5.0
FIRST_DELAY = 0.2
MAX_DELAY = 30.0


class CaFileError(OSError):
    """The CA certificates of ``logging tls-ca`` cannot be read."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "CA file unreadable"


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """A client context that checks the server's certificate and name (reads the CA file:
    call it in a thread)."""
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def describe(error: BaseException) -> str:
    """One line about a failed connection or handshake."""
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"TLS handshake failed: certificate not trusted: {error.verify_message}"
    if isinstance(error, ssl.SSLError):
        return f"TLS handshake failed: {error.reason or error}"
    if isinstance(error, CaFileError):
        return str(error)
    if isinstance(error, TimeoutError):
        return "connection timed out"
    if isinstance(error, OSError) and error.strerror:
        where = f" ({error.filename})" if error.filename else ""
        return f"{error.strerror}{where}"
    return str(error) or type(error).__name__


class StreamConnection:
    """Framed lines to one TCP or TLS syslog server."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        tls: bool = False,
        ca_file: str | None = None,
        source: str | None = None,
        max_queue: int = MAX_QUEUE,
    ) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        self.ca_file = ca_file
        self.source = source
        self.sent = 0
        self.dropped = 0
        self.connected = False
        self._queue: deque[bytes] = deque()
        self._max_queue = max_queue
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._context: ssl.SSLContext | None = None
        self._failing = False

    @property
    def name(self) -> str:
        return f"syslog {'tls' if self.tls else 'tcp'} to {self.host}:{self.port}"

    @property
    def queued(self) -> int:
        return len(self._queue)

    def push(self, framed: bytes) -> None:
        """Queue one framed line; never blocks."""
        if len(self._queue) >= self._max_queue:
            self._queue.popleft()
            self.dropped += 1
        self._queue.append(framed)
        self._ensure_task()
        self._wakeup.set()

    def _ensure_task(self) -> None:
        if self._task is not None and not self._task.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop: lines wait in the queue until one runs
        self._wakeup = asyncio.Event()
        self._task = loop.create_task(self._run(), name=self.name)

    async def _run(self) -> None:
        delay = FIRST_DELAY
        while True:
            try:
                reader, writer = await self._connect()
            except (OSError, ssl.SSLError, TimeoutError, ValueError) as error:
                self._failed(error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_DELAY)
                continue
            except Exception:  # a bug must not end the sender: logged with its traceback
                if not self._failing:
                    log.exception("%s: connection failed", self.name)
                    self._failing = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_DELAY)
                continue
            if self._failing:
                log.info("%s: connected", self.name)
            self._failing = False
            self.connected = True
            sent_before = self.sent
            try:
                await self._drain(reader, writer)
            except (OSError, ConnectionError, ssl.SSLError) as error:
                log.warning("%s: connection lost: %s", self.name, describe(error))
            finally:
                self.connected = False
                writer.close()
                with contextlib.suppress(OSError, ConnectionError, ssl.SSLError):
                    await writer.wait_closed()
            if self.sent > sent_before:
                delay = FIRST_DELAY  # it worked for a while: reconnect at once
                continue
            # a server that takes the connection and drops it at once is not hammered
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_DELAY)

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        context: ssl.SSLContext | None = None
        if self.tls:
            if self._context is None:
                try:
                    self._context = await asyncio.to_thread(tls_context, self.ca_file)
                except (OSError, ssl.SSLError) as error:  # tried again at the next attempt
                    raise CaFileError(f"CA file {self.ca_file}: {describe(error)}") from error
            context = self._context
        local = (self.source, 0) if self.source else None
        return await asyncio.wait_for(
            asyncio.open_connection(
                self.host,
                self.port,
                ssl=context,
                server_hostname=self.host if context is not None else None,
                ssl_handshake_timeout=CONNECT_TIMEOUT if context is not None else None,
                local_addr=local,
            ),
            timeout=CONNECT_TIMEOUT * 2,
        )

    def _failed(self, error: BaseException) -> None:
        if not self._failing:
            log.error("%s: %s", self.name, describe(error))
            self._failing = True
        else:
            log.debug("%s: %s", self.name, describe(error))

    async def _drain(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # a server that closes the connection is noticed at once, not at the next line
        closed = asyncio.ensure_future(reader.read(65536))
        try:
            while True:
                while self._queue:
                    writer.write(self._queue[0])
                    await writer.drain()
                    self._queue.popleft()
                    self.sent += 1
                self._wakeup.clear()
                wake = asyncio.ensure_future(self._wakeup.wait())
                done, _ = await asyncio.wait({wake, closed}, return_when=asyncio.FIRST_COMPLETED)
                if closed in done:
                    wake.cancel()
                    if closed.exception() is None and closed.result():
                        closed = asyncio.ensure_future(reader.read(65536))  # ignore what it says
                        continue
                    raise ConnectionResetError("closed by the server")
        finally:
            if not closed.done():
                closed.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await closed

    async def flush(self, timeout: float = 2.0) -> None:
        """Wait until the queue is empty or `timeout` passed (tests, shutdown)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._queue and loop.time() < deadline:
            self._ensure_task()
            await asyncio.sleep(0.01)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


__all__ = ["MAX_QUEUE", "StreamConnection", "describe", "tls_context"]
