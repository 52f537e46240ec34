"""Configuration differences, merges and replacement, as IOS's configuration archive does them.

* `parse_config`: a configuration text as a tree of lines (a line indented under another is
  its child), without comments, ``end`` and the banner lines of ``show running-config``;
  bounded (at most `MAX_LINES` lines of at most `MAX_LINE` characters).
* `contextual_diff`: ``show archive config differences A B``: ``-line`` (only in A) and
  ``+line`` (only in B) under their unchanged parents, or ``!No changes were found``.
* `incremental_diff`: ``show archive config incremental-diffs FILE``: the lines of FILE the
  running configuration does not have yet (``!List of Commands:`` … ``end``).
* `replace_config`: ``configure replace``: the configlet that turns the running
  configuration into the candidate (``no`` forms of the lines only the running configuration
  has, then the candidate's new lines), applied through the engine as typed lines, pass after
  pass (up to `MAX_PASSES`) until nothing is left to change.
* `apply_config`: ``copy FILE running-config``: the lines of a file applied through the
  engine; every rejected line comes back with IOS's error.
* `replace_steps`, `apply_steps`, `run_stepwise`: the same as generators, run on an event loop
  that serves its other work between steps.

Lines are compared with their spaces normalised (and without case with ``ignorecase``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from smartinstall.ios.engine import Engine, Session
from smartinstall.ios.tree import CONFIG, EXEC, PRIVILEGED_LEVEL

MAX_LINES = 20_000
MAX_LINE = 2048
MAX_DEPTH = 16
MAX_PASSES = 5
#: commands applied between two turns of the event loop (`run_stepwise`)
STEP = 32
T = TypeVar("T")
NO_CHANGES = "!No changes were found"
CONTEXTUAL = "!Contextual Config Diffs:"
LIST_OF_COMMANDS = "!List of Commands:"
_BANNERS = ("building configuration", "current configuration", "last configuration change")
#: the first line of ``show startup-config``
_USING = re.compile(r"Using \d+ out of \d+ bytes")


@dataclass
class ConfigLine:
    """One configuration line and the lines of its sub-mode."""

    text: str
    children: list[ConfigLine] = field(default_factory=list)


def _key(text: str, ignorecase: bool) -> str:
    joined = " ".join(text.split())
    return joined.lower() if ignorecase else joined


def parse_config(text: str) -> list[ConfigLine]:
    """The configuration lines of ``text`` as a tree; never raises."""
    roots: list[ConfigLine] = []
    stack: list[tuple[int, ConfigLine]] = []
    for count, raw in enumerate(text.splitlines()):
        if count >= MAX_LINES:
            break
        line = raw[:MAX_LINE].rstrip().replace("\t", " ")
        stripped = line.strip()
        if not stripped or stripped.startswith("!"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        if indent == 0 and stripped == "end":
            break
        if indent == 0 and (stripped.lower().startswith(_BANNERS) or _USING.fullmatch(stripped)):
            continue
        node = ConfigLine(stripped)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if stack and len(stack) < MAX_DEPTH:
            stack[-1][1].children.append(node)
        elif stack:  # too deep: a sibling of the deepest parent allowed
            stack.pop()
            (stack[-1][1].children if stack else roots).append(node)
        else:
            roots.append(node)
        stack.append((indent, node))
    return roots


def _index(lines: Iterable[ConfigLine], ignorecase: bool) -> dict[str, ConfigLine]:
    found: dict[str, ConfigLine] = {}
    for line in lines:
        found.setdefault(_key(line.text, ignorecase), line)
    return found


def _marked(line: ConfigLine, mark: str, depth: int) -> list[str]:
    out = [" " * depth + mark + line.text]
    for child in line.children:
        out += _marked(child, mark, depth + 1)
    return out


def _contextual(
    old: list[ConfigLine], new: list[ConfigLine], depth: int, ignorecase: bool
) -> list[str]:
    old_index, new_index = _index(old, ignorecase), _index(new, ignorecase)
    out: list[str] = []
    for key, line in old_index.items():
        if key not in new_index:
            out += _marked(line, "-", depth)
    for key, line in new_index.items():
        before = old_index.get(key)
        if before is None:
            out += _marked(line, "+", depth)
            continue
        inner = _contextual(before.children, line.children, depth + 1, ignorecase)
        if inner:
            out += [" " * depth + line.text, *inner]
    return out


def contextual_diff(old_text: str, new_text: str, ignorecase: bool = False) -> str:
    """``show archive config differences``: what turns ``old_text`` into ``new_text``."""
    lines = _contextual(parse_config(old_text), parse_config(new_text), 0, ignorecase)
    if not lines:
        return f"{CONTEXTUAL}\n{NO_CHANGES}\n"
    return CONTEXTUAL + "\n" + "".join(line + "\n" for line in lines)


def _negates(text: str, present: dict[str, ConfigLine], ignorecase: bool) -> bool:
    """Whether ``no X`` would change a configuration that has the lines ``present``."""
    target = _key(text[3:], ignorecase)
    return any(key == target or key.startswith(target + " ") for key in present)


def _incremental(
    running: list[ConfigLine], wanted: list[ConfigLine], depth: int, ignorecase: bool
) -> list[str]:
    present = _index(running, ignorecase)
    out: list[str] = []
    for line in wanted:
        key = _key(line.text, ignorecase)
        if key.startswith("no "):
            if _negates(line.text, present, ignorecase):
                out.append(" " * depth + line.text)
            continue
        before = present.get(key)
        if before is None:
            out += [" " * (depth + n) + t for n, t in _plain(line)]
            continue
        inner = _incremental(before.children, line.children, depth + 1, ignorecase)
        if inner:
            out += [" " * depth + line.text, *inner]
    return out


def _plain(line: ConfigLine, depth: int = 0) -> list[tuple[int, str]]:
    out = [(depth, line.text)]
    for child in line.children:
        out += _plain(child, depth + 1)
    return out


def incremental_diff(running_text: str, file_text: str, ignorecase: bool = False) -> str:
    """``show archive config incremental-diffs``: the lines of ``file_text`` that would change
    the running configuration ``running_text``."""
    lines = _incremental(parse_config(running_text), parse_config(file_text), 0, ignorecase)
    if not lines:
        return f"{NO_CHANGES}\n"
    return LIST_OF_COMMANDS + "\n" + "".join(line + "\n" for line in lines) + "end\n"


# --- applying ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One command of a configlet: ``line`` (or its ``no`` form) under the parent lines."""

    parents: tuple[str, ...]
    line: str
    remove: bool

    def typed(self) -> str:
        if not self.remove:
            return self.line
        return self.line[3:] if self.line.startswith("no ") else "no " + self.line


def configlet(running_text: str, candidate_text: str, ignorecase: bool = False) -> list[Change]:
    """The commands that turn the running configuration into the candidate: removals first
    (a removed parent takes its sub-mode with it), then additions (parents before children)."""
    removals: list[Change] = []
    additions: list[Change] = []

    def add(line: ConfigLine, parents: tuple[str, ...]) -> None:
        additions.append(Change(parents, line.text, False))
        for child in line.children:
            add(child, (*parents, line.text))

    def walk(old: list[ConfigLine], new: list[ConfigLine], parents: tuple[str, ...]) -> None:
        old_index, new_index = _index(old, ignorecase), _index(new, ignorecase)
        for key, line in old_index.items():
            if key not in new_index:
                removals.append(Change(parents, line.text, True))
        for key, line in new_index.items():
            before = old_index.get(key)
            if before is None:
                add(line, parents)
            else:
                walk(before.children, line.children, (*parents, line.text))

    walk(parse_config(running_text), parse_config(candidate_text), ())
    return removals + additions


@dataclass
class Rejected:
    """A command of a configlet or a file that the engine refused, with IOS's message."""

    line: str
    output: str


@dataclass
class ReplaceResult:
    passes: int = 0
    done: bool = False
    #: the commands of the last pass (``!List of Commands:``)
    last: list[Change] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def _config_session(engine: Engine) -> Session:
    session = engine.session(level=PRIVILEGED_LEVEL)
    session.applies_config = True  # for a command the configuration lock let through
    session.enter(CONFIG)
    return session


def _run(session: Session, line: str) -> tuple[bool, str]:
    """One configuration line as if typed; a question or background work refuses it."""
    outcome = session.execute(line, echo_prompt_width=0, help_mark=False)
    if session.pending is not None:
        session.pending = None
        return False, "% the command asks a question; not allowed here\n"
    if session.waiting is not None:
        session.waiting = None
        return False, "% the command runs in the background; not allowed here\n"
    if session.mode.name == EXEC.name:
        session.enter(CONFIG)
    return outcome.ok, outcome.output


def _at_parents(session: Session, parents: tuple[str, ...]) -> str | None:
    """Back to global configuration, then into the sub-mode of ``parents``; the error of a
    parent line that was refused."""
    session.end()
    session.enter(CONFIG)
    for parent in parents:
        ok, output = _run(session, parent)
        if not ok:
            return output
    return None


def _apply(session: Session, change: Change) -> Rejected | None:
    failed = _at_parents(session, change.parents)
    if failed is not None:
        return Rejected(change.typed(), failed)
    command = change.typed()
    ok, output = _run(session, command)
    if ok:
        return None
    if not (change.remove and command.startswith("no ")):
        return Rejected(command, output)
    # IOS takes ``no`` with the arguments that follow it ignored: the longest shorter form
    # the engine accepts (never shorter than the command's first two words)
    words = command.split()
    for keep in range(len(words) - 1, min(3, len(words)) - 1, -1):
        failed = _at_parents(session, change.parents)
        if failed is not None:
            break
        shorter_ok, _ = _run(session, " ".join(words[:keep]))
        if shorter_ok:
            return None
    return Rejected(command, output)


def replace_steps(
    engine: Engine, candidate_text: str, ignorecase: bool = False
) -> Generator[None, None, ReplaceResult]:
    """``configure replace``: the running configuration made the candidate, pass after pass;
    a generator that yields after each command (see `replace_config`, `run_stepwise`).

    A pass applies the configlet between the running configuration and the candidate. It is
    done when nothing is left to change, or when only removals the engine accepted are left
    (lines every configuration shows, such as defaults). It stops after `MAX_PASSES` passes or
    when a pass left the same configlet as the one before."""
    result = ReplaceResult()
    previous: list[Change] | None = None
    accepted: set[Change] = set()  # removals the last pass made without an error
    while result.passes < MAX_PASSES:
        changes = configlet(engine.running_config(), candidate_text, ignorecase)
        if not changes or (all(c.remove for c in changes) and set(changes) <= accepted):
            result.done = True
            return result
        if changes == previous:
            return result
        result.passes += 1
        result.last, result.rejected, accepted = changes, [], set()
        session = _config_session(engine)
        for change in changes:
            rejected = _apply(session, change)
            if rejected is not None:
                result.rejected.append(rejected)
            elif change.remove:
                accepted.add(change)
            yield
        session.end()
        previous = changes
    remaining = configlet(engine.running_config(), candidate_text, ignorecase)
    result.done = not remaining or (all(c.remove for c in remaining) and set(remaining) <= accepted)
    return result


def apply_steps(engine: Engine, text: str) -> Generator[None, None, list[Rejected]]:
    """``copy FILE running-config``: every line of ``text`` as typed in configuration mode
    (sub-mode lines under their parent); the refused lines with IOS's message. A generator
    that yields after each line (see `apply_config`, `run_stepwise`)."""
    rejected: list[Rejected] = []
    session = _config_session(engine)
    for count, raw in enumerate(text.splitlines()):
        if count >= MAX_LINES:
            break
        line = raw[:MAX_LINE].rstrip("\r\n")
        stripped = line.strip()
        if not stripped or stripped.startswith("!"):
            continue
        if stripped == "end" and not line.startswith(" "):
            break
        ok, output = _run(session, stripped)
        if not ok:
            rejected.append(Rejected(stripped, output))
        yield
    session.end()
    return rejected


def _finish(steps: Generator[None, None, T]) -> T:
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


def replace_config(engine: Engine, candidate_text: str, ignorecase: bool = False) -> ReplaceResult:
    """`replace_steps` run to the end at once."""
    return _finish(replace_steps(engine, candidate_text, ignorecase))


def apply_config(engine: Engine, text: str) -> list[Rejected]:
    """`apply_steps` run to the end at once."""
    return _finish(apply_steps(engine, text))


async def run_stepwise(steps: Generator[None, None, T], every: int = STEP) -> T:
    """Steps run on the event loop, which serves its other work every ``every`` steps (a
    large configuration never holds DHCP, TFTP and SMI up for long)."""
    count = 0
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        count += 1
        if count % every == 0:
            await asyncio.sleep(0)


def listing(changes: Iterable[Change]) -> str:
    """A configlet as IOS lists it: ``!List of Commands:``, the commands, ``end``."""
    lines = [LIST_OF_COMMANDS]
    current: tuple[str, ...] = ()  # the sub-mode the listing is in
    for change in changes:
        same = 0
        while same < min(len(current), len(change.parents)) and (
            current[same] == change.parents[same]
        ):
            same += 1
        lines += [" " * n + change.parents[n] for n in range(same, len(change.parents))]
        lines.append(" " * len(change.parents) + change.typed())
        current = change.parents if change.remove else (*change.parents, change.line)
    lines.append("end")
    return "".join(line + "\n" for line in lines)


def rejected_text(rejected: Iterable[Rejected]) -> str:
    """The refused commands as IOS prints them: the command, then the engine's message."""
    return "".join(f"{item.line}\n{item.output}" for item in rejected)


__all__ = [
    "CONTEXTUAL",
    "LIST_OF_COMMANDS",
    "NO_CHANGES",
    "Change",
    "ConfigLine",
    "Rejected",
    "ReplaceResult",
    "apply_config",
    "apply_steps",
    "configlet",
    "contextual_diff",
    "incremental_diff",
    "listing",
    "parse_config",
    "rejected_text",
    "replace_config",
    "replace_steps",
    "run_stepwise",
]
