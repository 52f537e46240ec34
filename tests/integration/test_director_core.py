"""The director core with its real database, repository and SMI sender, without the daemon:
manual join-window mode, the hold list and the install push (guide: "Configuring Join Window
Mode", vstack on-hold-clients install/remove, Table 1-3)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from smartinstall.director.bridges import SmiCommandSender
from smartinstall.director.core import DhcpFacts, Director, UpgradeReport
from smartinstall.director.eventlog import EventLog
from smartinstall.director.state import DirectorState
from smartinstall.domain.devices import JoinState, UpgradeKind
from smartinstall.domain.groups import GroupFiles
from smartinstall.domain.joinwindow import JoinWindowSettings, parse_schedule
from smartinstall.domain.provisioning import OfferAction
from smartinstall.domain.settings import DirectorSettings
from smartinstall.services.smi import CommandReceived, SmiClientListener, SmiSecurity
from smartinstall.store.repository import Repository
from smartinstall.wire.smi import DownloadConfig, DownloadImage
from tests.integration.director_harness import free_port, lab_prefix

PID = "WS-C2960X-48FPS-L"


@dataclass
class Rig:
    director: Director
    events: EventLog
    db: DirectorState
    prefix: str
    clock: list[dt.datetime]


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    prefix = lab_prefix()
    settings = DirectorSettings()
    settings.set_director(f"{prefix}.1")
    settings.enable_basic(lambda ip: True)
    settings.groups.default = GroupFiles("flash:c2960x.tar", "flash:seed.txt")
    settings.join_window = JoinWindowSettings(auto=False)  # manual: joiners are held
    db = DirectorState()
    clock = [dt.datetime(2026, 11, 27, 10, 0, tzinfo=dt.UTC)]
    events = EventLog(clock=lambda: clock[0])
    director = Director(
        settings, db, Repository(tmp_path / "flash"), events,
        address=f"{prefix}.1", owns_address=lambda ip: True,
        send_command=SmiCommandSender(SmiSecurity(), timeout=3),
        client_smi_port=free_port(f"{prefix}.10"), tftp_port=6969, clock=lambda: clock[0],
    )  # fmt: skip
    director.refresh_role()
    yield Rig(director, events, db, prefix, clock)
    await director.drain()


async def test_manual_mode_holds_then_install_pushes_image_and_config(rig: Rig) -> None:
    core = rig.director
    offer = core.dhcp_offer(DhcpFacts("0050.5601.0001", vendor_class=f"cisco-{PID}"))
    assert offer is not None and offer.action is OfferAction.HOLD
    core.dhcp_bound("0050.5601.0001", f"{rig.prefix}.10")
    device = rig.db.device_by_mac("0050.5601.0001")
    assert device is not None and device.join_state is JoinState.HOLD
    assert device.status() == "P A h"

    received: list[CommandReceived] = []
    listener = SmiClientListener(received.append, f"{rig.prefix}.10", core.client_smi_port)
    await listener.start()
    try:
        core.repo.write("c2960x.tar", b"x" * 10)
        core.repo.write("seed.txt", b"hostname x\n")
        message = core.hold_install(device)
        assert message == f"Client {device.number} (0050.5601.0001) allowed to install"
        await core.drain()
        for _ in range(50):
            if len(received) >= 2:
                break
            await asyncio.sleep(0.05)
    finally:
        await listener.close()
    commands = [r.command for r in received]
    config = next(c for c in commands if isinstance(c, DownloadConfig))
    image = next(c for c in commands if isinstance(c, DownloadImage))
    assert config.config_url == f"tftp://{rig.prefix}.1:6969/seed.txt"
    assert image.imagelist_url == f"tftp://{rig.prefix}.1:6969/vstack/imagelist-default.txt"
    after = rig.db.device_by_mac("0050.5601.0001")
    assert after is not None and after.join_state is JoinState.ALLOWED
    (entry,) = rig.db.downloads()
    assert entry.method.value == "zero-touch"


async def test_removed_client_is_denied_until_it_restarts(rig: Rig) -> None:
    core = rig.director
    core.dhcp_offer(DhcpFacts("0050.5601.0002", vendor_class=f"cisco-{PID}"))
    device = rig.db.device_by_mac("0050.5601.0002")
    assert device is not None
    assert "removed from the hold list" in core.hold_remove(device)
    device = rig.db.device_by_mac("0050.5601.0002")
    assert device is not None
    assert core.hold_install(device).startswith("% Request denied")


async def test_join_window_transition_messages(rig: Rig) -> None:
    core = rig.director
    core.settings.join_window = JoinWindowSettings(parse_schedule(["10:30", "01:00"]))
    core.tick()  # 10:00, closed
    rig.clock[0] = dt.datetime(2026, 11, 27, 10, 30, tzinfo=dt.UTC)
    core.tick()
    rig.clock[0] = dt.datetime(2026, 11, 27, 11, 30, tzinfo=dt.UTC)
    core.tick()
    lines = [line for line in rig.events.lines() if "JOIN_WINDOW" in line]
    assert lines == [
        f"Nov 27 10:30:00.000: %SMI-6-SMI_JOIN_WINDOW_MESSAGE: SMI Join window Start on IBD(IP address: {rig.prefix}.1)",
        f"Nov 27 11:30:00.000: %SMI-6-SMI_JOIN_WINDOW_MESSAGE: SMI Join window End on IBD(IP address: {rig.prefix}.1)",
    ]


async def test_hop_two_waits_while_hop_one_upgrades(rig: Rig) -> None:
    core = rig.director
    core.settings.join_window = JoinWindowSettings()
    core.repo.write("c2960x.tar", b"x" * 10)
    core.repo.write("seed.txt", b"hostname x\n")
    core.dhcp_offer(DhcpFacts("0050.5601.0003", vendor_class=f"cisco-{PID}"))
    # The hop-1 switch reports the new one as its neighbour on Gi1/0/48.
    from smartinstall.domain.devices import Neighbor

    core.client_neighbors("0050.5601.0003", (Neighbor("Gi1/0/48", "0050.5601.0004"),))
    offer = core.dhcp_offer(DhcpFacts("0050.5601.0004", vendor_class=f"cisco-{PID}"))
    assert offer is not None and offer.action is OfferAction.WAIT
    hop2 = rig.db.device_by_mac("0050.5601.0004")
    assert hop2 is not None and hop2.hop == 2 and hop2.upstream_port == "GigabitEthernet1/0/48"


async def test_missing_script_fails_with_a_reason(rig: Rig) -> None:
    # "You must create the post-install text file … else the post install operation will fail."
    core = rig.director
    core.settings.join_window = JoinWindowSettings()
    core.settings.groups.default.script = "flash:post_install.txt"
    core.repo.write("c2960x.tar", b"x" * 10)
    core.repo.write("seed.txt", b"hostname x\n")
    core.dhcp_offer(DhcpFacts("0050.5601.0005", vendor_class=f"cisco-{PID}"))
    (entry,) = rig.db.downloads()
    assert entry.script.value == "FAILED"
    assert entry.script_reason == "post_install.txt not found on flash:"
    assert entry.image.value == "NOT STARTED" and entry.config.value == "NOT STARTED"
    assert any("%SMI-3-UPGRD_FAILED" in line and "script" in line for line in rig.events.lines())


async def test_vanished_director_address_makes_a_client(rig: Rig) -> None:
    core = rig.director
    owned = [True]
    core.owns_address = lambda ip: owned[0]
    assert core.refresh_role().value == "Director"
    owned[0] = False
    core.tick()
    assert core.role.value == "Client"
    assert core.dhcp_offer(DhcpFacts("0050.5601.0006")) is None  # no snooping, no database
    assert rig.events.lines()[-1].endswith("%SMI-5-DIRECTOR: Director is Disabled")


async def test_denied_client_gets_its_files_at_the_next_window(rig: Rig) -> None:
    # "the director does not send files to the client until the next configured join window"
    core = rig.director
    core.settings.join_window = JoinWindowSettings(parse_schedule(["10:30", "01:00"]))
    facts = DhcpFacts("0050.5601.0007", vendor_class=f"cisco-{PID}")
    offer = core.dhcp_offer(facts)
    assert offer is not None and offer.action is OfferAction.DENY
    rig.clock[0] = dt.datetime(2026, 11, 27, 10, 45, tzinfo=dt.UTC)
    offer = core.dhcp_offer(facts)
    assert offer is not None and offer.action is OfferAction.INSTALL
    rig.clock[0] = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
    offer = core.dhcp_offer(facts)
    assert offer is not None and offer.action is OfferAction.DENY


async def test_held_client_stays_held_and_removed_one_is_held_again_after_restart(rig: Rig) -> None:
    core = rig.director
    facts = DhcpFacts("0050.5601.0008", vendor_class=f"cisco-{PID}")
    assert core.dhcp_offer(facts).action is OfferAction.HOLD  # type: ignore[union-attr]
    assert core.dhcp_offer(facts).action is OfferAction.HOLD  # type: ignore[union-attr]
    device = rig.db.device_by_mac(facts.mac)
    assert device is not None
    core.hold_remove(device)
    # guide, vstack on-hold-clients remove: off the hold list (no "h") until it restarts
    removed = rig.db.device_by_mac(facts.mac)
    assert removed is not None and removed.join_state is JoinState.ALLOWED
    assert removed.status().split()[2] == "a"
    assert core.dhcp_offer(facts).action is OfferAction.HOLD  # type: ignore[union-attr]
    record = rig.db.device_record(facts.mac)
    assert record is not None and not record.removed_from_hold


async def test_no_files_for_a_product_id_is_logged_once(rig: Rig) -> None:
    core = rig.director
    core.settings.join_window = JoinWindowSettings()
    core.settings.groups.default = GroupFiles()
    facts = DhcpFacts("0050.5601.0009", vendor_class="cisco-WS-C3560-24TS-S")
    for _ in range(3):
        offer = core.dhcp_offer(facts)
        assert offer is not None and offer.action is OfferAction.NOTHING
    # the message names the client's address: it waits for the lease (guide: "[inet] is the IP
    # address of that device")
    assert not any("IMG_CFG_NOT_CONFIGURED" in x for x in rig.events.lines())
    core.dhcp_bound(facts.mac, "10.1.1.9")
    core.dhcp_bound(facts.mac, "10.1.1.9")
    lines = rig.events.lines()
    assert (
        sum(
            "%SMI-3-IMG_CFG_NOT_CONFIGURED: WS-C3560-24TS-S (IP Address :10.1.1.9)" in x
            for x in lines
        )
        == 1
    )
    assert "0.0.0.0" not in "".join(lines)
    assert (
        sum(
            "%SMI-6-INCORRECT_CFG: No image and config configured for this Product-ID WS-C3560-24TS-S"
            in x
            for x in lines
        )
        == 1
    )


async def test_upgrade_reports_still_count_after_the_row_left_the_255_entry_table(rig: Rig) -> None:
    # The download-status table keeps 255 rows; a fleet larger than that must not lose track
    # of the clients whose rows were dropped while they were upgrading.
    from smartinstall.director.core import UpgradeReport
    from smartinstall.domain.devices import Progress, UpgradeKind

    core = rig.director
    core.settings.join_window = JoinWindowSettings()
    core.repo.write("c2960x.tar", b"x" * 10)
    core.repo.write("seed.txt", b"hostname x\n")
    core.dhcp_offer(DhcpFacts("0050.5601.0010", vendor_class=f"cisco-{PID}"))
    core.client_upgrade(UpgradeReport("0050.5601.0010", UpgradeKind.IMAGE, "started"))
    rig.db.clear_downloads()  # as if 255 newer rows had pushed it out
    core.client_upgrade(UpgradeReport("0050.5601.0010", UpgradeKind.IMAGE, "done"))
    device = rig.db.device_by_mac("0050.5601.0010")
    assert device is not None and device.upgrade.image is Progress.DONE
    assert device.status() == "P A a I"


async def test_downloads_still_count_after_the_row_left_the_255_entry_table(rig: Rig) -> None:
    # A fleet of 500 found it: with more than 255 clients in zero touch at once, the oldest
    # rows leave the table while their clients download; the configuration is then fetched
    # with no row to mark, and the client's own status letters must still follow it.
    from smartinstall.domain.devices import Progress
    from smartinstall.domain.downloads import DownloadMethod

    core = rig.director
    core.settings.join_window = JoinWindowSettings()
    core.repo.write("c2960x.tar", b"x" * 10)
    core.repo.write("seed.txt", b"hostname x\n")
    mac, ip = "0050.5601.0011", f"{rig.prefix}.11"
    core.dhcp_offer(DhcpFacts(mac, vendor_class=f"cisco-{PID}"))
    core.dhcp_bound(mac, ip)
    core.tftp_transfer(ip, "c2960x.tar", True, False, None)
    for n in range(255):  # 255 newer clients push the row out
        rig.db.add_download(f"0050.5602.{n:04x}", DownloadMethod.ZERO_TOUCH)
    assert rig.db.latest_download(mac) is None
    core.client_upgrade(UpgradeReport(mac, UpgradeKind.IMAGE, "done"))
    core.tftp_transfer(ip, "seed.txt", True, False, None)
    device = rig.db.device_by_mac(mac)
    assert device is not None and device.upgrade.config is Progress.IN_PROGRESS
    core.tftp_transfer(ip, "seed.txt", True, True, None)
    device = rig.db.device_by_mac(mac)
    assert device is not None and device.status() == "P A a I C"
    # a failed download is a failure there too
    other, other_ip = "0050.5601.0012", f"{rig.prefix}.12"
    core.dhcp_offer(DhcpFacts(other, vendor_class=f"cisco-{PID}"))
    core.dhcp_bound(other, other_ip)
    rig.db.clear_downloads()
    core.tftp_transfer(other_ip, "seed.txt", True, False, None)
    core.tftp_transfer(other_ip, "seed.txt", True, True, "timed out")
    device = rig.db.device_by_mac(other)
    assert device is not None and device.upgrade.config is Progress.FAILED


async def test_a_newcomer_is_decided_without_reading_every_entry(rig: Rig) -> None:
    # A thousand-switch fleet found it: two full reads of the director database per new
    # client (~100 ms each at 1,000 entries) starved TFTP on the director's one event loop
    # during a roll-out. A newcomer's upstream, replacement check and hop wait read only what
    # they need.
    core = rig.director
    core.settings.join_window = JoinWindowSettings()
    core.repo.write("c2960x.tar", b"x" * 10)
    core.repo.write("seed.txt", b"hostname x\n")
    core.dhcp_offer(DhcpFacts("0050.5601.0020", vendor_class=f"cisco-{PID}"))

    def every_entry() -> None:
        raise AssertionError("the whole director database was read for one DHCP request")

    rig.db.devices = every_entry  # type: ignore[method-assign]
    for n in range(0x21, 0x25):
        offer = core.dhcp_offer(DhcpFacts(f"0050.5601.00{n:02x}", vendor_class=f"cisco-{PID}"))
        assert offer.action is OfferAction.INSTALL


async def test_the_script_still_follows_the_hello_after_the_row_left_the_table(rig: Rig) -> None:
    # The post-install script goes to the client after its hello (type 5). In a roll-out of
    # more than 255 clients the row may have left the download-status table by then; the
    # device's "script awaited" mark still gets the script sent.
    from smartinstall.director.core import HelloFacts
    from smartinstall.domain.devices import Progress
    from smartinstall.domain.downloads import DownloadMethod
    from smartinstall.wire.smi import Execute

    core = rig.director
    core.settings.join_window = JoinWindowSettings()
    core.settings.groups.default.script = "flash:post_install.txt"
    for name in ("c2960x.tar", "seed.txt", "post_install.txt"):
        core.repo.write(name, b"hostname x\n")
    mac, ip = "0050.5601.0031", f"{rig.prefix}.10"
    core.dhcp_offer(DhcpFacts(mac, vendor_class=f"cisco-{PID}"))
    core.dhcp_bound(mac, ip)
    device = rig.db.device_by_mac(mac)
    assert device is not None and device.upgrade.script is Progress.PENDING
    assert device.status() == "P A a"  # awaited, no letter yet
    for n in range(255):
        rig.db.add_download(f"0050.5602.{n:04x}", DownloadMethod.ZERO_TOUCH)
    assert rig.db.latest_download(mac) is None
    received: list[CommandReceived] = []
    listener = SmiClientListener(received.append, ip, core.client_smi_port)
    await listener.start()
    try:
        core.client_hello(HelloFacts(mac, ip=ip, pid=PID, hostname="till", has_startup_config=True))
        await core.drain()
        for _ in range(50):
            if received:
                break
            await asyncio.sleep(0.05)
    finally:
        await listener.close()
    scripts = [r.command for r in received if isinstance(r.command, Execute)]
    assert scripts and scripts[0].script_url == f"tftp://{rig.prefix}.1:6969/post_install.txt"
    core.client_upgrade(UpgradeReport(mac, UpgradeKind.SCRIPT, "started"))
    core.client_upgrade(UpgradeReport(mac, UpgradeKind.SCRIPT, "done"))
    device = rig.db.device_by_mac(mac)
    assert device is not None and device.upgrade.script is Progress.DONE


async def test_a_join_state_the_operator_set_holds_across_the_next_dhcp(rig: Rig) -> None:
    # Guide, "Configuring Join Window Mode": vstack join-window-status index client-id
    # {allowed | held} changes a client "from the denied state to the active or held state";
    # the window, closed, must not deny it again at its next exchange.
    core = rig.director
    core.settings.join_window = JoinWindowSettings(parse_schedule(["11:00", "01:00"]))
    facts = DhcpFacts("0050.5601.0071", vendor_class=f"cisco-{PID}")
    assert core.dhcp_offer(facts).action is OfferAction.DENY  # type: ignore[union-attr]
    device = rig.db.device_by_mac(facts.mac)
    assert device is not None and device.join_state is JoinState.DENIED
    assert core.set_join_states([device.number], "allowed") == []
    assert core.dhcp_offer(facts).action is OfferAction.INSTALL  # type: ignore[union-attr]
    after = rig.db.device_by_mac(facts.mac)
    assert after is not None and after.join_state is JoinState.ALLOWED
    record = rig.db.device_record(facts.mac)
    assert record is not None and record.join_pinned
