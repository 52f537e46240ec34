"""The TFTP server with worker processes (`TftpServerConfig.workers`): real clients on
loopback, the control channel, worker deaths and the control loop's responsiveness."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartinstall.services.tftp import (
    Address,
    TftpServer,
    TftpServerConfig,
    TransferInfo,
)
from smartinstall.services.tftp_channel import (
    Configure,
    JobFinished,
    JobProgress,
    JobRefused,
    JobStarted,
    Message,
    ProtocolError,
    Ready,
    StartJob,
    decode,
    encode,
)
from smartinstall.services.tftp_workers import WORKER_MODULE
from smartinstall.wire import tftp
from smartinstall.wire.tftp import Data, Error, ErrorCode, OAck, ServerLimits, TransferOptions
from tests.integration.tftp_helpers import (
    RawPeer,
    RecordingHook,
    Tree,
    cpu_seconds,
    make_tree,
    process_gone,
    run,
    wait_until,
)
from tests.tools import require_program

pytestmark = pytest.mark.timeout(90)

APPROVED = {"sw1-0011.2233.4455.REV1", "big.cfg"}


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    return make_tree(tmp_path)


class CheckingHook(RecordingHook):
    """Records every hook call in order, with the thread and event loop it came on; holds
    the reads named in `holds` until their future resolves."""

    def __init__(self, approved: set[str]) -> None:
        super().__init__(approved=set(approved))
        self.calls: list[tuple[str, int, object]] = []  # (call, transfer id, extra)
        self.places: list[tuple[int, asyncio.AbstractEventLoop]] = []
        self.holds: dict[str, asyncio.Future[bool]] = {}
        self.read_asks: list[tuple[Address, str]] = []

    def _where(self) -> None:
        self.places.append((threading.get_ident(), asyncio.get_running_loop()))

    def transfer_started(self, info: TransferInfo) -> None:
        self._where()
        self.calls.append(("started", info.transfer_id, info))
        super().transfer_started(info)

    def transfer_progress(self, info: TransferInfo, done: int) -> None:
        self._where()
        self.calls.append(("progress", info.transfer_id, done))
        super().transfer_progress(info, done)

    def transfer_finished(self, info: TransferInfo, done: int, error: str | None) -> None:
        self._where()
        self.calls.append(("finished", info.transfer_id, (done, error)))
        super().transfer_finished(info, done, error)

    def approve_upload(self, peer: Address, name: str, size: int | None) -> bool:
        self._where()
        return super().approve_upload(peer, name, size)

    def approve_read(self, peer: Address, name: str) -> bool | Awaitable[bool]:
        self._where()
        self.read_asks.append((peer, name))
        return self.holds.get(name, True)


def make_config(tree: Tree, workers: int, **overrides: object) -> TftpServerConfig:
    settings_: dict[str, object] = {
        "root": tree.root,
        "port": 0,
        "upload_dir": tree.backups,
        "upload_prefix": "backup",
        "max_upload_size": 100_000,
        "retransmit_timeout": 0.2,
        "max_backoff": 0.8,
        "max_retries": 3,
        "progress_interval": 64 * 1024,
        "workers": workers,
        "worker_nice": 0,
    }
    settings_.update(overrides)
    return TftpServerConfig(**settings_)  # type: ignore[arg-type]


@pytest.fixture
def hook() -> CheckingHook:
    return CheckingHook(APPROVED)


@pytest.fixture
async def server(tree: Tree, hook: CheckingHook) -> AsyncIterator[TftpServer]:
    async with TftpServer(make_config(tree, 2), hook) as srv:
        yield srv


def url(server: TftpServer, name: str) -> str:
    host, port = server.address
    return f"tftp://{host}:{port}/{name}"


def assert_on_control_loop(hook: CheckingHook) -> None:
    here = (threading.get_ident(), asyncio.get_running_loop())
    assert hook.places and all(place == here for place in hook.places)


def assert_call_order(hook: CheckingHook) -> None:
    """Per transfer: started once, then progress (never decreasing), then finished once."""
    by_id: dict[int, list[tuple[str, object]]] = {}
    for name, transfer_id, extra in hook.calls:
        by_id.setdefault(transfer_id, []).append((name, extra))
    for calls in by_id.values():
        names = [name for name, _ in calls]
        assert names[0] == "started" and names[-1] == "finished", names
        assert names.count("started") == 1 and names.count("finished") == 1, names
        done = [extra for name, extra in calls if name == "progress"]
        assert done == sorted(done), done  # type: ignore[type-var]


# -- real clients through the workers -------------------------------------------------------
# (tests/integration/test_tftp_server.py runs every peer test against the workers too; these
# check what only the worker mode has: where the hook is called, its order, the statistics)


@pytest.mark.parametrize("blksize", [512, 1468, 8192])
async def test_curl_downloads_through_workers(
    server: TftpServer, tree: Tree, tmp_path: Path, hook: CheckingHook, blksize: int
) -> None:
    curl = require_program("curl")
    names = ("image.tar", "exact.bin", "empty.txt", "sub/nested.cfg")
    for name in names:
        out = tmp_path / "out.bin"
        status, text = await run(
            curl, "-sS", "--tftp-blksize", str(blksize), "-o", str(out), url(server, name)
        )
        assert status == 0, text
        assert out.read_bytes() == tree.files[name], name
    await hook.wait_finished(4)
    assert [i.filename for i in hook.started] == list(names)
    image = hook.started[0]
    assert image.path == os.path.realpath(tree.root / "image.tar")
    assert image.is_read and image.mode == "octet"
    assert image.size == len(tree.files["image.tar"])
    assert image.options.blksize == blksize
    assert image.options.tsize == len(tree.files["image.tar"])  # curl asks for tsize
    done = {info.filename: (size, error) for info, size, error in hook.finished}
    assert done == {name: (len(tree.files[name]), None) for name in names}
    # progress every 64 KiB, reported by the worker and called here
    progress = [done for info, done in hook.progress if info.filename == "image.tar"]
    assert progress and all(d >= 64 * 1024 for d in progress)
    assert_on_control_loop(hook)
    assert_call_order(hook)
    stats = server.stats()
    assert stats.transfers_started == 4 and stats.transfers_finished == 4
    assert stats.transfers_failed == 0 and stats.transfers_running == 0


async def test_uploads_through_workers(
    server: TftpServer, tree: Tree, tmp_path: Path, hook: CheckingHook
) -> None:
    atftp = require_program("atftp")
    tftp_hpa = require_program("tftp")
    host, port = server.address
    config = tmp_path / "running.cfg"
    config.write_bytes(b"hostname sw1\n" + os.urandom(5000))
    name = "sw1-0011.2233.4455.REV1"
    status, text = await run(
        atftp, "-p", "-r", f"backup/{name}", "-l", str(config), host, str(port)
    )
    assert status == 0, text
    assert (tree.backups / name).read_bytes() == config.read_bytes()
    config.write_bytes(b"hostname sw1-new\n")
    status, text = await run(
        tftp_hpa, host, str(port), "-m", "binary", "-c", "put", str(config), f"backup/{name}"
    )
    assert status == 0, text
    assert (tree.backups / name).read_bytes() == b"hostname sw1-new\n"
    # not approved, outside the backup area, over the root: refused, nothing written
    for remote in ("backup/unknown.cfg", "small.txt", f"backup/../{name}"):
        status, text = await run(atftp, "-p", "-r", remote, "-l", str(config), host, str(port))
        assert status != 0, (remote, text)
    assert sorted(p.name for p in tree.backups.iterdir()) == [name]
    assert [n for _, n, _ in hook.asked] == [name, name, "unknown.cfg"]
    await hook.wait_finished(2)
    upload = hook.started[0]
    assert not upload.is_read and upload.path == os.path.join(os.path.realpath(tree.backups), name)
    assert_on_control_loop(hook)
    assert_call_order(hook)


async def test_upload_over_size_cap_through_workers(
    server: TftpServer, tree: Tree, tmp_path: Path, hook: CheckingHook
) -> None:
    atftp = require_program("atftp")
    host, port = server.address
    (tree.backups / "big.cfg").write_bytes(b"old\n")
    big = tmp_path / "big.cfg"
    big.write_bytes(os.urandom(150_000))  # the cap is 100,000
    for opts in (["--option", "tsize 150000"], []):
        status, text = await run(
            atftp, *opts, "-p", "-r", "backup/big.cfg", "-l", str(big), host, str(port)
        )
        assert status != 0, text
        assert sorted(p.name for p in tree.backups.iterdir()) == ["big.cfg"]  # no temp left
        assert (tree.backups / "big.cfg").read_bytes() == b"old\n"
    await hook.wait_finished(1)  # the second one started, crossed the cap in the worker
    assert hook.finished[0][2] == "Upload exceeds the size limit"
    assert server.stats().transfers_failed == 1


# -- refusals and confinement in the workers ------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("../secret.txt", ErrorCode.ACCESS_VIOLATION),
        ("/etc/passwd", ErrorCode.ACCESS_VIOLATION),
        ("escape", ErrorCode.ACCESS_VIOLATION),  # symlink out of the root
        (".hidden", ErrorCode.ACCESS_VIOLATION),
        ("missing.bin", ErrorCode.FILE_NOT_FOUND),
        ("sub", ErrorCode.FILE_NOT_FOUND),
    ],
)
async def test_read_refusals_through_workers(
    server: TftpServer, hook: CheckingHook, name: str, code: ErrorCode
) -> None:
    async with RawPeer(server.address) as peer:
        peer.request(name)
        reply = await peer.recv()
        assert isinstance(reply, Error) and reply.code == code, reply
        assert peer.tid is not None and peer.tid[1] != server.address[1]  # a fresh TID
    await wait_until(lambda: server.stats().transfers_running == 0)
    assert not hook.started


async def test_confinement_enforced_where_the_file_is_opened(
    server: TftpServer, tree: Tree, hook: CheckingHook
) -> None:
    """A name approved while harmless, turned into a way out before the worker opens it."""
    loop = asyncio.get_running_loop()
    hook.holds["late.bin"] = loop.create_future()
    (tree.root / "late.bin").write_bytes(b"harmless")
    async with RawPeer(server.address) as peer:
        peer.request("late.bin")
        await wait_until(lambda: len(hook.read_asks) == 1)
        (tree.root / "late.bin").unlink()
        (tree.root / "late.bin").symlink_to(tree.secret)
        hook.holds["late.bin"].set_result(True)
        reply = await peer.expect(Error)
        assert isinstance(reply, Error) and reply.code == ErrorCode.ACCESS_VIOLATION
    assert not hook.started


async def test_server_busy_and_repeated_requests_through_workers(
    tree: Tree, hook: CheckingHook
) -> None:
    srv = TftpServer(make_config(tree, 2, max_transfers=2), hook)
    async with srv, RawPeer(srv.address) as a, RawPeer(srv.address) as b, RawPeer(srv.address) as c:
        a.request("image.tar")
        a.request("image.tar")  # repeated while its transfer runs: dropped
        assert isinstance(await a.expect(Data), Data)
        b.request("image.tar")
        assert isinstance(await b.expect(Data), Data)
        c.request("image.tar")
        reply = await c.expect(Error)
        assert isinstance(reply, Error) and reply.message == "Server busy"
        assert srv.stats().transfers_running == 2
        await wait_until(lambda: len(hook.started) == 2)
        assert len({i.peer for i in hook.started}) == 2


async def test_transfers_spread_over_workers_by_load(tree: Tree, hook: CheckingHook) -> None:
    async with TftpServer(make_config(tree, 3), hook) as srv:
        peers = [RawPeer(srv.address) for _ in range(6)]
        try:
            for peer in peers:  # six stalled downloads
                peer.request("image.tar")
                assert isinstance(await peer.expect(Data), Data)
            assert srv.stats().running_per_worker == (2, 2, 2)
            peers[0].send_raw(tftp.encode_error(0, "bye"))
            peers[1].send_raw(tftp.encode_error(0, "bye"))
            await hook.wait_finished(2)
            stats = srv.stats()
            assert sorted(stats.running_per_worker) in ([1, 1, 2], [0, 2, 2])
            # the next transfers go to the least busy worker
            for peer in (RawPeer(srv.address), RawPeer(srv.address)):
                peers.append(peer)
                peer.request("image.tar")
                assert isinstance(await peer.expect(Data), Data)
            assert srv.stats().running_per_worker == (2, 2, 2)
        finally:
            for peer in peers:
                peer.close()


# -- the owner's read policy, awaited -------------------------------------------------------


@pytest.mark.parametrize("workers", [0, 2])
async def test_awaitable_approve_read_holds_only_that_request(
    tree: Tree, hook: CheckingHook, tmp_path: Path, workers: int
) -> None:
    curl = require_program("curl")
    loop = asyncio.get_running_loop()
    hook.holds["image.tar"] = loop.create_future()
    hook.holds["exact.bin"] = loop.create_future()
    async with TftpServer(make_config(tree, workers), hook) as srv:
        async with RawPeer(srv.address) as held, RawPeer(srv.address) as refused:
            held.request("image.tar")
            refused.request("exact.bin")
            await wait_until(lambda: len(hook.read_asks) == 2)
            # meanwhile another client is served
            out = tmp_path / "small.txt"
            status, text = await run(curl, "-sS", "-o", str(out), url(srv, "small.txt"))
            assert status == 0, text
            assert out.read_bytes() == tree.files["small.txt"]
            held.request("image.tar")  # a retransmitted request while held: dropped
            assert await held.recv(timeout=0.2) is None
            assert [name for _, name in hook.read_asks].count("image.tar") == 1
            assert srv.stats().transfers_running == 2  # the two held reads
            hook.holds["exact.bin"].set_result(False)
            reply = await refused.expect(Error)
            assert isinstance(reply, Error) and reply.code == ErrorCode.ACCESS_VIOLATION
            hook.holds["image.tar"].set_result(True)
            data = await held.expect(Data)
            assert isinstance(data, Data) and data.payload == tree.files["image.tar"][:512]
        await wait_until(lambda: len(hook.finished) == 2)
    assert [i.filename for i in hook.started] == ["small.txt", "image.tar"]
    assert_on_control_loop(hook)


async def test_approve_read_timeout_refuses_and_a_shared_future_survives(
    tree: Tree, hook: CheckingHook
) -> None:
    loop = asyncio.get_running_loop()
    shared = loop.create_future()
    hook.holds["image.tar"] = shared
    config = make_config(tree, 1, approve_read_timeout=0.2)
    async with TftpServer(config, hook) as srv, RawPeer(srv.address) as peer:
        peer.request("image.tar")
        reply = await peer.expect(Error, timeout=3.0)
        assert isinstance(reply, Error) and reply.code == ErrorCode.NOT_DEFINED
        assert not shared.cancelled()  # the owner's future is not ours to cancel
        assert srv.stats().transfers_running == 0


# -- worker life cycle ----------------------------------------------------------------------


@pytest.fixture(params=["pidfd", "polled"])
def exit_watch(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Worker exits noticed by a pidfd, or (kernels before 5.3) by the channel then polling."""
    if request.param == "polled":
        monkeypatch.delattr(os, "pidfd_open")
    return str(request.param)


async def test_killed_worker_is_restarted_and_its_transfer_reported_failed(
    tree: Tree, hook: CheckingHook, tmp_path: Path, exit_watch: str
) -> None:
    curl = require_program("curl")
    async with TftpServer(make_config(tree, 1), hook) as srv:
        (old_pid,) = srv.stats().worker_pids
        async with RawPeer(srv.address) as peer:
            peer.request("image.tar")
            assert isinstance(await peer.expect(Data), Data)
            await wait_until(lambda: len(hook.started) == 1)
            os.kill(old_pid, signal.SIGKILL)
            await hook.wait_finished(1)
        info, done, error = hook.finished[0]
        assert info.filename == "image.tar" and error == "worker exited" and done == 0
        await wait_until(lambda: srv.stats().workers_alive == 1)
        stats = srv.stats()
        assert stats.worker_restarts == 1 and stats.worker_pids[0] not in (0, old_pid)
        assert stats.transfers_failed == 1 and stats.transfers_running == 0
        assert process_gone(old_pid)
        out = tmp_path / "image.tar"  # the new worker serves
        status, text = await run(curl, "-sS", "-o", str(out), url(srv, "image.tar"))
        assert status == 0, text
        assert out.read_bytes() == tree.files["image.tar"]
    assert_call_order(hook)


async def test_close_ends_transfers_and_leaves_no_worker(
    tree: Tree, hook: CheckingHook, exit_watch: str
) -> None:
    srv = TftpServer(make_config(tree, 3), hook)
    await srv.start()
    pids = srv.stats().worker_pids
    assert len(pids) == 3 and all(pids) and not any(process_gone(p) for p in pids)
    async with RawPeer(srv.address) as peer:
        peer.request("image.tar")  # stalled: running when the server closes
        assert isinstance(await peer.expect(Data), Data)
        await wait_until(lambda: len(hook.started) == 1)
        await srv.close()
        assert all(process_gone(pid) for pid in pids)
        while True:  # DATA retransmissions may come first
            reply = await peer.recv()
            if not isinstance(reply, Data):
                break
        assert isinstance(reply, Error) and reply.message == "Server shutting down"
    assert hook.finished[0][2] == "Server shutting down"
    assert srv.stats().workers_alive == 0
    for pid in pids:
        with pytest.raises(ProcessLookupError):  # reaped, not a zombie
            os.kill(pid, 0)


_SERVE_AND_WAIT = """
import asyncio, sys
from pathlib import Path
from smartinstall.services.tftp import TftpServer, TftpServerConfig

async def main():
    srv = TftpServer(TftpServerConfig(root=Path(sys.argv[1]), port=0, workers=2))
    await srv.start()
    print(*srv.stats().worker_pids, flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def test_workers_exit_when_the_server_is_killed(tree: Tree) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _SERVE_AND_WAIT, str(tree.root), stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    async with asyncio.timeout(20):
        line = await proc.stdout.readline()
    pids = [int(p) for p in line.split()]
    assert len(pids) == 2 and not any(process_gone(p) for p in pids)
    proc.kill()  # kill -9 of the "director"
    await proc.wait()
    await wait_until(lambda: all(process_gone(p) for p in pids))


def _spawn_worker() -> tuple[subprocess.Popen[bytes], socket.socket]:
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with child:
        proc = subprocess.Popen(
            [sys.executable, "-m", WORKER_MODULE, "--fd", str(child.fileno())],
            pass_fds=(child.fileno(),),
        )
    parent.setblocking(False)
    return proc, parent


async def _receive(sock: socket.socket) -> Message:
    async with asyncio.timeout(10):
        return decode(await asyncio.get_running_loop().sock_recv(sock, 65536))


async def test_worker_alone_serves_and_exits_when_its_socket_closes(tree: Tree) -> None:
    proc, control = _spawn_worker()
    loop = asyncio.get_running_loop()
    try:
        for junk in (b"", b"\xff\x00garbage", b'["start"]', b'["config",1,2]', b"[[[[[[["):
            if junk:
                await loop.sock_sendall(control, junk)  # dropped, never fatal
        await loop.sock_sendall(control, encode(Configure(make_config(tree, 0), 0, 30)))
        assert await _receive(control) == Ready(proc.pid)
        async with RawPeer(("127.0.0.1", 9)) as peer:
            host, port = peer.sock.getsockname()
            await loop.sock_sendall(
                control,
                encode(StartJob(7, (host, port), True, "image.tar", "octet", {"blksize": "1024"})),
            )
            started = await _receive(control)
            assert isinstance(started, JobStarted) and started.transfer_id == 7
            assert started.options.blksize == 1024
            assert started.size == len(tree.files["image.tar"])
            assert await peer.expect(OAck) == OAck({"blksize": "1024"})
            await loop.sock_sendall(
                control, encode(StartJob(8, (host, port + 1), True, "../secret.txt", "octet", {}))
            )
            assert await _receive(control) == JobRefused(
                8, ErrorCode.ACCESS_VIOLATION, "Access violation"
            )
            control.close()  # the server is gone
            while True:
                reply = await peer.recv()
                if not isinstance(reply, OAck):
                    break
            assert isinstance(reply, Error) and reply.message == "Server shutting down"
        await wait_until(lambda: proc.poll() is not None)
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        control.close()


# -- the control loop during a storm --------------------------------------------------------


class _Echo(asyncio.DatagramProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        self.transport.sendto(data, addr)


async def test_control_loop_answers_during_a_download_storm(
    tree: Tree, hook: CheckingHook, tmp_path: Path
) -> None:
    """Forty 1.5 MiB downloads at 512-byte blocks: a UDP echo served by the control loop
    keeps answering while they run, and the packets are handled by the workers."""
    curl = require_program("curl")
    data = os.urandom(3 << 19)
    (tree.root / "storm.bin").write_bytes(data)
    loop = asyncio.get_running_loop()
    echo, _ = await loop.create_datagram_endpoint(_Echo, local_addr=("127.0.0.1", 0))
    async with TftpServer(make_config(tree, 2, progress_interval=1 << 20), hook) as srv:
        pids = srv.stats().worker_pids
        workers_before = sum(cpu_seconds(p) for p in pids)
        control_before = cpu_seconds(os.getpid(), threading.get_native_id())
        clients = [
            await asyncio.create_subprocess_exec(
                curl,
                "-sS",
                "--tftp-blksize",
                "512",
                "-o",
                str(tmp_path / f"o{i}"),
                url(srv, "storm.bin"),
                stdout=asyncio.subprocess.DEVNULL,
            )
            for i in range(40)
        ]
        storm = asyncio.gather(*(c.wait() for c in clients))
        answered_during = 0
        sent = 0
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as pinger:
            pinger.setblocking(False)
            pinger.connect(echo.get_extra_info("sockname"))
            while not storm.done():
                sent += 1
                await loop.sock_sendall(pinger, b"ping %d" % sent)
                async with asyncio.timeout(5):  # a bound, not an expectation
                    assert await loop.sock_recv(pinger, 100) == b"ping %d" % sent
                if srv.stats().transfers_running > 0:
                    answered_during += 1
                await asyncio.sleep(0.005)
        assert await storm == [0] * 40
        control_cpu = cpu_seconds(os.getpid(), threading.get_native_id()) - control_before
        workers_cpu = sum(cpu_seconds(p) for p in pids) - workers_before
        await hook.wait_finished(40)
    echo.close()
    for i in range(40):
        assert (tmp_path / f"o{i}").read_bytes() == data
    assert answered_during >= 10, (answered_during, sent)
    # the data packets were handled by the workers, not by the control loop's thread
    assert workers_cpu > 2 * control_cpu, (workers_cpu, control_cpu)
    assert all(error is None for _, _, error in hook.finished)
    assert_on_control_loop(hook)
    assert_call_order(hook)
    assert len(hook.progress) == 40  # once per MiB each


# -- the control channel's wire format ------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=16,
)
_TAGS = ["config", "start", "ready", "started", "refused", "progress", "finished", "other"]


@given(st.binary(max_size=4096))
@settings(max_examples=500)
def test_decode_never_crashes_on_bytes(data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        decode(data)


@given(st.sampled_from(_TAGS), st.lists(_json, max_size=14))
@settings(max_examples=300, deadline=None)
def test_decode_never_crashes_on_json(tag: str, fields: list[object]) -> None:
    try:
        message = decode(json.dumps([tag, *fields]).encode())
    except ProtocolError:
        return
    assert decode(encode(message)) == message


_ids = st.integers(0, 2**40)
_text = st.text(max_size=40).filter(lambda t: "\x00" not in t)
_options = st.builds(
    TransferOptions,
    blksize=st.integers(8, 65464),
    windowsize=st.integers(1, 64),
    timeout=st.none() | st.integers(1, 255).map(float),
    tsize=st.none() | st.integers(0, 2**40),
)
_peers = st.tuples(st.sampled_from(["127.0.0.1", "::1", "192.0.2.7"]), st.integers(0, 65535))
_messages = st.one_of(
    st.builds(
        StartJob,
        _ids,
        _peers,
        st.booleans(),
        _text,
        st.sampled_from(["octet", "netascii"]),
        st.dictionaries(_text.filter(lambda t: len(t) < 60), _text, max_size=5),
    ),
    st.builds(Ready, st.integers(1, 2**22)),
    st.builds(JobStarted, _ids, _text, st.none() | _ids, _options),
    st.builds(JobRefused, _ids, st.integers(0, 8), _text),
    st.builds(JobProgress, _ids, _ids),
    st.builds(JobFinished, _ids, _ids, st.none() | _text),
    st.builds(
        Configure,
        st.builds(
            TftpServerConfig,
            root=st.just(Path("/srv/flash")),
            host=st.sampled_from(["127.0.0.1", "::", ""]),
            upload_dir=st.none() | st.just(Path("/srv/backups")),
            max_upload_size=_ids,
            limits=st.builds(
                ServerLimits,
                st.integers(8, 65464),
                st.integers(1, 64),
                st.booleans(),
                st.booleans(),
            ),
            retransmit_timeout=st.floats(0.01, 60),
            max_retries=st.integers(0, 20),
            progress_interval=st.integers(1, 2**30),
        ),
        st.integers(-20, 19),
        st.integers(0, 50),
    ),
)


@given(_messages, st.data())
@settings(max_examples=500)
def test_messages_round_trip_and_mangled_ones_are_refused(
    message: Message, data: st.DataObject
) -> None:
    wire = encode(message)
    assert decode(wire) == message
    cut = data.draw(st.integers(0, len(wire)))
    flip = data.draw(st.integers(0, 255))
    for mangled in (wire[:cut], wire[:cut] + bytes([flip]) + wire[cut + 1 :]):
        with contextlib.suppress(ProtocolError):
            decode(mangled)


_chars = st.characters(min_codepoint=1, max_codepoint=0x10FFFF, exclude_categories=("Cs",))
_ascii_chars = st.characters(min_codepoint=1, max_codepoint=127)
# short and long fields alike: a request may spend its 1024 bytes on any one of them
_names = st.text(_chars, min_size=1, max_size=8) | st.text(_chars, min_size=200, max_size=1000)
_ascii = st.text(_ascii_chars, min_size=1, max_size=8) | st.text(
    _ascii_chars, min_size=100, max_size=1000
)


@given(
    _names,
    st.sampled_from(list(tftp.Mode)),
    st.dictionaries(_ascii, _ascii, max_size=4),
    st.booleans(),
)
@settings(max_examples=300)
def test_every_request_the_server_accepts_reaches_the_worker_intact(
    name: str, mode: tftp.Mode, options: dict[str, str], write: bool
) -> None:
    """What the control plane approves always fits the channel: no job is lost on the way."""
    opcode = tftp.Opcode.WRQ if write else tftp.Opcode.RRQ
    try:
        request = tftp.parse(tftp.encode_request(opcode, name, mode, options))
    except ValueError:  # too long to be a request (MalformedPacket is a ValueError too)
        return
    assert isinstance(request, tftp.Request)
    job = StartJob(
        2**40, ("::1", 65535), request.is_read, request.filename, mode.value, request.options
    )
    decoded = decode(encode(job))
    assert decoded == job and isinstance(decoded, StartJob)
    assert decoded.request() == request
    # and the worker's answers always fit too, whatever text they carry
    text = "x\x00" * 40_000
    assert decode(encode(JobFinished(1, 2, text))) == JobFinished(
        1, 2, text[:1024].replace("\x00", "?")
    )
