"""Forged Smart Install reports against the real director process (legacy, unauthenticated
mode): a KEEPALIVE, HELLO or WRITE_MEMORY carrying a victim's MAC from another address does not
move the victim's address in the director, so its backups stay out of the forger's reach and
its commands keep going to the switch; the victim's own messages keep working meanwhile.

Threat: docs/security.md ("Backup theft and address spoofing"); the guide's legacy mode has no
authentication at all, which is how CVE-2018-0171-era tools rewrote clients.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from smartinstall.services.smi import SmiClientSender
from smartinstall.wire import smi_client
from tests.integration.director_harness import DirectorProcess, ScriptedClient
from tests.integration.test_director import PID, branch_director
from tests.tools import require_program

VICTIM = "0050.5601.0041"
SECRET = "enable secret 5 $1$mERr$hx5rVt7rPNoS4wqbXKX7m0"


@pytest.fixture
def director(tmp_path: Path) -> Iterator[DirectorProcess]:
    require_program("curl")

    def backup(flash: Path) -> None:
        (flash / "vstack").mkdir()
        (flash / "vstack" / f"victim-{VICTIM}.REV2").write_text(f"hostname victim\n{SECRET}\nend\n")

    yield from branch_director(tmp_path, image_size=20_000, prepare=backup)


def tftp_from(director: DirectorProcess, source: str, name: str, dest: Path) -> bool:
    url = f"tftp://{director.address}:{director.ports['tftp']}/{name}"
    result = subprocess.run(
        ["curl", "-s", "-S", "--interface", source, "-o", str(dest), url],
        capture_output=True, timeout=30, check=False,
    )  # fmt: skip
    return result.returncode == 0 and dest.exists()


async def test_forged_reports_neither_move_a_client_nor_reach_its_backup(
    director: DirectorProcess, tmp_path: Path
) -> None:
    victim = ScriptedClient(director, VICTIM, PID)
    await victim.dhcp()
    assert (await victim.hello("victim")).status == 0
    forger = f"{director.prefix}.66"
    sender = SmiClientSender(director.address, director.ports["smi"], local_host=forger)
    forged: list[smi_client.ClientMessage] = [
        smi_client.Keepalive(sequence=1, mac=VICTIM, ip=forger, uptime=5),
        smi_client.Hello(
            sequence=2, mac=VICTIM, pid=PID, serial="FOC1234X0AB", sw_version="15.2(7)E9",
            image="C2960X-UNIVERSALK9-M", hostname="victim", ip=forger, has_startup_config=True,
        ),
        smi_client.WriteMemory(sequence=3, mac=VICTIM, hostname="victim", ip=forger),
    ]  # fmt: skip
    for message in forged:
        ack = await sender.send(message)
        assert ack.status == 1 and "address" in ack.reason, type(message).__name__
    device = director.database().device_by_mac(VICTIM)
    assert device is not None and device.ip == victim.ip  # not moved to the forger
    await director.await_log(f"SMI message for {VICTIM} from {forger} refused")
    # the backup (with its enable secret) is the victim's alone
    name = f"vstack/victim-{VICTIM}.REV2"
    assert not tftp_from(director, forger, name, tmp_path / "stolen")
    offer, _ = await victim.dhcp()  # the victim reinstalls: its backup is offered to it
    assert offer.config == name
    assert not tftp_from(director, forger, name, tmp_path / "stolen")
    assert tftp_from(director, victim.ip, name, tmp_path / "own")
    assert SECRET in (tmp_path / "own").read_text()
    # the victim goes on as before
    keepalive = smi_client.Keepalive(sequence=victim.next_sequence(), mac=VICTIM, ip=victim.ip)
    assert (await victim.send(keepalive)).status == 0


async def test_a_known_mac_from_another_port_gets_no_backup_and_moves_nothing(
    director: DirectorProcess,
) -> None:
    # Guide, "Client Replacement": a backup goes to the switch on the failed one's upstream
    # port; the same MAC arriving through another port while the client is up is another host.
    port = ("GigabitEthernet1/0/5", "0023.5e32.3780")
    victim = ScriptedClient(director, VICTIM, PID)
    await victim.dhcp(upstream=port)
    assert (await victim.hello("victim", has_startup_config=True)).status == 0
    offer, _ = await victim.dhcp(upstream=port)  # the client itself: its backup is offered
    assert offer.config == f"vstack/victim-{VICTIM}.REV2"
    forger = ScriptedClient(director, VICTIM, PID)
    offer, _ = await forger.dhcp(upstream=("GigabitEthernet1/0/9", "0023.5e32.3780"))
    assert offer.config is None and offer.imagelist is None  # a plain lease, nothing more
    await director.await_log(f"DHCP for {VICTIM} via port GigabitEthernet1/0/9")
    device = director.database().device_by_mac(VICTIM)
    assert device is not None and device.upstream_port == "GigabitEthernet1/0/5"
    offer, _ = await victim.dhcp(upstream=port)  # the honest client is still served
    assert offer.config == f"vstack/victim-{VICTIM}.REV2"


async def test_a_backup_comes_only_from_its_client_and_security_changes_are_logged(
    director: DirectorProcess, tmp_path: Path
) -> None:
    victim = ScriptedClient(director, VICTIM, PID)
    await victim.dhcp()
    await victim.listen()
    try:
        assert (await victim.hello("victim", has_startup_config=False)).status == 0
        write = smi_client.WriteMemory(sequence=victim.next_sequence(), mac=VICTIM)
        assert (await victim.send(write)).status == 0
        url = await victim.backup_url(1)
        planted = tmp_path / "planted"
        planted.write_text("hostname victim\nusername pwn privilege 15 password 0 x\nend\n")
        forger = ScriptedClient(director, "0050.5601.0099", PID)
        forger.ip = f"{director.prefix}.66"
        assert not forger.tftp_put(planted, url)  # not the address the request went to
        upload = url.rsplit("/", 1)[-1]  # victim-<mac>.<token>.upload
        await director.await_log(f"TFTP upload of {upload} from {forger.ip}")
        saved = tmp_path / "saved"
        saved.write_text(
            f"hostname victim\n{SECRET}\nusername ops privilege 15 secret 5 $1$a$b\nend\n"
        )
        assert victim.tftp_put(saved, url)
        result = smi_client.BackupResult(sequence=victim.next_sequence(), mac=VICTIM, success=True)
        assert (await victim.send(result)).status == 0
        log = await director.await_log("BACKUP_SECURITY_CHANGE")
        assert "+ username ops privilege 15 secret …" in log and "$1$a$b" not in log
        backups = director.flash / "vstack"
        assert "username ops" in (backups / f"victim-{VICTIM}.REV2").read_text()
        assert "username" not in (backups / f"victim-{VICTIM}.REV1").read_text()  # kept
    finally:
        await victim.close()


async def test_invented_macs_from_one_address_add_one_entry_not_a_table_full(
    director: DirectorProcess,
) -> None:
    # One address, one client: a host sending hellos with invented MACs (a fuzzer, a flood)
    # gets one entry; the rest are refused and logged with a count.
    host = f"{director.prefix}.77"
    sender = SmiClientSender(director.address, director.ports["smi"], local_host=host)
    acks = []
    for i in range(20):
        hello = smi_client.Hello(
            sequence=i + 1, mac=f"0050.5601.7{i:03x}", pid=PID, serial="FOC1234X0AB",
            sw_version="15.2(7)E9", image="C2960X-UNIVERSALK9-M", hostname=f"fake{i}", ip=host,
        )  # fmt: skip
        acks.append((await sender.send(hello)).status)
    assert acks[0] == 0 and set(acks[1:]) == {1}
    devices = [d for d in director.database().devices() if d.ip == host]
    assert [d.mac for d in devices] == ["0050.5601.7000"]
    await director.await_log(f"SMI message for unknown client 0050.5601.7001 from {host} refused")
