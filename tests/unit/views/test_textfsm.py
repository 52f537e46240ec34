"""The TextFSM templates shipped in smartinstall/data/textfsm: our outputs parse back into the
values they were rendered from, and the guide's example outputs parse too."""

from __future__ import annotations

import datetime as dt
import io
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

textfsm = pytest.importorskip("textfsm")
from textfsm import clitable  # noqa: E402

from smartinstall.director.views import (  # noqa: E402
    DeviceDetail,
    show_vstack_config,
    show_vstack_download_status,
    show_vstack_download_status_detail,
    show_vstack_neighbors,
    show_vstack_status,
    show_vstack_status_detail,
)
from smartinstall.domain.devices import (  # noqa: E402
    Device,
    DeviceType,
    Health,
    JoinState,
    Neighbor,
    Progress,
    StackMember,
    UpgradeStatus,
    parse_status_letters,
)
from smartinstall.domain.downloads import (  # noqa: E402
    DownloadEntry,
    DownloadMethod,
    DownloadStatus,
    format_downloaded_at,
    parse_downloaded_at,
)
from smartinstall.domain.interfaces import canonical_interface  # noqa: E402
from smartinstall.domain.joinwindow import JoinWindowSettings, Schedule  # noqa: E402
from smartinstall.domain.settings import DirectorSettings, Role  # noqa: E402
from tests.unit.views import test_config, test_downloads, test_status  # noqa: E402
from tests.unit.views.guide import example  # noqa: E402

TEMPLATES = resources.files("smartinstall") / "data" / "textfsm"


def parse(template: str, output: str) -> list[dict[str, str]]:
    text = (TEMPLATES / f"cisco_ios_show_vstack_{template}.textfsm").read_text()
    fsm = textfsm.TextFSM(io.StringIO(text))
    rows = fsm.ParseText(output)
    return [dict(zip(fsm.header, row, strict=True)) for row in rows]


def guide_text(marker: str, count: int, occurrence: int = 1) -> str:
    return "".join(f"{line}\n" for line in example(marker, count, occurrence)[1:])


# --- our own data -------------------------------------------------------------------------

OUR_DEVICES = [
    Device(
        0,
        "00:50:56:00:00:01",
        "WS-C3850-24P",
        ip="10.20.0.1",
        hostname="branch-dir",
        is_director=True,
        hop=0,
        serial="FOC0001",
        version="16.3.5",
        image="CAT3K_CAA",
    ),
    Device(
        5,
        "0050.5600.0105",
        "WS-C2960X-48FPD-L",
        ip="10.20.0.105",
        hostname="floor2-a",
        device_type=DeviceType.SMART_INSTALL,
        health=Health.INACTIVE,
        join_state=JoinState.HOLD,
        upgrade=UpgradeStatus(Progress.FAILED, Progress.IN_PROGRESS, Progress.DONE),
        hop=2,
        upstream_mac="0050.5600.0001",
        smi_version=2,
        serial="FOC0105",
    ),
    Device(
        7,
        "0050.5600.0107",
        ip="10.20.0.107",
        hostname="stack-7",
        device_type=DeviceType.SMART_INSTALL,
        join_state=JoinState.DENIED,
        members=(
            StackMember(1, "WS-C3750X-24P-L", "0050.5600.0107"),
            StackMember(2, "WS-C3750X-48P-L", "0050.5600.0207"),
        ),
    ),
    Device(9, "0050.5600.0109"),
    Device(
        11,
        "0050.5600.0111",
        "WS-C4507R+E",
        ip="10.20.0.111",
        hostname="core-4k",
        supervisor="WS-X45-SUP8-E",
        device_type=DeviceType.SMART_INSTALL,
        upgrade=UpgradeStatus(Progress.DONE, Progress.DONE, Progress.DONE),
        smi_version=1,
        capability="Network derived SMI management VLAN supported",
    ),
]


def expected_status_rows(devices: list[Device]) -> list[tuple[str, str, str, str, str, str]]:
    rows = []
    for d in sorted(devices, key=lambda d: d.number):
        for mac, pid in [(m.mac, m.pid) for m in d.members] or [(d.mac, d.pid)]:
            rows.append(
                (str(d.number), mac, pid or "**", d.ip or "**", d.hostname or "**", d.status())
            )
    return rows


@pytest.mark.parametrize("devices", [OUR_DEVICES, test_status.GUIDE_DEVICES])
def test_status_round_trip(devices: list[Device]) -> None:
    rows = parse("status", show_vstack_status(devices))
    got = [
        (r["DEVNO"], r["MAC_ADDRESS"], r["PRODUCT_ID"], r["IP_ADDRESS"], r["HOSTNAME"], r["STATUS"])
        for r in rows
    ]
    assert got == expected_status_rows(devices)
    assert {r["SMARTINSTALL"] for r in rows} == {"ENABLED"}
    for r in rows:
        parse_status_letters(r["STATUS"])  # the letters read back into their parts


def test_status_disabled_parses_to_nothing() -> None:
    assert parse("status", show_vstack_status(OUR_DEVICES, enabled=False)) == []


def test_status_detail_round_trip() -> None:
    details = {
        "0050.5600.0105": DeviceDetail(
            "flash:/vstack/floor2-a-0050.5600.0105.REV2",
            "floor2-a",
            "0123456789ABCDEF0123456789ABCDEF",
            "Same Switch",
        )
    }
    rows = parse("status_detail", show_vstack_status_detail(OUR_DEVICES, details))
    assert [r["DEVICE_NUM"] for r in rows] == ["0", "5", "7", "7", "9", "11"]
    director, floor2, stack1, stack2, pending, core = rows
    assert director["ENTRY_ROLE"] == "Entry" and director["UPSTREAM_ENTRY"] == "Already Root"
    assert director["STATUS"] == "Director" and director["SUPERVISOR"] == ""
    assert (director["SERIAL"], director["VERSION"], director["IMAGE"]) == (
        "FOC0001",
        "16.3.5",
        "CAT3K_CAA",
    )
    assert floor2["MAC_ADDRESS"] == "0050.5600.0105" and floor2["HOP"] == "2"
    assert floor2["UPSTREAM_ENTRY"] == "0050.5600.0001"
    assert floor2["BACKUP_DONE"] == "Yes" and floor2["BACKUP_CLIENT_NAME"] == "floor2-a"
    assert floor2["BACKUP_FILE"] == details["0050.5600.0105"].backup_file
    assert floor2["CHECKSUM"] == "0123456789ABCDEF0123456789ABCDEF"
    assert floor2["REPLACE_TYPE"] == "Same Switch" and floor2["SMI_VERSION"] == "2"
    assert floor2["SUPERVISOR"] == "not applicable" and floor2["STATUS"] == "S I h X c P"
    assert [stack1["PRODUCT_ID"], stack2["PRODUCT_ID"]] == ["WS-C3750X-24P-L", "WS-C3750X-48P-L"]
    assert [stack1["MAC_ADDRESS"], stack2["MAC_ADDRESS"]] == ["0050.5600.0107", "0050.5600.0207"]
    assert pending["SERIAL"] == "Not Found" and pending["HOP"] == "**"
    assert pending["BACKUP_DONE"] == "no" and pending["BACKUP_FILE"] == "none"
    assert core["SUPERVISOR"] == "WS-X45-SUP8-E" and core["STATUS"] == "S A a I C P"
    assert core["CAPABILITY"] == "Network derived SMI management VLAN supported"


def test_config_round_trip() -> None:
    director = test_config.guide_director()
    director.vlans = {10, 20, 21}
    director.set_hostname_prefix("BR")
    director.set_backup(True, "tftp://10.0.0.5/backups")
    director.join_window = JoinWindowSettings(
        Schedule(
            dt.time(6, 30), dt.date(2026, 12, 1), dt.timedelta(hours=2), dt.date(2026, 12, 24)
        ),
        auto=False,
    )
    [row] = parse("config", show_vstack_config(director, Role.DIRECTOR, window_open=True))
    assert row == {
        "ROLE": "Director",
        "SMARTINSTALL": "",
        "DIRECTOR_IP": "1.1.1.163",
        "MODE": "Basic",
        "DEFAULT_VLAN": "1",
        "STARTUP_VLAN": "1000",
        "MANAGEMENT_VLANS": "10,20-21",
        "CONFIG_FILE": "tftp://1.1.1.100/default-config.txt",
        "IMAGE_FILE": "tftp://1.1.1.100/c3750e-universalk9-tar.122-",
        "SCRIPT_FILE": "tftp://1.1.1.100/post-install.txt",
        "HOSTNAME_PREFIX": "BR",
        "JOIN_WINDOW": "Open (scheduled)",
        "JOIN_WINDOW_START_DATE": "01 Dec 2026",
        "JOIN_WINDOW_START_TIME": "06:30",
        "JOIN_WINDOW_INTERVAL": "02:00",
        "JOIN_WINDOW_END_DATE": "24 Dec 2026",
        "JOIN_WINDOW_RECURRING": "no",
        "JOIN_WINDOW_MODE": "manual",
        "BACKUP_MODE": "On (default)",
        "BACKUP_REPOSITORY": "tftp://10.0.0.5/backups",
        "SECURITY_MODE": "legacy (unauthenticated)",
        "ALLOWED_CLIENTS": "any",
    }
    client = DirectorSettings(enabled=False)
    [row] = parse("config", show_vstack_config(client, Role.CLIENT))
    assert (row["ROLE"], row["SMARTINSTALL"], row["DIRECTOR_IP"]) == (
        "Client",
        "disabled",
        "0.0.0.0",
    )


OUR_ENTRIES = [
    DownloadEntry(
        "10.20.0.105",
        "0050.5600.0105",
        DownloadMethod.ZERO_TOUCH,
        DownloadStatus.UPGRADED,
        DownloadStatus.FAILED,
        DownloadStatus.NOT_STARTED,
        hostname="floor2-a",
        config_fail_reason="TFTP timeout after 5 retries",
        image_downloaded_at=dt.datetime(2026, 11, 27, 1, 2, 3, tzinfo=dt.UTC),
    ),
    DownloadEntry(
        "10.20.0.107", "0050.5600.0107", DownloadMethod.IMAGE_UPGRADE, DownloadStatus.UPGRADING
    ),
    DownloadEntry(
        "10.20.0.111",
        "0050.5600.0111",
        DownloadMethod.CONFIG_UPGRADE,
        DownloadStatus.NOT_APPLICABLE,
        DownloadStatus.UPGRADED,
        config_downloaded_at=dt.datetime(2026, 11, 27, 2, 0, 0, tzinfo=dt.UTC),
    ),
]


@pytest.mark.parametrize("entries", [OUR_ENTRIES, test_downloads.GUIDE_ENTRIES])
def test_download_status_round_trip(entries: list[DownloadEntry]) -> None:
    rows = parse("download-status", show_vstack_download_status(entries))
    assert [
        (
            r["NUMBER"],
            r["CLIENT_IP"],
            r["CLIENT_MAC"],
            DownloadMethod.parse(r["METHOD"]),
            DownloadStatus.parse(r["IMAGE_STATUS"]),
            DownloadStatus.parse(r["CONFIG_STATUS"]),
            DownloadStatus.parse(r["SCRIPT_STATUS"]),
            r["TOTAL_ENTRIES"],
        )
        for r in rows
    ] == [
        (
            str(n),
            e.client_ip,
            e.client_mac,
            e.method,
            e.image,
            e.config,
            e.script,
            str(len(entries)),
        )
        for n, e in enumerate(entries, start=1)
    ]


@pytest.mark.parametrize("entries", [OUR_ENTRIES, test_downloads.GUIDE_ENTRIES])
def test_download_status_detail_round_trip(entries: list[DownloadEntry]) -> None:
    rows = parse("download-status_detail", show_vstack_download_status_detail(entries))
    assert len(rows) == len(entries)
    for number, (row, entry) in enumerate(zip(rows, entries, strict=True), start=1):
        assert row["NUMBER"] == str(number)
        assert (row["CLIENT_IP"], row["CLIENT_MAC"], row["CLIENT_HOSTNAME"]) == (
            entry.client_ip,
            entry.client_mac,
            entry.hostname,
        )
        assert row["METHOD"] == entry.method.value
        assert (row["CONFIG_FAIL_REASON"], row["IMAGE_FAIL_REASON"], row["SCRIPT_FAIL_REASON"]) == (
            entry.config_fail_reason,
            entry.image_fail_reason,
            entry.script_fail_reason,
        )
        assert row["IMAGE_DOWNLOADED_AT"] == format_downloaded_at(entry.image_downloaded_at)
        assert row["CONFIG_DOWNLOADED_AT"] == format_downloaded_at(entry.config_downloaded_at)
        assert row["SCRIPT_DOWNLOADED_AT"] == format_downloaded_at(entry.script_downloaded_at)


def test_neighbors_round_trip() -> None:
    one = Device(
        3,
        "0050.5600.0103",
        ip="10.20.0.103",
        hostname="floor1",
        neighbors=(
            Neighbor("Gi1/0/1", "0050.5600.0001", "branch-dir", "10.20.0.1", "Gi1/0/3"),
            Neighbor("Te1/1/1", "0050.5600.0104"),
            Neighbor("finance", "0050.5600.0105", "floor2-a", "10.20.0.105", "Fa0/24"),
        ),
    )
    two = Device(
        4,
        "0050.5600.0104",
        ip="10.20.0.104",
        hostname="floor1b",
        neighbors=(Neighbor("Po1", "0050.5600.0103", "floor1", "10.20.0.103", "Te1/1/1"),),
    )
    for devices in ([one], [one, two]):
        rows = parse("neighbors", show_vstack_neighbors(devices))
        expected = [
            (
                str(d.number) if len(devices) > 1 else "",
                n.mac,
                n.device_id or "**",
                n.ip or "**",
                n.local_port,
                n.port or "**",
            )
            for d in devices
            for n in d.neighbors
        ]
        got = [
            (
                r["DEVICE_NUM"],
                r["MAC_ADDRESS"],
                r["NEIGHBOR_ID"],
                r["NEIGHBOR_IP"],
                canonical_interface(r["LOCAL_INTERFACE"]),
                r["REMOTE_INTERFACE"]
                if r["REMOTE_INTERFACE"] == "**"
                else canonical_interface(r["REMOTE_INTERFACE"]),
            )
            for r in rows
        ]
        assert got == expected


# --- the guide's own example outputs ------------------------------------------------------


def test_guide_status_examples_parse() -> None:
    # Chapter 3, the first show vstack status example ("SmartInstall:  ENABLED", no Script
    # Upgrade legend) and the 4500 example with its irregular spacing.
    rows = parse("status", guide_text("Director# show vstack status", 23, occurrence=2))
    assert len(rows) == 12 and rows[-1]["DEVNO"] == "12" and rows[-1]["STATUS"] == "S A a"
    assert rows[5]["STATUS"] == "S A a I C" and rows[0]["STATUS"] == "Director"
    rows = parse("status", guide_text("Switch# show vstack status", 13))
    assert [(r["DEVNO"], r["HOSTNAME"], r["STATUS"]) for r in rows] == [
        ("0", "Switch", "Director"),
        ("4", "IBC_WOW-08", "S I a C"),
    ]


def test_guide_status_detail_examples_parse() -> None:
    rows = parse("status_detail", guide_text("Director# show vstack status detail", 19))
    assert rows[0]["DEVICE_ID"] == "3750e-163-smi" and rows[0]["UPSTREAM_ENTRY"] == "Already Root"
    block = "-----\n" + guide_text("Example:", 20)
    block = block.replace("-----\n", "-----\nDevice Num      : 4\n")
    [row] = parse("status_detail", block)
    assert (row["SUPERVISOR"], row["REPLACE_TYPE"], row["SMI_VERSION"], row["STATUS"]) == (
        "WS-X45-SUP7-E",
        "Same Switch",
        "1",
        "S I a C",
    )
    assert row["HOP"] == "**" and row["BACKUP_CLIENT_NAME"] == ""


def test_guide_config_examples_parse() -> None:
    [row] = parse("config", guide_text("Director# show vstack config", 16, occurrence=2))
    assert (row["ROLE"], row["STARTUP_VLAN"], row["JOIN_WINDOW"], row["BACKUP_REPOSITORY"]) == (
        "Director",
        "1000",
        "Open (default)",
        "flash:/vstack (default)",
    )
    [row] = parse("config", guide_text("switch# show vstack config", 3))
    assert (row["ROLE"], row["SMARTINSTALL"]) == ("Client", "disabled")


def test_guide_download_status_examples_parse() -> None:
    rows = parse("download-status", guide_text("Switch# show vstack do", 8))
    assert [r["CLIENT_IP"] for r in rows] == ["10.1.1.4", "10.1.1.6", "10.1.1.11"]
    # Chapter 4's copy of the show vstack example keeps its table as spaces.
    rows = parse("download-status", guide_text("Director# show vstack download-status", 7, 2))
    assert [(r["IMAGE_STATUS"], r["CONFIG_STATUS"]) for r in rows] == [
        ("UPGRADED", "**"),
        ("UPGRADING", "UPGRADED"),
        ("NOT STARTED", "**"),
    ]
    rows = parse(
        "download-status_detail", guide_text("Director# **show vstack download-status detail**", 35)
    )
    assert [r["IMAGE_DOWNLOADED_AT"] for r in rows] == ["02:47:39 UTC Mar 30 2011", "-", "-"]


def test_guide_neighbors_example_parses() -> None:
    [row] = parse("neighbors", guide_text("Director #show vstack neighbors 1", 4))
    assert (row["NEIGHBOR_ID"], row["LOCAL_INTERFACE"], row["REMOTE_INTERFACE"]) == (
        "2960pd-47",
        "Gig 1/0/1",
        "Fas 0/7",
    )


# --- the index ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "field"),
    [
        ("show vstack status", "DEVNO"),
        ("sh vs st", "DEVNO"),
        ("show vstack status detail", "DEVICE_NUM"),
        ("show vstack config", "ROLE"),
        ("show vstack download-status", "CLIENT_MAC"),
        ("show vstack download-status detail", "CONFIG_FAIL_REASON"),
        ("show vstack neighbors all", "NEIGHBOR_ID"),
    ],
)
def test_index_selects_the_template(command: str, field: str) -> None:
    with resources.as_file(TEMPLATES) as directory:
        table = clitable.CliTable("index", str(Path(directory)))
        table.ParseCmd("", {"Command": command, "Platform": "cisco_ios"})
    assert field in list(table.header)


def test_every_template_is_indexed_and_shipped() -> None:
    names = {p.name for p in TEMPLATES.iterdir() if p.name.endswith(".textfsm")}
    index = (TEMPLATES / "index").read_text()
    assert names and all(name in index for name in names)


@pytest.mark.parametrize(
    "template", ["status", "status_detail", "config", "download-status", "neighbors"]
)
def test_unknown_lines_are_errors_not_silence(template: str) -> None:
    # A layout change that the template does not know must fail loudly.
    with pytest.raises(textfsm.TextFSMError):
        parse(template, "Unexpected: line of some other layout\n")


# --- generated data -----------------------------------------------------------------------

_hostnames = st.from_regex(r"[A-Za-z][A-Za-z0-9._-]{0,30}", fullmatch=True)
_macs = st.binary(min_size=6, max_size=6).map(lambda b: b.hex())
_ips = st.ip_addresses(v=4).map(str)
_pids = st.from_regex(r"WS-C[0-9]{4}[A-Z]?-[0-9]{2}[A-Z]{1,3}(-[A-Z])?", fullmatch=True)
_progress = st.sampled_from(list(Progress))


@st.composite
def _devices(draw: st.DrawFn) -> list[Device]:
    numbers = draw(st.lists(st.integers(0, 500), min_size=1, max_size=6, unique=True))
    devices = []
    for number in numbers:
        devices.append(
            Device(
                number,
                draw(_macs),
                draw(st.one_of(st.just(""), _pids)),
                ip=draw(st.one_of(st.just(""), _ips)),
                hostname=draw(st.one_of(st.just(""), _hostnames)),
                device_type=draw(st.sampled_from(list(DeviceType))),
                health=draw(st.sampled_from(list(Health))),
                join_state=draw(st.sampled_from(list(JoinState))),
                upgrade=UpgradeStatus(draw(_progress), draw(_progress), draw(_progress)),
                is_director=draw(st.booleans()),
            )
        )
    return devices


@settings(max_examples=40, deadline=None)
@given(_devices())
def test_status_round_trip_generated(devices: list[Device]) -> None:
    rows = parse("status", show_vstack_status(devices))
    got = [
        (r["DEVNO"], r["MAC_ADDRESS"], r["PRODUCT_ID"], r["IP_ADDRESS"], r["HOSTNAME"], r["STATUS"])
        for r in rows
    ]
    assert got == expected_status_rows(devices)


_entries = st.builds(
    DownloadEntry,
    _ips,
    _macs,
    st.sampled_from(list(DownloadMethod)),
    st.sampled_from(list(DownloadStatus)),
    st.sampled_from(list(DownloadStatus)),
    st.sampled_from(list(DownloadStatus)),
    hostname=_hostnames,
    config_fail_reason=st.from_regex(r"[A-Za-z][A-Za-z0-9 :./-]{0,40}", fullmatch=True),
    image_downloaded_at=st.one_of(
        st.none(),
        st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2035, 1, 1)).map(
            lambda d: d.replace(microsecond=0, tzinfo=dt.UTC)
        ),
    ),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(_entries, max_size=5))
def test_download_status_round_trip_generated(entries: list[DownloadEntry]) -> None:
    rows = parse("download-status", show_vstack_download_status(entries))
    assert [(r["CLIENT_IP"], r["CLIENT_MAC"], r["METHOD"]) for r in rows] == [
        (e.client_ip, e.client_mac, e.method.value) for e in entries
    ]
    assert [
        tuple(
            DownloadStatus.parse(r[k]) for k in ("IMAGE_STATUS", "CONFIG_STATUS", "SCRIPT_STATUS")
        )
        for r in rows
    ] == [(e.image, e.config, e.script) for e in entries]
    detail = parse("download-status_detail", show_vstack_download_status_detail(entries))
    assert [(r["CLIENT_HOSTNAME"], r["CONFIG_FAIL_REASON"]) for r in detail] == [
        (e.hostname, e.config_fail_reason) for e in entries
    ]
    assert [parse_downloaded_at(r["IMAGE_DOWNLOADED_AT"]) for r in detail] == [
        e.image_downloaded_at for e in entries
    ]
