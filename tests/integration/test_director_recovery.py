"""Installs a director restart interrupted, seen through by the restarted core (its real state,
repository and SMI sender, on a clock the test turns): a zero-touch row follows the client's
retry or is completed from its hello, an on-demand command is sent again, a client that never
returns fails its row after the resume window, and health is judged on this run's keepalives.

The restart is a second :class:`Director` over the state the first one left (what the store
gives back at start); the kill -9 of the whole process is in tests/e2e/test_crash.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartinstall.director.bridges import SmiCommandSender
from smartinstall.director.core import DhcpFacts, Director, HelloFacts, UpgradeReport
from smartinstall.director.eventlog import EventLog
from smartinstall.director.facts import CommandRequest
from smartinstall.director.recovery import INTERRUPTED, request_of, request_text
from smartinstall.director.state import DirectorState
from smartinstall.domain.devices import Device, Health, UpgradeKind
from smartinstall.domain.downloads import DownloadStatus
from smartinstall.domain.groups import GroupFiles
from smartinstall.domain.settings import DirectorSettings
from smartinstall.services.smi import CommandReceived, SmiClientListener, SmiSecurity
from smartinstall.store.repository import Repository
from smartinstall.wire.smi import DownloadImage
from tests.integration.director_harness import free_port, lab_prefix

PID = "WS-C2960X-48FPS-L"
IMAGE = "c2960x-universalk9-tar.152-7.E9.tar"
MAC = "0050.5601.0031"
KEEPALIVE = 60.0
UPGRADED = DownloadStatus.UPGRADED


@dataclass
class Rig:
    tmp_path: Path
    state: DirectorState
    prefix: str
    clock: list[dt.datetime]
    client_port: int
    director: Director

    def restart(self) -> Director:
        """The director again, over the state the last one left."""
        self.director = make_director(self)
        self.director.recover_interrupted()
        return self.director

    def advance(self, seconds: float) -> None:
        self.clock[0] += dt.timedelta(seconds=seconds)


def make_director(rig: Rig) -> Director:
    settings = DirectorSettings()
    settings.set_director(f"{rig.prefix}.1")
    settings.enable_basic(lambda ip: True)
    settings.groups.default = GroupFiles(f"flash:{IMAGE}", "flash:seed.txt")
    events = EventLog(clock=lambda: rig.clock[0])
    director = Director(
        settings, rig.state, Repository(rig.tmp_path / "flash"), events,
        address=f"{rig.prefix}.1", owns_address=lambda ip: True,
        send_command=SmiCommandSender(SmiSecurity(), timeout=3),
        client_smi_port=rig.client_port, tftp_port=6969, keepalive_period=KEEPALIVE,
        clock=lambda: rig.clock[0],
    )  # fmt: skip
    director.repo.write(IMAGE, b"x" * 10)
    director.repo.write("seed.txt", b"hostname x\n")
    director.refresh_role()
    return director


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    prefix = lab_prefix()
    clock = [dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.UTC)]
    state = DirectorState(clock=lambda: clock[0])  # the records' times on the same clock
    rig = Rig(tmp_path, state, prefix, clock, free_port(f"{prefix}.10"), None)  # type: ignore[arg-type]
    rig.director = make_director(rig)
    yield rig
    await rig.director.drain()


def zero_touch(rig: Rig) -> Device:
    """A client in the middle of its zero touch: its imagelist read began."""
    core = rig.director
    offer = core.dhcp_offer(DhcpFacts(MAC, vendor_class=f"cisco-{PID}"))
    assert offer is not None
    core.dhcp_bound(MAC, f"{rig.prefix}.10")
    core.tftp_transfer(f"{rig.prefix}.10", "vstack/imagelist-default.txt", True, False, None)
    entry = rig.state.latest_download(MAC)
    assert entry is not None and entry.image is DownloadStatus.UPGRADING
    device = rig.state.device_by_mac(MAC)
    assert device is not None
    return device


def hello(rig: Rig, image: str, version: str, has_startup_config: bool) -> HelloFacts:
    return HelloFacts(
        mac=MAC, ip=f"{rig.prefix}.10", pid=PID, serial="FOC1", version=version, image=image,
        hostname="sw", has_startup_config=has_startup_config,
    )  # fmt: skip


def row(rig: Rig) -> tuple[DownloadStatus, DownloadStatus]:
    entry = rig.state.latest_download(MAC)
    assert entry is not None
    return entry.image, entry.config


async def test_a_client_up_after_the_restart_completes_its_row_from_its_hello(rig: Rig) -> None:
    zero_touch(rig)
    core = rig.restart()
    assert core.interrupted_count() == 1
    # the zero-touch hello (no configuration yet) leaves the row to the downloads
    core.client_hello(hello(rig, "C2960X-UNIVERSALK9-M", "15.2(2)E", has_startup_config=False))
    assert row(rig) == (DownloadStatus.UPGRADING, DownloadStatus.NOT_STARTED)
    # its last reports were lost: it comes up on the new image with its configuration
    core.client_hello(hello(rig, "C2960X-UNIVERSALK9-M", "15.2(7)E9", has_startup_config=True))
    assert row(rig) == (UPGRADED, UPGRADED)
    assert core.interrupted_count() == 0
    assert "UPGRD_SUCCESS" in "\n".join(core.events.lines())


async def test_a_client_up_on_its_old_image_fails_the_image_with_why(rig: Rig) -> None:
    zero_touch(rig)
    core = rig.restart()
    core.client_hello(hello(rig, "C2960X-UNIVERSALK9-M", "15.2(2)E", has_startup_config=True))
    entry = rig.state.latest_download(MAC)
    assert entry is not None
    assert (entry.image, entry.config) == (DownloadStatus.FAILED, UPGRADED)
    assert INTERRUPTED in entry.image_reason and "15.2(2)E" in entry.image_reason


async def test_a_failure_during_the_restart_waits_for_the_zero_touch_retry(rig: Rig) -> None:
    zero_touch(rig)
    core = rig.restart()
    core.client_upgrade(
        UpgradeReport(MAC, UpgradeKind.IMAGE, "failed", IMAGE, "transfer timed out")
    )
    assert row(rig) == (DownloadStatus.UPGRADING, DownloadStatus.NOT_STARTED)
    # the retry: DHCP again (the same row), the downloads, the reports
    core.dhcp_offer(DhcpFacts(MAC, vendor_class=f"cisco-{PID}"))
    core.dhcp_bound(MAC, f"{rig.prefix}.10")
    assert len(rig.state.downloads()) == 1
    core.client_upgrade(UpgradeReport(MAC, UpgradeKind.IMAGE, "done", IMAGE))
    core.tftp_transfer(f"{rig.prefix}.10", "seed.txt", True, False, None)
    core.tftp_transfer(f"{rig.prefix}.10", "seed.txt", True, True, None)
    assert row(rig) == (UPGRADED, UPGRADED)


async def test_a_client_that_does_not_return_fails_its_row_after_the_window(rig: Rig) -> None:
    zero_touch(rig)
    core = rig.restart()
    window = core.resume_window.total_seconds()
    assert window == max(300.0, KEEPALIVE * 10)
    rig.advance(window - 1)
    core.tick()
    assert row(rig) == (DownloadStatus.UPGRADING, DownloadStatus.NOT_STARTED)
    core.dhcp_bound(MAC, f"{rig.prefix}.10")  # a word from it: the window starts again
    rig.advance(window - 1)
    core.tick()
    assert row(rig) == (DownloadStatus.UPGRADING, DownloadStatus.NOT_STARTED)
    rig.advance(2)
    core.tick()
    entry = rig.state.latest_download(MAC)
    assert entry is not None and entry.finished
    assert (entry.image, entry.config) == (DownloadStatus.FAILED, DownloadStatus.FAILED)
    assert INTERRUPTED in entry.image_reason and "did not return" in entry.config_reason
    assert rig.state.unfinished_download_macs() == set()  # no later hop waits for it


async def test_an_interrupted_on_demand_download_is_sent_again(rig: Rig) -> None:
    core = rig.director
    core.dhcp_bound(MAC, f"{rig.prefix}.10")  # not known yet: nothing
    zero_touch(rig)
    core.client_upgrade(UpgradeReport(MAC, UpgradeKind.IMAGE, "done", IMAGE))
    core.tftp_transfer(f"{rig.prefix}.10", "seed.txt", True, True, None)
    assert row(rig) == (UPGRADED, UPGRADED)
    received: list[CommandReceived] = []
    listener = SmiClientListener(received.append, f"{rig.prefix}.10", rig.client_port)
    await listener.start()
    try:
        device = rig.state.device_by_mac(MAC)
        assert device is not None
        url = f"tftp://{rig.prefix}.1:6969/vstack/imagelist-new.txt"
        result = await core.download(UpgradeKind.IMAGE, url, [device], reload_at=(1, 30))
        assert result.ok == 1, result.lines
        entry = rig.state.latest_download(MAC)
        assert entry is not None and entry.request == f"download-image {url} reload in 01:30"
        await until(lambda: len(received) == 1)
        core = rig.restart()  # the switch's download failed while the director was away
        core.client_keepalive(MAC, f"{rig.prefix}.10")
        core.client_keepalive(MAC, f"{rig.prefix}.10")  # asked once per return, not per word
        await core.drain()
        await until(lambda: len(received) == 2)
        again = received[1].command
        assert isinstance(again, DownloadImage)
        assert again.imagelist_url == url and again.reload_at == (1, 30)
        # it fails again (the director's TFTP was not up yet): asked again, up to the limit
        report = UpgradeReport(MAC, UpgradeKind.IMAGE, "failed", url, "timed out")
        core.client_upgrade(report)
        await core.drain()
        await until(lambda: len(received) == 3)
        core.client_upgrade(report)
        await core.drain()
        await until(lambda: len(received) == 4)
        core.client_upgrade(report)  # the limit: the failure stands
        await core.drain()
        entry = rig.state.latest_download(MAC)
        assert entry is not None and entry.image is DownloadStatus.FAILED
        assert len(received) == 4
    finally:
        await listener.close()


async def test_health_counts_only_the_keepalives_this_run_could_hear(rig: Rig) -> None:
    zero_touch(rig)
    core = rig.director
    core.client_hello(hello(rig, "C2960X-UNIVERSALK9-M", "15.2(7)E9", has_startup_config=True))
    rig.advance(3600)  # the director was stopped for an hour
    core = rig.restart()
    assert core.check_health() == []  # not heard for an hour, but this run just began
    device = rig.state.device_by_mac(MAC)
    assert device is not None and device.health is Health.ACTIVE
    rig.advance(KEEPALIVE * 3 + 1)
    assert [d.mac for d in core.check_health()] == [MAC]


def test_an_on_demand_request_reads_back_as_it_was_written() -> None:
    for request in (
        CommandRequest("10.0.0.2", 4786, "download-image", url="tftp://10.0.0.1/x.tar"),
        CommandRequest("10.0.0.2", 4786, "download-config", url="tftp://10.0.0.1/c.txt",
                       reload_now=True),
        CommandRequest("10.0.0.2", 4786, "download-image", url="tftp://10.0.0.1/il.txt",
                       reload_at=(0, 5)),
    ):  # fmt: skip
        assert request_of(request_text(request), "10.0.0.2", 4786) == request


@given(st.text(max_size=300))
def test_an_on_demand_request_from_the_database_never_breaks_the_director(text: str) -> None:
    found = request_of(text, "10.0.0.2", 4786)
    assert found is None or found.kind in ("download-image", "download-config")


async def until(predicate: object, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():  # type: ignore[operator]
        assert loop.time() < deadline, "not within the time"
        await asyncio.sleep(0.02)


async def test_a_row_whose_client_went_fails_after_the_stuck_window(rig: Rig) -> None:
    # issue 14, "Stuck rows": a row that never completes times out to FAILED with a reason and
    # no longer blocks the next hop
    zero_touch(rig)
    core = rig.director
    window = core.stuck_after.total_seconds()
    assert window == max(1800.0, KEEPALIVE * 30)
    rig.advance(window - 5)
    core.tick()
    assert row(rig) == (DownloadStatus.UPGRADING, DownloadStatus.NOT_STARTED)
    core.tftp_progress(f"{rig.prefix}.10")  # its image is still coming: not stuck
    rig.advance(window - 5)
    core.tick()
    assert row(rig) == (DownloadStatus.UPGRADING, DownloadStatus.NOT_STARTED)
    rig.advance(11)
    core.tick()
    entry = rig.state.latest_download(MAC)
    assert entry is not None and entry.finished
    assert "no word from the client" in entry.image_reason
    assert rig.state.unfinished_download_macs() == set()


async def test_a_later_download_supersedes_an_open_on_demand_row(rig: Rig) -> None:
    zero_touch(rig)
    core = rig.director
    core.client_upgrade(UpgradeReport(MAC, UpgradeKind.IMAGE, "done", IMAGE))
    core.tftp_transfer(f"{rig.prefix}.10", "seed.txt", True, True, None)
    received: list[CommandReceived] = []
    listener = SmiClientListener(received.append, f"{rig.prefix}.10", rig.client_port)
    await listener.start()
    try:
        device = rig.state.device_by_mac(MAC)
        assert device is not None
        url = f"tftp://{rig.prefix}.1:6969/vstack/imagelist-new.txt"
        assert (await core.download(UpgradeKind.IMAGE, url, [device])).ok == 1
        first = rig.state.latest_download(MAC)
        assert first is not None and not first.finished
        config = f"tftp://{rig.prefix}.1:6969/new.txt"
        assert (await core.download(UpgradeKind.CONFIG, config, [device])).ok == 1
        before = rig.state.download(first.id)
        assert before is not None and before.image is DownloadStatus.FAILED
        assert "superseded by a later config-upgrade download" in before.image_reason
        latest = rig.state.latest_download(MAC)
        assert latest is not None and latest.id != first.id and not latest.finished
        # and a zero touch (the switch was wiped) ends the open on-demand row too
        core.dhcp_offer(DhcpFacts(MAC, vendor_class=f"cisco-{PID}"))
        ended = rig.state.download(latest.id)
        assert ended is not None and ended.finished
        newest = rig.state.latest_download(MAC)
        assert newest is not None and newest.method.value == "zero-touch"
    finally:
        await listener.close()
