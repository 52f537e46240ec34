"""The configuration lines of IOS's configuration archive and file commands, as a command set
of their own: what NAPALM and Ansible put in a configuration (``archive`` with ``path``,
``maximum`` and ``write-memory``; ``file prompt``; ``ip scp server enable``).

`ArchiveConfig` parses and renders them and nothing more, so any engine can take a
configuration that carries them: the offline ``smartinstall shell`` keeps them in ``show
running-config`` and ``write memory``; the running director's ``ArchiveCommands`` (its
archive files, ``configure replace``, ``copy``) builds on it. `without_archive_lines` turns
them into comments for a replay that only wants the director's settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from smartinstall.ios.engine import CommandError, Context, Engine
from smartinstall.ios.tree import CONFIG, CommandSet, Mode
from smartinstall.ios.types import Arg, Number, Word

ARCHIVE_MODE = Mode("config-archive", exit_help="Exit from archive configuration mode")
DEFAULT_MAXIMUM = 10
LOCAL_FILE = r"(?i)(flash[01]?|bootflash|usb):\S*"


@dataclass
class ArchiveSettings:
    path: str | None = None
    maximum: int = DEFAULT_MAXIMUM
    write_memory: bool = False


class ArchiveConfig(CommandSet):
    """``file prompt``, ``ip scp server enable`` and ``archive`` (``path``, ``maximum``,
    ``write-memory``): the lines, their ``no`` forms and their rendering."""

    name = "archive"
    order = 50

    def __init__(self) -> None:
        super().__init__()
        self.file_prompt = "alert"
        self.scp_enabled = False
        self.archive = ArchiveSettings()
        self.add_mode(ARCHIVE_MODE)
        self.keyword_help.update(
            archive="Archive functions",
            ip="IP information",
            no="Negate a command or set its defaults",
        )
        self._declare_config()

    def reset(self) -> None:
        """The lines back to their defaults (before ``startup-config`` is read again)."""
        self.file_prompt = "alert"
        self.scp_enabled = False
        self.archive = ArchiveSettings()

    def scp_allowed(self) -> bool:
        """Whether ``ip scp server enable`` is configured (the SSH server asks)."""
        return self.scp_enabled

    def archive_name(self, url: str) -> str:
        """The file name part of ``path <url>`` (``flash:dir/name`` -> ``dir/name``); a URL
        without a name, or leaving its file system, is refused."""
        name = url.split(":", 1)[1].strip("/")
        if not name:
            raise CommandError(f"%Error opening {url} (No file name)")
        if ".." in name.split("/"):
            raise CommandError(f"%Error opening {url} (path leaves the file system)")
        return name

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
        count = {"count": Arg(Number(1, 14), "maximum number of backup copies")}
        c(m, "maximum <count>", self._maximum, help=maximum_help, args=count)
        c(m, "no maximum [<count>]", self._maximum, help=maximum_help, args=count)
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
        name = self.archive_name(url)
        self.archive.path = f"{url.split(':', 1)[0].lower()}:{name}"

    def _maximum(self, ctx: Context) -> None:
        count = ctx.args.get("count")
        self.archive.maximum = (
            DEFAULT_MAXIMUM if ctx.negated or not isinstance(count, int) else count
        )

    def _write_memory(self, ctx: Context) -> None:
        self.archive.write_memory = not ctx.negated


_OWN_LINES = (("archive",), ("file", "prompt"), ("ip", "scp"))


def without_archive_lines(text: str) -> str:
    """``text`` with the lines `ArchiveConfig` owns (and the ``archive`` sub-mode lines) made
    comments, line for line: for a replay that only wants the director's settings."""
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


def archive_config_set(engine: Engine) -> ArchiveConfig:
    """The factory of an engine without a ``flash:`` (``smartinstall shell``)."""
    del engine
    return ArchiveConfig()


__all__ = [
    "ARCHIVE_MODE",
    "DEFAULT_MAXIMUM",
    "LOCAL_FILE",
    "ArchiveConfig",
    "ArchiveSettings",
    "archive_config_set",
    "without_archive_lines",
]
