"""A hot standby's copy of its director's committed state (PostgreSQL only).

Every commit of an active member advances its director id's commit position
(``director_fences.commits``, in the same transaction as its fencing-token check) and announces
it with ``NOTIFY smartinstall_commit`` (delivered only once the transaction has committed).
:class:`StateFollower` runs on a thread of its own with two connections of its own (never the
event loop's, never the store writer's): one ``LISTEN``\\ s, the other reads. Woken by a
notification of its director id, or every ``every`` seconds without one (a notification lost
while reconnecting), it reads the commit position; when it moved, it reads the whole state and
the position in one ``REPEATABLE READ`` transaction, so the copy it holds is exactly the state
at that commit. Reads are spaced by at least ``min_gap`` seconds: a busy active member's
commits are followed in batches, and a state that takes long to read is read at most a fifth of
the time.

At takeover, once the new active member has raised the fencing token (after which the former
active cannot commit), :meth:`StateFollower.take` hands over the copy when its position is the
database's: the new active member starts from it without reading the state again. A copy that
is behind (the former active committed after the last read) is not used: the state is read
whole, as by a director that starts. Neither is the copy of a state whose active member does not
advance the position (a member of an older release raised the token: ``counting_token`` is not
the token), since its position says nothing.

The follower also says how far behind it is: 0 while it holds the latest commit it knows of,
else the seconds since the oldest commit it has not read was made (the database's clock), and
when the state it holds was committed. The member's heartbeat carries both
(``smartinstall fleet status``).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import URL

from smartinstall.store.database import CONNECT_TIMEOUT, describe, normalize_url
from smartinstall.store.fleet import KEEPALIVE
from smartinstall.store.ownership import COMMIT_CHANNEL
from smartinstall.store.port import Snapshot
from smartinstall.store.sqlstore import read_snapshot

log = logging.getLogger(__name__)

FOLLOW_SECONDS = 1.0  # at the latest, the standby checks the commit position this often
MIN_GAP = 0.2  # seconds at least between two reads of the whole state
WAIT_SLICE = 0.05  # seconds: how soon a stopped follower notices
READ_SHARE = 0.2  # at most this share of the time goes to reading the state (a big one)
_POSITION = text(
    "SELECT commits, committed_at, "
    "extract(epoch FROM timezone('utc', now()) - committed_at), token = counting_token, token "
    "FROM director_fences WHERE director_id = :id"
)


def commit_position(conn: Connection, director_id: str) -> int:
    """The director id's commit position (0: no commit under a fencing token yet)."""
    found = conn.execute(
        text("SELECT commits FROM director_fences WHERE director_id = :id"), {"id": director_id}
    ).scalar()
    return int(found or 0)


class StateFollower:
    """See the module docstring. :meth:`start` and :meth:`stop` from any thread; the copy is
    read and replaced under a lock."""

    def __init__(
        self,
        database_url: str | URL,
        director_id: str,
        *,
        application_name: str = "",
        every: float = FOLLOW_SECONDS,
        min_gap: float = MIN_GAP,
    ) -> None:
        self.url = normalize_url(database_url)
        self.director_id = director_id
        self.every = every
        self.min_gap = min_gap
        # a partition fails a read in seconds, not at the kernel's TCP timeout
        self._args: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT, **KEEPALIVE}
        if application_name:
            self._args["application_name"] = application_name
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._snapshot: Snapshot | None = None
        self._position = -1  # of the copy held (-1: none yet)
        self._token = 0  # the fencing token when the copy was read
        self._state_at: dt.datetime | None = None  # when that commit was made (UTC)
        self._missing_since: float | None = None  # monotonic: oldest commit not yet read
        self._read_at = 0.0  # monotonic: the last read of the whole state
        self._gap = min_gap  # seconds at least before the next read
        # the active member followed advances the position (one of an older release does
        # not: its copy is never handed over, nor its lag told)
        self._counted = False
        self.reads = 0  # reads of the whole state
        self.notified = 0  # notifications of this director id received

    # --- any thread -----------------------------------------------------------------------

    @property
    def started(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="state-follower", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop following: wait up to ``timeout`` seconds for a read under way (a copy and
        its position are replaced together, so :meth:`take` is right either way)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=timeout)

    @property
    def position(self) -> int:
        with self._lock:
            return self._position

    @property
    def token(self) -> int:
        """The fencing token under which the copy was read."""
        with self._lock:
            return self._token

    def progress(self) -> tuple[dt.datetime | None, float | None]:
        """When the state held was committed, and the seconds it is behind (None: no copy)."""
        with self._lock:
            if self._position < 0 or not self._counted:
                return None, None
            missing = self._missing_since
            behind = 0.0 if missing is None else max(0.0, time.monotonic() - missing)
            return self._state_at, round(behind, 3)

    def take(self, position: int, token: int) -> Snapshot | None:
        """The copy, when it is at ``position`` (the database's, read after this member raised
        the token to ``token``) and was read under the token just before (no other member was
        active between the read and the raise) or under ``token`` itself; None otherwise.
        Handed over once."""
        with self._lock:
            if (
                self._snapshot is None
                or self._position != position
                or self._token not in (token - 1, token)
                or not self._counted
            ):
                return None
            snapshot, self._snapshot = self._snapshot, None
            return snapshot

    # --- the thread -----------------------------------------------------------------------

    def _run(self) -> None:
        engine = create_engine(
            self.url,
            pool_size=1,
            max_overflow=1,
            pool_pre_ping=True,
            connect_args=self._args,
            execution_options={"postgresql_readonly": True},
        )
        listener: Connection | None = None
        try:
            while not self._stop.is_set():
                try:
                    if listener is None:
                        listener = self._listen(engine)
                        self._check(engine, listener, force=True)
                    if self._wait(listener):
                        self._check(engine, listener)
                except Exception as error:
                    log.warning(
                        "director %s standby: following the state: %s",
                        self.director_id,
                        describe(error),
                    )
                    listener = self._drop(listener)
                    self._stop.wait(self.every)
        finally:
            self._drop(listener)
            engine.dispose()

    def _listen(self, engine: Engine) -> Connection:
        conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(text(f"LISTEN {COMMIT_CHANNEL}"))
        return conn

    @staticmethod
    def _drop(conn: Connection | None) -> None:
        if conn is not None:
            try:
                conn.invalidate()
                conn.close()
            except Exception:  # a dead connection may not close cleanly
                log.debug("closing the follower's connection failed", exc_info=True)

    def _wait(self, listener: Connection) -> bool:
        """Until a commit of this director id is announced, or ``every`` seconds. True: check
        the position (always after the timeout: a notification may have been missed)."""
        raw: Any = listener.connection.driver_connection
        mine = False
        deadline = time.monotonic() + self.every
        # in slices, so that stop() (a takeover) never waits for the timeout
        while not mine and not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            for notice in raw.notifies(timeout=min(WAIT_SLICE, remaining), stop_after=1):
                if notice.payload.split(" ", 1)[0] == self.director_id:
                    self.notified += 1
                    mine = True
        if self._stop.is_set():
            return False
        # the first of a burst wakes; the others are read with it after the gap
        pause = self._gap - (time.monotonic() - self._read_at)
        if mine and pause > 0:
            self._stop.wait(pause)
        return not self._stop.is_set()

    def _check(self, engine: Engine, listener: Connection, *, force: bool = False) -> None:
        row = listener.execute(_POSITION, {"id": self.director_id}).first()
        position = int(row[0]) if row is not None else 0
        token = int(row[4]) if row is not None else 0
        with self._lock:
            if (position, token) == (self._position, self._token) and not force:
                return
            if position != self._position and self._missing_since is None:
                age = float(row[2]) if row is not None and row[2] is not None else 0.0
                self._missing_since = time.monotonic() - age
        self._read(engine)

    def _read(self, engine: Engine) -> None:
        started = time.monotonic()
        isolated = engine.connect().execution_options(isolation_level="REPEATABLE READ")
        with isolated as conn, conn.begin():
            row = conn.execute(_POSITION, {"id": self.director_id}).first()
            snapshot = read_snapshot(conn, self.director_id)
        position = int(row[0]) if row is not None else 0
        state_at = row[1] if row is not None else None
        with self._lock:
            self._snapshot = snapshot
            self._position = position
            self._counted = row is None or bool(row[3])
            self._token = int(row[4]) if row is not None else 0
            self._state_at = None if state_at is None else state_at.replace(tzinfo=dt.UTC)
            self._missing_since = None
        self._read_at = time.monotonic()
        self._gap = max(self.min_gap, (self._read_at - started) / READ_SHARE)
        self.reads += 1
        log.debug(
            "director %s standby: state at commit %d (%d devices, %d download rows)",
            self.director_id,
            position,
            len(snapshot.devices),
            len(snapshot.downloads),
        )
