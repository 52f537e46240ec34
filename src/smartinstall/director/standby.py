"""The director process as a member of a fleet (PostgreSQL only): heartbeat, and the hot
standby of a director id (docs/scale-out.md).

Every director on PostgreSQL runs a :class:`~smartinstall.store.fleet.FleetMember` on its own
thread: it beats in ``director_members`` (``smartinstall fleet status``) and holds its
director id's advisory lock while active. At start the director becomes active before it loads
anything: a second process with the same id either waits as the standby (``--hot-standby``)
or is refused with one line. While it waits, the standby follows the active member's commits
(:class:`~smartinstall.store.follow.StateFollower`: woken by the commits' ``NOTIFY``, it keeps a
copy of the committed state and says in its heartbeat how far behind it is). It takes over when
the lock comes free (the active process died, or the database ended its connection): it raises
the fencing token, and only then takes the state — its copy when the copy is at the database's
commit position, else read from the database — and starts its services, so every commit of the
former active is in what it starts from and none can follow (the store checks the token in
each commit).

An active member that loses the database (its lock connection broken, or no beat for
``LOST_AFTER`` seconds) is fenced: it stops serving at once and exits non-zero (systemd's
``Restart=`` brings it back as the standby).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from smartinstall.store.database import DatabaseError, create_reader_engine, sqlite_path
from smartinstall.store.fleet import FleetMember, Takeover, application_name
from smartinstall.store.follow import StateFollower
from smartinstall.store.inventory import database_now, fleet_json, read_fleet

log = logging.getLogger(__name__)

WATCH_SECONDS = 0.5  # how often the loop checks that the active member still beats


def wants_fleet(database_url: str) -> bool:
    """A shared (server) database: the director joins the fleet."""
    return sqlite_path(database_url) is None and not database_url.startswith("sqlite")


class Membership:
    """The daemon's side of :class:`FleetMember` (on the loop)."""

    def __init__(
        self,
        database_url: str,
        director_id: str,
        address: str,
        *,
        hot_standby: bool,
        on_fenced: Callable[[str], None],
        interval: float | None = None,
    ) -> None:
        self.director_id = director_id
        self.hot_standby = hot_standby
        self._on_fenced = on_fenced
        self._loop: asyncio.AbstractEventLoop | None = None
        self._active: asyncio.Future[Takeover] | None = None
        self._watch: asyncio.Task[None] | None = None
        self.fenced_reason: str | None = None
        extra = {} if interval is None else {"interval": interval}
        self.member = FleetMember(
            database_url,
            director_id,
            address=address,
            wait_for_lock=hot_standby,
            on_active=self._from_thread(self._became_active),
            on_refused=self._from_thread(self._refused),
            on_fenced=self._from_thread(self._fenced),
            on_unreachable=self._from_thread(self._unreachable),
            **extra,  # type: ignore[arg-type]
        )
        if hot_standby:
            # the standby follows the active member's commits (smartinstall.store.follow)
            self.member.follower = StateFollower(
                database_url,
                director_id,
                application_name=application_name(director_id, self.member.member),
            )

    @property
    def follower(self) -> StateFollower | None:
        """The standby's copy of the state, handed to the store at takeover."""
        return self.member.follower

    @property
    def token(self) -> int:
        return self.member.token

    def _from_thread(self, callback: Callable[[object], None]) -> Callable[[object], None]:
        def call(value: object) -> None:
            loop = self._loop
            if loop is not None and not loop.is_closed():
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(callback, value)

        return call

    def _became_active(self, takeover: object) -> None:
        if self._active is not None and not self._active.done():
            assert isinstance(takeover, Takeover)
            self._active.set_result(takeover)

    def _refused(self, holder: object) -> None:
        if self._active is not None and not self._active.done():
            self._active.set_exception(
                DatabaseError(
                    f"director id {self.director_id} is active on {holder or 'another member'}:"
                    " start this one with --hot-standby to follow it, or give it its own "
                    "vstack director-id"
                )
            )

    def _unreachable(self, reason: object) -> None:
        if self._active is not None and not self._active.done():
            shown = self.member.url.render_as_string(hide_password=True)
            self._active.set_exception(
                DatabaseError(f"cannot open the director database {shown}: {reason}")
            )

    def _fenced(self, reason: object) -> None:
        if self.fenced_reason is not None:
            return
        self.fenced_reason = str(reason)
        if self._active is not None and not self._active.done():
            self._active.set_exception(DatabaseError(f"fenced before becoming active: {reason}"))
            return
        self._on_fenced(self.fenced_reason)

    async def become_active(self, wake: asyncio.Event, stopping: Callable[[], bool]) -> bool:
        """Start beating and wait to be the active member (the standby waits here). False:
        asked to stop meanwhile. Raises :class:`DatabaseError` when refused."""
        loop = self._loop = asyncio.get_running_loop()
        self._active = loop.create_future()
        self.member.start()
        if self.hot_standby:
            log.warning("director %s standby: following the active member", self.director_id)
        while not self._active.done():
            if stopping():
                return False
            waker = asyncio.ensure_future(wake.wait())
            await asyncio.wait((self._active, waker), return_when=asyncio.FIRST_COMPLETED)
            waker.cancel()
            if not self._active.done():
                wake.clear()
        takeover = self._active.result()
        log.warning(
            "director %s active (fencing token %d%s)",
            self.director_id,
            takeover.token,
            f", took over from {takeover.previous_holder}" if takeover.previous_holder else "",
        )
        self._watch = loop.create_task(self._watch_beats(), name="fleet watch")
        if takeover.settle > 0:
            log.warning(
                "director %s: waiting %.1fs for the former active member to stop serving",
                self.director_id,
                takeover.settle,
            )
            await asyncio.sleep(takeover.settle)
        return True

    async def _watch_beats(self) -> None:
        """A hung connection never errors: no beat for ``LOST_AFTER`` seconds fences too."""
        while self.fenced_reason is None:
            await asyncio.sleep(WATCH_SECONDS)
            if self.member.lost():
                self._fenced("no heartbeat reached the database in time")

    async def leave(self) -> None:
        """The last beat (stopped, or fenced), the lock given back."""
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        role = "fenced" if self.fenced_reason is not None else "stopped"
        await asyncio.to_thread(self.member.stop, role)
        if self.member.follower is not None:
            await asyncio.to_thread(self.member.follower.stop)


def _read_inventory(database_url: str) -> list[dict[str, Any]]:
    engine = create_reader_engine(database_url)
    try:
        return fleet_json(read_fleet(engine), database_now(engine))
    finally:
        engine.dispose()


async def fleet_inventory(database_url: str) -> list[dict[str, Any]]:
    """The fleet of the director's database, as ``fleet status --json`` prints it (a SQLite
    database holds one director)."""
    return await asyncio.to_thread(_read_inventory, database_url)
