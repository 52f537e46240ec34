"""SMI flood, attacked on loopback: while a switch installs from the real director process,
ten other loopback addresses hold every connection slot they can get on port 4786 (idle
connections reopened as soon as they are closed), send bursts of garbage and half-open
connects. The switch still installs (UPGRADED), stays Active, and the director logs the
refusals once per source with counts."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from smartinstall.domain.devices import Health
from smartinstall.services.tftp_limits import raise_fd_limit
from tests.e2e.lab_kit import director_config, lab_prefix, make_lab, switch, topology

pytestmark = pytest.mark.timeout(120)

ATTACKERS = 10  # addresses: 10 x 32 per-source slots is more than the server's 256
PER_SOURCE = 40  # idle connections each tries to hold (more than its per-source limit)
MAX_OPENS = 20_000  # the whole attack's connections, however long the install takes
INSTALL_WITHIN = 60.0


class SmiFlood:
    """Connections to the director's port 4786 from ``sources``: held idle, reopened when the
    director closes them, plus garbage and half-open connects; bounded in count."""

    def __init__(self, sources: list[str], target: tuple[str, int]) -> None:
        self.sources = sources
        self.target = target
        self.held: dict[str, list[socket.socket]] = {s: [] for s in sources}
        self.opened = 0
        self.closed_by_director = 0

    def _connect(self, source: str) -> socket.socket | None:
        if self.opened >= MAX_OPENS:
            return None
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.bind((source, 0))
        self.opened += 1
        try:
            sock.connect(self.target)
        except BlockingIOError:
            pass
        except OSError:
            sock.close()
            return None
        return sock

    def _alive(self, sock: socket.socket) -> bool:
        try:
            return sock.recv(1, socket.MSG_PEEK) != b""
        except BlockingIOError:
            return True
        except OSError:
            return False

    def hold(self) -> None:
        """Each source keeps PER_SOURCE idle connections: closed ones are opened again."""
        for source, socks in self.held.items():
            alive = [s for s in socks if self._alive(s)]
            for sock in socks:
                if sock not in alive:
                    self.closed_by_director += 1
                    sock.close()
            while len(alive) < PER_SOURCE:
                sock = self._connect(source)
                if sock is None:
                    break
                alive.append(sock)
            self.held[source] = alive

    def garbage(self, count: int) -> None:
        """Connections that send junk at once, and half-open ones (connect, shut down)."""
        for i in range(count):
            sock = self._connect(self.sources[i % len(self.sources)])
            if sock is None:
                return
            with contextlib.suppress(OSError):
                if i % 2:
                    sock.send(os.urandom(64))
                else:
                    sock.shutdown(socket.SHUT_WR)
            sock.close()

    async def run(self) -> None:
        while True:
            self.hold()
            self.garbage(10)
            await asyncio.sleep(0.05)

    def close(self) -> None:
        for socks in self.held.values():
            for sock in socks:
                sock.close()
        self.held.clear()


@contextlib.asynccontextmanager
async def flooding(flood: SmiFlood) -> AsyncIterator[None]:
    task = asyncio.create_task(flood.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        flood.close()


@pytest.fixture(autouse=True)
def descriptors() -> None:
    soft, _ = raise_fd_limit()
    if soft < 2000:
        pytest.skip(f"the open files limit ({soft}) is too low to run the attacker")


async def test_a_switch_installs_and_stays_active_under_an_smi_flood(tmp_path: Path) -> None:
    prefix = lab_prefix()
    config = director_config(prefix, "vstack script flash:post.txt\n")
    topo = topology(tmp_path, prefix, config, [switch("sw", 20, prefix)])
    lab = make_lab(tmp_path, topo)
    attackers = [f"{prefix}.{200 + i}" for i in range(ATTACKERS)]
    flood = SmiFlood(attackers, (lab.address, lab.director.ports.smi))
    try:
        await lab.start(power_on=False)
        # the slots are full before the switch powers on, and stay contended throughout
        async with flooding(flood):
            await asyncio.sleep(0.5)
            lab.power_on()
            started = time.monotonic()
            installed = await lab.wait_until(lab.all_upgraded, INSTALL_WITHIN)
            assert installed, lab.director.log()[-4000:]
            # a few keepalive periods more under the flood: the switch stays Active
            mac = lab.switch("sw").mac
            deadline = time.monotonic() + 4 * topo.keepalive
            while time.monotonic() < deadline:
                device = lab.database().device_by_mac(mac)
                assert device is not None and device.health is Health.ACTIVE, lab.show_status()
                await asyncio.sleep(0.5)
            elapsed = time.monotonic() - started
    finally:
        await lab.stop()
    assert flood.opened > 500, f"the attack opened only {flood.opened} connections"
    log_text = lab.director.log()
    refusals = [line for line in log_text.splitlines() if "connection limit from" in line]
    assert refusals, log_text[-4000:]
    # logged per source, with the count so far, a few lines per source and interval
    counted = [int(m) for m in re.findall(r"refused \((\d+) from this source so far\)", log_text)]
    assert counted and max(counted) > 1
    assert len(refusals) <= ATTACKERS * 4 * (elapsed / 10 + 2)
    sources = {m for m in re.findall(r"connection limit from ([\d.]+):", log_text)}
    assert sources <= set(attackers)
    assert f"{prefix}.20" not in sources  # the switch was never refused
    assert "Traceback" not in log_text
