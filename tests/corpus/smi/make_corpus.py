"""Regenerate the SMI corpus: interesting inputs for the codec and the listeners.

Run ``python tests/corpus/smi/make_corpus.py`` from the repository root. Built from raw bytes
(not from the codec) so the corpus does not drift with it. ``expected.txt`` says, per file,
whether a decoder accepts it (``command`` / ``client``) or every decoder refuses it.
"""

from __future__ import annotations

import struct
from pathlib import Path

HERE = Path(__file__).resolve().parent


def hdr(sender: int, version: int, mtype: int, length: int) -> bytes:
    return struct.pack(">IIII", sender, version, mtype, length)


def tlv(t: int, v: bytes) -> bytes:
    return struct.pack(">II", t, len(v)) + v


def pad(s: bytes, n: int) -> bytes:
    return s + b"\0" * (n - len(s))


HEAD = tlv(1, struct.pack(">I", 1)) + tlv(2, struct.pack(">I", 9))


def type3(url: bytes, words: tuple[int, ...] = (3, 0, 0, 2, 0, 0, 0, 0)) -> bytes:
    body = struct.pack(">8I", *words) + b"\0" * 132 + pad(url, 132)
    return hdr(1, 1, 3, len(body)) + body


def build() -> dict[str, bytes]:
    c: dict[str, bytes] = {}
    # Valid inputs at the edges.
    probe = bytes.fromhex("000000010000000100000004000000080000000100000000")
    c["probe_with_newline.bin"] = probe + b"\n"
    c["type3_url_131_chars.bin"] = type3(b"t" * 131)
    c["type7_tlv1_at_limit.bin"] = hdr(1, 1, 7, 8 + 0x58) + tlv(1, b"\0" * 0x58)
    c["type7_zero_length_tlvs.bin"] = hdr(1, 1, 7, 24) + tlv(1, b"") + tlv(2, b"") + tlv(3, b"")
    ka = HEAD + tlv(16, bytes(6)) + tlv(0xDEAD, b"unknown field from a newer sender")
    c["keepalive_unknown_tlv.bin"] = hdr(4, 1, 0x103, len(ka)) + ka
    # Refused inputs.
    c["length_past_stream.bin"] = hdr(1, 1, 3, 296) + b"\0" * 40
    c["length_past_maximum.bin"] = hdr(1, 1, 8, 0xFFFFFFF0) + b"\0" * 16
    c["header_only_15_bytes.bin"] = hdr(1, 1, 4, 8)[:15]
    c["type3_url_not_terminated.bin"] = type3(b"u" * 132)
    c["type3_hour_24.bin"] = type3(b"tftp://x/y", (3, 0, 0, 2, 0, 1, 24, 0))
    poc_value = b"\x41" * 36 + struct.pack(">I", 256) + b"\x42" * 176
    c["type7_tlv1_overflow_shape.bin"] = (
        hdr(1, 1, 7, len(poc_value)) + tlv(1, poc_value) + b"\x43" * 32
    )
    c["type7_tlv_length_past_payload.bin"] = hdr(1, 1, 7, 12) + struct.pack(">II", 2, 100) + b"abcd"
    c["type7_too_many_tlvs.bin"] = hdr(1, 1, 7, 8 * 33) + tlv(5, b"") * 33
    nested = HEAD + tlv(30, b"\xff\xff\xff\xff\x00\x00\x00\x10garbage")
    c["neighbor_nested_garbage.bin"] = hdr(4, 1, 0x102, len(nested)) + nested
    dup = HEAD + tlv(16, bytes(6)) + tlv(16, bytes(6))
    c["duplicate_mac.bin"] = hdr(4, 1, 0x103, len(dup)) + dup
    deep = HEAD + tlv(23, tlv(23, tlv(23, tlv(48, b"\0\0\0\x01"))))
    c["stack_member_nesting.bin"] = hdr(4, 1, 0x101, len(deep)) + deep
    c["zero_length_mac.bin"] = hdr(4, 1, 0x103, len(HEAD) + 8) + HEAD + tlv(16, b"")
    c["nmap_http_get.bin"] = b"GET / HTTP/1.0\r\n\r\n"
    c["client_msg_wrong_version.bin"] = (
        hdr(4, 1, 0x103, 24) + tlv(1, b"\0\0\0\x02") + tlv(2, b"\0\0\0\0")
    )
    return c


EXPECTED = {
    "probe_with_newline.bin": "refused",  # whole-message decode refuses the newline; the
    # listener reads header + length and ignores what trails (tested in integration)
    "type3_url_131_chars.bin": "command",
    "type7_tlv1_at_limit.bin": "command",
    "type7_zero_length_tlvs.bin": "command",
    "keepalive_unknown_tlv.bin": "client",
    # a member nested in a member is not followed: it is an unknown field of the outer member
    "stack_member_nesting.bin": "client",
}


def main() -> None:
    built = build()
    lines = ["# file  outcome (command | client: that decoder accepts it; refused: all refuse)"]
    for name, data in sorted(built.items()):
        (HERE / name).write_bytes(data)
        lines.append(f"{name} {EXPECTED.get(name, 'refused')}")
    (HERE / "expected.txt").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
