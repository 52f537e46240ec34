"""Opening the director's store under its director id (the writer thread calls this).

The store loads and writes only the rows of this director's id. A change of id is never
silent: when the data directory ran under another id and the database holds that id's
records, the director refuses to start as an empty director under the new id, in one line
naming both ids, unless told to move the records (``--rename-director-id``). A SQLite
database (one director's own) that holds only another director's records is refused the same
way (its ``director-id`` file was lost or replaced).
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.engine import make_url

from smartinstall.store import ownership
from smartinstall.store.database import DatabaseError, sqlite_path
from smartinstall.store.fleet import application_name, member_name
from smartinstall.store.follow import StateFollower, commit_position
from smartinstall.store.identity import DirectorIdentity, record
from smartinstall.store.sqlstore import SqlStore

log = logging.getLogger(__name__)

RENAME_OPTION = "--rename-director-id"
# the store's connections on PostgreSQL: an unanswered commit fails after 10 s
STORE_TCP = {"keepalives": "1", "keepalives_idle": "5", "keepalives_interval": "2",
             "keepalives_count": "3", "tcp_user_timeout": "10000"}  # fmt: skip


def _refusal(old: str, new: str, count: int) -> str:
    return (
        f"the director id is now {new} but the database holds {count} records of director "
        f"{old}: start once with {RENAME_OPTION} to move them to {new}, or configure "
        f"'vstack director-id {old}' again"
    )


def open_director_store(
    url: str,
    data_dir: Path,
    identity: DirectorIdentity,
    *,
    rename: bool = False,
    fence: int | None = None,
    follower: StateFollower | None = None,
) -> SqlStore:
    """The store of ``identity.director_id`` on ``url`` (blocking: the writer's thread);
    ``fence``: the active member's fencing token, checked by every commit; ``follower``: the
    copy of the state this member kept as the standby (used when it is current)."""
    me = identity.director_id
    store = SqlStore(tagged(url, me), director_id=me, claim=True)
    store.fence = fence
    try:
        moved = _check(store, url, identity, rename)
        record(data_dir, identity)
        if follower is not None:
            _take_over(store, follower, moved or store.claimed > 0)
    except BaseException:
        store.close()
        raise
    log.info("director id %s", me)
    return store


def tagged(url: str, director_id: str) -> str:
    """A PostgreSQL URL whose connections name the director process in ``pg_stat_activity``
    (``application_name``), so that an operator can tell the members' connections apart, and
    whose commits fail in bounded time when the database is cut off (TCP keepalives and
    ``tcp_user_timeout``, unless the URL sets them): a fenced member stops within seconds
    instead of waiting the kernel's TCP timeout on a commit under way."""
    parsed = make_url(url)
    if sqlite_path(url) is not None or parsed.get_backend_name() != "postgresql":
        return url
    wanted = {"application_name": application_name(director_id, member_name()), **STORE_TCP}
    added = {key: value for key, value in wanted.items() if key not in parsed.query}
    if not added:
        return url
    return parsed.update_query_dict(added).render_as_string(hide_password=False)


def _take_over(store: SqlStore, follower: StateFollower, changed: bool) -> None:
    """The standby's copy for :meth:`SqlStore.load`, when it is at the database's commit
    position (read after the token was raised: the former active commits no more)."""
    follower.stop()
    if not follower.started:  # active at once: it never was the standby
        return
    with store.engine.begin() as conn:
        position = commit_position(conn, store.director_id)
    token = store.fence if store.fence is not None else 0
    snapshot = None if changed else follower.take(position, token)
    if snapshot is None:
        log.warning(
            "director %s: the standby's copy (commit %d, token %d) is not the state at commit "
            "%d before token %d: reading the whole state",
            store.director_id,
            follower.position,
            follower.token,
            position,
            token,
        )
        return
    store.prefetched = snapshot
    log.warning(
        "director %s: taking over with the standby's copy of the state (commit %d, "
        "%d devices, %d download rows): nothing read again",
        store.director_id,
        position,
        len(snapshot.devices),
        len(snapshot.downloads),
    )


def _check(store: SqlStore, url: str, identity: DirectorIdentity, rename: bool) -> bool:
    me = identity.director_id
    old = identity.previous if identity.changed else None
    if old is None and sqlite_path(url) is not None and not store.records_of(me):
        with store.engine.begin() as conn:
            others = [d for d in ownership.director_ids(conn) if d not in (me, ownership.UNOWNED)]
        if len(others) == 1:
            old = others[0]
    if old is None:
        return False
    count = store.records_of(old)
    if not count:
        return False
    if not rename:
        raise DatabaseError(_refusal(old, me, count))
    moved = store.rename_director(old)
    log.warning("%d records of director %s moved to director %s", moved, old, me)
    return moved > 0
