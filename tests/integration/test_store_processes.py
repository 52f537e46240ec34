"""Two processes writing one SQLite director database get distinct device numbers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from smartinstall.store.database import DirectorDatabase

WRITER = r"""
import sys
from smartinstall.domain.devices import Device
from smartinstall.store.database import DirectorDatabase

data, tag = sys.argv[1], int(sys.argv[2])
db = DirectorDatabase.open(data)
print("READY", flush=True)
sys.stdin.readline()  # start together
for i in range(40):
    db.upsert_device(Device(0, "0000.%04x.%04x" % (tag, i)))
print("DONE", flush=True)
"""


@pytest.mark.timeout(120)
def test_concurrent_processes_never_share_a_device_number(tmp_path: Path) -> None:
    DirectorDatabase.open(tmp_path).close()  # migrate once
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), str(tag)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for tag in (1, 2, 3)
    ]
    try:
        for writer in writers:
            assert writer.stdout is not None and writer.stdout.readline() == b"READY\n"
        for writer in writers:
            assert writer.stdin is not None
            writer.stdin.write(b"go\n")
            writer.stdin.flush()
        for writer in writers:
            out, err = writer.communicate(timeout=90)
            assert writer.returncode == 0 and out == b"DONE\n", err.decode(errors="replace")
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()
                writer.wait()
    with DirectorDatabase.open(tmp_path) as db:
        numbers = sorted(d.number for d in db.devices())
    assert numbers == list(range(1, 121))
