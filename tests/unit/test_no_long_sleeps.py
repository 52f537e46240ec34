"""No test sleeps for a second or more: a test waits on an event, a log line or a clock it turns
(``tests/turned_clock.py``), so the suite stays fast and a slow machine cannot fail it.

Every Python file under ``tests/`` is parsed and these are refused, at 1 s or more:
``sleep(N)`` (``time.sleep``, ``asyncio.sleep`` or any other ``sleep``), ``sleep(name)`` where
``name`` is a parameter of the enclosing function whose default is N, and a ``sleep N`` program
run from a test (``["sleep", "N"]`` or a shell line).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
LIMIT = 1.0
_SHELL_SLEEP = re.compile(r"\bsleep\s+(\d+(?:\.\d*)?|\.\d+)\b")


def _number(node: ast.AST | None) -> float | None:
    if node is None:
        return None
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _is_sleep(call: ast.Call) -> bool:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name == "sleep"


def _duration(call: ast.Call) -> ast.AST | None:
    if call.args:
        return call.args[0]
    for keyword in call.keywords:
        if keyword.arg in ("delay", "secs", "seconds"):
            return keyword.value
    return None


def _defaults(function: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, ast.AST]:
    args = function.args
    positional = [*args.posonlyargs, *args.args]
    found: dict[str, ast.AST] = {}
    for arg, default in zip(
        positional[len(positional) - len(args.defaults) :], args.defaults, strict=True
    ):
        found[arg.arg] = default
    for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        if kw_default is not None:
            found[arg.arg] = kw_default
    return found


class _Finder(ast.NodeVisitor):
    def __init__(self) -> None:
        self.found: list[tuple[int, str]] = []
        self._scopes: list[dict[str, ast.AST]] = []

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._scopes.append(_defaults(node))
        self.generic_visit(node)
        self._scopes.pop()

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_Call(self, node: ast.Call) -> None:
        if _is_sleep(node):
            duration = _duration(node)
            seconds = _number(duration)
            if seconds is None and isinstance(duration, ast.Name) and self._scopes:
                seconds = _number(self._scopes[-1].get(duration.id))
            if seconds is not None and seconds >= LIMIT:
                self.found.append((node.lineno, f"sleeps {seconds:g} s"))
        self.generic_visit(node)

    def _program(self, node: ast.List | ast.Tuple) -> None:
        words = [e.value if isinstance(e, ast.Constant) else None for e in node.elts[:2]]
        if len(words) == 2 and words[0] == "sleep" and isinstance(words[1], str):
            try:
                seconds = float(words[1])
            except ValueError:
                seconds = 0.0
            if seconds >= LIMIT:
                self.found.append((node.lineno, f"runs sleep {words[1]}"))
        self.generic_visit(node)

    visit_List = _program
    visit_Tuple = _program

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str):
            for match in _SHELL_SLEEP.finditer(node.value):
                if float(match.group(1)) >= LIMIT:
                    self.found.append((node.lineno, f"runs {match.group(0)!r}"))


def long_sleeps(source: str, name: str = "<test>") -> list[str]:
    finder = _Finder()
    finder.visit(ast.parse(source, name))
    return [f"{name}:{line}: {what}" for line, what in sorted(finder.found)]


def _test_files() -> Iterator[Path]:
    here = Path(__file__).resolve()  # its own examples below are long sleeps on purpose
    yield from (path for path in sorted(TESTS.rglob("*.py")) if path.resolve() != here)


def test_no_test_sleeps_a_second_or_more() -> None:
    found = [
        hit
        for path in _test_files()
        for hit in long_sleeps(path.read_text(encoding="utf-8"), str(path.relative_to(TESTS)))
    ]
    assert found == [], "wait on an event or a turned clock instead:\n" + "\n".join(found)


def test_the_scan_finds_each_form_of_a_long_sleep() -> None:
    # written with NAP for sleep, so that no scanner of this file takes the sample for a wait
    source = """
import asyncio, subprocess, time
from time import NAP

async def waits(pause: float = 2.5, short: float = 0.2) -> None:
    await asyncio.NAP(1)
    time.NAP(1.5)
    NAP(seconds=3)
    await asyncio.NAP(pause)
    await asyncio.NAP(short)
    await asyncio.NAP(0.99)
    subprocess.run(["NAP", "5"])
    subprocess.run("true; NAP 2 && true", shell=True)
    subprocess.run(["NAP", "0.5"])
""".replace("NAP", "sleep")
    assert long_sleeps(source) == [
        "<test>:6: sleeps 1 s",
        "<test>:7: sleeps 1.5 s",
        "<test>:8: sleeps 3 s",
        "<test>:9: sleeps 2.5 s",
        "<test>:12: runs sleep 5",
        "<test>:13: runs 'sleep 2'",
    ]
