"""Random lines and keystrokes: the engine never raises and always answers in IOS terms."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from smartinstall.ios.editor import LineEditor
from tests.unit.ios.example_set import make_engine

WORDS = [
    "vstack",
    "vst",
    "startup-vlan",
    "show",
    "sh",
    "run",
    "running-config",
    "group",
    "custom",
    "mac",
    "match",
    "image",
    "no",
    "do",
    "end",
    "exit",
    "conf",
    "t",
    "|",
    "include",
    "section",
    "ip",
    "helper",
    "10.0.0.1",
    "4094",
    "5000",
    "?",
    "1-3,",
    "4",
    "04",
    "Jul",
    "2009",
    "6:30",
    "flash:x",
    "enable",
    "disable",
    "terminal",
    "length",
    "0",
    "hostname",
    "banner",
    "motd",
    "x",
    "lines",
    "3",
    "join-window",
    "start",
    "download-image",
    "built-in",
    "issu",
    "in",
    "\t",
    "copy",
    "write",
]

lines = st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from(WORDS), max_size=10).map(" ".join),
)


def _answers_in_ios_terms(output: str, ok: bool) -> None:
    assert "Internal error" not in output
    if not ok:
        last = output.rstrip("\n").split("\n")[-1]
        assert last.startswith("%"), output


@settings(max_examples=300, deadline=None)
@given(st.lists(lines, max_size=12))
def test_random_lines(sequence: list[str]) -> None:
    engine, _ = make_engine()
    session = engine.session()
    for line in sequence:
        if session.closed:
            break
        completed = session.complete(line)
        assert completed is None or completed.endswith(" ")
        assert "Internal error" not in session.help(line)
        outcome = session.execute(line)
        _answers_in_ios_terms(outcome.output, outcome.ok)
        assert session.prompt()


@settings(max_examples=300, deadline=None)
@given(st.lists(lines, max_size=12))
def test_random_lines_in_configuration(sequence: list[str]) -> None:
    engine, _ = make_engine()
    session = engine.session()
    session.run("enable")
    session.run("configure terminal")
    for line in sequence:
        if session.closed:
            break
        outcome = session.execute(line)
        _answers_in_ios_terms(outcome.output, outcome.ok)


KEYS = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        [
            "\r",
            "\n",
            "\r\n",
            "?",
            "\t",
            "\x01",
            "\x05",
            "\x15",
            "\x17",
            "\x7f",
            "\x03",
            "\x1a",
            "\x1b[A",
            "\x1b[B",
            "\x1b[C",
            "\x1b[D",
            "\x1b[3~",
            "\x1b",
            "\x1b[",
            "\x1b[1;5",
            " ",
            "q",
            "en\r",
            "conf t\r",
            "show lines 40\r",
            "terminal length 3\r",
            "vstack group custom g mac\r",
        ]
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(KEYS, max_size=40))
def test_random_keystrokes(chunks: list[str]) -> None:
    engine, _ = make_engine()
    session = engine.session()
    editor = LineEditor(session, max_line=200)
    assert editor.start() == "Director>"
    for chunk in chunks:
        out = editor.feed(chunk)
        assert isinstance(out, str)
        assert "Internal error" not in out
        assert len(editor.line) <= 200
