"""Damaged inputs are refused loudly, leftovers are cleared at start, and the database can be
checked, backed up while the director runs and restored while it is stopped."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.director_harness import ROOT, DirectorProcess, lab_prefix

pytestmark = pytest.mark.timeout(120)

CONFIG = "vstack director {prefix}.1\nvstack basic\nvstack image flash:x.tar\n"


def smartinstall(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smartinstall.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def director(tmp_path: Path, config: str = CONFIG) -> DirectorProcess:
    prefix = lab_prefix()
    return DirectorProcess(tmp_path / "d", prefix, config.format(prefix=prefix))


def start_alone(process: DirectorProcess, *extra: str) -> subprocess.CompletedProcess[str]:
    """The director command run to its end (it refuses to start, or it is stopped)."""
    return smartinstall(
        "director", "--data-dir", str(process.data_dir), "--address", process.address,
        "--dhcp-port", str(process.ports["dhcp"]), "--tftp-port", str(process.ports["tftp"]),
        "--smi-port", str(process.ports["smi"]), *extra,
    )  # fmt: skip


@pytest.mark.parametrize("damage", ["empty", "garbage"])
def test_an_empty_or_corrupt_database_is_refused_with_one_line(tmp_path: Path, damage: str) -> None:
    process = director(tmp_path)
    database = process.data_dir / "director.db"
    database.write_bytes(b"" if damage == "empty" else b"\x13not a database\x00" * 300)
    done = start_alone(process)
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("%")]
    assert len(errors) == 1, done.stderr
    assert str(database) in errors[0] and "smartinstall db restore" in errors[0]
    assert "Traceback" not in done.stderr
    # nothing was written over it
    assert database.read_bytes() == (b"" if damage == "empty" else b"\x13not a database\x00" * 300)


def test_a_missing_database_in_a_used_data_dir_is_refused_unless_told_to_begin_afresh(
    tmp_path: Path,
) -> None:
    process = director(tmp_path)
    database = process.data_dir / "director.db"
    marker = process.data_dir / "director.db.created"
    assert not marker.exists()
    process.start()  # a brand-new data directory starts, and is marked once it has a database
    try:
        assert f"{marker} written" in process.wait_for_log("director ready")
    finally:
        process.stop()
    for name in ("director.db", "director.db-wal", "director.db-shm"):
        (process.data_dir / name).unlink(missing_ok=True)  # lost while stopped
    done = start_alone(process)
    assert done.returncode == 1
    (error,) = [line for line in done.stderr.splitlines() if line.startswith("%")]
    assert f"{database} is missing" in error and "director.db.created" in error, error
    assert "smartinstall db restore" in error and "--new-database" in error
    assert "Traceback" not in done.stderr
    assert not database.exists()  # refused before anything was created
    # told to, it begins with an empty database, and the new one is guarded in its turn
    proc = subprocess.Popen(
        [*_command(process), "--new-database"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    process.process = proc
    try:
        log = process.wait_for_log("director ready", timeout=30, count=2)
        assert f"{database} is missing: the director begins with an empty database" in log
        assert "director state loaded: 0 entries" in log.rsplit("director ready", 2)[1]
    finally:
        process.stop()
    assert database.is_file() and marker.is_file()


def test_new_database_moves_a_damaged_database_aside(tmp_path: Path) -> None:
    process = director(tmp_path)
    damaged = b"\x13not a database\x00" * 300
    (process.data_dir / "director.db").write_bytes(damaged)
    proc = subprocess.Popen(
        [*_command(process), "--new-database"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    process.process = proc
    try:
        log = process.wait_for_log("director ready", timeout=30)
        assert "is not a SQLite database: moved to director.db.damaged-" in log
    finally:
        process.stop()
    (aside,) = process.data_dir.glob("director.db.damaged-*")
    assert aside.read_bytes() == damaged


def test_a_damaged_startup_config_is_refused_unless_told_to_ignore_it(tmp_path: Path) -> None:
    process = director(tmp_path, CONFIG + "vstack frobnicate 7\n")
    done = start_alone(process)
    assert done.returncode == 1
    (error,) = [line for line in done.stderr.splitlines() if line.startswith("%")]
    assert "line 4 rejected: vstack frobnicate 7" in error and "--ignore-config-errors" in error
    assert not (process.data_dir / "director.db").exists()  # refused before anything started
    # told to, it starts on the lines it takes, and is the director
    command = [*_command(process), "--ignore-config-errors"]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    process.process = proc
    try:
        log = process.wait_for_log("director ready", timeout=30)
        assert "startup-config line 4 rejected" in log
        assert "Director is Enabled" in log
    finally:
        process.stop()


def _command(process: DirectorProcess) -> list[str]:
    return [
        sys.executable, "-m", "smartinstall.cli", "director",
        "--data-dir", str(process.data_dir), "--address", process.address,
        "--dhcp-port", str(process.ports["dhcp"]), "--tftp-port", str(process.ports["tftp"]),
        "--smi-port", str(process.ports["smi"]), "--log-file", str(process.log_file),
    ]  # fmt: skip


def test_leftovers_of_interrupted_backups_are_removed_at_start(tmp_path: Path) -> None:
    process = director(tmp_path)
    vstack = process.flash / "vstack"
    vstack.mkdir(parents=True)
    keep = {"sw-0050.5601.0001.REV2": "hostname sw\n", "sw-0050.5601.0001.REV1": "old\n",
            "imagelist-default.txt": "x.tar\n"}  # fmt: skip
    stale = ["sw-0050.5601.0001.upload", "sw-0050.5601.0001.upload.rev2",
             ".sw-0050.5601.0001.upload.k2j3h4.part"]  # fmt: skip
    for name, text in keep.items():
        (vstack / name).write_text(text)
    for name in stale:
        (vstack / name).write_text("partial")
    process.start()
    try:
        log = process.wait_for_log("director ready")
        assert "removed what interrupted backups left" in log
    finally:
        process.stop()
    assert sorted(p.name for p in vstack.iterdir()) == sorted(keep)
    assert (vstack / "sw-0050.5601.0001.REV2").read_text() == "hostname sw\n"


def test_db_check_backup_while_running_and_restore_while_stopped(tmp_path: Path) -> None:
    process = director(tmp_path)
    data = str(process.data_dir)
    process.start()
    backup = tmp_path / "saved" / "director.db"
    try:
        checked = smartinstall("db", "check", "--data-dir", data)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "Database OK" in checked.stdout and "devices: 1 rows" in checked.stdout
        saved = smartinstall("db", "backup", str(backup), "--data-dir", data)
        assert saved.returncode == 0, saved.stderr
        refused = smartinstall("db", "restore", str(backup), "--data-dir", data)
        assert refused.returncode == 1 and "is running" in refused.stderr
    finally:
        process.stop()
    database = process.data_dir / "director.db"
    database.write_bytes(b"")  # damaged while stopped
    assert smartinstall("db", "check", "--data-dir", data).returncode == 1
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"no database here" * 100)
    bad = smartinstall("db", "restore", str(garbage), "--data-dir", data)
    assert bad.returncode == 1 and "nothing changed" in bad.stderr
    assert database.read_bytes() == b""
    restored = smartinstall("db", "restore", str(backup), "--data-dir", data)
    assert restored.returncode == 0, restored.stderr
    assert smartinstall("db", "check", "--data-dir", data).returncode == 0
    process.start()  # and the director starts on it again
    try:
        assert "director state loaded: 1 entries" in process.wait_for_log("director ready")
    finally:
        process.stop()


def test_the_log_file_survives_rotation(tmp_path: Path) -> None:
    # logrotate's way: the file is renamed away; the director's next lines go to a new file
    process = director(tmp_path)
    process.start()
    try:
        rotated = process.log_file.with_name("director.log.1")
        process.log_file.rename(rotated)
        assert process.process is not None
        process.process.send_signal(signal.SIGHUP)
        after = process.wait_for_log("configuration reloaded")
        assert "director ready" not in after  # a new file, from the rotation on
        assert "director ready" in rotated.read_text()
    finally:
        process.stop()
