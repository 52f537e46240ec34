"""``kill -9`` of the director at named instants of an install, then a restart: the install
completes, no row stays unfinished, and the tables agree with what the switch runs.

Each case starts the director with ``SMARTINSTALL_CRASH_AT=<point>`` (see
:mod:`smartinstall.crashpoints`): it dies as ``kill -9`` would, exactly at that instant, however
loaded the machine is. The test waits for the process to end (an event, not a timer), starts
the director again and waits for the switch to finish. The cases of one test run side by side,
each in its own lab (its own /24 of 127.0.0.0/8).
"""

from __future__ import annotations

import asyncio
import hashlib
import signal
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

from smartinstall.crashpoints import POINTS
from smartinstall.domain.downloads import DownloadStatus
from smartinstall.lab.runner import DirectorRunner, Lab
from smartinstall.switch.machine import State
from tests.e2e.lab_kit import (
    IMAGE,
    director_config,
    lab_prefix,
    make_lab,
    switch,
    topology,
    until_upgraded,
)

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]

IMAGE_SIZE = 2 * 1024 * 1024  # the image-transfer point is reached half way (1 MiB)
NEW_IMAGE = "c2960x-universalk9-tar.152-7.E10.tar"
UNFINISHED = (DownloadStatus.NOT_STARTED, DownloadStatus.UPGRADING)

# The instants of a zero touch, in the order a switch passes them.
ZERO_TOUCH = (
    "dhcp-new-client",
    "dhcp-ack-committed",
    "hello",
    "image-started",
    "image-transfer",
    "image-done",
    "image-done-committed",
    "config-transfer",
    "config-done",
    "script-sent",
)


def failure(error: Exception) -> str:
    """The failure of one case: where (the test's own line) and what."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == __file__]
    where = f"line {frames[-1].lineno}: {frames[-1].line}" if frames else ""
    return f"{where}\n{type(error).__name__}: {error}"


@dataclass
class Outcome:
    point: str
    error: str = ""


def crash_lab(tmp_path: Path, point: str, *, armed: bool = True) -> Lab:
    (tmp_path / point).mkdir(parents=True, exist_ok=True)
    prefix = lab_prefix()
    config = director_config(prefix, "vstack script flash:post.txt\n")
    images = {IMAGE: IMAGE_SIZE, NEW_IMAGE: IMAGE_SIZE}
    topo = topology(tmp_path / point, prefix, config, [switch("sw", 20, prefix)], images=images)
    lab = make_lab(tmp_path / point, topo)
    assert isinstance(lab.director, DirectorRunner)
    if armed:
        lab.director.env = {"SMARTINSTALL_CRASH_AT": point}
    return lab


async def died_at(lab: Lab, point: str, context: str = "") -> None:
    """The director reached ``point`` and died of SIGKILL; then it starts again, unarmed."""
    director = lab.director
    assert isinstance(director, DirectorRunner)
    code = await director.until_exit(60)
    assert code == -signal.SIGKILL, (
        f"{point}: the director did not die there ({code}) {context}\n{director.log()[-3000:]}"
    )
    assert f"crash point {point} reached" in director.log()
    lab.close_database()
    director.env = {}
    await director.start()


def check_tables(lab: Lab, point: str) -> None:
    """One zero-touch row, every column finished and UPGRADED; the switch runs the image."""
    sw = lab.switch("sw")
    rows = [e for e in lab.database().downloads() if e.mac == sw.mac]
    assert len(rows) == 1, f"{point}: {len(rows)} rows\n{lab.show_download_status()}"
    row = rows[0]
    assert (row.image, row.config, row.script) == (DownloadStatus.UPGRADED,) * 3, (
        f"{point}:\n{lab.show_download_status()}"
    )
    unfinished = [e for e in lab.database().downloads() if e.image in UNFINISHED]
    assert unfinished == []
    assert sw.state is State.RUNNING and sw.image == IMAGE
    assert "vlan 99" in (sw.flash.startup_config() or "")  # the post-install script ran
    assert "Traceback" not in lab.director.log()


async def zero_touch_case(tmp_path: Path, point: str) -> Outcome:
    try:
        async with crash_lab(tmp_path, point) as lab:
            await died_at(lab, point)
            await until_upgraded(lab, timeout=120)
            await lab.wait_until(lambda: _script_done(lab), 30)
            check_tables(lab, point)
    except Exception as error:  # one case's failure is reported with the others
        return Outcome(point, failure(error))
    return Outcome(point)


def _script_done(lab: Lab) -> bool:
    entry = lab.latest_download(lab.switch("sw").mac)
    return entry is not None and entry.script is DownloadStatus.UPGRADED


def test_every_zero_touch_point_is_a_known_crash_point() -> None:
    assert set(ZERO_TOUCH) <= set(POINTS)


async def installed(lab: Lab) -> None:
    """Zero touch without a crash."""
    await until_upgraded(lab, timeout=60)
    assert await lab.wait_until(lambda: _script_done(lab), 30)
    assert await lab.switch("sw").wait_for(lambda s: s.state is State.RUNNING, 30)


async def armed_restart(lab: Lab, spec: str) -> None:
    """The director restarted, armed with ``spec`` (``point`` or ``point#n``)."""
    director = lab.director
    assert isinstance(director, DirectorRunner)
    lab.close_database()
    assert await director.stop() == 0
    director.env = {"SMARTINSTALL_CRASH_AT": spec}
    await director.start()


async def console(lab: Lab, command: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "smartinstall.cli", "console", "--data-dir", str(lab.data_dir)],
        input=command + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def on_demand_case(tmp_path: Path, point: str) -> Outcome:
    """``vstack download-image`` of a new image with reload; the director dies at ``point``
    of it; restarted, it asks the switch again and the switch ends on the new image."""
    try:
        async with crash_lab(tmp_path, point, armed=False) as lab:
            await installed(lab)
            await armed_restart(lab, point)
            sw = lab.switch("sw")
            done = await console(
                lab, f"vstack download-image tar flash:{NEW_IMAGE} {sw.ip} NONE reload"
            )
            await died_at(lab, point, f"console: {done.returncode} {done.stdout!r} {done.stderr!r}")
            assert await sw.wait_for(
                lambda s: s.image == NEW_IMAGE and s.state is State.RUNNING, 90
            ), sw.console[-8:]

            def upgraded() -> bool:
                rows = [e for e in lab.database().downloads() if e.mac == sw.mac]
                return len(rows) == 2 and rows[-1].image is DownloadStatus.UPGRADED

            assert await lab.wait_until(upgraded, 30), lab.show_download_status()
            rows = lab.database().downloads()
            assert [e for e in rows if e.image in UNFINISHED or e.config in UNFINISHED] == []
            assert "Traceback" not in lab.director.log()
    except Exception as error:
        return Outcome(point, failure(error))
    return Outcome(point)


async def backup_case(tmp_path: Path, point: str) -> Outcome:
    """A changed configuration saved (``write memory``): the director dies at ``point`` of
    its backup; restarted, REV1 is the previous configuration and REV2 the saved one."""
    try:
        async with crash_lab(tmp_path, point, armed=False) as lab:
            await installed(lab)
            sw = lab.switch("sw")
            backups = lab.data_dir / "flash" / "vstack"
            rev1, rev2 = (backups / f"{sw.hostname}-{sw.mac}.REV{n}" for n in (1, 2))
            await sw.write_memory()  # the configuration the post-install script changed
            assert await lab.wait_until(lambda: rev2.exists() and "POST" in rev2.read_text(), 30)
            before = rev2.read_text()
            # the director backs every client up when it starts (an upload, no rotation: the
            # configuration is the same); the saved one below is the next upload
            await armed_restart(lab, "backup-upload#2" if point == "backup-upload" else point)
            sw.running_config = sw.running_config.replace("\nend", "\nvlan 77\n name SAVED\nend")
            await sw.write_memory()
            await died_at(lab, point)

            def rotated() -> bool:
                return rev2.exists() and "SAVED" in rev2.read_text()

            assert await lab.wait_until(rotated, 30)
            assert rev1.read_text() == before  # the previous revision, not a copy of REV2
            digest = hashlib.md5(rev2.read_bytes()).hexdigest()

            def recorded() -> bool:
                records = lab.database().backups(sw.mac)
                return bool(records) and records[0].checksum.lower() == digest  # newest first

            assert await lab.wait_until(recorded, 30)

            def no_leftovers() -> bool:
                names = [p.name for p in backups.iterdir()]
                return all(n.endswith((".txt", ".REV1", ".REV2")) for n in names)

            assert await lab.wait_until(no_leftovers, 30), sorted(backups.iterdir())
            assert "Traceback" not in lab.director.log()
    except Exception as error:
        return Outcome(point, failure(error))
    return Outcome(point)


async def run_cases(*cases: asyncio.Future[Outcome] | object) -> None:
    outcomes = await asyncio.gather(*cases)  # type: ignore[arg-type]
    failed = [f"{o.point}: {o.error}" for o in outcomes if o.error]
    assert failed == [], "\n\n".join(failed)


async def test_kill_9_at_ten_instants_of_a_zero_touch_then_restart(tmp_path: Path) -> None:
    await run_cases(*(zero_touch_case(tmp_path, p) for p in ZERO_TOUCH))


async def test_kill_9_during_an_on_demand_upgrade_and_a_backup_then_restart(
    tmp_path: Path,
) -> None:
    await run_cases(
        *(on_demand_case(tmp_path, p) for p in ("on-demand-sent", "image-transfer", "image-done")),
        *(backup_case(tmp_path, p) for p in ("backup-upload", "backup-rotated")),
    )
