"""The configuration archive and configuration replace of IOS, on the director: what NAPALM's
``ios`` driver and Ansible's ``cisco.ios`` send to load, compare, commit and roll back a
configuration.

Configuration (global configuration mode; ``show running-config`` renders it)::

    file prompt [alert | noisy | quiet]   quiet: file commands ask nothing (NAPALM sets it)
    ip scp server enable                  the SSH server takes ``scp`` to and from flash:
    archive                               Director(config-archive)#
     path flash:<name>                    archive files are <name>-1, <name>-2, …
     maximum <1-14>                       archive files kept (10)
     write-memory                         ``write memory`` also archives the configuration

Privileged EXEC::

    configure replace <file> [list] [force] [ignorecase]
                      [revert {trigger [error] [timer <minutes>] | timer <minutes>}]
    configure confirm | revert {now | timer <minutes>}   (``rollback_timer.py``)
    archive config
    show archive
    show archive config differences [<file> [<file>]]
    show archive config incremental-diffs <file> [ignorecase]
    show archive config rollback timer

``configure replace`` computes the configlet (``no`` forms of what only the running
configuration has, then the candidate's new lines) and applies it through the engine, pass
after pass (`smartinstall.ios.config_replace`). ``revert …`` needs the archive (``%Please
turn config archive on``, as IOS); ``trigger error`` puts the previous configuration back when
a command of the configlet is refused, ``timer`` when the change is not confirmed in time.
Files are read and written in threads.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from smartinstall.director.exec.config_copy import ConfigCopy, read_config
from smartinstall.director.exec.files import flash_path
from smartinstall.director.exec.host import DirectorHost
from smartinstall.director.exec.rollback_timer import MINUTES, RollbackTimer
from smartinstall.ios import (
    CONFIG,
    EXEC,
    PRIVILEGED_LEVEL,
    Arg,
    CommandError,
    CommandSet,
    Context,
    Engine,
    Mode,
    Number,
    Word,
)
from smartinstall.ios.config_replace import (
    contextual_diff,
    incremental_diff,
    listing,
    rejected_text,
    replace_steps,
    run_stepwise,
)
from smartinstall.store.repository import Repository, RepositoryError

log = logging.getLogger(__name__)

ARCHIVE_MODE = Mode("config-archive", exit_help="Exit from archive configuration mode")
DEFAULT_MAXIMUM = 10
LOCAL_FILE = r"(?i)(flash[01]?|bootflash|usb):\S*"
RUNNING_NAMES = ("running-config", "system:running-config", "system:/running-config")
STARTUP_NAMES = ("startup-config", "nvram:startup-config", "nvram:/startup-config")
CONFIRM_REPLACE = (
    "This will apply all necessary additions and deletions\n"
    "to replace the current running configuration with the\n"
    "contents of the specified configuration file, which is\n"
    "assumed to be a complete configuration, not a partial\n"
    "configuration. Enter Y if you are sure you want to proceed. ? [no]: "
)


@dataclass
class ArchiveSettings:
    path: str | None = None
    maximum: int = DEFAULT_MAXIMUM
    write_memory: bool = False


class ArchiveCommands(CommandSet):
    """``archive``, ``file prompt``, ``ip scp server enable``, ``configure replace``, ``show
    archive …`` and the configuration ``copy`` forms (`ConfigCopy`)."""

    name = "archive"
    order = 50

    def __init__(self, engine: Engine, host: DirectorHost) -> None:
        super().__init__()
        self.engine = engine
        self.host = host
        self.file_prompt = "alert"
        self.scp_enabled = False
        self.archive = ArchiveSettings()
        #: the archive files written, oldest first (repository paths) and the next number
        self.saved: list[str] = []
        self.next_number = 1
        self.add_mode(ARCHIVE_MODE)
        self.keyword_help.update(
            show="Show running system information",
            archive="Archive functions",
            config="Configuration archive",
            configure="Enter configuration mode",
            ip="IP information",
            no="Negate a command or set its defaults",
        )
        self.timer = RollbackTimer(engine, host, lambda: self.archive.path is not None)
        self._declare_config()
        self._declare_exec()
        self.copy = ConfigCopy(self, host, engine, lambda: self.file_prompt == "quiet")

    @property
    def repo(self) -> Repository:
        return self.host.repo

    def reset(self) -> None:
        """The configuration lines back to their defaults (before ``startup-config`` is read
        again); the archive files written so far are still listed."""
        self.file_prompt = "alert"
        self.scp_enabled = False
        self.archive = ArchiveSettings()

    def scp_allowed(self) -> bool:
        """Whether ``ip scp server enable`` is configured (the SSH server asks)."""
        return self.scp_enabled

    # --- configuration -----------------------------------------------------------------------

    def _declare_config(self) -> None:
        c = self.command
        prompt_help = {
            "file": "Adjust file system parameters",
            "prompt": "Prompt level for file operations",
            "alert": "Prompt only for destructive file operations",
            "noisy": "Confirm all file operation parameters",
            "quiet": "Seldom prompt for file operations",
        }
        c(CONFIG, "file prompt [{alert | noisy | quiet}]", self._file_prompt, help=prompt_help)
        c(CONFIG, "no file prompt [{alert | noisy | quiet}]", self._file_prompt, help=prompt_help)
        scp_help = {
            "scp": "Configure SCP",
            "server": "Configure SCP server",
            "enable": "Enable SCP server",
        }
        c(CONFIG, "ip scp server enable", self._scp, help=scp_help)
        c(CONFIG, "no ip scp server enable", self._scp, help=scp_help)
        c(CONFIG, "archive", self._enter, help={"archive": "Archive the configuration"})
        c(CONFIG, "no archive", self._no_archive, help={"archive": "Archive the configuration"})
        m = ARCHIVE_MODE
        path_help = {"path": "path for backing up of current running config"}
        url = {"url": Arg(Word("WORD", LOCAL_FILE), "flash: location and name prefix")}
        c(m, "path <url>", self._path, help=path_help, args=url)
        c(m, "no path [<url>]", self._path, help=path_help, args=url)
        maximum_help = {"maximum": "maximum number of backup copies"}
        c(m, "maximum <count>", self._maximum, help=maximum_help,
          args={"count": Arg(Number(1, 14), "maximum number of backup copies")})  # fmt: skip
        c(m, "no maximum [<count>]", self._maximum, help=maximum_help,
          args={"count": Arg(Number(1, 14), "maximum number of backup copies")})  # fmt: skip
        wm_help = {"write-memory": "Enable automatic backup generation during write memory"}
        c(m, "write-memory", self._write_memory, help=wm_help)
        c(m, "no write-memory", self._write_memory, help=wm_help)

    def render_config(self) -> Sequence[str]:
        lines: list[str] = []
        if self.file_prompt != "alert":
            lines.append(f"file prompt {self.file_prompt}")
        if self.scp_enabled:
            lines.append("ip scp server enable")
        archive = self.archive
        if archive != ArchiveSettings():
            lines.append("archive")
            if archive.path is not None:
                lines.append(f" path {archive.path}")
            if archive.maximum != DEFAULT_MAXIMUM:
                lines.append(f" maximum {archive.maximum}")
            if archive.write_memory:
                lines.append(" write-memory")
        return lines

    def _file_prompt(self, ctx: Context) -> None:
        chosen = next((k for k in ("noisy", "quiet") if k in ctx.keywords), "alert")
        self.file_prompt = "alert" if ctx.negated else chosen

    def _scp(self, ctx: Context) -> None:
        self.scp_enabled = not ctx.negated

    def _enter(self, ctx: Context) -> None:
        ctx.enter(ARCHIVE_MODE)

    def _no_archive(self, ctx: Context) -> None:
        self.archive = ArchiveSettings()

    def _path(self, ctx: Context) -> None:
        if ctx.negated:
            self.archive.path = None
            return
        url = str(ctx.args["url"])
        name = flash_path(self.repo, url)
        self.archive.path = f"{url.split(':', 1)[0].lower()}:{name}"

    def _maximum(self, ctx: Context) -> None:
        count = ctx.args.get("count")
        self.archive.maximum = (
            DEFAULT_MAXIMUM if ctx.negated or not isinstance(count, int) else count
        )

    def _write_memory(self, ctx: Context) -> None:
        self.archive.write_memory = not ctx.negated

    # --- the archive files -------------------------------------------------------------------

    def archive_now(self) -> tuple[str, list[str], str] | None:
        """The next archive file (repository path), the files to delete and the text to
        write; None when no ``path`` is configured. Called on the loop; the caller writes."""
        if self.archive.path is None:
            return None
        base = self.archive.path.split(":", 1)[1]
        name = f"{base}-{self.next_number}"
        self.next_number += 1
        self.saved.append(name)
        dropped = self.saved[: max(len(self.saved) - self.archive.maximum, 0)]
        del self.saved[: len(dropped)]
        return name, dropped, self.engine.running_config()

    async def write_archive(self) -> str:
        """``archive config``: the running configuration into the next archive file."""
        plan = self.archive_now()
        if plan is None:
            raise CommandError("%Archive path not specified")
        name, dropped, text = plan
        await asyncio.to_thread(_write_archive, self.repo, name, dropped, text)
        return ""

    def after_save(self) -> None:
        """``write memory`` done: with ``write-memory``, an archive file too (in a thread)."""
        if not self.archive.write_memory or self.archive.path is None:
            return
        plan = self.archive_now()
        if plan is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop to keep free (a replay, a test): written at once
            _write_archive(self.repo, *plan)
            return
        task = loop.create_task(asyncio.to_thread(_write_archive, self.repo, *plan))
        _KEEP.add(task)
        task.add_done_callback(_done)

    # --- EXEC ----------------------------------------------------------------------------------

    def _declare_exec(self) -> None:
        c = self.command
        p = PRIVILEGED_LEVEL
        file_arg = Arg(Word("WORD", LOCAL_FILE), "Configuration file: flash:file")
        replace_help = {
            "configure": "Enter configuration mode",
            "replace": "Replace the running-config with a new config file",
            "list": "List the rollback configlet of each pass",
            "force": "Do not ask for confirmation",
            "ignorecase": "Ignore case when comparing lines",
            "revert": "Parameters for reverting the configuration",
            "trigger": "Set the revert trigger",
            "error": "Revert on error",
            "timer": "Revert unless confirmed within this time",
        }
        c(EXEC, "configure replace <target> [list] [force] [ignorecase] "
                "[revert {trigger [error] [timer <minutes>] | timer <minutes>}]",
          self._replace, level=p, help=replace_help,
          args={"target": file_arg, "minutes": MINUTES})  # fmt: skip
        archive_help = {"archive": "manage archive files", "config": "Archive the configuration"}
        c(EXEC, "archive config", self._archive_config, level=p, help=archive_help)
        show_help = {"archive": "Archive functions", "config": "Configuration archive"}
        c(EXEC, "show archive", self._show_archive, level=p, output=True, help=show_help)
        source = Arg(Word("WORD", r"(?i)\S+:\S*|running-config|startup-config"), "Config file")
        c(EXEC, "show archive config differences [<first> [<second>]] [ignorecase]",
          self._differences, level=p, output=True,
          help={**show_help, "differences": "Show the contextual differences",
                "ignorecase": "Ignore case when comparing lines"},
          args={"first": source, "second": source})  # fmt: skip
        c(EXEC, "show archive config incremental-diffs <file> [ignorecase]",
          self._incremental, level=p, output=True,
          help={**show_help, "incremental-diffs": "Show the lines the file would change",
                "ignorecase": "Ignore case when comparing lines"},
          args={"file": source})  # fmt: skip
        self.timer.declare(self)
        # NAPALM's get_config(full=True): the director has no hidden defaults to add
        c(EXEC, "show running-config all", self._running_all, level=p, output=True,
          help={"running-config": "Current operating configuration",
                "all": "Configuration with defaults"})  # fmt: skip

    def _running_all(self, ctx: Context) -> None:
        body = self.engine.running_config()
        ctx.write(
            f"Building configuration...\n\nCurrent configuration : {len(body.encode())} bytes\n"
        )
        ctx.write(body)

    async def _config_text(self, name: str) -> str:
        """A configuration by its IOS name: the running one (as it is now), the startup one or
        a flash: file (read in a thread)."""
        lowered = name.lower()
        if lowered in RUNNING_NAMES:
            return self.engine.running_config()
        if lowered in STARTUP_NAMES:
            store = self.engine.store
            text = await asyncio.to_thread(store.read) if store is not None else None
            if text is None:
                raise CommandError(f"%Error opening {name} (No such file or directory)")
            return text
        if lowered in ("null:", "null:/"):
            return ""
        path = flash_path(self.repo, name)
        return await asyncio.to_thread(read_config, self.repo, path, name)

    def _replace(self, ctx: Context) -> None:
        target = str(ctx.args["target"])
        flash_path(self.repo, target)  # a bad name is refused at once
        keywords = ctx.keywords
        minutes = ctx.args.get("minutes")
        if "revert" in keywords:
            self.timer.check()  # the archive is needed; one pending change at a time
        user = self.timer.user_of(ctx)

        async def work() -> str:
            text = await self._config_text(target)
            original = self.engine.running_config()
            out = await self.replace_with(
                text, listed="list" in keywords, ignorecase="ignorecase" in keywords,
                revert="error" in keywords,
            )  # fmt: skip
            if isinstance(minutes, int) and out.rstrip().endswith("Rollback Done"):
                self.timer.start(user, minutes, original)
            return out

        if "force" in keywords:
            ctx.wait(work)
            return

        def answer(reply: str) -> str:
            if reply.strip().lower() in ("y", "yes"):
                ctx.wait(work)
            return ""

        ctx.ask(CONFIRM_REPLACE, answer)

    async def replace_with(self, text: str, *, listed: bool, ignorecase: bool, revert: bool) -> str:
        """The running configuration replaced by ``text`` (on the loop); what IOS prints."""
        started = time.monotonic()
        original = self.engine.running_config()
        result = await run_stepwise(replace_steps(self.engine, text, ignorecase))
        out = ""
        if listed and result.passes:
            out += f"!Pass {result.passes}\n" + listing(result.last)
        if result.done:
            return out + f"Total number of passes: {result.passes}\nRollback Done\n\n"
        out += rejected_text(result.rejected)
        out += (
            "The rollback configlet from the last pass is listed below:\n********\n"
            + listing(result.last)
            + "********\n\n\n"
            + f"Rollback aborted after {result.passes} passes\n"
            + f"% Configuration replace failed: {len(result.rejected)} commands refused\n"
        )
        if revert:
            back = await run_stepwise(replace_steps(self.engine, original))
            if back.done:
                out += "The original configuration has been successfully restored.\n"
            else:
                out += "% The original configuration could not be restored.\n"
        elapsed = time.monotonic() - started
        out += f"(in {elapsed:.3f} secs)\n"
        return out

    def _archive_config(self, ctx: Context) -> None:
        ctx.wait(self.write_archive)

    def _show_archive(self, ctx: Context) -> None:
        archive = self.archive
        if archive.path is None:
            ctx.write(
                "There are currently 0 archive configurations saved.\n"
                "The next archive file will be named Archive feature not enabled\n"
            )
            return
        scheme = archive.path.split(":", 1)[0]
        ctx.write(f"The maximum archive configurations allowed is {archive.maximum}.\n")
        ctx.write(f"There are currently {len(self.saved)} archive configurations saved.\n")
        base = archive.path.split(":", 1)[1]
        ctx.write(f"The next archive file will be named {scheme}:{base}-{self.next_number}\n")
        ctx.write(" Archive #  Name\n")
        for number in range(1, archive.maximum + 1):
            if number <= len(self.saved):
                recent = " <- Most Recent" if number == len(self.saved) else ""
                ctx.write(f"  {number:2d}        {scheme}:{self.saved[number - 1]}{recent}\n")
            else:
                ctx.write(f"  {number:2d}\n")

    def _differences(self, ctx: Context) -> None:
        first = ctx.args.get("first")
        second = ctx.args.get("second")
        if first is None:  # IOS: the startup configuration against the running one
            names = ("nvram:startup-config", "system:running-config")
        elif second is None:
            names = (str(first), "system:running-config")
        else:
            names = (str(first), str(second))
        ignorecase = "ignorecase" in ctx.keywords

        async def work() -> str:
            old = await self._config_text(names[0])
            new = await self._config_text(names[1])
            return contextual_diff(old, new, ignorecase)

        ctx.wait(work)

    def _incremental(self, ctx: Context) -> None:
        name = str(ctx.args["file"])
        ignorecase = "ignorecase" in ctx.keywords

        async def work() -> str:
            text = await self._config_text(name)
            return incremental_diff(self.engine.running_config(), text, ignorecase)

        ctx.wait(work)


#: archive writes started by ``write memory`` (kept until they end)
_KEEP: set[asyncio.Task[None]] = set()


def _done(task: asyncio.Task[None]) -> None:
    _KEEP.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.warning("archive file not written: %s", task.exception())


def _write_archive(repo: Repository, name: str, dropped: list[str], text: str) -> None:
    """One archive file written (atomically) and the oldest beyond ``maximum`` deleted."""
    try:
        repo.write(name, text.encode("utf-8"))
        for old in dropped:
            repo.delete(old)
    except RepositoryError as error:
        raise CommandError(f"%Error writing {name} ({error})") from None


_OWN_LINES = (("archive",), ("file", "prompt"), ("ip", "scp"))


def without_archive_lines(text: str) -> str:
    """``text`` with the lines this set owns (and the ``archive`` sub-mode lines) made
    comments: the director's own replay of ``startup-config`` leaves them to the CLI's."""
    out: list[str] = []
    inside = False
    for line in text.splitlines():
        if inside and line[:1] == " ":
            out.append("!")
            continue
        words = line.strip().lower().split()
        if words[:1] == ["no"]:
            words = words[1:]
        owned = line[:1] != " " and any(tuple(words[: len(p)]) == p for p in _OWN_LINES)
        inside = owned and words == ["archive"]
        out.append("!" if owned else line)
    return "\n".join(out)


def archive_command_set(engine: Engine, host: DirectorHost) -> CommandSet:
    """The factory `smartinstall.director.terminals` plugs into the director's engine."""
    commands = ArchiveCommands(engine, host)
    engine.on_saved.append(commands.after_save)
    return commands


def archive_set_of(engine: Engine) -> ArchiveCommands | None:
    """The engine's `ArchiveCommands`, if it has one (the SSH server asks it about SCP)."""
    return next((s for s in engine.sets if isinstance(s, ArchiveCommands)), None)


__all__ = [
    "ARCHIVE_MODE",
    "ArchiveCommands",
    "ArchiveSettings",
    "archive_command_set",
    "archive_set_of",
    "without_archive_lines",
]
