"""One inventory across the directors of a shared database (``smartinstall fleet status`` and
``GET /api/v1/fleet``): per director id, its clients by the status of their latest download
and its members' heartbeats. Read-only; the times are the database's own clock on PostgreSQL
(every member writes its heartbeat with it), so hosts' clocks do not matter."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, func, select

from smartinstall.domain.fleet import (
    DOWN_AFTER,
    FleetLine,
    MemberBeat,
    Role,
    is_down,
    overall_status,
)
from smartinstall.store.models import DeviceRow, DownloadRow, MemberRow

DEVICES = DeviceRow.__table__
DOWNLOADS = DownloadRow.__table__
MEMBERS = MemberRow.__table__


def database_now(engine: Engine) -> dt.datetime:
    """The database's UTC time (PostgreSQL), else this host's."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            value = conn.execute(select(func.timezone("utc", func.now()))).scalar_one()
        return value.replace(tzinfo=dt.UTC)  # type: ignore[no-any-return]
    return dt.datetime.now(dt.UTC)


def read_fleet(engine: Engine) -> list[FleetLine]:
    """Every director id with clients or members, sorted by id."""
    devices: dict[str, int] = {}
    statuses: dict[str, dict[str, int]] = {}
    members: dict[str, list[MemberBeat]] = {}
    with engine.begin() as conn:
        query = (
            select(DEVICES.c.director_id, func.count())
            .where(DEVICES.c.is_director.is_(False))
            .group_by(DEVICES.c.director_id)
        )
        for director_id, count in conn.execute(query):
            devices[director_id] = int(count)
        latest = (
            select(DOWNLOADS.c.director_id, DOWNLOADS.c.mac, func.max(DOWNLOADS.c.id).label("id"))
            .group_by(DOWNLOADS.c.director_id, DOWNLOADS.c.mac)
            .subquery()
        )
        rows = select(
            DOWNLOADS.c.director_id,
            DOWNLOADS.c.image_status,
            DOWNLOADS.c.config_status,
            DOWNLOADS.c.script_status,
        ).join(
            latest,
            (DOWNLOADS.c.director_id == latest.c.director_id) & (DOWNLOADS.c.id == latest.c.id),
        )
        for director_id, image, config, script in conn.execute(rows):
            word = overall_status(image, config, script)
            counts = statuses.setdefault(director_id, {})
            counts[word] = counts.get(word, 0) + 1
        for row in conn.execute(select(MEMBERS).order_by(MEMBERS.c.member)):
            members.setdefault(row.director_id, []).append(
                MemberBeat(
                    row.director_id,
                    row.member,
                    Role(row.role),
                    row.address,
                    row.heartbeat_at,
                    row.fence,
                    row.state_at,
                    row.behind,
                )
            )
    ids = sorted(set(devices) | set(statuses) | set(members))
    return [
        FleetLine(i, devices.get(i, 0), statuses.get(i, {}), tuple(members.get(i, ()))) for i in ids
    ]


def fleet_json(
    lines: list[FleetLine], now: dt.datetime, down_after: float = DOWN_AFTER
) -> list[dict[str, object]]:
    """The inventory as the REST API and ``fleet status --json`` give it."""
    return [
        {
            "director_id": line.director_id,
            "role": line.role_text(now, down_after),
            "last_contact": None if line.last_contact() is None else str(line.last_contact()),
            "devices": line.devices,
            "statuses": dict(line.statuses),
            "members": [
                {
                    "member": m.member,
                    "role": m.role.value,
                    "address": m.address,
                    "fence": m.fence,
                    "heartbeat_at": m.heartbeat_at.isoformat(),
                    "down": is_down(m, now, down_after),
                    # a standby: when the state it holds was committed, seconds behind
                    "state_at": None if m.state_at is None else m.state_at.isoformat(),
                    "behind": m.behind,
                }
                for m in line.members
            ],
        }
        for line in lines
    ]
