"""How late the event loop runs: the director's own measure of a blocked loop.

A timer asks to wake every ``interval`` seconds and records how much later than asked it
woke. A loop that never blocks wakes within a fraction of a millisecond; SQL, fsync or a long
computation on the loop shows here at once. Samples go to fixed buckets (no growth with time)
and to a window of the most recent ones, so ``show vstack internal`` gives both the whole run's
percentiles and the last minute's.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections import deque
from dataclasses import dataclass

INTERVAL = 0.05  # seconds between samples
RECENT = 1200  # samples kept for the recent window (one minute at 50 ms)
# bucket upper bounds in milliseconds: 0.1 ms steps to 5 ms, then coarser up to 10 s
_BOUNDS = (
    [round(0.1 * i, 1) for i in range(1, 51)]
    + [float(b) for b in range(6, 21)]
    + [25.0, 30.0, 40.0, 50.0, 75.0, 100.0, 150.0, 200.0, 300.0, 500.0, 750.0]
    + [1000.0, 2000.0, 5000.0, 10000.0, float("inf")]
)


@dataclass(frozen=True)
class LagSummary:
    samples: int
    p50_ms: float
    p99_ms: float
    max_ms: float

    def render(self) -> str:
        return (
            f"p50 {self.p50_ms:.2f} p99 {self.p99_ms:.2f} max {self.max_ms:.2f} "
            f"samples {self.samples}"
        )


class LoopMonitor:
    """Samples the running loop's lateness; :meth:`start` it on the loop to watch."""

    def __init__(self, interval: float = INTERVAL) -> None:
        self.interval = interval
        self._counts = [0] * len(_BOUNDS)
        self._total = 0
        self._max = 0.0
        self._recent: deque[float] = deque(maxlen=RECENT)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="loop monitor")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            asked = time.monotonic() + self.interval
            await asyncio.sleep(self.interval)
            self.record(max(0.0, (time.monotonic() - asked) * 1000.0))

    def record(self, lag_ms: float) -> None:
        self._counts[bisect.bisect_left(_BOUNDS, lag_ms)] += 1
        self._total += 1
        self._max = max(self._max, lag_ms)
        self._recent.append(lag_ms)

    def since_start(self) -> LagSummary:
        return LagSummary(
            self._total, self._bucket_quantile(0.5), self._bucket_quantile(0.99), self._max
        )

    def recent(self) -> LagSummary:
        ordered = sorted(self._recent)
        if not ordered:
            return LagSummary(0, 0.0, 0.0, 0.0)

        def at(q: float) -> float:
            return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

        return LagSummary(len(ordered), at(0.5), at(0.99), ordered[-1])

    def _bucket_quantile(self, q: float) -> float:
        """The upper bound of the bucket holding the q-quantile (the max for the last)."""
        if not self._total:
            return 0.0
        rank = q * self._total
        seen = 0
        for bound, count in zip(_BOUNDS, self._counts, strict=True):
            seen += count
            if seen >= rank and count:
                return min(bound, self._max)
        return self._max
