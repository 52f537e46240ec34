"""Owned background work (no failure vanishes) and the loop-lag monitor."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from smartinstall.director.monitor import LoopMonitor
from smartinstall.director.tasks import TaskSupervisor


async def test_a_failing_task_is_logged_once_counted_and_listed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tasks = TaskSupervisor()

    async def broken() -> None:
        raise RuntimeError("repository unreachable")

    async def fine() -> None:
        return None

    with caplog.at_level(logging.ERROR, logger="smartinstall.director.tasks"):
        tasks.spawn("backup", broken())
        tasks.spawn("backup", fine())
        tasks.spawn("publish", fine())
        await tasks.drain()
    assert tasks.started == {"backup": 2, "publish": 1}
    assert tasks.failed == {"backup": 1}
    (failure,) = tasks.failures
    assert failure.name == "backup"
    assert failure.error == "RuntimeError: repository unreachable"
    assert "test_tasks_and_monitor.py" in failure.where and "broken" in failure.where
    errors = [r for r in caplog.records if "background task backup failed" in r.getMessage()]
    assert len(errors) == 1 and errors[0].exc_info is not None  # with its traceback
    assert len(tasks) == 0


async def test_close_cancels_what_runs_and_refuses_new_work() -> None:
    tasks = TaskSupervisor()
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def forever() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()

    tasks.spawn("install", forever())
    await started.wait()
    assert tasks.running == {"install": 1}
    await tasks.close()
    assert cancelled.is_set() and len(tasks) == 0
    assert not tasks.failed  # a cancellation at shutdown is not a failure

    async def late() -> None:
        raise AssertionError("must not run")

    assert tasks.spawn("late", late()) is None


def test_without_a_running_loop_the_coroutine_is_closed_unrun() -> None:
    ran = []

    async def work() -> None:
        ran.append(1)

    coroutine = work()
    assert TaskSupervisor().spawn("x", coroutine) is None
    assert coroutine.cr_frame is None and ran == []  # closed, no "never awaited" warning


def test_lag_percentiles() -> None:
    monitor = LoopMonitor()
    for _ in range(98):
        monitor.record(0.2)
    monitor.record(30.0)
    monitor.record(250.0)
    whole = monitor.since_start()
    assert whole.samples == 100
    assert whole.p50_ms <= 0.3 and 25.0 <= whole.p99_ms <= 30.0 and whole.max_ms == 250.0
    recent = monitor.recent()
    assert (recent.samples, recent.p50_ms, recent.max_ms) == (100, 0.2, 250.0)
    assert "p99" in whole.render() and "samples 100" in whole.render()


async def test_a_blocked_loop_shows_in_the_lag() -> None:
    monitor = LoopMonitor(interval=0.01)
    monitor.start()
    try:
        while monitor.since_start().samples < 3:
            await asyncio.sleep(0.01)
        time.sleep(0.2)  # what SQL or an fsync on the loop would do
        before = monitor.since_start().samples
        while monitor.since_start().samples == before:
            await asyncio.sleep(0.01)
    finally:
        await monitor.stop()
    assert monitor.since_start().max_ms >= 150.0
