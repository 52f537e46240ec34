"""SETs and notifications of the director's SNMP agent (director/snmp_bridge.py) on a
stand-in daemon: validation before any change, all or nothing, and the settings changed as
the equivalent configuration commands change them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pysnmp.proto import rfc1902

from smartinstall.director.eventlog import EventLog
from smartinstall.director.snmp_bridge import DirectorSnmpBridge
from smartinstall.director.state import DirectorState
from smartinstall.director.tasks import TaskSupervisor
from smartinstall.ios.director_config import replay_director_config
from smartinstall.services.snmp import SetRefused
from smartinstall.services.snmp_mib import (
    BACKUP_ENABLE,
    BACKUP_HOST_URL,
    JOIN_WINDOW_MODE,
    NOTIF_ENABLE,
    OPERATION_MODE,
    Notification,
)


def bridge() -> tuple[DirectorSnmpBridge, Any]:
    settings = replay_director_config("snmp-server community private RW\n").settings
    changed: list[int] = []
    director = SimpleNamespace(
        is_director=True, settings_changed=lambda: changed.append(1), tasks=TaskSupervisor()
    )
    daemon: Any = SimpleNamespace(
        settings=settings, director=director, state=DirectorState(), events=EventLog(),
        address="127.0.0.1", started_at=dt.datetime.now(dt.UTC),
        options=SimpleNamespace(timezone=dt.UTC),
        data_dir=Path("/dev/null/not-started"),  # the agent is never started here
    )  # fmt: skip
    daemon.changed = changed
    return DirectorSnmpBridge(daemon, 0), daemon


def test_join_window_mode_set_as_the_commands_do() -> None:
    snmp, daemon = bridge()
    for value, closed, auto in ((3, False, False), (1, True, False), (2, False, True)):
        snmp.write([(JOIN_WINDOW_MODE, rfc1902.Integer32(value))], True)
        window = daemon.settings.join_window
        assert (window.closed, window.auto) == (closed, auto)
    assert daemon.changed == [1, 1, 1]
    assert "vstack join-window close" not in daemon.settings.render()


def test_backup_and_notification_objects() -> None:
    snmp, daemon = bridge()
    snmp.write(
        [
            (BACKUP_ENABLE, rfc1902.Integer32(2)),
            (BACKUP_HOST_URL, rfc1902.OctetString(b"tftp://10.0.0.9/backups")),
            (NOTIF_ENABLE, rfc1902.OctetString(b"\xf0")),
        ],
        True,
    )
    lines = daemon.settings.render()
    assert "no vstack backup" in lines
    assert daemon.settings.backup.repository == "tftp://10.0.0.9/backups"
    assert "snmp-server enable traps vstack" in lines


@pytest.mark.parametrize(
    ("oid", "value", "status"),
    [
        (JOIN_WINDOW_MODE, rfc1902.Integer32(9), "wrongValue"),
        (JOIN_WINDOW_MODE, rfc1902.OctetString(b"auto"), "wrongType"),
        (BACKUP_ENABLE, rfc1902.Integer32(0), "wrongValue"),
        (BACKUP_HOST_URL, rfc1902.OctetString(b"\xff\xfe"), "wrongValue"),
        (BACKUP_HOST_URL, rfc1902.OctetString(b"nowhere://x"), "wrongValue"),
        (OPERATION_MODE, rfc1902.Integer32(1), "notWritable"),
        ((1, 3, 6, 1, 2, 1, 1, 5, 0), rfc1902.OctetString(b"x"), "notWritable"),
    ],
)
def test_refused_sets_change_nothing(oid: tuple[int, ...], value: object, status: str) -> None:
    snmp, daemon = bridge()
    before = daemon.settings.render()
    binds = [(JOIN_WINDOW_MODE, rfc1902.Integer32(3)), (oid, value)]
    with pytest.raises(SetRefused) as refused:
        snmp.write(binds, False)
    assert refused.value.status == status
    assert getattr(refused.value, "index", None) == 1
    assert daemon.settings.render() == before and daemon.changed == []


def test_mode_change_is_noticed_once() -> None:
    snmp, _ = bridge()
    sent: list[Notification] = []
    snmp._send = lambda kind, **fields: sent.append(kind)  # type: ignore[method-assign]
    snmp.check_modes()
    assert sent == []
    snmp.write([(JOIN_WINDOW_MODE, rfc1902.Integer32(3))], True)
    snmp.check_modes()
    assert sent == [Notification.OPERATION_MODE_CHANGE]


PERIOD = (1, 3, 6, 1, 4, 1, 9, 9, 725, 1, 1, 8, 3, 1)


def stamp(*fields: int) -> rfc1902.OctetString:
    year, *rest = fields
    return rfc1902.OctetString(year.to_bytes(2, "big") + bytes([*rest, 0, 0][:6]))


def test_join_window_period_created_and_destroyed_by_row_status() -> None:
    snmp, daemon = bridge()
    snmp.write(
        [
            ((*PERIOD, 2, 1), stamp(2030, 1, 2, 8, 30)),
            ((*PERIOD, 3, 1), rfc1902.Unsigned32(90)),
            ((*PERIOD, 4, 1), rfc1902.Integer32(2)),
            ((*PERIOD, 5, 1), stamp(2030, 1, 31, 0, 0)),
            ((*PERIOD, 7, 1), rfc1902.Integer32(4)),  # createAndGo
        ],
        True,
    )
    schedule = daemon.settings.join_window.schedule
    assert schedule is not None
    assert (schedule.start_date, schedule.start_time) == (dt.date(2030, 1, 2), dt.time(8, 30))
    assert schedule.interval == dt.timedelta(minutes=90) and schedule.recurring
    assert schedule.end_date == dt.date(2030, 1, 31)
    assert any(line.startswith("vstack join-window start") for line in daemon.settings.render())
    # an active row is not modified; destroy removes it
    with pytest.raises(SetRefused) as refused:
        snmp.write([((*PERIOD, 2, 1), stamp(2030, 2, 1, 9, 0)),
                    ((*PERIOD, 7, 1), rfc1902.Integer32(4))], False)  # fmt: skip
    assert refused.value.status == "inconsistentValue"
    snmp.write([((*PERIOD, 7, 1), rfc1902.Integer32(6))], True)
    assert daemon.settings.join_window.schedule is None


@pytest.mark.parametrize(
    ("binds", "status"),
    [
        ([((*PERIOD, 7, 2), rfc1902.Integer32(4))], "noCreation"),
        ([((*PERIOD, 2, 1), stamp(2030, 1, 2, 8, 30))], "inconsistentValue"),
        ([((*PERIOD, 7, 1), rfc1902.Integer32(4))], "inconsistentValue"),
        ([((*PERIOD, 2, 1), stamp(2030, 2, 30, 8, 0)), ((*PERIOD, 7, 1), rfc1902.Integer32(4))],
         "wrongValue"),
        ([((*PERIOD, 2, 1), rfc1902.OctetString(b"\x07")), ((*PERIOD, 7, 1),
          rfc1902.Integer32(4))], "wrongLength"),
        ([((*PERIOD, 2, 1), stamp(2030, 1, 2, 8, 0)), ((*PERIOD, 3, 1), rfc1902.Unsigned32(2000)),
          ((*PERIOD, 7, 1), rfc1902.Integer32(4))], "inconsistentValue"),
        ([((*PERIOD, 7, 1), rfc1902.Integer32(5))], "wrongValue"),
    ],
)  # fmt: skip
def test_bad_period_rows_are_refused(binds: list[Any], status: str) -> None:
    snmp, daemon = bridge()
    with pytest.raises(SetRefused) as refused:
        snmp.write(binds, False)
    assert refused.value.status == status
    assert daemon.settings.join_window.schedule is None
