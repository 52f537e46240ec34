"""Property tests: no input makes an SMI decoder fail other than with SmiDecodeError, and every
message the encoders can produce decodes back to itself. Plus the saved corpus of inputs."""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartinstall.wire import smi_auth
from smartinstall.wire.smi import (
    INIT_DISCOVERY_LIMITS,
    BackupConfig,
    DownloadConfig,
    DownloadImage,
    Execute,
    Header,
    InitDiscovery,
    ProbeReply,
    SmiDecodeError,
    StatusReply,
    Tlv,
    TlvLimits,
    decode_command_bytes,
    decode_tlvs,
)
from smartinstall.wire.smi_client import (
    Ack,
    BackupResult,
    ClientMessageType,
    Hello,
    Keepalive,
    Neighbor,
    NeighborReport,
    StackMember,
    UpgradeStatus,
    WriteMemory,
    decode_client_message,
)

CORPUS = Path(__file__).resolve().parents[2] / "corpus" / "smi"
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _decoders() -> list[Callable[[bytes], object]]:
    return [
        decode_command_bytes,
        decode_client_message,
        lambda b: smi_auth.unseal(b, b"fuzzing-key-0001"),
        lambda b: decode_tlvs(b, TlvLimits()),
        lambda b: decode_tlvs(b, INIT_DISCOVERY_LIMITS),
        ProbeReply.decode,
        StatusReply.decode,
    ]


def _only_decode_errors(data: bytes) -> None:
    for decode in _decoders():
        with contextlib.suppress(SmiDecodeError):
            decode(data)


@FUZZ
@given(st.binary(max_size=2048))
def test_arbitrary_bytes(data: bytes) -> None:
    _only_decode_errors(data)


_TYPES = st.sampled_from([2, 3, 4, 5, 7, 8, *[int(t) for t in ClientMessageType], 6, 0x1234])


@FUZZ
@given(
    sender=st.sampled_from([1, 2, 4, 0xFFFFFFFF]),
    version=st.sampled_from([0, 1, 0x13]),
    msg_type=_TYPES,
    payload=st.binary(max_size=1100),
    lie=st.integers(-8, 8),
)
def test_plausible_header_random_payload(
    sender: int, version: int, msg_type: int, payload: bytes, lie: int
) -> None:
    length = max(0, len(payload) + lie)
    _only_decode_errors(Header(sender, version, msg_type, length).encode() + payload)


_TLV_LIST = st.lists(
    st.builds(
        Tlv, st.sampled_from([0, 1, 2, 16, 17, 22, 23, 30, 0xFFFFFFFF]), st.binary(max_size=40)
    ),
    max_size=12,
)


@FUZZ
@given(msg_type=_TYPES, tlvs=_TLV_LIST, sender=st.sampled_from([1, 4]))
def test_tlv_payloads(msg_type: int, tlvs: list[Tlv], sender: int) -> None:
    head = [Tlv(1, b"\0\0\0\1"), Tlv(2, b"\0\0\0\5")]
    payload = b"".join(t.encode() for t in head + tlvs)
    _only_decode_errors(Header(sender, 1, msg_type, len(payload)).encode() + payload)


# ------------------------------------------------------------------------------ round trips

_slot_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=130)
_hour = st.integers(0, 23)
_minute = st.integers(0, 59)
_word = st.integers(0, 0xFFFFFFFF)

_COMMANDS = st.one_of(
    st.builds(
        DownloadImage,
        imagelist_url=_slot_text,
        reload_now=_word,
        reload_scheduled=_word,
        reload_hour=_hour,
        reload_minute=_minute,
        flags=_word,
        marker=_word,
        trailer=st.integers(0, 255),
    ),
    st.builds(
        DownloadConfig,
        config_url=_slot_text,
        reload=_word,
        reload_hour=_hour,
        reload_minute=_minute,
        unknown=_word,
        spare_slot=_slot_text,
    ),
    st.builds(
        Execute, script_url=_slot_text, word=_word, slot_a=_slot_text, trailer=st.integers(0, 255)
    ),
    st.builds(
        BackupConfig,
        commands=st.tuples(_slot_text, _slot_text, _slot_text),
        preamble=st.binary(min_size=24, max_size=24),
    ),
    st.builds(
        InitDiscovery,
        st.lists(
            st.builds(Tlv, st.integers(0, 0xFFFFFFFF), st.binary(max_size=88)), max_size=8
        ).map(tuple),
    ),
)


@FUZZ
@given(_COMMANDS)
def test_public_commands_round_trip(command: object) -> None:
    data = command.encode()  # type: ignore[attr-defined]
    assert decode_command_bytes(data) == command


_text = st.text(st.characters(blacklist_characters="\0", blacklist_categories=["Cs"]), max_size=20)
_mac = st.binary(min_size=6, max_size=6).map(
    lambda b: f"{b[:2].hex()}.{b[2:4].hex()}.{b[4:].hex()}"
)
_ip = st.one_of(st.just(""), st.ip_addresses(v=4).map(str))
_u32 = st.integers(0, 0xFFFFFFFF)

_CLIENT = st.one_of(
    st.builds(
        Hello,
        sequence=_u32,
        mac=_mac,
        pid=_text,
        serial=_text,
        sw_version=_text,
        image=_text,
        hostname=_text,
        ip=_ip,
        stack=st.lists(
            st.builds(StackMember, st.integers(1, 16), _text, _mac, _text), max_size=9
        ).map(tuple),
        supervisor=_text,
        chassis=_text,
        smi_version=_u32,
        capabilities=_u32,
        has_startup_config=st.booleans(),
        join_state=_u32,
    ),
    st.builds(
        NeighborReport,
        sequence=_u32,
        mac=_mac,
        neighbors=st.lists(
            st.builds(Neighbor, _text, st.one_of(st.just(""), _mac), _text, _ip, _text, _text),
            max_size=20,
        ).map(tuple),
    ),
    st.builds(Keepalive, sequence=_u32, mac=_mac, ip=_ip, uptime=_u32, join_state=_u32),
    st.builds(WriteMemory, sequence=_u32, mac=_mac, hostname=_text, ip=_ip),
    st.builds(
        UpgradeStatus,
        sequence=_u32,
        mac=_mac,
        operation=_u32,
        state=_u32,
        file=_text,
        bytes_done=st.integers(0, 2**64 - 1),
        bytes_total=st.integers(0, 2**64 - 1),
        reason=_text,
    ),
    st.builds(
        BackupResult,
        sequence=_u32,
        mac=_mac,
        success=st.booleans(),
        repository=_text,
        file=_text,
        reason=_text,
    ),
    st.builds(Ack, sequence=_u32, acked_type=_u32, acked_sequence=_u32, status=_u32, reason=_text),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_CLIENT)
def test_client_messages_round_trip(message: object) -> None:
    data = message.encode()  # type: ignore[attr-defined]
    assert decode_client_message(data) == message


@FUZZ
@given(_CLIENT, st.data())
def test_mutated_client_messages(message: object, data: st.DataObject) -> None:
    raw = bytearray(message.encode())  # type: ignore[attr-defined]
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    _only_decode_errors(bytes(raw[:cut]))
    _only_decode_errors(bytes(raw))


_PEER_IDS = st.builds(smi_auth.PeerId, st.binary(min_size=17, max_size=17)) | st.sampled_from(
    [smi_auth.PeerId.client("0018.7363.4200"), smi_auth.PeerId.director("192.0.2.1")]
)
_U64 = st.integers(0, (1 << 64) - 1)


@FUZZ
@given(_COMMANDS, _PEER_IDS, _PEER_IDS, _U64, _U64, st.data())
def test_sealed_messages_resist_tampering(
    command: object,
    sender: smi_auth.PeerId,
    recipient: smi_auth.PeerId,
    counter: int,
    timestamp: int,
    data: st.DataObject,
) -> None:
    key = b"k" * 16
    raw = command.encode()  # type: ignore[attr-defined]
    sealed = smi_auth.seal(raw, key, timestamp, sender=sender, recipient=recipient, counter=counter)
    out = smi_auth.unseal(sealed, key)
    assert (out.frame, out.sender, out.recipient, out.counter, out.timestamp_ms) == (
        raw,
        sender,
        recipient,
        counter,
        timestamp,
    )
    str(out.sender), str(out.recipient)  # any identity can be told in a log line
    i = data.draw(st.integers(0, len(sealed) - 1))
    flip = data.draw(st.integers(1, 255))
    tampered = bytearray(sealed)
    tampered[i] ^= flip
    with pytest.raises(smi_auth.AuthError):
        smi_auth.unseal(bytes(tampered), key)


@FUZZ
@given(_COMMANDS, st.binary(max_size=200), st.data())
def test_forged_trailers_are_refused_without_a_crash(
    command: object, junk: bytes, data: st.DataObject
) -> None:
    """A frame whose trailer has the right TLV types but any values (and any MAC): the
    parser stays bounded and refuses it with an AuthError."""
    raw = command.encode()  # type: ignore[attr-defined]
    body = raw[16:] + junk
    trailer = b"".join(
        struct.pack(">II", t, n) + data.draw(st.binary(min_size=n, max_size=n))
        for t, n in smi_auth._LAYOUT
    )
    cut = data.draw(st.integers(0, len(trailer)))
    payload = body + trailer[cut:]
    for length in (len(payload), data.draw(st.integers(0, (1 << 32) - 1))):
        frame = Header(1, 1, raw[11], length).encode() + payload
        with pytest.raises(smi_auth.AuthError):
            smi_auth.unseal(frame, b"k" * 16)


@FUZZ
@given(st.binary(min_size=17, max_size=17))
def test_any_peer_identity_can_be_told(raw: bytes) -> None:
    text = str(smi_auth.PeerId(raw))
    assert text and len(text) < 80


# ----------------------------------------------------------------------------------- corpus


def _corpus() -> list[Path]:
    return sorted(CORPUS.glob("*.bin"))


def _expectations() -> dict[str, str]:
    table = {}
    for line in (CORPUS / "expected.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, outcome = line.split()
            table[name] = outcome
    return table


def test_corpus_is_not_empty_and_listed() -> None:
    files = {p.name for p in _corpus()}
    assert len(files) >= 10
    assert files == set(_expectations())


@pytest.mark.parametrize("path", _corpus(), ids=lambda p: p.name)
def test_corpus_input(path: Path) -> None:
    data = path.read_bytes()
    _only_decode_errors(data)
    expected = _expectations()[path.name]
    if expected == "refused":
        with pytest.raises(SmiDecodeError):
            decode_command_bytes(data)
        with pytest.raises(SmiDecodeError):
            decode_client_message(data)
    else:
        decoder = {"command": decode_command_bytes, "client": decode_client_message}[expected]
        decoder(data)


def test_corpus_generator_matches_files() -> None:
    """tests/corpus/smi/make_corpus.py regenerates exactly the stored files."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built: dict[str, bytes] = module.build()
    for name, data in built.items():
        assert (CORPUS / name).read_bytes() == data, name
    assert set(built) == {p.name for p in _corpus()}
