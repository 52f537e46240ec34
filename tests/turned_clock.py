"""A clock the test turns: timers on it fire when it is advanced, never because seconds passed
(a switch's ``reload in hh:mm``: ``switch.reload_timer = TurnedClock()``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Scheduled:
    due: float
    callback: Callable[[], None]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


class TurnedClock:
    """A timer factory (``clock(delay, callback)``) on a clock that stands still until
    :meth:`advance` turns it."""

    def __init__(self) -> None:
        self.now = 0.0
        self._timers: list[Scheduled] = []

    def __call__(self, delay: float, callback: Callable[[], None]) -> Scheduled:
        timer = Scheduled(self.now + delay, callback)
        self._timers.append(timer)
        return timer

    @property
    def waiting(self) -> list[float]:
        """Seconds until each timer still to fire, soonest first."""
        return sorted(t.due - self.now for t in self._timers if not t.cancelled)

    def advance(self, seconds: float) -> int:
        """Turn the clock; the timers now due fire in order. How many fired."""
        self.now += seconds
        due = sorted(
            (t for t in self._timers if not t.cancelled and t.due <= self.now), key=lambda t: t.due
        )
        for timer in due:
            self._timers.remove(timer)
            timer.callback()
        return len(due)
