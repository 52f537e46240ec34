"""docs/protocol.md cannot drift from the code: every ```hex block tagged with an example name
must be exactly what the encoder produces for that example, and must decode back to it.

Regenerate the blocks with ``python -m tests.unit.wire.test_smi_docs`` (prints them)."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest

from smartinstall.wire.smi import HEADER_SIZE, DownloadConfig, Header, decode_command_bytes
from smartinstall.wire.smi_auth import AUTH_TRAILER_SIZE, PeerId, seal, unseal
from smartinstall.wire.smi_client import (
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
    UpgradeState,
    UpgradeStatus,
    WriteMemory,
    decode_client_message,
)

DOC = Path(__file__).resolve().parents[3] / "docs" / "protocol.md"
MAC = "0018.7363.4200"
EXAMPLE_KEY = b"example-key-0001"
EXAMPLE_TIME_MS = 1_795_000_000_000
EXAMPLE_DIRECTOR = PeerId.director("192.0.2.1")
EXAMPLE_CLIENT = PeerId.client(MAC)
EXAMPLE_COUNTER = 1_795_000_000_000_001

EXAMPLES: dict[str, object] = {
    "hello": Hello(
        sequence=1,
        mac=MAC,
        pid="WS-C2960X-48FPD-L",
        serial="FOC1234X5YZ",
        sw_version="15.2(2)E3",
        image="c2960x-universalk9-mz.152-2.E3.bin",
        hostname="Switch",
        ip="192.0.2.21",
        stack=(StackMember(1, "WS-C2960X-48FPD-L", MAC, "FOC1234X5YZ"),),
        smi_version=2,
        capabilities=Capability.CLIENT | Capability.POST_INSTALL_SCRIPT | Capability.AUTHENTICATION,
        has_startup_config=False,
        join_state=JoinState.NEW,
    ),
    "hello-4500": Hello(
        sequence=1,
        mac="0000.0c9f.f001",
        pid="WS-C4506-E",
        serial="FOX1111A2BC",
        supervisor="sup7-e",
        chassis="4506",
        smi_version=2,
        capabilities=Capability.CLIENT,
        has_startup_config=True,
        join_state=JoinState.JOINED,
    ),
    "neighbor-report": NeighborReport(
        sequence=2,
        mac=MAC,
        neighbors=(Neighbor("Gi1/0/1", "0021.a1ab.9b80", "", "", "Gi0/1", "WS-C2960-24TT-L"),),
    ),
    "keepalive": Keepalive(
        sequence=3, mac=MAC, ip="192.0.2.21", uptime=86400, join_state=JoinState.JOINED
    ),
    "write-memory": WriteMemory(sequence=4, mac=MAC, hostname="SwitchA", ip="192.0.2.21"),
    "upgrade-progress": UpgradeStatus(
        sequence=5,
        mac=MAC,
        operation=Operation.IMAGE,
        state=UpgradeState.PROGRESS,
        file="c2960x.tar",
        bytes_done=4_194_304,
        bytes_total=26_214_400,
    ),
    "upgrade-failed": UpgradeStatus(
        sequence=6,
        mac=MAC,
        operation=Operation.CONFIG,
        state=UpgradeState.FAILED,
        file="SwitchA.cfg",
        reason="TFTP: File not found",
    ),
    "backup-result": BackupResult(
        sequence=7,
        mac=MAC,
        success=True,
        repository="tftp://192.0.2.1/vstack",
        file="SwitchA-0018.7363.4200.REV2",
    ),
    "ack": Ack(sequence=0, acked_type=ClientMessageType.HELLO, acked_sequence=1, status=0),
}


def example_bytes(name: str) -> bytes:
    if name == "sealed-download-config":
        command = DownloadConfig.at("tftp://192.0.2.1/SwitchA.cfg", 0, 1)
        return seal(
            command.encode(),
            EXAMPLE_KEY,
            EXAMPLE_TIME_MS,
            sender=EXAMPLE_DIRECTOR,
            recipient=EXAMPLE_CLIENT,
            counter=EXAMPLE_COUNTER,
        )
    return EXAMPLES[name].encode()  # type: ignore[attr-defined]


ALL_NAMES = [*EXAMPLES, "sealed-download-config"]


def render(data: bytes) -> str:
    """Header words on the first line, then one TLV per line (type length value), wrapping
    long values at 32 bytes. A fixed-layout body (the sealed type 3) is shown 32 bytes a line."""
    header = Header.decode(data)
    lines = [" ".join(data[i : i + 4].hex() for i in range(0, HEADER_SIZE, 4))]
    body = data[HEADER_SIZE:]
    if header.msg_type < 0x100:  # public fixed layout, then the trailer TLVs
        fixed = len(body) - AUTH_TRAILER_SIZE
        lines += [body[i : min(i + 32, fixed)].hex() for i in range(0, fixed, 32)]
        body = body[fixed:]
    offset = 0
    while offset < len(body):
        t, n = struct.unpack_from(">II", body, offset)
        value = body[offset + 8 : offset + 8 + n]
        chunks = [value[i : i + 32].hex() for i in range(0, len(value), 32)] or [""]
        lines.append(f"{t:08x} {n:08x} {chunks[0]}".rstrip())
        lines += [f"                  {c}" for c in chunks[1:]]
        offset += 8 + n
    return "\n".join(lines)


def doc_blocks() -> dict[str, str]:
    text = DOC.read_text()
    blocks = re.findall(r"<!-- example: ([a-z0-9-]+) -->\s*```hex\n(.*?)```", text, re.S)
    return {name: body for name, body in blocks}


def test_doc_has_every_example() -> None:
    assert set(doc_blocks()) == set(ALL_NAMES)


@pytest.mark.parametrize("name", ALL_NAMES)
def test_doc_hex_is_what_the_code_sends(name: str) -> None:
    block = doc_blocks()[name]
    data = bytes.fromhex(re.sub(r"\s+", "", block))
    assert data == example_bytes(name)
    if name == "sealed-download-config":
        unsealed = unseal(data, EXAMPLE_KEY)
        assert decode_command_bytes(unsealed.frame) == DownloadConfig.at(
            "tftp://192.0.2.1/SwitchA.cfg", 0, 1
        )
        assert (unsealed.sender, unsealed.recipient, unsealed.counter) == (
            EXAMPLE_DIRECTOR,
            EXAMPLE_CLIENT,
            EXAMPLE_COUNTER,
        )
    else:
        assert decode_client_message(data) == EXAMPLES[name]


if __name__ == "__main__":
    for example in ALL_NAMES:
        print(f"<!-- example: {example} -->\n```hex\n{render(example_bytes(example))}\n```\n")
