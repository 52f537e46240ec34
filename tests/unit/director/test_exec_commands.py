"""The director's EXEC commands on a real database, repository and event log (no network).

Character-for-character layouts are the views' tests; these check that each command reaches
the right data and that confirmations, refusals and filters behave as IOS."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartinstall.director.exec_commands import ExecCommands
from smartinstall.director.ondemand import OnDemandError, parse_builtin
from smartinstall.director.terminals import PreservedLines, build_engine
from smartinstall.domain.devices import Device, DeviceType, JoinState, UpgradeKind
from smartinstall.domain.downloads import DownloadMethod, DownloadStatus
from smartinstall.ios import Engine, Session, StartupConfig
from smartinstall.services.cli_auth import CliAccess
from tests.unit.director.director_host import Host, make_host

CONFIG = "vstack director 127.0.0.1\nvstack basic\n"


@pytest.fixture
def host(tmp_path: Path) -> Host:
    return make_host(tmp_path, CONFIG)


def privileged(host: Host) -> tuple[Engine, Session]:
    engine, _, _, _ = build_engine(host, StartupConfig.in_directory(host.data_dir), ())
    session = engine.session(level=15)
    return engine, session


def add_client(
    host: Host,
    mac: str,
    ip: str,
    pid: str = "WS-C2960X-48FPS-L",
    join: JoinState = JoinState.ALLOWED,
) -> Device:
    return host.db.upsert_device(
        Device(
            0,
            mac,
            pid=pid,
            ip=ip,
            hostname=f"sw-{mac[-2:]}",
            hop=1,
            device_type=DeviceType.SMART_INSTALL,
            join_state=join,
        )
    )


def test_status_shows_the_database_and_disabled_after_no_vstack(host: Host) -> None:
    _, session = privileged(host)
    add_client(host, "0050.5600.0001", "10.1.1.4")
    out = session.run("show vstack status")
    assert out.startswith("SmartInstall: ENABLED\n")
    assert "0050.5600.0001" in out and "10.1.1.4" in out
    assert session.run("show vstack status | include 0050").count("\n") == 1
    host.settings.enabled = False
    assert session.run("show vstack status") == "SmartInstall: DISABLED\n"


def test_status_detail_carries_the_latest_backup(host: Host) -> None:
    _, session = privileged(host)
    device = add_client(host, "0050.5600.0002", "10.1.1.5")
    host.db.record_backup(
        device.mac,
        "sw-02",
        "vstack/sw-02-0050.5600.0002.REV2",
        "0123456789ABCDEF0123456789ABCDEF",
        10,
    )
    out = session.run("show vstack status detail")
    assert "Backup done     : Yes" in out
    assert "Latest backup file: sw-02-0050.5600.0002.REV2" in out
    assert "File checksum   : 0123456789ABCDEF0123456789ABCDEF" in out


def test_download_status_rows_renumber_after_a_confirmed_clear(host: Host) -> None:
    _, session = privileged(host)
    for n in (1, 2, 3):
        host.db.add_download(
            f"0050.5600.001{n}",
            DownloadMethod.ZERO_TOUCH,
            ip=f"10.1.1.{n}",
            hostname=f"sw{n}",
            image=DownloadStatus.UPGRADED,
            config=DownloadStatus.NOT_STARTED,
            script=DownloadStatus.NOT_APPLICABLE,
        )
    assert "Total no of entries : 3" in session.run("show vstack download-status")
    assert session.run("clear vstack download-status entry 2") == (
        "status of upgrading client will not have correct status on clearing the download entry.\n"
    )
    assert session.prompt() == "proceed?[confirm]"
    session.run("n")  # anything but Enter or y aborts
    assert "Total no of entries : 3" in session.run("show vstack download-status")
    session.run("clear vstack download-list entry 2")
    session.run("")
    out = session.run("show vstack download-status")
    assert "Total no of entries : 2" in out
    rows = [line for line in out.splitlines() if line[:1].isdigit()]
    assert [row.split()[0] for row in rows] == ["1", "2"]
    assert "10.1.1.3" in rows[1] and "10.1.1.2" not in out
    detail = session.run("show vstack download-status detail")
    assert "client-hostname: sw3" in detail and "method: zero-touch" in detail
    assert "% Entry 9 does not exist" in session.run("clear vstack download-list entry 9")


async def test_on_hold_clients_and_join_window_status(host: Host) -> None:
    _, session = privileged(host)
    held = add_client(host, "0050.5600.0021", "10.1.1.21", join=JoinState.HOLD)
    denied = add_client(host, "0050.5600.0022", "10.1.1.22", join=JoinState.DENIED)
    assert session.run("vstack on-hold-clients install all") == ""
    out = await session.settle()
    assert f"Client {held.number} (0050.5600.0021) allowed to install" in out
    assert f"% Client {held.number}: " in out  # no image or configuration for its group
    assert session.run("vstack on-hold-clients install all") == "% No client is on hold\n"
    assert "Client not found" in session.run("vstack on-hold-clients remove ipaddr 10.9.9.9")
    session.run(f"vstack join-window-status index {denied.number} held")
    assert session.run("y") == ""
    record = host.db.device_by_mac(denied.mac)
    assert record is not None and record.join_state is JoinState.HOLD


async def test_user_exec_sees_show_commands_but_not_privileged_ones(host: Host) -> None:
    engine, _ = privileged(host)
    session = engine.session()
    assert "Role: Director" in session.run("show vstack config")
    assert "% Invalid input" in session.run(
        "clear vstack director-db"
    ) or "% Unknown command" in session.run("clear vstack director-db")
    assert session.run("show version") == ""  # the host's memory is read in a thread
    assert "uptime is" in await session.settle()


def test_debug_areas_switch_event_log_debugging(host: Host) -> None:
    _, session = privileged(host)
    assert session.run("debug vstack download") == "Smart Install download debugging is on\n"
    assert host.events.debug == {"download"}
    assert host.events.debug_line("download", "x") is not None
    assert "vstack download debugging is on" in session.run("show debugging")
    session.run("undebug all")
    assert host.events.debug == set()
    assert host.events.debug_line("download", "x") is None


def test_on_demand_refuses_unknown_targets_and_a_client_role(host: Host) -> None:
    _, session = privileged(host)
    out = session.run("vstack download-image tar flash:a.tar 10.1.1.99 NONE")
    assert out == "% Client 10.1.1.99 not found in the director database\n"
    host.settings.basic = False
    host.director.refresh_role()
    out = session.run("vstack download-config flash:c.txt 10.1.1.99 NONE startup")
    assert "only on the director" in out


def test_built_in_grammar() -> None:
    words = "3750e 24poe NONE override issu allow-reload reload in 6:30"
    request = parse_builtin(UpgradeKind.IMAGE, words.split())
    assert request.builtin is not None and request.builtin.port_config == "24poe"
    assert request.password == "" and request.override and request.issu
    assert request.allow_reload and request.reload_at == (6, 30) and not request.reload_now
    request = parse_builtin(UpgradeKind.CONFIG, ["3750e", "24poe", "secret", "startup", "reload"])
    assert request.password == "secret" and request.reload_now
    for bad in (
        "3750e 24poe NONE",
        "3750e 24poe NONE startup issu",
        "nope 24 NONE startup",
        "3750e 24poe NONE startup reload in 25:00",
    ):
        with pytest.raises(OnDemandError):
            parse_builtin(UpgradeKind.CONFIG, bad.split())


def test_write_memory_keeps_lines_no_set_takes(host: Host) -> None:
    store = StartupConfig.in_directory(host.data_dir)
    store.write(
        "hostname Branch\nvstack director 127.0.0.1\nvstack dhcp-localserver lab\n"
        " address-pool 10.0.0.0 255.255.255.0\nusername a secret b\n"
    )
    engine, access, _, preserved = build_engine(host, store, ())
    report = engine.load_startup()
    assert report is not None
    preserved.lines = [
        line
        for number, line in enumerate(store.read().splitlines(), 1)
        if number in {e.line_number for e in report.errors}
    ]
    engine.save()
    saved = store.read()
    assert "hostname Branch" in saved and "username a secret 9 $9$" in saved
    assert "vstack dhcp-localserver lab\n address-pool 10.0.0.0 255.255.255.0\n" in saved
    assert isinstance(preserved, PreservedLines) and isinstance(access, CliAccess)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=120))
def test_any_line_gets_an_ios_answer(line: str) -> None:
    engine = Engine(hostname="D")
    engine.add(CliAccess())
    session = engine.session(level=15)
    output = session.run(line)
    assert "Traceback" not in output and "Internal error" not in output


def test_exec_set_can_be_added_with_another_set(host: Host) -> None:
    engine = Engine(hostname="D")
    engine.add(CliAccess())
    engine.add(ExecCommands(host))
    assert "show the status of CDP database" in engine.session(level=15).run("show vstack ?")


WORDS = [
    "show",
    "vstack",
    "status",
    "detail",
    "download-status",
    "neighbors",
    "group",
    "built-in",
    "custom",
    "host",
    "clear",
    "director-db",
    "download-list",
    "entry",
    "download-image",
    "download-config",
    "tar",
    "untar",
    "untar/table",
    "index",
    "on-hold-clients",
    "install",
    "remove",
    "all",
    "client-id",
    "ipaddr",
    "mac",
    "join-window-status",
    "allowed",
    "held",
    "debug",
    "undebug",
    "dir",
    "delete",
    "copy",
    "flash:",
    "flash:../x",
    "tftp://127.0.0.1:9/x",
    "NONE",
    "startup",
    "reload",
    "in",
    "25:61",
    "3750e",
    "24poe",
    "4500",
    "sup8-e",
    "1-3",
    "0",
    "255",
    "10.1.1.1",
    "0050.5600.0001",
    "|",
    "include",
    "?",
    "\x1b[A",
    "\t",
    "terminal",
    "monitor",
]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.sampled_from(WORDS) | st.text(max_size=8), min_size=1, max_size=9))
def test_any_exec_line_gets_an_ios_answer(host: Host, words: list[str]) -> None:
    _, session = privileged(host)
    add_client(host, "0050.5600.0001", "10.1.1.1")
    outcome = session.execute(" ".join(words))
    if session.pending is not None:
        outcome = session.execute("n")
    assert "Internal error" not in outcome.output, words
    assert session.waiting is None or callable(session.waiting)
    session.waiting = None
