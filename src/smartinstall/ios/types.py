"""Typed arguments of the command language.

Each type knows how it is shown in `?` help (its label, as IOS prints it: `WORD`,
`<1-4094>`, `A.B.C.D`, `hh:mm` …), how to parse one token into a value, and how far a
token can be read before it certainly fails (`partial`), which places the error caret
where IOS places it and decides which arguments a half-typed word may still become.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass


class ArgError(ValueError):
    """A token is not a valid value of an argument type."""


class ArgType:
    """Base of argument types; subclasses override `parse` and usually `partial`."""

    label: str = "WORD"
    #: consumes the rest of the line (spaces included) instead of one token
    greedy: bool = False

    def parse(self, token: str) -> object:
        raise NotImplementedError

    def partial(self, token: str) -> int:
        """Number of leading characters of `token` that can begin a valid value."""
        try:
            self.parse(token)
        except ArgError:
            return 0
        return len(token)

    def continues(self, token: str) -> bool:
        """True when the value goes on in the next token (`1-3, 4`)."""
        del token
        return False

    def parts(self) -> Sequence[tuple[ArgType, str]] | None:
        """For values written as several tokens (a date): each part's type and help."""
        return None

    def combine(self, values: Sequence[object]) -> object:
        """Build the value of a multi-part argument from its parts' values."""
        return tuple(values)


class Word(ArgType):
    """Any single word, optionally restricted by a regular expression and a length."""

    def __init__(self, label: str = "WORD", pattern: str | None = None, max_len: int = 255) -> None:
        self.label = label
        self._pattern = re.compile(pattern) if pattern else None
        self.max_len = max_len

    def parse(self, token: str) -> object:
        if not token or len(token) > self.max_len:
            raise ArgError("bad length")
        if self._pattern is not None and not self._pattern.fullmatch(token):
            raise ArgError("bad word")
        return token

    def partial(self, token: str) -> int:
        if self._pattern is None:
            return min(len(token), self.max_len)
        for end in range(len(token), 0, -1):
            if self._pattern.fullmatch(token[:end]):
                return end
        return 0


class Number(ArgType):
    """A decimal integer in [low, high], shown as `<low-high>`."""

    def __init__(self, low: int, high: int) -> None:
        if low > high or low < 0:
            raise ValueError("bad number range")
        self.low = low
        self.high = high
        self.label = f"<{low}-{high}>"

    def parse(self, token: str) -> object:
        if not token.isascii() or not token.isdigit() or len(token) > len(str(self.high)) + 2:
            raise ArgError("not a number")
        value = int(token)
        if not self.low <= value <= self.high:
            raise ArgError("out of range")
        return value

    def partial(self, token: str) -> int:
        count = 0
        for index, char in enumerate(token):
            if not ("0" <= char <= "9") or int(token[: index + 1]) > self.high:
                break
            count = index + 1
        return count


def _octets_partial(token: str, count: int) -> int:
    """How far `token` reads as the start of `count` dotted decimal octets."""
    fields = token.split(".")
    used = 0
    for position, field in enumerate(fields):
        if position >= count:
            return used
        digits = 0
        for char in field:
            if not ("0" <= char <= "9") or digits >= 3 or int(field[: digits + 1]) > 255:
                return used + digits
            digits += 1
        used += digits
        if position < len(fields) - 1:
            if position == count - 1 or digits == 0:
                return used
            used += 1  # the dot
    return used


def parse_ipv4(token: str) -> str:
    fields = token.split(".")
    if len(fields) != 4:
        raise ArgError("not an IPv4 address")
    for field in fields:
        if not field.isascii() or not field.isdigit() or len(field) > 3 or int(field) > 255:
            raise ArgError("not an IPv4 address")
    return ".".join(str(int(field)) for field in fields)


class IPv4(ArgType):
    """A dotted-quad IPv4 address (`A.B.C.D`); the value is the canonical string."""

    label = "A.B.C.D"

    def parse(self, token: str) -> object:
        return parse_ipv4(token)

    def partial(self, token: str) -> int:
        return _octets_partial(token, 4)


class Mask(ArgType):
    """A network mask as `A.B.C.D` (contiguous) or `/nn`; the value is the prefix length."""

    label = "/nn or A.B.C.D"

    def parse(self, token: str) -> object:
        if token.startswith("/"):
            digits = token[1:]
            if not digits.isascii() or not digits.isdigit() or len(digits) > 2:
                raise ArgError("bad prefix")
            value = int(digits)
            if value > 32:
                raise ArgError("bad prefix")
            return value
        address = parse_ipv4(token)
        bits = 0
        for field in address.split("."):
            bits = (bits << 8) | int(field)
        inverted = (~bits) & 0xFFFFFFFF
        if inverted & (inverted + 1):
            raise ArgError("mask is not contiguous")
        return 32 - inverted.bit_length()

    def partial(self, token: str) -> int:
        if token.startswith("/"):
            return 1 + Number(0, 32).partial(token[1:])
        return _octets_partial(token, 4)


_MAC_FORMS = (
    re.compile(
        r"([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]"
        r"([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})"
    ),
    re.compile(r"([0-9a-f]{4})\.([0-9a-f]{4})\.([0-9a-f]{4})"),
    re.compile(r"([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})"),
    re.compile(r"([0-9a-f]{12})"),
)


def parse_mac(token: str) -> str:
    """`00:1B:54:44:C6:00`, `001b.5444.c600`, `001B-5444-C600` → `001b.5444.c600`."""
    lowered = token.lower()
    if any(separator in lowered for separator in ":-") and lowered.count(":") not in (0, 5):
        raise ArgError("not a MAC address")
    for form in _MAC_FORMS:
        found = form.fullmatch(lowered)
        if found:
            digits = "".join(found.groups())
            return f"{digits[0:4]}.{digits[4:8]}.{digits[8:12]}"
    raise ArgError("not a MAC address")


class MacAddress(ArgType):
    """A MAC address in any of the usual spellings; the value is Cisco's `hhhh.hhhh.hhhh`."""

    label = "H.H.H"

    def parse(self, token: str) -> object:
        return parse_mac(token)

    def partial(self, token: str) -> int:
        count = 0
        for char in token.lower():
            if char not in "0123456789abcdef:.-":
                break
            count += 1
        return min(count, 17)


_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S*")


class Url(ArgType):
    """A file location `scheme:path` (`flash:x.tar`, `tftp://10.0.0.1/x.tar`)."""

    def __init__(self, label: str = "WORD", max_len: int = 1024) -> None:
        self.label = label
        self.max_len = max_len

    def parse(self, token: str) -> object:
        if len(token) > self.max_len or not _URL.fullmatch(token):
            raise ArgError("not a URL")
        return token

    def partial(self, token: str) -> int:
        if _URL.fullmatch(token):
            return len(token)
        found = re.match(r"[A-Za-z][A-Za-z0-9+.-]*:?", token)
        return found.end() if found else 0


class TimeOfDay(ArgType):
    """`hh:mm` from 00:00 to 23:59 (`6:30` and `06:30` alike); value: datetime.time."""

    label = "hh:mm"

    def parse(self, token: str) -> object:
        found = re.fullmatch(r"([0-9]{1,2}):([0-9]{2})", token)
        if not found:
            raise ArgError("not hh:mm")
        hour, minute = int(found.group(1)), int(found.group(2))
        if hour > 23 or minute > 59:
            raise ArgError("not a time of day")
        return datetime.time(hour, minute)

    def partial(self, token: str) -> int:
        for end in range(len(token), 0, -1):
            head = token[:end]
            for tail in ("", "0", ":00", "0:00", ":0"):
                try:
                    self.parse(head + tail)
                except ArgError:
                    continue
                return end
        return 0


MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)


class Month(ArgType):
    """A month name: three letters or more of its English name, any case."""

    label = "MONTH"

    def parse(self, token: str) -> object:
        lowered = token.lower()
        if len(lowered) >= 3:
            for number, name in enumerate(MONTHS, start=1):
                if name.startswith(lowered):
                    return number
        raise ArgError("not a month")

    def partial(self, token: str) -> int:
        lowered = token.lower()
        best = 0
        for name in MONTHS:
            common = 0
            while common < min(len(lowered), len(name)) and lowered[common] == name[common]:
                common += 1
            best = max(best, common)
        return best


class Date(ArgType):
    """A calendar date written as three tokens `DD MONTH YYYY` (`04 Jul 2009`)."""

    label = "<1-31>"

    def __init__(self, first_year: int = 2000, last_year: int = 2099) -> None:
        self._parts: tuple[tuple[ArgType, str], ...] = (
            (Number(1, 31), "Day of the month"),
            (Month(), "Month of the year"),
            (Number(first_year, last_year), "Year"),
        )

    def parse(self, token: str) -> object:
        raise ArgError("a date is three tokens")

    def parts(self) -> Sequence[tuple[ArgType, str]]:
        return self._parts

    def combine(self, values: Sequence[object]) -> object:
        day, month, year = values
        assert isinstance(day, int) and isinstance(month, int) and isinstance(year, int)
        try:
            return datetime.date(year, month, day)
        except ValueError as error:
            raise ArgError("no such date") from error


def parse_ranges(text: str, low: int, high: int) -> tuple[int, ...]:
    """`1,3-5,7` (spaces after commas allowed) → sorted distinct values in [low, high]."""
    items = [item.strip() for item in text.split(",")]
    if not items or len(items) > 4096:
        raise ArgError("empty list")
    spans: list[tuple[int, int]] = []
    for item in items:
        found = re.fullmatch(r"([0-9]{1,5})(?:-([0-9]{1,5}))?", item)
        if not found:
            raise ArgError("bad list item")
        first = int(found.group(1))
        last = int(found.group(2)) if found.group(2) else first
        if first > last or first < low or last > high:
            raise ArgError("bad range")
        spans.append((first, last))
    # merge the spans first, so overlapping ranges cost nothing: the work is bounded by
    # the number of distinct values, never by how often the user repeats a range
    values: list[int] = []
    upto = low - 1
    for first, last in sorted(spans):
        start = max(first, upto + 1)
        if start <= last:
            values.extend(range(start, last + 1))
            upto = last
    return tuple(values)


class RangeList(ArgType):
    """A list of numbers and ranges such as `1,3-5,7` or `1-3, 4` (value: sorted tuple)."""

    def __init__(self, low: int, high: int, label: str = "WORD") -> None:
        self.low = low
        self.high = high
        self.label = label

    def parse(self, token: str) -> object:
        return parse_ranges(token, self.low, self.high)

    def continues(self, token: str) -> bool:
        return token.endswith(",")

    def partial(self, token: str) -> int:
        count = 0
        for char in token:
            if char not in "0123456789,- ":
                break
            count += 1
        return count


class VlanRange(RangeList):
    """VLAN identifiers 1-4094 as a range list (`1,10-20`)."""

    def __init__(self, label: str = "WORD") -> None:
        super().__init__(1, 4094, label)


class IndexList(RangeList):
    """Client index numbers as a range list (`1,3-5,7`, `1-3, 4`)."""

    def __init__(self, high: int = 65535, label: str = "WORD") -> None:
        super().__init__(1, high, label)


class Line(ArgType):
    """The rest of the line, spaces included."""

    label = "LINE"
    greedy = True

    def __init__(self, label: str = "LINE", max_len: int = 4096) -> None:
        self.label = label
        self.max_len = max_len

    def parse(self, token: str) -> object:
        if not token or len(token) > self.max_len:
            raise ArgError("bad line")
        return token

    def partial(self, token: str) -> int:
        return min(len(token), self.max_len)


class Suggested(Word):
    """A word whose ``?`` help also lists the values that exist now (from a callable)."""

    def __init__(
        self, suggestions: Callable[[], Sequence[tuple[str, str]]], label: str = "WORD"
    ) -> None:
        super().__init__(label)
        self._suggestions = suggestions

    def suggestions(self) -> Sequence[tuple[str, str]]:
        return self._suggestions()


@dataclass(frozen=True)
class Arg:
    """An argument declaration: its type and its `?` help text."""

    type: ArgType
    help: str
