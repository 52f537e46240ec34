"""DHCP codec: RFC 2131/2132 packets, RFC 3925 option 125, RFC 3046 option 82, bad input."""

from __future__ import annotations

import contextlib
import ipaddress
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartinstall.wire.dhcp import (
    BOOTREPLY,
    BOOTREQUEST,
    CISCO_ENTERPRISE,
    MAGIC_COOKIE,
    MAX_OPTIONS,
    DhcpDecodeError,
    DhcpPacket,
    MessageType,
    Opt,
    RelayAgentInfo,
    VendorBlock,
    decode_options,
    decode_relay_agent_info,
    decode_vivso,
    encode_options,
    encode_relay_agent_info,
    encode_vivso,
    ip_list_value,
    parse_ip_list,
    smart_install_vivso,
)

VECTORS = Path(__file__).resolve().parents[3] / ".." / "shared" / "spec" / "vectors"


def vector(name: str) -> bytes:
    path = VECTORS / name
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path.read_bytes()


def header(op: int = BOOTREQUEST, **fields: bytes) -> bytes:
    """A 236-byte BOOTP header with chaddr 00:11:22:33:44:55 and xid 0x1234."""
    return struct.pack(
        "!BBBBIHH4s4s4s4s16s64s128s",
        op,
        1,
        6,
        0,
        0x1234,
        0,
        0,
        fields.get("ciaddr", bytes(4)),
        bytes(4),
        bytes(4),
        fields.get("giaddr", bytes(4)),
        bytes.fromhex("001122334455") + bytes(10),
        fields.get("sname", bytes(64)),
        fields.get("file", bytes(128)),
    )


# ------------------------------------------------------------------ the vectors


def test_cisco_option_125_vector_round_trips() -> None:
    raw = vector("dhcp_opt125_cisco_subopt5_autoinstall_dhcp.bin")
    options = decode_options(raw)
    assert options == [(125, raw[2:])]
    assert encode_options(options, end=False) == raw
    blocks = decode_vivso(options[0][1])
    assert blocks == [VendorBlock(CISCO_ENTERPRISE, ((5, b"autoinstall_dhcp"),))]
    assert encode_vivso(blocks) == raw[2:]
    # The builder the director uses produces the same bytes.
    assert smart_install_vivso(imagelist="autoinstall_dhcp") == raw[2:]


def test_dell_option_125_vector_round_trips() -> None:
    raw = vector("dhcp_opt125_dell674_reference.bin")
    blocks = decode_vivso(raw)
    assert blocks[0].enterprise == 674
    assert blocks[0].get(5) == b"autoinstall_dhcp"
    assert encode_vivso(blocks) == raw


def test_option_150_vector_round_trips() -> None:
    raw = vector("dhcp_opt150_tftp_192_0_2_10.bin")
    options = decode_options(raw)
    assert options == [(150, ip_list_value(["192.0.2.10"]))]
    assert parse_ip_list(options[0][1]) == [ipaddress.IPv4Address("192.0.2.10")]
    assert encode_options(options, end=False) == raw


def test_director_ip_is_sub_option_16() -> None:
    value = smart_install_vivso(imagelist="imagelist.txt", director="192.0.2.1")
    (block,) = decode_vivso(value)
    assert block.enterprise == 9
    assert block.get(5) == b"imagelist.txt"
    assert block.get(16) == bytes([192, 0, 2, 1])


# --------------------------------------------------------------------- packets


def full_packet() -> DhcpPacket:
    return DhcpPacket(
        op=BOOTREPLY,
        xid=0xDEADBEEF,
        flags=0x8000,
        yiaddr=bytes([10, 0, 0, 5]),
        siaddr=bytes([10, 0, 0, 40]),
        giaddr=bytes([10, 0, 0, 1]),
        chaddr=bytes.fromhex("0021d7aefc00") + bytes(10),
        options=[
            (Opt.MESSAGE_TYPE, bytes([MessageType.ACK])),
            (Opt.SUBNET_MASK, bytes([255, 255, 255, 0])),
            (Opt.ROUTER, bytes([10, 0, 0, 30])),
            (Opt.DNS_SERVERS, ip_list_value(["10.0.0.2", "10.0.0.3"])),
            (Opt.HOSTNAME, b"Switch-1"),
            (Opt.DOMAIN_NAME, b"branch.example"),
            (Opt.LEASE_TIME, struct.pack("!I", 3600)),
            (Opt.SERVER_ID, bytes([10, 0, 0, 20])),
            (Opt.VENDOR_CLASS, b"cisco-C2960"),
            (Opt.CLIENT_ID, b"\x00cisco-0021.d7ae.fc00-Vl1"),
            (Opt.TFTP_SERVER_NAME, b"10.0.0.40"),
            (Opt.BOOTFILE_NAME, b"config.txt"),
            (Opt.RELAY_AGENT_INFO, b"\x01\x04Gi01\x02\x06switch"),
            (Opt.VIVSO, smart_install_vivso("imagelist.txt", "10.0.0.20")),
            (Opt.TFTP_SERVER_ADDRESS, ip_list_value(["10.0.0.40"])),
        ],
    )


def test_packet_round_trip_keeps_every_option() -> None:
    packet = full_packet()
    raw = packet.encode()
    again = DhcpPacket.decode(raw)
    assert again == packet
    assert again.encode() == raw
    assert again.message_type == MessageType.ACK
    assert again.mac == bytes.fromhex("0021d7aefc00")
    assert again.broadcast
    info = again.relay_agent_info
    assert info is not None
    assert info.circuit_id == b"Gi01"
    assert info.remote_id == b"switch"
    assert encode_relay_agent_info(info) == again.get(Opt.RELAY_AGENT_INFO)


def test_encode_pads_to_bootp_minimum() -> None:
    raw = DhcpPacket(options=[(Opt.MESSAGE_TYPE, b"\x01")]).encode()
    assert len(raw) == 300
    assert raw[236:240] == MAGIC_COOKIE


def test_long_option_is_split_and_joined_rfc3396() -> None:
    long_value = bytes(range(256)) * 2  # 512 bytes
    packet = DhcpPacket(options=[(Opt.MESSAGE_TYPE, b"\x01"), (43, long_value)])
    raw = packet.encode()
    assert raw.count(bytes([43, 255])) >= 2
    assert DhcpPacket.decode(raw).get(43) == long_value


def test_option_overload_reads_file_then_sname() -> None:
    file_field = encode_options([(Opt.BOOTFILE_NAME, b"from-file")]).ljust(128, b"\0")
    sname_field = encode_options([(Opt.HOSTNAME, b"from-sname")]).ljust(64, b"\0")
    raw = (
        header(file=file_field, sname=sname_field)
        + MAGIC_COOKIE
        + encode_options([(Opt.MESSAGE_TYPE, b"\x01"), (Opt.OVERLOAD, b"\x03")])
    )
    packet = DhcpPacket.decode(raw)
    assert packet.get(Opt.BOOTFILE_NAME) == b"from-file"
    assert packet.get(Opt.HOSTNAME) == b"from-sname"
    assert packet.get(Opt.OVERLOAD) is None
    assert packet.file == bytes(128)


def test_option_overload_inside_overloaded_field_does_not_loop() -> None:
    # The file field claims overload again (and sname); it must be ignored, not followed.
    file_field = encode_options([(Opt.OVERLOAD, b"\x03"), (Opt.HOSTNAME, b"x")]).ljust(128, b"\0")
    sname_field = encode_options([(Opt.OVERLOAD, b"\x01")]).ljust(64, b"\0")
    raw = (
        header(file=file_field, sname=sname_field)
        + MAGIC_COOKIE
        + encode_options([(Opt.MESSAGE_TYPE, b"\x01"), (Opt.OVERLOAD, b"\x01")])
    )
    packet = DhcpPacket.decode(raw)
    assert packet.get(Opt.HOSTNAME) == b"x"
    assert packet.sname == sname_field  # not overloaded: left as is


@pytest.mark.parametrize("value", [b"", b"\x00", b"\x04", b"\x01\x02"])
def test_bad_overload_value_is_an_error(value: bytes) -> None:
    raw = header() + MAGIC_COOKIE + bytes([52, len(value)]) + value + b"\xff"
    with pytest.raises(DhcpDecodeError):
        DhcpPacket.decode(raw)


# ------------------------------------------------------------------- bad input


def test_truncated_packets_are_errors() -> None:
    raw = full_packet().encode()
    for cut in (0, 1, 100, 235, 239):
        with pytest.raises(DhcpDecodeError):
            DhcpPacket.decode(raw[:cut])


def test_option_length_past_the_end_is_an_error() -> None:
    raw = header() + MAGIC_COOKIE + bytes([53, 1, 1, 12, 40]) + b"short"
    with pytest.raises(DhcpDecodeError, match="claims 40 bytes"):
        DhcpPacket.decode(raw)


def test_option_without_length_byte_is_an_error() -> None:
    with pytest.raises(DhcpDecodeError):
        DhcpPacket.decode(header() + MAGIC_COOKIE + bytes([53]))


def test_ten_thousand_options_are_refused() -> None:
    raw = header() + MAGIC_COOKIE + bytes([53, 1, 1]) + bytes([224, 0]) * 10_000 + b"\xff"
    with pytest.raises(DhcpDecodeError, match="more than"):
        DhcpPacket.decode(raw)
    # 10,000 pads are fine: they are not options.
    padded = header() + MAGIC_COOKIE + bytes([53, 1, 1]) + bytes(10_000) + b"\xff"
    assert DhcpPacket.decode(padded).message_type == 1


def test_option_limit_counts_overloaded_fields() -> None:
    file_field = bytes([224, 0]) * 64
    raw = (
        header(file=file_field)
        + MAGIC_COOKIE
        + bytes([53, 1, 1, 52, 1, 1])
        + bytes([225, 0]) * (MAX_OPTIONS - 2)
        + b"\xff"
    )
    with pytest.raises(DhcpDecodeError):
        DhcpPacket.decode(raw)


def test_bogus_message_types_decode_but_are_flagged() -> None:
    for value in (b"\x00", b"\x63", b"\xff"):
        packet = DhcpPacket.decode(header() + MAGIC_COOKIE + b"\x35\x01" + value + b"\xff")
        assert packet.message_type == value[0]
        assert packet.message_type not in set(MessageType) or value == b"\x01"
    two_bytes = DhcpPacket.decode(header() + MAGIC_COOKIE + b"\x35\x02\x01\x01\xff")
    assert two_bytes.message_type is None
    assert DhcpPacket.decode(header() + MAGIC_COOKIE + b"\xff").message_type is None


def test_bad_header_fields_are_errors() -> None:
    good = bytearray(header() + MAGIC_COOKIE + b"\xff")
    bad_op = bytearray(good)
    bad_op[0] = 3
    bad_hlen = bytearray(good)
    bad_hlen[2] = 17
    bad_cookie = bytearray(good)
    bad_cookie[236] = 0
    for raw in (bad_op, bad_hlen, bad_cookie):
        with pytest.raises(DhcpDecodeError):
            DhcpPacket.decode(bytes(raw))
    with pytest.raises(DhcpDecodeError):
        DhcpPacket.decode(bytes(good) + bytes(70_000))


@pytest.mark.parametrize(
    "value",
    [
        b"\x00\x00\x00",
        b"\x00\x00\x00\x09\x05\x05",
        b"\x00\x00\x00\x09\x02\x05",
        b"\x00\x00\x00\x09\x03\x05\x04ab",
    ],
)
def test_bad_option_125_is_an_error(value: bytes) -> None:
    with pytest.raises(DhcpDecodeError):
        decode_vivso(value)


@pytest.mark.parametrize("value", [b"\x01", b"\x01\x05abc", b"\x01\x00\x02"])
def test_bad_option_82_is_an_error(value: bytes) -> None:
    with pytest.raises(DhcpDecodeError):
        decode_relay_agent_info(value)


def test_option_82_keeps_unknown_suboptions() -> None:
    raw = b"\x01\x02ab\x09\x03xyz\x02\x01r"
    info = decode_relay_agent_info(raw)
    assert info == RelayAgentInfo(((1, b"ab"), (9, b"xyz"), (2, b"r")))
    assert encode_relay_agent_info(info) == raw


def test_bad_address_list() -> None:
    with pytest.raises(DhcpDecodeError):
        parse_ip_list(b"\x01\x02\x03")


def test_set_and_remove_keep_lookup_consistent() -> None:
    packet = DhcpPacket(options=[(Opt.MESSAGE_TYPE, b"\x01")])
    assert packet.get(Opt.HOSTNAME) is None
    packet.set(Opt.HOSTNAME, b"a")
    assert packet.get(Opt.HOSTNAME) == b"a"
    packet.set(Opt.HOSTNAME, b"b")
    assert packet.options == [(Opt.MESSAGE_TYPE, b"\x01"), (Opt.HOSTNAME, b"b")]
    assert packet.get(Opt.HOSTNAME) == b"b"
    packet.remove(Opt.HOSTNAME)
    assert packet.get(Opt.HOSTNAME) is None
    packet.options = [(Opt.HOSTNAME, b"c")]
    assert packet.get(Opt.HOSTNAME) == b"c"


# ------------------------------------------------------------------- hypothesis

option_pairs = st.lists(
    st.tuples(
        st.integers(1, 254).filter(lambda c: c != Opt.OVERLOAD), st.binary(min_size=0, max_size=300)
    ),
    max_size=20,
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_decode_never_crashes_on_random_bytes(data: bytes) -> None:
    for raw in (data, header() + MAGIC_COOKIE + data, header(op=BOOTREPLY) + MAGIC_COOKIE + data):
        try:
            packet = DhcpPacket.decode(raw)
        except DhcpDecodeError:
            continue
        assert packet.op in (BOOTREQUEST, BOOTREPLY)
        _ = packet.message_type, packet.requested_ip, packet.server_id, packet.mac
        with contextlib.suppress(DhcpDecodeError):
            _ = packet.relay_agent_info


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_sub_option_decoders_never_crash(data: bytes) -> None:
    for decoder in (decode_vivso, decode_relay_agent_info, decode_options, parse_ip_list):
        with contextlib.suppress(DhcpDecodeError):
            decoder(data)


@settings(max_examples=200, deadline=None)
@given(option_pairs)
def test_options_round_trip(pairs: list[tuple[int, bytes]]) -> None:
    decoded = decode_options(encode_options(pairs))
    # Split values come back as consecutive pieces; joined they equal the original.
    packet = DhcpPacket.decode(header() + MAGIC_COOKIE + encode_options(pairs))
    joined: dict[int, bytes] = {}
    for code, value in pairs:
        joined[code] = joined.get(code, b"") + value
    assert {c: packet.get(c) for c in joined} == joined
    assert sum(len(v) for _, v in decoded) == sum(len(v) for _, v in pairs)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 0xFFFFFFFF),
    st.binary(min_size=6, max_size=6),
    st.lists(
        st.tuples(st.integers(1, 254), st.binary(min_size=1, max_size=40)),
        max_size=10,
        unique_by=lambda p: p[0],
    ),
)
def test_packet_round_trip(xid: int, mac: bytes, pairs: list[tuple[int, bytes]]) -> None:
    pairs = [(c, v) for c, v in pairs if c != Opt.OVERLOAD]
    packet = DhcpPacket(xid=xid, chaddr=mac + bytes(10), options=pairs)
    again = DhcpPacket.decode(packet.encode())
    assert again == packet


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 0xFFFFFFFF),
            st.lists(st.tuples(st.integers(0, 255), st.binary(max_size=30)), max_size=5),
        ),
        max_size=4,
    )
)
def test_vivso_round_trip(blocks: list[tuple[int, list[tuple[int, bytes]]]]) -> None:
    typed = [VendorBlock(e, tuple(subs)) for e, subs in blocks]
    assert decode_vivso(encode_vivso(typed)) == typed
