"""The syslog senders without a director: ``logging trap`` in the event log, the TCP queue's
drop-oldest and reconnection, and the source address a sender binds."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
from pathlib import Path

import pytest

from smartinstall.director.eventlog import EventLog
from smartinstall.domain.syslog import LoggingHost, SyslogSettings
from smartinstall.services.syslog import SyslogSender, SyslogTarget, syslog_targets
from smartinstall.services.syslog_stream import StreamConnection

WHEN = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


class Recorder:
    def __init__(self) -> None:
        self.lines: list[tuple[int, str]] = []
        self.sent = 0
        self.dropped = 0

    def send(self, severity: int, hostname: str, msgid: str, text: str, when: dt.datetime) -> None:
        del hostname, when
        self.lines.append((severity, msgid))

    async def close(self) -> None:
        return None


def test_logging_trap_filters_what_the_hosts_get() -> None:
    recorder = Recorder()
    log = EventLog(sender_factory=lambda target: recorder)
    log.set_targets(["one"])
    log.smi("SWITCH_ADD", mac="0050.5601.0001")  # informational
    log.record(4, "LOGIN_FAILED", "%SEC_LOGIN-4-LOGIN_FAILED: x")
    log.trap = 4
    log.smi("SWITCH_ADD", mac="0050.5601.0002")
    log.record(5, "LOGIN_SUCCESS", "%SEC_LOGIN-5-LOGIN_SUCCESS: x")
    log.record(4, "LOGIN_FAILED", "%SEC_LOGIN-4-LOGIN_FAILED: y")
    log.trap = None
    log.record(0, "X", "x")
    assert recorder.lines == [(6, "SWITCH_ADD"), (4, "LOGIN_FAILED"), (4, "LOGIN_FAILED")]
    assert log.trap_lines == 3
    assert len(log.buffer) == 6  # show logging keeps everything


async def test_a_full_queue_drops_the_oldest_and_counts() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # nobody listens: the connection fails
    connection = StreamConnection("127.0.0.1", port, max_queue=3)
    for n in range(5):
        connection.push(b"%d" % n)
    assert connection.queued == 3 and connection.dropped == 2
    assert list(connection._queue) == [b"2", b"3", b"4"]
    await connection.close()


async def test_tcp_reconnects_and_delivers_what_waited() -> None:
    received: list[bytes] = []
    got = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(4096):
            received.append(data)
            got.set()
        writer.close()

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sender = SyslogSender(SyslogTarget("127.0.0.1", port, "tcp"))
    sender.send(6, "Director", "SWITCH_ADD", "first", WHEN)  # the server is not up yet
    await asyncio.sleep(0.05)
    server = await asyncio.start_server(handle, "127.0.0.1", port)
    async with asyncio.timeout(5):
        await got.wait()
    assert b"SWITCH_ADD - first" in b"".join(received)
    assert sender.sent == 1 and sender.dropped == 0
    await sender.close()
    server.close()
    await server.wait_closed()


def test_udp_sends_from_the_source_address() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(5)
        target = SyslogTarget("127.0.0.1", receiver.getsockname()[1], source="127.0.0.9")
        sender = SyslogSender(target)
        sender.send(6, "Director", "SWITCH_ADD", "hello", WHEN)
        data, peer = receiver.recvfrom(4096)
        assert peer[0] == "127.0.0.9" and data.endswith(b"hello")
        asyncio.run(sender.close())


def test_targets_resolve_the_source_and_the_ca_file(tmp_path: Path) -> None:
    hosts = [LoggingHost("127.0.0.1", "tls"), LoggingHost("127.0.0.1", "udp", 5514)]
    targets = syslog_targets(hosts, SyslogSettings(6, "lo", "ca.pem"), tmp_path)
    assert targets[0] == SyslogTarget(
        "127.0.0.1", 6514, "tls", False, "127.0.0.1", str(tmp_path / "ca.pem")
    )
    assert targets[1].source == "127.0.0.1" and targets[1].ca_file is None
    absolute = syslog_targets(hosts, SyslogSettings(6, None, "/etc/ca.pem"), tmp_path)
    assert absolute[0].ca_file == "/etc/ca.pem" and absolute[0].source is None


async def test_an_unreadable_ca_file_is_one_clear_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        connection = StreamConnection(
            "127.0.0.1", port, tls=True, ca_file=str(tmp_path / "missing.pem")
        )
        with caplog.at_level(logging.DEBUG, logger="smartinstall.services.syslog"):
            connection.push(b"5 hello")
            async with asyncio.timeout(5):
                while not connection._failing:
                    await asyncio.sleep(0.01)
        await connection.close()
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == [
        f"syslog tls to 127.0.0.1:{port}: CA file {tmp_path / 'missing.pem'}: "
        "No such file or directory"
    ]


async def test_a_connection_the_server_drops_is_made_again() -> None:
    received: list[bytes] = []
    got = asyncio.Event()
    connections = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        if connections == 1:  # the first one is dropped before anything is read
            writer.close()
            return
        while data := await reader.read(4096):
            received.append(data)
            got.set()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    connection = StreamConnection("127.0.0.1", port)
    connection.push(b"5 first")
    async with asyncio.timeout(5):
        while connections < 1:
            await asyncio.sleep(0.01)
        connection.push(b"6 second")
        await got.wait()
        while b"second" not in b"".join(received):
            await asyncio.sleep(0.01)
    assert connections == 2
    await connection.close()
    server.close()
    await server.wait_closed()
