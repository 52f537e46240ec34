"""The SMI listeners on real loopback sockets: public probe bytes, the shared command vectors,
authenticated mode, the director's server and allow-list, and the probe tool."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from smartinstall.services.smi import (
    ClientMessageReceived,
    CommandReceived,
    InvalidMessage,
    ProbeVerdict,
    SmiClientListener,
    SmiClientSender,
    SmiDirectorServer,
    SmiLimits,
    SmiSecurity,
    SmiSendError,
    probe,
    seal_message,
    send_command,
)
from smartinstall.wire.smi import (
    CLIENT_PROBE_REPLY,
    PROBE,
    STATUS_REPLY,
    BackupConfig,
    DownloadConfig,
    DownloadImage,
    Execute,
    InitDiscovery,
    Tlv,
    decode_command_bytes,
    encode_tlvs,
    frame,
)
from smartinstall.wire.smi_auth import PeerId, Unsealed
from smartinstall.wire.smi_client import (
    Ack,
    Hello,
    JoinState,
    Neighbor,
    NeighborReport,
    WriteMemory,
)

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT.parent / "shared" / "spec" / "vectors"
needs_vectors = pytest.mark.skipif(not VECTORS.is_dir(), reason=f"{VECTORS} is absent")
COMMAND_VECTORS = [
    "example_type2_download_image_0x821",
    "example_type2_download_image_0x801_0130",
    "example_type3_download_config_reload_0001",
    "example_type3_download_config_noreload",
    "example_type5_version_cmd_exec",
    "example_type8_backup_config",
]
KEY = "lab-key-0123456789"
CLIENT_MAC = "0018.7363.4200"  # the authenticated client's identity: commands name it
FAST = SmiLimits(idle_timeout=3.0, read_timeout=0.6)
INVALID_RE = re.compile(
    r"%SMI-6-SMI_INVALID_MESSAGE: Received invalid message from (Director|Client) "
    r"\(IP Address : 127\.0\.0\.1\), SMI Version : \d+ Message Type : \d+"
)


def vector(name: str) -> bytes:
    return (VECTORS / f"{name}.bin").read_bytes()


async def exchange(
    port: int, data: bytes, timeout: float = 10.0, host: str = "127.0.0.1", half_close: bool = False
) -> tuple[bytes, bool]:
    """Send bytes, read until the peer closes (or timeout). Returns (reply, peer_closed)."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(data)
    await writer.drain()
    if half_close:
        writer.write_eof()
    reply = b""
    closed = False
    try:
        async with asyncio.timeout(timeout):
            while True:
                chunk = await reader.read(4096)
                if not chunk:
                    closed = True
                    break
                reply += chunk
    except TimeoutError:
        pass
    except ConnectionError:
        closed = True
    writer.close()
    return reply, closed


class Recorder:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[object] = asyncio.Queue()

    def __call__(self, event: object) -> None:
        self.queue.put_nowait(event)

    async def next(self, timeout: float = 10.0) -> object:
        async with asyncio.timeout(timeout):
            return await self.queue.get()

    async def nothing(self, wait: float = 0.3) -> None:
        await asyncio.sleep(wait)
        assert self.queue.empty(), "owner was called"


@pytest.fixture
async def legacy_client() -> AsyncIterator[tuple[SmiClientListener, Recorder]]:
    owner = Recorder()
    async with SmiClientListener(owner, port=0, limits=FAST) as listener:
        yield listener, owner


@pytest.fixture
async def secure_client() -> AsyncIterator[tuple[SmiClientListener, Recorder, list[object]]]:
    owner = Recorder()
    invalid: list[object] = []
    async with SmiClientListener(
        owner,
        port=0,
        limits=FAST,
        security=SmiSecurity.from_config(KEY),
        on_invalid=invalid.append,
        identity=CLIENT_MAC,
    ) as listener:
        yield listener, owner, invalid


# ---------------------------------------------------------------------------- public bytes


async def test_probe_gets_the_exact_24_bytes(legacy_client: tuple) -> None:
    listener, owner = legacy_client
    reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
    writer.write(PROBE)
    # smi_check/SIET take the first recv() and compare it whole
    first = await asyncio.wait_for(reader.read(1024), 10)
    assert first == CLIENT_PROBE_REPLY
    assert await asyncio.wait_for(reader.read(1024), 10) == b""  # then the client closes
    writer.close()
    await owner.nothing(0.05)


async def test_probe_with_trailing_newline(legacy_client: tuple) -> None:
    listener, _ = legacy_client
    reply, closed = await exchange(listener.port, PROBE + b"\n")
    assert reply == CLIENT_PROBE_REPLY and closed


@needs_vectors
@pytest.mark.parametrize("name", ["probe_type3_len1_greenbone", "nmap_firebird_probe"])
async def test_scanner_probes_get_the_status_reply(legacy_client: tuple, name: str) -> None:
    listener, owner = legacy_client
    reply, closed = await exchange(listener.port, vector(name))
    assert reply == STATUS_REPLY and closed
    await owner.nothing(0.05)


async def test_non_smi_input_gets_the_status_reply_at_once(
    legacy_client: tuple, caplog: pytest.LogCaptureFixture
) -> None:
    listener, _ = legacy_client
    caplog.set_level(logging.INFO, logger="smartinstall.services.smi")
    reply, closed = await exchange(listener.port, b"GET / HTTP/1.0\r\n\r\n")
    assert reply == STATUS_REPLY and closed
    # answered on the first bytes that cannot start a command, not at a deadline
    lines = [r.getMessage() for r in caplog.records]
    assert any("not Smart Install" in line and "474554" in line for line in lines), lines
    assert not any("slow" in line for line in lines)


# -------------------------------------------------------------------------- command vectors


@needs_vectors
@pytest.mark.parametrize("name", COMMAND_VECTORS)
async def test_vector_drives_the_legacy_client(legacy_client: tuple, name: str) -> None:
    listener, owner = legacy_client
    reply, closed = await exchange(listener.port, vector(name))
    assert reply == b"" and closed  # a client answers a command with nothing, and closes
    event = await owner.next()
    assert isinstance(event, CommandReceived)
    assert event.command == decode_command_bytes(vector(name))
    assert event.authenticated is False and event.peer.host == "127.0.0.1"


async def test_send_command_reaches_the_owner_with_parsed_fields(legacy_client: tuple) -> None:
    listener, owner = legacy_client
    command = DownloadImage.at("tftp://127.0.0.1/imagelist.txt", 2, 15)
    await send_command("127.0.0.1", listener.port, command)
    event = await owner.next()
    assert isinstance(event, CommandReceived)
    assert isinstance(event.command, DownloadImage)
    assert event.command.imagelist_url == "tftp://127.0.0.1/imagelist.txt"
    assert event.command.reload_at == (2, 15)


async def test_init_discovery_with_zero_length_tlvs(legacy_client: tuple) -> None:
    listener, owner = legacy_client
    message = InitDiscovery((Tlv(1, b""), Tlv(2, b""), Tlv(1, b"\0" * 0x58)))
    reply, _ = await exchange(listener.port, message.encode())
    assert reply == b""
    event = await owner.next()
    assert isinstance(event, CommandReceived) and event.command == message


# ---------------------------------------------------------------------- authenticated mode


@needs_vectors
@pytest.mark.parametrize("name", COMMAND_VECTORS)
async def test_authenticated_client_refuses_the_public_vectors(
    secure_client: tuple, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    listener, owner, invalid = secure_client
    caplog.set_level(logging.INFO, logger="smartinstall.services.smi")
    reply, closed = await exchange(listener.port, vector(name))
    assert closed and reply == b""
    await owner.nothing()
    assert len(invalid) == 1 and isinstance(invalid[0], InvalidMessage)
    assert INVALID_RE.search(invalid[0].text)
    lines = [r.getMessage() for r in caplog.records if "SMI_INVALID_MESSAGE" in r.getMessage()]
    assert len(lines) == 1 and INVALID_RE.search(lines[0])
    assert f"Message Type : {vector(name)[11]}" in lines[0]


async def test_authenticated_client_still_answers_the_probe(secure_client: tuple) -> None:
    listener, _, _ = secure_client
    assert (await probe("127.0.0.1", listener.port, 10)).verdict is ProbeVerdict.CLIENT


async def test_authenticated_command_is_accepted_once(secure_client: tuple) -> None:
    listener, owner, invalid = secure_client
    security = SmiSecurity.from_config(KEY)
    command = DownloadConfig.at("tftp://127.0.0.1/SwitchA.cfg", 0, 5)
    sealed = seal_message(
        command.encode(),
        security,
        sender=PeerId.director("127.0.0.1"),
        recipient=PeerId.client(CLIENT_MAC),
        counter=time.time_ns(),
    )
    reply, _ = await exchange(listener.port, sealed)
    assert reply == b""
    event = await owner.next()
    assert isinstance(event, CommandReceived)
    assert event.command == command and event.authenticated
    # the same bytes again are a replay
    await exchange(listener.port, sealed)
    await owner.nothing()
    assert len(invalid) == 1 and "replayed" in invalid[0].reason  # type: ignore[attr-defined]


async def test_wrong_key_is_refused(secure_client: tuple) -> None:
    listener, owner, invalid = secure_client
    other = SmiSecurity.from_config("not-the-lab-key")
    await send_command(
        "127.0.0.1",
        listener.port,
        BackupConfig.of("copy a tftp://127.0.0.1/x"),
        other,
        recipient=CLIENT_MAC,
    )
    await owner.nothing()
    assert len(invalid) == 1 and "does not match" in invalid[0].reason  # type: ignore[attr-defined]


async def test_director_commands_an_authenticated_client(secure_client: tuple) -> None:
    listener, owner, _ = secure_client
    async with SmiDirectorServer(
        Recorder(), port=0, security=SmiSecurity.from_config(KEY)
    ) as director:
        for command in (
            Execute("tftp://127.0.0.1/post.txt"),
            BackupConfig.of("copy nvram:startup-config tftp://127.0.0.1/a.cfg"),
        ):
            await director.send_command("127.0.0.1", listener.port, command, recipient=CLIENT_MAC)
            event = await owner.next()
            assert isinstance(event, CommandReceived)
            assert event.command == command and event.authenticated


# ------------------------------------------------------------------------- director server


@pytest.fixture
async def director() -> AsyncIterator[tuple[SmiDirectorServer, Recorder]]:
    owner = Recorder()
    async with SmiDirectorServer(owner, port=0, limits=FAST) as server:
        yield server, owner


HELLO = Hello(
    sequence=41,
    mac="0018.7363.4200",
    pid="WS-C2960X-48FPD-L",
    serial="FOC1",
    hostname="Switch",
    ip="127.0.0.1",
    join_state=JoinState.NEW,
)


async def test_director_receives_client_messages(director: tuple) -> None:
    server, owner = director
    sender = SmiClientSender("127.0.0.1", server.port)
    for message in (
        HELLO,
        NeighborReport(
            sequence=42,
            mac="0018.7363.4200",
            neighbors=(Neighbor("Gi1/0/1", "0021.a1ab.9b80", "", "", "Gi0/1", "WS-C2960-24TT"),),
        ),
        WriteMemory(sequence=43, mac="0018.7363.4200", hostname="SwitchA"),
    ):
        ack = await sender.send(message)
        assert ack.status == 0 and ack.acked_sequence == message.sequence
        event = await owner.next()
        assert isinstance(event, ClientMessageReceived)
        assert event.message == message and not event.authenticated


async def test_director_owner_answer_is_returned(director: tuple) -> None:
    server, _ = director

    def owner(event: ClientMessageReceived) -> Ack:
        return Ack(
            acked_type=event.message.MSG_TYPE,
            acked_sequence=event.message.sequence,
            status=3,
            reason="join window closed",
        )

    server.owner = owner
    ack = await SmiClientSender("127.0.0.1", server.port).send(HELLO)
    assert (ack.status, ack.reason) == (3, "join window closed")


async def test_director_closes_silently_on_the_probe(director: tuple) -> None:
    server, owner = director
    result = await probe("127.0.0.1", server.port, 10)
    assert result.verdict is ProbeVerdict.DIRECTOR and result.reply == b""
    await owner.nothing(0.05)


async def test_authenticated_director() -> None:
    owner = Recorder()
    invalid: list[object] = []
    security = SmiSecurity.from_config(KEY)
    async with SmiDirectorServer(
        owner, port=0, limits=FAST, security=security, on_invalid=invalid.append
    ) as server:
        ack = await SmiClientSender("127.0.0.1", server.port, security).send(HELLO)
        assert ack.acked_sequence == 41
        event = await owner.next()
        assert isinstance(event, ClientMessageReceived) and event.authenticated
        with pytest.raises(SmiSendError):
            await SmiClientSender("127.0.0.1", server.port, timeout=1).send(HELLO)
        sealed = seal_message(
            HELLO.encode(),
            security,
            sender=PeerId.client(HELLO.mac),
            recipient=PeerId.director("127.0.0.1"),
            counter=time.time_ns(),
        )
        await exchange(server.port, sealed)
        await owner.next()
        reply, _ = await exchange(server.port, sealed)  # replay
        assert reply == b""
        await owner.nothing()
        assert len(invalid) == 2
        assert {i.device for i in invalid} == {"Client"}  # type: ignore[attr-defined]


async def test_allowed_clients() -> None:
    owner = Recorder()
    security = SmiSecurity.from_config(None, ["127.0.0.2/32", "127.0.5.0/24"])
    async with SmiDirectorServer(
        owner, host="127.0.0.1", port=0, limits=FAST, security=security
    ) as server:
        ok = SmiClientSender("127.0.0.1", server.port, local_host="127.0.5.9")
        assert (await ok.send(HELLO)).status == 0
        event = await owner.next()
        assert isinstance(event, ClientMessageReceived) and event.peer.host == "127.0.5.9"
        refused = SmiClientSender("127.0.0.1", server.port, local_host="127.0.0.3", timeout=1)
        with pytest.raises(SmiSendError):
            await refused.send(HELLO)
        await owner.nothing()


async def test_probe_tool_verdicts(legacy_client: tuple, director: tuple) -> None:
    listener, _ = legacy_client
    server, _ = director
    assert (await probe("127.0.0.1", listener.port, 10)).verdict is ProbeVerdict.CLIENT
    assert (await probe("127.0.0.1", server.port, 10)).verdict is ProbeVerdict.DIRECTOR

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.read(100))
        await writer.drain()
        writer.close()

    other = await asyncio.start_server(echo, "127.0.0.1", 0)
    try:
        port = other.sockets[0].getsockname()[1]
        result = await probe("127.0.0.1", port, 10)
        assert result.verdict is ProbeVerdict.OTHER and result.reply == PROBE
    finally:
        other.close()
        await other.wait_closed()


async def test_invalid_message_log_line_is_the_guide_text(
    secure_client: tuple, caplog: pytest.LogCaptureFixture
) -> None:
    listener, _, _ = secure_client
    caplog.set_level(logging.INFO, logger="smartinstall.services.smi")
    await exchange(listener.port, DownloadImage.now("tftp://127.0.0.1/x").encode())
    records = [r for r in caplog.records if "SMI_INVALID_MESSAGE" in r.getMessage()]
    assert len(records) == 1
    assert records[0].getMessage() == (
        "%SMI-6-SMI_INVALID_MESSAGE: Received invalid message from Director "
        "(IP Address : 127.0.0.1), SMI Version : 1 Message Type : 2"
    )
    assert records[0].levelno == logging.INFO  # severity 6, informational
    assert records[0].smi_reason == "no authentication trailer"  # type: ignore[attr-defined]


async def test_newer_client_message_is_an_invalid_message(director: tuple) -> None:
    """The guide's case for SMI_INVALID_MESSAGE: a newer sender, an older receiver."""
    server, owner = director
    invalid: list[InvalidMessage] = []
    server.on_invalid = invalid.append
    newer_type = frame(4, 1, 0x150, encode_tlvs([Tlv(1, b"\0\0\0\1"), Tlv(2, b"\0\0\0\1")]))
    newer_version = frame(4, 1, 0x103, encode_tlvs([Tlv(1, b"\0\0\0\2"), Tlv(2, b"\0\0\0\1")]))
    for data in (newer_type, newer_version):
        reply, closed = await exchange(server.port, data)
        assert reply == b"" and closed
    await owner.nothing(0.05)
    assert [(i.device, i.msg_type) for i in invalid] == [("Client", 0x150), ("Client", 0x103)]
    assert "unsupported protocol version 2" in invalid[1].reason


async def test_sender_refuses_stale_or_mismatched_acks() -> None:
    from smartinstall.wire.smi_auth import seal, unseal

    key = KEY.encode()
    answers: list[bytes | Callable[[Unsealed], bytes]] = []

    async def fake_director(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = unseal(await reader.read(4096), key)
        answer = answers.pop(0)
        writer.write(answer if isinstance(answer, bytes) else answer(request))
        await writer.drain()
        writer.close()

    def sealed(ack: Ack, **changes: object) -> Callable[[Unsealed], bytes]:
        """The ack sealed as a director answers ``request``, with ``changes`` to the trailer."""

        def answer(request: Unsealed) -> bytes:
            fields: dict[str, Any] = {
                "timestamp_ms": time.time_ns() // 1_000_000,
                "sender": request.recipient,
                "recipient": request.sender,
                "counter": request.counter,
                **changes,
            }
            return seal(ack.encode(), key, **fields)

        return answer

    server = await asyncio.start_server(fake_director, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    sender = SmiClientSender("127.0.0.1", port, SmiSecurity.from_config(KEY), timeout=10)
    ack = Ack(acked_type=HELLO.MSG_TYPE, acked_sequence=HELLO.sequence)
    try:
        answers.append(sealed(ack, timestamp_ms=1_000))  # 1970: stale
        with pytest.raises(SmiSendError, match="timestamp"):
            await sender.send(HELLO)
        wrong = Ack(acked_type=HELLO.MSG_TYPE, acked_sequence=HELLO.sequence + 1)
        answers.append(sealed(wrong))
        with pytest.raises(SmiSendError, match="does not match"):
            await sender.send(HELLO)
        answers.append(ack.encode())  # unauthenticated
        with pytest.raises(SmiSendError, match="not authenticated"):
            await sender.send(HELLO)
        # an acknowledgement captured from another exchange: another counter, or for another
        # client, or from another director
        for change in (
            {"counter": 1},
            {"recipient": PeerId.client("0018.7363.4299")},
            {"sender": PeerId.director("127.0.0.9")},
        ):
            answers.append(sealed(ack, **change))
            with pytest.raises(SmiSendError, match="not for this message"):
                await sender.send(HELLO)
        answers.append(sealed(ack))
        assert await sender.send(HELLO) == ack
    finally:
        server.close()
        await server.wait_closed()


async def test_owner_failures_do_not_end_the_listeners(caplog: pytest.LogCaptureFixture) -> None:
    def broken(event: object) -> None:
        raise RuntimeError("owner bug")

    async with (
        SmiDirectorServer(broken, port=0) as director,
        SmiClientListener(broken, port=0) as client,
    ):
        ack = await SmiClientSender("127.0.0.1", director.port).send(HELLO)
        assert ack.status == 1 and "RuntimeError" in ack.reason
        await send_command("127.0.0.1", client.port, DownloadConfig("tftp://127.0.0.1/a"))
        await asyncio.sleep(0.2)
        assert (await probe("127.0.0.1", client.port, 10)).verdict is ProbeVerdict.CLIENT
        assert (await SmiClientSender("127.0.0.1", director.port).send(HELLO)).status == 1
    failures = [r for r in caplog.records if "owner failed" in r.getMessage()]
    assert len(failures) >= 2 and all(r.exc_info for r in failures)
