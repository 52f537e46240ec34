"""Abbreviations settled by the rest of the line, as IOS parses every branch of a line (guide,
debug vstack: `de` typed for `debug` where only `debug` takes the line)."""

from __future__ import annotations

from smartinstall.ios import (
    EXEC,
    PRIVILEGED_LEVEL,
    Arg,
    CommandSet,
    Context,
    Engine,
    Session,
    Word,
)
from smartinstall.ios.editor import LineEditor


class Commands(CommandSet):
    """`debug vstack {all | download}` and `delete <file>`: both start with `de`."""

    def __init__(self) -> None:
        super().__init__()
        self.ran: list[str] = []
        help = {"debug": "Debugging functions", "vstack": "Smart Install", "all": "All",
                "download": "Downloads", "delete": "Delete a file"}  # fmt: skip
        self.command(EXEC, "debug vstack {all | download}", self._run, help=help)
        self.command(EXEC, "delete <file>", self._run, help=help,
                     args={"file": Arg(Word(), "File")})  # fmt: skip

    def _run(self, ctx: Context) -> None:
        self.ran.append(" ".join(ctx.keywords) + " " + str(ctx.args.get("file", "")))


def session() -> tuple[Commands, Session]:
    engine = Engine(hostname="Director")
    commands = Commands()
    engine.add(commands)
    return commands, engine.session(level=PRIVILEGED_LEVEL)


def test_an_abbreviation_the_rest_of_the_line_settles_is_taken() -> None:
    commands, s = session()
    assert s.run("de vstack all") == ""
    assert s.run("de vst dow") == ""
    assert s.run("de flash:x") == ""  # only delete takes one word
    assert commands.ran == ["debug vstack all ", "debug vstack download ", "delete flash:x"]


def test_an_abbreviation_several_branches_take_is_ambiguous() -> None:
    commands, s = session()
    # IOS: `% Ambiguous command:  "de"` (two spaces after the colon)
    assert s.run("de") == '% Ambiguous command:  "de"\n'
    assert s.run("d vstack all") == "" and commands.ran == ["debug vstack all "]
    assert s.run("de vstack bogus") == '% Ambiguous command:  "de vstack bogus"\n'
    assert s.run("de vstack all") == "" and s.run("de flash:x") == ""


def test_keys_typed_after_a_line_that_attaches_are_held_for_the_other_end() -> None:
    # Guide, vstack attach: a wrapper for telnet; pasted lines after it belong to the client.
    engine = Engine(hostname="Director")

    class Attach(CommandSet):
        def __init__(self) -> None:
            super().__init__()
            self.command(EXEC, "attach", self._attach, help={"attach": "Attach"})

        def _attach(self, ctx: Context) -> None:
            ctx.session.attach = ("127.0.0.1", 23)

    engine.add(Attach())
    editor = LineEditor(engine.session(level=PRIVILEGED_LEVEL))
    editor.feed("attach\renable\rshow version\r")
    assert editor.session.attach == ("127.0.0.1", 23)
    assert editor.take_held() == "enable\rshow version\r"
    assert editor.take_held() == ""
