"""The TFTP server against real clients (curl, tftp-hpa, atftp) and a hand-driven raw peer."""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import resource
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartinstall.services.tftp import (
    LoadBoard,
    Refused,
    TftpServer,
    TftpServerConfig,
    open_for_read,
    upload_target,
)
from smartinstall.wire import tftp
from smartinstall.wire.tftp import Ack, Data, Error, ErrorCode, OAck, ServerLimits
from tests.integration.tftp_helpers import (
    RawPeer,
    RecordingHook,
    Tree,
    children,
    free_udp_port,
    make_tree,
    process_gone,
    run,
)
from tests.tools import require_program

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    return make_tree(tmp_path)


@pytest.fixture
def hook() -> RecordingHook:
    return RecordingHook(approved={"sw1-0011.2233.4455.REV1", "big.cfg"})


def server_config(tree: Tree, workers: int) -> TftpServerConfig:
    return TftpServerConfig(
        root=tree.root,
        port=0,
        upload_dir=tree.backups,
        upload_prefix="backup",
        max_upload_size=100_000,
        retransmit_timeout=0.2,
        max_backoff=0.8,
        max_retries=3,
        progress_interval=64 * 1024,
        workers=workers,
        worker_nice=0,
    )


# Every test that talks to the server from outside runs against both: transfers on the
# server's own loop, and in worker processes beside it (tests/integration/test_tftp_workers.py
# has what is particular to the workers).
@pytest.fixture(params=[0, 2], ids=["loop", "workers"])
async def server(
    tree: Tree, hook: RecordingHook, request: pytest.FixtureRequest
) -> AsyncIterator[TftpServer]:
    async with TftpServer(server_config(tree, request.param), hook) as srv:
        yield srv


@pytest.fixture
async def local_server(tree: Tree, hook: RecordingHook) -> AsyncIterator[TftpServer]:
    """The server with its transfers on this loop (tests that look at a transfer object)."""
    async with TftpServer(server_config(tree, 0), hook) as srv:
        yield srv


def url(server: TftpServer, name: str) -> str:
    host, port = server.address
    return f"tftp://{host}:{port}/{name}"


# -- path policy ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("../secret.txt", ErrorCode.ACCESS_VIOLATION),
        ("sub/../../secret.txt", ErrorCode.ACCESS_VIOLATION),
        ("/etc/passwd", ErrorCode.ACCESS_VIOLATION),
        ("escape", ErrorCode.ACCESS_VIOLATION),  # symlink out of the root
        ("sub\\..\\..\\secret.txt", ErrorCode.ACCESS_VIOLATION),
        ("small\x01.txt", ErrorCode.ACCESS_VIOLATION),
        (".hidden", ErrorCode.ACCESS_VIOLATION),
        ("missing.bin", ErrorCode.FILE_NOT_FOUND),
        ("sub", ErrorCode.FILE_NOT_FOUND),  # a directory
        ("", ErrorCode.FILE_NOT_FOUND),
    ],
)
def test_reads_confined_to_root(tree: Tree, name: str, code: ErrorCode) -> None:
    with pytest.raises(Refused) as info:
        open_for_read(tree.root, name)
    assert info.value.code == code


def test_reads_inside_root_including_inner_symlink(tree: Tree) -> None:
    for name, expected in (
        ("sub/nested.cfg", b"hostname sw1\n"),
        ("./sub//up", tree.files["small.txt"]),
    ):
        fd, size, _ = open_for_read(tree.root, name)
        try:
            assert os.pread(fd, 1000, 0) == expected and size == len(expected)
        finally:
            os.close(fd)


_pieces = st.sampled_from(
    [
        "..",
        ".",
        "",
        "sub",
        "escape",
        "up",
        "small.txt",
        "flash",
        "secret.txt",
        "\\",
        "%2e%2e",
        "\x00",
        "a",
    ]
)


@given(st.lists(_pieces, min_size=1, max_size=6), st.booleans())
@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_name_escapes_the_root(tree: Tree, parts: list[str], absolute: bool) -> None:
    name = ("/" if absolute else "") + "/".join(parts)
    try:
        fd, _, real = open_for_read(tree.root, name)
    except Refused:
        return
    os.close(fd)
    root = os.path.realpath(tree.root)
    assert real.startswith(root + os.sep), (name, real)
    assert real != os.path.realpath(tree.secret)


def test_load_board_is_shared_across_fork() -> None:
    board = LoadBoard(3)
    pid = os.fork()
    if pid == 0:  # a worker
        board.for_worker(1).set(4)
        os._exit(0)
    os.waitpid(pid, 0)
    mine = board.for_worker(0)
    mine.set(5)
    assert not mine.least_loaded()  # worker 1 runs 4, worker 2 none
    mine.set(0)
    assert mine.least_loaded()


def test_upload_names(tree: Tree) -> None:
    config = TftpServerConfig(root=tree.root, upload_dir=tree.backups, upload_prefix="backup")
    assert upload_target(config, "backup/a.cfg") == (os.path.realpath(tree.backups), "a.cfg")
    for name in (
        "a.cfg",
        "backup/../a.cfg",
        "backup/sub/a.cfg",
        "other/a.cfg",
        "backup/.a",
        "/backup/a.cfg",
        "backup",
    ):
        with pytest.raises(Refused):
            upload_target(config, name)
    closed = TftpServerConfig(root=tree.root)
    with pytest.raises(Refused):
        upload_target(closed, "backup/a.cfg")


# -- real clients: downloads ----------------------------------------------------------------


@pytest.mark.parametrize("blksize", [512, 1468, 8192])
async def test_curl_downloads_byte_identical(
    server: TftpServer, tree: Tree, tmp_path: Path, hook: RecordingHook, blksize: int
) -> None:
    curl = require_program("curl")
    for name in ("image.tar", "exact.bin", "empty.txt", "sub/nested.cfg"):
        out = tmp_path / "out.bin"
        status, text = await run(
            curl, "-sS", "--tftp-blksize", str(blksize), "-o", str(out), url(server, name)
        )
        assert status == 0, text
        assert out.read_bytes() == tree.files[name], name
    await hook.wait_finished(4)
    done = {info.filename: (size, error) for info, size, error in hook.finished}
    assert done["image.tar"] == (len(tree.files["image.tar"]), None)
    assert [i.filename for i in hook.started] == [
        "image.tar",
        "exact.bin",
        "empty.txt",
        "sub/nested.cfg",
    ]
    assert all(i.options.blksize == blksize for i in hook.started)
    assert any(info.filename == "image.tar" for info, _ in hook.progress)


async def test_curl_reports_missing_and_forbidden(server: TftpServer) -> None:
    curl = require_program("curl")
    status, _ = await run(curl, "-sS", "-o", "/dev/null", url(server, "missing.bin"))
    assert status == 68  # CURLE_TFTP_NOTFOUND
    status, _ = await run(curl, "-sS", "-o", "/dev/null", url(server, "escape"))
    assert status == 69  # CURLE_TFTP_PERM


async def test_tftp_hpa_binary_and_netascii(server: TftpServer, tree: Tree, tmp_path: Path) -> None:
    client = require_program("tftp")
    host, port = server.address
    status, text = await run(
        client,
        "-v",
        host,
        str(port),
        "-m",
        "binary",
        "-c",
        "get",
        "image.tar",
        str(tmp_path / "image.tar"),
    )
    assert status == 0, text
    assert (tmp_path / "image.tar").read_bytes() == tree.files["image.tar"]
    status, text = await run(
        client,
        host,
        str(port),
        "-m",
        "ascii",
        "-c",
        "get",
        "small.txt",
        str(tmp_path / "small.txt"),
    )
    assert status == 0, text
    # netascii there and back again gives the file unchanged on a Unix client
    assert (tmp_path / "small.txt").read_bytes() == tree.files["small.txt"]


@pytest.mark.parametrize(("blksize", "window"), [(1468, 8), (512, 4), (8192, 16)])
async def test_atftp_windowsize(
    server: TftpServer, tree: Tree, tmp_path: Path, hook: RecordingHook, blksize: int, window: int
) -> None:
    atftp = require_program("atftp")
    host, port = server.address
    out = tmp_path / "image.tar"
    status, text = await run(
        atftp,
        "--option",
        f"blksize {blksize}",
        "--option",
        f"windowsize {window}",
        "--option",
        "tsize 0",
        "-g",
        "-r",
        "image.tar",
        "-l",
        str(out),
        host,
        str(port),
    )
    assert status == 0, text
    assert out.read_bytes() == tree.files["image.tar"]
    await hook.wait_finished(1)
    options = hook.started[0].options
    assert (options.blksize, options.windowsize) == (blksize, window)
    assert options.tsize == len(tree.files["image.tar"])
    assert hook.finished[0][1:] == (len(tree.files["image.tar"]), None)


async def test_twenty_concurrent_downloads(
    server: TftpServer, tree: Tree, tmp_path: Path, hook: RecordingHook
) -> None:
    curl = require_program("curl")
    jobs = [
        run(
            curl,
            "-sS",
            "--tftp-blksize",
            "1468",
            "-o",
            str(tmp_path / f"o{i}"),
            url(server, "image.tar"),
        )
        for i in range(20)
    ]
    results = await asyncio.gather(*jobs)
    assert all(status == 0 for status, _ in results), results
    for i in range(20):
        assert (tmp_path / f"o{i}").read_bytes() == tree.files["image.tar"]
    await hook.wait_finished(20)
    assert server.stats().transfers_running == 0


# -- real clients: uploads ------------------------------------------------------------------


async def test_uploads_into_backup_area_only(
    server: TftpServer, tree: Tree, tmp_path: Path, hook: RecordingHook
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
    # tftp-hpa replaces it; the new content lands whole
    config.write_bytes(b"hostname sw1-new\n")
    status, text = await run(
        tftp_hpa, host, str(port), "-m", "binary", "-c", "put", str(config), f"backup/{name}"
    )
    assert status == 0, text
    assert (tree.backups / name).read_bytes() == b"hostname sw1-new\n"
    # not approved, outside the backup area, over the root: refused, nothing written
    for remote in (
        "backup/unknown.cfg",
        "small.txt",
        "sw1-0011.2233.4455.REV1",
        f"backup/../{name}",
    ):
        status, text = await run(atftp, "-p", "-r", remote, "-l", str(config), host, str(port))
        assert status != 0, (remote, text)
    assert sorted(p.name for p in tree.backups.iterdir()) == [name]
    assert (tree.root / "small.txt").read_bytes() == tree.files["small.txt"]
    assert [n for _, n, _ in hook.asked] == [name, name, "unknown.cfg"]


async def test_upload_over_size_cap_keeps_existing_file(
    server: TftpServer, tree: Tree, tmp_path: Path
) -> None:
    atftp = require_program("atftp")
    host, port = server.address
    (tree.backups / "big.cfg").write_bytes(b"old\n")
    big = tmp_path / "big.cfg"
    big.write_bytes(os.urandom(150_000))  # the cap is 100,000
    # with tsize the server refuses at once; without, it stops when the cap is crossed
    for opts in (["--option", "tsize 150000"], []):
        status, text = await run(
            atftp, *opts, "-p", "-r", "backup/big.cfg", "-l", str(big), host, str(port)
        )
        assert status != 0, text
        assert (tree.backups / "big.cfg").read_bytes() == b"old\n"
        assert sorted(p.name for p in tree.backups.iterdir()) == ["big.cfg"]  # no temp left


# -- raw peer: option negotiation -----------------------------------------------------------


async def test_blksize_zero_is_ignored_and_huge_is_capped(server: TftpServer, tree: Tree) -> None:
    async with RawPeer(server.address) as peer:
        peer.request("image.tar", {"blksize": "0"})
        data = await peer.expect(Data)
        assert isinstance(data, Data) and data.block == 1 and len(data.payload) == 512
    async with RawPeer(server.address) as peer:
        peer.request(
            "image.tar", {"blksize": "70000", "tsize": "0", "bogus": "1", "timeout": "9" * 50}
        )
        oack = await peer.expect(OAck)
        assert isinstance(oack, OAck)
        assert oack.options == {"blksize": "65464", "tsize": str(len(tree.files["image.tar"]))}
        peer.ack(0)
        data = await peer.expect(Data)
        assert isinstance(data, Data) and len(data.payload) == 65464


@pytest.mark.parametrize(
    ("packet", "code"),
    [
        (b"\x00\x01small.txt", ErrorCode.ILLEGAL_OPERATION),  # no NUL
        (b"\x00\x01small.txt\0mail\0", ErrorCode.ILLEGAL_OPERATION),
        (b"\x00\x01small.txt\0ebcdic\0", ErrorCode.ILLEGAL_OPERATION),
        (b"\x00\x01../secret.txt\0octet\0", ErrorCode.ACCESS_VIOLATION),
        (b"\x00\x01/etc/passwd\0octet\0", ErrorCode.ACCESS_VIOLATION),
        (b"\x00\x01escape\0octet\0", ErrorCode.ACCESS_VIOLATION),
        (b"\x00\x01sub/../../secret.txt\0octet\0", ErrorCode.ACCESS_VIOLATION),
        (b"\x00\x01nothere\0octet\0", ErrorCode.FILE_NOT_FOUND),
        (b"\x00\x02small.txt\0octet\0", ErrorCode.ACCESS_VIOLATION),
        (b"\x00\x01small.txt\0octet\0blksize\0" + b"9" * 900 + b"\0", None),  # ignored
    ],
)
async def test_bad_requests_answered_with_errors(
    server: TftpServer, packet: bytes, code: ErrorCode | None
) -> None:
    async with RawPeer(server.address) as peer:
        peer.send_raw(packet)
        reply = await peer.recv()
        if code is None:
            assert isinstance(reply, Data) and reply.block == 1
        else:
            assert isinstance(reply, Error) and reply.code == code, reply
            assert peer.tid is not None and peer.tid[1] != server.address[1]  # a fresh TID


# -- raw peer: faults -----------------------------------------------------------------------


async def test_duplicate_acks_do_not_duplicate_data(
    server: TftpServer, tree: Tree, hook: RecordingHook
) -> None:
    """Sorcerer's Apprentice (RFC 1123 4.2.3.1): each DATA goes out once."""
    expected = tree.files["exact.bin"]  # 40 blocks + an empty one
    got = bytearray()
    async with RawPeer(server.address) as peer:
        peer.request("exact.bin")
        block = 0
        while True:
            data = await peer.expect(Data)
            assert isinstance(data, Data)
            assert data.block == block + 1, "a DATA packet was sent twice"
            block = data.block
            got += data.payload
            peer.ack(block)
            peer.ack(block)  # every ACK twice
            if len(data.payload) < 512:
                break
        assert await peer.recv(timeout=0.1) is None
    assert bytes(got) == expected
    await hook.wait_finished(1)
    assert hook.finished[0][1:] == (len(expected), None)


async def test_future_ack_is_dropped(server: TftpServer, tree: Tree) -> None:
    async with RawPeer(server.address) as peer:
        peer.request("image.tar")
        assert isinstance(await peer.expect(Data), Data)
        peer.ack(7)  # a block not sent yet: no effect
        assert await peer.recv(timeout=0.1) is None  # (the retransmit timeout is 0.2 s)
        peer.ack(1)
        data = await peer.expect(Data)
        assert isinstance(data, Data) and data.block == 2
        assert data.payload == tree.files["image.tar"][512:1024]
        assert await peer.recv(timeout=0.1) is None


async def test_error_mid_transfer_ends_it(server: TftpServer, hook: RecordingHook) -> None:
    async with RawPeer(server.address) as peer:
        peer.request("image.tar")
        assert isinstance(await peer.expect(Data), Data)
        peer.send_raw(tftp.encode_error(ErrorCode.DISK_FULL, "my disk is full"))
        await hook.wait_finished(1)
        assert await peer.recv(timeout=0.5) is None  # no retransmission after the ERROR
    _, _, error = hook.finished[0]
    assert error is not None and "my disk is full" in error
    assert server.stats().transfers_running == 0


async def test_lost_acks_retransmit_with_backoff_then_give_up(
    server: TftpServer, hook: RecordingHook
) -> None:
    loop = asyncio.get_running_loop()
    async with RawPeer(server.address) as peer:
        peer.request("image.tar")
        arrivals = []
        while True:
            packet = await peer.recv(timeout=3.0)
            if packet is None or isinstance(packet, Error):
                break
            assert isinstance(packet, Data) and packet.block == 1
            arrivals.append(loop.time())
        assert isinstance(packet, Error)  # the server gave up and said so
    assert len(arrivals) == 1 + 3  # the first send and max_retries retransmissions
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert gaps[-1] > gaps[0]  # back-off: later waits are longer
    await hook.wait_finished(1)
    assert hook.finished[0][2] is not None


async def test_lost_ack_recovered(server: TftpServer, tree: Tree) -> None:
    async with RawPeer(server.address) as peer:
        peer.request("small.txt", {"blksize": "8"})
        assert isinstance(await peer.expect(OAck), OAck)
        peer.ack(0)
        first = await peer.expect(Data)
        again = await peer.expect(Data)  # our ACK "was lost": the same block again
        assert first == again
        got = bytearray()
        block = 1
        packet: tftp.Packet | None = first
        while isinstance(packet, Data):
            if packet.block == block:
                got += packet.payload
                peer.ack(block)
                if len(packet.payload) < 8:
                    break
                block += 1
            packet = await peer.recv()
        assert bytes(got) == tree.files["small.txt"]


async def test_window_loss_restarts_after_acked_block(server: TftpServer, tree: Tree) -> None:
    """RFC 7440: an ACK inside the window restarts the window after it."""
    image = tree.files["image.tar"]
    async with RawPeer(server.address) as peer:
        peer.request("image.tar", {"windowsize": "4"})
        assert await peer.expect(OAck) == OAck({"windowsize": "4"})
        peer.ack(0)
        blocks = [await peer.expect(Data) for _ in range(4)]
        assert [b.block for b in blocks if isinstance(b, Data)] == [1, 2, 3, 4]
        peer.ack(2)  # "3 was lost"
        again = [await peer.expect(Data) for _ in range(4)]
        assert [(b.block, b.payload) for b in again if isinstance(b, Data)] == [
            (n, image[(n - 1) * 512 : n * 512]) for n in (3, 4, 5, 6)
        ]


async def test_an_ack_waiting_on_the_socket_is_read_before_a_retransmission(
    local_server: TftpServer, tree: Tree, hook: RecordingHook
) -> None:
    """On a busy host the retransmission timer may come due while the last ACK already waits
    on the socket; resending the window then would meet a client that has gone, and end a
    finished transfer in error. The timer reads what is queued first."""
    async with RawPeer(local_server.address) as peer:
        peer.request("small.txt", {"blksize": "8", "windowsize": "4"})  # 25 bytes: 4 blocks
        assert isinstance(await peer.expect(OAck), OAck)
        peer.ack(0)
        blocks = [await peer.expect(Data) for _ in range(4)]
        assert b"".join(b.payload for b in blocks if isinstance(b, Data)) == tree.files["small.txt"]
        (transfer,) = local_server.transfers.values()
        transfer.last_mark = transfer.mark()  # the timer saw no progress since its last look
        peer.ack(4)  # queued on the server's socket; the loop has not run since
        transfer._on_timer()
        assert transfer.closed
        assert hook.finished[-1][2] is None
        assert await peer.recv(timeout=0.3) is None  # nothing was sent again


async def test_a_window_resent_to_a_peer_that_left_does_not_fail_a_finished_transfer(
    local_server: TftpServer, tree: Tree, hook: RecordingHook
) -> None:
    """A windowed peer that acknowledges an early block (asking for the rest again), then the
    last one, and leaves: the resent blocks meet a closed port ("connection refused"), yet its
    last ACK is already queued here; the transfer ends without error."""
    async with RawPeer(local_server.address) as peer:
        peer.request("small.txt", {"blksize": "8", "windowsize": "4"})  # 25 bytes: 4 blocks
        assert isinstance(await peer.expect(OAck), OAck)
        peer.ack(0)
        for _ in range(4):
            assert isinstance(await peer.expect(Data), Data)
        peer.ack(2)  # "3 was lost": blocks 3 and 4 go out again
        peer.ack(4)  # and yet the peer has it all, and leaves
    await hook.wait_finished(1)
    assert hook.finished[-1][2] is None


async def test_stalled_peer_and_garbage_do_not_stall_others(
    server: TftpServer, tree: Tree, tmp_path: Path
) -> None:
    curl = require_program("curl")
    rng = random.Random(4)
    async with RawPeer(server.address) as stalled, RawPeer(server.address) as noisy:
        stalled.request("image.tar")  # never acknowledged
        assert isinstance(await stalled.expect(Data), Data)
        noisy.request("image.tar")
        assert isinstance(await noisy.expect(Data), Data)
        for _ in range(300):  # garbage to the listening port and into a transfer
            junk = rng.randbytes(rng.randrange(0, 80))
            noisy.send_raw(junk, server.address)
            noisy.send_raw(junk)
        out = tmp_path / "o"
        status, text = await run(curl, "-sS", "-o", str(out), url(server, "image.tar"))
        assert status == 0, text
        assert out.read_bytes() == tree.files["image.tar"]


async def test_repeated_request_does_not_start_a_second_transfer(server: TftpServer) -> None:
    async with RawPeer(server.address) as peer:
        peer.request("image.tar")
        peer.request("image.tar")
        first = await peer.expect(Data)
        again = await peer.expect(Data)  # unacknowledged: the one transfer resends block 1
        assert first == again and isinstance(first, Data) and first.block == 1
        assert server.stats().transfers_started == 1


async def test_partial_raw_upload_never_replaces(
    server: TftpServer, tree: Tree, hook: RecordingHook
) -> None:
    name = "sw1-0011.2233.4455.REV1"
    (tree.backups / name).write_bytes(b"previous backup\n")
    async with RawPeer(server.address) as peer:
        peer.request(f"backup/{name}", write=True)
        assert await peer.expect(Ack) == Ack(0)
        peer.send_raw(tftp.encode_data(1, b"a" * 512))
        assert await peer.expect(Ack) == Ack(1)
        peer.send_raw(tftp.encode_data(1, b"a" * 512))  # a duplicate is re-acknowledged
        assert await peer.expect(Ack) == Ack(1)
        peer.send_raw(tftp.encode_error(0, "cancelled"))
        await hook.wait_finished(1)
    assert (tree.backups / name).read_bytes() == b"previous backup\n"
    assert sorted(p.name for p in tree.backups.iterdir()) == [name]
    assert hook.finished[0][2] is not None


async def test_windowed_raw_upload(server: TftpServer, tree: Tree) -> None:
    name = "big.cfg"
    payload = os.urandom(512 * 6 + 100)
    async with RawPeer(server.address) as peer:
        peer.request(f"backup/{name}", {"windowsize": "3", "tsize": str(len(payload))}, write=True)
        assert await peer.expect(OAck) == OAck({"windowsize": "3", "tsize": str(len(payload))})
        for b in (1, 2, 3):
            peer.send_raw(tftp.encode_data(b, payload[(b - 1) * 512 : b * 512]))
        assert await peer.expect(Ack) == Ack(3)  # one ACK per window
        peer.send_raw(tftp.encode_data(5, payload[4 * 512 : 5 * 512]))  # 4 "lost"
        assert await peer.expect(Ack) == Ack(3)  # tells where to restart
        for b in (4, 5, 6, 7):
            peer.send_raw(tftp.encode_data(b, payload[(b - 1) * 512 : b * 512]))
        assert await peer.expect(Ack) == Ack(6)
        assert await peer.expect(Ack) == Ack(7)
    assert (tree.backups / name).read_bytes() == payload


@pytest.mark.slow
async def test_block_number_rollover(tree: Tree, tmp_path: Path) -> None:
    """More than 65535 blocks: block numbers wrap to 0 (curl and tftp-hpa agree)."""
    curl = require_program("curl")
    data = os.urandom(16 * 65600)
    (tree.root / "wrap.bin").write_bytes(data)
    config = TftpServerConfig(root=tree.root, port=0, limits=ServerLimits())
    async with TftpServer(config) as srv:
        out = tmp_path / "wrap.bin"
        status, text = await run(
            curl, "-sS", "--tftp-blksize", "16", "-o", str(out), url(srv, "wrap.bin")
        )
        assert status == 0, text
        assert out.read_bytes() == data


async def test_memory_stays_flat_with_file_size(tree: Tree) -> None:
    """A 256 MiB (sparse) image is streamed, never held: peak RSS grows by far less."""
    curl = require_program("curl")
    image = tree.root / "huge.tar"
    with image.open("wb") as f:
        f.truncate(256 << 20)
    config = TftpServerConfig(root=tree.root, port=0)
    async with TftpServer(config) as srv:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
        status, text = await run(
            curl,
            "-sS",
            "--tftp-blksize",
            "65464",
            "-o",
            "/dev/null",
            "-w",
            "%{size_download}",
            url(srv, "huge.tar"),
        )
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert status == 0 and text.strip() == str(256 << 20), text
    assert after - before < 32 * 1024, f"peak RSS grew by {after - before} KiB"


async def test_standalone_command_with_workers(tree: Tree, tmp_path: Path) -> None:
    """`smartinstall tftp-server --workers 2`: a control process and two worker processes
    serve, uploads land, TERM stops them all."""
    curl = require_program("curl")
    port = free_udp_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "smartinstall.cli",
        "tftp-server",
        str(tree.root),
        "--port",
        str(port),
        "--workers",
        "2",
        "--upload-dir",
        str(tree.backups),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        base = f"tftp://127.0.0.1:{port}"
        async with asyncio.timeout(20):  # up once it answers
            while True:
                async with RawPeer(("127.0.0.1", port)) as probe:
                    probe.request("small.txt")
                    if await probe.recv(timeout=0.2) is not None:
                        break
        jobs = [
            run(
                curl,
                "-sS",
                "--tftp-blksize",
                "1468",
                "-o",
                str(tmp_path / f"o{i}"),
                f"{base}/image.tar",
            )
            for i in range(8)
        ]
        assert all(status == 0 for status, _ in await asyncio.gather(*jobs))
        for i in range(8):
            assert (tmp_path / f"o{i}").read_bytes() == tree.files["image.tar"]
        status, text = await run(
            curl, "-sS", "-T", str(tree.root / "image.tar"), f"{base}/backup/copy.tar"
        )
        assert status == 0, text
        assert (tree.backups / "copy.tar").read_bytes() == tree.files["image.tar"]
        workers = children(proc.pid)
        assert len(workers) == 2
    finally:
        proc.terminate()
        async with asyncio.timeout(10):
            assert await proc.wait() == 0
    assert all(process_gone(pid) for pid in workers)


async def test_oversized_block_aborts_upload(server: TftpServer, tree: Tree) -> None:
    async with RawPeer(server.address) as peer:
        peer.request("backup/big.cfg", write=True)
        assert await peer.expect(Ack) == Ack(0)
        peer.send_raw(tftp.encode_data(1, b"x" * 600))  # the block size is 512
        reply = await peer.expect(Error)
        assert isinstance(reply, Error) and reply.code == ErrorCode.ILLEGAL_OPERATION
    assert list(tree.backups.iterdir()) == []


async def test_failing_hook_refuses_upload_and_server_goes_on(tree: Tree, tmp_path: Path) -> None:
    class Broken(RecordingHook):
        def approve_upload(self, peer: object, name: str, size: int | None) -> bool:
            raise RuntimeError("owner bug")

        def transfer_started(self, info: object) -> None:
            raise RuntimeError("owner bug")

    config = TftpServerConfig(root=tree.root, port=0, upload_dir=tree.backups)
    async with TftpServer(config, Broken()) as srv:
        async with RawPeer(srv.address) as peer:
            peer.request("backup/x.cfg", write=True)
            reply = await peer.expect(Error)
            assert isinstance(reply, Error) and reply.code == ErrorCode.ACCESS_VIOLATION
        async with RawPeer(srv.address) as peer:
            peer.request("small.txt")
            data = await peer.expect(Data)
            assert isinstance(data, Data) and data.payload == tree.files["small.txt"]
