"""System messages where the guide's conditions occur, and the join-window wording (guide,
"Smart Install System Messages")."""

from __future__ import annotations

import datetime as dt
import os
import socket
from pathlib import Path

from smartinstall.director.core import Director
from smartinstall.director.eventlog import EventLog
from smartinstall.director.state import DirectorState
from smartinstall.domain.devices import Device, DeviceType, Health
from smartinstall.domain.settings import DirectorSettings
from smartinstall.store.repository import Repository
from tests.integration.director_harness import DirectorProcess, ScriptedClient, lab_prefix
from tests.integration.test_director import IMAGE, PID, config


async def test_a_dhcp_pool_that_cannot_be_configured_is_said_and_the_rest_runs(
    tmp_path: Path,
) -> None:
    # "SMI-6-SMI_DHCP_ERR: Device failed to [chars] DHCP [chars] — The Smart Install director
    # did not configure or remove a DHCP parameter, such as a DHCP pool"
    prefix = lab_prefix()
    process = DirectorProcess(tmp_path / "director", prefix, config(prefix), keepalive=1.0)
    (process.flash / IMAGE).write_bytes(os.urandom(2_000))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind((process.address, process.ports["dhcp"]))  # the pool's port is in use
        process.start()
        try:
            log = await process.await_log("%SMI-6-SMI_DHCP_ERR: Device failed to configure DHCP")
            assert "pool lab" in log
            client = ScriptedClient(process, "0050.5601.0081", PID)
            client.ip = f"{prefix}.81"
            assert (await client.hello("till-81", has_startup_config=False)).status == 0
        finally:
            process.stop()


def test_a_healthy_legacy_client_is_not_shown_inactive(tmp_path: Path) -> None:
    # A non-Smart-Install client sends no keepalives: silence is not a failure (issue 14:
    # "healthy legacy switches are not shown Inactive"); a Smart Install one still goes.
    clock = [dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.UTC)]
    settings = DirectorSettings()
    settings.set_director("10.9.0.1")
    settings.enable_basic(lambda ip: True)
    state = DirectorState(clock=lambda: clock[0])
    core = Director(
        settings, state, Repository(tmp_path / "flash"), EventLog(clock=lambda: clock[0]),
        address="10.9.0.1", owns_address=lambda ip: True, keepalive_period=60.0,
        clock=lambda: clock[0],
    )  # fmt: skip
    core.refresh_role()
    legacy = Device(0, "0050.5601.0082", ip="10.9.0.82", device_type=DeviceType.NON_SMART_INSTALL)
    smart = Device(0, "0050.5601.0083", ip="10.9.0.83", device_type=DeviceType.SMART_INSTALL)
    state.upsert_device(legacy)
    state.upsert_device(smart)
    core.check_health()
    clock[0] += dt.timedelta(minutes=10)
    gone = core.check_health()
    assert [d.mac for d in gone] == ["0050.5601.0083"]
    still = state.device_by_mac("0050.5601.0082")
    assert still is not None and still.health is Health.ACTIVE
