"""Owned background work: every task the director starts has a name and an owner.

A task that fails is logged once with its traceback, counted under its name and kept in a short
list the operator reads in ``show vstack internal``; nothing is swallowed. At shutdown the
supervisor cancels what still runs and waits for it, logging (not hiding) what ends in error.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import traceback
from collections import Counter, deque
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

FAILURES_KEPT = 20


@dataclass(frozen=True)
class TaskFailure:
    name: str
    when: dt.datetime
    error: str  # "ExceptionType: message"
    where: str  # the innermost frame, "file:line in function"


class TaskSupervisor:
    """Starts, tracks and drains the director's background tasks."""

    def __init__(self) -> None:
        self._tasks: dict[asyncio.Task[Any], str] = {}
        self.started: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.failures: deque[TaskFailure] = deque(maxlen=FAILURES_KEPT)
        self._closed = False

    def spawn(self, name: str, coroutine: Coroutine[Any, Any, object]) -> asyncio.Task[Any] | None:
        """Run ``coroutine`` in the background under ``name``. Without a running loop (a
        synchronous test of the core) or after shutdown the coroutine is closed unrun."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            coroutine.close()
            return None
        if self._closed:
            coroutine.close()
            log.debug("background task %s not started: shutting down", name)
            return None
        task = loop.create_task(coroutine, name=name)
        self._tasks[task] = name
        self.started[name] += 1
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        name = self._tasks.pop(task, task.get_name())
        if task.cancelled():
            return
        error = task.exception()
        if error is None:
            return
        self.failed[name] += 1
        frames = traceback.extract_tb(error.__traceback__)
        where = f"{frames[-1].filename}:{frames[-1].lineno} in {frames[-1].name}" if frames else ""
        self.failures.append(
            TaskFailure(name, dt.datetime.now(dt.UTC), f"{type(error).__name__}: {error}", where)
        )
        log.error("background task %s failed", name, exc_info=error)

    @property
    def running(self) -> Counter[str]:
        return Counter(self._tasks.values())

    def __len__(self) -> int:
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait until no background task runs (tests; a task may start another)."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    async def close(self, grace: float = 0.0) -> None:
        """Shutdown: no new task; after ``grace`` seconds, cancel what runs and wait for it."""
        self._closed = True
        if self._tasks and grace > 0:
            await asyncio.wait(list(self._tasks), timeout=grace)
        for task in list(self._tasks):
            task.cancel()
        while self._tasks:
            await asyncio.wait(list(self._tasks))
