"""Values of SNMP SETs, checked: integers, octet strings, DateAndTime, and the join-window
period row (csiJoinWindowPeriodTable, row 1: the one `vstack join-window start …` schedule).
Pure functions; each refusal is a :class:`~smartinstall.services.snmp.SetRefused` naming the
SNMP error and the var-bind it concerns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pysnmp.proto import rfc1902

from smartinstall.domain.errors import DomainError
from smartinstall.domain.joinwindow import Schedule
from smartinstall.services.snmp import SetRefused
from smartinstall.services.snmp_mib import PERIOD_ENTRY, Oid

# csiJoinWindowPeriodEntry columns
START, INTERVAL, RECURRENCE, EXPIRATION, STORAGE, ROW_STATUS = 2, 3, 4, 5, 6, 7
CREATE_AND_GO, DESTROY = 4, 6
ROW = 1  # the director keeps one join-window schedule


def refused(status: str, index: int, reason: str = "") -> SetRefused:
    error = SetRefused(status, reason)
    error.index = index  # type: ignore[attr-defined]
    return error


# a SET's values arrive as the wire's types (pyasn1's), told apart by their tags
INTEGER_TAGS = (rfc1902.Integer32.tagSet, rfc1902.Unsigned32.tagSet)
OCTETS_TAG = rfc1902.OctetString.tagSet


def integer(value: Any, index: int) -> int:
    if getattr(value, "tagSet", None) not in INTEGER_TAGS:
        raise refused("wrongType", index)
    return int(value)


def octets(value: Any, index: int) -> bytes:
    if getattr(value, "tagSet", None) != OCTETS_TAG:
        raise refused("wrongType", index)
    return bytes(value.asOctets())


def date_and_time(value: Any, index: int) -> dt.datetime:
    """DateAndTime (8 or 11 octets; the zone of an 11-octet value is ignored: the join window
    runs on the director's time zone, as `vstack join-window start` does)."""
    raw = octets(value, index)
    if len(raw) not in (8, 11):
        raise refused("wrongLength", index, "DateAndTime is 8 or 11 octets")
    try:
        return dt.datetime(int.from_bytes(raw[:2], "big"), raw[2], raw[3], raw[4], raw[5], raw[6])
    except ValueError:
        raise refused("wrongValue", index, "not a date and time") from None


def period_column(oid: Oid) -> int | None:
    """The column of a csiJoinWindowPeriodTable instance OID, or None for another object."""
    if len(oid) == len(PERIOD_ENTRY) + 2 and oid[: len(PERIOD_ENTRY)] == PERIOD_ENTRY:
        return oid[len(PERIOD_ENTRY)]
    return None


def period_row(
    columns: Mapping[int, tuple[int, Any]], oids: Mapping[int, Oid], current: Schedule | None
) -> Schedule | None:
    """The schedule after SETs of the period row: ``columns`` maps a column to (var-bind
    index, value). createAndGo(4) with the start time (and optionally the interval in minutes,
    the recurrence and the expiration date) makes it; destroy(6) removes it. An active row is
    not modified (the MIB's rule): destroy it first."""
    for column, oid in oids.items():
        index = columns[column][0]
        if oid[-1] != ROW:
            raise refused("noCreation", index, "the director keeps one period, row 1")
        if column not in (START, INTERVAL, RECURRENCE, EXPIRATION, STORAGE, ROW_STATUS):
            raise refused("notWritable", index)
    if ROW_STATUS not in columns:
        index = next(iter(columns.values()))[0]
        raise refused("inconsistentValue", index, "set csiJoinWindowPeriodRowStatus too")
    index, status_value = columns[ROW_STATUS]
    status = integer(status_value, index)
    if status == DESTROY:
        return None
    if status != CREATE_AND_GO:
        raise refused("wrongValue", index, "createAndGo(4) or destroy(6)")
    if current is not None:
        raise refused("inconsistentValue", index, "the period is active: destroy it first")
    if START not in columns:
        raise refused("inconsistentValue", index, "csiJoinWindowPeriodStartTime is needed")
    start = date_and_time(columns[START][1], columns[START][0])
    interval = None
    if INTERVAL in columns:
        minutes = integer(columns[INTERVAL][1], columns[INTERVAL][0])
        interval = dt.timedelta(minutes=minutes) if minutes else None
    recurring = False
    if RECURRENCE in columns:
        pattern = integer(columns[RECURRENCE][1], columns[RECURRENCE][0])
        if pattern not in (1, 2):
            raise refused("wrongValue", columns[RECURRENCE][0], "none(1) or daily(2)")
        recurring = pattern == 2
    end = None
    if EXPIRATION in columns and octets(columns[EXPIRATION][1], columns[EXPIRATION][0]):
        end = date_and_time(columns[EXPIRATION][1], columns[EXPIRATION][0]).date()
    try:
        return Schedule(start.time(), start.date(), interval, end, recurring)
    except DomainError as error:
        raise refused("inconsistentValue", index, str(error)) from None


__all__ = [
    "date_and_time",
    "integer",
    "octets",
    "period_column",
    "period_row",
    "refused",
]
