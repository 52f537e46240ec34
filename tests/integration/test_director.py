"""The director process end to end on loopback: zero touch, download status, backups,
restart in the middle of an installation, health (guide: "Adding a Client Switch to the
Network", "Zero-Touch Installation", "Backing Up the Client Configuration")."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from smartinstall.domain.devices import Health, JoinState
from smartinstall.domain.downloads import DownloadStatus
from smartinstall.wire import smi_client
from smartinstall.wire.smi import Execute
from tests.integration.director_harness import DirectorProcess, ScriptedClient, lab_prefix
from tests.tools import require_program

IMAGE = "c2960x-universalk9-tar.152-7.E9.tar"
PID = "WS-C2960X-48FPS-L"


def config(prefix: str, extra: str = "") -> str:
    return f"""hostname Director
vstack dhcp-localserver lab
 address-pool {prefix}.0 255.255.255.0
 default-router {prefix}.1
 file-server {prefix}.1
ip dhcp remember
vstack director {prefix}.1
vstack basic
vstack image flash:{IMAGE}
vstack config flash:seed.txt
vstack script flash:post.txt
vstack hostname-prefix STORE
{extra}"""


@pytest.fixture
def director(tmp_path: Path) -> Iterator[DirectorProcess]:
    require_program("curl")
    yield from branch_director(tmp_path)


def branch_director(
    tmp_path: Path, image_size: int = 300_000, prepare: Callable[[Path], None] | None = None
) -> Iterator[DirectorProcess]:
    """The director process of these tests (keepalive 1 s), with its image, seed configuration
    and post-install script on flash: (``prepare`` adds to flash: before it starts); stopped
    after the test."""
    prefix = lab_prefix()
    process = DirectorProcess(tmp_path / "director", prefix, config(prefix), keepalive=1.0)
    (process.flash / IMAGE).write_bytes(os.urandom(image_size))
    (process.flash / "seed.txt").write_text("hostname seed\n!\nend\n")
    (process.flash / "post.txt").write_text('"vlan 12" "name TEST" "exit"\n')
    if prepare is not None:
        prepare(process.flash)
    process.start()
    try:
        yield process
    finally:
        process.stop()


async def test_zero_touch_installation(director: DirectorProcess, tmp_path: Path) -> None:
    client = ScriptedClient(director, "0050.5601.0001", PID)
    offer, ack = await client.dhcp()
    # Options 125/5 (imagelist), 125/16 (director), 67 (config), 150 (TFTP), 12 (hostname).
    assert offer.imagelist == "vstack/imagelist-default.txt"
    assert offer.director == director.address
    assert offer.config == "seed.txt"
    assert offer.tftp_server == director.address
    assert offer.hostname == "STORE-01.0001"
    assert ack.imagelist == offer.imagelist
    log = director.wait_for_log(
        "%SMI-6-SWITCH_ADD: New Device detected by Director with mac address: 0050.5601.0001"
    )
    assert log.count("%SMI-6-SWITCH_ADD") == 1  # DISCOVER and REQUEST: one new device

    # The client fetches its files by TFTP (curl, from its leased address).
    for name in (offer.imagelist, IMAGE, offer.config, "post.txt"):
        assert name is not None
        result = client.tftp_get(name, tmp_path / Path(name).name)
        assert result.returncode == 0, result.stderr
    assert (tmp_path / "imagelist-default.txt").read_text() == f"{IMAGE}\n"
    assert (tmp_path / IMAGE).read_bytes() == (director.flash / IMAGE).read_bytes()
    director.wait_for_log(
        f"%SMI-6-UPGRD_STARTED: Device (IP address: {client.ip}) image upgrade has started"
    )

    # The configuration is in place once downloaded; the image when the client says so.
    director.wait_for_log(
        f"%SMI-6-UPGRD_SUCCESS: Device (IP address: {client.ip}) config has upgraded successfully"
    )
    await client.upgrade(smi_client.Operation.SCRIPT, smi_client.UpgradeState.DONE)
    await client.upgrade(smi_client.Operation.IMAGE, smi_client.UpgradeState.DONE)
    director.wait_for_log(
        f"%SMI-6-UPGRD_SUCCESS: Device (IP address: {client.ip}) image has upgraded successfully"
    )

    db = director.database()
    try:
        (entry,) = db.downloads()
        assert entry.method.value == "zero-touch"
        assert (entry.image, entry.config, entry.script) == (DownloadStatus.UPGRADED,) * 3
        device = db.device_by_mac("0050.5601.0001")
        assert device is not None and device.ip == client.ip and device.pid == PID
        assert device.status().startswith("P A a I C P")
    finally:
        db.close()


async def test_restart_in_the_middle_of_a_zero_touch_installation(
    director: DirectorProcess, tmp_path: Path
) -> None:
    client = ScriptedClient(director, "0050.5601.0002", PID)
    offer, _ = await client.dhcp()
    assert offer.imagelist and client.tftp_get(IMAGE, tmp_path / IMAGE).returncode == 0
    director.wait_for_log("image upgrade has started")
    director.stop(signal.SIGKILL)  # the harshest restart: no clean shutdown at all
    director.start()
    await client.upgrade(smi_client.Operation.IMAGE, smi_client.UpgradeState.DONE)
    assert client.tftp_get(offer.config or "", tmp_path / "cfg").returncode == 0
    await director.await_log("config has upgraded successfully")
    db = director.database()
    try:
        (entry,) = db.downloads()  # the entry of before the restart, completed after it
        assert entry.image is DownloadStatus.UPGRADED
        assert entry.config is DownloadStatus.UPGRADED
    finally:
        db.close()
    assert director.log().count("%SMI-6-SWITCH_ADD") == 1


async def test_backup_after_write_memory_and_rotation(
    director: DirectorProcess, tmp_path: Path
) -> None:
    client = ScriptedClient(director, "0050.5601.0003", PID)
    await client.dhcp()
    await client.listen()
    try:
        await client.hello("till-3", has_startup_config=False)
        # the fourth write memory saves what the third did: nothing to rotate, REV1 keeps the
        # previous configuration instead of becoming a copy of REV2
        for save, revision in enumerate((1, 2, 3, 3), start=1):
            await client.send(
                smi_client.WriteMemory(
                    sequence=client.next_sequence(), mac=client.mac, hostname="till-3"
                )
            )
            url = await client.backup_url(save)
            assert re.search(r"vstack/till-3-0050\.5601\.0003\.[0-9a-f]{8}\.upload$", url), url
            source = tmp_path / f"startup-{revision}"
            source.write_text(f"hostname till-3\n! revision {revision}\nend\n")
            assert client.tftp_put(source, url)
            await client.send(
                smi_client.BackupResult(
                    sequence=client.next_sequence(), mac=client.mac, success=True
                )
            )
            await director.await_log("%SMI-6-SMI_DIRECTOR_BACKUP_SUCCESS", count=save)
        backups = director.flash / "vstack"
        assert "revision 3" in (backups / "till-3-0050.5601.0003.REV2").read_text()
        assert "revision 2" in (backups / "till-3-0050.5601.0003.REV1").read_text()
        assert not list(backups.glob("till-3-0050.5601.0003.*.upload"))
        db = director.database()
        try:
            record = db.latest_backup(client.mac)
            assert record is not None and record.file.endswith("till-3-0050.5601.0003.REV2")
            assert len(db.backups(client.mac)) == 3  # the unchanged save added no record
        finally:
            db.close()
    finally:
        await client.close()


async def test_a_write_memory_during_a_backup_gets_a_backup_of_its_own_after_it(
    director: DirectorProcess, tmp_path: Path
) -> None:
    # Two saves in a row (the post-install backup, then the operator's write memory): the
    # client is asked once, and once more when the first upload has been stored — never two
    # uploads over the same staging file, no false BACKUP_FAILURE, and REV2 is the last save.
    client = ScriptedClient(director, "0050.5601.0013", PID)
    await client.dhcp()
    await client.listen()
    try:
        await client.hello("till-13", has_startup_config=False)
        for _ in range(2):
            await client.send(
                smi_client.WriteMemory(
                    sequence=client.next_sequence(), mac=client.mac, hostname="till-13"
                )
            )
        first = await client.backup_url(1)
        # both saves were acknowledged and their backup requests have run: one was sent
        await director.until_background_idle()
        assert client.backup_count() == 1  # the second waits for the first
        for revision, url in ((1, first), (2, None)):
            url = url or await client.backup_url(2)
            source = tmp_path / f"startup-{revision}"
            source.write_text(f"hostname till-13\n! save {revision}\nend\n")
            assert client.tftp_put(source, url)
            await client.send(
                smi_client.BackupResult(sequence=client.next_sequence(), mac=client.mac,
                                        success=True)
            )  # fmt: skip
            await director.await_log("%SMI-6-SMI_DIRECTOR_BACKUP_SUCCESS", count=revision)
        await director.until_background_idle()  # no request left that could follow
        assert client.backup_count() == 2
        assert "BACKUP_FAILURE" not in director.log()
        backups = director.flash / "vstack"
        assert "save 2" in (backups / "till-13-0050.5601.0013.REV2").read_text()
        assert "save 1" in (backups / "till-13-0050.5601.0013.REV1").read_text()
    finally:
        await client.close()


async def test_a_backup_request_crossing_a_hello_is_answered_and_a_stray_result_is_ignored(
    director: DirectorProcess, tmp_path: Path
) -> None:
    # A director that starts (a standby taking over) asks every client for its backup while
    # some are coming back from a reload: their hello arrives after the request reached them.
    # The hello asks again at once, and the request it crossed is still answered; a result
    # for a request this director never made (one of a member that died) changes nothing.
    client = ScriptedClient(director, "0050.5601.0014", PID)
    await client.dhcp()
    await client.listen()
    try:
        await client.hello("till-14", has_startup_config=False)
        await client.send(
            smi_client.WriteMemory(sequence=client.next_sequence(), mac=client.mac,
                                   hostname="till-14")
        )  # fmt: skip
        first = await client.backup_url(1)
        await client.hello("till-14")  # sent before the request arrived, read after it
        second = await client.backup_url(2)
        assert first != second  # each request names an upload of its own
        stray = first.rsplit("/", 1)[0] + "/till-14-0050.5601.0014.0badc0de.upload"
        (tmp_path / "stray").write_text("hostname till-14\n! not asked\nend\n")
        assert not client.tftp_put(tmp_path / "stray", stray)  # never asked: refused
        ack = await client.send(
            smi_client.BackupResult(sequence=client.next_sequence(), mac=client.mac,
                                    success=False, file=stray,
                                    reason="server error 2: Upload not allowed")
        )  # fmt: skip
        assert ack.status == 0
        for save, url in enumerate((first, second), start=1):
            source = tmp_path / f"startup-{save}"
            source.write_text(f"hostname till-14\n! save {save}\nend\n")
            assert client.tftp_put(source, url)
            await client.send(
                smi_client.BackupResult(sequence=client.next_sequence(), mac=client.mac,
                                        success=True, file=url)
            )  # fmt: skip
            await director.await_log("%SMI-6-SMI_DIRECTOR_BACKUP_SUCCESS", count=save)
        assert "BACKUP_FAILURE" not in director.log()
        backups = director.flash / "vstack"
        assert "save 2" in (backups / "till-14-0050.5601.0014.REV2").read_text()
        assert "save 1" in (backups / "till-14-0050.5601.0014.REV1").read_text()
        assert not list(backups.glob("*.upload"))
    finally:
        await client.close()


async def test_uploads_elsewhere_are_refused(director: DirectorProcess, tmp_path: Path) -> None:
    client = ScriptedClient(director, "0050.5601.0004", PID)
    await client.dhcp()
    source = tmp_path / "evil"
    source.write_text("x")
    base = f"tftp://{director.address}:{director.ports['tftp']}"
    for name in ("vstack/evil.upload", "seed.txt", "../../etc/x"):
        assert not client.tftp_put(source, f"{base}/{name}")
    assert (director.flash / "seed.txt").read_text().startswith("hostname seed")


async def test_health_inactive_after_three_missed_keepalives(director: DirectorProcess) -> None:
    client = ScriptedClient(director, "0050.5601.0005", PID)
    await client.dhcp()
    await client.hello("sw5")
    await client.send(smi_client.Keepalive(sequence=client.next_sequence(), mac=client.mac))
    # keepalive period 1 s: three missed periods later the entry is Inactive, and kept.
    await director.await_log(
        "%SMI-6-SWITCH_REMOVE: Device 0050.5601.0005 removed from the Director Database", timeout=10
    )
    db = director.database()
    try:
        device = db.device_by_mac(client.mac)
        assert device is not None and device.health is Health.INACTIVE
    finally:
        db.close()
    await client.send(smi_client.Keepalive(sequence=client.next_sequence(), mac=client.mac))
    db = director.database()
    try:
        device = db.device_by_mac(client.mac)
        assert device is not None and device.health is Health.ACTIVE
    finally:
        db.close()


async def test_join_window_closed_gives_no_options(tmp_path: Path) -> None:
    require_program("curl")
    prefix = lab_prefix()
    process = DirectorProcess(
        tmp_path / "d", prefix, config(prefix, "vstack join-window close\n"), keepalive=5
    )
    process.start()
    try:
        client = ScriptedClient(process, "0050.5601.0006", PID)
        offer, ack = await client.dhcp()
        assert ack.address.startswith(prefix)  # an address from the pool, but nothing else
        assert offer.imagelist is None and offer.config is None and offer.director is None
        db = process.database()
        try:
            device = db.device_by_mac(client.mac)
            assert device is not None and device.join_state is JoinState.DENIED
            assert db.downloads() == []
        finally:
            db.close()
    finally:
        process.stop()


async def test_post_install_script_is_sent_after_hello(director: DirectorProcess) -> None:
    # "A post install upgrade is possible only with config upgrade or image upgrade or both":
    # the script URL goes to the client (type 5) once it is up during its zero-touch upgrade.
    client = ScriptedClient(director, "0050.5601.0007", PID)
    await client.dhcp()
    await client.listen()
    try:
        await client.hello("sw7", has_startup_config=False)
        for _ in range(100):
            if client.commands:
                break
            await asyncio.sleep(0.05)
        (received,) = client.commands
        assert isinstance(received.command, Execute)
        port = director.ports["tftp"]
        assert received.command.script_url == f"tftp://{director.address}:{port}/post.txt"
    finally:
        await client.close()


async def test_zero_touch_replacement_of_a_failed_switch(
    director: DirectorProcess, tmp_path: Path
) -> None:
    # Guide, "Replacing a Client Switch": same product ID on the same upstream port, old entry
    # inactive → the newcomer gets the last backup and %SMI-6-SWITCH_REPLACE.
    port = ("GigabitEthernet1/0/7", "0023.5e32.3780")
    old = ScriptedClient(director, "0050.5601.0008", PID)
    await old.dhcp(upstream=port)
    await old.listen()
    try:
        await old.hello("till-8", has_startup_config=False)
        await old.send(smi_client.WriteMemory(sequence=old.next_sequence(), mac=old.mac))
        url = await old.backup_url(1)
        saved = tmp_path / "startup"
        saved.write_text("hostname till-8\n! the failed switch's configuration\nend\n")
        assert old.tftp_put(saved, url)
        await old.send(
            smi_client.BackupResult(sequence=old.next_sequence(), mac=old.mac, success=True)
        )
        await director.await_log("%SMI-6-SMI_DIRECTOR_BACKUP_SUCCESS")
    finally:
        await old.close()
    await director.await_log("%SMI-6-SWITCH_REMOVE: Device 0050.5601.0008", timeout=10)

    new = ScriptedClient(director, "0050.5601.0009", PID)
    offer, _ = await new.dhcp(upstream=("Gi1/0/7", "0023.5e32.3780"))
    assert offer.config == "vstack/till-8-0050.5601.0008.REV2"
    await director.await_log(
        "%SMI-6-SWITCH_REPLACE: Device 0050.5601.0008 is being replaced by 0050.5601.0009 Device"
    )
    assert new.tftp_get(offer.config, tmp_path / "got").returncode == 0
    assert "failed switch's configuration" in (tmp_path / "got").read_text()
    db = director.database()
    try:
        assert db.device_by_mac("0050.5601.0008") is None
        assert db.device_by_mac("0050.5601.0009") is not None
    finally:
        db.close()
    # A switch of another product ID on that port would have been a new client: not the
    # backup, and, a 3560 in a 2960-X network, not the default either ("Adding a Client Switch
    # to the Network": only a switch of the network's default product ID gets the default).
    other = ScriptedClient(director, "0050.5601.000a", "WS-C3560-24TS-S")
    offer, _ = await other.dhcp(upstream=("Gi1/0/7", "0023.5e32.3780"))
    assert offer.config is None and offer.imagelist is None
    await director.await_log("%SMI-3-IMG_CFG_NOT_CONFIGURED: WS-C3560-24TS-S")
    assert "replaced by 0050.5601.000a" not in director.log()


async def test_backups_to_a_third_party_tftp_server(tmp_path: Path) -> None:
    # Guide, vstack backup file-server: "tftp is the only supported network url". The
    # repository is tftp-hpa's in.tftpd; TFTP has no rename, so REV2 is read back and written
    # as REV1 before the new REV2.
    require_program("curl")
    tftpd = require_program("in.tftpd")
    prefix = lab_prefix()
    server_root = tmp_path / "tftproot"
    (server_root / "backups").mkdir(parents=True)
    from tests.integration.director_harness import free_port

    port = free_port(f"{prefix}.200")
    server = subprocess.Popen(
        [tftpd, "--foreground", "--listen", "--address", f"{prefix}.200:{port}", "--secure",
         "--create", "--user", "root", str(server_root)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    process = DirectorProcess(
        tmp_path / "d", prefix,
        config(prefix, f"vstack backup file-server tftp://{prefix}.200:{port}/backups\n"),
    )  # fmt: skip
    process.start()
    client = ScriptedClient(process, "0050.5601.000b", PID)
    try:
        await client.dhcp()
        await client.listen()
        await client.hello("till-b", has_startup_config=False)
        # the third save is the second again: the server's REV1 stays the first revision
        for save, revision in enumerate((1, 2, 2), start=1):
            await client.send(
                smi_client.WriteMemory(sequence=client.next_sequence(), mac=client.mac)
            )
            url = await client.backup_url(save)
            source = tmp_path / f"cfg{revision}"
            source.write_text(f"hostname till-b\n! revision {revision}\nend\n")
            assert client.tftp_put(source, url)
            await client.send(
                smi_client.BackupResult(
                    sequence=client.next_sequence(), mac=client.mac, success=True
                )
            )
            await process.await_log("%SMI-6-SMI_DIRECTOR_BACKUP_SUCCESS", count=save)
        stored = server_root / "backups"
        assert "revision 2" in (stored / "till-b-0050.5601.000b.REV2").read_text()
        assert "revision 1" in (stored / "till-b-0050.5601.000b.REV1").read_text()
        assert not list((process.flash / "vstack").glob("*.upload*"))
        db = process.database()
        try:
            record = db.latest_backup(client.mac)
            assert record is not None
            assert record.file == f"tftp://{prefix}.200:{port}/backups/till-b-0050.5601.000b.REV2"
        finally:
            db.close()
    finally:
        await client.close()
        process.stop()
        server.terminate()
        server.wait()


async def test_sighup_reloads_configuration_and_syslog_reaches_a_remote_host(
    tmp_path: Path,
) -> None:
    import socket

    require_program("curl")
    prefix = lab_prefix()
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind((f"{prefix}.201", 0))
    listener.settimeout(10)
    syslog_port = listener.getsockname()[1]
    base = config(prefix, f"logging host {prefix}.201 transport udp port {syslog_port}\n")
    process = DirectorProcess(tmp_path / "d", prefix, base)
    process.start()
    try:
        client = ScriptedClient(process, "0050.5601.000c", PID)
        offer, _ = await client.dhcp()
        assert offer.imagelist is not None
        received = b""
        while b"SWITCH_ADD" not in received:
            received, _ = listener.recvfrom(4096)
        assert (
            b"%SMI-6-SWITCH_ADD: New Device detected by Director with mac address: 0050.5601.000c"
            in received
        )
        (process.data_dir / "startup-config").write_text(base + "vstack join-window close\n")
        assert process.process is not None
        process.process.send_signal(signal.SIGHUP)
        await process.await_log("configuration reloaded")
        late = ScriptedClient(process, "0050.5601.000d", PID)
        offer, _ = await late.dhcp()
        assert offer.imagelist is None  # the window is closed now
    finally:
        process.stop()
        listener.close()


@pytest.mark.slow
async def test_kill_9_during_a_backup_leaves_a_complete_rev2(
    director: DirectorProcess, tmp_path: Path
) -> None:
    # Issue: "a kill -9 during a backup (no truncated REV2, the previous one intact)".
    client = ScriptedClient(director, "0050.5601.000e", PID)
    await client.dhcp()
    await client.listen()
    name = "till-e-0050.5601.000e"
    backups_dir = director.flash / "vstack"
    try:
        await client.hello("till-e", has_startup_config=False)
        void = client.backup_count()  # commands already answered, or of a killed process
        for revision, delay in enumerate((None, 0.0, 0.002, 0.01, 0.03), start=1):
            await client.send(
                smi_client.WriteMemory(sequence=client.next_sequence(), mac=client.mac)
            )
            # the latest backup command of the running process: this save's, or the one the
            # restarted director sent on reconnection (a save during it is served after it)
            await client.backup_url(void + 1)
            url = await client.backup_url(client.backup_count())
            source = tmp_path / f"cfg{revision}"
            source.write_text(f"hostname till-e\n! revision {revision}\n" + "!\n" * 2000 + "end\n")
            assert client.tftp_put(source, url)
            await client.send(
                smi_client.BackupResult(
                    sequence=client.next_sequence(), mac=client.mac, success=True, file=url
                )
            )
            void = client.backup_count()
            if delay is None:
                await director.await_log("%SMI-6-SMI_DIRECTOR_BACKUP_SUCCESS")
                continue
            await asyncio.sleep(delay)
            director.stop(signal.SIGKILL)
            void = client.backup_count()  # the killed process's requests died with it
            rev2 = (backups_dir / f"{name}.REV2").read_text()
            assert rev2.endswith("end\n"), "REV2 truncated"
            kept = int(rev2.split("revision ")[1].split()[0])
            assert 1 <= kept <= revision
            if (backups_dir / f"{name}.REV1").exists():
                assert (backups_dir / f"{name}.REV1").read_text().endswith("end\n")
            director.start()
            await client.send(smi_client.Keepalive(sequence=client.next_sequence(), mac=client.mac))
            await director.until_background_idle()  # its backup request at start has gone
    finally:
        await client.close()


async def test_backups_are_readable_only_by_their_client(
    director: DirectorProcess, tmp_path: Path
) -> None:
    # Cisco's director serves all of flash: to anyone; configuration backups hold secrets. A
    # backup is served only to the address the DHCP exchange that offered it leased.
    backups_dir = director.flash / "vstack"
    backups_dir.mkdir(exist_ok=True)
    (backups_dir / "sw-0050.5601.000f.REV2").write_text("enable secret 5 $1$abc$xyz\n")
    owner = ScriptedClient(director, "0050.5601.000f", PID)
    stranger = ScriptedClient(director, "0050.5601.0010", PID)
    offer, _ = await owner.dhcp()
    await stranger.dhcp()
    got = tmp_path / "got"
    assert offer.config != "vstack/sw-0050.5601.000f.REV2"
    assert owner.tftp_get("vstack/sw-0050.5601.000f.REV2", got).returncode != 0  # not offered
    assert (await owner.hello("sw", has_startup_config=False)).status == 0
    offer, _ = await owner.dhcp()  # write erase and reload: its backup comes back
    assert offer.config == "vstack/sw-0050.5601.000f.REV2"
    assert stranger.tftp_get("vstack/sw-0050.5601.000f.REV2", got).returncode != 0
    assert owner.tftp_get("vstack/sw-0050.5601.000f.REV2", got).returncode == 0
    assert "enable secret" in got.read_text()
    assert stranger.tftp_get("seed.txt", got).returncode == 0  # the rest of flash: is served
    await director.await_log("TFTP read of backup vstack/sw-0050.5601.000f.REV2 from")


async def test_unauthenticated_messages_are_refused_and_logged(tmp_path: Path) -> None:
    # Guide, "Restrictions for Smart Install": our director and clients share a key; a message
    # without it is refused and logged as %SMI-6-SMI_INVALID_MESSAGE.
    require_program("curl")
    prefix = lab_prefix()
    process = DirectorProcess(
        tmp_path / "d", prefix, config(prefix, "vstack authentication key branch-secret-0123456\n")
    )
    process.start()
    try:
        client = ScriptedClient(process, "0050.5601.0011", PID)
        await client.dhcp()
        with pytest.raises(Exception):  # noqa: B017 - refused at the protocol level
            await client.hello("intruder")
        await process.await_log(
            f"%SMI-6-SMI_INVALID_MESSAGE: Received invalid message from Client (IP Address : {client.ip})"
        )
        db = process.database()
        try:
            device = db.device_by_mac(client.mac)
            assert device is None or device.hostname != "intruder"
        finally:
            db.close()
    finally:
        process.stop()
