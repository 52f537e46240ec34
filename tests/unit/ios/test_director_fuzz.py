"""Random director lines and keystrokes: the command set never raises, always answers in IOS
terms, and whatever it accepted renders a configuration that replays to the same text."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from hypothesis import given, settings
from hypothesis import strategies as st

from smartinstall.commands.shell import render_show_vstack_config
from smartinstall.ios import PRIVILEGED_LEVEL, Engine
from smartinstall.ios.director_commands import DirectorCommands, director_command_set
from smartinstall.ios.editor import LineEditor

WORDS = [
    "vstack",
    "vst",
    "no",
    "director",
    "basic",
    "startup-vlan",
    "vlan",
    "image",
    "config",
    "script",
    "hostname-prefix",
    "backup",
    "file-server",
    "flash:",
    "tftp:",
    "join-window",
    "start",
    "close",
    "mode",
    "auto",
    "end",
    "recurring",
    "recur",
    "dhcp-localserver",
    "address-pool",
    "default-router",
    "group",
    "built-in",
    "custom",
    "mac",
    "stack",
    "connectivity",
    "product-id",
    "match",
    "host",
    "interface",
    "family",
    "exit",
    "ip",
    "dhcp",
    "remember",
    "helper",
    "logging",
    "transport",
    "tcp",
    "port",
    "rfc3164",
    "tailored-config",
    "enable-password",
    "authentication",
    "key",
    "allowed-clients",
    "1.1.1.20",
    "1.1.1.300",
    "10.0.0.0",
    "/22",
    "255.255.255.0",
    "3750",
    "24poe",
    "4500",
    "sup8-e",
    "all",
    "4506",
    "2960xr",
    "24-2sfp-il",
    "1",
    "9",
    "10",
    "4095",
    "5-3",
    "10-12,100,",
    "200",
    "04",
    "jul",
    "july",
    "2009",
    "31",
    "Feb",
    "10:00",
    "6:30",
    "24:00",
    "04:00",
    "flash:x.tar",
    "ftp:x.tar",
    "tftp://10.0.0.1/x.tar",
    "flash:",
    "x.tar",
    "0023.34ca.c180",
    "00:1B:54:44:C6:00",
    "0023.34ca.c18g",
    "WS-C2960-48TC-L",
    "GigabitEthernet",
    "1/0/3",
    "g1",
    "0123456789abcdef0",
    "10.1.0.0/16",
    "?",
    "do",
    "show",
    "running-config",
    "|",
    "include",
    "hostname",
    "x",
]

lines = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(WORDS), max_size=10).map(" ".join),
)


def make() -> tuple[Engine, DirectorCommands]:
    engine = Engine(hostname="Director")
    commands = engine.add(
        director_command_set(
            engine, owns_address=lambda ip: ip == "1.1.1.20", show_config=render_show_vstack_config
        )
    )
    assert isinstance(commands, DirectorCommands)
    return engine, commands


class _Failures(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def no_internal_errors() -> Iterator[None]:
    """Fails when the engine caught an exception of a handler, help or completion (it logs
    each before answering "% Internal error …"). Looking for that text in the output is not
    enough: the editor echoes what was typed, and the generated text may be those words."""
    assert logging.getLogger("smartinstall.ios.engine").isEnabledFor(logging.ERROR)
    failures = _Failures()
    logger = logging.getLogger("smartinstall.ios")
    logger.addHandler(failures)
    try:
        yield
    finally:
        logger.removeHandler(failures)
    assert failures.messages == []


def _answers_in_ios_terms(output: str, ok: bool) -> None:
    if not ok:
        last = output.rstrip("\n").split("\n")[-1]
        # IOS messages start with %; `vstack basic` answers with the guide's own words
        assert last.startswith(("%", "Command Rejected: ")), output


@settings(max_examples=50, deadline=None)
@given(st.lists(lines, max_size=15))
def test_random_configuration_lines_answer_and_round_trip(sequence: list[str]) -> None:
    engine, commands = make()
    session = engine.session(PRIVILEGED_LEVEL)
    session.run("configure terminal")
    with no_internal_errors():
        for line in sequence:
            if session.closed:
                break
            session.help(line)
            completed = session.complete(line)
            assert completed is None or completed.endswith(" ")
            outcome = session.execute(line)
            _answers_in_ios_terms(outcome.output, outcome.ok)
            if session.mode.name == "exec":
                session.run("configure terminal")
    first = engine.running_config()
    again, replayed = make()
    report = again.replay(first)
    assert report.errors == [], (first, report.errors)
    assert again.running_config() == first
    assert replayed.settings.render() == commands.settings.render()


KEYS = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        [
            "\r",
            "?",
            "\t",
            "\x03",
            "\x1a",
            "\x7f",
            "\x1b[A",
            " ",
            "en\r",
            "conf t\r",
            "vstack group custom g mac\r",
            "match mac ",
            "vstack group built-in 4500 sup",
            "vstack dhcp-localserver p\r",
            "address-pool 10.0.0.0 /8\r",
            "do show vstack config\r",
        ]
    ),
)


@settings(max_examples=50, deadline=None)
@given(st.lists(KEYS, max_size=40))
def test_random_keystrokes(chunks: list[str]) -> None:
    engine, _ = make()
    editor = LineEditor(engine.session(), max_line=200)
    assert editor.start() == "Director>"
    with no_internal_errors():
        for chunk in chunks:
            out = editor.feed(chunk)
            assert isinstance(out, str)
            if editor.closed:
                break
