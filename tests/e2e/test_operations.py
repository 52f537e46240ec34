"""Operations on a running branch, end to end: backups on ``write memory`` and their rotation,
zero-touch replacement of a failed switch, the director restarted in the middle of an install,
and authenticated mode against an attacker's unauthenticated command (guide: "Backing Up the
Client Configuration", "Replacing a Client Switch"; the security notes of DESIGN.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from smartinstall.director.bridges import SmiCommandSender
from smartinstall.director.core import CommandRequest
from smartinstall.lab.topology import LabSwitch, SwitchFaults
from smartinstall.services.smi import SmiSecurity
from smartinstall.switch.machine import State
from tests.e2e.lab_kit import (
    UPGRADED,
    director_config,
    download_line,
    entry,
    lab_prefix,
    make_lab,
    status_line,
    switch,
    topology,
    until_upgraded,
)

pytestmark = pytest.mark.timeout(120)


async def test_write_memory_backs_up_and_rotates_rev1_rev2(tmp_path: Path) -> None:
    prefix = lab_prefix()
    topo = topology(tmp_path, prefix, director_config(prefix), [switch("sw", 80, prefix)])
    async with make_lab(tmp_path, topo) as lab:
        await until_upgraded(lab)
        sw = lab.switch("sw")
        db = lab.database()
        repo = lab.data_dir / "flash" / "vstack"
        rev2 = repo / f"{sw.hostname}-{sw.mac}.REV2"
        rev1 = repo / f"{sw.hostname}-{sw.mac}.REV1"

        def text(path: Path) -> str:
            return path.read_text() if path.exists() else ""

        # the backup the director takes after the zero-touch reload comes first
        assert await lab.wait_until(lambda: len(db.backups(sw.mac)) >= 1 and rev2.exists(), 15)
        for vlan in (101, 102):
            sw.running_config += f"vlan {vlan}\n"
            await sw.write_memory()
            assert await lab.wait_until(lambda v=vlan: f"vlan {v}" in text(rev2), 15)
        assert await lab.wait_until(lambda: "vlan 101" in text(rev1), 5)
        assert "vlan 102" not in text(rev1)  # REV1 is the previous REV2
        assert len(db.backups(sw.mac)) >= 3
        assert any("SMI_CLIENT_BACKUP_SUCCESS" in line for line in sw.console)


@pytest.mark.slow
async def test_failed_switch_replaced_with_zero_touch_on_the_same_port(tmp_path: Path) -> None:
    prefix = lab_prefix()
    port = {"device": "root", "interface": "GigabitEthernet1/0/5"}
    switches = [switch("root", 90, prefix), switch("old", 91, prefix, upstream=port)]
    topo = topology(tmp_path, prefix, director_config(prefix), switches, keepalive=1)
    async with make_lab(tmp_path, topo) as lab:
        await until_upgraded(lab)
        old = lab.switch("old")
        db = lab.database()
        base = len(db.backups(old.mac))
        old.running_config += "vlan 333\n name OLD-ONLY\n"
        await old.write_memory()
        assert await lab.wait_until(lambda: len(db.backups(old.mac)) > base, 15)
        old_hostname = old.hostname
        await old.shutdown()  # the switch fails
        assert await lab.wait_until(lambda: status_line(lab, "old").split()[6] == "I", 20)
        spec = replace(
            lab.topology.switch("old").spec,
            name="new",
            mac="0050.56e0.0f5b",
            address=f"{prefix}.92",
        )
        new = lab.add_switch(LabSwitch(spec, SwitchFaults()))
        new.power_on()
        assert await new.wait_for(lambda s: s.state is State.RUNNING and s.boots >= 2, 30)
        assert "name OLD-ONLY" in (new.flash.startup_config() or "")
        assert new.hostname == old_hostname
        assert "SWITCH_REPLACE" in lab.director.log()
        assert lab.database().device_by_mac(old.mac) is None
        assert new.mac in lab.show_status()


@pytest.mark.slow
async def test_director_restarted_mid_install_finishes_the_install(tmp_path: Path) -> None:
    prefix = lab_prefix()
    # each fetch waits 1.5 s: the restart happens while the switch downloads
    sw = switch("slow", 100, prefix, faults={"tftp_delay": 1.5})
    topo = topology(tmp_path, prefix, director_config(prefix), [sw])
    async with make_lab(tmp_path, topo) as lab:
        slow = lab.switch("slow")
        assert await lab.wait_until(
            lambda: entry(lab, "slow") is not None and slow.state is State.DOWNLOADING, 20
        )
        lab.close_database()
        assert await lab.director.stop() == 0
        await lab.director.start()
        await until_upgraded(lab, timeout=60)
        assert lab.director.log().count("director ready") == 2
        lines = [line for line in lab.show_download_status().splitlines() if "zero-touch" in line]
        assert len(lines) == 1  # the same entry, kept across the restart
        assert download_line(lab, "slow").split()[4:6] == ["UPGRADED", "UPGRADED"]


@contextlib.contextmanager
def refusals_logged() -> Iterator[asyncio.Event]:
    """An event set when an SMI listener of this process (a lab switch's) refuses a message."""
    refused = asyncio.Event()

    class Refusals(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if getattr(record, "smi_problem", None) == "invalid message":
                refused.set()

    logger = logging.getLogger("smartinstall.services.smi")
    handler, level = Refusals(logging.INFO), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield refused
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


async def test_authenticated_mode_and_an_unauthenticated_type_3_refused(tmp_path: Path) -> None:
    prefix = lab_prefix()
    key = "branch-key-0123456789"
    config = director_config(prefix, f"vstack authentication key {key}\n")
    topo = topology(
        tmp_path,
        prefix,
        config,
        [switch("sw", 110, prefix)],
        auth_key=key,
        files={"evil.txt": "hostname PWNED\nend\n"},
    )
    async with make_lab(tmp_path, topo) as lab:
        await until_upgraded(lab)
        assert "authenticated" in lab.director.log()
        sw = lab.switch("sw")
        e = entry(lab, "sw")
        assert e is not None and e.image is UPGRADED
        before = (sw.boots, sw.flash.startup_config())
        ports = lab.director.ports
        url = f"tftp://{lab.address}:{ports.tftp}/evil.txt"
        request = CommandRequest(
            sw.ip, ports.client_smi, "download-config", url=url, reload_now=True
        )
        # An attacker's type 3 without the key (CVE-2018-0171 style): refused, as the switch's
        # listener logs (%SMI-6-SMI_INVALID_MESSAGE), and nothing changed.
        with refusals_logged() as refused:
            with contextlib.suppress(Exception):
                await SmiCommandSender(SmiSecurity())(request)
            async with asyncio.timeout(10):
                await refused.wait()
        assert (sw.boots, sw.flash.startup_config()) == before
        assert sw.hostname != "PWNED"
        # The same command sealed with the key (for this switch) is obeyed (the refusal was
        # the key's doing).
        sealer = SmiCommandSender(SmiSecurity.from_config(key), recipient_of=lambda _: sw.mac)
        await sealer(request)
        assert await sw.wait_for(lambda s: s.hostname == "PWNED", 15)


async def test_the_director_reaches_the_switches_command_lines(tmp_path: Path) -> None:
    # Guide, "Connecting to a Client Switch": show vstack client … runs a command on each
    # client's command line; the lab's switches have their telnet consoles up for it.
    prefix = lab_prefix()
    topo = topology(
        tmp_path,
        prefix,
        director_config(prefix),
        [switch("one", 90, prefix), switch("two", 91, prefix)],
    )
    async with make_lab(tmp_path, topo) as lab:
        await until_upgraded(lab)
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "smartinstall.cli", "console", "--data-dir",
             str(lab.data_dir)],
            input="show vstack client all NONE running-config\n",
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        for name in ("one", "two"):
            sw = lab.switch(name)
            assert f"({sw.ip}, {sw.mac}):" in result.stdout, result.stdout
            assert f"hostname {sw.hostname}" in result.stdout
