"""A log that says a repeated message once with a count, not thousands of times.

:class:`RepeatFilter` on a handler lets the first of identical records (same logger, level and
text) through, holds back the repeats for ``window`` seconds, and lets the next one through
after the window with ``(repeated N times in the last W s)`` — its traceback too, once again.
A flood of the same failure (a full disk, an unreachable server) cannot bury the log.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

WINDOW = 60.0
KEYS = 1000  # distinct messages remembered


@dataclass
class _Seen:
    since: float
    held: int = 0


class RepeatFilter(logging.Filter):
    """Holds back repeats of records at ``level`` and up; other records pass. One filter per
    handler (a filter shared by two handlers would take the second's copy for a repeat)."""

    def __init__(
        self,
        window: float = WINDOW,
        keys: int = KEYS,
        clock: Callable[[], float] = time.monotonic,
        level: int = logging.WARNING,
    ) -> None:
        super().__init__()
        self.level = level
        self.window = window
        self.keys = keys
        self._clock = clock
        self._seen: OrderedDict[tuple[str, int, str], _Seen] = OrderedDict()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < self.level:
            return True
        try:
            text = record.getMessage()
        except Exception:  # a broken record is the handler's to report
            return True
        key = (record.name, record.levelno, text)
        now = self._clock()
        seen = self._seen.get(key)
        if seen is None:
            self._seen[key] = _Seen(now)
            if len(self._seen) > self.keys:
                self._seen.popitem(last=False)
            return True
        self._seen.move_to_end(key)
        if now - seen.since < self.window:
            seen.held += 1
            return False
        if seen.held:
            record.msg = f"{text} (repeated {seen.held} times in the last {self.window:g} s)"
            record.args = None
        seen.since = now
        seen.held = 0
        return True
