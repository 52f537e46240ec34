"""Remote syslog for the director's system messages: RFC 5424 (default) or RFC 3164, over UDP
or TCP (RFC 6587 octet counting for 5424, newline framing for 3164).

Configured by ``logging host <ip> [transport {udp|tcp} [port <n>]] [rfc3164]``. Sending never
blocks the director: UDP datagrams are sent from a non-blocking socket, TCP lines go through a
bounded queue drained by one task that reconnects with back-off; when the queue is full the
oldest line is dropped and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import socket
from collections import deque
from dataclasses import dataclass

log = logging.getLogger(__name__)

LOCAL7 = 23  # IOS logs to facility local7 by default
MAX_QUEUE = 10_000
MAX_MESSAGE = 2048


@dataclass(frozen=True)
class SyslogTarget:
    host: str
    port: int = 514
    transport: str = "udp"  # "udp" or "tcp"
    rfc3164: bool = False


def format_rfc5424(
    severity: int, hostname: str, msgid: str, text: str, when: dt.datetime, facility: int = LOCAL7
) -> bytes:
    pri = facility * 8 + severity
    stamp = when.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    line = f"<{pri}>1 {stamp} {hostname} smartinstall - {msgid or '-'} - {text}"
    return line.encode("utf-8", errors="replace")[:MAX_MESSAGE]


def format_rfc3164(
    severity: int, hostname: str, text: str, when: dt.datetime, facility: int = LOCAL7
) -> bytes:
    pri = facility * 8 + severity
    local = when.astimezone(dt.UTC)
    stamp = f"{local:%b} {local.day:2d} {local:%H:%M:%S}"
    line = f"<{pri}>{stamp} {hostname} smartinstall: {text}"
    return line.encode("utf-8", errors="replace")[:MAX_MESSAGE]


class SyslogSender:
    """Sends lines to one remote syslog target."""

    def __init__(self, target: SyslogTarget) -> None:
        self.target = target
        self.dropped = 0
        self.sent = 0
        self._queue: deque[bytes] = deque()
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._udp: socket.socket | None = None
        if target.transport == "udp":
            self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._udp.setblocking(False)

    def frame(
        self, severity: int, hostname: str, msgid: str, text: str, when: dt.datetime
    ) -> bytes:
        if self.target.rfc3164:
            return format_rfc3164(severity, hostname, text, when)
        return format_rfc5424(severity, hostname, msgid, text, when)

    def send(self, severity: int, hostname: str, msgid: str, text: str, when: dt.datetime) -> None:
        data = self.frame(severity, hostname, msgid, text, when)
        if self._udp is not None:
            try:
                self._udp.sendto(data, (self.target.host, self.target.port))
                self.sent += 1
            except OSError as error:
                self.dropped += 1
                log.debug("syslog to %s failed: %s", self.target.host, error)
            return
        if self.target.rfc3164:
            framed = data + b"\n"
        else:
            framed = str(len(data)).encode() + b" " + data
        if len(self._queue) >= MAX_QUEUE:
            self._queue.popleft()
            self.dropped += 1
        self._queue.append(framed)
        self._ensure_task()
        if self._wakeup is not None:
            self._wakeup.set()

    def _ensure_task(self) -> None:
        if self._task is not None and not self._task.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop: lines wait in the queue until one runs
        self._wakeup = asyncio.Event()
        self._task = loop.create_task(self._drain(), name=f"syslog-{self.target.host}")

    async def _drain(self) -> None:
        delay = 0.5
        while True:
            try:
                _, writer = await asyncio.wait_for(
                    asyncio.open_connection(self.target.host, self.target.port), timeout=5
                )
            except (OSError, TimeoutError) as error:
                log.debug("syslog tcp connect to %s: %s", self.target.host, error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            delay = 0.5
            try:
                while True:
                    while self._queue:
                        line = self._queue[0]
                        writer.write(line)
                        await writer.drain()
                        self._queue.popleft()
                        self.sent += 1
                    assert self._wakeup is not None
                    self._wakeup.clear()
                    await self._wakeup.wait()
            except (OSError, ConnectionError) as error:
                log.debug("syslog tcp to %s lost: %s", self.target.host, error)
            finally:
                writer.close()
                with contextlib.suppress(OSError, ConnectionError):
                    await writer.wait_closed()

    async def flush(self, timeout: float = 2.0) -> None:
        """Wait until the TCP queue is empty (tests, shutdown)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self._queue and asyncio.get_running_loop().time() < deadline:
            self._ensure_task()
            await asyncio.sleep(0.01)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._udp is not None:
            self._udp.close()
