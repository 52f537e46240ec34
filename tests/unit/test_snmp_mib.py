"""CISCO-SMART-INSTALL-MIB over the director's data (services/snmp_mib.py) and the agent's
object lookup (services/snmp.py, DirectorMib): pure mapping, no sockets. OIDs and syntaxes
from ../shared/spec/mib-summary.md."""

from __future__ import annotations

import datetime as dt

from pysnmp.proto import rfc1902, rfc1905

from smartinstall.domain.devices import Device, Health, JoinState, Progress, UpgradeStatus
from smartinstall.ios.director_config import replay_director_config
from smartinstall.services.snmp import DirectorMib
from smartinstall.services.snmp_mib import (
    CSI,
    JoinWindowMode,
    MibInputs,
    Notification,
    OperationType,
    date_and_time,
    device_status,
    inet,
    join_window_mode,
    mac_octets,
    mib_objects,
    notification,
    vlan_list,
)

DEVICE = (*CSI, 1, 3, 1, 1)
SETTINGS = """vstack director 10.0.0.1
vstack basic
vstack vlan 1,10,2047,2048,4094
vstack image flash:c2960x.tar
vstack hostname-prefix STORE
vstack backup file-server tftp://10.0.0.9/backups
vstack join-window start 01 jan 2030 08:00 02:30 end 31 jan 2030 recurring
vstack group custom byMac mac
 match mac 0050.56aa.0001
 image flash:mac.tar
vstack group custom byPort connectivity
 match host 10.0.0.2 interface GigabitEthernet1/0/1
 config flash:port.txt
snmp-server community public RO
snmp-server enable traps vstack
"""


def inputs(devices: list[Device] | None = None) -> MibInputs:
    result = replay_director_config(SETTINGS, owns_address=lambda ip: True)
    assert result.errors == []
    return MibInputs(
        settings=result.settings,
        devices=devices or [],
        is_director=True,
        uptime=12.34,
        latest_backup=lambda mac: "flash:/vstack/sw1-0050.56aa.0001.REV2",
        now=dt.datetime(2030, 1, 1, 9, 0),
    )


def table(values: MibInputs) -> dict[tuple[int, ...], object]:
    objects = mib_objects(values)
    oids = [oid for oid, _ in objects]
    assert oids == sorted(oids) and len(set(oids)) == len(oids)
    return dict(objects)


def test_value_helpers() -> None:
    assert mac_octets("0050.56aa.0001").asOctets() == bytes.fromhex("005056aa0001")
    assert [v.prettyPrint() for v in inet("10.0.0.1")] == ["1", "0x0a000001"]
    assert int(inet("")[0]) == 0 and inet("")[1].asOctets() == b""
    first = vlan_list({1, 10, 2047, 2048, 4094}, 0).asOctets()
    assert first[0] == 0x40 and first[1] == 0x20 and len(first) == 256 and first[255] == 0x01
    second = vlan_list({2048, 4094}, 2048).asOctets()
    assert second[0] == 0x80 and second[-1] == 0x02 and len(second) == 256
    assert date_and_time(dt.datetime(2030, 1, 2, 3, 4, 5)).asOctets() == bytes(
        [0x07, 0xEE, 1, 2, 3, 4, 5, 0]
    )


def test_global_config_profile_and_join_window() -> None:
    objects = table(inputs())
    assert int(objects[(*CSI, 1, 1, 1, 0)]) == 2  # csiOperationMode basic
    assert objects[(*CSI, 1, 1, 3, 0)].asOctets() == bytes([10, 0, 0, 1])
    assert int(objects[(*CSI, 1, 1, 4, 0)]) == 1  # csiManagementVlan true
    assert str(objects[(*CSI, 1, 1, 7, 1, 0)]) == "tftp://10.0.0.9/backups"
    assert int(objects[(*CSI, 1, 1, 7, 2, 0)]) == 1  # csiBackupEnable
    assert int(objects[(*CSI, 1, 1, 8, 1, 0)]) == JoinWindowMode.AUTO
    period = (*CSI, 1, 1, 8, 3, 1)
    assert objects[(*period, 2, 1)].asOctets()[:6] == bytes([0x07, 0xEE, 1, 1, 8, 0])
    assert int(objects[(*period, 3, 1)]) == 150
    assert int(objects[(*period, 4, 1)]) == 2  # daily
    assert objects[(*period, 5, 1)].asOctets()[:4] == bytes([0x07, 0xEE, 1, 31])
    assert str(objects[(*CSI, 1, 2, 1, 0)]) == "flash:c2960x.tar"
    assert str(objects[(*CSI, 1, 2, 3, 0)]) == "STORE"
    assert int(objects[(*CSI, 1, 2, 4, 0)]) == 4  # two groups: rows 2 and 3
    profile = (*CSI, 1, 2, 5, 1)
    assert str(objects[(*profile, 2, 2)]) == "byMac"
    assert str(objects[(*profile, 3, 2)]) == "flash:mac.tar"
    assert str(objects[(*profile, 5, 3)]) == "flash:port.txt"
    match = (*CSI, 1, 2, 6, 1)
    assert int(objects[(*match, 2, 2, 1)]) == 2  # mac
    assert objects[(*match, 3, 2, 1)].asOctets() == bytes.fromhex("005056aa0001")
    assert int(objects[(*match, 2, 3, 1)]) == 3  # connectivity
    assert objects[(*match, 5, 3, 1)].asOctets() == bytes([10, 0, 0, 2])
    assert str(objects[(*match, 6, 3, 1)]) == "GigabitEthernet1/0/1"
    assert objects[(*CSI, 1, 4, 1, 0)].asOctets() == b"\xf0"  # csiNotifEnable: all on
    assert str(objects[(1, 3, 6, 1, 2, 1, 1, 5, 0)]) == "Director"
    assert int(objects[(1, 3, 6, 1, 2, 1, 1, 3, 0)]) == 1234


def test_device_table_and_status_text() -> None:
    held = Device(
        number=1, mac="0050.56aa.0001", ip="10.0.0.11", hostname="sw1", pid="WS-C2960X-48FPS-L",
        serial="FOC123", version="15.2(7)E9", join_state=JoinState.HOLD,
    )  # fmt: skip
    upgrading = Device(
        number=2, mac="0050.56aa.0002", upgrade=UpgradeStatus(image=Progress.IN_PROGRESS)
    )
    gone = Device(number=3, mac="0050.56aa.0003", health=Health.INACTIVE,
                  join_state=JoinState.DENIED)  # fmt: skip
    objects = table(inputs([gone, held, upgrading]))
    assert objects[(*DEVICE, 2, 1)].asOctets() == bytes.fromhex("005056aa0001")
    assert int(objects[(*DEVICE, 3, 1)]) == 1 and int(objects[(*DEVICE, 3, 2)]) == 0
    assert objects[(*DEVICE, 4, 1)].asOctets() == bytes([10, 0, 0, 11])
    assert str(objects[(*DEVICE, 5, 1)]) == "sw1"
    assert str(objects[(*DEVICE, 6, 1)]) == "sw1-0050.56aa.0001.REV2"
    assert str(objects[(*DEVICE, 7, 1)]) == "15.2(7)E9"
    assert str(objects[(*DEVICE, 8, 1)]) == "WS-C2960X-48FPS-L"
    assert str(objects[(*DEVICE, 9, 1)]) == "FOC123"
    assert "on hold" in str(objects[(*DEVICE, 10, 1)])
    assert "image upgrade in progress" in str(objects[(*DEVICE, 10, 2)])
    assert device_status(gone).startswith("inactive, denied")


def test_join_window_modes() -> None:
    for extra, mode in (
        ("", JoinWindowMode.AUTO),
        ("no vstack join-window mode auto\n", JoinWindowMode.MANUAL),
        ("vstack join-window close\n", JoinWindowMode.CLOSED),
    ):
        assert join_window_mode(replay_director_config(extra).settings) is mode


def test_notification_var_binds() -> None:
    device = Device(number=7, mac="0050.56aa.0007", ip="10.0.0.17", hostname="sw7")
    oid, binds = notification(Notification.DEVICE_ADDED, device=device)
    assert oid == (*CSI, 0, 2)
    assert [b[0] for b in binds] == [(*DEVICE, column, 7) for column in (5, 3, 4, 2)]
    oid, binds = notification(
        Notification.FILE_LOAD_FAILED, device=device,
        operation=OperationType.DOWNLOAD_IMAGE, result="timeout",
    )  # fmt: skip
    assert oid == (*CSI, 0, 4)
    assert int(binds[4][1]) == 3 and str(binds[5][1]) == "timeout"
    oid, binds = notification(Notification.OPERATION_MODE_CHANGE, mode=1)
    assert oid == (*CSI, 0, 1) and binds == [((*CSI, 1, 1, 1, 0), rfc1902.Integer32(1))]


def test_mib_lookup_get_next_and_end() -> None:
    mib = DirectorMib(lambda: inputs([Device(number=1, mac="0050.56aa.0001")]))
    first = (*DEVICE, 2, 1)
    ((name, value),) = mib.read_variables((first, None))
    assert tuple(name) == first and value.asOctets() == bytes.fromhex("005056aa0001")
    ((name, value),) = mib.read_variables(((*DEVICE, 2, 99), None))
    assert value.tagSet == rfc1905.noSuchInstance.tagSet
    ((name, value),) = mib.read_variables(((1, 3, 6, 1, 4, 1, 2021), None))
    assert value.tagSet == rfc1905.noSuchObject.tagSet
    ((name, value),) = mib.read_next_variables((CSI, None))
    assert tuple(name) == (*CSI, 1, 1, 1, 0)
    ((name, value),) = mib.read_next_variables(((2,), None))
    assert value.tagSet == rfc1905.endOfMibView.tagSet
    ((name, _),) = mib.read_next_variables(((1, 3, 6, 1, 2, 1, 1, 7, 0), None))
    assert tuple(name) == (*CSI, 1, 1, 1, 0)
