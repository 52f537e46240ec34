"""Parsers for the small values of the guide's commands.

MAC addresses, ``hh:mm`` times, ``day month year`` dates, index lists (``1,3-5,7``) and VLAN
ranges. Every parser either returns a value or raises :class:`DomainError` with one line that
names the offending token; none raises anything else on any string.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from smartinstall.domain.errors import DomainError

# --- MAC addresses ---------------------------------------------------------------------------

_HEX = set("0123456789abcdef")


def normalize_mac(text: str) -> str:
    """Return the MAC address in IOS form ``xxxx.xxxx.xxxx``.

    Accepts ``00:1B:54:44:C6:00``, ``00-1b-54-44-c6-00``, ``001b.5444.c600``,
    ``001B-5444-C600`` and 12 bare hex digits (the forms of the guide's examples and of
    Linux tools).
    """
    raw = text.strip().lower()
    groups: list[str]
    if re.fullmatch(r"[0-9a-f]{1,2}([:-][0-9a-f]{1,2}){5}", raw):
        groups = [g.zfill(2) for g in re.split(r"[:-]", raw)]
    elif re.fullmatch(r"[0-9a-f]{1,4}([.-][0-9a-f]{1,4}){2}", raw):
        groups = [g.zfill(4) for g in re.split(r"[.-]", raw)]
    elif len(raw) == 12 and set(raw) <= _HEX:
        groups = [raw]
    else:
        raise DomainError(f"% Invalid MAC address: {text.strip() or repr(text)}", text)
    digits = "".join(groups)
    return f"{digits[0:4]}.{digits[4:8]}.{digits[8:12]}"


def mac_bytes(mac: str) -> bytes:
    """The six bytes of a MAC address in any accepted form."""
    return bytes.fromhex(normalize_mac(mac).replace(".", ""))


# --- times and dates -------------------------------------------------------------------------


def parse_hhmm(text: str) -> dt.time:
    """A 24-hour clock time ``hh:mm`` from 00:00 to 23:59 (``6:30`` and ``06:30`` both work)."""
    match = re.fullmatch(r"([0-9]{1,2}):([0-9]{2})", text.strip())
    if not match:
        raise DomainError(f"% Invalid time: {text.strip()} (expected hh:mm)", text)
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours > 23 or minutes > 59:
        raise DomainError(f"% Invalid time: {text.strip()} (range 00:00 to 23:59)", text)
    return dt.time(hours, minutes)


def parse_duration(text: str, maximum: dt.timedelta = dt.timedelta(hours=24)) -> dt.timedelta:
    """A duration ``hh:mm`` greater than zero and at most ``maximum`` (the join-window interval)."""
    match = re.fullmatch(r"([0-9]{1,2}):([0-9]{2})", text.strip())
    if not match:
        raise DomainError(f"% Invalid interval: {text.strip()} (expected hh:mm)", text)
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59:
        raise DomainError(f"% Invalid interval: {text.strip()} (minutes 00 to 59)", text)
    value = dt.timedelta(hours=hours, minutes=minutes)
    if value <= dt.timedelta(0) or value > maximum:
        limit = int(maximum.total_seconds() // 3600)
        raise DomainError(
            f"% Invalid interval: {text.strip()} (more than 00:00, at most {limit:02d}:00)", text
        )
    return value


MONTHS = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip

YEAR_RANGE = (1993, 2035)  # the guide: "year is 1993 to 2035"


def parse_month(text: str) -> int:
    """Month number from a three-letter abbreviation or the full name, any case."""
    word = text.strip().lower()
    for number, name in enumerate(MONTHS, start=1):
        if len(word) >= 3 and name.startswith(word) and (len(word) == 3 or word == name):
            return number
    raise DomainError(f"% Invalid month: {text.strip()}", text)


def parse_date(day: str, month: str, year: str) -> dt.date:
    """A date as the guide writes it: ``04 Jul 2009`` or ``04 july 2009``."""
    # str.strip() removes more than int() ignores (the separators \x1c-\x1f): the numbers
    # are read from the stripped text
    if not re.fullmatch(r"[0-9]{1,2}", day.strip()) or not 1 <= int(day.strip()) <= 31:
        raise DomainError(f"% Invalid day: {day.strip()} (range 1 to 31)", day)
    month_number = parse_month(month)
    if (
        not re.fullmatch(r"[0-9]{4}", year.strip())
        or not YEAR_RANGE[0] <= int(year.strip()) <= YEAR_RANGE[1]
    ):
        raise DomainError(
            f"% Invalid year: {year.strip()} (range {YEAR_RANGE[0]} to {YEAR_RANGE[1]})", year
        )
    try:
        return dt.date(int(year.strip()), month_number, int(day.strip()))
    except ValueError:
        token = f"{day.strip()} {month.strip()}"
        raise DomainError(f"% Invalid date: {token} {year.strip()}", token) from None


def format_date(value: dt.date) -> str:
    """``04 Jul 2009``: the form `show running-config` prints."""
    return f"{value.day:02d} {MONTHS[value.month - 1][:3].capitalize()} {value.year}"


def format_hhmm(value: dt.time | dt.timedelta) -> str:
    if isinstance(value, dt.timedelta):
        minutes = int(value.total_seconds() // 60)
        return f"{minutes // 60:02d}:{minutes % 60:02d}"
    return f"{value.hour:02d}:{value.minute:02d}"


# --- index lists and ranges ------------------------------------------------------------------

MAX_LIST_ITEMS = 4096


def parse_number_list(text: str, low: int, high: int, what: str = "index") -> tuple[int, ...]:
    """An IOS number list such as ``1,3-5,7,9-11`` or ``1-3, 4``: sorted, without repeats.

    Every number must lie in ``low..high``; a range must not run backwards (``5-3``).
    """
    items = [item.strip() for item in text.split(",")]
    if not text.strip() or any(not item for item in items):
        raise DomainError(f"% Invalid {what} list: {text.strip() or repr(text)}", text)
    values: set[int] = set()
    for item in items:
        match = re.fullmatch(r"([0-9]{1,9})\s*(?:-\s*([0-9]{1,9}))?", item)
        if not match:
            raise DomainError(f"% Invalid {what}: {item}", item)
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if last < first:
            raise DomainError(f"% Invalid {what} range: {item} (the end is below the start)", item)
        if first < low or last > high:
            raise DomainError(f"% Invalid {what}: {item} (range {low} to {high})", item)
        if len(values) + (last - first + 1) > MAX_LIST_ITEMS:
            raise DomainError(f"% Too many values in {what} list: {item}", item)
        values.update(range(first, last + 1))
    return tuple(sorted(values))


def parse_index_list(text: str) -> tuple[int, ...]:
    """Director-database indexes, as ``vstack download-image … index 1-3, 4`` takes them."""
    return parse_number_list(text, 0, 65535, "index")


def parse_vlan_range(text: str) -> tuple[int, ...]:
    """VLAN IDs 1 to 4094, as ``vstack vlan 10,20-25`` takes them."""
    return parse_number_list(text, 1, 4094, "VLAN")


def format_number_list(values: tuple[int, ...] | list[int]) -> str:
    """The compact form IOS prints: ``1,3-5,7``."""
    ordered = sorted(set(values))
    parts: list[str] = []
    start = previous = None
    for value in ordered:
        if start is None:
            start = previous = value
        elif previous is not None and value == previous + 1:
            previous = value
        else:
            parts.append(_span(start, previous))
            start = previous = value
    if start is not None:
        parts.append(_span(start, previous))
    return ",".join(parts)


def _span(start: int, end: int | None) -> str:
    return str(start) if end is None or end == start else f"{start}-{end}"


# --- hostnames -------------------------------------------------------------------------------

HOSTNAME_MAX = 63


@dataclass(frozen=True)
class HostnamePrefix:
    """``vstack hostname-prefix``: the prefix and the rule that builds a client's hostname."""

    prefix: str

    def hostname_for(self, mac: str) -> str:
        return prefixed_hostname(self.prefix, mac)


def validate_hostname(text: str) -> str:
    """An IOS hostname: letters, digits, ``-``, ``_`` and ``.``, starting with a letter."""
    name = text.strip()
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9._-]{0,62}", name):
        raise DomainError(f"% Invalid hostname: {name or repr(text)}", text)
    return name


def prefixed_hostname(prefix: str, mac: str) -> str:
    """The hostname the director gives a snooped client: prefix + the MAC's last three bytes.

    The guide's example (``vstack hostname-prefix Cisco`` → ``CISCO-bf.97c0``, section
    "Configuring a Client Hostname Prefix") prints the prefix in capitals, followed by a dash
    and the last three MAC bytes written as ``bb.bbbb``; so do we.
    """
    last = normalize_mac(mac).replace(".", "")[6:]
    name = f"{prefix.upper()}-{last[0:2]}.{last[2:6]}"
    return validate_hostname(name[:HOSTNAME_MAX])
