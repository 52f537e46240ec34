"""The engine through text lines: modes, abbreviations, `?` help, errors, filters."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartinstall.ios import CONFIG, EXEC, Arg, CommandSet, Engine, Session, Word
from smartinstall.ios.tree import SyntaxDeclarationError
from tests.unit.ios.example_set import ExampleSet, make_engine

GUIDE = Path(__file__).resolve().parents[3] / ".." / "shared" / "spec" / "smart-install-guide.txt"


def guide_answer(command_line: str) -> list[str]:
    """The lines the guide prints after `command_line` up to the end of its example."""
    if not GUIDE.is_file():
        pytest.skip("the guide is not at ../shared/spec")
    lines = GUIDE.read_text(encoding="utf-8").splitlines()
    start = lines.index(command_line) + 1
    answer = []
    for line in lines[start:]:
        if not line.strip() or line.startswith("```"):
            break
        answer.append(line)
    return answer


def transcript(session: Session, *lines: str) -> str:
    out = []
    for line in lines:
        out.append(session.prompt() + line + "\n")
        out.append(session.run(line))
    return "".join(out)


@pytest.fixture
def engine() -> Engine:
    return make_engine()[0]


@pytest.fixture
def session(engine: Engine) -> Session:
    return engine.session()


def privileged(engine: Engine) -> Session:
    session = engine.session()
    session.run("enable")
    return session


def configuring(engine: Engine) -> Session:
    session = privileged(engine)
    session.run("configure terminal")
    return session


# -- modes and prompts -------------------------------------------------------------------
def test_modes_and_prompts(session: Session) -> None:
    assert session.prompt() == "Director>"
    session.run("enable")
    assert session.prompt() == "Director#"
    assert session.run("conf t") == (
        "Enter configuration commands, one per line.  End with CNTL/Z.\n"
    )
    assert session.prompt() == "Director(config)#"
    session.run("vstack group custom g1 mac")
    assert session.prompt() == "Director(config-vstack-group)#"
    session.run("exit")
    assert session.prompt() == "Director(config)#"
    session.run("vstack group custom g1 mac")
    session.run("end")
    assert session.prompt() == "Director#"
    session.run("disable")
    assert session.prompt() == "Director>"
    session.run("exit")
    assert session.closed


def test_hostname_drives_the_prompt(engine: Engine) -> None:
    session = configuring(engine)
    session.run("hostname IBD")
    assert session.prompt() == "IBD(config)#"
    assert "illegal characters" in session.run("hostname -bad")
    session.run("no hostname")
    assert session.prompt() == "Director(config)#"


def test_user_exec_hides_privileged_commands(session: Session) -> None:
    assert "configure" not in session.run("?")
    assert session.run("configure terminal") == (
        "% Unknown command or computer name, or unable to find computer address\n"
    )
    session.run("en")
    assert "configure" in session.run("?")


def test_sub_mode_line_falls_back_to_global_configuration(engine: Engine) -> None:
    session = configuring(engine)
    session.run("vstack group custom g1 mac")
    assert session.run("ip helper 10.0.0.1") == ""
    assert session.prompt() == "Director(config)#"
    example = next(s for s in engine.sets if isinstance(s, ExampleSet))
    assert example.helpers == ["10.0.0.1"]


def test_do_runs_exec_commands_from_configuration(engine: Engine) -> None:
    session = configuring(engine)
    session.run("vstack group custom g1 mac")
    assert session.run("do show vstack config").startswith("Role: Director\n")
    assert session.prompt() == "Director(config-vstack-group)#"
    assert session.run("do") == "% Incomplete command.\n\n"


def test_abbreviations_and_no_forms(engine: Engine) -> None:
    session = configuring(engine)
    example = next(s for s in engine.sets if isinstance(s, ExampleSet))
    session.run("vst")
    assert example.enabled
    session.run("no vst")
    assert not example.enabled
    session.run("vst startup 30")
    assert example.startup_vlan == 30
    session.run("VSTACK STARTUP-VLAN 31")
    assert example.startup_vlan == 31


# -- `?` help, character for character ----------------------------------------------------
def test_help_matches_guide_show_vstack(engine: Engine) -> None:
    session = privileged(engine)
    expected = guide_answer("Switch# show vstack ?")
    # our example adds `group`, whose name is not longer than the others: same layout
    for line in ("show vstack ?", "show vst ?"):
        shown = session.run(line)
        assert shown.endswith("\n\n")
        assert [row for row in shown.splitlines() if row and "groups" not in row] == expected


def test_help_matches_guide_vst_in_configuration(engine: Engine) -> None:
    session = configuring(engine)
    expected = guide_answer("IBD(config)# vst ?")
    shown = session.run("vst ?").splitlines()
    # the guide's director lacks our example's group and join-window keywords
    assert [
        line for line in shown if "group" not in line and "join-window" not in line and line
    ] == expected


def test_help_matches_guide_download_image_issu(engine: Engine) -> None:
    session = privileged(engine)
    line = "vstack download-image built-in 4500 sup8-e 4507r+e NONE"
    assert session.run(line + " ?").splitlines()[:-1] == guide_answer(f"Switch# {line} ?")
    assert session.run(line + " issu ?").splitlines()[:-1] == guide_answer(f"Switch# {line} issu ?")


def test_help_layout_of_arguments_and_cr(engine: Engine) -> None:
    session = configuring(engine)
    assert session.run("vstack startup-vlan ?") == "  <1-4094>  Startup Management Vlan\n\n"
    assert session.run("vstack ?").endswith("  <cr>\n\n")
    assert session.run("ip pool 10.0.0.0 ?") == (
        "  /nn or A.B.C.D  Network mask or prefix length\n\n"
    )
    assert session.run("vstack join-window start ?") == "  <1-31>  Day of the month\n\n"
    assert session.run("vstack startup-vlan 10 ?") == "  <cr>\n\n"


def test_partial_word_help_lists_completions(engine: Engine) -> None:
    session = configuring(engine)
    assert session.run("vstack gr?") == "group\n\n"
    assert session.run("vstack s?") == "startup-vlan\n\n"
    assert session.run("vstack startup-vlan 1?") == "<1-4094>\n\n"
    assert session.run("vstack zz?") == "% Unrecognized command\n"
    assert session.run("h?") == "hostname\n\n"


def test_help_on_a_bad_prefix_shows_the_caret(engine: Engine) -> None:
    session = configuring(engine)
    assert session.run("vstack bogus ?") == (
        " " * len("Director(config)#vstack ") + "^\n% Invalid input detected at '^' marker.\n\n"
    )


def test_help_in_user_exec(session: Session) -> None:
    assert session.run("?") == (
        "  disable   Turn off privileged commands\n"
        "  enable    Turn on privileged commands\n"
        "  exit      Exit from the EXEC\n"
        "  logout    Exit from the EXEC\n"
        "  show      Show running system information\n"
        "  terminal  Set terminal line parameters\n\n"
    )


# -- errors ---------------------------------------------------------------------------------
def test_invalid_input_caret_counts_the_prompt(engine: Engine) -> None:
    session = configuring(engine)
    assert transcript(session, "vstack startup-vlan 5000") == (
        "Director(config)#vstack startup-vlan 5000\n"
        "                                        ^\n"
        "% Invalid input detected at '^' marker.\n\n"
    )
    assert transcript(session, "vstack startp-vlan 10") == (
        "Director(config)#vstack startp-vlan 10\n"
        "                             ^\n"
        "% Invalid input detected at '^' marker.\n\n"
    )


def test_incomplete_ambiguous_unknown(engine: Engine) -> None:
    session = privileged(engine)
    assert session.run("show") == "% Incomplete command.\n\n"
    assert session.run("show vstack") == "% Incomplete command.\n\n"
    assert session.run("e") == '% Ambiguous command:  "e"\n'  # enable, exit
    assert session.run("sh r") == session.run("show running-config")
    assert session.run("zzz") == (
        "% Unknown command or computer name, or unable to find computer address\n"
    )
    assert session.run("zzz yyy") == (
        "% Unknown command or computer name, or unable to find computer address\n"
    )
    session.run("conf t")
    assert session.run("zzz") == "                 ^\n% Invalid input detected at '^' marker.\n\n"
    assert session.run("vstack group custom g1") == "% Incomplete command.\n\n"


def test_date_and_range_arguments_through_the_engine(engine: Engine) -> None:
    session = configuring(engine)
    example = next(s for s in engine.sets if isinstance(s, ExampleSet))
    assert session.run("vstack join-window start 04 Jul 2009 6:30") == ""
    assert str(example.window) == "(datetime.date(2009, 7, 4), datetime.time(6, 30))"
    assert "Invalid input" in session.run("vstack join-window start 31 Feb 2009 06:30")
    session.run("end")
    assert session.run("vstack download-config index 1-3, 4 flash:c.txt") == ""
    assert example.last_index == (1, 2, 3, 4)
    assert "Invalid input" in session.run("vstack download-config index 5-3 flash:c.txt")


def test_handler_refusal_is_printed_and_reported(engine: Engine) -> None:
    session = configuring(engine)
    session.run("vstack group custom g1 mac")
    outcome = session.execute("image ftp://10.0.0.1/x.tar")
    assert not outcome.ok
    assert outcome.output == "% ftp: is not a supported location\n"


def test_overlong_line_is_refused(engine: Engine) -> None:
    session = configuring(engine)
    outcome = session.execute("hostname " + "x" * 5000)
    assert not outcome.ok and "Invalid input" in outcome.output


# -- output filters -------------------------------------------------------------------------
def test_filters(engine: Engine) -> None:
    session = privileged(engine)
    assert session.run("show lines 12 | include 1") == "line 1\nline 10\nline 11\nline 12\n"
    assert session.run("show lines 3 | exclude 2") == "line 1\nline 3\n"
    assert session.run("show lines 5 | begin 4") == "line 4\nline 5\n"
    assert session.run("show lines 3 | i ^line [23]$") == "line 2\nline 3\n"
    assert session.run("show lines 3 | include (") == ""  # bad regex: taken literally
    assert session.run("show lines 3 |") == "% Incomplete command.\n\n"
    assert session.run("show lines 3 | ?").splitlines()[:5] == [
        "  begin    Begin with the line that matches",
        "  exclude  Exclude lines that match",
        "  include  Include lines that match",
        "  json     Output as JSON",
        "  section  Filter a section of output",
    ]


def test_section_filter_on_running_config(engine: Engine) -> None:
    session = configuring(engine)
    for line in (
        "vstack group custom g1 mac",
        "match mac 001b.5444.c600",
        "image flash:a.tar",
        "exit",
        "ip helper-address 10.0.0.1",
    ):
        session.run(line)
    assert session.run("do show running-config | section group") == (
        "vstack group custom g1 mac\n match mac 001b.5444.c600\n image flash:a.tar\n"
    )
    assert session.run("do sh run | include helper") == "ip helper-address 10.0.0.1\n"


# -- declarations ---------------------------------------------------------------------------
def test_declarations_are_checked() -> None:
    engine = Engine()
    broken = CommandSet("broken")
    broken.command(CONFIG, "frobnicate", lambda ctx: None)
    with pytest.raises(SyntaxDeclarationError):
        engine.add(broken)
    twice = CommandSet("twice")
    twice.command(EXEC, "show running-config", lambda ctx: None)
    with pytest.raises(SyntaxDeclarationError):
        Engine().add(twice)
    undeclared = CommandSet("undeclared")
    undeclared.command(CONFIG, "name <x>", lambda ctx: None, help={"name": "n"})
    with pytest.raises(SyntaxDeclarationError):
        Engine().add(undeclared)
    unbalanced = CommandSet("unbalanced")
    unbalanced.command(
        CONFIG, "name [<x>", lambda ctx: None, help={"name": "n"}, args={"x": Arg(Word(), "x")}
    )
    with pytest.raises(SyntaxDeclarationError):
        Engine().add(unbalanced)


def test_handler_bug_becomes_an_ios_message() -> None:
    engine = Engine()
    buggy = CommandSet("buggy")

    def explode(ctx: object) -> None:
        raise RuntimeError("boom")

    buggy.command(EXEC, "explode", explode, help={"explode": "Fail"})
    engine.add(buggy)
    outcome = engine.session().execute("explode")
    assert not outcome.ok and outcome.output.startswith("% ")


def test_question_flow_of_copy(tmp_path: Path) -> None:
    from smartinstall.ios import StartupConfig

    engine, _ = make_engine(StartupConfig(tmp_path / "startup-config"))
    session = privileged(engine)
    assert session.run("copy running-config startup-config") == ""
    assert session.prompt() == "Destination filename [startup-config]? "
    assert session.run("") == "Building configuration...\n[OK]\n"
    assert session.prompt() == "Director#"
    assert (tmp_path / "startup-config").read_text().startswith("!\nhostname Director\n")


def test_guide_abbreviations_of_show_vstack_group(engine: Engine) -> None:
    session = privileged(engine)
    for line in (
        "show vst group built-in 4500 sup8-e de",  # guide chapter 3
        "show vst group built-in 4500 sup8-e 4503 de",
        "sh vst gr bu 4500 sup8 4507 su",
    ):
        outcome = session.execute(line)
        assert outcome.ok and outcome.output.startswith("-----\n"), line
    assert session.run("show vst group built-in 4500 sup8-e 45 de") == (
        '% Ambiguous command:  "show vst group built-in 4500 sup8-e 45 de"\n'
    )
    assert session.run("show vst group built-in 4500 sup8-e ?").splitlines()[:2] == [
        "  4503     4503 chassis type",
        "  4506     4506 chassis type",
    ]


def test_help_for_an_unknown_first_word_and_for_do(engine: Engine) -> None:
    session = configuring(engine)
    assert session.run("zzz ?") == "% Unrecognized command\n"
    shown = session.run("do ?")
    assert "  configure  Enter configuration mode\n" in shown
    assert "  show       Show running system information\n" in shown
    assert session.run("do sh?") == "show\n\n"
    assert session.complete("do sh") == "do show "
    assert session.complete("vstack gr") == "vstack group "
    assert session.complete("vstack s") == "vstack startup-vlan "
    assert session.complete("no") == "no "
    assert session.complete("vstack startup-vlan 1") is None


def test_ios_underscore_in_filters() -> None:
    from smartinstall.ios.engine import apply_filter

    text = "vstack vlan 1,10\nvstack startup-vlan 10\nhostname sw_10\n"
    assert apply_filter("include", "_10$", text) == "vstack vlan 1,10\nvstack startup-vlan 10\n"
    assert apply_filter("include", "sw\\_10", text) == "hostname sw_10\n"
    assert apply_filter("include", "^vstack_", text) == (
        "vstack vlan 1,10\nvstack startup-vlan 10\n"
    )
    assert apply_filter("include", "\\", text) == ""  # a lone backslash matches nothing here


def test_greedy_argument_help(engine: Engine) -> None:
    session = configuring(engine)
    label = "  LINE  c banner-text c, where 'c' is a delimiting character\n"
    assert session.run("banner motd ?") == label + "\n"
    assert session.run("banner motd ^hello there ?") == label + "  <cr>\n\n"


def test_enable_with_a_password() -> None:
    engine = Engine(hostname="Director", enable_check=lambda secret: secret == "s3cret")
    session = engine.session()
    assert session.run("enable") == ""
    assert session.prompt() == "Password: "
    assert session.pending is not None and session.pending.secret
    assert session.run("wrong") == ""
    assert session.prompt() == "Password: "
    assert session.run("s3cret") == ""
    assert session.prompt() == "Director#"
    session.run("disable")
    session.run("enable")
    for _ in range(2):
        session.run("bad")
    assert session.run("bad") == "% Bad secrets\n"
    assert session.prompt() == "Director>"


def test_editor_hides_the_password() -> None:
    from smartinstall.ios.editor import LineEditor

    engine = Engine(hostname="Director", enable_check=lambda secret: secret == "s3cret")
    editor = LineEditor(engine.session())
    assert editor.feed("enable\r") == "enable\r\nPassword: "
    assert editor.feed("s3cret") == ""
    assert editor.feed("\r") == "\r\nDirector#"


def test_hostname_can_live_in_another_settings_object() -> None:
    class Settings:
        hostname = "FromSettings"

    settings = Settings()
    engine = Engine(hostname="Director", hostname_holder=settings)
    session = engine.session(level=15)
    assert session.prompt() == "FromSettings#"
    session.run("configure terminal")
    session.run("hostname Edited")
    assert settings.hostname == "Edited"
    assert "hostname Edited\n" in engine.running_config()
    session.run("no hostname")
    assert settings.hostname == "Director"
