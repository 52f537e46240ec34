"""What the emulated switch reads from the network, on any input: the DHCP answer and the HTTP
exec request head."""

from __future__ import annotations

import base64
import socket

from hypothesis import given
from hypothesis import strategies as st

from smartinstall.switch.netio import parse_exec_request, parse_lease
from smartinstall.wire.dhcp import DhcpPacket, Opt, smart_install_vivso


def test_parse_lease_reads_the_smart_install_options() -> None:
    packet = DhcpPacket(
        yiaddr=socket.inet_aton("10.1.1.20"),
        options=[
            (Opt.VIVSO, smart_install_vivso("vstack/imagelist-default.txt", "10.1.1.1")),
            (Opt.BOOTFILE_NAME, b"seed.txt"),
            (Opt.TFTP_SERVER_ADDRESS, socket.inet_aton("10.1.1.2")),
            (Opt.HOSTNAME, b"STORE-01.0020"),
        ],
    )
    lease = parse_lease(packet)
    assert (
        lease.ip,
        lease.imagelist,
        lease.director,
        lease.config,
        lease.tftp_server,
        lease.hostname,
    ) == (
        "10.1.1.20",
        "vstack/imagelist-default.txt",
        "10.1.1.1",
        "seed.txt",
        "10.1.1.2",
        "STORE-01.0020",
    )
    assert lease.smart_install
    bare = parse_lease(DhcpPacket(yiaddr=socket.inet_aton("10.1.1.21")))
    assert not bare.smart_install and bare.config is None


@given(
    st.lists(
        st.tuples(st.sampled_from([12, 67, 125, 150, 43, 1]), st.binary(max_size=40)), max_size=8
    )
)
def test_parse_lease_never_fails(options: list[tuple[int, bytes]]) -> None:
    lease = parse_lease(DhcpPacket(yiaddr=bytes(4), options=options))
    assert lease.ip == "0.0.0.0"


def _auth(password: str) -> bytes:
    return b"Authorization: Basic " + base64.b64encode(f":{password}".encode()) + b"\r\n"


def test_exec_request() -> None:
    head = (
        b"GET /level/15/exec/-/copy%20tftp%3A%2F%2F10.0.0.1%2Fc.txt%20startup-config "
        b"HTTP/1.0\r\n" + _auth("s3cret") + b"\r\n"
    )
    assert parse_exec_request(head) == ("copy tftp://10.0.0.1/c.txt startup-config", "s3cret")
    words = b"GET /level/15/exec/-/show/version/CR HTTP/1.1\r\n\r\n"
    assert parse_exec_request(words) == ("show version", None)
    assert parse_exec_request(b"GET /index.html HTTP/1.0\r\n\r\n") == (None, None)
    assert parse_exec_request(b"POST / HTTP/1.0\r\n\r\n") == "400 Bad Request"
    assert parse_exec_request(b"GET /x HTTP/1.0\r\nAuthorization: Basic !!\r\n\r\n") == (None, None)


@given(st.binary(max_size=300))
def test_exec_request_never_fails(head: bytes) -> None:
    result = parse_exec_request(head)
    assert isinstance(result, str | tuple)
