"""Bad input against the SMI listeners: the listener answers or closes, logs each case once with
the peer address, keeps serving, and bounds what a peer can hold (connections, time, bytes)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from smartinstall.services.smi import (
    CommandReceived,
    ProbeVerdict,
    SmiClientListener,
    SmiClientSender,
    SmiDirectorServer,
    SmiLimits,
    SmiSendError,
    probe,
)
from smartinstall.wire.smi import CLIENT_PROBE_REPLY, STATUS_REPLY, Header
from smartinstall.wire.smi_client import Hello

from .test_smi_services import Recorder, exchange

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "smi"
LIMITS = SmiLimits(idle_timeout=1.0, read_timeout=0.5, rate_per_peer=1000, burst_per_peer=2000)
LOGGER = "smartinstall.services.smi"


@pytest.fixture
async def client() -> AsyncIterator[tuple[SmiClientListener, Recorder]]:
    owner = Recorder()
    async with SmiClientListener(owner, port=0, limits=LIMITS) as listener:
        yield listener, owner


async def still_serving(port: int, verdict: ProbeVerdict = ProbeVerdict.CLIENT) -> None:
    assert (await probe("127.0.0.1", port, 10)).verdict is verdict


def logged(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and text in r.getMessage()]


async def test_length_larger_than_the_stream(
    client: tuple, caplog: pytest.LogCaptureFixture
) -> None:
    listener, owner = client
    caplog.set_level(logging.INFO, logger=LOGGER)
    reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
    local = "{}:{}".format(*writer.get_extra_info("sockname")[:2])
    writer.write(Header(1, 1, 3, 296).encode() + b"\0" * 10)  # then nothing more
    async with asyncio.timeout(10):
        reply = await reader.read(100)
        assert await reader.read(100) == b""
    writer.close()
    assert reply == STATUS_REPLY, caplog.text
    lines = logged(caplog, local)
    assert len(lines) == 1 and "slow message" in lines[0], caplog.text
    await owner.nothing(0.05)
    await still_serving(listener.port)


async def test_stream_ends_before_the_length(
    client: tuple, caplog: pytest.LogCaptureFixture
) -> None:
    listener, _ = client
    caplog.set_level(logging.INFO, logger=LOGGER)
    reply, closed = await exchange(
        listener.port, Header(1, 1, 8, 1032).encode() + b"\0" * 100, half_close=True
    )
    assert reply == STATUS_REPLY and closed
    assert len(logged(caplog, "truncated message")) == 1


async def test_length_past_the_maximum(client: tuple, caplog: pytest.LogCaptureFixture) -> None:
    listener, _ = client
    caplog.set_level(logging.INFO, logger=LOGGER)
    reply, closed = await exchange(listener.port, Header(1, 1, 8, 0xFFFFFFF0).encode())
    assert reply == STATUS_REPLY and closed
    assert len(logged(caplog, "exceeds the maximum")) == 1
    await still_serving(listener.port)


async def test_tlv_length_past_the_payload(client: tuple) -> None:
    listener, owner = client
    payload = struct.pack(">II", 1, 500) + b"\0" * 20
    reply, _ = await exchange(listener.port, Header(1, 1, 7, len(payload)).encode() + payload)
    assert reply == STATUS_REPLY
    await owner.nothing()


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.bin")), ids=lambda p: p.name)
async def test_corpus_against_both_listeners(path: Path) -> None:
    """Every corpus input, against a client and a director: an answer or a close, never a
    crash, and both keep serving."""
    data = path.read_bytes()
    expected = dict(
        line.split()
        for line in (CORPUS / "expected.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )[path.name]
    owner = Recorder()
    async with (
        SmiClientListener(owner, port=0, limits=LIMITS) as client,
        SmiDirectorServer(Recorder(), port=0, limits=LIMITS) as director,
    ):
        reply, _ = await exchange(client.port, data, timeout=10, half_close=True)
        if expected == "command":
            assert reply == b""
            assert isinstance(await owner.next(), CommandReceived)
        elif path.name.startswith("probe"):
            assert reply == CLIENT_PROBE_REPLY
        else:
            assert reply == STATUS_REPLY
        reply, _ = await exchange(director.port, data, timeout=10, half_close=True)
        # the director acknowledges a valid client message and nothing else
        assert (reply != b"") == (expected == "client")
        await still_serving(client.port)
        await still_serving(director.port, ProbeVerdict.DIRECTOR)
        assert client.stats["accepted"] >= 2


async def test_director_logs_nested_garbage_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    data = (CORPUS / "neighbor_nested_garbage.bin").read_bytes()
    owner = Recorder()
    async with SmiDirectorServer(owner, port=0, limits=LIMITS) as director:
        reader, writer = await asyncio.open_connection("127.0.0.1", director.port)
        local = "{}:{}".format(*writer.get_extra_info("sockname")[:2])
        writer.write(data)
        async with asyncio.timeout(10):
            assert await reader.read(100) == b""
        writer.close()
        lines = logged(caplog, local)
        assert len(lines) == 1 and "malformed client message" in lines[0]
        await owner.nothing(0.05)
        ack = await SmiClientSender("127.0.0.1", director.port).send(Hello(mac="0000.0c00.0001"))
        assert ack.status == 0


@pytest.mark.slow
async def test_slowloris_connections_are_cut(client: tuple) -> None:
    listener, owner = client
    message = Header(1, 1, 4, 8).encode() + b"\0\0\0\1\0\0\0\0"

    async def drip() -> tuple[int, bytes]:
        """Send the probe one byte every 0.3 s (7 s in all) while reading; return how many
        bytes went out before the listener closed, and what it answered."""
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        answer = asyncio.create_task(reader.read(100))
        sent = 0
        with contextlib.suppress(ConnectionError):
            for i in range(len(message)):
                if answer.done():
                    break
                writer.write(message[i : i + 1])
                await writer.drain()
                sent += 1
                await asyncio.wait({answer}, timeout=0.3)
        try:
            async with asyncio.timeout(10):
                reply = await answer
        except ConnectionError:
            reply = b""
        writer.close()
        return sent, reply

    drips = [asyncio.create_task(drip()) for _ in range(20)]
    await asyncio.sleep(0.2)
    await still_serving(listener.port)  # served while the slow peers hang on
    results = await asyncio.gather(*drips)
    # every slow peer was cut at the message deadline, long before its 24 bytes were in
    assert all(sent < len(message) for sent, _ in results), results
    assert all(reply in (b"", STATUS_REPLY) for _, reply in results)
    await owner.nothing(0.05)
    await asyncio.sleep(0.2)
    assert listener.active_connections == 0


async def test_idle_connections_are_closed(client: tuple) -> None:
    listener, owner = client
    conns = [await asyncio.open_connection("127.0.0.1", listener.port) for _ in range(10)]
    async with asyncio.timeout(LIMITS.idle_timeout + 10):
        for reader, _ in conns:
            assert await reader.read(100) == b""
    for _, writer in conns:
        writer.close()
    await owner.nothing(0.05)


async def _open_many(
    port: int, count: int
) -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    opened = []
    for _ in range(count):
        with contextlib.suppress(OSError):
            opened.append(await asyncio.open_connection("127.0.0.1", port))
    return opened


async def _closed_by_peer(reader: asyncio.StreamReader, wait: float = 0.3) -> bool:
    try:
        async with asyncio.timeout(wait):
            return await reader.read(1) == b""
    except TimeoutError:
        return False
    except ConnectionError:
        return True


async def _all_seen(listener: SmiClientListener, count: int) -> None:
    """Wait (bounded) until the listener has accepted or refused ``count`` connections."""
    async with asyncio.timeout(20):
        while listener.stats["accepted"] + listener.stats["refused"] < count:
            await asyncio.sleep(0.05)


async def _count_closed(conns: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]) -> int:
    """How many the listener has closed, all checked at once (well inside the idle timeout)."""
    return sum(await asyncio.gather(*(_closed_by_peer(r) for r, _ in conns)))


@pytest.mark.slow
async def test_many_connections_are_bounded(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    limits = SmiLimits(
        idle_timeout=10.0,
        read_timeout=0.5,
        max_connections=100,
        max_connections_per_peer=1000,
        rate_per_peer=10_000,
        burst_per_peer=10_000,
    )
    async with SmiClientListener(Recorder(), port=0, limits=limits) as listener:
        conns = await _open_many(listener.port, 500)
        assert len(conns) == 500
        await _all_seen(listener, 500)
        assert listener.active_connections == 100
        # the 400 past the limit were closed at once; the 100 admitted are still open
        assert await _count_closed(conns) == 400
        # flood logging is summarised, not one line per connection
        assert 1 <= len(logged(caplog, "connection limit")) <= 3
        for _, writer in conns:
            writer.close()
        await asyncio.sleep(0.3)
        assert listener.active_connections == 0
        await still_serving(listener.port)


async def test_per_peer_connection_limit() -> None:
    limits = SmiLimits(idle_timeout=2.0, max_connections_per_peer=5)
    async with SmiClientListener(Recorder(), port=0, limits=limits) as listener:
        conns = await _open_many(listener.port, 8)
        await _all_seen(listener, 8)
        assert listener.active_connections == 5
        assert await _count_closed(conns) == 3
        for _, writer in conns:
            writer.close()
        await asyncio.sleep(0.2)
        await still_serving(listener.port)


async def test_per_peer_rate_limit() -> None:
    owner = Recorder()
    limits = SmiLimits(rate_per_peer=0.5, burst_per_peer=3)
    async with SmiDirectorServer(owner, port=0, limits=limits) as director:
        sender = SmiClientSender("127.0.0.1", director.port, timeout=10)
        for i in range(3):
            await sender.send(Hello(sequence=i))
        with pytest.raises(SmiSendError):
            await sender.send(Hello(sequence=9))
        # another peer address is not affected
        other = SmiClientSender("127.0.0.1", director.port, local_host="127.0.0.7")
        assert (await other.send(Hello(sequence=10))).acked_sequence == 10


async def test_a_large_stream_is_cut_off(client: tuple) -> None:
    listener, _ = client
    _, writer = await asyncio.open_connection("127.0.0.1", listener.port)
    sent = 0
    junk = b"\xff" * 65536
    with pytest.raises((ConnectionError, TimeoutError)):
        async with asyncio.timeout(5):
            for _ in range(200):  # up to 13 MB; the listener stops reading long before
                writer.write(junk)
                await writer.drain()
                sent += len(junk)
    writer.close()
    assert sent < 13 * 1024 * 1024
    await still_serving(listener.port)
