"""Commands that finish with network work (`Context.wait`): the prompt waits for the result."""

from __future__ import annotations

import asyncio

from smartinstall.ios import EXEC, CommandError, CommandSet, Context, Engine
from smartinstall.ios.editor import LineEditor


class Slow(CommandSet):
    name = "slow"

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.command(EXEC, "fetch", self._fetch, help={"fetch": "Fetch something slowly"})
        self.command(EXEC, "broken", self._broken, help={"broken": "Fail while waiting"})

    def _fetch(self, ctx: Context) -> None:
        ctx.write("Accessing...\n")

        async def work() -> str:
            await self.gate.wait()
            return "[OK]\n"

        ctx.wait(work)

    def _broken(self, ctx: Context) -> None:
        async def work() -> str:
            raise CommandError("%Error fetching (timed out)")

        ctx.wait(work)


async def test_prompt_waits_for_the_work_and_keys_typed_meanwhile_are_kept() -> None:
    engine = Engine(hostname="D")
    slow = engine.add(Slow())
    assert isinstance(slow, Slow)
    editor = LineEditor(engine.session())
    assert editor.start() == "D>"
    out = editor.feed("fetch\rshow history\r")
    assert out == "fetch\r\nAccessing...\r\n"  # no prompt yet, the next line is held
    assert editor.waiting
    settling = asyncio.ensure_future(editor.settle())
    await asyncio.sleep(0.01)
    assert not settling.done()
    slow.gate.set()
    text = await settling
    assert text.startswith("[OK]\r\nD>show history\r\n")
    assert text.endswith("D>")
    assert not editor.waiting


async def test_failure_while_waiting_is_an_ios_message() -> None:
    engine = Engine(hostname="D")
    engine.add(Slow())
    session = engine.session()
    assert session.execute("broken").ok
    assert await session.settle() == "%Error fetching (timed out)\n"
    assert await session.settle() == ""


class Choices(CommandSet):
    name = "choices"

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, ...]] = []
        self.command(
            EXEC,
            "pick {red | green} [bright]",
            self._pick,
            help={"pick": "Pick a colour", "red": "Red", "green": "Green", "bright": "Brighter"},
        )

    def _pick(self, ctx: Context) -> None:
        self.seen.append(ctx.keywords)


def test_handlers_see_which_keywords_were_typed_even_abbreviated() -> None:
    engine = Engine(hostname="D")
    choices = engine.add(Choices())
    assert isinstance(choices, Choices)
    session = engine.session()
    assert session.execute("pick gr").ok and session.execute("PICK red bri").ok
    assert choices.seen == [("pick", "green"), ("pick", "red", "bright")]


# --- the line's filter and the result of the work -----------------------------------------


class Waiting(CommandSet):
    name = "waiting"

    def __init__(self) -> None:
        super().__init__()
        self.command(EXEC, "report", self._report, output=True, help={"report": "A report"})
        self.command(EXEC, "fail", self._fail, output=True, help={"fail": "Fails later"})

    def _report(self, ctx: Context) -> None:
        ctx.write("header line\n")

        async def work() -> str:
            return "alpha 1\nbeta 2\nalpha 3\n"

        ctx.wait(work)

    def _fail(self, ctx: Context) -> None:
        async def work() -> str:
            raise CommandError("%Error writing flash:x (disk full)")

        ctx.wait(work)


def make() -> Engine:
    engine = Engine(hostname="Director")
    engine.add(Waiting())
    return engine


async def test_the_work_output_is_filtered_like_the_rest() -> None:
    session = make().session()
    outcome = session.execute("report | include alpha")
    assert outcome.ok and outcome.output == ""
    assert await session.settle() == "alpha 1\nalpha 3\n"
    assert session.settled_ok
    session.execute("report")
    assert await session.settle() == "alpha 1\nbeta 2\nalpha 3\n"


async def test_a_failure_of_the_work_is_reported() -> None:
    session = make().session()
    outcome = session.execute("fail")
    assert outcome.ok  # the line itself was taken
    assert await session.settle() == "%Error writing flash:x (disk full)\n"
    assert not session.settled_ok
    session.execute("report")
    await session.settle()
    assert session.settled_ok
