"""TFTP exhaustion, attacked on loopback: a flood of reads that are never acknowledged from
one source, reads nobody answers from many sources, and a director that runs out of file
descriptors. While each attack goes on an honest read by a real client (curl, tftp-hpa)
completes, the director keeps its role, and the log says the flood in a few lines with
counts, never a traceback per packet."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import resource
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from smartinstall.lab.runner import read_internals
from smartinstall.services.tftp import TftpServer
from smartinstall.services.tftp_limits import raise_fd_limit
from smartinstall.wire import tftp
from tests.integration.director_harness import ROOT, DirectorProcess, lab_prefix
from tests.integration.test_tftp_workers import CheckingHook, make_config
from tests.integration.tftp_helpers import Tree, make_tree, run
from tests.tools import require_program

pytestmark = pytest.mark.timeout(120)

HONEST_WITHIN = 5.0  # seconds for an honest read while the attack goes on
IMAGE = os.urandom(300_000)


class Flood:
    """Reads from one source address, each from a port of its own, never acknowledged (the
    sockets stay open, so the server retransmits to them until it gives up)."""

    def __init__(self, source: str, server: tuple[str, int], name: str = "image.bin") -> None:
        self.source = source
        self.server = server
        self.request = tftp.encode_request(tftp.Opcode.RRQ, name, tftp.Mode.OCTET)
        self.socks: list[socket.socket] = []

    def send(self, count: int) -> None:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setblocking(False)
            sock.bind((self.source, 0))
            self.socks.append(sock)
            with contextlib.suppress(BlockingIOError):
                sock.sendto(self.request, self.server)

    def resend_unanswered(self) -> int:
        """Requests the server has not answered at all (lost on the way) are sent again; a
        repeat of one it took is dropped there."""
        again = 0
        for sock in self.socks:
            try:
                sock.recv(1, socket.MSG_PEEK)
            except BlockingIOError:
                with contextlib.suppress(BlockingIOError):
                    sock.sendto(self.request, self.server)
                again += 1
            except OSError:
                pass
        return again

    def refusals(self) -> int:
        """Sockets that were told "Server busy" (at once, or when their place went to
        another source); what waits on them is read."""
        busy = tftp.encode_error(tftp.ErrorCode.NOT_DEFINED, "Server busy")
        count = 0
        for sock in self.socks:
            told = False
            with contextlib.suppress(OSError):
                while True:
                    told |= sock.recv(70000) == busy
            count += told
        return count

    async def fill(self, count: int, full: Callable[[], Awaitable[bool]]) -> None:
        """Send `count` requests in bursts the kernel's buffer holds, until `full()`."""
        for start in range(0, count, 50):
            self.send(min(50, count - start))
            await asyncio.sleep(0.005)
        deadline = time.monotonic() + 20
        while not await full():
            assert time.monotonic() < deadline, "the flood did not fill the server"
            self.resend_unanswered()
            await asyncio.sleep(0.1)

    async def keep_going(self, per_burst: int = 20) -> None:
        """New requests, a burst every 50 ms, until cancelled (old sockets are reused)."""
        while True:
            self.send(per_burst)
            if len(self.socks) > 1500:
                for sock in self.socks[:per_burst]:
                    sock.close()
                del self.socks[:per_burst]
            await asyncio.sleep(0.05)

    def close(self) -> None:
        for sock in self.socks:
            sock.close()
        self.socks.clear()


@contextlib.asynccontextmanager
async def attack(flood: Flood) -> AsyncIterator[None]:
    task = asyncio.create_task(flood.keep_going())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture(autouse=True)
def descriptors() -> None:
    """The attacker's sockets: 1,100 and more at once."""
    soft, _ = raise_fd_limit()
    if soft < 2500:
        pytest.skip(f"the open files limit ({soft}) is too low to run the attacker")


async def curl_read(address: tuple[str, int], source: str, dest: Path) -> bytes:
    """curl's read from `source`: what it got, within HONEST_WITHIN seconds."""
    curl = require_program("curl")
    async with asyncio.timeout(HONEST_WITHIN):
        status, text = await run(
            curl, "-sS", "--interface", source, "-o", str(dest),
            f"tftp://{address[0]}:{address[1]}/image.bin",
        )  # fmt: skip
    assert status == 0, text
    return dest.read_bytes()


async def tftp_hpa_read(address: tuple[str, int], dest: Path) -> bytes:
    """tftp-hpa cannot choose its source address: it reads from 127.0.0.1."""
    client = require_program("tftp")
    async with asyncio.timeout(HONEST_WITHIN):
        status, text = await run(
            client, address[0], str(address[1]), "-m", "binary", "-c", "get", "image.bin",
            str(dest),
        )  # fmt: skip
    assert status == 0 and "rror" not in text, text
    return dest.read_bytes()


# -- the server alone -----------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    tree = make_tree(tmp_path)
    (tree.root / "image.bin").write_bytes(IMAGE)
    return tree


@pytest.mark.parametrize("workers", [0, 2], ids=["loop", "workers"])
async def test_a_flooding_source_gives_way_to_others(
    tree: Tree, tmp_path: Path, workers: int
) -> None:
    hook = CheckingHook(set())
    config = make_config(tree, workers, max_transfers=40, host="127.0.0.1")
    async with TftpServer(config, hook) as srv:
        flood = Flood("127.0.0.66", srv.address)
        try:

            async def full() -> bool:
                return srv.stats().transfers_running >= 40

            await flood.fill(100, full)
            async with attack(flood):
                data = await curl_read(srv.address, "127.0.0.77", tmp_path / "a")
                assert data == IMAGE
                assert await tftp_hpa_read(srv.address, tmp_path / "b") == IMAGE
            stats = srv.stats()
            assert stats.capacity == 40
            # a place for each honest read (the second may find the first one's free)
            assert 1 <= stats.ended_for_room <= 2
            assert stats.refused_busy >= 60 and flood.refusals() >= 60
            assert stats.transfers_running <= 40
        finally:
            flood.close()


@pytest.mark.parametrize("workers", [0, 2], ids=["loop", "workers"])
async def test_reads_nobody_answers_give_way_first(
    tree: Tree, tmp_path: Path, workers: int
) -> None:
    """Eight sources with one read each fill the server; none acknowledges anything. Once
    their first retransmission is due they are known unanswered, and a newcomer takes the
    place of one, although no source holds more than it would."""
    hook = CheckingHook(set())
    config = make_config(tree, workers, max_transfers=8, host="127.0.0.1")
    async with TftpServer(config, hook) as srv:
        floods = [Flood(f"127.0.1.{i}", srv.address) for i in range(1, 9)]
        try:
            for flood in floods:
                flood.send(1)
            async with asyncio.timeout(10):
                while srv.slots.unanswered() < 8:
                    for flood in floods:
                        flood.resend_unanswered()
                    await asyncio.sleep(0.02)
            assert srv.stats().transfers_running == 8 and srv.stats().sources == 8
            data = await curl_read(srv.address, "127.0.2.1", tmp_path / "a")
            assert data == IMAGE and srv.stats().ended_for_room == 1
            ended = [f for f in floods if f.refusals() == 1]
            assert len(ended) == 1  # its read was ended with "Server busy"
        finally:
            for flood in floods:
                flood.close()


# -- the director ---------------------------------------------------------------------------


class LimitedDirector(DirectorProcess):
    """The director started with an open files limit of its own and `--tftp-workers`."""

    nofile: tuple[int, int] | None = None
    workers: int | None = None

    def start(self) -> None:
        command = [
            sys.executable, "-m", "smartinstall.cli", "director",
            "--data-dir", str(self.data_dir), "--address", self.address,
            "--dhcp-port", str(self.ports["dhcp"]), "--dhcp-relay-port", str(self.ports["relay"]),
            "--tftp-port", str(self.ports["tftp"]), "--smi-port", str(self.ports["smi"]),
            "--client-smi-port", str(self.ports["client_smi"]),
            "--keepalive", str(self.keepalive), "--log-file", str(self.log_file),
        ]  # fmt: skip
        if self.workers is not None:
            command += ["--tftp-workers", str(self.workers)]
        nofile = self.nofile

        def limit() -> None:
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, nofile)

        self.process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=limit,
        )  # fmt: skip
        self.wait_for_log("director ready", timeout=20)

    @property
    def tftp(self) -> tuple[str, int]:
        return self.address, self.ports["tftp"]

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def limits(self, new: tuple[int, int] | None = None) -> tuple[int, int]:
        """The director's open files limits (set to `new`, as prlimit does)."""
        if new is None:
            return resource.prlimit(self.pid, resource.RLIMIT_NOFILE)
        return resource.prlimit(self.pid, resource.RLIMIT_NOFILE, new)

    def open_fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))


@contextlib.contextmanager
def director(
    base: Path, nofile: tuple[int, int] | None = None, workers: int | None = None
) -> Iterator[LimitedDirector]:
    prefix = lab_prefix()
    config = f"hostname Director\nvstack director {prefix}.1\nvstack basic\n"
    process = LimitedDirector(base / "director", prefix, config)
    process.nofile, process.workers = nofile, workers
    (process.flash / "image.bin").write_bytes(IMAGE)
    process.start()
    try:
        yield process
    finally:
        process.stop()


def running(
    director: LimitedDirector, at_least: int | None = None
) -> Callable[[], Awaitable[bool]]:
    """A condition: the director runs `at_least` TFTP transfers, by default as many as it
    can (show vstack internal, over its console)."""
    logged = re.search(r"tftp: (\d+) transfers at once", director.log())
    wanted = at_least or (int(logged.group(1)) if logged else 1000)

    async def full() -> bool:
        internals = await asyncio.to_thread(read_internals, director.data_dir)
        line = (internals or {}).get("TFTP transfers running", "0")
        return int(line.split()[0]) >= wanted

    return full


def assert_said_with_counts(log: str) -> None:
    assert "Traceback" not in log
    assert "Director is Disabled" not in log
    assert re.search(
        r"refused: Server busy \(server full; \S+ holds \d+ of \d+ transfers\)", log
    ), log[-3000:]
    counted = re.search(r"requests refused, Server busy: (\d+) more in the last 10 s", log)
    assert counted and int(counted.group(1)) >= 50, log[-3000:]


async def test_a_flood_of_unacknowledged_reads_does_not_keep_an_honest_read_out(
    tmp_path: Path,
) -> None:
    """The attack as it was reported: 1,100 reads from one source, never acknowledged.
    Before, every place (1,000) was the flood's for 31 s and everyone got "Server busy"."""
    with director(tmp_path) as process:
        before = len(process.log())
        flood = Flood(f"{process.prefix}.66", process.tftp)
        try:
            await flood.fill(1100, running(process))
            async with attack(flood):
                data = await curl_read(process.tftp, f"{process.prefix}.77", tmp_path / "a")
                assert data == IMAGE
                assert await tftp_hpa_read(process.tftp, tmp_path / "b") == IMAGE
                # the flood goes on until it has been told "Server busy" a hundred times (on a
                # busy machine the honest reads can end before that); bounded in time
                refused = 0
                for _ in range(100):
                    refused += flood.refusals()
                    if refused >= 100:
                        break
                    await asyncio.sleep(0.1)
            assert refused >= 100
        finally:
            process.stop()  # says the counts of the window under way
            flood.close()
        log = process.log()[before:]
    assert_said_with_counts(log)
    assert "transfer ended to make room for" in log
    assert len(log) < 16_000, f"{len(log)} bytes of log for one flood"


@pytest.mark.parametrize("workers", [0, 2], ids=["loop", "workers"])
async def test_out_of_descriptors_the_director_keeps_its_role_and_serves(
    tmp_path: Path, workers: int
) -> None:
    """The director's open files limit is lowered, while it runs, to what it has open: no
    descriptor is left for its loop. Before, the role check (a bind) failed, the director
    said "Director is Disabled", and every refused request wrote a line or a traceback."""
    with director(tmp_path, workers=workers) as process:
        before = len(process.log())
        flood = Flood(f"{process.prefix}.66", process.tftp)
        soft, hard = process.limits()
        try:
            # on the loop, the flood holds descriptors below the capacity: they run out
            # first; with workers, it fills the places: refusals want sockets
            await flood.fill(*((300, running(process, 300)) if workers == 0 else
                               (1100, running(process))))  # fmt: skip
            process.limits((process.open_fds(), hard))  # not one descriptor left
            exhausted = time.monotonic()
            async with attack(flood):
                data = await curl_read(process.tftp, f"{process.prefix}.77", tmp_path / "a")
                assert data == IMAGE
                # the role is checked every second: a few checks while nothing is left
                while time.monotonic() - exhausted < 2.5:
                    await asyncio.sleep(0.1)
        finally:
            process.limits((soft, hard))
        try:
            # descriptors again: the director still directs and serves
            internals = await asyncio.to_thread(read_internals, process.data_dir)
            assert internals is not None
            data = await curl_read(process.tftp, f"{process.prefix}.78", tmp_path / "b")
            assert data == IMAGE
        finally:
            process.stop()
            flood.close()
        log = process.log()[before:]
    assert "Traceback" not in log and "Director is Disabled" not in log
    assert len(log) < 16_000, f"{len(log)} bytes of log"
    if workers == 0:
        # the flood's transfers give their descriptors to the honest one
        assert "transfer ended to make room for" in log
        assert "Server busy (Too many open files; " in log
    else:
        # refusals cannot get a socket of their own: sent from the listening port, said once
        assert "answered from the listening port" in log


async def test_the_soft_limit_is_raised_and_a_low_hard_limit_caps_transfers(
    tmp_path: Path,
) -> None:
    """Started with 256 files (hard limit 512): the soft limit is raised to 512, TFTP takes
    what fits beside the control plane, and a flood still leaves room for an honest read."""
    with director(tmp_path, nofile=(256, 512), workers=0) as process:
        assert process.limits() == (512, 512)
        log = process.log()
        capacity = re.search(r"tftp: (\d+) transfers at once, not 1000", log)
        assert capacity and 50 < int(capacity.group(1)) < 200, log[-2000:]
        flood = Flood(f"{process.prefix}.66", process.tftp)
        try:
            await flood.fill(int(capacity.group(1)) + 100, running(process))
            async with attack(flood):
                data = await curl_read(process.tftp, f"{process.prefix}.77", tmp_path / "a")
                assert data == IMAGE
        finally:
            process.stop()
            flood.close()
        log = process.log()
    assert_said_with_counts(log)
