"""Declarations: modes, command sets and the parse tree they build.

A command is declared once with a syntax string, for instance

    cs.command(CONFIG, "ip helper-address <address>", handler,
               help={"ip": "Global IP configuration subcommands",
                     "helper-address": "Specify a destination address for UDP broadcasts"},
               args={"address": Arg(IPv4(), "IP destination address")})

Syntax: keywords are plain words; `<name>` is a typed argument from `args`; `[ … ]` is an
optional part; `{ a | b }` chooses one of several parts. Every keyword needs a help text
once (from the command's `help`, the set's `keyword_help`, or an earlier declaration of the
same node). The declarations of all command sets of a mode merge into one tree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from smartinstall.ios.types import Arg, ArgType

if TYPE_CHECKING:
    from smartinstall.ios.engine import Context

Handler = Callable[["Context"], None]

#: privilege levels of IOS: 1 is user EXEC, 15 is privileged EXEC
USER_LEVEL = 1
PRIVILEGED_LEVEL = 15


@dataclass(frozen=True)
class Mode:
    """A command mode. `name` appears in the prompt: `Host(config-vstack-group)#`."""

    name: str
    parent: str | None = "config"
    #: help text of the `exit` command of this mode
    exit_help: str = "Exit from the current mode"
    #: the name in the prompt when it differs from `name`: several modes may share one
    #: prompt (the director's custom group modes all show `config-vstack-group`)
    prompt_name: str | None = None
    #: the first line `?` prints on an empty line in this mode, if any
    help_header: str | None = None

    def prompt_suffix(self, level: int) -> str:
        if self.name == EXEC.name:
            return "#" if level >= PRIVILEGED_LEVEL else ">"
        return f"({self.prompt_name or self.name})#"


EXEC = Mode("exec", parent=None, exit_help="Exit from the EXEC")
CONFIG = Mode("config", parent="exec", exit_help="Exit from configure mode")
#: the director's sub-modes (the director command set declares their commands)
#: (help texts as the guide's `Director(config-vstack-group)#?` example prints them)
VSTACK_GROUP = Mode(
    "config-vstack-group",
    exit_help="Exit from group-vstack config mode",
    help_header="Vstack group configuration commands",
)
VSTACK_DHCP = Mode(
    "config-vstack-dhcp",
    exit_help="Exit from dhcp-vstack config mode",
    help_header="Vstack dhcp configuration commands",
)


@dataclass(eq=False)
class Command:
    """What runs when a line ends on a node."""

    handler: Handler
    syntax: str
    mode: str
    level: int
    output: bool
    negated: bool


@dataclass(eq=False)
class Node:
    """One position of the parse tree: a keyword, an argument, or a jump to another mode."""

    kind: str  # "root" | "keyword" | "arg" | "redirect" | "pipe"
    word: str = ""
    help: str = ""
    type: ArgType | None = None
    children: list[Node] = field(default_factory=list)
    command: Command | None = None
    hidden: bool = False
    level: int = PRIVILEGED_LEVEL
    #: for `redirect` nodes: the mode whose commands follow (`do` → exec)
    target: str | None = None
    #: for the last node of a multi-part argument: (name, type, number of parts)
    composite: tuple[str, ArgType, int] | None = None
    #: for output filter keywords under `|`: include, exclude, begin, section
    filter_kind: str | None = None

    @property
    def label(self) -> str:
        if self.kind == "arg" and self.type is not None:
            return self.type.label
        return self.word

    def keyword(self, word: str) -> Node | None:
        lowered = word.lower()
        for child in self.children:
            if child.kind in ("keyword", "redirect", "pipe") and child.word.lower() == lowered:
                return child
        return None

    def argument(self, name: str) -> Node | None:
        for child in self.children:
            if child.kind == "arg" and child.word == name:
                return child
        return None


class SyntaxDeclarationError(ValueError):
    """A command declaration is malformed (raised when the command set is built)."""


def _tokenize_syntax(syntax: str) -> list[str]:
    for mark in "[]{}|":
        syntax = syntax.replace(mark, f" {mark} ")
    return syntax.split()


def _parse_sequence(
    tokens: list[str], position: int, stops: tuple[str, ...]
) -> tuple[list[Any], int]:
    items: list[Any] = []
    while position < len(tokens) and tokens[position] not in stops:
        token = tokens[position]
        if token == "[":
            inner, position = _parse_sequence(tokens, position + 1, ("]",))
            if position >= len(tokens):
                raise SyntaxDeclarationError("unclosed [")
            items.append(("opt", inner))
            position += 1
        elif token == "{":
            choices: list[list[Any]] = []
            position += 1
            while True:
                inner, position = _parse_sequence(tokens, position, ("|", "}"))
                choices.append(inner)
                if position >= len(tokens):
                    raise SyntaxDeclarationError("unclosed {")
                if tokens[position] == "}":
                    position += 1
                    break
                position += 1
            items.append(("alt", choices))
        elif token in ("]", "}", "|"):
            raise SyntaxDeclarationError(f"unexpected {token}")
        elif token.startswith("<") and token.endswith(">"):
            items.append(("arg", token[1:-1]))
            position += 1
        else:
            items.append(("kw", token))
            position += 1
    return items, position


def parse_syntax(syntax: str) -> list[Any]:
    tokens = _tokenize_syntax(syntax)
    items, position = _parse_sequence(tokens, 0, ())
    if position != len(tokens):
        raise SyntaxDeclarationError(f"unbalanced brackets in {syntax!r}")
    if not items:
        raise SyntaxDeclarationError("empty syntax")
    return items


@dataclass
class Declaration:
    mode: str
    syntax: str
    handler: Handler
    help: Mapping[str, str]
    args: Mapping[str, Arg]
    level: int
    output: bool
    hidden: bool


class CommandSet:
    """A group of commands (with the modes they add) and the configuration they render.

    Subclass it, declare commands in `__init__`, and override `render_config` to return
    the running-configuration lines of the set (sub-mode lines indented by one space).
    Sets are rendered in increasing `order`.
    """

    name: str = "commands"
    order: int = 100

    def __init__(self, name: str | None = None, order: int | None = None) -> None:
        if name is not None:
            self.name = name
        if order is not None:
            self.order = order
        self.modes: list[Mode] = []
        self.declarations: list[Declaration] = []
        #: help texts for keywords shared by several commands of the set
        self.keyword_help: dict[str, str] = {}

    def add_mode(self, mode: Mode) -> Mode:
        self.modes.append(mode)
        return mode

    def command(
        self,
        mode: Mode | str,
        syntax: str,
        handler: Handler | None = None,
        *,
        help: Mapping[str, str] | None = None,
        args: Mapping[str, Arg] | None = None,
        level: int = USER_LEVEL,
        output: bool = False,
        hidden: bool = False,
    ) -> Callable[[Handler], Handler]:
        """Declare a command; usable directly (with `handler`) or as a decorator."""
        mode_name = mode.name if isinstance(mode, Mode) else mode

        def register(function: Handler) -> Handler:
            self.declarations.append(
                Declaration(
                    mode_name,
                    syntax,
                    function,
                    dict(help or {}),
                    dict(args or {}),
                    level,
                    output,
                    hidden,
                )
            )
            return function

        if handler is not None:
            register(handler)
        return register

    def render_config(self) -> Sequence[str]:
        """Running-configuration lines of this set, in a stable order."""
        return ()


#: help of keywords the engine itself adds to every configuration mode
NO_HELP = "Negate a command or set its defaults"


def build_declaration(
    root: Node, declaration: Declaration, keyword_help: Mapping[str, str], filter_node: Node | None
) -> None:
    """Merge one declaration into a mode's tree."""
    items = parse_syntax(declaration.syntax)
    first = items[0]
    negated = first == ("kw", "no")
    command = Command(
        declaration.handler,
        declaration.syntax,
        declaration.mode,
        declaration.level,
        declaration.output,
        negated,
    )

    def keyword_help_for(word: str) -> str | None:
        if word in declaration.help:
            return declaration.help[word]
        if word in keyword_help:
            return keyword_help[word]
        if word == "no":
            return NO_HELP
        return None

    def step(start: Node, item: tuple[str, str]) -> Node:
        kind, word = item
        start.level = min(start.level, declaration.level)
        if kind == "kw":
            found = start.keyword(word)
            if found is None:
                text = keyword_help_for(word)
                if text is None:
                    raise SyntaxDeclarationError(
                        f"keyword {word!r} of {declaration.syntax!r} has no help text"
                    )
                found = Node("keyword", word, text, hidden=declaration.hidden)
                start.children.append(found)
            elif not declaration.hidden:
                found.hidden = False
            found.level = min(found.level, declaration.level)
            return found
        if word not in declaration.args:
            raise SyntaxDeclarationError(f"argument <{word}> of {declaration.syntax!r} undeclared")
        arg = declaration.args[word]
        parts = arg.type.parts()
        if parts is None:
            found = start.argument(word)
            if found is None:
                found = Node("arg", word, arg.help, arg.type, hidden=declaration.hidden)
                start.children.append(found)
            found.level = min(found.level, declaration.level)
            return found
        current = start
        for index, (part_type, part_help) in enumerate(parts):
            part_name = f"{word}#{index}"
            found = current.argument(part_name)
            if found is None:
                found = Node("arg", part_name, part_help, part_type, hidden=declaration.hidden)
                current.children.append(found)
            found.level = min(found.level, declaration.level)
            current = found
        current.composite = (word, arg.type, len(parts))
        return current

    def apply(sequence: list[Any], starts: list[Node]) -> list[Node]:
        ends = starts
        for item in sequence:
            if item[0] == "opt":
                ends = _unique(ends + apply(item[1], ends))
            elif item[0] == "alt":
                collected: list[Node] = []
                for choice in item[1]:
                    collected += apply(choice, ends)
                ends = _unique(collected)
            else:
                ends = _unique([step(start, item) for start in ends])
        return ends

    for end in apply(items, [root]):
        if end is root:
            raise SyntaxDeclarationError(f"{declaration.syntax!r} may be empty")
        if end.command is not None:
            raise SyntaxDeclarationError(
                f"{declaration.syntax!r} ends where {end.command.syntax!r} already ends"
            )
        end.command = command
        end.level = min(end.level, declaration.level)
        if declaration.output and filter_node is not None and end.keyword("|") is None:
            end.children.append(filter_node)


def _unique(nodes: Iterable[Node]) -> list[Node]:
    seen: set[int] = set()
    result: list[Node] = []
    for node in nodes:
        if id(node) not in seen:
            seen.add(id(node))
            result.append(node)
    return result
