"""The keystroke line editor: echo, `?` at once, Tab, editing keys, history, paging."""

from __future__ import annotations

import re

from smartinstall.ios.editor import MORE, LineEditor
from tests.unit.ios.example_set import make_engine

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def editor(privileged: bool = True, configuring: bool = False) -> LineEditor:
    engine, _ = make_engine()
    session = engine.session()
    if privileged:
        session.run("enable")
    if configuring:
        session.run("configure terminal")
    return LineEditor(session)


def test_typing_echoes_and_enter_runs() -> None:
    ed = editor(privileged=False)
    assert ed.start() == "Director>"
    assert ed.feed("enable") == "enable"
    assert ed.feed("\r") == "\r\nDirector#"
    assert ed.feed("\n") == ""  # the \n of \r\n is not a second Enter


def test_question_mark_answers_without_enter_and_keeps_the_line() -> None:
    ed = editor()
    ed.feed("show vst")
    out = ed.feed(" ?")
    assert out.startswith(" ?\r\n  config           View configuration parameters")
    assert out.endswith("\r\n\r\nDirector#show vst ")
    assert ed.line == "show vst "
    assert "Role: Director" in ed.feed("config\r")


def test_tab_completes_a_unique_keyword() -> None:
    ed = editor()
    ed.feed("sh")
    ed.feed("\t")
    assert ed.line == "show "
    ed.feed("ru\t")
    assert ed.line == "show running-config "
    ed.feed("\x15")  # Ctrl-U
    ed.feed("e\t")  # enable / exit: not unique, nothing happens
    assert ed.line == "e"


def test_editing_keys() -> None:
    ed = editor()
    ed.feed("show vstack confg")
    ed.feed("\x1b[D")  # left
    ed.feed("i")
    assert ed.line == "show vstack config"
    ed.feed("\x01")  # Ctrl-A
    assert ed.cursor == 0
    ed.feed("\x05")  # Ctrl-E
    assert ed.cursor == len(ed.line)
    ed.feed("\x17")  # Ctrl-W
    assert ed.line == "show vstack "
    ed.feed("\x7f\x7f")
    assert ed.line == "show vstac"
    ed.feed("\x01\x1b[3~")  # delete under the cursor
    assert ed.line == "how vstac"
    ed.feed("\x0b")  # Ctrl-K
    assert ed.line == ""


def test_history_with_arrows() -> None:
    ed = editor()
    ed.feed("show lines 1\r")
    ed.feed("show lines 2\r")
    ed.feed("sh")
    ed.feed("\x1b[A")
    assert ed.line == "show lines 2"
    ed.feed("\x1bOA")  # application-mode up
    assert ed.line == "show lines 1"
    ed.feed("\x1b[B\x1b[B")
    assert ed.line == "sh"  # back to what was being typed


def test_ctrl_c_and_ctrl_z_leave_configuration() -> None:
    ed = editor(configuring=True)
    ed.feed("vstack startup")
    assert ed.feed("\x03") == "^C\r\nDirector#"
    ed.feed("conf t\r")
    ed.feed("vstack startup-vlan 9")
    assert ed.feed("\x1a") == "^Z\r\nDirector#"
    assert "vstack startup-vlan 9" in ed.session.engine.running_config()


def test_garbage_escapes_are_ignored_and_bounded() -> None:
    ed = editor()
    ed.feed("\x1b[" + "1;" * 200 + "Zshow")
    ed.feed("\x1b[99~\x1b\x1bx\x1b[?25h\x1b]0;title\x07")
    # the overlong sequence was dropped; what follows it is typed text again
    assert ed.line.endswith("show") or "show" in ed.line
    assert "\x1b" not in ed.line


def test_long_lines_are_bounded_and_scroll_with_dollar() -> None:
    engine, _ = make_engine()
    session = engine.session()
    ed = LineEditor(session, max_line=100)
    out = ed.feed("x" * 150)
    assert len(ed.line) == 100
    assert "\a" in out
    visible = _ANSI.sub("", out.split("\r")[-1]).replace("\a", "")
    assert visible.startswith("Director>$")
    assert len(visible) < session.terminal_width


def test_more_paging() -> None:
    ed = editor()
    ed.session.terminal_length = 5
    ed.feed("show lines 10")
    out = ed.feed("\r")
    assert out == "\r\n" + "".join(f"line {n}\r\n" for n in range(1, 5)) + MORE
    out = ed.feed("\r")  # one more line
    assert "line 5\r\n" in out and out.endswith(MORE)
    out = ed.feed(" ")  # one more page
    assert "line 6\r\nline 7\r\nline 8\r\nline 9\r\n" in out and out.endswith(MORE)
    out = ed.feed(" ")
    assert "line 10\r\n" in out and out.endswith("Director#")
    ed.feed("show lines 10\r")
    assert ed.feed("q").endswith("Director#")  # any other key stops
    ed.feed("terminal length 0\r")
    assert ed.feed("show lines 30\r").endswith("line 30\r\nDirector#")


def test_exit_closes_and_stops_reading() -> None:
    ed = editor()
    ed.feed("exit\r")
    assert ed.closed
    assert ed.feed("show lines 3\r") == ""


def test_bytes_interface() -> None:
    ed = editor()
    assert ed.feed_bytes(b"show lines 1\r") == b"show lines 1\r\nline 1\r\nDirector#"


def test_long_help_is_paged_and_the_line_comes_back() -> None:
    ed = editor()
    ed.session.terminal_length = 3
    ed.feed("show vstack")
    out = ed.feed(" ?")
    assert out.endswith(MORE)
    out = ed.feed("q")
    assert out.endswith("Director#show vstack ")
    assert ed.line == "show vstack "


def test_interjected_message_keeps_the_typed_line() -> None:
    ed = editor()
    ed.feed("show vst")
    out = ed.interject("%SMI-5-CLIENT: a message")
    assert out == "\r\x1b[K%SMI-5-CLIENT: a message\r\nDirector#show vst"
    assert ed.line == "show vst"
    ed.session.terminal_length = 3
    ed.feed("\x15show lines 5\r")
    assert ed.interject("later") == ""  # waits for the paged output
    assert "later" not in ed.feed(" ")  # lines 3 and 4
    out = ed.feed(" ")
    assert out.endswith("line 5\r\nlater\r\nDirector#")


def test_word_movement_with_escape_letters() -> None:
    ed = editor()
    ed.feed("show vstack config")
    ed.feed("\x1bb")
    assert ed.cursor == len("show vstack ")
    ed.feed("\x1bb\x1bd")
    assert ed.line == "show  config"
    ed.feed("\x1bf")
    assert ed.cursor == len("show  config")
