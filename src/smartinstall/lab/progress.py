"""The lab's live progress table: one row per switch (:class:`SwitchRow`), whether the
director's download row says a client is done (:func:`is_upgraded`), the table as plain text."""

from __future__ import annotations

from dataclasses import dataclass

from smartinstall.domain.downloads import DownloadStatus
from smartinstall.store.records import DownloadEntry


@dataclass
class SwitchRow:
    """One line of the progress table."""

    name: str
    mac: str
    pid: str
    address: str
    state: str
    bytes: int
    seconds: float
    image: str
    config: str
    script: str
    done: bool
    group: str = ""  # the group the switch matched, as `smartinstall explain` names it
    nothing: bool = False  # explain gives it nothing to install (done: it got nothing)


def is_upgraded(entry: DownloadEntry | None) -> bool:
    """The director's download row says this client is done: image (or, without an image,
    configuration) UPGRADED, nothing FAILED, nothing left to do."""
    if entry is None:
        return False
    columns = (entry.image, entry.config, entry.script)
    if any(c is DownloadStatus.FAILED or not c.finished for c in columns):
        return False
    return DownloadStatus.UPGRADED in (entry.image, entry.config)


def render_table(rows: list[SwitchRow], elapsed: float) -> str:
    """The live progress table, plain text."""
    header = (
        f"{'switch':<16}{'PID':<24}{'address':<14}{'group':<20}{'state':<22}{'bytes':>11}  "
        f"{'time':>6}  {'image':<12}{'config':<12}{'script':<12}"
    )
    lines = [header, "-" * len(header)]
    for r in rows:
        mark = "*" if r.done else " "
        lines.append(
            f"{r.name[:15]:<16}{r.pid[:23]:<24}{r.address:<14}{r.group[:19]:<20}{r.state[:21]:<22}"
            f"{r.bytes:>11,}  {r.seconds:>5.1f}s  {r.image:<12}{r.config:<12}{r.script:<12}{mark}"
        )
    upgraded = sum(r.done and not r.nothing for r in rows)
    nothing = [r for r in rows if r.nothing]
    summary = f"{upgraded}/{len(rows) - len(nothing)} switches UPGRADED"
    if nothing:
        given = sum(r.done for r in nothing)
        summary += f", {given}/{len(nothing)} given nothing as explain says"
    lines.append(f"{summary} after {elapsed:.1f}s")
    return "\n".join(lines) + "\n"
