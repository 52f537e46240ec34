"""Who may try to log in to the director's terminals, and how fast.

Two defences keep an operator able to log in while someone attacks the login:

* `LoginSlots` — connections still logging in (SSH and telnet, before authentication) share a
  pool of ``ip cli login-slots`` (32). A source may use its share and borrow what others leave
  free; when the pool is full, a newcomer takes the slot of a connection that has said nothing
  yet before one that has (an SSH client sends its version at once, a telnet user a name),
  then the oldest connection of the source holding the most slots (sources that logged in
  before go last). Idle connections,
  from one address or from many, therefore never keep a newcomer out, and each connection must
  log in within ``ip cli login-timeout`` seconds (30) anyway. The local console has a pool of
  its own (`TerminalHub`), never this one.
* `LoginGuard` — password attempts are judged one at a time per source and per user name.
  After a failure, the next attempt from the same source, and the next one for the same user
  name from any source, waits 1 s, then 2 s, 4 s … (at most 30 s); a failure is forgotten
  after 5 minutes without another. Rotating source addresses or trying in parallel does not
  help a guesser. A source from which a user logged in within the last 24 hours is judged in
  a lane of its own for that user (only its own failures slow it down), so guesses at
  ``admin`` from elsewhere do not lock ``admin`` out of the workstation they use. While an
  address or user name is being slowed down, at most 4 attempts wait for it; more are refused
  unjudged.

Every judged failure is logged as IOS logs it (``%SEC_LOGIN-4-LOGIN_FAILED``) and handed to
``on_message``, which the director uses to send it to its syslog hosts. Refusals by the pool
or the queue bound are logged once per 10 s with a count, so a flood cannot flood the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_LOGIN_SLOTS = 32
DEFAULT_LOGIN_TIMEOUT = 30
FIRST_DELAY = 1.0
MAX_DELAY = 30.0
FORGET_AFTER = 300.0  # a failure counts for this long after the last one
KNOWN_FOR = 24 * 3600.0  # a source a user logged in from is "known" for this long
KNOWN_PER_USER = 16
MAX_WAITING = 4  # attempts waiting for one source or user name while it is slowed down
MAX_ENTRIES = 4096
SUMMARY_WINDOW = 10.0
AUTH_FAILED = "Login Authentication Failed"
THROTTLED = "Too many login attempts waiting"

#: (severity, mnemonic, text) of a system message for the director's log and syslog hosts
MessageSink = Callable[[int, str, str], None]


def printable(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text[:64])


def ios_time(when: dt.datetime) -> str:
    """``10:33:01 UTC Mon Mar 2 2026``, as IOS ends a login message."""
    when = when.astimezone(dt.UTC)
    return f"{when:%H:%M:%S} UTC {when:%a %b} {when.day} {when.year}"


class Summary:
    """One log line per window for a repeated refusal, with the count of the ones held back."""

    def __init__(self, clock: Callable[[], float], window: float = SUMMARY_WINDOW) -> None:
        self._clock = clock
        self.window = window
        self._since = -window
        self.held = 0
        self.total = 0

    def note(self, text: str) -> str | None:
        """Log ``text`` unless a line was logged within the window; the line logged, if any."""
        self.total += 1
        now = self._clock()
        if now - self._since < self.window:
            self.held += 1
            return None
        more = f" ({self.held} more like it in the last {self.window:.0f} s)" if self.held else ""
        self._since, self.held = now, 0
        log.warning("%s%s", text, more)
        return text + more


@dataclass
class _Backoff:
    count: int = 0
    not_before: float = 0.0
    last: float = 0.0


@dataclass
class _Queue:
    waiting: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class LoginGuard:
    """Slows down wrong passwords per source and per user name (see the module's text)."""

    def __init__(
        self,
        cap: float = MAX_DELAY,
        first: float = FIRST_DELAY,
        max_peers: int = MAX_ENTRIES,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        wall: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        on_message: MessageSink | None = None,
    ) -> None:
        self.cap = cap
        self.first = first
        self.max_peers = max_peers
        self.forget = FORGET_AFTER
        self.clock = clock
        self._sleep = sleep
        self._wall = wall
        self.on_message = on_message
        self._failures: OrderedDict[tuple[str, str], _Backoff] = OrderedDict()
        self._queues: dict[tuple[str, str], _Queue] = {}
        self._known: dict[str, OrderedDict[str, float]] = {}  # user -> source -> last login
        self._throttled = Summary(clock)
        self.judged = 0
        self.refused = 0

    # --- state -------------------------------------------------------------------------------

    def _entry(self, key: tuple[str, str]) -> _Backoff | None:
        entry = self._failures.get(key)
        if entry is not None and self.clock() - entry.last > self.forget:
            del self._failures[key]
            return None
        return entry

    def _pause(self, key: tuple[str, str]) -> float:
        entry = self._entry(key)
        return max(0.0, entry.not_before - self.clock()) if entry is not None else 0.0

    def delay(self, peer: str, user: str | None = None) -> float:
        """How long the next attempt from ``peer`` (for ``user``, if given) would wait."""
        pause = self._pause(("source", peer))
        if user is not None and not self.known(user, peer):
            pause = max(pause, self._pause(("user", user[:64])))
        return pause

    def known(self, user: str, peer: str) -> bool:
        """Did ``user`` log in from ``peer`` within the last 24 hours?"""
        known = self._known.get(user[:64])
        since = known.get(peer) if known is not None else None
        return since is not None and self.clock() - since < KNOWN_FOR

    def known_source(self, peer: str) -> bool:
        """Did anybody log in from ``peer`` within the last 24 hours?"""
        now = self.clock()
        return any(now - s.get(peer, -KNOWN_FOR) < KNOWN_FOR for s in self._known.values())

    def _fail(self, key: tuple[str, str]) -> _Backoff:
        entry = self._entry(key) or _Backoff()
        entry.count += 1
        now = self.clock()
        entry.last = now
        entry.not_before = now + min(self.cap, self.first * 2 ** (entry.count - 1))
        self._failures[key] = entry
        self._failures.move_to_end(key)
        while len(self._failures) > self.max_peers * 2:
            self._failures.popitem(last=False)
        return entry

    # --- attempts ----------------------------------------------------------------------------

    async def attempt(
        self,
        peer: str,
        user: str,
        port: int,
        check: Callable[[], Awaitable[T | None]],
        reason: str = AUTH_FAILED,
    ) -> T | None:
        """Judge one password attempt: wait for this source (and user name, unless the source
        is known for the user) to be free and past its delay, then ``check`` (None: wrong)."""
        name = user[:64]
        keys = [("source", peer)]
        if not self.known(name, peer):
            keys.append(("user", name))
        slowed = [key for key in keys if self._entry(key) is not None]
        if any(key in self._queues and self._queues[key].waiting >= MAX_WAITING for key in slowed):
            self.refused += 1
            line = self._throttled.note(
                f"%SEC_LOGIN-4-LOGIN_FAILED: Login failed [user: {printable(name)}] "
                f"[Source: {peer}] [localport: {port}] [Reason: {THROTTLED}] "
                f"at {ios_time(self._wall())}"
            )
            if line is not None and self.on_message is not None:
                self.on_message(4, "LOGIN_FAILED", line)
            return None
        queues = [self._queues.setdefault(key, _Queue()) for key in keys]
        for queue in queues:
            queue.waiting += 1
        try:
            async with contextlib.AsyncExitStack() as stack:
                for queue in queues:  # always source, then user: no two attempts wait in a ring
                    await stack.enter_async_context(queue.lock)
                while (pause := max(self._pause(key) for key in keys)) > 0:
                    await self._sleep(pause)
                result = await check()
                self.judged += 1
                if result is None:
                    self.failed(peer, name, port, reason, lanes=keys)
                else:
                    self.succeeded(peer, name, port)
                return result
        finally:
            for key, queue in zip(keys, queues, strict=True):
                queue.waiting -= 1
                if queue.waiting == 0 and self._queues.get(key) is queue:
                    del self._queues[key]

    def failed(
        self,
        peer: str,
        user: str,
        port: int,
        reason: str,
        lanes: list[tuple[str, str]] | None = None,
    ) -> None:
        """A wrong password from ``peer`` for ``user``: both wait longer next time, and the
        failure is logged and handed to ``on_message``."""
        name = user[:64]
        if lanes is None:
            lanes = [("source", peer)]
            if not self.known(name, peer):
                lanes.append(("user", name))
        entries = [self._fail(key) for key in lanes]
        source = entries[0]
        pause = max(e.not_before for e in entries) - self.clock()
        who = entries[1].count if len(entries) > 1 else 0
        text = (
            f"%SEC_LOGIN-4-LOGIN_FAILED: Login failed [user: {printable(user)}] [Source: {peer}] "
            f"[localport: {port}] [Reason: {reason}] at {ios_time(self._wall())}"
        )
        log.warning(
            "%s (%d failures from this source, %d for this user name; next attempt in %.0f s)",
            text,
            source.count,
            who,
            pause,
        )
        if self.on_message is not None:
            self.on_message(4, "LOGIN_FAILED", text)

    def succeeded(self, peer: str, user: str, port: int) -> None:
        """A login: the source's failures are cleared and it becomes known for the user (the
        user name's failures stay: another source may still be guessing)."""
        self._failures.pop(("source", peer), None)
        known = self._known.setdefault(user[:64], OrderedDict())
        known[peer] = self.clock()
        known.move_to_end(peer)
        while len(known) > KNOWN_PER_USER:
            known.popitem(last=False)
        if len(self._known) > self.max_peers:
            self._known.pop(next(iter(self._known)))
        text = (
            f"%SEC_LOGIN-5-LOGIN_SUCCESS: Login Success [user: {printable(user)}] "
            f"[Source: {peer}] [localport: {port}] at {ios_time(self._wall())}"
        )
        log.info("%s", text)
        if self.on_message is not None:
            self.on_message(5, "LOGIN_SUCCESS", text)


@dataclass(eq=False)
class LoginSlot:
    """A connection still logging in; ``close`` ends it when a newcomer needs its slot."""

    kind: str
    peer: str
    since: float
    close: Callable[[], None]
    #: how far the connection got: 0 silent, 1 spoke (SSH version, telnet bytes), 2 gave a
    #: user name; asked when a newcomer needs a slot
    progress: Callable[[], int] = lambda: 0


class LoginSlots:
    """The pool of connections still logging in (see the module's text)."""

    def __init__(
        self,
        known: Callable[[str], bool] = lambda peer: False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.known = known
        self.clock = clock
        self.slots: list[LoginSlot] = []
        self._per_source: dict[str, int] = {}
        self._summary = Summary(clock)
        self.evicted = 0

    def __len__(self) -> int:
        return len(self.slots)

    def take(
        self,
        kind: str,
        peer: str,
        close: Callable[[], None],
        size: int,
        progress: Callable[[], int] = lambda: 0,
    ) -> LoginSlot | None:
        """A slot for a new connection from ``peer``, or None when every slot is held by
        connections that rank before it (known sources, when ``peer`` is not)."""
        while len(self.slots) >= size:
            victim = self._victim(peer)
            if victim is None:
                self._summary.note(
                    f"{kind} connection from {peer} refused: all {size} login slots are held "
                    "by sources that logged in before"
                )
                return None
            self._drop(victim)
            self.evicted += 1
            self._summary.note(
                f"{victim.kind} connection from {victim.peer} closed before login: its slot "
                f"went to a newcomer ({size} login slots; the least advanced connections of the "
                "sources holding the most go first)"
            )
            with contextlib.suppress(Exception):
                victim.close()
        slot = LoginSlot(kind, peer, self.clock(), close, progress)
        self.slots.append(slot)
        self._per_source[peer] = self._per_source.get(peer, 0) + 1
        return slot

    def _victim(self, newcomer: str) -> LoginSlot | None:
        def rank(slot: LoginSlot) -> tuple[bool, int, int, float]:
            count = self._per_source[slot.peer] + (1 if slot.peer == newcomer else 0)
            return (not self.known(slot.peer), -slot.progress(), count, -slot.since)

        victim = max(self.slots, key=rank, default=None)
        if victim is None:
            return None
        if self.known(victim.peer) and not self.known(newcomer):
            return None
        return victim

    def _drop(self, slot: LoginSlot) -> bool:
        if slot not in self.slots:
            return False
        self.slots.remove(slot)
        left = self._per_source[slot.peer] - 1
        if left:
            self._per_source[slot.peer] = left
        else:
            del self._per_source[slot.peer]
        return True

    def release(self, slot: LoginSlot | None) -> None:
        """The connection logged in or left (nothing when its slot was already taken)."""
        if slot is not None:
            self._drop(slot)

    def held_by(self, peer: str) -> int:
        return self._per_source.get(peer, 0)
