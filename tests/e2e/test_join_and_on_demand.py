"""Join-window modes and on-demand upgrades end to end (guide: "Join window", "Configuring
On-Demand Upgrades"). The director runs on the lab's loop here, so the test calls the director
core as the operator's EXEC commands do (``vstack on-hold-clients install``, ``vstack
download-image|download-config``); the ``reload in`` test types its command on the director
process's console."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from smartinstall.director.views import devices_in_builtin_group
from smartinstall.domain.catalog import builtin_key
from smartinstall.domain.devices import UpgradeKind
from smartinstall.lab.runner import Lab
from smartinstall.switch.machine import State
from tests.e2e.lab_kit import (
    IMAGE,
    director_config,
    download_line,
    entry,
    group_file,
    lab_prefix,
    make_lab,
    status_line,
    switch,
    topology,
    until_upgraded,
)
from tests.turned_clock import TurnedClock

pytestmark = pytest.mark.timeout(150)

NEW_IMAGE = "c2960x-universalk9-tar.152-7.E10.tar"


def core(lab: Lab):  # type: ignore[no-untyped-def]
    daemon = getattr(lab.director, "daemon", None)
    assert daemon is not None, "the director runs in the lab's process"
    return daemon.director


async def test_manual_mode_holds_then_on_hold_install_upgrades(tmp_path: Path) -> None:
    # Guide: in manual mode a new client is put on hold (h) until the operator installs it.
    prefix = lab_prefix()
    config = director_config(prefix, "no vstack join-window mode auto\n")
    topo = topology(tmp_path, prefix, config, [switch("held", 120, prefix)])
    async with Lab(topo, tmp_path / "lab", dhcp_retry=0.5, director_in_process=True) as lab:
        sw = lab.switch("held")
        assert await sw.wait_for(lambda s: s.state is State.WAITING, 20)
        assert status_line(lab, "held").split()[-1] == "h"
        assert entry(lab, "held") is None and sw.bytes_downloaded == 0
        device = lab.database().device_by_mac(sw.mac)
        assert device is not None
        answer = core(lab).hold_install(device)
        assert "allowed" in answer, answer
        await until_upgraded(lab)
        assert sw.image == IMAGE
        assert status_line(lab, "held").split()[5:8] == ["S", "A", "a"]


async def test_on_demand_image_to_an_index_range_and_config_to_a_built_in_group(
    tmp_path: Path,
) -> None:
    # Guide: `vstack download-image … 1-2 reload in …` and `vstack download-config … built-in
    # <family> <ports>`; the download-status table gets image-upgrade / config-upgrade rows.
    prefix = lab_prefix()
    switches = [
        switch("a", 130, prefix),
        switch("b", 131, prefix),
        switch("c", 132, prefix, pid="WS-C3560-24TS-S"),
    ]
    body = """vstack group built-in 3560 24
 image flash:c3560-ipbasek9-tar.122-55.SE12.tar
 config flash:g3560.txt
!
"""
    images = {IMAGE: 40_000, NEW_IMAGE: 50_000, "c3560-ipbasek9-tar.122-55.SE12.tar": 30_000}
    files = {
        "g3560.txt": group_file("g3560"),
        "vstack/imagelist-new.txt": f"{NEW_IMAGE}\n",
        "office-new.txt": group_file("office-new"),
    }
    topo = topology(
        tmp_path, prefix, director_config(prefix, body), switches, images=images, files=files
    )
    async with Lab(topo, tmp_path / "lab", dhcp_retry=0.5, director_in_process=True) as lab:
        await until_upgraded(lab)
        director = core(lab)
        db = lab.database()
        tftp = f"tftp://{lab.address}:{lab.director.ports.tftp}"
        targets = [d for d in db.devices() if d.number in (1, 2)]
        assert {d.mac for d in targets} == {lab.switch("a").mac, lab.switch("b").mac}
        result = await director.download(
            UpgradeKind.IMAGE, f"{tftp}/vstack/imagelist-new.txt", targets, reload_now=True
        )
        assert result.ok == 2, result.lines
        group = devices_in_builtin_group(db.devices(), builtin_key("3560", "24"))
        assert [d.mac for d in group] == [lab.switch("c").mac]
        result = await director.download(
            UpgradeKind.CONFIG, f"{tftp}/office-new.txt", group, reload_now=True
        )
        assert result.ok == 1, result.lines

        def done() -> bool:
            rows = lab.show_download_status()
            return (
                rows.count("image-upgrade") == 2
                and "config-upgrade" in rows
                and all(download_line(lab, n).split()[4:6] != ["NOT", "STARTED"] for n in "abc")
            )

        assert await lab.wait_until(done, 30)
        for name in ("a", "b"):
            sw = lab.switch(name)
            assert await sw.wait_for(
                lambda s: s.image == NEW_IMAGE and s.state is State.RUNNING, 30
            )
        sw_c = lab.switch("c")
        assert await sw_c.wait_for(lambda s: s.hostname == "OFFICE-NEW", 30)

        def reported() -> bool:
            versions = {
                lab.database().device_by_mac(lab.switch(n).mac).version  # type: ignore[union-attr]
                for n in ("a", "b")
            }
            return versions == {"15.2(7)E10"} and "OFFICE-NEW" in status_line(lab, "c")

        assert await lab.wait_until(reported, 20), lab.show_status()
        lines = [line.split() for line in lab.show_download_status().splitlines()]
        upgrades = [line for line in lines if line[3:4] in (["image-upgrade"], ["config-upgrade"])]
        assert len(upgrades) == 3
        assert all("UPGRADED" in line for line in upgrades), upgrades


@pytest.mark.slow
async def test_recurring_window_opens_and_the_waiting_switch_joins(tmp_path: Path) -> None:
    # Guide: a recurring window; a switch that asks before it opens is denied (d), and is let
    # in when the window opens (state a), without anyone touching it.
    # The director's clock is turned to the window's start instead of waiting for it.
    prefix = lab_prefix()
    clock = "10:00"
    from smartinstall.lab.topology import pinned_zone

    zone = ZoneInfo(pinned_zone(clock))
    start = (dt.datetime.now(zone) + dt.timedelta(minutes=2)).replace(second=0, microsecond=0)
    config = director_config(prefix, f"vstack join-window start {start:%H:%M} 00:10 recurring\n")
    topo = topology(tmp_path, prefix, config, [switch("early", 140, prefix)], clock=clock)
    async with Lab(topo, tmp_path / "lab", dhcp_retry=0.5, director_in_process=True) as lab:
        director = core(lab)
        ahead = [dt.timedelta(0)]  # how far the director's clock runs ahead of the wall clock
        director._clock = lambda: dt.datetime.now(director.tz) + ahead[0]
        sw = lab.switch("early")
        assert await sw.wait_for(lambda s: s.state is State.WAITING, 20)
        assert status_line(lab, "early").split()[-1] == "d"
        assert entry(lab, "early") is None
        opened_at = dt.datetime.now(dt.UTC)
        ahead[0] = start - dt.datetime.now(director.tz)  # the window's start is now
        await until_upgraded(lab, timeout=60)
        e = entry(lab, "early")
        assert e is not None and e.created_at >= opened_at  # offered only once it opened
        # the director's tick (every second) announces the opening
        assert await lab.wait_until(lambda: "SMI Join window Start" in lab.director.log(), 5)
        assert status_line(lab, "early").split()[5:8] == ["S", "A", "a"]


@pytest.mark.slow
async def test_on_demand_config_with_reload_in_reloads_after_the_delay(tmp_path: Path) -> None:
    # Guide, vstack download-config: "in time—Specifies the time to reload the switch using
    # the format hh:mm"; the command reference's example "reload in 10:00" reloads the switch
    # "in 10 hours". The operator types the command on the director's console; the switch
    # saves the configuration at once and reloads into it one minute later.
    prefix = lab_prefix()
    topo = topology(
        tmp_path,
        prefix,
        director_config(prefix),
        [switch("till", 150, prefix)],
        files={"till-new.txt": group_file("till-new")},
    )
    async with make_lab(tmp_path, topo) as lab:
        await until_upgraded(lab)
        sw = lab.switch("till")
        boots, hostname = sw.boots, sw.hostname
        sw.reload_timer = clock = TurnedClock()  # the minute passes when the test says so
        url = f"tftp://{lab.address}:{lab.director.ports.tftp}/till-new.txt"
        command = f"vstack download-config {url} {sw.ip} NONE startup reload in 00:01\n"
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "smartinstall.cli", "console", "--data-dir",
             str(lab.data_dir)],
            input=command, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        scheduled = "Reload scheduled in 0 hours and 1 minutes by the director"
        assert await sw.wait_for(lambda s: scheduled in s.console, 20), sw.console[-5:]
        assert "TILL-NEW" in (sw.flash.startup_config() or "")
        assert clock.waiting == [60.0]  # in one minute
        assert clock.advance(59) == 0  # not yet
        assert (sw.boots, sw.hostname) == (boots, hostname)
        assert clock.advance(1) == 1  # the minute is up: it reloads into the new configuration
        assert await sw.wait_for(lambda s: s.boots == boots + 1 and s.state is State.RUNNING, 30), (
            sw.console[-5:]
        )
        assert sw.hostname == "TILL-NEW"
        assert await lab.wait_until(lambda: "TILL-NEW" in status_line(lab, "till"), 30), (
            lab.show_status()
        )
