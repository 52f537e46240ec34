"""The %SMI system messages, checked against the guide's chapter "System Messages"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartinstall.domain.messages import (
    CATALOG,
    FACILITY,
    SEVERITY_NAMES,
    MessageDef,
    SystemMessage,
    field_kinds,
    parse,
    render,
)

GUIDE = Path(__file__).resolve().parents[3] / ".." / "shared" / "spec" / "smart-install-guide.txt"

# "Smart Install System Messages": Error Message SMI-<severity>-<MNEMONIC>: <text>
_ENTRY = re.compile(r"^Error Message SMI-([0-7])-([A-Z_]+): (.*?)\s*$", re.MULTILINE)


def _guide_messages() -> dict[str, tuple[int, str]]:
    if not GUIDE.exists():
        pytest.skip(f"guide not found at {GUIDE}")
    text = GUIDE.read_text(encoding="utf-8")
    chapter = text[text.index("Smart Install System Messages\n\nError Message") :]
    found = {m.group(2): (int(m.group(1)), m.group(3)) for m in _ENTRY.finditer(chapter)}
    assert len(found) >= 20  # the chapter was found and read
    return found


def test_every_message_of_the_chapter_is_in_the_catalog_with_its_severity() -> None:
    guide = _guide_messages()
    assert set(CATALOG) == set(guide)
    assert {m: d.severity for m, d in CATALOG.items()} == {m: s for m, (s, _) in guide.items()}
    # and in the guide's order
    assert list(CATALOG) == list(guide)


def test_every_text_renders_exactly_as_the_guide_prints_it() -> None:
    # Substituting each field with the guide's own [kind] token gives back the guide's line,
    # so wording, spacing and punctuation (`(IP Address :[inet])`) are the guide's.
    for mnemonic, (severity, text) in _guide_messages().items():
        kinds = field_kinds(mnemonic)
        placeholders = {name: f"[{kind}]" for name, kind in kinds.items()}
        if "dec" in kinds.values():
            # [dec] fields only take integers; compare with the template text instead
            rendered = CATALOG[mnemonic].text.format(**placeholders)
            assert rendered == text, mnemonic
            continue
        assert render(mnemonic, **placeholders) == f"%SMI-{severity}-{mnemonic}: {text}"


def test_field_order_and_kinds_follow_the_guide() -> None:
    for mnemonic, (_, text) in _guide_messages().items():
        kinds = field_kinds(mnemonic)
        assert tuple(kinds) == CATALOG[mnemonic].fields
        assert [f"[{kinds[n]}]" for n in CATALOG[mnemonic].fields] == re.findall(
            r"\[[a-z]+\]", text
        )


def test_severity_names_follow_table_5_1() -> None:
    if not GUIDE.exists():
        pytest.skip(f"guide not found at {GUIDE}")
    text = GUIDE.read_text(encoding="utf-8")
    table = dict(
        (int(m.group(1)), m.group(2))
        for m in re.finditer(r"^([0-7]) \u2013 ([a-z]+)\t", text, re.MULTILINE)
    )
    assert table == dict(SEVERITY_NAMES)


def test_definitions_are_complete() -> None:
    for mnemonic, d in CATALOG.items():
        assert isinstance(d, MessageDef)
        assert d.facility == FACILITY == "SMI"
        assert d.mnemonic == mnemonic
        assert d.explanation and d.action
        assert d.prefix == f"%SMI-{d.severity}-{mnemonic}"


# Rendering examples; values follow the guide's examples (Table 5-2's 0000.FEED.00C0, addresses
# and names from the show vstack examples).
@pytest.mark.parametrize(
    ("mnemonic", "fields", "expected"),
    [
        (
            "SWITCH_ADD",
            {"mac": "0000.FEED.00C0"},
            "%SMI-6-SWITCH_ADD: New Device detected by Director with mac address: 0000.FEED.00C0",
        ),
        (
            "SWITCH_REMOVE",
            {"mac": "0021.a1ab.9b80"},
            "%SMI-6-SWITCH_REMOVE: Device 0021.a1ab.9b80 removed from the Director Database",
        ),
        (
            "SWITCH_REPLACE",
            {"old_mac": "0021.a1ab.9b80", "new_mac": "001f.2604.8980"},
            "%SMI-6-SWITCH_REPLACE: Device 0021.a1ab.9b80 is being replaced by 001f.2604.8980 "
            "Device",
        ),
        ("DIRECTOR", {"status": "Enabled"}, "%SMI-5-DIRECTOR: Director is Enabled"),
        ("AUTOINSTALL", {"status": "aborted"}, "%SMI-6-AUTOINSTALL: aborted AUTOINSTALL"),
        ("IMAGELIST_FAILED", {}, "%SMI-3-IMAGELIST_FAILED: Default imagelist creation failed."),
        (
            "UPGRD_SUCCESS",
            {"ip": "172.20.249.91", "what": "c3750e-universalk9-tar.122-55.SE.tar"},
            "%SMI-6-UPGRD_SUCCESS: Device (IP address: 172.20.249.91) "
            "c3750e-universalk9-tar.122-55.SE.tar has upgraded successfully",
        ),
        (
            "CLIENT_CONN_FAILED",
            {"client_ip": "1.1.1.2", "director_ip": "1.1.1.1"},
            "%SMI-6-CLIENT_CONN_FAILED: Device (IP address: 1.1.1.2) failed to connect to "
            "Director (IP address : 1.1.1.1)",
        ),
        (
            "IMG_CFG_NOT_CONFIGURED",
            {"device": "Director", "ip": "1.1.1.20"},
            "%SMI-3-IMG_CFG_NOT_CONFIGURED: Director (IP Address :1.1.1.20) : The Director does "
            "not have a image list file or a configuration file configured for this Product-ID",
        ),
        (
            "SMI_INVALID_MESSAGE",
            {"device": "client", "ip": "1.1.1.2", "version": 2, "message_type": 7},
            "%SMI-6-SMI_INVALID_MESSAGE: Received invalid message from client (IP Address : "
            "1.1.1.2), SMI Version : 2 Message Type : 7",
        ),
        (
            "INTERNAL_ERROR",
            {"error": "db write", "code": "-1"},
            "%SMI-3-INTERNAL_ERROR: db write - -1",
        ),
        (
            "SMI_JOIN_WINDOW_MESSAGE",
            {"status": "Start", "ip": "1.1.1.20"},
            "%SMI-6-SMI_JOIN_WINDOW_MESSAGE: SMI Join window Start on IBD(IP address: 1.1.1.20)",
        ),
        (
            "SMI_DIRECTOR_BACKUP_FAILURE",
            {"client_ip": "1.1.1.2", "repository": "flash:/vstack", "reason": "timeout"},
            "%SMI-3-SMI_DIRECTOR_BACKUP_FAILURE: Client Device (1.1.1.2) startup configuration "
            "backup fail on repository: flash:/vstack - reason: timeout",
        ),
    ],
)
def test_render_examples(mnemonic: str, fields: dict[str, object], expected: str) -> None:
    assert render(mnemonic, **fields) == expected
    msg = SystemMessage(mnemonic, {k: str(v) for k, v in fields.items()})
    assert msg.text() == expected
    assert msg.severity == CATALOG[mnemonic].severity
    assert parse(expected) == msg
    assert parse(f"*Mar 19 23:16:09.869: {expected}") == msg  # timestamp ignored


def test_unknown_mnemonic_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        render("SWITCH_ADDED", mac="x")
    with pytest.raises(KeyError):
        SystemMessage("NOPE", {})


def test_missing_extra_and_bad_fields_are_value_errors() -> None:
    with pytest.raises(ValueError, match=r"missing field.*mac"):
        render("SWITCH_ADD")
    with pytest.raises(ValueError, match=r"unknown field.*ip"):
        render("SWITCH_ADD", mac="0000.FEED.00C0", ip="1.1.1.1")
    with pytest.raises(ValueError, match="code"):
        render("INTERNAL_ERROR", error="x", code="twelve")
    with pytest.raises(ValueError, match="code"):
        render("INTERNAL_ERROR", error="x", code=True)
    with pytest.raises(ValueError):
        SystemMessage("SWITCH_REPLACE", {"old_mac": "0000.FEED.00C0"})


def test_values_cannot_forge_extra_log_lines() -> None:
    line = render("UPGRD_STARTED", ip="1.1.1.2", what="evil\n%SMI-6-DIRECTOR: Director is x")
    assert "\n" not in line
    assert "evil\\n%SMI" in line


def test_system_message_is_immutable_and_hashable() -> None:
    fields = {"mac": "0000.FEED.00C0"}
    msg = SystemMessage("SWITCH_ADD", fields)
    fields["mac"] = "changed"
    assert msg.fields["mac"] == "0000.FEED.00C0"
    assert msg.facility == "SMI"
    assert msg.definition is CATALOG["SWITCH_ADD"]
    assert {msg, SystemMessage("SWITCH_ADD", {"mac": "0000.FEED.00C0"})} == {msg}


@pytest.mark.parametrize(
    "line",
    [
        "",
        "%SMI-6-SWITCH_ADD New Device",  # no colon
        "%SMI-5-SWITCH_ADD: New Device detected by Director with mac address: x",  # severity
        "%SYS-6-SWITCH_ADD: New Device detected by Director with mac address: x",  # facility
        "%SMI-6-UNKNOWN: text",
        "%SMI-3-INTERNAL_ERROR: error - twelve",  # [dec] not a number
        "%SMI-6-SWITCH_REMOVE: Device x removed from somewhere else",
    ],
)
def test_parse_rejects_other_lines(line: str) -> None:
    assert parse(line) is None


@given(st.text(max_size=300))
def test_parse_never_raises(line: str) -> None:
    msg = parse(line)
    if msg is not None:
        assert msg.mnemonic in CATALOG


@given(st.sampled_from(sorted(CATALOG)), st.data())
def test_render_parse_round_trip(mnemonic: str, data: st.DataObject) -> None:
    kinds = field_kinds(mnemonic)
    values: dict[str, object] = {}
    for name, kind in kinds.items():
        if kind == "dec":
            values[name] = data.draw(st.integers(-(2**31), 2**31))
        else:
            # printable values without the template's own separators round-trip exactly
            values[name] = data.draw(
                st.text(st.characters(whitelist_categories=("L", "N")), min_size=1, max_size=20)
            )
    line = render(mnemonic, **values)
    msg = parse(line)
    assert msg is not None
    assert dict(msg.fields) == {k: str(v) for k, v in values.items()}
    assert msg.text() == line
