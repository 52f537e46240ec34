"""TFTP codec: RFC 1350 packets, RFC 2347/2348/2349/7440 options, netascii."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartinstall.wire import tftp
from smartinstall.wire.tftp import (
    Ack,
    Data,
    Error,
    ErrorCode,
    MalformedPacket,
    Mode,
    OAck,
    Opcode,
    Request,
    ServerLimits,
)


def rrq(name: bytes, mode: bytes = b"octet", *opts: bytes) -> bytes:
    return b"\x00\x01" + name + b"\0" + mode + b"\0" + b"".join(o + b"\0" for o in opts)


# -- RFC 1350 packets -----------------------------------------------------------------------


def test_rrq_bytes_are_exact() -> None:
    packet = tftp.encode_request(Opcode.RRQ, "imagelist.txt", Mode.OCTET, {"blksize": "1468"})
    assert packet == b"\x00\x01imagelist.txt\0octet\0blksize\x001468\0"
    assert tftp.parse(packet) == Request(
        Opcode.RRQ, "imagelist.txt", Mode.OCTET, {"blksize": "1468"}
    )


def test_wrq_mode_is_case_insensitive_and_option_names_lowercased() -> None:
    packet = b"\x00\x02conf.REV1\0NetASCII\0BLKSIZE\x00512\0TSize\x00100\0"
    req = tftp.parse(packet)
    assert req == Request(
        Opcode.WRQ, "conf.REV1", Mode.NETASCII, {"blksize": "512", "tsize": "100"}
    )
    assert isinstance(req, Request) and not req.is_read


def test_data_ack_error_oack_exact_bytes() -> None:
    assert tftp.encode_data(1, b"abc") == b"\x00\x03\x00\x01abc"
    assert tftp.encode_data(65536, b"") == b"\x00\x03\x00\x00"  # block numbers wrap
    assert tftp.encode_ack(7) == b"\x00\x04\x00\x07"
    assert tftp.encode_error(1, "File not found") == b"\x00\x05\x00\x01File not found\0"
    assert tftp.encode_oack({"blksize": "1468"}) == b"\x00\x06blksize\x001468\0"
    assert tftp.parse(b"\x00\x03\x00\x02xyz") == Data(2, b"xyz")
    assert tftp.parse(b"\x00\x04\xff\xff") == Ack(65535)
    assert tftp.parse(b"\x00\x05\x00\x02nope\0") == Error(2, "nope")
    assert tftp.parse(b"\x00\x06tsize\x0042\0") == OAck({"tsize": "42"})


@pytest.mark.parametrize(
    "packet",
    [
        b"",
        b"\x00",
        b"\x00\x01file-without-nul",  # request with no NUL at all
        b"\x00\x01file\0octet",  # mode not terminated
        b"\x00\x01file\0",  # no mode
        b"\x00\x01\0octet\0",  # empty file name
        b"\x00\x01file\0mail\0",  # RFC 1350's obsolete mail mode
        b"\x00\x01file\0ebcdic\0",  # unknown mode
        b"\x00\x01\xff\xfe\0octet\0",  # file name not UTF-8
        b"\x00\x01file\0octet\0\0\x0012\0",  # empty option name
        b"\x00\x03\x00",  # short DATA
        b"\x00\x04\x00",  # short ACK
        b"\x00\x05\x00",  # short ERROR
        b"\x00\x07\x00\x00",  # unknown opcode
        b"\x00\x00",
        b"\x00\x01" + b"a" * 2000 + b"\0octet\0",  # over-long request
        b"\x00\x03\x00\x01" + b"x" * 65465,  # DATA past the largest block size
    ],
)
def test_malformed_packets_raise_malformed(packet: bytes) -> None:
    with pytest.raises(MalformedPacket) as info:
        tftp.parse(packet)
    assert info.value.code in (ErrorCode.ILLEGAL_OPERATION,)


def test_error_packet_parsed_leniently() -> None:
    assert tftp.parse(b"\x00\x05\x00\x08no terminator") == Error(8, "no terminator")
    assert tftp.parse(b"\x00\x05\x00\x00") == Error(0, "")


def test_duplicate_options_first_wins_and_dangling_name_dropped() -> None:
    req = tftp.parse(rrq(b"f", b"octet", b"blksize", b"1024", b"blksize", b"8", b"tsize"))
    assert isinstance(req, Request)
    assert req.options == {"blksize": "1024"}


def test_too_many_options_refused() -> None:
    opts: list[bytes] = []
    for i in range(tftp.MAX_OPTIONS + 1):
        opts += [b"x%d" % i, b"1"]
    with pytest.raises(MalformedPacket):
        tftp.parse(rrq(b"f", b"octet", *opts))


# -- option negotiation ---------------------------------------------------------------------


def negotiate(
    opts: dict[str, str],
    *,
    read: bool = True,
    size: int | None = 1000,
    limits: ServerLimits | None = None,
) -> tuple[tftp.TransferOptions, dict[str, str]]:
    req = Request(Opcode.RRQ if read else Opcode.WRQ, "f", Mode.OCTET, opts)
    return tftp.negotiate(req, limits or ServerLimits(), size)


def test_no_options_no_oack() -> None:
    values, oack = negotiate({})
    assert oack == {}
    assert values == tftp.TransferOptions(512, 1, None, None)


@pytest.mark.parametrize(
    ("asked", "answered"),
    [
        ("8", "8"),
        ("1468", "1468"),
        ("65464", "65464"),
        ("70000", "65464"),
        ("0", None),
        ("7", None),
        ("-1", None),
        ("abc", None),
        ("9" * 400, None),
        ("", None),
    ],
)
def test_blksize_bounds(asked: str, answered: str | None) -> None:
    values, oack = negotiate({"blksize": asked})
    assert oack.get("blksize") == answered
    assert values.blksize == (int(answered) if answered else 512)


def test_blksize_capped_by_server_limit_and_windowsize_capped() -> None:
    limits = ServerLimits(max_blksize=1468, max_windowsize=16)
    values, oack = negotiate({"blksize": "8192", "windowsize": "64"}, limits=limits)
    assert oack == {"blksize": "1468", "windowsize": "16"}
    assert (values.blksize, values.windowsize) == (1468, 16)


@pytest.mark.parametrize(
    ("asked", "ok"), [("1", True), ("255", True), ("0", False), ("256", False)]
)
def test_timeout_range_and_echo(asked: str, ok: bool) -> None:
    values, oack = negotiate({"timeout": asked})
    assert ("timeout" in oack) is ok
    if ok:
        assert oack["timeout"] == asked and values.timeout == float(asked)


def test_tsize_read_reports_file_size_write_echoes() -> None:
    values, oack = negotiate({"tsize": "0"}, size=12345)
    assert oack == {"tsize": "12345"} and values.tsize == 12345
    _, oack = negotiate({"tsize": "0"}, size=None)  # unknown size (netascii): not answered
    assert oack == {}
    values, oack = negotiate({"tsize": "777"}, read=False, size=None)
    assert oack == {"tsize": "777"} and values.tsize == 777


def test_unknown_options_ignored() -> None:
    _, oack = negotiate({"multicast": "", "rollover": "0", "blksize": "1024"})
    assert oack == {"blksize": "1024"}


def test_client_accepts_valid_oack_and_refuses_bad_ones() -> None:
    asked = {"blksize": "1468", "windowsize": "8", "tsize": "0", "timeout": "2"}
    got = tftp.accept_oack(
        asked, {"blksize": "1024", "windowsize": "4", "tsize": "99", "timeout": "2"}
    )
    assert got == tftp.TransferOptions(1024, 4, 2.0, 99)
    for bad in (
        {"blksize": "2000"},
        {"windowsize": "9"},
        {"timeout": "3"},
        {"foo": "1"},
        {"blksize": "x"},
        {"blksize": "4"},
    ):
        with pytest.raises(MalformedPacket) as info:
            tftp.accept_oack(asked, bad)
        assert info.value.code == ErrorCode.OPTION_REFUSED


# -- netascii -------------------------------------------------------------------------------


def test_netascii_exact() -> None:
    assert tftp.netascii_encode(b"a\nb\rc\r\n") == b"a\r\nb\r\0c\r\0\r\n"
    decoder = tftp.NetasciiDecoder()
    assert decoder.feed(b"a\r") == b"a"
    assert decoder.feed(b"\nb\r") == b"\nb"
    assert decoder.feed(b"\0") == b"\r"
    assert decoder.finish() == b""


@given(st.binary(max_size=300), st.lists(st.integers(min_value=0, max_value=400), max_size=6))
def test_netascii_round_trip_in_any_chunking(data: bytes, cuts: list[int]) -> None:
    wire = tftp.netascii_encode(data)
    decoder = tftp.NetasciiDecoder()
    out = bytearray()
    last = 0
    for cut in sorted(c % (len(wire) + 1) for c in cuts):
        out += decoder.feed(wire[last:cut])
        last = cut
    out += decoder.feed(wire[last:])
    out += decoder.finish()
    assert bytes(out) == data


# -- properties -----------------------------------------------------------------------------

_option_text = st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=127), max_size=12)


@given(st.binary(max_size=1200))
def test_parse_never_raises_anything_but_malformed(packet: bytes) -> None:
    with contextlib.suppress(MalformedPacket):
        tftp.parse(packet)


@given(st.sampled_from([1, 2, 3, 4, 5, 6]), st.binary(max_size=600))
def test_parse_any_body_of_every_opcode(opcode: int, body: bytes) -> None:
    try:
        packet = tftp.parse(struct.pack("!H", opcode) + body)
    except MalformedPacket:
        return
    # whatever parses, negotiates without error
    if isinstance(packet, Request):
        values, _ = tftp.negotiate(packet, ServerLimits(), 10)
        assert tftp.MIN_BLKSIZE <= values.blksize <= tftp.MAX_BLKSIZE
        assert 1 <= values.windowsize <= 64


@given(
    st.sampled_from([Opcode.RRQ, Opcode.WRQ]),
    st.text(alphabet=st.characters(min_codepoint=1, codec="utf-8"), min_size=1, max_size=60),
    st.sampled_from(list(Mode)),
    st.dictionaries(
        _option_text.filter(lambda s: s != "").map(str.lower), _option_text, max_size=5
    ),
)
def test_request_round_trip(opcode: Opcode, name: str, mode: Mode, options: dict[str, str]) -> None:
    packet = tftp.encode_request(opcode, name, mode, options)
    assert tftp.parse(packet) == Request(opcode, name, mode, options)


@given(st.integers(min_value=0, max_value=0xFFFF), st.binary(max_size=2000))
def test_data_round_trip(block: int, payload: bytes) -> None:
    assert tftp.parse(tftp.encode_data(block, payload)) == Data(block, payload)


@given(
    st.dictionaries(
        st.sampled_from(["blksize", "windowsize", "timeout", "tsize", "x"]),
        st.text(alphabet="0123456789", max_size=25),
    )
)
def test_negotiated_oack_is_accepted_by_client(options: dict[str, str]) -> None:
    req = Request(Opcode.RRQ, "f", Mode.OCTET, options)
    values, oack = tftp.negotiate(req, ServerLimits(), 4096)
    if "tsize" in options and tftp._int_value(options["tsize"]) != 0:
        oack.pop("tsize", None)
    assert tftp.parse(tftp.encode_oack(oack)) == OAck(oack)
    client = tftp.accept_oack(options, oack)
    assert (client.blksize, client.windowsize, client.timeout) == (
        values.blksize,
        values.windowsize,
        values.timeout,
    )
