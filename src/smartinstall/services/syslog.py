"""Remote syslog for the director's system messages: RFC 5424 (default) or RFC 3164, over UDP,
TCP (RFC 6587: octet counting for 5424, newline framing for 3164) or TLS (RFC 5425: octet
counting, the server's certificate checked).

Configured by ``logging host <ip> [transport {udp|tcp|tls} [port <n>]] [rfc3164]`` (one sender
per address, transport and port), ``logging source-interface`` (the address the sender binds)
and ``logging tls-ca``. Sending never blocks the director: UDP datagrams are sent from a
non-blocking socket; TCP and TLS lines go through the bounded queue of a
:class:`~smartinstall.services.syslog_stream.StreamConnection`.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from smartinstall import hostaddr
from smartinstall.domain.syslog import LoggingHost, SyslogSettings
from smartinstall.services.syslog_stream import MAX_QUEUE, StreamConnection, describe

log = logging.getLogger(__name__)

LOCAL7 = 23  # IOS logs to facility local7 by default
MAX_MESSAGE = 2048


@dataclass(frozen=True)
class SyslogTarget:
    host: str
    port: int = 514
    transport: str = "udp"  # "udp", "tcp" or "tls"
    rfc3164: bool = False
    source: str | None = None  # the address to send from (``logging source-interface``)
    ca_file: str | None = None  # TLS: the CA certificates (None: the system's store)


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


def octet_counted(data: bytes) -> bytes:
    """RFC 6587 / RFC 5425 framing: ``<length> <message>``."""
    return str(len(data)).encode() + b" " + data


class SyslogSender:
    """Sends lines to one remote syslog target."""

    def __init__(self, target: SyslogTarget, max_queue: int = MAX_QUEUE) -> None:
        self.target = target
        self._udp_sent = 0
        self._udp_dropped = 0
        self._udp: socket.socket | None = None
        self._stream: StreamConnection | None = None
        if target.transport == "udp":
            self._udp = self._udp_socket()
        else:
            self._stream = StreamConnection(
                target.host,
                target.port,
                tls=target.transport == "tls",
                ca_file=target.ca_file,
                source=target.source,
                max_queue=max_queue,
            )

    def _udp_socket(self) -> socket.socket | None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setblocking(False)
        if self.target.source:
            try:
                sock.bind((self.target.source, 0))
            except OSError as error:
                log.error(
                    "syslog udp to %s:%d: source address %s: %s",
                    self.target.host,
                    self.target.port,
                    self.target.source,
                    describe(error),
                )
                sock.close()
                return None
        return sock

    @property
    def sent(self) -> int:
        return self._stream.sent if self._stream is not None else self._udp_sent

    @property
    def link_up(self) -> bool:
        """UDP: whether the socket is there; TCP and TLS: whether the connection is up."""
        return self._stream.connected if self._stream is not None else self._udp is not None

    @property
    def dropped(self) -> int:
        return self._stream.dropped if self._stream is not None else self._udp_dropped

    def frame(
        self, severity: int, hostname: str, msgid: str, text: str, when: dt.datetime
    ) -> bytes:
        if self.target.rfc3164:
            return format_rfc3164(severity, hostname, text, when)
        return format_rfc5424(severity, hostname, msgid, text, when)

    def send(self, severity: int, hostname: str, msgid: str, text: str, when: dt.datetime) -> None:
        data = self.frame(severity, hostname, msgid, text, when)
        if self._stream is None:
            self._send_udp(data)
        elif self.target.rfc3164 and self.target.transport == "tcp":
            self._stream.push(data + b"\n")
        else:
            self._stream.push(octet_counted(data))

    def _send_udp(self, data: bytes) -> None:
        if self._udp is None:
            self._udp_dropped += 1
            return
        try:
            self._udp.sendto(data, (self.target.host, self.target.port))
            self._udp_sent += 1
        except OSError as error:
            self._udp_dropped += 1
            log.debug("syslog to %s failed: %s", self.target.host, error)

    async def flush(self, timeout: float = 2.0) -> None:
        """Wait until the TCP or TLS queue is empty (tests, shutdown)."""
        if self._stream is not None:
            await self._stream.flush(timeout)

    async def close(self) -> None:
        if self._stream is not None:
            await self._stream.close()
        if self._udp is not None:
            self._udp.close()
            self._udp = None


def syslog_targets(
    hosts: Iterable[LoggingHost], settings: SyslogSettings, data_dir: Path
) -> list[SyslogTarget]:
    """The senders' targets for the ``logging`` lines: the source interface resolved to its
    address now (an interface that lost it sends from the default address, with a warning),
    a relative CA file taken from the data directory."""
    source: str | None = None
    if settings.source_interface:
        source = hostaddr.source_address(settings.source_interface)
        if source is None:
            log.warning(
                "logging source-interface %s: no such address on this host; syslog is sent "
                "from the default address",
                settings.source_interface,
            )
    ca_file = None
    if settings.tls_ca:
        ca_file = str(data_dir / settings.tls_ca)  # an absolute path stays as it is
    return [
        SyslogTarget(
            h.host,
            h.port,
            h.transport,
            h.rfc3164,
            source,
            ca_file if h.transport == "tls" else None,
        )
        for h in hosts
    ]


__all__ = [
    "LOCAL7",
    "MAX_MESSAGE",
    "SyslogSender",
    "SyslogTarget",
    "format_rfc3164",
    "format_rfc5424",
    "octet_counted",
    "syslog_targets",
]
