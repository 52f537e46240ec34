"""Bounds of the SMI codec: header, fixed layouts, TLVs and type 7 (CVE-2018-0171 class)."""

from __future__ import annotations

import struct

import pytest

from smartinstall.wire.smi import (
    INIT_DISCOVERY_LIMITS,
    BackupConfig,
    DownloadConfig,
    DownloadImage,
    Execute,
    Header,
    InitDiscovery,
    SmiDecodeError,
    Tlv,
    TlvLimits,
    decode_command,
    decode_command_bytes,
    decode_frame,
    decode_tlvs,
    encode_tlvs,
    frame,
)


def test_header_is_four_big_endian_words() -> None:
    header = Header(1, 1, 3, 0x128)
    assert header.encode() == bytes.fromhex("00000001000000010000000300000128")
    assert Header.decode(header.encode() + b"rest") == header
    with pytest.raises(SmiDecodeError, match="short header"):
        Header.decode(b"\0" * 15)
    with pytest.raises(ValueError):
        Header(1 << 32, 0, 0, 0)


def test_frame_length_larger_than_stream_and_past_maximum() -> None:
    data = Header(1, 1, 3, 296).encode() + b"\0" * 100
    with pytest.raises(SmiDecodeError, match="exceeds the 100 payload bytes"):
        decode_frame(data, 4096)
    huge = Header(1, 1, 3, 0xFFFFFFFF).encode()
    with pytest.raises(SmiDecodeError, match="exceeds maximum"):
        decode_frame(huge, 4096)


def test_trailing_bytes_are_split_off() -> None:
    # Metasploit may send a newline after the probe (section 3.1).
    header, payload, trailing = decode_frame(Header(1, 1, 4, 8).encode() + b"\0" * 8 + b"\n", 64)
    assert header.msg_type == 4 and len(payload) == 8 and trailing == b"\n"
    with pytest.raises(SmiDecodeError, match="after the message"):
        decode_command_bytes(Header(1, 1, 4, 8).encode() + b"\0\0\0\1\0\0\0\0\n")


@pytest.mark.parametrize(
    "message",
    [
        DownloadImage.now("tftp://a/b"),
        DownloadConfig("tftp://a/b"),
        Execute("tftp://a/b"),
        BackupConfig.of("copy a b"),
    ],
)
def test_fixed_layouts_refuse_wrong_sizes(message: DownloadImage) -> None:
    data = message.encode()
    header = Header.decode(data)
    payload = data[16:]
    for size in (0, 1, len(payload) - 1):
        with pytest.raises(SmiDecodeError):
            decode_command(Header(header.sender, 1, header.msg_type, size), payload[:size])
    with pytest.raises(SmiDecodeError):
        decode_command(Header(header.sender, 1, header.msg_type, len(payload) + 1), payload + b"\0")


def test_sender_and_version_words_are_checked() -> None:
    data = DownloadConfig("tftp://a/b").encode()
    payload = data[16:]
    with pytest.raises(SmiDecodeError, match="sender"):
        decode_command(Header(2, 1, 3, len(payload)), payload)
    with pytest.raises(SmiDecodeError, match="version"):
        decode_command(Header(1, 0x13, 3, len(payload)), payload)
    execute = Execute("tftp://a/b").encode()
    with pytest.raises(SmiDecodeError, match="sender"):
        decode_command(Header(1, 1, 5, len(execute) - 16), execute[16:])
    with pytest.raises(SmiDecodeError, match="unknown message type"):
        decode_command(Header(1, 1, 6, 0), b"")


def test_text_slots_are_strict() -> None:
    good = bytearray(DownloadConfig("tftp://a/b").encode())
    no_nul = bytearray(good)
    no_nul[180:312] = b"A" * 132
    with pytest.raises(SmiDecodeError, match="not NUL-terminated"):
        decode_command_bytes(bytes(no_nul))
    junk = bytearray(good)
    junk[300] = 0x41
    with pytest.raises(SmiDecodeError, match="after its terminator"):
        decode_command_bytes(bytes(junk))
    binary = bytearray(good)
    binary[181] = 0xFF
    with pytest.raises(SmiDecodeError, match="non-printable"):
        decode_command_bytes(bytes(binary))


def test_encoder_refuses_what_a_slot_cannot_hold() -> None:
    DownloadConfig("x" * 131).encode()
    with pytest.raises(ValueError, match="at most 131"):
        DownloadConfig("x" * 132).encode()
    with pytest.raises(ValueError, match="ASCII"):
        Execute("tftp://a/é").encode()
    with pytest.raises(ValueError, match="NUL"):
        BackupConfig.of("copy\0x").encode()
    with pytest.raises(ValueError, match="at most three"):
        BackupConfig.of("a", "b", "c", "d")
    with pytest.raises(ValueError, match="hh:mm"):
        DownloadImage.at("tftp://a/b", 24, 0)
    with pytest.raises(ValueError, match="hh:mm"):
        DownloadConfig.at("tftp://a/b", 0, 60)


def test_reload_time_out_of_range_is_refused_on_decode() -> None:
    data = bytearray(DownloadConfig.at("tftp://a/b", 23, 59).encode())
    assert decode_command_bytes(bytes(data)) == DownloadConfig.at("tftp://a/b", 23, 59)
    data[40:44] = struct.pack(">I", 24)
    with pytest.raises(SmiDecodeError, match="hh:mm"):
        decode_command_bytes(bytes(data))


# ------------------------------------------------------------------------------------- TLVs


def test_tlv_round_trip_and_zero_length() -> None:
    tlvs = (Tlv(1, b"abc"), Tlv(2, b""), Tlv(0xFFFFFFFF, b"\0" * 10))
    data = encode_tlvs(tlvs)
    assert data[:11] == bytes.fromhex("0000000100000003616263")
    assert decode_tlvs(data, TlvLimits()) == tlvs


def test_tlv_length_past_the_payload() -> None:
    data = struct.pack(">II", 1, 9) + b"12345678"
    with pytest.raises(SmiDecodeError, match="runs past the payload"):
        decode_tlvs(data, TlvLimits())


def test_tlv_stray_bytes_and_count_limit() -> None:
    with pytest.raises(SmiDecodeError, match="stray bytes"):
        decode_tlvs(encode_tlvs([Tlv(1, b"")]) + b"\0\0\0", TlvLimits())
    many = encode_tlvs([Tlv(2, b"")] * 65)
    with pytest.raises(SmiDecodeError, match="more than 64"):
        decode_tlvs(many, TlvLimits(max_count=64))
    assert len(decode_tlvs(many, TlvLimits(max_count=65))) == 65


def test_tlv_per_type_limit() -> None:
    limits = TlvLimits(default_max=4, per_type={7: 2})
    assert decode_tlvs(encode_tlvs([Tlv(1, b"abcd"), Tlv(7, b"ab")]), limits)
    with pytest.raises(SmiDecodeError, match="exceeds its limit 2"):
        decode_tlvs(encode_tlvs([Tlv(7, b"abc")]), limits)
    with pytest.raises(SmiDecodeError, match="exceeds its limit 4"):
        decode_tlvs(encode_tlvs([Tlv(1, b"abcde")]), limits)


# --------------------------------------------------------------------- type 7 / CVE-2018-0171


def test_init_discovery_round_trip() -> None:
    message = InitDiscovery((Tlv(1, b"\0" * 0x58), Tlv(2, b"director")))
    data = message.encode()
    assert data[:12] == bytes.fromhex("000000010000000100000007")
    assert decode_command_bytes(data) == message


def test_init_discovery_overflow_shape_is_refused() -> None:
    """The proof of concept's shape: TLV 1 with a 216-byte value into a 0x58-byte buffer, and a
    header length covering only that value while more bytes follow (wire-protocol.md 3.6)."""
    value = b"\x41" * 36 + struct.pack(">I", 216 - 40 + 40 + 40) + b"\x42" * 176
    tlv = struct.pack(">II", 1, len(value)) + value
    poc_like = Header(1, 1, 7, len(value)).encode() + tlv + b"\x43" * 64
    with pytest.raises(SmiDecodeError):
        decode_command_bytes(poc_like)
    # even with an honest header length, the value is longer than TLV 1 may be
    honest = frame(1, 1, 7, tlv)
    with pytest.raises(SmiDecodeError, match="exceeds its limit 88"):
        decode_command_bytes(honest)
    # and we never send one
    with pytest.raises(ValueError, match="longer than a client can hold"):
        InitDiscovery((Tlv(1, value),)).encode()
    assert INIT_DISCOVERY_LIMITS.max_for(1) == 0x58
