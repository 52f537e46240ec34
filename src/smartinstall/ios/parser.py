"""Matching a typed line against a mode's tree: commands, `?` help and Tab completion.

Pure functions over `Node` trees; no session state. Keywords match by unique prefix,
case-insensitively; an exact keyword wins over longer ones; typed arguments are tried in
declaration order when no keyword matches.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from smartinstall.ios.tree import Command, Node
from smartinstall.ios.types import ArgError

#: resolves a redirect node's target mode name to that mode's root and level
Resolver = Callable[[str], Node | None]

INVALID = "% Invalid input detected at '^' marker."
INCOMPLETE = "% Incomplete command."
UNKNOWN = "% Unknown command or computer name, or unable to find computer address"
UNRECOGNIZED = "% Unrecognized command"
#: how many branches one line may try to settle its ambiguous abbreviations
MAX_BRANCH_WALKS = 64


def ambiguous(text: str) -> str:
    return f'% Ambiguous command:  "{text}"'


@dataclass(frozen=True)
class Token:
    text: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.text)


_WORD = re.compile(r"\S+")


def tokenize(line: str) -> list[Token]:
    return [Token(found.group(), found.start()) for found in _WORD.finditer(line)]


@dataclass
class Walk:
    """Where the tokens of a line lead in a tree."""

    node: Node
    args: dict[str, object] = field(default_factory=dict)
    negated: bool = False
    #: index of the first token not consumed (== len(tokens) when all matched)
    stopped: int = 0
    #: error kind when matching stopped early: "invalid" | "ambiguous" | None
    error: str | None = None
    #: column of the caret for "invalid"
    column: int = 0
    #: the command before `|` and the filter chosen after it
    piped: Command | None = None
    filter_kind: str | None = None
    #: True when a greedy (rest of line) argument took the last tokens
    greedy: bool = False
    path: list[Node] = field(default_factory=list)


def visible_children(node: Node, level: int, resolve: Resolver) -> list[Node]:
    if node.kind == "redirect" and node.target is not None:
        target = resolve(node.target)
        children = target.children if target is not None else []
    else:
        children = node.children
    return [child for child in children if child.level <= level]


def _common_prefix(first: str, second: str) -> int:
    count = 0
    for left, right in zip(first, second, strict=False):
        if left != right:
            break
        count += 1
    return count


def _arg_value(child: Node, text: str) -> object:
    assert child.type is not None
    return child.type.parse(text)


def walk(
    root: Node,
    line: str,
    tokens: Sequence[Token],
    level: int,
    resolve: Resolver,
    limit: int | None = None,
    *,
    forced: Mapping[int, Node] | None = None,
    budget: list[int] | None = None,
) -> Walk:
    """Match tokens[:limit] from `root`; stops at the first token that does not match.

    An abbreviation that fits several keywords is settled by the rest of the line, as IOS
    parses every branch: when exactly one of them takes the whole line (`de vstack all` is
    `debug`, since `delete` takes one file name), that one is chosen; otherwise the line is
    ambiguous. `forced` (token index -> keyword) and `budget` (sub-walks left) are that
    search's own state.
    """
    end = len(tokens) if limit is None else limit
    if budget is None:
        budget = [MAX_BRANCH_WALKS]
    state = Walk(root)
    node = root
    index = 0
    pending_parts: list[object] = []
    while index < end:
        token = tokens[index]
        children = visible_children(node, level, resolve)
        lowered = token.text.lower()
        keywords = [c for c in children if c.kind in ("keyword", "redirect", "pipe")]
        exact = [c for c in keywords if c.word.lower() == lowered]
        prefixed = exact or [c for c in keywords if c.word.lower().startswith(lowered)]
        chosen: Node | None = None
        value: object = None
        consumed = 1
        if forced is not None and index in forced:
            chosen = forced[index]
        elif len(prefixed) == 1:
            chosen = prefixed[0]
        else:
            for child in children:
                if child.kind != "arg" or child.type is None:
                    continue
                if child.type.greedy:
                    text = line[token.start :].rstrip()
                    if limit is not None and limit < len(tokens):
                        text = line[token.start : tokens[limit - 1].end]
                    try:
                        value = _arg_value(child, text)
                    except ArgError:
                        continue
                    chosen, consumed = child, end - index
                    state.greedy = True
                    break
                text, consumed = token.text, 1
                while child.type.continues(text) and index + consumed < end:
                    text = text + " " + tokens[index + consumed].text
                    consumed += 1
                try:
                    value = _arg_value(child, text)
                except ArgError:
                    continue
                chosen = child
                break
            if chosen is None and len(prefixed) > 1:
                settled = _settle_ambiguity(
                    root, line, tokens, level, resolve, limit, forced, budget, index, prefixed
                )
                if settled is not None:
                    return settled
                state.node, state.stopped, state.error = node, index, "ambiguous"
                return state
        if chosen is None:
            state.node, state.stopped, state.error = node, index, "invalid"
            state.column = token.start + _furthest(children, token.text)
            return state
        if chosen.kind == "arg":
            if "#" in chosen.word:
                pending_parts.append(value)
                if chosen.composite is not None:
                    name, kind, count = chosen.composite
                    try:
                        state.args[name] = kind.combine(pending_parts[-count:])
                    except ArgError:
                        state.node, state.stopped, state.error = node, index, "invalid"
                        state.column = token.start
                        return state
                    pending_parts.clear()
            else:
                state.args[chosen.word] = value
        if chosen.kind == "pipe":
            state.piped = node.command
        if chosen.filter_kind is not None:
            state.filter_kind = chosen.filter_kind
        if index == 0 and chosen.kind == "keyword" and chosen.word == "no":
            state.negated = True
        state.path.append(chosen)
        node = chosen
        index += consumed
    state.node = node
    state.stopped = index
    return state


def _settle_ambiguity(
    root: Node,
    line: str,
    tokens: Sequence[Token],
    level: int,
    resolve: Resolver,
    limit: int | None,
    forced: Mapping[int, Node] | None,
    budget: list[int],
    index: int,
    candidates: Sequence[Node],
) -> Walk | None:
    """The one walk, among the keywords an abbreviation fits, that takes the whole line (a
    complete command; for `?` and Tab, every token before the cursor); None when none or
    several do, or when the search has used its budget."""
    fits: list[Walk] = []
    for candidate in candidates:
        if budget[0] <= 0:
            return None
        budget[0] -= 1
        attempt = walk(
            root, line, tokens, level, resolve, limit,
            forced={**(forced or {}), index: candidate}, budget=budget,
        )  # fmt: skip
        complete = attempt.node.command is not None or limit is not None
        if attempt.error is None and complete:
            fits.append(attempt)
            if len(fits) > 1:
                return None
    return fits[0] if fits else None


def _furthest(children: Sequence[Node], text: str) -> int:
    best = 0
    lowered = text.lower()
    for child in children:
        if child.kind == "arg" and child.type is not None:
            reach = child.type.partial(text)
        else:
            reach = _common_prefix(lowered, child.word.lower())
        best = max(best, reach)
    return min(best, len(text))


@dataclass(frozen=True)
class HelpEntry:
    label: str
    help: str


def help_entries(node: Node, level: int, resolve: Resolver) -> list[HelpEntry]:
    """What `?` after a space lists at `node`: arguments, keywords, then `<cr>`."""
    children = [c for c in visible_children(node, level, resolve) if not c.hidden]
    entries: list[HelpEntry] = []
    for child in children:
        if child.kind != "arg":
            continue
        # a type may list the values that exist now (``vstack attach ?`` lists the clients)
        suggest = getattr(child.type, "suggestions", None)
        if suggest is not None:
            entries += [HelpEntry(label, text) for label, text in suggest()]
        entries.append(HelpEntry(child.label, child.help))
    words = sorted((c for c in children if c.kind != "arg"), key=lambda c: c.word.lower())
    entries += [HelpEntry(c.word, c.help) for c in words]
    if node.command is not None and node.command.level <= level:
        entries.append(HelpEntry("<cr>", ""))
    return entries


def format_help(entries: Sequence[HelpEntry]) -> list[str]:
    """IOS layout: two spaces, the label padded to the widest, two spaces, the help."""
    width = max((len(e.label) for e in entries if e.label != "<cr>"), default=0)
    lines = []
    for entry in entries:
        if entry.label == "<cr>" or not entry.help:
            lines.append(f"  {entry.label}")
        else:
            lines.append(f"  {entry.label.ljust(width)}  {entry.help}")
    return lines


def completions(node: Node, partial: str, level: int, resolve: Resolver) -> list[str]:
    """What `?` right after a partial word lists: matching keywords and argument labels."""
    lowered = partial.lower()
    children = [c for c in visible_children(node, level, resolve) if not c.hidden]
    labels: list[str] = []
    for child in children:
        if (
            child.kind == "arg"
            and child.type is not None
            and child.type.partial(partial) == len(partial)
            and child.label not in labels
        ):
            labels.append(child.label)
    words = sorted(
        (c.word for c in children if c.kind != "arg" and c.word.lower().startswith(lowered)),
        key=str.lower,
    )
    return words + labels


def complete_word(node: Node, partial: str, level: int, resolve: Resolver) -> str | None:
    """Tab: the keyword a partial word stands for, when exactly one keyword fits."""
    lowered = partial.lower()
    children = [c for c in visible_children(node, level, resolve) if not c.hidden]
    keywords = [c for c in children if c.kind != "arg"]
    exact = [c for c in keywords if c.word.lower() == lowered]
    matching = exact or [c for c in keywords if c.word.lower().startswith(lowered)]
    if len(matching) == 1:
        return matching[0].word
    return None
