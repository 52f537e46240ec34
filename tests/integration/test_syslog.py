"""%SMI messages reach a real syslog listener over UDP and TCP (RFC 5424 and RFC 3164)."""

from __future__ import annotations

import asyncio
import re
import socket

from smartinstall.director.eventlog import EventLog
from smartinstall.services.syslog import SyslogSender, SyslogTarget

RFC5424 = re.compile(
    r"<(?P<pri>\d+)>1 (?P<ts>\S+) (?P<host>\S+) smartinstall - (?P<msgid>\S+) - (?P<msg>.*)"
)


def udp_listener() -> tuple[socket.socket, int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    return sock, sock.getsockname()[1]


def test_udp_rfc5424() -> None:
    sock, port = udp_listener()
    log = EventLog("Director", sender_factory=SyslogSender)  # type: ignore[arg-type]
    log.set_targets([SyslogTarget("127.0.0.1", port)])
    log.smi("SWITCH_ADD", mac="0050.5601.0001")
    data, _ = sock.recvfrom(4096)
    match = RFC5424.fullmatch(data.decode())
    assert match, data
    assert match["pri"] == str(23 * 8 + 6)  # local7.informational
    assert match["host"] == "Director" and match["msgid"] == "SWITCH_ADD"
    assert match["msg"] == (
        "%SMI-6-SWITCH_ADD: New Device detected by Director with mac address: 0050.5601.0001"
    )
    sock.close()


def test_udp_rfc3164() -> None:
    sock, port = udp_listener()
    log = EventLog("Director", sender_factory=SyslogSender)  # type: ignore[arg-type]
    log.set_targets([SyslogTarget("127.0.0.1", port, rfc3164=True)])
    log.smi("SWITCH_REMOVE", mac="0050.5601.0001")
    data, _ = sock.recvfrom(4096)
    text = data.decode()
    assert re.fullmatch(
        r"<190>\w{3} [ \d]\d \d\d:\d\d:\d\d Director smartinstall: %SMI-6-SWITCH_REMOVE: .*", text
    ), text
    sock.close()


async def test_tcp_octet_counting_and_reconnect() -> None:
    received: list[bytes] = []
    got = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            length = await reader.readuntil(b" ")
            body = await reader.readexactly(int(length[:-1]))
            received.append(body)
            got.set()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    log = EventLog("Director", sender_factory=SyslogSender)  # type: ignore[arg-type]
    (sender_target,) = [SyslogTarget("127.0.0.1", port, transport="tcp")]
    log.set_targets([sender_target])
    log.smi("SWITCH_ADD", mac="0050.5601.0001")
    log.smi("SWITCH_ADD", mac="0050.5601.0002")
    for _ in range(100):
        if len(received) >= 2:
            break
        await asyncio.sleep(0.02)
    assert [RFC5424.fullmatch(r.decode()) is not None for r in received] == [True, True]
    assert received[1].decode().endswith("0050.5601.0002")
    for sender in log.senders:
        await sender.close()
    server.close()
    await server.wait_closed()


def test_debug_lines_only_when_enabled() -> None:
    log = EventLog()
    assert log.debug_line("backup", "x") is None
    log.debug.add("backup")
    line = log.debug_line("backup", "copy started")
    assert line is not None and line.severity == 7
    assert log.debug_line("fsm", "y") is None
    log.debug.add("all")
    assert log.debug_line("fsm", "y") is not None
    assert len(log.lines()) == 2
