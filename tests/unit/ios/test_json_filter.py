"""`| json`: the engine hands a command's output to its structurer (the director's parses the
guide's tables with its TextFSM templates) and refuses the filter without one."""

from __future__ import annotations

from smartinstall.director.structured import structure
from smartinstall.ios import EXEC, CommandSet, Context, Engine


class Shows(CommandSet):
    name = "shows"

    def __init__(self) -> None:
        super().__init__()
        self.command(
            EXEC, "show thing", self._show, output=True, help={"show": "Show", "thing": "A thing"}
        )

    def _show(self, ctx: Context) -> None:
        ctx.write("a 1\nb 2\n")


def engine() -> Engine:
    result = Engine(hostname="Director")
    result.add(Shows())
    return result


def test_json_filter_uses_the_structurer_with_the_command_words() -> None:
    e = engine()
    seen: list[tuple[str, str]] = []

    def structurer(command: str, output: str) -> str | None:
        seen.append((command, output))
        return '[{"row": 1}]\n'

    e.structurer = structurer
    outcome = e.session(15).execute("sh thi | json")
    assert outcome.ok and outcome.output == '[{"row": 1}]\n'
    assert seen == [("show thing", "a 1\nb 2\n")]


def test_json_filter_refused_without_a_structured_form() -> None:
    e = engine()
    outcome = e.session(15).execute("show thing | json")
    assert not outcome.ok and "JSON output is not available" in outcome.output
    e.structurer = lambda _command, _output: None
    assert not e.session(15).execute("show thing | json").ok
    assert e.session(15).execute("show thing | include a").output == "a 1\n"


def test_director_structurer_parses_show_vstack_status() -> None:
    output = (
        "SmartInstall: ENABLED\n"
        "Director Database:\n"
        "DevNo MAC Address    Product-ID        IP_addr         Hostname   Status\n"
        "===== ============== ================= =============== ========== ==========\n"
        "0     0203.617f.f732 WS-C3750X-24P     127.20.0.1      Director   Director\n"
        "1     0050.5601.0001 WS-C2960X-48FPS-L 127.20.1.1      STORE-01   S A a I C P\n"
    )
    text = structure("show vstack status", output)
    assert text is not None
    import json

    rows = json.loads(text)
    assert rows[1]["mac_address"] == "0050.5601.0001" and rows[1]["status"] == "S A a I C P"
    assert structure("show running-config", "hostname x\n") is None
