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

    configure replace <file> [nolock] [list] [force] [ignorecase]
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
Unless ``nolock``, the replace holds the engine's configuration lock
(`smartinstall.ios.config_lock`): the other terminals' configuration commands are refused
until it ends.

The archive files are found on flash: again at start (`list_archive`, as IOS's ``show
archive`` after a reload): the numbering goes on after the newest, the oldest beyond
``maximum`` are deleted. Files are listed, read, written and deleted in threads.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time

from smartinstall.director.exec.commands import ExecCommands
from smartinstall.director.exec.config_copy import ConfigCopy, read_config
from smartinstall.director.exec.files import flash_path
from smartinstall.director.exec.host import DirectorHost
from smartinstall.director.exec.rollback_timer import MINUTES, RollbackTimer
from smartinstall.ios import (
    EXEC,
    PRIVILEGED_LEVEL,
    Arg,
    CommandError,
    CommandSet,
    Context,
    Engine,
    Session,
    Word,
)
from smartinstall.ios.archive_config import (
    ARCHIVE_MODE,
    LOCAL_FILE,
    ArchiveConfig,
    ArchiveSettings,
    without_archive_lines,
)
from smartinstall.ios.config_lock import config_locked
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

RUNNING_NAMES = ("running-config", "system:running-config", "system:/running-config")
STARTUP_NAMES = ("startup-config", "nvram:startup-config", "nvram:/startup-config")
CONFIRM_REPLACE = (
    "This will apply all necessary additions and deletions\n"
    "to replace the current running configuration with the\n"
    "contents of the specified configuration file, which is\n"
    "assumed to be a complete configuration, not a partial\n"
    "configuration. Enter Y if you are sure you want to proceed. ? [no]: "
)


class ArchiveCommands(ArchiveConfig):
    """``archive``, ``file prompt``, ``ip scp server enable`` (the lines: `ArchiveConfig`, which
    the offline shell shares), the archive files, ``configure replace``, ``show archive …`` and
    the configuration ``copy`` forms (`ConfigCopy`)."""

    def __init__(self, engine: Engine, host: DirectorHost) -> None:
        super().__init__()
        self.engine = engine
        self.host = host
        #: the archive files on flash:, oldest first (repository paths), the next number and
        #: the archive path they were listed for (None: to be listed from flash: again)
        self.saved: list[str] = []
        self.next_number = 1
        self.listed_for: str | None = None
        self._files = asyncio.Lock()  # one archive listing or write at a time
        self.keyword_help.update(
            show="Show running system information",
            config="Configuration archive",
            configure="Enter configuration mode",
        )
        self.timer = RollbackTimer(engine, host, lambda: self.archive.path is not None)
        self._declare_exec()
        self.copy = ConfigCopy(self, host, engine, lambda: self.file_prompt == "quiet")

    @property
    def repo(self) -> Repository:
        return self.host.repo

    def archive_name(self, url: str) -> str:
        return flash_path(self.repo, url)

    # --- the archive files -------------------------------------------------------------------

    def _base(self) -> str | None:
        path = self.archive.path
        return None if path is None else path.split(":", 1)[1]

    def _listed(self, base: str, found: list[str]) -> None:
        self.saved = found
        self.next_number = _number_of(found[-1], base) + 1 if found else 1
        self.listed_for = base

    async def refresh(self) -> None:
        """The archive files of ``path`` listed from flash: (in a thread), the oldest beyond
        ``maximum`` deleted: after a restart, ``show archive`` lists what earlier runs wrote
        and the numbering goes on after the newest. Nothing to do when already listed."""
        async with self._files:
            await self._refresh()

    async def _refresh(self) -> None:
        base = self._base()
        if base is None or self.listed_for == base:
            return
        found = await asyncio.to_thread(list_archive, self.repo, base, self.archive.maximum)
        if self._base() == base:
            self._listed(base, found)

    async def write_archive(self) -> str:
        """``archive config``: the running configuration into the next archive file."""
        if self.archive.path is None:
            raise CommandError("%Archive path not specified")
        await self._archive(self.engine.running_config())
        return ""

    async def _archive(self, text: str, planned: tuple[str, list[str]] | None = None) -> None:
        """``text`` into the next archive file (or the one ``planned``), the oldest beyond
        ``maximum`` deleted (the disk work in threads, one archive operation at a time)."""
        async with self._files:
            if planned is None:
                await self._refresh()
                base = self._base()
                if base is None:
                    return
                planned = self._next(base)
            await asyncio.to_thread(_write_archive, self.repo, *planned, text)

    def _next(self, base: str) -> tuple[str, list[str]]:
        name = f"{base}-{self.next_number}"
        self.next_number += 1
        self.saved.append(name)
        dropped = self.saved[: max(len(self.saved) - self.archive.maximum, 0)]
        del self.saved[: len(dropped)]
        return name, dropped

    def after_save(self) -> None:
        """``write memory`` done: with ``write-memory``, an archive file too (in a thread)."""
        base = self._base()
        if not self.archive.write_memory or base is None:
            return
        text = self.engine.running_config()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop to keep free (a replay, a test): done at once
            if self.listed_for != base:
                self._listed(base, list_archive(self.repo, base, self.archive.maximum))
            _write_archive(self.repo, *self._next(base), text)
            return
        # listed already (the usual case): the file is named now, so that ``show archive``
        # lists it at once; it is written in a thread, after the archive writes before it
        planned = self._next(base) if self.listed_for == base else None
        task = loop.create_task(self._archive(text, planned))
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
            "nolock": "Do not lock the configuration while replacing it",
            "list": "List the rollback configlet of each pass",
            "force": "Do not ask for confirmation",
            "ignorecase": "Ignore case when comparing lines",
            "revert": "Parameters for reverting the configuration",
            "trigger": "Set the revert trigger",
            "error": "Revert on error",
            "timer": "Revert unless confirmed within this time",
        }
        c(EXEC, "configure replace <target> [nolock] [list] [force] [ignorecase] "
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
        session = ctx.session

        async def replace() -> str:
            text = await self._config_text(target)
            original = self.engine.running_config()
            out = await self.replace_with(
                text, listed="list" in keywords, ignorecase="ignorecase" in keywords,
                revert="error" in keywords,
            )  # fmt: skip
            if isinstance(minutes, int) and out.rstrip().endswith("Rollback Done"):
                self.timer.start(user, minutes, original)
            return out

        async def work() -> str:
            if "nolock" in keywords:
                return await replace()
            # IOS locks the configuration for the replace: the other terminals' configuration
            # commands are refused until it ends
            terminal = self._terminal_of(session)
            async with config_locked(session, process=os.getpid(), user=user, terminal=terminal):
                return await replace()

        if "force" in keywords:
            ctx.wait(work)
            return

        def answer(reply: str) -> str:
            if reply.strip().lower() in ("y", "yes"):
                ctx.wait(work)
            return ""

        ctx.ask(CONFIRM_REPLACE, answer)

    def _terminal_of(self, session: Session) -> int:
        """The number of the terminal line of ``session`` (``show users``; 0: none)."""
        for command_set in self.engine.sets:
            if isinstance(command_set, ExecCommands):
                line = command_set.lines.get(session)
                if line is not None:
                    return line.number
        return 0

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
        if self.archive.path is None:
            ctx.write(
                "There are currently 0 archive configurations saved.\n"
                "The next archive file will be named Archive feature not enabled\n"
            )
            return

        async def work() -> str:
            await self.refresh()
            return self._archive_listing()

        ctx.wait(work)

    def _archive_listing(self) -> str:
        archive = self.archive
        if archive.path is None:
            return ""
        scheme, base = archive.path.split(":", 1)
        saved = self.saved[-archive.maximum :]
        lines = [
            f"The maximum archive configurations allowed is {archive.maximum}.",
            f"There are currently {len(saved)} archive configurations saved.",
            f"The next archive file will be named {scheme}:{base}-{self.next_number}",
            " Archive #  Name",
        ]
        for number in range(1, archive.maximum + 1):
            if number <= len(saved):
                recent = " <- Most Recent" if number == len(saved) else ""
                lines.append(f"  {number:2d}        {scheme}:{saved[number - 1]}{recent}")
            else:
                lines.append(f"  {number:2d}")
        return "\n".join(lines) + "\n"

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


def _number_of(name: str, base: str) -> int:
    return int(name[len(base) + 1 :])


def list_archive(repo: Repository, base: str, maximum: int) -> list[str]:
    """The archive files ``<base>-<n>`` on flash:, oldest (lowest number) first; those beyond
    the ``maximum`` newest are deleted. Disk work: called in a thread."""
    folder, _, prefix = base.rpartition("/")
    pattern = re.compile(re.escape(prefix) + r"-([1-9][0-9]{0,8})")
    numbered = sorted(
        (int(match.group(1)), name)
        for name in repo.names(folder)
        if (match := pattern.fullmatch(name)) is not None
    )
    found = [f"{folder}/{name}" if folder else name for _, name in numbered]
    dropped = found[: max(len(found) - maximum, 0)]
    for old in dropped:
        try:
            repo.delete(old)
        except RepositoryError as error:
            log.warning("archive file %s not deleted: %s", old, error)
    if found:
        log.info("archive %s: %d files on flash:, the newest %s", base, len(found), found[-1])
    return found[len(dropped) :]


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
    "list_archive",
    "without_archive_lines",
]
