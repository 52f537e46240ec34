"""CISCO-SMART-INSTALL-MIB (1.3.6.1.4.1.9.9.725) and SNMPv2-MIB ``system`` over the director's
settings and in-memory state: pure mapping, no sockets.

:func:`mib_objects` turns one :class:`MibInputs` (what the agent read from the director's
memory) into the sorted list of (OID, value) the agent answers GET, GETNEXT and GETBULK from.
:func:`notification` gives the var-binds of the MIB's four notifications. The object names
and numbers are those of ``../shared/spec/mib-summary.md``; docs/snmp.md maps them to the
director's commands.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from pysnmp.proto import rfc1902

from smartinstall.domain.devices import Device, Health, JoinState, Progress
from smartinstall.domain.groups import CustomGroup, GroupFiles, GroupKind
from smartinstall.domain.joinwindow import Schedule
from smartinstall.domain.settings import DirectorSettings

Oid = tuple[int, ...]
Value = Any  # a pysnmp rfc1902 value
VarBind = tuple[Oid, Value]

CSI: Oid = (1, 3, 6, 1, 4, 1, 9, 9, 725)
NOTIFS = (*CSI, 0)
GLOBAL = (*CSI, 1, 1)
BACKUP = (*GLOBAL, 7)
JOIN_WINDOW = (*GLOBAL, 8)
PERIOD_ENTRY = (*JOIN_WINDOW, 3, 1)
PROFILE = (*CSI, 1, 2)
PROFILE_ENTRY = (*PROFILE, 5, 1)
MATCH_ENTRY = (*PROFILE, 6, 1)
DEVICE_ENTRY = (*CSI, 1, 3, 1, 1)
NOTIF_OBJECTS = (*CSI, 1, 4)
SYSTEM: Oid = (1, 3, 6, 1, 2, 1, 1)
SYS_UPTIME = (*SYSTEM, 3, 0)
SNMP_TRAP_OID: Oid = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)

# the scalars a SET may change (docs/snmp.md)
OPERATION_MODE = (*GLOBAL, 1, 0)
BACKUP_HOST_URL = (*BACKUP, 1, 0)
BACKUP_ENABLE = (*BACKUP, 2, 0)
JOIN_WINDOW_MODE = (*JOIN_WINDOW, 1, 0)
NOTIF_ENABLE = (*NOTIF_OBJECTS, 1, 0)

# csiDeviceEntry columns
DEVICE_MAC, DEVICE_ADDRESS_TYPE, DEVICE_ADDRESS, DEVICE_NAME = 2, 3, 4, 5


class Notification(IntEnum):
    """The MIB's notifications (1.3.6.1.4.1.9.9.725.0.n) and their csiNotifEnable bits."""

    OPERATION_MODE_CHANGE = 1
    DEVICE_ADDED = 2
    DEVICE_LOST = 3
    FILE_LOAD_FAILED = 4


class OperationType(IntEnum):
    """csiNotifOperationType."""

    OTHER = 1
    DOWNLOAD_CONFIG = 2
    DOWNLOAD_IMAGE = 3
    UPLOAD_CONFIG = 4


class JoinWindowMode(IntEnum):
    CLOSED = 1
    AUTO = 2
    MANUAL = 3


TRUE, FALSE = 1, 2  # TruthValue
STORAGE_NONVOLATILE = 3
ROW_ACTIVE = 1
ALL_NOTIFICATIONS = b"\xf0"  # BITS operationModeChange(0) … fileLoadFailed(3)

MATCH_TYPES = {
    GroupKind.MAC: 2,
    GroupKind.CONNECTIVITY: 3,
    GroupKind.PRODUCT_ID: 4,
    GroupKind.STACK: 5,
}


@dataclass
class MibInputs:
    """What the agent reads from the director's memory for one answer."""

    settings: DirectorSettings
    devices: Sequence[Device]
    is_director: bool
    uptime: float  # seconds since the director started
    latest_backup: Callable[[str], str | None] = lambda mac: None
    sys_descr: str = "smartinstall director (Cisco Smart Install)"
    last_operation: OperationType = OperationType.OTHER
    last_result: str = ""
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


# --- value helpers ---------------------------------------------------------------------------


def text(value: str | None) -> rfc1902.OctetString:
    return rfc1902.OctetString((value or "").encode("utf-8", errors="replace")[:255])


def mac_octets(mac: str) -> rfc1902.OctetString:
    """MacAddress: the six octets of ``0000.feed.00c0``."""
    digits = "".join(c for c in mac if c not in ".:-")
    return rfc1902.OctetString(bytes.fromhex(digits)[:6])


def inet(address: str | None) -> tuple[rfc1902.Integer32, rfc1902.OctetString]:
    """(InetAddressType, InetAddress): ipv4(1) and four octets, or unknown(0) and empty."""
    if not address:
        return rfc1902.Integer32(0), rfc1902.OctetString(b"")
    return rfc1902.Integer32(1), rfc1902.OctetString(ipaddress.IPv4Address(address).packed)


def vlan_list(vlans: set[int], first: int) -> rfc1902.OctetString:
    """Cisco2KVlanList of the VLANs in [first, first + 2048), trailing zero octets omitted."""
    octets = bytearray(256)
    for vlan in vlans:
        bit = vlan - first
        if 0 <= bit < 2048:
            octets[bit // 8] |= 0x80 >> (bit % 8)
    return rfc1902.OctetString(bytes(octets).rstrip(b"\x00"))


def date_and_time(moment: dt.datetime) -> rfc1902.OctetString:
    """DateAndTime, 8 octets (local time, no zone)."""
    return rfc1902.OctetString(
        moment.year.to_bytes(2, "big")
        + bytes((moment.month, moment.day, moment.hour, moment.minute, moment.second, 0))
    )


def join_window_mode(settings: DirectorSettings) -> JoinWindowMode:
    window = settings.join_window
    if window.closed:
        return JoinWindowMode.CLOSED
    return JoinWindowMode.AUTO if window.auto else JoinWindowMode.MANUAL


def operation_mode(settings: DirectorSettings, is_director: bool) -> int:
    """csiOperationMode: basic(2) while this host is the director, else disabled(1)."""
    return 2 if is_director and settings.enabled else 1


def device_status(device: Device) -> str:
    """csiDeviceStatus: health, "on hold" / "denied", and the upgrade progress in words,
    then the letters of ``show vstack status``."""
    if device.is_director:
        return "Director"
    words = ["active" if device.health is Health.ACTIVE else "inactive"]
    if device.join_state is JoinState.HOLD:
        words.append("on hold")
    elif device.join_state is JoinState.DENIED:
        words.append("denied")
    upgrade = device.upgrade
    for kind, progress in (
        ("image", upgrade.image),
        ("config", upgrade.config),
        ("script", upgrade.script),
    ):
        if progress is not Progress.NONE:
            words.append(f"{kind} upgrade {progress.value}")
    return f"{', '.join(words)} ({device.status()})"


# --- the tables --------------------------------------------------------------------------------


def _system(inputs: MibInputs) -> Iterator[VarBind]:
    yield (*SYSTEM, 1, 0), text(inputs.sys_descr)
    yield (*SYSTEM, 2, 0), rfc1902.ObjectIdentifier(CSI)
    yield SYS_UPTIME, rfc1902.TimeTicks(int(inputs.uptime * 100) % 2**32)
    yield (*SYSTEM, 4, 0), text("")
    yield (*SYSTEM, 5, 0), text(inputs.settings.hostname)
    yield (*SYSTEM, 6, 0), text("")
    yield (*SYSTEM, 7, 0), rfc1902.Integer32(72)  # applications + end-to-end


def _global(inputs: MibInputs) -> Iterator[VarBind]:
    s = inputs.settings
    address_type, address = inet(s.director_ip)
    yield (*GLOBAL, 1, 0), rfc1902.Integer32(operation_mode(s, inputs.is_director))
    yield (*GLOBAL, 2, 0), address_type
    yield (*GLOBAL, 3, 0), address
    yield (*GLOBAL, 4, 0), rfc1902.Integer32(TRUE if s.vlans else FALSE)
    yield (*GLOBAL, 5, 0), vlan_list(s.vlans, 0)
    yield (*GLOBAL, 6, 0), vlan_list(s.vlans, 2048)
    yield BACKUP_HOST_URL, text(s.backup.location)
    yield BACKUP_ENABLE, rfc1902.Integer32(TRUE if s.backup.enabled else FALSE)
    yield JOIN_WINDOW_MODE, rfc1902.Integer32(join_window_mode(s))
    schedule = s.join_window.schedule
    yield (*JOIN_WINDOW, 2, 0), rfc1902.Unsigned32(0 if schedule is not None else 1)
    if schedule is not None:
        yield from _period(schedule, inputs.now)


def _period(schedule: Schedule, now: dt.datetime) -> Iterator[VarBind]:
    """The one join-window period (`vstack join-window start …`) as row 1."""
    day = schedule.start_date or now.date()
    start = dt.datetime.combine(day, schedule.start_time)
    minutes = int(schedule.interval.total_seconds() // 60) if schedule.interval else 0
    end = (
        date_and_time(dt.datetime.combine(schedule.end_date, dt.time()))
        if schedule.end_date
        else rfc1902.OctetString(b"")
    )
    columns: list[tuple[int, Value]] = [
        (2, date_and_time(start)),
        (3, rfc1902.Unsigned32(minutes)),
        (4, rfc1902.Integer32(2 if schedule.recurring else 1)),
        (5, end),
        (6, rfc1902.Integer32(STORAGE_NONVOLATILE)),
        (7, rfc1902.Integer32(ROW_ACTIVE)),
    ]
    for column, value in columns:
        yield (*PERIOD_ENTRY, column, 1), value


@dataclass(frozen=True)
class ProfileRow:
    index: int
    name: str
    files: GroupFiles
    group: CustomGroup | None  # None: a built-in group


def profile_rows(settings: DirectorSettings) -> list[ProfileRow]:
    """csiProfileTable rows from 2 up: built-in groups (by key), then custom groups."""
    rows: list[ProfileRow] = []
    groups = settings.groups
    for key in sorted(groups.builtin):
        rows.append(ProfileRow(len(rows) + 2, key.label(), groups.builtin[key].files, None))
    for group in groups.custom.values():
        rows.append(ProfileRow(len(rows) + 2, group.name, group.files, group))
    return rows


def _profiles(settings: DirectorSettings) -> Iterator[VarBind]:
    defaults = settings.groups.default
    rows = profile_rows(settings)
    yield (*PROFILE, 1, 0), text(defaults.image)
    yield (*PROFILE, 2, 0), text(defaults.config)
    yield (*PROFILE, 3, 0), text(settings.hostname_prefix)
    yield (*PROFILE, 4, 0), rfc1902.Unsigned32(len(rows) + 2)
    cells: list[VarBind] = []
    for row in rows:
        second = next(iter(row.files.family_images.values()), None)
        for column, value in (
            (2, text(row.name)),
            (3, text(row.files.image)),
            (4, text(second)),
            (5, text(row.files.config)),
            (6, rfc1902.Integer32(STORAGE_NONVOLATILE)),
            (7, rfc1902.Integer32(ROW_ACTIVE)),
        ):
            cells.append(((*PROFILE_ENTRY, column, row.index), value))
        if row.group is not None:
            for number, match in enumerate(match_rows(row.group), start=1):
                for column, value in match:
                    cells.append(((*MATCH_ENTRY, column, row.index, number), value))
    yield from cells


def match_rows(group: CustomGroup) -> Iterator[list[tuple[int, Value]]]:
    """The csiMatchTable columns of each criterion of a custom group."""
    kind = rfc1902.Integer32(MATCH_TYPES.get(group.kind, 1))

    def row(
        mac: str = "", host: str = "", interface: str = "", pid: str = "", member: int = 0,
        member_pid: str = "",
    ) -> list[tuple[int, Value]]:  # fmt: skip
        address_type, address = inet(host)
        return [
            (2, kind),
            (3, mac_octets(mac) if mac else rfc1902.OctetString(bytes(6))),
            (4, address_type),
            (5, address),
            (6, text(interface)),
            (7, text(pid)),
            (8, rfc1902.Unsigned32(member)),
            (9, text(member_pid)),
            (10, rfc1902.Integer32(STORAGE_NONVOLATILE)),
            (11, rfc1902.Integer32(ROW_ACTIVE)),
        ]

    for mac in group.macs:
        yield row(mac=mac)
    for host in group.hosts:
        yield row(host=host.host, interface=host.interface)
    for pid in group.product_ids:
        yield row(pid=pid)
    for stack in group.stack:
        yield row(member=stack.member, member_pid=stack.key.label())


def _devices(inputs: MibInputs) -> Iterator[VarBind]:
    for device in sorted(inputs.devices, key=lambda d: d.number):
        address_type, address = inet(device.ip)
        backup = inputs.latest_backup(device.mac) or ""
        yield from (
            ((*DEVICE_ENTRY, DEVICE_MAC, device.number), mac_octets(device.mac)),
            ((*DEVICE_ENTRY, DEVICE_ADDRESS_TYPE, device.number), address_type),
            ((*DEVICE_ENTRY, DEVICE_ADDRESS, device.number), address),
            ((*DEVICE_ENTRY, DEVICE_NAME, device.number), text(device.hostname)),
            ((*DEVICE_ENTRY, 6, device.number), text(backup.rsplit("/", 1)[-1])),
            ((*DEVICE_ENTRY, 7, device.number), text(device.version)),
            ((*DEVICE_ENTRY, 8, device.number), text(device.pid)),
            ((*DEVICE_ENTRY, 9, device.number), text(device.serial)),
            ((*DEVICE_ENTRY, 10, device.number), text(device_status(device))),
        )


def mib_objects(inputs: MibInputs) -> list[VarBind]:
    """Every object the agent serves, sorted by OID (column by column within a table)."""
    objects: list[VarBind] = [*_system(inputs), *_global(inputs), *_profiles(inputs.settings)]
    objects.extend(_devices(inputs))
    objects.append((NOTIF_ENABLE, rfc1902.Bits(ALL_NOTIFICATIONS if _traps(inputs) else b"\x00")))
    objects.append(((*NOTIF_OBJECTS, 2, 0), rfc1902.Integer32(inputs.last_operation)))
    objects.append(((*NOTIF_OBJECTS, 3, 0), text(inputs.last_result)))
    objects.sort(key=lambda pair: pair[0])
    return objects


def _traps(inputs: MibInputs) -> bool:
    return inputs.settings.snmp.traps_vstack


# --- notifications -----------------------------------------------------------------------------


def device_varbinds(device: Device) -> list[VarBind]:
    """csiDeviceName, csiDeviceAddressType, csiDeviceAddress, csiDeviceMacAddress of a device."""
    address_type, address = inet(device.ip)
    n = device.number
    return [
        ((*DEVICE_ENTRY, DEVICE_NAME, n), text(device.hostname)),
        ((*DEVICE_ENTRY, DEVICE_ADDRESS_TYPE, n), address_type),
        ((*DEVICE_ENTRY, DEVICE_ADDRESS, n), address),
        ((*DEVICE_ENTRY, DEVICE_MAC, n), mac_octets(device.mac)),
    ]


def notification(
    kind: Notification,
    *,
    device: Device | None = None,
    mode: int = 1,
    operation: OperationType = OperationType.OTHER,
    result: str = "",
) -> tuple[Oid, list[VarBind]]:
    """The notification's OID and its OBJECTS (without sysUpTime and snmpTrapOID)."""
    oid = (*NOTIFS, int(kind))
    if kind is Notification.OPERATION_MODE_CHANGE:
        return oid, [(OPERATION_MODE, rfc1902.Integer32(mode))]
    assert device is not None
    binds = device_varbinds(device)
    if kind is Notification.FILE_LOAD_FAILED:
        binds.append(((*NOTIF_OBJECTS, 2, 0), rfc1902.Integer32(operation)))
        binds.append(((*NOTIF_OBJECTS, 3, 0), text(result)))
    return oid, binds


__all__ = [
    "CSI",
    "JOIN_WINDOW_MODE",
    "SNMP_TRAP_OID",
    "SYS_UPTIME",
    "JoinWindowMode",
    "MibInputs",
    "Notification",
    "OperationType",
    "date_and_time",
    "device_status",
    "inet",
    "join_window_mode",
    "mac_octets",
    "match_rows",
    "mib_objects",
    "notification",
    "operation_mode",
    "profile_rows",
    "vlan_list",
]
