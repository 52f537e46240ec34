"""Running and startup configuration: render, save atomically, replay with line numbers."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from smartinstall.ios import CommandError, StartupConfig
from smartinstall.ios.config import MAX_CONFIG_BYTES, write_atomic
from tests.unit.ios.example_set import ExampleSet, make_engine

CONFIG_TEXT = """\
!
hostname IBD
!
banner motd ^Authorized access only^
vstack
vstack startup-vlan 30
vstack group custom lab mac
 match mac 001b.5444.c600
 match mac 001b.5444.c601
 image tftp://10.0.0.5/c2960.tar
ip helper-address 10.0.0.9
ip pool 10.0.0.0 /24
!
end
"""


def test_replay_then_render_is_identical() -> None:
    engine, example = make_engine()
    report = engine.replay(CONFIG_TEXT)
    assert report.ok, report.errors
    assert example.startup_vlan == 30
    assert example.groups["lab"].macs == ["001b.5444.c600", "001b.5444.c601"]
    assert engine.hostname == "IBD"
    assert engine.running_config() == CONFIG_TEXT
    again, _ = make_engine()
    assert again.replay(engine.running_config()).ok
    assert again.running_config() == CONFIG_TEXT


def test_replay_reports_each_failing_line_with_its_number() -> None:
    engine, example = make_engine()
    text = (
        "hostname R2\n"
        "vstack startup-vlan 5000\n"
        "vstack frobnicate\n"
        "vstack group custom g mac\n"
        " image ftp://10.0.0.1/x.tar\n"
        " image flash:ok.tar\n"
        "ip helper-address 10.0.0.7\n"
    )
    report = engine.replay(text, "test-config")
    assert [(error.line_number, error.line) for error in report.errors] == [
        (2, "vstack startup-vlan 5000"),
        (3, "vstack frobnicate"),
        (5, " image ftp://10.0.0.1/x.tar"),
    ]
    assert report.errors[0].message == "% Invalid input detected at '^' marker."
    assert report.errors[2].message == "% ftp: is not a supported location"
    assert str(report.errors[1]) == (
        "line 3, column 8: vstack frobnicate: % Invalid input detected at '^' marker."
    )
    assert report.errors[0].column == 24  # under the last 0 of 5000
    assert report.errors[2].column is None
    # the rest of the file still applies
    assert engine.hostname == "R2"
    assert example.groups["g"].image == "flash:ok.tar"
    assert example.helpers == ["10.0.0.7"]
    assert report.lines == 7


def test_replay_stops_at_end_and_skips_comments() -> None:
    engine, example = make_engine()
    report = engine.replay("! comment\n\nvstack startup-vlan 7\nend\nvstack startup-vlan 8\n")
    assert report.ok and report.lines == 1 and example.startup_vlan == 7


def test_write_memory_saves_atomically(tmp_path: Path) -> None:
    store = StartupConfig.in_directory(tmp_path / "data")
    engine, _ = make_engine(store)
    session = engine.session()
    session.run("enable")
    assert session.run("show startup-config") == "startup-config is not present\n"
    session.run("conf t")
    session.run("vstack startup-vlan 12")
    session.run("end")
    assert session.run("write memory") == "Building configuration...\n[OK]\n"
    saved = (tmp_path / "data" / "startup-config").read_text()
    assert saved == engine.running_config()
    assert os.listdir(tmp_path / "data") == ["startup-config"]  # no temporary left behind
    shown = session.run("show startup-config")
    assert shown.startswith(f"Using {len(saved)} out of {MAX_CONFIG_BYTES} bytes\n")
    # start-up replays what was saved
    fresh, example = make_engine(store)
    report = fresh.load_startup()
    assert report is not None and report.ok
    assert example.startup_vlan == 12


def test_show_running_config_header_counts_bytes() -> None:
    engine, _ = make_engine()
    session = engine.session()
    session.run("enable")
    body = engine.running_config()
    assert session.run("show running-config") == (
        f"Building configuration...\n\nCurrent configuration : {len(body)} bytes\n{body}"
    )
    assert session.run("sh run | i hostname") == "hostname Director\n"


def test_write_without_store_is_an_error() -> None:
    engine, _ = make_engine()
    session = engine.session()
    session.run("enable")
    outcome = session.execute("write memory")
    assert not outcome.ok and "%Error" in outcome.output


def test_write_atomic_replaces_and_keeps_old_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "file"
    write_atomic(target, b"one")
    write_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    (tmp_path / "blocked").mkdir()
    with pytest.raises(OSError):
        write_atomic(tmp_path / "blocked", b"three")  # a directory cannot be replaced
    assert sorted(os.listdir(tmp_path)) == ["blocked", "file"]


def test_example_set_is_rendered_in_order() -> None:
    engine, example = make_engine()
    assert isinstance(example, ExampleSet)
    engine.replay("ip helper-address 10.0.0.2\nip helper-address 10.0.0.1\nvstack\n")
    lines = engine.running_config().splitlines()
    assert lines.index("vstack") < lines.index("ip helper-address 10.0.0.2")
    assert lines.index("ip helper-address 10.0.0.2") < lines.index("ip helper-address 10.0.0.1")


def test_question_mark_in_a_replayed_line_is_an_ordinary_character() -> None:
    engine, example = make_engine()
    report = engine.replay("banner motd ^Questions? Call 555^\n")
    assert report.ok
    assert example.banner == "^Questions? Call 555^"
    session = engine.session()
    assert session.run("banner ?") == "% Unrecognized command\n"  # typed: help, not run


def test_replayed_command_that_asks_does_not_eat_the_next_line() -> None:
    engine, example = make_engine()
    report = engine.replay("do copy running-config startup-config\nvstack startup-vlan 4\n")
    assert [error.line_number for error in report.errors] == [1]
    assert "asks a question" in report.errors[0].message
    assert example.startup_vlan == 4


async def test_write_memory_on_an_event_loop_writes_in_a_thread(tmp_path: Path) -> None:
    # the write waits for the disk (fsync): the loop, which serves DHCP, TFTP and SMI, must not
    writers: list[int] = []

    class Watched(StartupConfig):
        def write(self, text: str) -> None:
            writers.append(threading.get_ident())
            super().write(text)

    store = Watched(tmp_path / "startup-config")
    engine, _ = make_engine(store)
    session = engine.session()
    session.run("enable")
    assert session.run("write memory") == "Building configuration...\n"
    assert await session.settle() == "[OK]\n" and session.settled_ok
    assert writers and writers[0] != threading.get_ident()
    assert store.path.read_text() == engine.running_config()
    # copy running-config startup-config: the same, after its question
    session.run("copy running-config startup-config")
    assert session.run("") == "Building configuration...\n"
    assert await session.settle() == "[OK]\n"
    assert len(writers) == 2


async def test_a_failed_write_on_an_event_loop_is_an_ios_error(tmp_path: Path) -> None:
    (tmp_path / "startup-config").mkdir()  # a directory where the file goes: cannot replace
    engine, _ = make_engine(StartupConfig(tmp_path / "startup-config"))
    session = engine.session()
    session.run("enable")
    session.run("write memory")
    assert (await session.settle()).startswith("%Error writing startup-config (")
    assert not session.settled_ok


async def test_a_replayed_write_memory_is_refused_on_an_event_loop(tmp_path: Path) -> None:
    engine, example = make_engine(StartupConfig(tmp_path / "startup-config"))
    report = engine.replay("do write memory\nvstack startup-vlan 4\n")
    assert [error.line_number for error in report.errors] == [1]
    assert "runs in the background" in report.errors[0].message
    assert example.startup_vlan == 4
    assert not (tmp_path / "startup-config").exists()


async def test_a_save_on_an_event_loop_writes_what_was_configured_when_it_was_asked(
    tmp_path: Path,
) -> None:
    # an SNMP SET is saved this way: the text is the configuration when the save is asked
    # (a change made while the write waits is saved by the next save), then the hooks run
    store = StartupConfig(tmp_path / "startup-config")
    engine, example = make_engine(store)
    saved: list[str] = []
    engine.on_saved.append(lambda: saved.append(store.path.read_text()))
    example.startup_vlan = 10
    saving = engine.save_in_thread()
    example.startup_vlan = 20  # after the save was asked
    await saving
    assert "vstack startup-vlan 10" in store.path.read_text()
    assert saved == [store.path.read_text()]
    (tmp_path / "startup-config").unlink()
    (tmp_path / "startup-config").mkdir()  # cannot be replaced: the write memory error
    with pytest.raises(CommandError, match=r"^%Error writing startup-config \("):
        await engine.save_in_thread()
    assert len(saved) == 1
