"""Emulated switches against the real director process on loopback: zero touch, stacks,
backups, health, on-demand commands (guide: "Zero-Touch Installation", "Backing Up the Client
Configuration", "Managing Client Configuration Files")."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from smartinstall.director.bridges import SmiCommandSender
from smartinstall.director.core import CommandRequest
from smartinstall.domain.devices import Health
from smartinstall.domain.downloads import DownloadStatus
from smartinstall.services.smi import SmiSecurity
from smartinstall.switch.fleet import Fleet, FleetSpec
from smartinstall.switch.link import Impairment
from smartinstall.switch.machine import Faults, Member, State, Switch
from smartinstall.switch.netio import NetConfig
from smartinstall.wire import smi_client
from tests.integration.director_harness import DirectorProcess, free_port, lab_prefix
from tests.integration.switch_harness import (
    IMAGE,
    PID,
    director_config,
    make_director,
    make_switch,
)

pytestmark = pytest.mark.timeout(60)

UPGRADED = DownloadStatus.UPGRADED


@pytest.fixture
async def director(tmp_path: Path) -> AsyncIterator[DirectorProcess]:
    prefix = lab_prefix()
    process = make_director(tmp_path, prefix, director_config(prefix))
    process.start()
    yield process
    process.stop()


async def _running(switch: Switch, timeout: float = 15.0) -> None:
    ok = await switch.wait_for(lambda s: s.state is State.RUNNING and s.boots >= 2, timeout)
    assert ok, f"{switch.mac} is {switch.state.value}: {switch.console}"


async def _until(check: object, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():  # type: ignore[operator]
            await asyncio.sleep(0.05)


async def test_zero_touch_image_config_and_script(
    director: DirectorProcess, tmp_path: Path
) -> None:
    switch = make_switch(director, tmp_path, 201)
    switch.power_on()
    try:
        await _running(switch)
        # installed: the image it runs and the configuration (hostname from option 12)
        assert switch.image == IMAGE
        startup = switch.flash.startup_config()
        assert startup is not None and "interface Vlan1" in startup
        assert switch.hostname == "seed"
        assert switch.flash.has_image(IMAGE)
        await director.await_log(
            f"%SMI-6-UPGRD_SUCCESS: Device (IP address: {switch.ip}) image has upgraded"
        )

        def finished() -> bool:
            db = director.database()
            try:
                (entry,) = db.downloads()
                return (entry.image, entry.config, entry.script) == (UPGRADED,) * 3
            finally:
                db.close()

        await _until(finished)
        # the post-install script ran after the reload and is in the startup-config
        startup = switch.flash.startup_config() or ""
        assert "vlan 12\n name TEST" in startup and startup.count("vlan 12") == 1
        db = director.database()
        try:
            device = db.device_by_mac(switch.mac)
            assert device is not None and device.ip == switch.ip and device.pid == PID
            assert device.version == "15.2(7)E9"
            assert device.image == "C2960X-UNIVERSALK9-M"
        finally:
            db.close()
    finally:
        await switch.shutdown()


async def test_stack_gets_one_image_per_member(tmp_path: Path) -> None:
    prefix = lab_prefix()
    images = ["c3750e-universalk9-tar.122-55.SE9.tar", "c3750-ipbasek9-tar.122-55.SE9.tar"]
    extra = f"""vstack group custom stk stack
 image flash:{images[0]}
 image flash:{images[1]} family 3750
 config flash:seed.txt
 match 1 3750e 24poe
 match 2 3750 24poe
 exit
"""
    process = make_director(tmp_path, prefix, director_config(prefix, extra, script=False))
    for name in images:
        (process.flash / name).write_bytes(name.encode() * 2000)
    process.start()
    members = (
        Member(1, "WS-C3750E-24PD-S", "0050.56aa.0101"),
        Member(2, "WS-C3750-24PS-S", "0050.56aa.0102"),
    )
    switch = make_switch(process, tmp_path, 202, "WS-C3750E-24PD-S", members=members)
    switch.power_on()
    try:
        await _running(switch)
        assert switch.flash_state.images == {"1": images[0], "2": images[1]}
        db = process.database()
        try:
            (entry,) = db.downloads()
            assert entry.image is UPGRADED
            device = db.device_by_mac(switch.mac)
            assert device is not None and len(device.members) == 2
        finally:
            db.close()
    finally:
        await switch.shutdown()
        process.stop()


async def test_write_memory_backs_up_to_rev2(director: DirectorProcess, tmp_path: Path) -> None:
    switch = make_switch(director, tmp_path, 203)
    switch.power_on()
    try:
        await _running(switch)
        backups = director.flash / "vstack"
        # the hello after the install (startup-config, no backup yet) gives the first one
        await director.await_log("%SMI-6-SMI_DIRECTOR_BACKUP_SUCCESS")
        switch.running_config = switch.running_config.replace("end\n", "! changed\nend\n")
        await switch.write_memory()
        await director.await_log("%SMI-6-SMI_DIRECTOR_BACKUP_SUCCESS", count=2)
        rev2 = backups / f"seed-{switch.mac}.REV2"
        assert "! changed" in rev2.read_text()
        assert (backups / f"seed-{switch.mac}.REV1").exists()
        assert (
            "%SMI-6-SMI_CLIENT_BACKUP_SUCCESS: Client Device startup configuration backup "
            "successful on repository" in switch.console
        )
    finally:
        await switch.shutdown()


async def test_switch_that_never_comes_back_goes_inactive(
    director: DirectorProcess, tmp_path: Path
) -> None:
    switch = make_switch(director, tmp_path, 204, faults=Faults(never_return=True))
    switch.power_on()
    try:
        assert await switch.wait_for(lambda s: s.state is State.DEAD, 15)
        await director.await_log(
            f"%SMI-6-SWITCH_REMOVE: Device {switch.mac} removed from the Director Database",
            timeout=10,
        )
        db = director.database()
        try:
            device = db.device_by_mac(switch.mac)
            assert device is not None and device.health is Health.INACTIVE
        finally:
            db.close()
    finally:
        await switch.shutdown()


async def test_legacy_client_upgraded_through_http(tmp_path: Path) -> None:
    # A legacy switch hangs off a Smart Install switch, which reports it as a CDP neighbour
    # (the director enters a legacy client only then); it gets the tailored configuration,
    # calls the director on TCP 19140 and is driven over its HTTP exec interface. It is of the
    # network's default product ID, so the default image is for it ("Adding a Client Switch to
    # the Network").
    prefix = lab_prefix()
    extra = "vstack tailored-config enable-password s3cret\n"
    process = make_director(tmp_path, prefix, director_config(prefix, extra, script=False))
    process.start()
    legacy_mac = "0050.56aa.00d2"
    neighbor = smi_client.Neighbor(
        local_port="GigabitEthernet1/0/2",
        mac=legacy_mac,
        device_id="old-switch",
        platform="cisco WS-C2960X-24TS-L legacy",
    )
    upstream = make_switch(process, tmp_path, 209, neighbors=(neighbor,))
    old = make_switch(
        process,
        tmp_path,
        210,
        "WS-C2960X-24TS-L",
        legacy=True,
        http_port=free_port(f"{prefix}.210", socket.SOCK_STREAM),
    )
    assert old.mac == legacy_mac
    upstream.power_on()
    try:
        await _running(upstream)
        old.power_on()
        await _running(old, timeout=20)
        assert old.image == IMAGE and old.flash.has_image(IMAGE)
        assert (old.flash.startup_config() or "").startswith("hostname seed")
        assert old.enable_password == "s3cret"
        await process.await_log(f"legacy client {old.ip} ({legacy_mac}): download and reload done")
        db = process.database()
        try:
            device = db.device_by_mac(legacy_mac)
            assert device is not None and device.device_type.value == "N"
            entry = db.latest_download(legacy_mac)
            assert entry is not None and (entry.image, entry.config) == (UPGRADED, UPGRADED)
        finally:
            db.close()
    finally:
        await old.shutdown()
        await upstream.shutdown()
        process.stop()


async def test_write_erase_and_reload_come_back_with_the_backup(
    director: DirectorProcess, tmp_path: Path
) -> None:
    switch = make_switch(director, tmp_path, 205)
    switch.power_on()
    try:
        await _running(switch)
        await director.await_log("%SMI-6-SMI_DIRECTOR_BACKUP_SUCCESS")
        switch.running_config = switch.running_config.replace("end\n", "! site 205\nend\n")
        await switch.write_memory()
        await director.await_log("%SMI-6-SMI_DIRECTOR_BACKUP_SUCCESS", count=2)
        switch.write_erase()
        switch.reload()
        # zero touch again; with backup on the director answers with the client's REV2
        assert await switch.wait_for(lambda s: s.boots >= 4 and s.state is State.RUNNING, 15)
        assert "! site 205" in (switch.flash.startup_config() or "")
        db = director.database()
        try:
            entries = [e for e in db.downloads() if e.mac == switch.mac]
            assert len(entries) == 2 and entries[-1].method.value == "zero-touch"
        finally:
            db.close()
    finally:
        await switch.shutdown()


async def test_authentication_key_right_wrong_and_missing(tmp_path: Path) -> None:
    prefix = lab_prefix()
    key = "k" * 20
    extra = f"vstack authentication key {key}\n"
    process = make_director(tmp_path, prefix, director_config(prefix, extra, script=False))
    process.start()
    good = make_switch(process, tmp_path, 206, smi_key=key)
    wrong = make_switch(process, tmp_path, 207, smi_key="w" * 20)
    missing = make_switch(process, tmp_path, 208)
    for switch in (good, wrong, missing):
        switch.power_on()
    try:
        for switch in (good, wrong, missing):
            await _running(switch)
        await process.await_log(f"Device (IP address: {good.ip}) image has upgraded successfully")
        for switch in (wrong, missing):
            assert any(line.startswith("%SMI-6-CLIENT_CONN_FAILED") for line in switch.console)
        assert not any("CLIENT_CONN_FAILED" in line for line in good.console)

        def version_of(mac: str) -> str:
            db = process.database()
            try:
                device = db.device_by_mac(mac)
                return device.version if device is not None else ""
            finally:
                db.close()

        # the hello after the install reload says the new version
        await _until(lambda: version_of(good.mac) == "15.2(7)E9")
        db = process.database()
        try:
            for switch in (wrong, missing):
                refused = db.device_by_mac(switch.mac)
                assert refused is not None and not refused.version  # no hello taken
        finally:
            db.close()
    finally:
        for switch in (good, wrong, missing):
            await switch.shutdown()
        process.stop()


async def test_slow_and_lossy_tftp_still_upgrades(
    director: DirectorProcess, tmp_path: Path
) -> None:
    link = Impairment(loss=0.03, delay=0.002, seed=3)
    switch = make_switch(director, tmp_path, 211, tftp_link=link, tftp_windowsize=8)
    switch.power_on()
    try:
        await _running(switch, timeout=40)
        assert switch.image == IMAGE
        assert switch.io.dropped > 0  # type: ignore[attr-defined]
        await director.await_log(
            f"%SMI-6-UPGRD_SUCCESS: Device (IP address: {switch.ip}) image has upgraded"
        )
    finally:
        await switch.shutdown()


async def test_option_82_places_the_switch_behind_its_upstream(
    director: DirectorProcess, tmp_path: Path
) -> None:
    upstream = make_switch(director, tmp_path, 212)
    upstream.power_on()
    try:
        await _running(upstream)
        downstream = make_switch(director, tmp_path, 213)
        downstream.config = replace(
            downstream.config, upstream_port="Gi1/0/5", upstream_mac=upstream.mac
        )
        downstream.power_on()
        try:
            await _running(downstream)
            db = director.database()
            try:
                device = db.device_by_mac(downstream.mac)
                assert device is not None
                assert (device.upstream_mac, device.upstream_ip) == (upstream.mac, upstream.ip)
                assert device.upstream_port == "GigabitEthernet1/0/5" and device.hop == 2
            finally:
                db.close()
        finally:
            await downstream.shutdown()
    finally:
        await upstream.shutdown()


async def test_on_demand_image_and_config_commands(
    director: DirectorProcess, tmp_path: Path
) -> None:
    """Types 2 and 3 as the director's own sender builds them, files from its TFTP server."""
    new_image = "c2960x-universalk9-tar.152-7.E10.tar"
    (director.flash / new_image).write_bytes(b"n" * 50_000)
    (director.flash / "vstack").mkdir(exist_ok=True)
    (director.flash / "vstack" / "imagelist-new.txt").write_text(f"{new_image}\n")
    (director.flash / "branch.txt").write_text("hostname branch-9\n!\nend\n")
    switch = make_switch(director, tmp_path, 214)
    switch.power_on()
    try:
        await _running(switch)
        send = SmiCommandSender(SmiSecurity())
        base = f"tftp://{director.address}:{director.ports['tftp']}"
        port = director.ports["client_smi"]
        await send(
            CommandRequest(
                switch.ip,
                port,
                "download-image",
                url=f"{base}/vstack/imagelist-new.txt",
                reload_now=True,
            )
        )
        assert await switch.wait_for(lambda s: s.boots >= 3 and s.state is State.RUNNING, 15)
        assert switch.image == new_image
        await send(
            CommandRequest(
                switch.ip, port, "download-config", url=f"{base}/branch.txt", reload_now=True
            )
        )
        assert await switch.wait_for(lambda s: s.boots >= 4 and s.state is State.RUNNING, 15)
        assert switch.hostname == "branch-9"

        def reported() -> bool:
            db = director.database()
            try:
                device = db.device_by_mac(switch.mac)
                return device is not None and (device.version, device.hostname) == (
                    "15.2(7)E10",
                    "branch-9",
                )
            finally:
                db.close()

        await _until(reported)  # the hellos after each reload
    finally:
        await switch.shutdown()


async def test_a_fleet_in_one_process_through_zero_touch(tmp_path: Path) -> None:
    prefix = lab_prefix()
    process = make_director(
        tmp_path, prefix, director_config(prefix, script=False), keepalive=10.0, image_size=64_000
    )
    process.start()
    net = NetConfig(
        dhcp_server=(process.address, process.ports["dhcp"]),
        relay_port=process.ports["relay"],
        smi_port=process.ports["client_smi"],
    )
    fleet = Fleet(
        FleetSpec(
            count=12,
            pid=PID,
            first_address=f"{prefix}.150",
            flash_root=tmp_path / "fleet",
            net=net,
            director_port=process.ports["smi"],
            tftp_port=process.ports["tftp"],
            keepalive=5.0,
            dhcp_retry=0.5,
        )
    )
    try:
        fleet.power_on()
        assert await fleet.wait_until_up(60), fleet.states()
        assert len({s.ip for s in fleet.switches}) == 12
        assert fleet.bytes_downloaded() == 12 * 64_000

        def all_upgraded() -> bool:
            db = process.database()
            try:
                entries = db.downloads()
                return len(entries) == 12 and all(e.image is UPGRADED for e in entries)
            finally:
                db.close()

        await _until(all_upgraded, timeout=20)
    finally:
        await fleet.shutdown()
        process.stop()
