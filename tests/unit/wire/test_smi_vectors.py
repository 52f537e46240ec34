"""Every Smart Install vector of spec/vectors is a test (wire-protocol.md sections 3 and 4).

decode -> fields -> encode must give the same bytes, and building the message from its meaning
(URL, reload time, commands) must give them too.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from smartinstall.wire import smi
from smartinstall.wire.smi import (
    BACKUP_PREAMBLE,
    CLIENT_PROBE_REPLY,
    PROBE,
    STATUS_REPLY,
    BackupConfig,
    DownloadConfig,
    DownloadImage,
    Execute,
    Header,
    Probe,
    ProbeReply,
    SmiDecodeError,
    StatusReply,
    decode_command_bytes,
)

ROOT = Path(__file__).resolve().parents[3]
VECTORS = ROOT.parent / "shared" / "spec" / "vectors"

pytestmark = pytest.mark.skipif(not VECTORS.is_dir(), reason=f"{VECTORS} is absent")

TFTP = "tftp://192.0.2.10"

# What each SMI vector is, built from its meaning. DHCP vectors belong to the DHCP codec.
BUILT = {
    "probe_type4_scanner": lambda: Probe().encode(),
    "reply_type3_client": lambda: ProbeReply().encode(),
    "reply_type4_status1": lambda: StatusReply(1).encode(),
    "example_type2_download_image_0x821": lambda: DownloadImage.now(
        f"{TFTP}/tar_imglist0.txt"
    ).encode(),
    "example_type2_download_image_0x801_0130": lambda: DownloadImage.at(
        f"{TFTP}/tar_imglist0.txt", 1, 30
    ).encode(),
    "example_type3_download_config_reload_0001": lambda: DownloadConfig.at(
        f"{TFTP}/new.conf", 0, 1
    ).encode(),
    "example_type3_download_config_noreload": lambda: DownloadConfig(
        f"{TFTP}/random_file"
    ).encode(),
    "example_type5_version_cmd_exec": lambda: Execute(f"{TFTP}/execute.txt").encode(),
    "example_type8_backup_config": lambda: BackupConfig.of(
        "copy system:running-config flash:/config.text",
        f"copy flash:/config.text {TFTP}/198.51.100.20.conf",
    ).encode(),
    "type8_backup_config_preamble": lambda: BackupConfig.of("x").encode()[:40],
}
# Inputs a client must refuse (and answer with the status reply): Greenbone's truncated type 3,
# nmap's firebird probe (version word 0x13).
REFUSED = {"probe_type3_len1_greenbone", "nmap_firebird_probe"}
COMMANDS = {n for n in BUILT if n.startswith("example_") or n == "probe_type4_scanner"}


def _smi_vectors() -> list[str]:
    if not VECTORS.is_dir():
        return []
    return sorted(p.stem for p in VECTORS.glob("*.bin") if not p.stem.startswith("dhcp_"))


def _read(name: str) -> bytes:
    return (VECTORS / f"{name}.bin").read_bytes()


@pytest.mark.parametrize("name", _smi_vectors())
def test_every_vector_is_classified(name: str) -> None:
    assert name in BUILT or name in REFUSED, f"new vector {name}: add it to this test"


@pytest.mark.parametrize("name", _smi_vectors())
def test_hex_file_matches_bin(name: str) -> None:
    text = (VECTORS / f"{name}.hex").read_text()
    hexdigits = "".join(line for line in text.splitlines() if not line.startswith("#"))
    assert bytes.fromhex(hexdigits) == _read(name)


@pytest.mark.parametrize("name", sorted(BUILT))
def test_built_from_meaning_equals_vector(name: str) -> None:
    assert BUILT[name]() == _read(name)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_vector_round_trips(name: str) -> None:
    data = _read(name)
    command = decode_command_bytes(data)
    assert command.encode() == data
    # the fields survive a rebuild from their own values
    assert type(command)(**vars(command)).encode() == data


def test_decoded_fields_have_the_documented_meaning() -> None:
    image = decode_command_bytes(_read("example_type2_download_image_0x801_0130"))
    assert isinstance(image, DownloadImage)
    assert image.imagelist_url == f"{TFTP}/tar_imglist0.txt"
    assert image.reload_at == (1, 30) and image.flags == 0x801 and image.reload_now == 0
    now = decode_command_bytes(_read("example_type2_download_image_0x821"))
    assert isinstance(now, DownloadImage) and now.reload_at is None and now.reload_now == 1

    config = decode_command_bytes(_read("example_type3_download_config_reload_0001"))
    assert isinstance(config, DownloadConfig)
    assert config.config_url == f"{TFTP}/new.conf" and config.reload_at == (0, 1)
    noreload = decode_command_bytes(_read("example_type3_download_config_noreload"))
    assert isinstance(noreload, DownloadConfig) and noreload.reload_at is None

    execute = decode_command_bytes(_read("example_type5_version_cmd_exec"))
    assert isinstance(execute, Execute) and execute.script_url == f"{TFTP}/execute.txt"

    backup = decode_command_bytes(_read("example_type8_backup_config"))
    assert isinstance(backup, BackupConfig)
    assert backup.active_commands == (
        "copy system:running-config flash:/config.text",
        f"copy flash:/config.text {TFTP}/198.51.100.20.conf",
    )
    assert backup.preamble == BACKUP_PREAMBLE == _read("type8_backup_config_preamble")[16:]


def test_header_lengths_match_sizes() -> None:
    for name in COMMANDS:
        data = _read(name)
        assert Header.decode(data).length == len(data) - 16


def test_url_offsets_are_the_documented_ones() -> None:
    # Section 3: URL at 52 (type 2), 180 (type 3), 412 (type 5); commands at 40/376/712 (type 8).
    assert _read("example_type2_download_image_0x821")[52:59] == b"tftp://"
    assert _read("example_type3_download_config_noreload")[180:187] == b"tftp://"
    assert _read("example_type5_version_cmd_exec")[412:419] == b"tftp://"
    t8 = _read("example_type8_backup_config")
    assert t8[40:45] == b"copy " and t8[376:381] == b"copy " and t8[712] == 0
    assert t8[16:40] == BACKUP_PREAMBLE


def test_probe_and_replies_are_the_public_bytes() -> None:
    assert _read("probe_type4_scanner") == PROBE
    assert _read("reply_type3_client") == CLIENT_PROBE_REPLY
    assert _read("reply_type4_status1") == STATUS_REPLY
    assert ProbeReply.decode(CLIENT_PROBE_REPLY) == ProbeReply(1, 0)
    assert StatusReply.decode(STATUS_REPLY).status == 1
    with pytest.raises(SmiDecodeError):
        ProbeReply.decode(STATUS_REPLY)
    with pytest.raises(SmiDecodeError):
        StatusReply.decode(CLIENT_PROBE_REPLY + b"\n")


def test_the_scanner_regexes_match_our_replies() -> None:
    # Metasploit/intrigue regex for the client reply; nmap's cisco-smartinstall match line.
    msf = re.compile(rb"^\x00{3}\x04\x00{7}\x03\x00{3}\x08\x00{3}\x01\x00{4}$")
    nmap = re.compile(rb"^\0\0\0\x04\0\0\0\0\0\0\0\x04\0\0\0\x04\0\0\0\x01")
    assert msf.match(ProbeReply().encode())
    assert nmap.match(StatusReply().encode())
    assert not msf.match(StatusReply().encode())


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_vectors_raise_decode_error(name: str) -> None:
    with pytest.raises(SmiDecodeError):
        decode_command_bytes(_read(name))


def test_ids_rules_fire_on_our_commands() -> None:
    """ET 2025520-2025522 and Talos 41722-41725 key on our exact headers (section 2)."""
    rules = (VECTORS / "ids_rules.txt").read_text()
    by_sid: dict[str, bytes] = {}
    for line in rules.splitlines():
        sid = re.search(r"sid:(\d+);", line)
        first = re.search(r'content:"\|([0-9a-fA-F ]+)\|"; depth:(\d+)', line)
        if sid and first:
            by_sid[sid.group(1)] = bytes.fromhex(first.group(1))
    ours = {
        "2025520": _read("example_type2_download_image_0x821"),
        "2025521": _read("example_type3_download_config_noreload"),
        "2025522": _read("example_type8_backup_config"),
        "41722": BackupConfig.of("copy a tftp://x/y").encode(),
        "41723": DownloadConfig("tftp://x/y").encode(),
        "41724": DownloadImage.now("tftp://x/y").encode(),
        "41725": Execute("tftp://x/y").encode(),
        "2025519": Probe().encode(),
    }
    for sid, message in ours.items():
        assert message.startswith(by_sid[sid]), sid


def test_every_public_type_is_dispatched() -> None:
    for msg_type in (2, 3, 4, 5, 7, 8):
        assert smi.is_command_type(msg_type)
    assert not smi.is_command_type(6)
