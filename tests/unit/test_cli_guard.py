"""The login guard and the login slots on a clock of their own: attempts judged one at a time
per source and per user name, the known-source lane, the queue bound, and which connection
gives its slot up to a newcomer."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

import pytest

from smartinstall.ios import Engine
from smartinstall.services.cli_auth import CliAccess
from smartinstall.services.cli_guard import THROTTLED, LoginGuard, LoginSlot, LoginSlots


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


def guard_on(clock: Clock, messages: list[tuple[int, str, str]] | None = None) -> LoginGuard:
    return LoginGuard(
        clock=clock,
        sleep=clock.sleep,
        wall=lambda: dt.datetime(2026, 3, 2, 10, 33, 1, tzinfo=dt.UTC),
        on_message=(lambda *m: messages.append(m)) if messages is not None else None,
    )


class Judge:
    """The password check the guard calls: records when each attempt was judged."""

    def __init__(self, clock: Clock, good: str = "right") -> None:
        self.clock = clock
        self.good = good
        self.times: list[float] = []

    def __call__(self, password: str) -> Callable[[], Awaitable[str | None]]:
        async def check() -> str | None:
            self.times.append(self.clock.now)
            return "user" if password == self.good else None

        return check


async def test_parallel_tries_from_one_address_are_judged_one_at_a_time() -> None:
    clock = Clock()
    guard = guard_on(clock)
    make = Judge(clock)
    times = make.times
    results = await asyncio.gather(
        *(guard.attempt("127.0.0.9", "admin", 22, make(f"bad{i}")) for i in range(3))
    )
    assert results == [None, None, None]
    start = times[0]
    assert [t - start for t in times] == [0.0, 1.0, 3.0]  # 1 s, then 2 s after each failure


async def test_rotating_sources_do_not_escape_the_user_name_throttle() -> None:
    clock = Clock()
    guard = guard_on(clock)
    make = Judge(clock)
    times = make.times
    for i in range(5):
        await guard.attempt(f"127.0.1.{i + 1}", "admin", 22, make("bad"))
    start = times[0]
    assert [t - start for t in times] == [0.0, 1.0, 3.0, 7.0, 15.0]
    # another user name from a new address is not slowed down by admin's failures
    before = clock.now
    assert await guard.attempt("127.0.2.1", "oper", 22, make("right")) == "user"
    assert clock.now == before


async def test_a_source_the_user_logged_in_from_keeps_its_own_lane() -> None:
    clock = Clock()
    guard = guard_on(clock)
    make = Judge(clock)
    assert await guard.attempt("127.0.3.1", "admin", 22, make("right")) == "user"
    for i in range(4):
        await guard.attempt(f"127.0.4.{i + 1}", "admin", 22, make("bad"))
    assert guard.delay("127.0.4.9", "admin") > 0  # a new address waits for admin's delay
    assert guard.known("admin", "127.0.3.1") and not guard.known("oper", "127.0.3.1")
    assert guard.delay("127.0.3.1", "admin") == 0
    before = clock.now
    assert await guard.attempt("127.0.3.1", "admin", 22, make("right")) == "user"
    assert clock.now == before
    # the known lane is slowed by its own failures only
    await guard.attempt("127.0.3.1", "admin", 22, make("typo"))
    assert 0 < guard.delay("127.0.3.1", "admin") <= 1.0


async def test_too_many_waiting_for_a_slowed_user_name_are_refused_unjudged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    gate = asyncio.Event()

    async def sleep(seconds: float) -> None:
        await gate.wait()
        clock.now += seconds

    guard = LoginGuard(clock=clock, sleep=sleep)
    make = Judge(clock)
    times = make.times
    await guard.attempt("127.0.5.1", "admin", 22, make("bad"))
    waiting = [
        asyncio.ensure_future(guard.attempt(f"127.0.5.{i + 2}", "admin", 22, make("bad")))
        for i in range(4)
    ]
    await asyncio.sleep(0)
    with caplog.at_level(logging.WARNING):
        refused = await guard.attempt("127.0.5.9", "admin", 22, make("right"))
    assert refused is None and guard.refused == 1 and len(times) == 1
    assert THROTTLED in caplog.text
    gate.set()
    await asyncio.gather(*waiting)
    assert len(times) == 5 and guard.judged == 5


async def test_failures_are_forgotten_after_five_quiet_minutes() -> None:
    clock = Clock()
    guard = guard_on(clock)
    make = Judge(clock)
    await guard.attempt("127.0.6.1", "admin", 22, make("bad"))
    assert guard.delay("127.0.6.2", "admin") > 0
    clock.now += 301
    assert guard.delay("127.0.6.2", "admin") == 0 and guard.delay("127.0.6.1") == 0


async def test_each_failure_is_a_message_for_syslog() -> None:
    clock = Clock()
    messages: list[tuple[int, str, str]] = []
    guard = guard_on(clock, messages)
    make = Judge(clock)
    await guard.attempt("127.0.7.1", "admin\x1b[2J", 2222, make("bad"))
    await guard.attempt("127.0.7.1", "admin", 2222, make("right"))
    (severity, mnemonic, text), success = messages
    assert (severity, mnemonic) == (4, "LOGIN_FAILED")
    assert text == (
        "%SEC_LOGIN-4-LOGIN_FAILED: Login failed [user: admin?[2J] [Source: 127.0.7.1] "
        "[localport: 2222] [Reason: Login Authentication Failed] at 10:33:01 UTC Mon Mar 2 2026"
    )
    assert success[:2] == (5, "LOGIN_SUCCESS")
    assert "%SEC_LOGIN-5-LOGIN_SUCCESS: Login Success [user: admin]" in success[2]


def test_a_full_pool_takes_the_oldest_slot_of_the_source_holding_the_most() -> None:
    clock = Clock()
    closed: list[str] = []
    slots = LoginSlots(clock=clock)

    def take(peer: str, name: str) -> LoginSlot | None:
        clock.now += 1
        return slots.take("SSH", peer, lambda: closed.append(name), size=4)

    take("127.0.8.1", "a1")
    take("127.0.8.1", "a2")
    take("127.0.8.2", "b1")
    take("127.0.8.3", "c1")
    assert take("127.0.8.9", "honest") is not None
    assert closed == ["a1"]  # .1 held two: its oldest goes
    assert take("127.0.8.4", "d1") is not None
    assert closed == ["a1", "a2"]  # all hold one now: the oldest goes
    assert take("127.0.8.4", "d2") is not None
    assert closed[-1] == "d1"  # a newcomer from the same source counts itself in
    assert len(slots) == 4 and slots.evicted == 3


def test_connections_that_said_nothing_go_before_those_logging_in() -> None:
    clock = Clock()
    closed: list[str] = []
    slots = LoginSlots(clock=clock)
    said = {"honest": 0}

    def take(peer: str, name: str) -> LoginSlot | None:
        clock.now += 1
        return slots.take("SSH", peer, lambda: closed.append(name), 3, lambda: said.get(name, 0))

    take("127.0.8.9", "honest")  # the oldest, from a source holding as many as the others
    take("127.0.8.1", "a1")
    take("127.0.8.2", "b1")
    said["honest"] = 1  # its SSH version came in
    assert take("127.0.8.3", "c1") is not None
    assert closed == ["a1"]  # a silent one goes although the honest one is older
    said["honest"] = 2  # it gave a user name
    said["b1"] = 1
    assert take("127.0.8.4", "d1") is not None
    assert closed == ["a1", "c1"]  # still silent ones first, then the one that only spoke
    said.update(c1=1, d1=1)
    assert take("127.0.8.5", "e1") is not None
    assert closed == ["a1", "c1", "b1"]  # the honest one, giving a name, stays
    assert slots.held_by("127.0.8.9") == 1


def test_sources_that_logged_in_before_keep_their_slots() -> None:
    clock = Clock()
    closed: list[str] = []
    slots = LoginSlots(known=lambda peer: peer == "127.0.9.1", clock=clock)
    first = slots.take("SSH", "127.0.9.1", lambda: closed.append("known"), size=2)
    slots.take("SSH", "127.0.9.1", lambda: closed.append("known2"), size=2)
    assert slots.take("telnet", "127.0.9.2", lambda: closed.append("x"), size=2) is None
    assert closed == []
    slots.release(first)
    assert slots.take("telnet", "127.0.9.2", lambda: None, size=2) is not None
    assert slots.held_by("127.0.9.1") == 1 and slots.held_by("127.0.9.2") == 1


def test_login_settings_are_ios_lines() -> None:
    engine = Engine(hostname="D")
    access = CliAccess()
    engine.add(access)
    assert (access.login_timeout, access.login_slots) == (30, 32)
    text = "ip cli login-timeout 5\nip cli login-slots 8\n"
    assert engine.replay(text).ok
    assert (access.login_timeout, access.login_slots) == (5, 8)
    assert "ip cli login-timeout 5" in engine.running_config()
    assert "ip cli login-slots 8" in engine.running_config()
    assert not engine.replay("ip cli login-slots 1\n").ok
    assert engine.replay("no ip cli login-timeout\nno ip cli login-slots\n").ok
    assert (access.login_timeout, access.login_slots) == (30, 32)
