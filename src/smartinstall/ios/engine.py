"""The engine (trees of all command sets) and sessions (one user's modes and state).

    engine = Engine(hostname="Director", store=StartupConfig(path))
    engine.add(MyCommandSet())            # each set declares its commands once
    session = engine.session()
    output = session.run("enable")        # text in, IOS text out; never raises

The engine gives every command set: modes and prompts, abbreviations, `no` forms, `do`,
`?` help, IOS error messages, output filters (`| include` …), `show running-config`,
`write memory`, replay of a configuration file, and the generic commands (enable,
disable, configure terminal, exit, end, hostname, terminal length).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from smartinstall.ios import parser
from smartinstall.ios.config import MAX_CONFIG_BYTES, ConfigTooLarge, StartupConfig
from smartinstall.ios.parser import Walk, tokenize
from smartinstall.ios.tree import (
    CONFIG,
    EXEC,
    PRIVILEGED_LEVEL,
    USER_LEVEL,
    Command,
    CommandSet,
    Declaration,
    Handler,
    Mode,
    Node,
    build_declaration,
)
from smartinstall.ios.types import Arg, Line, Number, Word

if TYPE_CHECKING:
    from smartinstall.ios.config_lock import ConfigLock

log = logging.getLogger(__name__)

#: longest line the engine reads; longer ones are refused with the invalid-input caret
MAX_LINE = 2048


class CommandError(Exception):
    """Raised by a handler to refuse a command; the message is printed as given."""


@dataclass
class Question:
    """A question a command asks before it goes on (`Destination filename [x]?`)."""

    prompt: str
    answer: Callable[[str], str]
    secret: bool = False


@dataclass
class Frame:
    mode: Mode
    data: Any = None


@dataclass
class Outcome:
    """The result of one line: its output text and whether the line was accepted."""

    ok: bool
    output: str


class Context:
    """What a handler sees: the parsed arguments, the session, and an output buffer."""

    def __init__(
        self,
        session: Session,
        command: Command,
        args: dict[str, object],
        negated: bool,
        keywords: tuple[str, ...] = (),
    ) -> None:
        self.session = session
        self.engine = session.engine
        self.command = command
        self.args = args
        self.negated = negated
        #: the keywords of the line as declared (full, lower case), in order: which `{a | b}`
        #: was typed, and optional keywords such as `recurring` by their presence
        self.keywords = keywords
        self.lines: list[str] = []

    @property
    def mode_data(self) -> Any:
        """The object the current sub-mode edits (given to `enter`)."""
        return self.session.frames[-1].data

    def write(self, text: str) -> None:
        self.lines.append(text)

    def enter(self, mode: Mode | str, data: Any = None) -> None:
        """Go into a configuration sub-mode."""
        self.session.enter(mode, data)

    def ask(self, prompt: str, answer: Callable[[str], str], secret: bool = False) -> None:
        self.session.pending = Question(prompt, answer, secret)

    def wait(self, work: Callable[[], Awaitable[str]]) -> None:
        """Finish the command with network work: `work()` runs on the event loop after the
        handler returns, and the text it returns is printed before the next prompt.

        Terminal transports (`LineEditor.settle`) hold the prompt until it is done; a caller of
        `Session.execute` awaits `Session.settle()`."""
        self.session.waiting = work


@dataclass
class ReplayError:
    line_number: int
    line: str
    message: str
    #: 1-based column of the error caret in the stripped line, when there is one
    column: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line_number}"
        if self.column is not None:
            where += f", column {self.column}"
        return f"{where}: {self.line.strip()}: {self.message}"


@dataclass
class ReplayReport:
    source: str
    lines: int = 0
    errors: list[ReplayError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _save_failed(error: Exception) -> CommandError:
    """A startup-config that could not be written: logged, and IOS's message for the user."""
    log.warning("saving startup-config failed: %s", error)
    return CommandError(f"%Error writing startup-config ({error})")


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


_HOSTNAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_FILTER_HELP = {
    "begin": "Begin with the line that matches",
    "exclude": "Exclude lines that match",
    "include": "Include lines that match",
    "section": "Filter a section of output",
}
#: `| json`: the output as a JSON array of the table's rows (the engine's `structurer` parses)
JSON_FILTER = "json"
JSON_UNAVAILABLE = "% JSON output is not available for this command\n"


#: IOS regular expressions: `_` stands for a delimiter, the start or the end of the line
_IOS_UNDERSCORE = r"(?:^|$|[ ,{}()])"
#: `_` between two letters or digits (`SWITCH_ADD`, `CONFIG_I`): the underscore of a name, or
#: a delimiter
_IN_A_NAME = r"(?:_|^|$|[ ,{}()])"


def ios_regex(pattern: str) -> str:
    """An IOS regular expression in Python syntax: `_` matches a delimiter, the start or
    the end of the line; a backslash before `_` keeps it a plain underscore. An `_` inside a
    name (a letter or digit on both sides, as in ``%SMI-6-SWITCH_ADD``) matches the
    underscore too, so a message mnemonic finds its lines."""
    out: list[str] = []
    escaped = False
    for index, char in enumerate(pattern):
        if escaped:
            out.append("\\" + char if char != "_" else "_")
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "_":
            before = pattern[index - 1 : index]
            after = pattern[index + 1 : index + 2]
            inside = before.isalnum() and after.isalnum()
            out.append(_IN_A_NAME if inside else _IOS_UNDERSCORE)
        else:
            out.append(char)
    if escaped:
        out.append("\\\\")
    return "".join(out)


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(ios_regex(pattern))
    except (re.error, RecursionError, OverflowError):
        return re.compile(re.escape(pattern))


def _filtered(
    work: Callable[[], Awaitable[str]], kind: str, pattern: str
) -> Callable[[], Awaitable[str]]:
    async def run() -> str:
        return apply_filter(kind, pattern, await work())

    return run


def _structured(
    work: Callable[[], Awaitable[str]],
    structurer: Callable[[str, str], str | None],
    command: str,
    before: str,
) -> Callable[[], Awaitable[str]]:
    async def run() -> str:
        shaped = structurer(command, before + await work())
        if shaped is None:
            raise CommandError(JSON_UNAVAILABLE.rstrip("\n"))
        return shaped

    return run


def apply_filter(kind: str, pattern: str, text: str) -> str:
    """IOS output modifiers on a command's output."""
    regex = _compile(pattern)
    lines = text.split("\n")
    trailing = lines and lines[-1] == ""
    if trailing:
        lines.pop()
    kept: list[str] = []
    if kind == "include":
        kept = [line for line in lines if regex.search(line)]
    elif kind == "exclude":
        kept = [line for line in lines if not regex.search(line)]
    elif kind == "begin":
        for index, line in enumerate(lines):
            if regex.search(line):
                kept = lines[index:]
                break
    elif kind == "section":
        inside = False
        for line in lines:
            if line[:1] not in (" ", "\t"):
                inside = bool(regex.search(line))
                if inside:
                    kept.append(line)
            elif inside or regex.search(line):
                kept.append(line)
    return "".join(line + "\n" for line in kept)


class HostnameHolder(Protocol):
    """Anything with a settable `hostname` (the director's settings, for one)."""

    hostname: str


@dataclass
class _Hostname:
    hostname: str


class SystemCommands(CommandSet):
    """The engine's generic commands and the `hostname` line of the configuration."""

    name = "system"
    order = 0

    def __init__(self, hostname: str, holder: HostnameHolder | None = None) -> None:
        super().__init__()
        self.default_hostname = hostname
        #: where the hostname lives: this set, or a settings object given to the engine
        self.holder: HostnameHolder = holder if holder is not None else _Hostname(hostname)
        self.keyword_help.update(
            show="Show running system information",
            terminal="Set terminal line parameters",
        )
        c = self.command
        c(EXEC, "enable", self._enable, help={"enable": "Turn on privileged commands"})
        c(EXEC, "disable", self._disable, help={"disable": "Turn off privileged commands"})
        c(EXEC, "exit", self._exit, help={"exit": "Exit from the EXEC"})
        c(EXEC, "logout", self._exit, help={"logout": "Exit from the EXEC"})
        c(
            EXEC,
            "terminal length <lines>",
            self._length,
            help={"length": "Set number of lines on a screen"},
            args={"lines": Arg(Number(0, 512), "Number of lines on screen (0 for no pausing)")},
        )
        c(
            EXEC,
            "terminal width <columns>",
            self._width,
            help={"width": "Set width of the display terminal"},
            args={"columns": Arg(Number(0, 512), "Number of characters on a screen")},
        )
        c(
            EXEC,
            "show history",
            self._history,
            output=True,
            help={"history": "Display the session command history"},
        )
        c(
            EXEC,
            "show running-config",
            self._show_running,
            level=PRIVILEGED_LEVEL,
            output=True,
            help={"running-config": "Current operating configuration"},
        )
        c(
            EXEC,
            "show startup-config",
            self._show_startup,
            level=PRIVILEGED_LEVEL,
            output=True,
            help={"startup-config": "Contents of startup configuration"},
        )
        c(
            EXEC,
            "configure [terminal]",
            self._configure,
            level=PRIVILEGED_LEVEL,
            help={
                "configure": "Enter configuration mode",
                "terminal": "Configure from the terminal",
            },
        )
        c(
            EXEC,
            "write [memory]",
            self._write,
            level=PRIVILEGED_LEVEL,
            help={
                "write": "Write running configuration to memory, network, or terminal",
                "memory": "Write to NV memory",
            },
        )
        c(
            EXEC,
            "write terminal",
            self._show_running,
            level=PRIVILEGED_LEVEL,
            output=True,
            help={"terminal": "Write to terminal"},
        )
        c(
            EXEC,
            "copy running-config startup-config",
            self._copy,
            level=PRIVILEGED_LEVEL,
            help={
                "copy": "Copy from one file to another",
                "running-config": "Copy from current system configuration",
                "startup-config": "Copy to startup configuration",
            },
        )
        c(
            CONFIG,
            "hostname <name>",
            self._hostname,
            help={"hostname": "Set system's network name"},
            args={"name": Arg(Word(), "This system's network name")},
        )
        c(
            CONFIG,
            "no hostname [<name>]",
            self._hostname,
            help={"hostname": "Set system's network name"},
            args={"name": Arg(Word(), "This system's network name")},
        )

    @property
    def hostname(self) -> str:
        return self.holder.hostname

    @hostname.setter
    def hostname(self, name: str) -> None:
        self.holder.hostname = name

    def render_config(self) -> Sequence[str]:
        return [f"hostname {self.hostname}"]

    # handlers
    def _enable(self, ctx: Context) -> None:
        session = ctx.session
        check = ctx.engine.enable_check
        if check is None or session.level >= PRIVILEGED_LEVEL:
            session.level = PRIVILEGED_LEVEL
            return
        tries = [0]

        def answer(reply: str) -> str:
            if check(reply):
                session.level = PRIVILEGED_LEVEL
                return ""
            tries[0] += 1
            if tries[0] >= 3:
                return "% Bad secrets\n"
            session.pending = Question("Password: ", answer, secret=True)
            return ""

        ctx.ask("Password: ", answer, secret=True)

    def _disable(self, ctx: Context) -> None:
        ctx.session.level = USER_LEVEL

    def _exit(self, ctx: Context) -> None:
        ctx.session.closed = True

    def _length(self, ctx: Context) -> None:
        value = ctx.args["lines"]
        assert isinstance(value, int)
        ctx.session.terminal_length = value

    def _width(self, ctx: Context) -> None:
        value = ctx.args["columns"]
        assert isinstance(value, int)
        ctx.session.terminal_width = value

    def _history(self, ctx: Context) -> None:
        for line in ctx.session.history[-10:]:
            ctx.write(f"  {line}\n")

    def _show_running(self, ctx: Context) -> None:
        body = ctx.engine.running_config()
        ctx.write("Building configuration...\n\n")
        ctx.write(f"Current configuration : {len(body.encode())} bytes\n")
        ctx.write(body)

    def _show_startup(self, ctx: Context) -> None:
        store = ctx.engine.store
        try:
            text = store.read() if store is not None else None
        except (OSError, ConfigTooLarge) as error:
            raise CommandError(f"%Error opening startup-config ({error})") from error
        if text is None:
            ctx.write("startup-config is not present\n")
            return
        ctx.write(f"Using {len(text.encode())} out of {MAX_CONFIG_BYTES} bytes\n")
        ctx.write(text if text.endswith("\n") else text + "\n")

    def _configure(self, ctx: Context) -> None:
        ctx.write("Enter configuration commands, one per line.  End with CNTL/Z.\n")
        ctx.session.enter(CONFIG)

    def _write(self, ctx: Context) -> None:
        ctx.write("Building configuration...\n")
        if ctx.engine.save_later(ctx):
            return
        ctx.engine.save()
        ctx.write("[OK]\n")

    def _copy(self, ctx: Context) -> None:
        def answer(reply: str) -> str:
            reply = reply.strip()
            if reply not in ("", "startup-config"):
                return "%Error: only startup-config can be written here\n"
            try:
                if ctx.engine.save_later(ctx):
                    return "Building configuration...\n"
                ctx.engine.save()
            except CommandError as error:
                return f"{error}\n"
            return "Building configuration...\n[OK]\n"

        ctx.ask("Destination filename [startup-config]? ", answer)

    def _hostname(self, ctx: Context) -> None:
        if ctx.negated:
            self.hostname = self.default_hostname
            return
        name = ctx.args["name"]
        assert isinstance(name, str)
        if not _HOSTNAME.fullmatch(name):
            raise CommandError("% Hostname contains one or more illegal characters.")
        self.hostname = name


def _end(ctx: Context) -> None:
    ctx.session.end()


def _exit_mode(ctx: Context) -> None:
    ctx.session.exit_mode()


_FILTER_COMMAND_SENTINEL = "|filter"


def _never(ctx: Context) -> None:  # the filter's own node never runs
    raise CommandError("% Incomplete command.")


class Engine:
    """All command sets of one device: modes, their trees, and the configuration."""

    def __init__(
        self,
        hostname: str = "Switch",
        store: StartupConfig | None = None,
        enable_check: Callable[[str], bool] | None = None,
        hostname_holder: HostnameHolder | None = None,
    ) -> None:
        """`hostname` is the default name; `hostname_holder`, when given, is the object
        whose `hostname` attribute the `hostname` command edits and the prompt shows."""
        self.store = store
        #: checks the password `enable` asks for; None: `enable` asks for none
        self.enable_check = enable_check
        self.modes: dict[str, Mode] = {}
        self.roots: dict[str, Node] = {}
        self.sets: list[CommandSet] = []
        #: `| json`: (the command's keywords, its output) -> JSON text, or None when the
        #: output has no structured form; None: `| json` is refused
        self.structurer: Callable[[str, str], str | None] | None = None
        #: called after each `write memory` that succeeded (the configuration archive)
        self.on_saved: list[Callable[[], None]] = []
        #: the configuration lock `configure replace` holds (`smartinstall.ios.config_lock`)
        self.config_lock: ConfigLock | None = None
        self._filter = self._filter_tree()
        self.system = SystemCommands(hostname, hostname_holder)
        self._register_mode(EXEC)
        self._register_mode(CONFIG)
        self.add(self.system)

    # -- building -------------------------------------------------------------------
    @staticmethod
    def _filter_tree() -> Node:
        pipe = Node("pipe", "|", "Output modifiers", level=USER_LEVEL)
        sentinel = Command(_never, _FILTER_COMMAND_SENTINEL, "exec", USER_LEVEL, False, False)
        for kind, text in _FILTER_HELP.items():
            keyword = Node("keyword", kind, text, level=USER_LEVEL, filter_kind=kind)
            pattern = Node(
                "arg", "|pattern", "Regular Expression", Line(), level=USER_LEVEL, command=sentinel
            )
            keyword.children.append(pattern)
            pipe.children.append(keyword)
        pipe.children.append(
            Node(
                "keyword",
                JSON_FILTER,
                "Output as JSON",
                level=USER_LEVEL,
                filter_kind=JSON_FILTER,
                command=sentinel,
            )
        )
        return pipe

    def _register_mode(self, mode: Mode) -> None:
        if mode.name in self.modes:
            if self.modes[mode.name] != mode:
                raise ValueError(f"mode {mode.name} declared twice differently")
            return
        if mode.parent is not None and mode.parent not in self.modes:
            raise ValueError(f"mode {mode.name}: parent {mode.parent} is not registered")
        self.modes[mode.name] = mode
        root = Node("root", mode.name, level=USER_LEVEL)
        self.roots[mode.name] = root
        if mode.name == EXEC.name:
            return
        own = [
            Declaration(
                mode.name,
                "exit",
                _exit_mode,
                {"exit": mode.exit_help},
                {},
                USER_LEVEL,
                False,
                False,
            ),
            Declaration(
                mode.name,
                "end",
                _end,
                {"end": "Exit from configure mode"},
                {},
                USER_LEVEL,
                False,
                mode.name != CONFIG.name,
            ),
        ]
        for declaration in own:
            build_declaration(root, declaration, {}, None)
        # like `end`, `do` works in every configuration mode but is listed by `?` only in
        # global configuration (the guide's `(config-vstack-group)#?` shows neither)
        do = Node(
            "redirect",
            "do",
            "To run exec commands in config mode",
            target=EXEC.name,
            level=USER_LEVEL,
            hidden=mode.name != CONFIG.name,
        )
        root.children.append(do)

    def add(self, command_set: CommandSet) -> CommandSet:
        """Plug a command set in: its modes, its commands, its configuration lines."""
        for mode in command_set.modes:
            self._register_mode(mode)
        for declaration in command_set.declarations:
            if declaration.mode not in self.roots:
                raise ValueError(f"{declaration.syntax!r}: unknown mode {declaration.mode}")
            build_declaration(
                self.roots[declaration.mode], declaration, command_set.keyword_help, self._filter
            )
        self.sets.append(command_set)
        return command_set

    def resolve(self, mode_name: str) -> Node | None:
        return self.roots.get(mode_name)

    # -- configuration --------------------------------------------------------------
    @property
    def hostname(self) -> str:
        return self.system.hostname

    def running_config(self) -> str:
        """The configuration as IOS text: `!`-separated blocks of each set, then `end`."""
        out = ["!"]
        for command_set in sorted(self.sets, key=lambda s: (s.order, s.name)):
            lines = list(command_set.render_config())
            if lines:
                out += lines
                out.append("!")
        out.append("end")
        return "".join(line + "\n" for line in out)

    def save(self) -> None:
        """Write the running configuration to the startup configuration (atomically)."""
        store = self._store()
        try:
            store.write(self.running_config())
        except (OSError, ConfigTooLarge) as error:
            raise _save_failed(error) from error
        self._saved()

    def _saved(self) -> None:
        for hook in self.on_saved:
            hook()

    def _store(self) -> StartupConfig:
        if self.store is None:
            raise CommandError("%Error: no startup-config location is configured")
        return self.store

    def save_later(self, ctx: Context) -> bool:
        """`write memory` on an event loop: the running configuration as it is now, written
        in a thread (the write waits for the disk) while the prompt waits; ``[OK]`` or the
        error is printed when it is done. False when there is no loop or the store does not
        block (then `save` is the way)."""
        store = self._store()
        if not store.blocking or not _loop_running():
            return False
        text = self.running_config()  # the configuration as it is now

        async def work() -> str:
            await self._write_in_thread(store, text)
            return "[OK]\n"

        ctx.wait(work)
        return True

    def save_in_thread(self) -> Awaitable[None]:
        """Write the running configuration as it is when called (rendered now) to the startup
        configuration, in a thread (the write waits for the disk), then run the `write memory`
        hooks: the one way a change made on an event loop (a terminal's `write memory`, an
        SNMP SET) is saved. Awaiting it raises the CommandError `write memory` prints."""
        return self._write_in_thread(self._store(), self.running_config())

    async def _write_in_thread(self, store: StartupConfig, text: str) -> None:
        try:
            await asyncio.to_thread(store.write, text)
        except (OSError, ConfigTooLarge) as error:
            raise _save_failed(error) from error
        self._saved()

    def replay(self, text: str, source: str = "startup-config") -> ReplayReport:
        """Run a configuration text through the engine in configuration mode.

        Every failing line is reported with its line number; the other lines still apply.
        """
        report = ReplayReport(source)
        session = self.session(level=PRIVILEGED_LEVEL)
        session.applies_config = True
        session.enter(CONFIG)
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.rstrip("\r\n")
            stripped = line.strip()
            if not stripped or stripped.startswith("!"):
                continue
            if stripped == "end" and not line.startswith(" "):
                break
            report.lines += 1
            if session.mode.name == EXEC.name:
                session.enter(CONFIG)
            outcome = session.execute(stripped, echo_prompt_width=0, help_mark=False)
            if session.pending is not None:
                # nobody is there to answer: the next line must not become the answer
                session.pending = None
                outcome = Outcome(
                    False, "% the command asks a question; not allowed in a configuration file\n"
                )
            elif session.waiting is not None:
                # work left for a terminal to wait on (a file written, a client asked):
                # nobody waits on a replay
                session.waiting = None
                outcome = Outcome(
                    False,
                    "% the command runs in the background; not allowed in a configuration file\n",
                )
            if not outcome.ok:
                parts = outcome.output.splitlines()
                carets = [part.index("^") + 1 for part in parts if part.strip() == "^"]
                message = " ".join(
                    part.strip() for part in parts if part.strip() and part.strip() != "^"
                )
                error = ReplayError(
                    number, line, message or "rejected", carets[0] if carets else None
                )
                log.debug("%s %s", source, error)  # callers report the failed lines themselves
                report.errors.append(error)
        return report

    def load_startup(self) -> ReplayReport | None:
        """Replay the stored startup configuration, if there is one."""
        if self.store is None:
            return None
        text = self.store.read()
        if text is None:
            return None
        return self.replay(text, str(self.store.path))

    def session(self, level: int = USER_LEVEL) -> Session:
        return Session(self, level)


class Session:
    """One user's state: mode stack, privilege, terminal settings, history."""

    def __init__(self, engine: Engine, level: int = USER_LEVEL) -> None:
        self.engine = engine
        self.level = level
        self.frames: list[Frame] = [Frame(EXEC)]
        self.terminal_length = 24
        self.terminal_width = 80
        self.history: list[str] = []
        self.closed = False
        self.pending: Question | None = None
        #: network work a command left to finish (`Context.wait`); see `settle`
        self.waiting: Callable[[], Awaitable[str]] | None = None
        #: whether the last work `settle` ran finished without an error
        self.settled_ok = True
        #: (host, port) a command asked to connect this terminal to (``vstack attach``); the
        #: terminal transport does it after the command and clears it
        self.attach: tuple[str, int] | None = None
        #: the engine's own session applying a configuration (a replay, a replace's passes):
        #: the configuration lock never holds it back
        self.applies_config = False

    # -- modes -----------------------------------------------------------------------
    @property
    def mode(self) -> Mode:
        return self.frames[-1].mode

    def prompt(self) -> str:
        if self.pending is not None:
            return self.pending.prompt
        return self.engine.hostname + self.mode.prompt_suffix(self.level)

    def enter(self, mode: Mode | str, data: Any = None) -> None:
        name = mode.name if isinstance(mode, Mode) else mode
        target = self.engine.modes[name]
        # a sub-mode replaces a sibling sub-mode: drop frames down to its parent
        while len(self.frames) > 1 and self.mode.name != target.parent:
            if target.parent is None:
                break
            self.frames.pop()
        self.frames.append(Frame(target, data))

    def exit_mode(self) -> None:
        if len(self.frames) > 1:
            self.frames.pop()
        else:
            self.closed = True

    def end(self) -> None:
        del self.frames[1:]

    async def settle(self) -> str:
        """Run the work the last command left (`Context.wait`) and return what it prints;
        never raises (a failure becomes an IOS message)."""
        work, self.waiting = self.waiting, None
        self.settled_ok = True
        if work is None:
            return ""
        try:
            return await work()
        except CommandError as error:
            self.settled_ok = False
            return f"{error}\n"
        except Exception:
            self.settled_ok = False
            log.exception("command failed while waiting for its work")
            return "% Internal error while running the command\n"

    # -- lines ------------------------------------------------------------------------
    def run(self, line: str) -> str:
        """Run one line (or answer a pending question); returns what IOS prints."""
        return self.execute(line).output

    def execute(
        self, line: str, echo_prompt_width: int | None = None, help_mark: bool = True
    ) -> Outcome:
        """Run one line; never raises.

        With `help_mark` (typed or piped lines), `?` asks for help at that point instead of
        running the line; configuration files are replayed without it, so a `?` there is
        an ordinary character.
        """
        try:
            return self._execute(line, echo_prompt_width, help_mark)
        except Exception:  # the engine answers every line; a bug must not end the session
            log.exception("command failed: %r", line)
            return Outcome(False, "% Internal error while running the command\n")

    def _execute(self, line: str, echo_prompt_width: int | None, help_mark: bool) -> Outcome:
        line = _printable(line)
        width = len(self.prompt()) if echo_prompt_width is None else echo_prompt_width
        if self.pending is not None:
            question, self.pending = self.pending, None
            return Outcome(True, question.answer(line[:MAX_LINE]))
        if help_mark and "?" in line:
            return Outcome(True, self.help(line[: line.index("?")], width))
        if len(line) > MAX_LINE:
            return Outcome(False, " " * (width + MAX_LINE) + "^\n" + parser.INVALID + "\n\n")
        if not line.strip():
            return Outcome(True, "")
        if line.strip() and (not self.history or self.history[-1] != line.strip()):
            self.history.append(line.strip())
            del self.history[:-20]
        tokens = tokenize(line)
        walk = self._walk(self.mode, line, tokens)
        attempt = walk
        if not self._complete(walk):
            # IOS tries a failed sub-mode line in the enclosing modes and, when one takes
            # it, leaves the sub-mode (`hostname x` typed in an interface works).
            parent = self.mode.parent
            depth = len(self.frames) - 1
            while parent is not None and parent != EXEC.name:
                depth -= 1
                candidate = self._walk(self.engine.modes[parent], line, tokens)
                if self._complete(candidate):
                    del self.frames[depth + 1 :]
                    walk = candidate
                    break
                # the error shown is that of the mode that read the line furthest (a
                # global command mistyped inside a group gets its caret where it fails)
                if (candidate.stopped, candidate.column) > (attempt.stopped, attempt.column):
                    attempt = candidate
                parent = self.engine.modes[parent].parent
        if not self._complete(walk):
            return Outcome(False, self._error(attempt, line, tokens, width))
        return self._run(walk)

    def _walk(self, mode: Mode, line: str, tokens: Sequence[parser.Token]) -> Walk:
        return parser.walk(
            self.engine.roots[mode.name], line, tokens, self._level_in(mode), self._resolve
        )

    def _level_in(self, mode: Mode) -> int:
        return self.level if mode.name == EXEC.name else PRIVILEGED_LEVEL

    def _resolve(self, name: str) -> Node | None:
        return self.engine.resolve(name)

    @staticmethod
    def _complete(walk: Walk) -> bool:
        return walk.error is None and walk.node.command is not None

    def _error(self, walk: Walk, line: str, tokens: Sequence[parser.Token], width: int) -> str:
        in_exec = self.mode.name == EXEC.name
        if walk.error == "ambiguous":
            return parser.ambiguous(line.strip()) + "\n"
        if walk.error == "invalid":
            if in_exec and walk.stopped == 0:
                return parser.UNKNOWN + "\n"
            return " " * (width + walk.column) + "^\n" + parser.INVALID + "\n\n"
        return parser.INCOMPLETE + "\n\n"

    def _run(self, walk: Walk) -> Outcome:
        command = walk.piped if walk.piped is not None else walk.node.command
        assert command is not None
        args = dict(walk.args)
        pattern = args.pop("|pattern", None)
        # the keywords of the line as declared (full, lower case), in order
        keywords = tuple(node.word.lower() for node in walk.path if node.kind == "keyword")
        lock = self.engine.config_lock
        if lock is not None and lock.holds_back(self, command.mode, keywords):
            return Outcome(False, lock.refusal() + "\n")
        context = Context(self, command, args, walk.negated, keywords)
        ok = True
        try:
            command.handler(context)
        except CommandError as error:
            context.lines.append(f"{error}\n")
            ok = False
        output = "".join(context.lines)
        if walk.filter_kind == JSON_FILTER and ok:
            before_pipe = keywords[:-1]  # `json` is the line's last keyword
            structurer = self.engine.structurer
            work, self.waiting = self.waiting, None
            if work is not None and structurer is not None:
                # the command prints when its work (in a thread) ends: that text is shaped
                self.waiting = _structured(work, structurer, " ".join(before_pipe), output)
                return Outcome(ok, "")
            shaped = structurer(" ".join(before_pipe), output) if structurer else None
            if shaped is None:
                return Outcome(False, JSON_UNAVAILABLE)
            output = shaped
        elif walk.filter_kind is not None and isinstance(pattern, str):
            output = apply_filter(walk.filter_kind, pattern, output)
            work = self.waiting
            if work is not None:  # what the command prints when its work ends: filtered too
                self.waiting = _filtered(work, walk.filter_kind, pattern)
        return Outcome(ok, output)

    # -- help and completion ------------------------------------------------------------
    def _position(self, text: str) -> tuple[Walk, list[parser.Token], str]:
        tokens = tokenize(text)
        partial = ""
        limit = len(tokens)
        if tokens and not text[-1:].isspace():
            partial = tokens[-1].text
            limit -= 1
        walk = parser.walk(
            self.engine.roots[self.mode.name],
            text,
            tokens,
            self._level_in(self.mode),
            self._resolve,
            limit=limit,
        )
        return walk, tokens, partial

    def help(self, text: str, width: int | None = None) -> str:
        """What `?` typed after `text` prints (without the line redisplay); never raises."""
        try:
            return self._help(_printable(text), width)
        except Exception:
            log.exception("help failed: %r", text)
            return "% Internal error while listing the help\n"

    def _help(self, text: str, width: int | None) -> str:
        prompt_width = len(self.prompt()) if width is None else width
        if self.pending is not None:
            return ""
        text = text[:MAX_LINE]
        walk, tokens, partial = self._position(text)
        level = self._level_in(self.mode)
        if walk.error == "invalid" and walk.stopped == 0:
            return parser.UNRECOGNIZED + "\n"
        if walk.error is not None:
            return self._error(walk, text, tokens, prompt_width)
        if walk.greedy:
            entries = [
                parser.HelpEntry(walk.node.label, walk.node.help),
                parser.HelpEntry("<cr>", ""),
            ]
            return "".join(line + "\n" for line in parser.format_help(entries)) + "\n"
        if partial:
            names = parser.completions(walk.node, partial, level, self._resolve)
            if not names:
                return parser.UNRECOGNIZED + "\n"
            return _columns(names, self.terminal_width or 80) + "\n"
        entries = parser.help_entries(walk.node, level, self._resolve)
        lines = parser.format_help(entries)
        if not tokens and self.mode.help_header:
            lines.insert(0, self.mode.help_header)
        return "".join(line + "\n" for line in lines) + "\n"

    def complete(self, text: str) -> str | None:
        """Tab: the line with its last word completed, or None when nothing is certain."""
        try:
            return self._complete_word(text)
        except Exception:
            log.exception("completion failed: %r", text)
            return None

    def _complete_word(self, text: str) -> str | None:
        if not text or text[-1:].isspace():
            return None
        walk, tokens, partial = self._position(text)
        if walk.error is not None or walk.greedy:
            return None
        word = parser.complete_word(walk.node, partial, self._level_in(self.mode), self._resolve)
        if word is None:
            return None
        return text[: tokens[-1].start] + word + " "


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def _printable(line: str) -> str:
    """A line as the terminal would have let it be typed: tabs as spaces, no controls."""
    return _CONTROL.sub("", line.replace("\t", " "))


def _columns(names: Iterable[str], width: int) -> str:
    """Completions as IOS prints them: words separated by two spaces, wrapped."""
    lines: list[str] = []
    current = ""
    for name in names:
        piece = name if not current else "  " + name
        if current and len(current) + len(piece) > max(width - 1, 20):
            lines.append(current)
            current = name
        else:
            current += piece
    if current:
        lines.append(current)
    return "".join(line + "\n" for line in lines)


__all__ = [
    "CommandError",
    "Context",
    "Engine",
    "Handler",
    "Outcome",
    "Question",
    "ReplayError",
    "ReplayReport",
    "Session",
    "SystemCommands",
    "apply_filter",
]
