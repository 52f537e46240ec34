"""The SMI Proxy's reading of the PnP server's HTTP replies (guide, chapter 4, "How SMI Proxy
and PnP Agent Communicate"): bounded, and nothing the server sends raises anything but
PnpTransportError."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartinstall.director.proxy_agent import PnpTransportError, read_reply
from smartinstall.wire import pnp


def reply(data: bytes) -> bytes:
    async def run() -> bytes:
        reader = asyncio.StreamReader(limit=64 * 1024)
        reader.feed_data(data)
        reader.feed_eof()
        return await read_reply(reader)

    return asyncio.run(run())


def test_a_reply_with_and_without_content_length() -> None:
    assert reply(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef") == b"abc"
    assert reply(b"HTTP/1.0 200 OK\r\n\r\n<pnp/>") == b"<pnp/>"


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
        b"garbage\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (pnp.MAX_MESSAGE_SIZE + 1),
        b"HTTP/1.1 \xb2\xb2\xb2 OK\r\n\r\n",
        b"HTTP/1.1 200",
    ],
)
def test_bad_replies_are_transport_errors(data: bytes) -> None:
    with pytest.raises(PnpTransportError):
        reply(data)


@given(st.binary(max_size=2048))
def test_any_bytes_give_a_body_or_a_transport_error(data: bytes) -> None:
    with contextlib.suppress(PnpTransportError):
        reply(data)


@given(st.binary(max_size=512))
def test_any_header_after_a_status_line(data: bytes) -> None:
    with contextlib.suppress(PnpTransportError):
        reply(b"HTTP/1.1 200 OK\r\n" + data + b"\r\n\r\nbody")
