"""Our client <-> director messages (docs/protocol.md) and the authentication trailer."""

from __future__ import annotations

import struct

import pytest

from smartinstall.wire.smi import Header, SmiDecodeError, Tlv, encode_tlvs, frame
from smartinstall.wire.smi_auth import (
    AUTH_TRAILER_SIZE,
    AuthError,
    PeerId,
    PeerKind,
    has_auth_trailer,
    seal,
    unseal,
)
from smartinstall.wire.smi_client import (
    MAX_NEIGHBORS,
    PROTOCOL_VERSION,
    Ack,
    BackupResult,
    Capability,
    ClientMessageType,
    Hello,
    JoinState,
    Keepalive,
    Neighbor,
    NeighborReport,
    Operation,
    StackMember,
    TlvType,
    UpgradeState,
    UpgradeStatus,
    WriteMemory,
    decode_client_message,
    format_mac,
    parse_mac,
)

HELLO = Hello(
    sequence=7,
    mac="0018.7363.4200",
    pid="WS-C3750X-48P",
    serial="FDO1234X0AB",
    sw_version="15.2(2)E3",
    image="c3750e-universalk9-tar.152-2.E3.tar",
    hostname="Switch",
    ip="192.0.2.44",
    stack=(
        StackMember(1, "WS-C3750X-48P", "0018.7363.4200", "FDO1234X0AB"),
        StackMember(2, "WS-C3750X-24T", "0018.7363.4280"),
    ),
    smi_version=2,
    capabilities=Capability.CLIENT | Capability.AUTHENTICATION,
    has_startup_config=False,
    join_state=JoinState.NEW,
)


def test_hello_round_trip_and_header() -> None:
    data = HELLO.encode()
    header = Header.decode(data)
    assert (header.sender, header.version, header.msg_type) == (4, 1, ClientMessageType.HELLO)
    assert header.length == len(data) - 16
    # protocol version TLV first, sequence second
    assert data[16:28] == struct.pack(">III", TlvType.PROTOCOL_VERSION, 4, PROTOCOL_VERSION)
    assert data[28:40] == struct.pack(">III", TlvType.SEQUENCE, 4, 7)
    assert decode_client_message(data) == HELLO


def test_catalyst_4500_hello_carries_supervisor_and_chassis() -> None:
    hello = Hello(mac="0000.0c12.3456", pid="WS-C4506-E", supervisor="sup7-e", chassis="4506")
    decoded = decode_client_message(hello.encode())
    assert isinstance(decoded, Hello)
    assert (decoded.supervisor, decoded.chassis) == ("sup7-e", "4506")


@pytest.mark.parametrize(
    "message",
    [
        NeighborReport(
            sequence=1,
            mac="0018.7363.4200",
            neighbors=(
                Neighbor("Gi1/0/1", "0021.a1ab.9b80", "Switch", "", "Gi0/1", "WS-C2960-48TC-S"),
                Neighbor(
                    "Gi1/0/2",
                    device_id="legacy.example",
                    ip="192.0.2.9",
                    remote_port="Fa0/24",
                    platform="cisco WS-C2950-24",
                ),
            ),
        ),
        Keepalive(
            sequence=2,
            mac="0018.7363.4200",
            ip="192.0.2.44",
            uptime=3600,
            join_state=JoinState.JOINED,
        ),
        WriteMemory(sequence=3, mac="0018.7363.4200", hostname="SwitchA", ip="192.0.2.44"),
        UpgradeStatus(
            sequence=4,
            mac="0018.7363.4200",
            operation=Operation.IMAGE,
            state=UpgradeState.PROGRESS,
            file="c2960-lanbasek9-tar.150-2.SE.tar",
            bytes_done=1 << 33,
            bytes_total=(1 << 33) + 5,
        ),
        UpgradeStatus(
            sequence=5,
            mac="0018.7363.4200",
            operation=Operation.CONFIG,
            state=UpgradeState.FAILED,
            file="x.cfg",
            reason="TFTP: File not found",
        ),
        BackupResult(
            sequence=6,
            mac="0018.7363.4200",
            success=True,
            repository="tftp://192.0.2.1/vstack",
            file="SwitchA-0018.7363.4200.REV2",
        ),
        Ack(sequence=0, acked_type=ClientMessageType.HELLO, acked_sequence=7, status=0),
    ],
)
def test_every_message_round_trips(message: object) -> None:
    data = message.encode()  # type: ignore[attr-defined]
    assert decode_client_message(data) == message


def test_mac_forms() -> None:
    assert (
        parse_mac("00:18:73:63:42:00")
        == parse_mac("0018.7363.4200")
        == parse_mac("00-18-73-63-42-00")
        == bytes.fromhex("001873634200")
    )
    assert format_mac(bytes.fromhex("001873634200")) == "0018.7363.4200"
    assert Hello(mac="00:18:73:63:42:0A").mac == "0018.7363.420a"
    with pytest.raises(ValueError):
        parse_mac("0018.7363.42")


def _raw(msg_type: int, tlvs: list[Tlv], sender: int = 4) -> bytes:
    return frame(sender, 1, msg_type, encode_tlvs(tlvs))


_HEAD = [Tlv(TlvType.PROTOCOL_VERSION, struct.pack(">I", 1)), Tlv(TlvType.SEQUENCE, b"\0\0\0\1")]


def test_unknown_tlvs_are_skipped_duplicates_refused() -> None:
    mac = Tlv(TlvType.MAC, bytes(6))
    ok = decode_client_message(_raw(0x103, [*_HEAD, mac, Tlv(9999, b"future field")]))
    assert isinstance(ok, Keepalive) and ok.mac == "0000.0000.0000"
    with pytest.raises(SmiDecodeError, match="duplicate"):
        decode_client_message(_raw(0x103, [*_HEAD, mac, mac]))


@pytest.mark.parametrize(
    "tlvs, match",
    [
        ([], "PROTOCOL_VERSION"),
        ([_HEAD[1], _HEAD[0]], "PROTOCOL_VERSION"),
        ([Tlv(TlvType.PROTOCOL_VERSION, b"\0\0\0\2"), _HEAD[1]], "protocol version 2"),
        ([*_HEAD, Tlv(TlvType.MAC, b"")], "MAC is 0 bytes"),
        ([*_HEAD, Tlv(TlvType.IP, b"\1\2\3")], "IPv4"),
        ([*_HEAD, Tlv(TlvType.UPTIME, b"\0\0\0\0\0")], "too long|expected 4"),
        ([*_HEAD, Tlv(TlvType.PID, b"a\0b")], "NUL"),
        ([*_HEAD, Tlv(TlvType.PID, b"\xff\xfe")], "UTF-8"),
        ([*_HEAD, Tlv(TlvType.PID, b"h" * 256)], "too long"),
        ([*_HEAD, Tlv(TlvType.JOIN_STATE, b"\0\0\0")], "expected 4"),
    ],
)
def test_malformed_fields_are_refused(tlvs: list[Tlv], match: str) -> None:
    msg_type = (
        ClientMessageType.KEEPALIVE
        if tlvs[-1:] and tlvs[-1].type == TlvType.UPTIME
        else ClientMessageType.HELLO
    )
    with pytest.raises(SmiDecodeError, match=match):
        decode_client_message(_raw(msg_type, tlvs))


def test_nested_garbage_is_refused() -> None:
    # a neighbour whose value is not a TLV list, and one nesting a further list
    bad = Tlv(TlvType.NEIGHBOR, b"\xff" * 11)
    with pytest.raises(SmiDecodeError):
        decode_client_message(_raw(0x102, [*_HEAD, bad]))
    inner = encode_tlvs([Tlv(TlvType.LOCAL_PORT, b"Gi0/1")])
    deeper = Tlv(TlvType.NEIGHBOR, encode_tlvs([Tlv(TlvType.NEIGHBOR, inner)]))
    decoded = decode_client_message(_raw(0x102, [*_HEAD, deeper]))
    # the nested NEIGHBOR inside a neighbour is not a neighbour field: it is skipped, not followed
    assert isinstance(decoded, NeighborReport) and decoded.neighbors == (Neighbor(),)
    members = [Tlv(TlvType.STACK_MEMBER, encode_tlvs([Tlv(TlvType.MEMBER_NUMBER, b"\0\0\0\x11")]))]
    with pytest.raises(SmiDecodeError, match="1-16"):
        decode_client_message(_raw(0x101, [*_HEAD, *members]))


def test_too_many_neighbours_refused() -> None:
    one = Tlv(TlvType.NEIGHBOR, b"")
    ok = decode_client_message(_raw(0x102, [*_HEAD] + [one] * MAX_NEIGHBORS))
    assert isinstance(ok, NeighborReport) and len(ok.neighbors) == MAX_NEIGHBORS
    with pytest.raises(SmiDecodeError):
        decode_client_message(_raw(0x102, [*_HEAD] + [one] * (MAX_NEIGHBORS + 1)))


def test_sender_word_must_match_direction() -> None:
    with pytest.raises(SmiDecodeError, match="sender"):
        decode_client_message(_raw(0x101, list(_HEAD), sender=1))
    with pytest.raises(SmiDecodeError, match="sender"):
        decode_client_message(_raw(ClientMessageType.ACK, list(_HEAD), sender=4))


# ----------------------------------------------------------------------------- authentication

KEY = b"branch-key-2026"
CLIENT = PeerId.client("0018.7363.4200")
DIRECTOR = PeerId.director("192.0.2.1")
BOUND = {"sender": CLIENT, "recipient": DIRECTOR, "counter": 1_700_000_000_000_123}


def test_seal_unseal_round_trip() -> None:
    inner = HELLO.encode()
    sealed = seal(inner, KEY, 1_700_000_000_000, **BOUND)  # type: ignore[arg-type]
    assert len(sealed) == len(inner) + AUTH_TRAILER_SIZE == len(inner) + 122
    assert Header.decode(sealed).length == len(sealed) - 16
    assert has_auth_trailer(sealed) and not has_auth_trailer(inner)
    out = unseal(sealed, KEY)
    assert out.frame == inner and out.timestamp_ms == 1_700_000_000_000
    assert (out.sender, out.recipient, out.counter) == (CLIENT, DIRECTOR, BOUND["counter"])
    assert decode_client_message(out.frame) == HELLO


def test_every_byte_is_covered_by_the_mac() -> None:
    sealed = seal(WriteMemory(mac="0018.7363.4200").encode(), KEY, 1, **BOUND)  # type: ignore[arg-type]
    for i in range(len(sealed)):
        tampered = bytearray(sealed)
        tampered[i] ^= 0x01
        with pytest.raises(AuthError):
            unseal(bytes(tampered), KEY)


def test_wrong_key_missing_trailer_and_truncation() -> None:
    sealed = seal(WriteMemory().encode(), KEY, 1, **BOUND)  # type: ignore[arg-type]
    with pytest.raises(AuthError, match="does not match"):
        unseal(sealed, b"another-key-123")
    with pytest.raises(AuthError, match="no authentication trailer"):
        unseal(WriteMemory().encode(), KEY)
    with pytest.raises(AuthError):
        unseal(sealed[:-1], KEY)
    with pytest.raises(ValueError, match="at least"):
        seal(WriteMemory().encode(), b"short", 1, **BOUND)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="64-bit"):
        seal(WriteMemory().encode(), KEY, 1, sender=CLIENT, recipient=DIRECTOR, counter=1 << 64)


def test_the_old_nonce_trailer_is_no_trailer() -> None:
    """The first sealed layout (timestamp, random nonce, HMAC; 80 bytes) bound a message to
    nothing: it is refused as unauthenticated, not misread."""
    import hashlib
    import hmac

    body = WriteMemory().encode()
    header = Header.decode(body)
    old = (
        Header(header.sender, header.version, header.msg_type, header.length + 80).encode()
        + body[16:]
        + struct.pack(">IIQ", 0x534D4101, 8, 1)
        + struct.pack(">II", 0x534D4102, 16)
        + bytes(16)
        + struct.pack(">II", 0x534D4103, 32)
    )
    old += hmac.new(KEY, old, hashlib.sha256).digest()
    with pytest.raises(AuthError, match="no authentication trailer"):
        unseal(old, KEY)


def test_peer_identities() -> None:
    assert CLIENT.raw == bytes([PeerKind.CLIENT]) + bytes.fromhex("001873634200") + bytes(10)
    assert (
        PeerId.client("00:18:73:63:42:00") == CLIENT == PeerId.client(bytes.fromhex("001873634200"))
    )
    assert str(CLIENT) == "client 0018.7363.4200" and CLIENT.is_client
    assert str(DIRECTOR) == "director 192.0.2.1" and not DIRECTOR.is_client
    assert PeerId.director("::ffff:192.0.2.1") == DIRECTOR  # a dual-stack socket's view
    assert PeerId.director("192.0.2.1%eth0") == DIRECTOR
    assert str(PeerId.director("2001:db8::1")) == "director 2001:db8::1"
    named = PeerId.director("director.example")
    assert named.kind == PeerKind.DIRECTOR_NAME and named == PeerId.director("Director.example")
    assert str(PeerId(bytes([9]) + bytes(16))).startswith("unknown peer 09")
    assert str(PeerId(bytes([1]) + bytes(15) + b"x")).startswith("unknown peer")  # not padded
    with pytest.raises(ValueError):
        PeerId(bytes(16))
    with pytest.raises(ValueError):
        PeerId.client("0018.7363")
