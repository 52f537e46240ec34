"""``show vstack internal``: how the director itself is doing.

Not a command of the guide: Cisco's director has nothing like it. It answers what an operator
asks when the director seems slow or a background job failed: how late the event loop runs,
how far behind the database is, which background tasks failed and why, how busy the TFTP
workers are.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from smartinstall.director.monitor import LagSummary
from smartinstall.director.tasks import TaskFailure
from smartinstall.store.writer import WriterStats


@dataclass(frozen=True)
class TftpLoad:
    workers: int
    alive: int
    running: int
    per_worker: tuple[int, ...]
    started: int
    finished: int
    failed: int
    restarts: int


@dataclass(frozen=True)
class Internals:
    uptime: dt.timedelta
    entries: int
    downloads: int
    lag: LagSummary
    lag_recent: LagSummary
    writer: WriterStats
    tasks_running: dict[str, int]
    tasks_failed: dict[str, int]
    failures: tuple[TaskFailure, ...]
    tftp: TftpLoad | None = None
    interrupted: int = 0  # installs a restart interrupted, still open
    notes: tuple[str, ...] = field(default_factory=tuple)


def _uptime(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"{days}d {hours:02d}:{minutes:02d}:{seconds:02d}"


def show_vstack_internal(info: Internals) -> str:
    w = info.writer
    lines = [
        f"Director uptime               : {_uptime(info.uptime)}",
        f"Director database entries     : {info.entries}",
        f"Download status entries       : {info.downloads}",
        f"Installs resumed after restart: {info.interrupted} open",
        f"Event loop lag (ms)           : {info.lag.render()} since start",
        f"Event loop lag, last minute   : {info.lag_recent.render()}",
        f"Store: changes submitted      : {w.submitted}",
        f"Store: changes committed      : {w.committed}",
        f"Store: changes pending        : {w.pending}",
        f"Store: commits                : {w.commits} ({w.records_written} records, "
        f"{w.store.statements} statements)",
        f"Store: commit time (ms)       : last {w.last_commit_ms:.1f} max {w.max_commit_ms:.1f}",
        f"Store: failed commits         : {w.failures}"
        + (f" (last: {w.last_error})" if w.last_error else ""),
        f"Store: SQL on the event loop  : {w.store.statements_off_writer}",
    ]
    if info.tftp is not None:
        t = info.tftp
        per = " ".join(str(n) for n in t.per_worker) or "-"
        lines += [
            f"TFTP workers                  : {t.alive} of {t.workers} alive, "
            f"{t.restarts} restarts",
            f"TFTP transfers running        : {t.running} (per worker: {per})",
            f"TFTP transfers                : {t.started} started, {t.finished} finished, "
            f"{t.failed} failed",
        ]
    running = ", ".join(f"{name} {n}" for name, n in sorted(info.tasks_running.items()))
    failed = ", ".join(f"{name} {n}" for name, n in sorted(info.tasks_failed.items()))
    lines += [
        f"Background tasks running      : {sum(info.tasks_running.values())}"
        + (f" ({running})" if running else ""),
        f"Background tasks failed       : {sum(info.tasks_failed.values())}"
        + (f" ({failed})" if failed else ""),
    ]
    for failure in info.failures:
        lines.append(
            f"  {failure.when:%Y-%m-%d %H:%M:%S} {failure.name}: {failure.error}"
            + (f" at {failure.where}" if failure.where else "")
        )
    lines.extend(info.notes)
    return "\n".join(lines) + "\n"
