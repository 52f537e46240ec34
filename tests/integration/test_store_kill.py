"""``kill -9`` while the director writes backups and database entries.

A child process runs the director's state owner and store writer on an event loop and loops:
store a backup (REV2 → REV1 rotation, atomic REV2, on a thread), record it in the state, add a
device entry, await the writer's flush, and print ``ACK`` only then. The test kills it with
SIGKILL at random moments, 20 times, and after each kill checks that every acknowledged write
is there and that REV2 and REV1 are complete files of the expected generations.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from smartinstall.domain.backups import backup_name
from smartinstall.store.database import default_url
from smartinstall.store.repository import TEMP_PREFIX, Repository
from smartinstall.store.sqlstore import DatabaseReader

MAC = "001d.71ba.f780"
HOST = "sw"
KILLS = 14

CHILD = r"""
import asyncio, random, sys
from smartinstall.director.state import DirectorState
from smartinstall.domain.backups import plan_backup
from smartinstall.domain.devices import Device
from smartinstall.store.database import default_url
from smartinstall.store.repository import Repository
from smartinstall.store.sqlstore import SqlStore
from smartinstall.store.writer import StoreWriter

data, start = sys.argv[1], int(sys.argv[2])
repo = Repository(data + "/flash")

def content(i):
    rng = random.Random(i)
    body = bytes(rng.getrandbits(8) for _ in range(64)) * rng.randint(1, 3000)
    return b"BEGIN %d %d\n" % (i, len(body)) + body + b"\nEND %d\n" % i

def backup(i):
    plan = plan_backup("sw", "001d.71ba.f780", repo.names("vstack"))
    return repo.execute_backup_plan(plan, content(i))

async def main():
    writer = StoreWriter(lambda: SqlStore(default_url(data)))
    state = DirectorState()
    state.restore(await writer.start())
    state.set_sink(writer.submit)
    print("READY", flush=True)
    for i in range(start, start + 100000):
        stored = await asyncio.to_thread(backup, i)
        state.record_backup("001d.71ba.f780", "sw", "flash:/" + stored.path, stored.md5,
                            stored.size)
        mac = "0000.%04x.%04x" % (i >> 16, i & 0xFFFF)
        device = state.upsert_device(Device(0, mac, hostname="h%d" % i))
        await writer.flush()
        print("ACK %d %d %s" % (i, device.number, stored.md5), flush=True)

asyncio.run(main())
"""

BACKUP = re.compile(rb"\ABEGIN (\d+) (\d+)\n(.*)\nEND (\d+)\n\Z", re.DOTALL)


def generation(path: Path) -> tuple[int, str]:
    """The loop index a backup file was written in; fails on a truncated or mixed file."""
    data = path.read_bytes()
    match = BACKUP.match(data)
    assert match, f"{path.name} is not a complete backup ({len(data)} bytes)"
    index, length, body, end = match.groups()
    assert int(length) == len(body) and index == end, f"{path.name} is truncated or mixed"
    return int(index), hashlib.md5(data).hexdigest().upper()


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    data = tmp_path / "data"
    rng = random.Random(20261127)
    acked: dict[int, tuple[int, str]] = {}  # index -> (device number, md5)
    next_index = 0
    writes_between_kills: list[int] = []
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for _kill in range(KILLS):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(data), str(next_index)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        try:
            assert child.stdout is not None
            first = child.stdout.readline()
            assert first == b"READY\n", first + (child.stderr.read() if child.stderr else b"")
            time.sleep(rng.uniform(0.0, 0.25))
            child.send_signal(signal.SIGKILL)
            out, err = child.communicate(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        assert child.returncode == -signal.SIGKILL, err.decode(errors="replace")
        count = 0
        for line in out.decode().splitlines():
            _ack, index_text, number_text, md5 = line.split()
            acked[int(index_text)] = (int(number_text), md5)
            count += 1
        writes_between_kills.append(count)
        last = max(acked) if acked else -1

        # The repository after the crash: recovery removes temporary files only.
        repo = Repository(data / "flash")
        names = repo.names("vstack")
        assert not any(n.startswith(TEMP_PREFIX) for n in os.listdir(data / "flash" / "vstack"))
        rev2 = data / "flash" / "vstack" / backup_name(HOST, MAC, 2)
        rev1 = data / "flash" / "vstack" / backup_name(HOST, MAC, 1)
        if last < 0 and backup_name(HOST, MAC, 2) not in names:
            continue  # killed before the first backup completed
        r2, md5_2 = generation(rev2)
        # REV2 is the last acknowledged backup or the one after it, never older.
        assert r2 in (last, last + 1), (r2, last)
        if last >= 0 and r2 == last:
            assert md5_2 == acked[last][1]
        if r2 > 0 or rev1.exists():
            r1, _ = generation(rev1)
            # REV1 is the previous backup, or REV2 already linked over before the new REV2.
            assert r1 in (r2 - 1, r2), (r1, r2)

        # The database after the crash: every acknowledged write is there.
        with DatabaseReader(default_url(data)) as db:
            numbers = {d.mac: d.number for d in db.devices()}
            for index, (number, _md5) in acked.items():
                mac = f"0000.{index >> 16:04x}.{index & 0xFFFF:04x}"
                assert numbers.get(mac) == number, f"acknowledged device {index} lost"
            latest = db.latest_backup(MAC)
            if last >= 0:
                assert latest is not None
                assert latest.checksum in (acked[last][1], md5_2)
        next_index = last + 1
    # The kills did land in the middle of the work, not only before or after it.
    assert sum(writes_between_kills) > KILLS, writes_between_kills
