"""`| json` on a command that finishes in a thread (``Context.wait``): the text its work prints
is what the structurer shapes, not the empty text the handler wrote."""

from __future__ import annotations

from smartinstall.ios import EXEC, CommandSet, Context, Engine


class Waits(CommandSet):
    name = "waits"

    def __init__(self) -> None:
        super().__init__()
        self.command(
            EXEC, "show later", self._show, output=True, help={"show": "Show", "later": "Later"}
        )

    def _show(self, ctx: Context) -> None:
        async def work() -> str:
            return "a 1\n"

        ctx.wait(work)


async def test_json_filter_shapes_what_the_work_prints() -> None:
    engine = Engine(hostname="Director")
    engine.add(Waits())
    seen: list[tuple[str, str]] = []

    def structurer(command: str, output: str) -> str | None:
        seen.append((command, output))
        return None if output == "" else '[{"a": "1"}]\n'

    engine.structurer = structurer
    session = engine.session(15)
    outcome = session.execute("show later | json")
    assert outcome.ok and outcome.output == ""
    assert await session.settle() == '[{"a": "1"}]\n'
    assert seen == [("show later", "a 1\n")]


async def test_json_filter_without_a_form_says_so_after_the_work() -> None:
    engine = Engine(hostname="Director")
    engine.add(Waits())
    engine.structurer = lambda _command, _output: None
    session = engine.session(15)
    assert session.execute("show later | json").output == ""
    assert await session.settle() == "% JSON output is not available for this command\n"
    assert not session.settled_ok
    # without a structurer the filter is refused at once and the work does not run
    engine.structurer = None
    outcome = session.execute("show later | json")
    assert not outcome.ok and "JSON output is not available" in outcome.output
    assert session.waiting is None
