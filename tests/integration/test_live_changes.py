"""Operator changes on a running director take effect at once (issue: "Live configuration
changes apply at once"), driven over the director's console as an operator would.

Guide: "clear vstack director-db" (the database is rebuilt from the clients' updates),
"vstack backup file-server" (the repository the next backup goes to).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from smartinstall.wire import smi_client
from tests.integration.director_harness import DirectorProcess, ScriptedClient, console
from tests.integration.test_director import PID, branch_director


@pytest.fixture
def director(tmp_path: Path) -> Iterator[DirectorProcess]:
    yield from branch_director(tmp_path, image_size=20_000)


async def test_a_cleared_director_database_is_rebuilt_from_the_clients(
    director: DirectorProcess,
) -> None:
    client = ScriptedClient(director, "0050.5601.0061", PID)
    await client.dhcp()
    assert (await client.hello("till-61", has_startup_config=False)).status == 0
    output = await console(director, "clear vstack director-db\nshow vstack status\n")
    assert "0050.5601.0061" not in output.split("clear vstack director-db", 1)[-1]
    keepalive = smi_client.Keepalive(sequence=client.next_sequence(), mac=client.mac, ip=client.ip)
    assert (await client.send(keepalive)).status == 0
    status = await console(director, "show vstack status\n")
    line = next(line for line in status.splitlines() if "0050.5601.0061" in line)
    assert client.ip in line and line.split()[-3:-1] == ["S", "A"]
    # a keepalive for an unknown MAC from an address another client holds adds nothing
    stranger = smi_client.Keepalive(sequence=client.next_sequence(), mac="0050.5601.0062")
    await client.send(stranger)
    assert "0050.5601.0062" not in await console(director, "show vstack status\n")


async def test_a_new_backup_repository_takes_the_next_backup_without_a_restart(
    director: DirectorProcess, tmp_path: Path
) -> None:
    # Guide, vstack backup file-server: the repository the clients' backups go to.
    client = ScriptedClient(director, "0050.5601.0063", PID)
    await client.dhcp()
    await client.listen()
    try:
        assert (await client.hello("till-63", has_startup_config=False)).status == 0
        output = await console(
            director, "configure terminal\nvstack backup file-server flash:branch7\nend\n"
        )
        assert "%" not in output.split("configure terminal", 1)[-1], output
        await director.await_log("backups are uploaded to flash:/branch7 from now on")
        write = smi_client.WriteMemory(sequence=client.next_sequence(), mac=client.mac)
        assert (await client.send(write)).status == 0
        url = await client.backup_url(1)
        assert "/branch7/" in url
        saved = tmp_path / "startup"
        saved.write_text("hostname till-63\nend\n")
        assert client.tftp_put(saved, url)
        result = smi_client.BackupResult(
            sequence=client.next_sequence(), mac=client.mac, success=True
        )
        assert (await client.send(result)).status == 0
        await director.await_log("%SMI-6-SMI_DIRECTOR_BACKUP_SUCCESS")
        rev2 = director.flash / "branch7" / "till-63-0050.5601.0063.REV2"
        assert rev2.read_text() == "hostname till-63\nend\n"
    finally:
        await client.close()
