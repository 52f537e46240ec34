"""Plugging the director's commands into an engine, and replaying a configuration text into
fresh settings (start-up, `smartinstall explain`, the lab)."""

from __future__ import annotations

from dataclasses import dataclass, field

from smartinstall.domain.settings import DirectorSettings
from smartinstall.ios.config import MAX_CONFIG_BYTES
from smartinstall.ios.director_config.base import OwnsAddress, ShowConfig
from smartinstall.ios.director_config.commands import DirectorCommands
from smartinstall.ios.engine import Engine, ReplayReport

DEFAULT_HOSTNAME = "Director"


def director_command_set(
    engine: Engine,
    owns_address: OwnsAddress | None = None,
    settings: DirectorSettings | None = None,
    *,
    show_config: ShowConfig | None = None,
) -> DirectorCommands:
    """The director's commands, with the engine's `hostname` command editing the settings'
    hostname; `show vstack config` when `show_config` renders it (the shell's factory,
    `smartinstall.commands.shell.director_command_set`, gives the director's view). The
    caller adds the set."""
    commands = DirectorCommands(settings, owns_address, show_config=show_config)
    if settings is None:
        commands.settings.hostname = engine.hostname
    engine.system.holder = commands.settings
    return commands


@dataclass
class DirectorConfig:
    """A director configuration replayed through the engine."""

    settings: DirectorSettings
    report: ReplayReport
    errors: list[tuple[int, str, str]] = field(default_factory=list)


def replay_director_config(
    text: str, owns_address: OwnsAddress | None = None, source: str = "startup-config"
) -> DirectorConfig:
    """Replay IOS configuration text into fresh settings; every rejected line is reported
    as (line number, line, message), the message naming the caret's column when there is
    one. Never raises on any text."""
    engine = Engine(hostname=DEFAULT_HOSTNAME)
    commands = engine.add(director_command_set(engine, owns_address))
    assert isinstance(commands, DirectorCommands)
    if len(text.encode("utf-8", errors="replace")) > MAX_CONFIG_BYTES:
        report = ReplayReport(source)
        return DirectorConfig(
            commands.settings,
            report,
            [(0, "", f"% configuration is larger than {MAX_CONFIG_BYTES} bytes")],
        )
    report = engine.replay(text, source)
    errors = []
    for failure in report.errors:
        message = failure.message
        if failure.column is not None:
            message += f" (column {failure.column})"
        errors.append((failure.line_number, failure.line.strip(), message))
    return DirectorConfig(commands.settings, report, errors)


__all__ = ["DEFAULT_HOSTNAME", "DirectorConfig", "director_command_set", "replay_director_config"]
