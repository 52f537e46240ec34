"""A repeated log message is said once, then once per window with its count."""

from __future__ import annotations

import logging

from smartinstall.logrepeat import RepeatFilter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def record(text: str, *args: object, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord("smartinstall.x", level, __file__, 1, text, args or None, None)


def test_repeats_are_held_and_counted() -> None:
    clock = Clock()
    flood = RepeatFilter(window=60, clock=clock)
    assert flood.filter(record("disk full on %s", "/srv"))
    assert not any(flood.filter(record("disk full on %s", "/srv")) for _ in range(999))
    assert flood.filter(record("another failure"))  # a different message passes
    assert flood.filter(record("disk full on %s", "/srv", level=logging.WARNING))  # level
    clock.now += 61
    again = record("disk full on %s", "/srv")
    assert flood.filter(again)
    assert again.getMessage() == "disk full on /srv (repeated 999 times in the last 60 s)"
    clock.now += 61
    quiet = record("disk full on %s", "/srv")
    assert flood.filter(quiet) and quiet.getMessage() == "disk full on /srv"


def test_information_is_never_held() -> None:
    flood = RepeatFilter(clock=Clock())
    assert all(flood.filter(record("configuration reloaded", level=logging.INFO)) for _ in range(5))


def test_memory_is_bounded() -> None:
    flood = RepeatFilter(keys=10, clock=Clock())
    for n in range(100):
        assert flood.filter(record(f"message {n}"))
    assert len(flood._seen) == 10
