"""The rows of one director in a shared database: counting, claiming and renaming them.

Every table's key begins with ``director_id`` (:mod:`smartinstall.store.models`). A database
written before directors had ids holds the rows of one director with an empty id; the first
director that opens it with :func:`claim_unowned` takes them. A director whose id changed
moves its rows with :func:`rename`, deliberately (``--rename-director-id``). Stack members and
neighbours follow their device (``ON UPDATE CASCADE``).
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Engine, Table, func, select, text, update
from sqlalchemy.engine import URL

from smartinstall.store.database import DatabaseError, sqlite_path
from smartinstall.store.identity import read_id
from smartinstall.store.models import (
    BackupRow,
    DeviceRow,
    DownloadRow,
    PendingBackupRow,
    ReplacementRow,
    StateRow,
)

log = logging.getLogger(__name__)

UNOWNED = ""  # the id of rows written before directors had ids

# the tables that hold a director's records (stack members and neighbours follow devices)
OWNED: tuple[Table, ...] = tuple(
    row.__table__  # type: ignore[misc]
    for row in (DeviceRow, DownloadRow, BackupRow, PendingBackupRow, ReplacementRow, StateRow)
)


class OwnershipError(Exception):
    """Rows cannot be moved to a director id (it has rows of its own)."""


class FencedError(Exception):
    """A commit of a member whose fencing token is no longer the current one."""


def count_rows(conn: Connection, director_id: str) -> int:
    """How many records the director has (devices, downloads, backups …)."""
    total = 0
    for table in OWNED:
        query = select(func.count()).select_from(table).where(table.c.director_id == director_id)
        total += int(conn.execute(query).scalar_one())
    return total


def director_ids(conn: Connection) -> list[str]:
    """Every director id that has rows, sorted."""
    found: set[str] = set()
    for table in OWNED:
        found.update(conn.execute(select(table.c.director_id).distinct()).scalars())
    return sorted(found)


def rename(conn: Connection, old: str, new: str) -> int:
    """Move the records of ``old`` to ``new`` (which must have none); rows moved."""
    if old == new:
        return 0
    if count_rows(conn, new):
        raise OwnershipError(f"director id {new} already has records in this database")
    moved = 0
    for table in OWNED:
        result = conn.execute(
            update(table).where(table.c.director_id == old).values(director_id=new)
        )
        moved += result.rowcount or 0
    return moved


def claim_unowned(conn: Connection, director_id: str) -> int:
    """Take the rows of a database from before director ids, when this director has none of
    its own yet; rows taken."""
    if director_id == UNOWNED or not count_rows(conn, UNOWNED) or count_rows(conn, director_id):
        return 0
    return rename(conn, UNOWNED, director_id)


def claim_for(engine: Engine, director_id: str) -> int:
    """:func:`claim_unowned` in a transaction of its own, logged."""
    with engine.begin() as conn:
        taken = claim_unowned(conn, director_id)
    if taken:
        log.warning(
            "%d records written before director ids now belong to director %s", taken, director_id
        )
    return taken


def rename_in(engine: Engine, old: str, new: str) -> int:
    """:func:`rename` in a transaction of its own; :class:`DatabaseError` when refused."""
    try:
        with engine.begin() as conn:
            return rename(conn, old, new)
    except OwnershipError as error:
        raise DatabaseError(f"cannot move the records of director {old}: {error}") from error


def guess_director_id(url: URL, engine: Engine) -> str:
    """Whose rows a store or reader opened without an id handles: the id in the data directory
    beside a SQLite database, else the only director the database holds (else none: '')."""
    path = sqlite_path(url)
    if path is not None:
        found = read_id(path.parent)
        if found is not None:
            return found
    try:
        with engine.begin() as conn:
            held = director_ids(conn)
    except Exception:  # an empty or unmigrated database has no rows of anyone
        return UNOWNED
    return held[0] if len(held) == 1 else UNOWNED


COMMIT_CHANNEL = "smartinstall_commit"  # NOTIFY payload: "<director id> <commit position>"


def check_fence(conn: Connection, director_id: str, token: int) -> None:
    """In a commit's transaction: the token is still the director's current one, and the
    director's commit position advances (``director_fences.commits``, which the standby
    follows). The row is updated under the token: a takeover raising the token waits for this
    commit, and every commit after the takeover finds the new token and is refused. On
    PostgreSQL the commit is announced (``NOTIFY``, delivered only if the transaction commits)."""
    position = conn.execute(
        text(
            "UPDATE director_fences SET commits = commits + 1, "
            "committed_at = timezone('utc', now()) "
            "WHERE director_id = :id AND token = :token RETURNING commits"
        ),
        {"id": director_id, "token": token},
    ).scalar()
    if position is None:
        current = conn.execute(
            text("SELECT token FROM director_fences WHERE director_id = :id"),
            {"id": director_id},
        ).scalar()
        raise FencedError(
            f"director {director_id}: this member was fenced (token {token}, now {current}); "
            "another member is active"
        )
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": COMMIT_CHANNEL, "payload": f"{director_id} {position}"},
        )
