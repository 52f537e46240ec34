"""The HTTP client that drives a non-Smart-Install client's IOS HTTP exec interface
(``director/legacy.py``, httpx) against a real HTTP server on loopback: the request IOS reads
(each word of the command escaped, ``/`` included, basic authentication), the reply bounded,
the answers that are failures, and the environment's proxy settings ignored (guide: "Client
switches that are not Smart Install capable")."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable

import pytest

from smartinstall.director.legacy import MAX_REPLY, LegacyError, http_exec
from tests.integration.director_harness import lab_prefix

Answer = Callable[[bytes], bytes]


class HttpPeer:
    """An HTTP/1.0 server that records each request head and answers with ``answer``."""

    def __init__(self, host: str, answer: Answer) -> None:
        self.host = host
        self.answer = answer
        self.heads: list[bytes] = []
        self.server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            self.heads.append(head)
            writer.write(self.answer(head))
            await writer.drain()
        finally:
            writer.close()


@pytest.fixture
async def peer() -> AsyncIterator[Callable[[Answer], HttpPeer]]:
    """Makes peers on one loopback address of the test's own; closes them at the end."""
    made: list[HttpPeer] = []
    host = f"{lab_prefix()}.1"

    def make(answer: Answer) -> HttpPeer:
        made.append(HttpPeer(host, answer))
        return made[-1]

    yield make
    for each in made:
        if each.server is not None:
            each.server.close()


async def serve(peer: HttpPeer) -> HttpPeer:
    peer.server = await asyncio.start_server(peer._serve, peer.host, 0)
    return peer


def reply(status: str, body: bytes, length: bool = True) -> Answer:
    size = f"Content-Length: {len(body)}\r\n".encode() if length else b""
    return lambda _head: (
        f"HTTP/1.0 {status}\r\nContent-Type: text/plain\r\n".encode() + size + b"\r\n" + body
    )


async def test_the_request_ios_reads(peer: Callable[[Answer], HttpPeer]) -> None:
    server = await serve(peer(reply("200 OK", b"Model number : WS-C2960-24TT-L\n")))
    command = "archive download-sw /overwrite tftp://10.0.0.1/c2960-lanbasek9-tar.150-2.SE11.tar"
    output = await http_exec(server.host, server.port, "s3cret", command, timeout=10)
    assert output == "Model number : WS-C2960-24TT-L\n"
    (head,) = server.heads
    request_line, *headers = head.decode("latin-1").split("\r\n")
    assert request_line == (
        "GET /level/15/exec/-/archive%20download-sw%20%2Foverwrite%20tftp%3A%2F%2F10.0.0.1"
        "%2Fc2960-lanbasek9-tar.150-2.SE11.tar HTTP/1.1"
    )
    fields = {name.lower(): value.strip() for name, _, value in (h.partition(":") for h in headers)}
    assert fields["authorization"] == "Basic " + base64.b64encode(b":s3cret").decode()
    assert fields["host"] == f"{server.host}:{server.port}"
    assert fields["user-agent"] == "smartinstall-director"


async def test_failures_and_the_bound(peer: Callable[[Answer], HttpPeer]) -> None:
    refused = await serve(peer(reply("401 Unauthorized", b"Authorization required\n")))
    with pytest.raises(LegacyError, match=r"enable password refused by .* \(HTTP 401"):
        await http_exec(refused.host, refused.port, "wrong", "show version", timeout=10)
    missing = await serve(peer(reply("404 Not Found", b"")))
    with pytest.raises(LegacyError, match=r"HTTP .*: 404 Not Found"):
        await http_exec(missing.host, missing.port, "s3cret", "show version", timeout=10)
    error = await serve(peer(reply("200 OK", b"%Error opening tftp://x/y (No such file)\n")))
    with pytest.raises(LegacyError, match=r"^%Error opening tftp://x/y"):
        await http_exec(error.host, error.port, "s3cret", "copy tftp://x/y flash:", timeout=10)
    # a reply without a length, read until the peer closes, is cut at MAX_REPLY bytes
    flood = await serve(peer(reply("200 OK", b"x" * (MAX_REPLY * 3), length=False)))
    output = await http_exec(flood.host, flood.port, "s3cret", "show tech-support", timeout=10)
    assert len(output) == MAX_REPLY
    # nobody listening
    port = flood.port
    assert flood.server is not None
    flood.server.close()
    await flood.server.wait_closed()
    with pytest.raises(LegacyError, match=f"HTTP {flood.host}:{port}: "):
        await http_exec(flood.host, port, "s3cret", "show version", timeout=10)


async def test_a_silent_peer_times_out(peer: Callable[[Answer], HttpPeer]) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # never answers; the client gives up
        writer.close()

    server = peer(reply("200 OK", b""))
    server.server = await asyncio.start_server(silent, server.host, 0)
    with pytest.raises(LegacyError, match=r"HTTP .*: "):
        await http_exec(server.host, server.port, "s3cret", "show version", timeout=0.3)


async def test_the_environments_proxy_is_not_used(
    peer: Callable[[Answer], HttpPeer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client is on the director's own network: an HTTP proxy set for the director's host
    (here one that nobody runs) is not in the way."""
    server = await serve(peer(reply("200 OK", b"ok\n")))
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert await http_exec(server.host, server.port, "s3cret", "show clock", timeout=10) == "ok\n"
