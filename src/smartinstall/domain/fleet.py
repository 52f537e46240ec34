"""Directors of one fleet: the director id, the roles of a hot-standby pair, and when a
director counts as down (pure rules, no I/O).

Every row of a shared director database carries the id of the director it belongs to
(``vstack director-id <name>``, or the id kept in ``DATA/director-id``), so many directors
share one PostgreSQL database without touching each other's clients. Two director processes
with the same id form a hot-standby pair: one is active, the other follows (docs/scale-out.md).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from enum import Enum

from smartinstall.domain.errors import DomainError

DIRECTOR_ID_MAX = 63
_DIRECTOR_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
HEARTBEAT_SECONDS = 1.0  # a director writes its heartbeat this often
DOWN_AFTER = 10.0  # seconds without a heartbeat after which a director is shown as down


def validate_director_id(text: str) -> str:
    """A director id: 1 to 63 letters, digits, ``.``, ``_`` or ``-``, starting with a letter
    or a digit (it names the director in the shared database and in ``fleet status``)."""
    name = text.strip()
    if not _DIRECTOR_ID.fullmatch(name):
        raise DomainError(f"% Invalid director id: {name or repr(text)}", text)
    return name


def new_director_id() -> str:
    """A fresh id for a director configured without one: ``director-`` and 8 hex digits."""
    return f"director-{secrets.token_hex(4)}"


class Role(Enum):
    ACTIVE = "active"
    STANDBY = "standby"
    STOPPED = "stopped"  # left cleanly
    FENCED = "fenced"  # lost its lock: it writes no more


@dataclass(frozen=True)
class MemberBeat:
    """One director process as its last heartbeat row tells it."""

    director_id: str
    member: str  # the process: host name and process id
    role: Role
    address: str
    heartbeat_at: dt.datetime
    fence: int
    # a standby: when the state it holds was committed, and how many seconds behind the
    # active member's commits it is (None: not following)
    state_at: dt.datetime | None = None
    behind: float | None = None


def is_down(beat: MemberBeat, now: dt.datetime, down_after: float = DOWN_AFTER) -> bool:
    """A member that left, was fenced, or has not beaten for ``down_after`` seconds."""
    if beat.role in (Role.STOPPED, Role.FENCED):
        return True
    return (now - beat.heartbeat_at).total_seconds() > down_after


# what ``fleet status`` counts a client as, from its latest download-status row
STATUSES = ("UPGRADED", "UPGRADING", "FAILED", "NOT STARTED")


def overall_status(image: str, config: str, script: str) -> str:
    """One word for a download-status row: FAILED when a column failed, UPGRADING while a
    column is under way, UPGRADED once a column was upgraded and all are finished, else NOT
    STARTED."""
    columns = (image, config, script)
    if "FAILED" in columns:
        return "FAILED"
    if "UPGRADING" in columns:
        return "UPGRADING"
    if "UPGRADED" in columns and "NOT STARTED" not in columns:
        return "UPGRADED"
    return "NOT STARTED"


@dataclass(frozen=True)
class FleetLine:
    """One director id in ``fleet status``: its clients by status and its members."""

    director_id: str
    devices: int
    statuses: dict[str, int]
    members: tuple[MemberBeat, ...]

    def role_text(self, now: dt.datetime, down_after: float = DOWN_AFTER) -> str:
        up = [m for m in self.members if not is_down(m, now, down_after)]
        active = [m for m in up if m.role is Role.ACTIVE]
        standby = [m for m in up if m.role is Role.STANDBY]
        if active:
            return "active" + (f"+{len(standby)} standby" if standby else "")
        if standby:
            return "standby only"
        return "down" if self.members else "-"

    def last_contact(self) -> dt.datetime | None:
        return max((m.heartbeat_at for m in self.members), default=None)


def render_fleet(lines: list[FleetLine], now: dt.datetime, down_after: float = DOWN_AFTER) -> str:
    """The ``smartinstall fleet status`` table: one line per director id."""
    head = f"{'Director':<24} {'Role':<18} {'Last contact':<14} {'Devices':>7}  Status"
    out = [head, "-" * len(head)]
    for line in lines:
        contact = line.last_contact()
        age = "never" if contact is None else f"{(now - contact).total_seconds():.1f}s ago"
        statuses = ", ".join(f"{line.statuses[s]} {s}" for s in STATUSES if line.statuses.get(s))
        role = line.role_text(now, down_after)
        out.append(
            f"{line.director_id:<24} {role:<18} {age:<14} {line.devices:>7}  {statuses or '-'}"
        )
        out.extend(_standby_lines(line, now, down_after))
    return "\n".join(out) + "\n"


def _standby_lines(line: FleetLine, now: dt.datetime, down_after: float) -> list[str]:
    """Under a director id, one line per following standby: how far behind it is."""
    out = []
    for m in line.members:
        if m.role is not Role.STANDBY or m.behind is None or is_down(m, now, down_after):
            continue
        held = "" if m.state_at is None else f", state of {m.state_at:%H:%M:%S.%f}"[:-3]
        out.append(f"  standby {m.member}: {m.behind:.1f}s behind{held}")
    return out
