"""The argument types of the director's configuration commands that the engine's generic types
(`smartinstall.ios.types`) do not cover: the join window's interval, a calendar date whose
impossible days the command names, and a number list kept as text."""

from __future__ import annotations

import re
from collections.abc import Sequence

from smartinstall.domain.errors import DomainError
from smartinstall.domain.joinwindow import MAX_INTERVAL
from smartinstall.domain.values import parse_duration
from smartinstall.ios.types import ArgError, ArgType, Date, RangeList


class Interval(ArgType):
    """The join window's `interval`: hh:mm, more than 00:00 and at most 24:00."""

    label = "hh:mm"

    def parse(self, token: str) -> object:
        try:
            return parse_duration(token, MAX_INTERVAL)
        except DomainError as error:
            raise ArgError(str(error)) from None

    def partial(self, token: str) -> int:
        for end in range(len(token), 0, -1):
            head = token[:end]
            for tail in ("", "0", ":00", "0:00", ":0", "1", ":01", "0:01"):
                try:
                    self.parse(head + tail)
                except ArgError:
                    continue
                return end
        return 0


class CalendarDate(Date):
    """`DD MONTH YYYY`, whose impossible days (`31 Feb 2010`) the command names in its
    message instead of a bare caret: the value is (day, month, year), checked by the join
    window's `start` command."""

    def combine(self, values: Sequence[object]) -> object:
        return tuple(values)


class NumberListText(RangeList):
    """A number list kept as text (`10-12,100`, `1-3, 4`): the command checks the values, so
    a bad one (`5-3`, `5000`) is answered with a message naming it."""

    def __init__(self, label: str = "WORD", max_len: int = 1024) -> None:
        super().__init__(0, 0, label)
        self.max_len = max_len

    def parse(self, token: str) -> object:
        if not token or len(token) > self.max_len or not re.fullmatch(r"[0-9,\- ]+", token):
            raise ArgError("not a number list")
        return token


__all__ = ["CalendarDate", "Interval", "NumberListText"]
