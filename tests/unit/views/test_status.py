"""show vstack status / status detail / host, against the guide's examples (command reference
of show vstack, chapter 3) and against our own data."""

from __future__ import annotations

import pytest

from smartinstall.director.views import (
    DeviceDetail,
    show_vstack_host,
    show_vstack_status,
    show_vstack_status_detail,
)
from smartinstall.domain.devices import (
    Device,
    DeviceType,
    Health,
    JoinState,
    Neighbor,
    Progress,
    StackMember,
    UpgradeStatus,
)
from tests.unit.views.guide import example, squeeze

S = DeviceType.SMART_INSTALL
DONE = Progress.DONE


def director(number: int, mac: str, pid: str) -> Device:
    return Device(number, mac, pid, ip="172.20.249.54", hostname="IBD-MXD-ST", is_director=True)


def client(number: int, mac: str, pid: str, ip: str, hostname: str, upgraded: bool) -> Device:
    upgrade = UpgradeStatus(DONE, DONE) if upgraded else UpgradeStatus()
    return Device(number, mac, pid, ip=ip, hostname=hostname, device_type=S, upgrade=upgrade)


# The rows of the first show vstack status example of the command reference (chapter 3).
GUIDE_DEVICES = [
    director(0, "0018.7363.4200", "WS-C3750-24TS"),
    director(1, "0016.4779.b780", "WS-C3750G-24TS"),
    director(2, "d0d0.fd37.5a80", "WS-C3750X-48P"),
    director(3, "0026.5285.7380", "WS-C3750E-24TD"),
    client(4, "0024.13c6.b580", "WS-C3750E-24TD", "172.20.249.115", "DEV-c6.b5c", False),
    client(5, "0021.a1ab.9b80", "WS-C2960-48TC-S", "172.20.249.249", "DEV-ab.9bc", True),
    client(6, "0024.5111.0900", "WS-C3750E-24TD", "172.20.249.222", "DEV-11.094", True),
    client(7, "001d.45f3.f600", "WS-C3750G-24TS", "172.20.249.87", "DEV-90.f64", False),
    client(8, "0016.c890.f600", "WS-C3750G-24TS", "172.20.249.87", "DEV-90.f64", False),
    client(9, "001f.2604.8980", "WS-C2960-48TC-S", "172.20.249.89", "DEV-04.89c", True),
    client(10, "001b.d576.2500", "WS-C3750E-24PD", "172.20.249.91", "DEV-a6.1cc", True),
    client(12, "0cd9.9649.cb80", "WS-C2960S-48TD-L", "172.20.249.98", "Switch", False),
]

# Guide, chapter 3, show vstack, "This is example output from the show vstack status command".
# The legend is that of the second such example (with the Script Upgrade line of 15.2(2)E and
# one space after "SmartInstall:"; the first example is from an older release); the header and
# rows are those of the first example, whose spacing survived the PDF extraction. One
# difference: the guide puts 13 spaces after "Switch" in row 12 and 8 after every other
# 10-character hostname; our Hostname column is 18 wide for every row.
EXPECTED_STATUS = """\
SmartInstall: ENABLED
Status: Device_type Health_status Join-window_status Upgrade_status
Device_type: S - Smart install N - Non smart install P - Pending
Health_status: A - Active I - Inactive
Join-window_Status: a - Allowed h - On-hold d - Denied
Image Upgrade: i - in progress I - done X - failed
Config Upgrade: c - in progress C - done x - failed
Script Upgrade: p - in progress P - done F - failed
Director Database:
DevNo  MAC Address      Product-ID          IP_addr            Hostname           Status
=====
0      0018.7363.4200    WS-C3750-24TS      172.20.249.54     IBD-MXD-ST        Director
1      0016.4779.b780    WS-C3750G-24TS     172.20.249.54     IBD-MXD-ST        Director
2      d0d0.fd37.5a80    WS-C3750X-48P      172.20.249.54     IBD-MXD-ST        Director
3      0026.5285.7380    WS-C3750E-24TD     172.20.249.54     IBD-MXD-ST        Director
4      0024.13c6.b580    WS-C3750E-24TD     172.20.249.115    DEV-c6.b5c        S A a
5      0021.a1ab.9b80    WS-C2960-48TC-S    172.20.249.249    DEV-ab.9bc        S A a I C
6      0024.5111.0900    WS-C3750E-24TD     172.20.249.222    DEV-11.094        S A a I C
7      001d.45f3.f600    WS-C3750G-24TS     172.20.249.87     DEV-90.f64        S A a
8      0016.c890.f600    WS-C3750G-24TS     172.20.249.87     DEV-90.f64        S A a
9      001f.2604.8980    WS-C2960-48TC-S    172.20.249.89     DEV-04.89c        S A a I C
10     001b.d576.2500    WS-C3750E-24PD     172.20.249.91     DEV-a6.1cc        S A a I C
12     0cd9.9649.cb80    WS-C2960S-48TD-L   172.20.249.98     Switch            S A a
"""


def test_status_matches_the_guide_example_character_for_character() -> None:
    assert show_vstack_status(GUIDE_DEVICES) == EXPECTED_STATUS


def test_status_rows_are_those_of_the_guide_text() -> None:
    # The table lines of the guide's first chapter 3 example, read from the guide itself:
    # rows 0 to 10 are equal character for character; row 12 differs by the one space above.
    guide = example("Director# show vstack status", 23, occurrence=2)[9:]
    ours = show_vstack_status(GUIDE_DEVICES).splitlines()[9:]
    assert guide[0] == ours[0]  # the header
    assert guide[1] == ours[1] == "====="
    assert guide[2:13] == ours[2:13]
    assert guide[13] != ours[13] and squeeze(guide[13:]) == squeeze(ours[13:])


def test_status_legend_is_that_of_the_current_chapter_3_example() -> None:
    guide = example("Director# show vstack status", 10, occurrence=3)[1:10]
    assert guide == show_vstack_status(GUIDE_DEVICES).splitlines()[:9]


def test_status_with_the_4500_example_data() -> None:
    # Guide, chapter 3, the show vstack status example of a Catalyst 4500 director ("Switch#").
    devices = [
        Device(
            0, "0023.04c2.95c0", "WS-C4506-E", ip="1.1.1.1", hostname="Switch", is_director=True
        ),
        Device(
            4,
            "68ef.bd08.6000",
            "WS-C4507R-E",
            ip="1.1.1.2",
            hostname="IBC_WOW-08",
            device_type=S,
            health=Health.INACTIVE,
            upgrade=UpgradeStatus(config=DONE, script=DONE),
        ),
    ]
    out = show_vstack_status(devices)
    # The extraction turned this example's table into tab-separated cells and dropped its
    # "=====" rule: compare with blanks squeezed and without the rule.
    guide = example("Switch# show vstack status", 13, occurrence=2)
    assert [line for line in squeeze(out) if line != "====="] == squeeze(guide[1:])
    assert out.splitlines()[-1] == (
        "4      68ef.bd08.6000    WS-C4507R-E        1.1.1.2           IBC_WOW-08        S I a C P"
    )


def test_disabled_status_is_one_line() -> None:
    # Guide: "Director # show vstack status" / "SmartInstall: DISABLED" after no vstack.
    assert show_vstack_status(GUIDE_DEVICES, enabled=False) == "SmartInstall: DISABLED\n"
    assert show_vstack_status_detail(GUIDE_DEVICES, enabled=False) == "SmartInstall: DISABLED\n"


def test_stack_members_share_the_device_number() -> None:
    stack = Device(
        3,
        "0022.0d26.6300",
        ip="10.0.0.3",
        hostname="stack-1",
        device_type=S,
        join_state=JoinState.HOLD,
        members=(
            StackMember(1, "WS-C3750X-24P-L", "0022.0d26.6300"),
            StackMember(2, "WS-C3750X-48P-S", "0022.0d26.7300"),
        ),
    )
    rows = show_vstack_status([stack]).splitlines()[-2:]
    assert rows == [
        "3      0022.0d26.6300    WS-C3750X-24P-L    10.0.0.3          stack-1           S A h",
        "3      0022.0d26.7300    WS-C3750X-48P-S    10.0.0.3          stack-1           S A h",
    ]


def test_status_orders_by_number_and_marks_unknown_cells() -> None:
    pending = Device(2, "00:11:22:33:44:55")
    first = Device(
        1,
        "0011.2233.4400",
        "WS-C2960X-24PD-L",
        ip="10.9.8.7",
        hostname="a-very-long-hostname-beyond-the-column",
        device_type=S,
        upgrade=UpgradeStatus(Progress.FAILED, Progress.IN_PROGRESS),
    )
    rows = show_vstack_status([pending, first]).splitlines()[-2:]
    assert rows[0] == (
        "1      0011.2233.4400    WS-C2960X-24PD-L   10.9.8.7          "
        "a-very-long-hostname-beyond-the-column S A a X c"
    )
    assert (
        rows[1]
        == "2      0011.2233.4455    **                 **                **                P A a"
    )


# Guide, chapter 3, show vstack status detail, the director's entry (device 0); the Status line
# shows what our director prints ("Director"), as in that example.
EXPECTED_DETAIL_DIRECTOR = """\
SmartInstall: ENABLED
-----
Device Num      : 0
Device ID       : 3750e-163-smi
MAC Address     : 0023.5e32.3780
IP Addr        : 1.1.1.163
Hop value       : 0
Serial          : FDO1239V026
Product-ID      : WS-C3750E-24PD
Version         : 12.2(0.0.242)DEV
Image           : C3750E-UNIVERSALK9-M
Entry Role      : Entry
(N-1)HOP Entry : Already Root
Backup done     : no
Latest backup file: none
Latest backup client name: none
File checksum   : none
Status          : Director
"""

DETAIL_DIRECTOR = Device(
    0,
    "0023.5e32.3780",
    "WS-C3750E-24PD",
    serial="FDO1239V026",
    version="12.2(0.0.242)DEV",
    image="C3750E-UNIVERSALK9-M",
    ip="1.1.1.163",
    hostname="3750e-163-smi",
    hop=0,
    is_director=True,
)
DETAIL_CLIENT = Device(
    2,
    "001d.71ba.f780",
    "WS-C2960PD-8TT-L",
    serial="FOC1138Z6P7",
    version="12.2(0.0.242)DEV",
    image="C2960-LANBASEK9-M",
    ip="1.1.1.1",
    hostname="2960pd-47",
    hop=1,
    upstream_mac="0023.5e32.3780",
    device_type=S,
)
DETAIL_CLIENT_BACKUP = DeviceDetail(
    "flash:/vstack/2960pd-47-001d.71ba.f780.REV2", "2960pd-47", "426154BFAFE1425F527621DC8B647C38"
)


def test_status_detail_director_entry_matches_the_guide() -> None:
    out = show_vstack_status_detail([DETAIL_DIRECTOR])
    assert out == EXPECTED_DETAIL_DIRECTOR
    guide = example("Director# show vstack status detail", 19)
    assert out.splitlines() == guide[1:]


def test_status_detail_client_entry_matches_the_guide_but_for_the_status_letters() -> None:
    # Guide, chapter 3, device 2 of show vstack status detail. The extraction shortened its
    # label padding (compared squeezed), and its "Status : ACT" comes from a release before the
    # status letters; current releases print the letters, as the 4500 example does ("S I a C").
    out = show_vstack_status_detail([DETAIL_CLIENT], {"001d.71ba.f780": DETAIL_CLIENT_BACKUP})
    guide = example("Device Num      : 2", 16)
    ours = out.splitlines()[1:]
    assert squeeze(ours[1:-1]) == squeeze(guide[:-1])
    assert guide[-1].split() == ["Status", ":", "ACT"]
    assert ours[-1] == "Status          : S A a"
    assert ours[0] == "-----"


# Guide, chapter 3, show vstack status detail of a Catalyst 4500 client (IOS XE 3.6.0E): the
# Supervisor, Switch replace type, SMI Version and Capability lines. The extraction shortened
# the label padding of this example; we pad these labels as every other (16).
EXPECTED_DETAIL_4500 = """\
SmartInstall: ENABLED
-----
Device Num      : 4
Device ID       : IBC_WOW-08.603f
MAC Address     : 68ef.bd08.6000
IP Addr        : 1.1.1.2
Hop value       : **
Serial          : FOX1352H3FK
Product-ID      : WS-C4507R-E
Supervisor      : WS-X45-SUP7-E
Version         : 03.06.00.E
Image           : cat4500e-UNIVERSALK9-M
Entry Role      : IBC Entry
(N-1)HOP Entry : 0023.04c2.95c0
Backup done     : Yes
Latest backup file: bootflash:/vstack/IBC_WOW-08.603f-68ef.bd08.6000.REV2
Latest backup client name:
File checksum   : 00000000000000000000000000000000
Switch replace type: Same Switch
SMI Version     : 1
Status          : S I a C
Capability      : Network derived SMI management VLAN supported
"""

DEVICE_4500 = Device(
    4,
    "68ef.bd08.6000",
    "WS-C4507R-E",
    serial="FOX1352H3FK",
    version="03.06.00.E",
    image="cat4500e-UNIVERSALK9-M",
    ip="1.1.1.2",
    hostname="IBC_WOW-08.603f",
    upstream_mac="0023.04c2.95c0",
    supervisor="WS-X45-SUP7-E",
    device_type=S,
    health=Health.INACTIVE,
    upgrade=UpgradeStatus(config=DONE),
    smi_version=1,
    capability="Network derived SMI management VLAN supported",
)
DETAIL_4500 = DeviceDetail(
    "bootflash:/vstack/IBC_WOW-08.603f-68ef.bd08.6000.REV2",
    "",
    "00000000000000000000000000000000",
    "Same Switch",
)


def test_status_detail_4500_lines() -> None:
    out = show_vstack_status_detail([DEVICE_4500], {"68ef.bd08.6000": DETAIL_4500})
    assert out == EXPECTED_DETAIL_4500
    guide = example("Device ID      : IBC_WOW-08.603f", 19)
    ours = out.splitlines()[3:]
    assert squeeze(ours) == squeeze(guide)


def test_supervisor_not_applicable_on_current_clients_without_one() -> None:
    device = DETAIL_CLIENT.with_changes(smi_version=2)
    lines = show_vstack_status_detail([device]).splitlines()
    assert "Supervisor      : not applicable" in lines
    assert "SMI Version     : 2" in lines
    assert "Switch replace type: not applicable" in lines
    assert not any(line.startswith("Capability") for line in lines)


def test_detail_details_accept_any_mac_form() -> None:
    out = show_vstack_status_detail([DETAIL_CLIENT], {"00:1D:71:BA:F7:80": DETAIL_CLIENT_BACKUP})
    assert "Backup done     : Yes" in out.splitlines()


@pytest.mark.parametrize("enabled", [True, False])
def test_host(enabled: bool) -> None:
    # Guide, chapter 3, the second show vstack host example (current release: status legend with
    # Script Upgrade, DevNo header). Its spacing was lost in extraction: compared squeezed.
    device = Device(
        1,
        "0023.348e.8e00",
        "WS-C3750E-48TD",
        ip="1.1.1.1",
        hostname="Switch.dom",
        device_type=S,
        upgrade=UpgradeStatus(config=DONE, script=DONE),
        neighbors=(Neighbor("Gig 1/0/19", "0024.5111.0880", "Switch", "2.2.2.1", "Gig 1/0/9"),),
    )
    out = show_vstack_host(device, "1.1.1.1", enabled=enabled)
    if not enabled:
        assert out == "SmartInstall: DISABLED\n"
        return
    guide = example("Director# show vstack host 1.1.1.1", 16, occurrence=2)[1:]
    assert squeeze(out) == squeeze(guide)
    lines = out.splitlines()
    assert lines[10] == (
        "1      0023.348e.8e00    WS-C3750E-48TD     1.1.1.1           Switch.dom        S A a C P"
    )
    assert lines[11:] == [
        "",
        "Neighbor Info:",
        "MAC Address      Dev ID          IP_addr         Local Int       Out Port",
        "=====",
        "0024.5111.0880  Switch         2.2.2.1        Gig 1/0/19     Gig 1/0/9",
    ]


def test_host_unknown() -> None:
    assert show_vstack_host(None, "10.1.1.1") == (
        "% No client with IP address 10.1.1.1 in the director database\n"
    )
