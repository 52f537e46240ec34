"""A director process as a member of a fleet on PostgreSQL: heartbeat, active lock, fencing.

:class:`FleetMember` runs on a thread of its own with one dedicated connection (never the
event loop's, never the store writer's). Every ``interval`` seconds it writes the member's
heartbeat row (``director_members``) with the database's clock. To become the active member of
its director id it takes a session-level advisory lock (``pg_try_advisory_lock``) on that
connection and raises the id's fencing token (``director_fences``) in one transaction; the
store then checks that token in every commit (:attr:`SqlStore.fence`), so a former active that
lost its lock never writes again. The lock lasts as long as the connection: when the process
dies, or the server ends the connection (``pg_terminate_backend``, TCP keepalives after a
partition), the lock is free and the standby takes it.

A member that is active and cannot beat — the connection broken, or no beat for ``lost_after``
seconds — is *fenced*: it is told (``on_fenced``) and must stop serving.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from smartinstall.domain.fleet import HEARTBEAT_SECONDS
from smartinstall.store.database import CONNECT_TIMEOUT, describe, normalize_url, upgrade

if TYPE_CHECKING:
    from smartinstall.store.follow import StateFollower

log = logging.getLogger(__name__)

LOCK_CLASS = 4786  # the first key of the advisory lock: the Smart Install port
LOST_AFTER = 3.0  # seconds without a successful beat after which an active member is fenced
# the server notices a vanished client within a few seconds, and so does the client
KEEPALIVE = {"keepalives": 1, "keepalives_idle": 1, "keepalives_interval": 1,
             "keepalives_count": 2, "tcp_user_timeout": 2500}  # fmt: skip
SERVER_KEEPALIVE = (
    "SET tcp_keepalives_idle = 1",
    "SET tcp_keepalives_interval = 1",
    "SET tcp_keepalives_count = 2",
    "SET tcp_user_timeout = 2500",
    "SET statement_timeout = 2500",
)


class FleetError(Exception):
    """The member cannot run: the database is not PostgreSQL, or the id is active elsewhere."""


def member_name() -> str:
    """This process among the fleet: host name and process id."""
    import os

    return f"{socket.gethostname()}:{os.getpid()}"[:128]


def application_name(director_id: str, member: str) -> str:
    """What ``pg_stat_activity`` shows for every connection of a director process."""
    return f"smartinstall {director_id} {member}"[:63]


@dataclass(frozen=True)
class Takeover:
    token: int
    previous_holder: str
    # seconds to wait before serving: a former active that may still be alive (partitioned,
    # not dead) fences itself within LOST_AFTER of its last beat
    settle: float = 0.0


class FleetMember:
    """See the module docstring. Callbacks run on the member's thread: hand them to a loop
    with ``call_soon_threadsafe``."""

    def __init__(
        self,
        database_url: str | URL,
        director_id: str,
        *,
        member: str | None = None,
        address: str = "",
        wait_for_lock: bool = True,
        interval: float = HEARTBEAT_SECONDS,
        on_active: Callable[[Takeover], None] | None = None,
        on_fenced: Callable[[str], None] | None = None,
        on_refused: Callable[[str], None] | None = None,
        on_unreachable: Callable[[str], None] | None = None,
    ) -> None:
        self.url = normalize_url(database_url)
        if self.url.get_backend_name() != "postgresql":
            raise FleetError("a fleet of directors needs a PostgreSQL database (--database)")
        self.director_id = director_id
        self.member = member or member_name()
        self.address = address
        self.wait_for_lock = wait_for_lock
        self.interval = interval
        self.on_active = on_active
        self.on_fenced = on_fenced
        self.on_refused = on_refused
        # told when a member that does not wait (no standby) cannot reach the database
        self.on_unreachable = on_unreachable
        self._migrated = False
        self.active = False
        self.token = 0
        self.last_beat = time.monotonic()  # of the last successful beat
        self.beats = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._engine: Engine | None = None
        self._conn: Connection | None = None
        self._final_role = "stopped"
        # a standby's copy of the state (smartinstall.store.follow): started when this member
        # first finds the lock held, stopped by the one that takes over
        self.follower: StateFollower | None = None

    # --- life cycle (any thread) ----------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="fleet-member", daemon=True)
        self._thread.start()

    def stop(self, role: str = "stopped") -> None:
        """Leave: the last beat says ``role``, the lock is given back. Blocking."""
        self._final_role = role
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def lost(self, now: float | None = None) -> bool:
        """Active, yet no beat succeeded for ``LOST_AFTER`` seconds (a hung connection)."""
        now = time.monotonic() if now is None else now
        return self.active and now - self.last_beat > LOST_AFTER

    # --- the thread -----------------------------------------------------------------------

    def _connect(self) -> Connection:
        if self._engine is None:
            args: dict[str, Any] = {
                "connect_timeout": CONNECT_TIMEOUT,
                "application_name": application_name(self.director_id, self.member),
                **KEEPALIVE,
            }
            self._engine = create_engine(self.url, poolclass=NullPool, connect_args=args)
        conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        for statement in SERVER_KEEPALIVE:
            conn.execute(text(statement))
        return conn

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                started = time.monotonic()
                if not self._step():
                    return
                self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))
            self._leave()
        finally:
            self._close()

    def _step(self) -> bool:
        """One beat (and a try for the lock while not active). False: the thread ends."""
        try:
            if self._conn is None:
                self._conn = self._connect()
            if not self._migrated:
                # the member's tables before its first beat (serialized between members)
                assert self._engine is not None
                upgrade(self._engine, director_id=self.director_id)
                self._migrated = True
            if not self.active:
                if self._try_lock(self._conn):
                    return True
                if not self.wait_for_lock:
                    holder = self._holder(self._conn)
                    self._call(self.on_refused, holder)
                    return False
                if self.follower is not None and not self.follower.started:
                    self.follower.start()
            self._beat(self._conn, "active" if self.active else "standby")
            self.last_beat = time.monotonic()
            self.beats += 1
        except Exception as error:
            reason = describe(error)
            self._close()
            if self.active:
                log.error("director %s: lost the database as active member: %s",
                          self.director_id, reason)  # fmt: skip
                self.active = False
                self._call(self.on_fenced, reason)
                return False
            if not self.wait_for_lock:
                self._call(self.on_unreachable, reason)
                return False
            log.warning("director %s standby: database unreachable: %s", self.director_id, reason)
        return True

    def _try_lock(self, conn: Connection) -> bool:
        key = {"cls": LOCK_CLASS, "id": self.director_id}
        got = conn.execute(
            text("SELECT pg_try_advisory_lock(:cls, hashtext(:id))"), key
        ).scalar_one()
        if not got:
            return False
        previous = self._holder(conn)
        # one statement in autocommit: the token rises once the lock is ours
        token = int(
            conn.execute(
                text(
                    "INSERT INTO director_fences (director_id, token, holder, since, "
                    "counting_token) VALUES (:id, 1, :me, timezone('utc', now()), 1) "
                    "ON CONFLICT (director_id) DO UPDATE SET token = director_fences.token + 1, "
                    "holder = :me, since = timezone('utc', now()), "
                    "counting_token = director_fences.token + 1 RETURNING token"
                ),
                {"id": self.director_id, "me": self.member},
            ).scalar_one()
        )
        settle = self._settle(conn, previous)
        self.active = True
        self.token = token
        self._beat(conn, "active")
        self.last_beat = time.monotonic()
        log.warning("director %s: this member (%s) is active, fencing token %d",
                    self.director_id, self.member, token)  # fmt: skip
        self._call(self.on_active, Takeover(token, previous, settle))
        return True

    def _settle(self, conn: Connection, previous: str) -> float:
        """How long the former active (``previous``) may still serve: until LOST_AFTER (and a
        beat) after its last heartbeat, when that was an active one."""
        if not previous or previous == self.member:
            return 0.0
        age = conn.execute(
            text(
                "SELECT extract(epoch FROM timezone('utc', now()) - heartbeat_at) "
                "FROM director_members WHERE director_id = :id AND member = :member "
                "AND role = 'active'"
            ),
            {"id": self.director_id, "member": previous},
        ).scalar()
        if age is None:
            return 0.0
        return max(0.0, LOST_AFTER + self.interval - float(age))

    def _holder(self, conn: Connection) -> str:
        found = conn.execute(
            text("SELECT holder FROM director_fences WHERE director_id = :id"),
            {"id": self.director_id},
        ).scalar()
        return str(found or "")

    def _beat(self, conn: Connection, role: str) -> None:
        state_at, behind = (None, None)
        if role == "standby" and self.follower is not None:
            state_at, behind = self.follower.progress()
        conn.execute(
            text(
                "INSERT INTO director_members (director_id, member, role, address, fence, "
                "started_at, heartbeat_at, state_at, behind) VALUES (:id, :me, :role, "
                ":address, :fence, timezone('utc', now()), timezone('utc', now()), :state_at, "
                ":behind) ON CONFLICT (director_id, member) DO UPDATE SET role = :role, "
                "address = :address, fence = :fence, heartbeat_at = timezone('utc', now()), "
                "state_at = :state_at, behind = :behind"
            ),
            {"id": self.director_id, "me": self.member, "role": role,
             "address": self.address, "fence": self.token if self.active else 0,
             "state_at": None if state_at is None else state_at.replace(tzinfo=None),
             "behind": behind},
        )  # fmt: skip

    def _leave(self) -> None:
        conn = self._conn
        if conn is None:
            return
        try:
            self._beat(conn, self._final_role)
            if self.active:
                conn.execute(
                    text("SELECT pg_advisory_unlock(:cls, hashtext(:id))"),
                    {"cls": LOCK_CLASS, "id": self.director_id},
                )
        except Exception as error:
            log.warning("director %s: leaving the fleet: %s", self.director_id, describe(error))
        self.active = False

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # a dead connection may not close cleanly
                log.debug("closing the fleet connection failed", exc_info=True)
        if self._stop.is_set() and self._engine is not None:
            self._engine.dispose()

    def _call(self, callback: Callable[[Any], None] | None, value: Any) -> None:
        if callback is None:
            return
        try:
            callback(value)
        except Exception:
            log.exception("fleet member callback failed")
