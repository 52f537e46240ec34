"""``smartinstall director --config-check``: is a data directory fit to start a director?

The same checks the director makes before it starts, and nothing started: ``startup-config``
replayed through the director's commands (:func:`~smartinstall.director.daemon.load_settings`),
every line accepted; the database refused or accepted as at start
(:func:`~smartinstall.store.database.check_openable`), and a SQLite file that exists opened
read-only and checked page by page; ``flash:`` present. Each finding is one line; problems
begin with ``%`` as IOS errors do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from smartinstall.director.daemon import FLASH, STARTUP_CONFIG, load_settings
from smartinstall.store.database import (
    DatabaseError,
    check_openable,
    check_readable,
    create_reader_engine,
    created_marker,
    default_url,
    normalize_url,
    sqlite_path,
)

LABEL = 20  # width of the finding's name column


@dataclass
class ConfigCheck:
    """What the check found: ``lines`` to show, ``problems`` that would stop the director."""

    data_dir: Path
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def found(self, what: str, detail: str) -> None:
        self.lines.append(f"{what:<{LABEL}}: {detail}")

    def problem(self, text: str) -> None:
        self.problems.append(text)
        self.lines.append(f"% {text}")

    def render(self) -> str:
        head = f"Checking data directory {self.data_dir}"
        if self.ok:
            tail = "Configuration check passed: the director can start"
        else:
            count = len(self.problems)
            tail = f"% Configuration check failed: {count} problem{'s' if count > 1 else ''}"
        return "\n".join([head, *self.lines, tail]) + "\n"


def check_data_dir(
    data_dir: Path,
    database: str | None = None,
    *,
    ignore_config_errors: bool = False,
    new_database: bool = False,
) -> ConfigCheck:
    """Check ``data_dir`` as the director would start on it, with the same options; nothing
    is created, started or written."""
    check = ConfigCheck(data_dir)
    if not data_dir.is_dir():
        check.problem(f"data directory {data_dir} does not exist or is not a directory")
        return check
    if not os.access(data_dir, os.W_OK | os.X_OK):
        check.problem(f"data directory {data_dir} is not writable by this user")
    _check_startup_config(check, data_dir / STARTUP_CONFIG, ignore_config_errors)
    _check_database(check, database or default_url(data_dir), new_database)
    _check_flash(check, data_dir / FLASH)
    return check


def _check_startup_config(check: ConfigCheck, path: Path, ignore_errors: bool) -> None:
    if not path.exists():
        check.found("startup-config", "not present (the director starts with its defaults)")
        return
    settings, errors = load_settings(path)
    for number, line, message in errors:
        text = f"startup-config line {number} rejected: {line}: {message}"
        if ignore_errors:
            check.lines.append(f"% {text} (ignored: --ignore-config-errors)")
        else:
            check.problem(text)
    if errors:
        return
    try:
        lines = [
            line
            for line in path.read_text(errors="replace").splitlines()
            if line.strip() and not line.lstrip().startswith("!")
        ]
    except OSError:  # read a moment ago by the replay
        lines = []
    role = "director" if settings.enabled else "Smart Install off (no vstack)"
    ip = settings.director_ip or "not configured"
    check.found(
        "startup-config", f"{len(lines)} lines replayed, every line accepted ({role}, IP {ip})"
    )


def _check_database(check: ConfigCheck, url: str, new_database: bool) -> None:
    shown = normalize_url(url).render_as_string(hide_password=True)
    try:
        check_openable(url)
    except DatabaseError as error:
        if new_database:
            check.found("database", f"{error} (begun afresh: --new-database)")
        else:
            check.problem(str(error))
        return
    path = sqlite_path(url)
    if path is None:
        _check_server(check, url, shown)
        return
    if not path.exists():
        check.found("database", f"{path} not present: made at the first start")
        return
    damage = check_readable(path)
    if damage is not None:
        if new_database:
            check.found("database", f"{path} {damage} (moved aside: --new-database)")
        else:
            check.problem(f"the director database {path} {damage}")
        return
    marked = "" if created_marker(path).exists() else f" ({created_marker(path).name} missing)"
    check.found("database", f"{path}: opened read-only, every page readable{marked}")


def _check_server(check: ConfigCheck, url: str, shown: str) -> None:
    try:
        engine = create_reader_engine(url)
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        finally:
            engine.dispose()
    except (DatabaseError, SQLAlchemyError, ImportError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        check.problem(f"the director database {shown} cannot be opened: {reason}")
        return
    check.found("database", f"{shown}: connected read-only")


def _check_flash(check: ConfigCheck, flash: Path) -> None:
    if not flash.is_dir():
        check.problem(f"flash: {flash} does not exist or is not a directory")
        return
    if not os.access(flash, os.W_OK | os.X_OK):
        check.problem(f"flash: {flash} is not writable by this user")
        return
    files = sum(1 for each in flash.rglob("*") if each.is_file())
    check.found("flash", f"{flash}, {files} file{'' if files == 1 else 's'}")
