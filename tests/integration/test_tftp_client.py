"""Our TFTP client against tftp-hpa's in.tftpd and against our own server."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from smartinstall.services.tftp import TftpServer, TftpServerConfig
from smartinstall.services.tftp_client import (
    ClientOptions,
    TftpClientError,
    fetch,
    fetch_to,
    fetch_url,
    parse_tftp_url,
    upload,
    upload_url,
)
from smartinstall.wire.tftp import ErrorCode, Mode
from tests.integration.tftp_helpers import RecordingHook, Tree, free_udp_port, make_tree
from tests.tools import require_program

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    return make_tree(tmp_path)


async def _wait_ready(port: int) -> None:
    """in.tftpd answers a request for a missing file once it listens."""
    async with asyncio.timeout(10):
        while True:
            try:
                await fetch_to(
                    "127.0.0.1",
                    port,
                    "probe-missing",
                    io.BytesIO(),
                    ClientOptions(retransmit_timeout=0.1, max_retries=0),
                )
            except TftpClientError as exc:
                if exc.code is not None:
                    return
            await asyncio.sleep(0.05)


@pytest.fixture
async def tftpd(tree: Tree) -> AsyncIterator[int]:
    """in.tftpd (tftp-hpa) on a loopback port, serving the tree's root, creating files."""
    program = require_program("in.tftpd")
    port = free_udp_port()
    args = [
        program,
        "--foreground",
        "--listen",
        "--address",
        f"127.0.0.1:{port}",
        "--secure",
        "--create",
    ]
    if os.geteuid() == 0:
        args += ["--user", "root"]
    os.chmod(tree.root, 0o777)
    proc = await asyncio.create_subprocess_exec(
        *args, str(tree.root), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        await _wait_ready(port)
        yield port
    finally:
        proc.kill()
        await proc.wait()


def test_parse_tftp_url() -> None:
    assert parse_tftp_url("tftp://10.0.0.1/imagelist.txt") == ("10.0.0.1", 69, "imagelist.txt")
    assert parse_tftp_url("tftp://127.0.0.1:6969/dir/a%20b") == ("127.0.0.1", 6969, "dir/a b")
    for bad in ("http://x/y", "tftp:///y", "tftp://x/", "tftp://x:99999/f"):
        with pytest.raises(ValueError):
            parse_tftp_url(bad)


@pytest.mark.parametrize(
    "options",
    [
        ClientOptions(),
        ClientOptions(blksize=None, tsize=False),
        ClientOptions(blksize=8192),
        ClientOptions(blksize=1468, windowsize=8, timeout=2),
    ],
)
async def test_fetch_from_tftp_hpa(
    tftpd: int, tree: Tree, tmp_path: Path, options: ClientOptions
) -> None:
    dest = tmp_path / "image.tar"
    size = await fetch_url(f"tftp://127.0.0.1:{tftpd}/image.tar", dest, options)
    assert dest.read_bytes() == tree.files["image.tar"]
    assert size == len(tree.files["image.tar"])
    size = await fetch("127.0.0.1", tftpd, "exact.bin", dest, options)
    assert dest.read_bytes() == tree.files["exact.bin"]


async def test_fetch_netascii_from_tftp_hpa(tftpd: int, tree: Tree) -> None:
    out = io.BytesIO()
    await fetch_to("127.0.0.1", tftpd, "small.txt", out, ClientOptions(mode=Mode.NETASCII))
    assert out.getvalue() == tree.files["small.txt"]


async def test_write_imagelist_to_tftp_hpa(tftpd: int, tree: Tree, tmp_path: Path) -> None:
    imagelist = tmp_path / "imagelist.txt"
    imagelist.write_bytes(b"c2960-lanbasek9-tar.150-2.SE.tar\n")
    await upload_url(f"tftp://127.0.0.1:{tftpd}/imagelist.txt", imagelist)
    assert (tree.root / "imagelist.txt").read_bytes() == imagelist.read_bytes()
    big = tmp_path / "big"
    big.write_bytes(os.urandom(200_000))
    await upload("127.0.0.1", tftpd, "big.bin", big, ClientOptions(blksize=1468, timeout=3))
    assert (tree.root / "big.bin").read_bytes() == big.read_bytes()
    text = tmp_path / "post_install.txt"
    text.write_bytes(b"line one\nline two\r\n")
    await upload("127.0.0.1", tftpd, "post_install.txt", text, ClientOptions(mode=Mode.NETASCII))
    assert (tree.root / "post_install.txt").read_bytes() == text.read_bytes()


async def test_fetch_missing_raises_and_leaves_nothing(tftpd: int, tmp_path: Path) -> None:
    dest = tmp_path / "nothing.bin"
    with pytest.raises(TftpClientError) as info:
        await fetch("127.0.0.1", tftpd, "nothing.bin", dest)
    assert info.value.code == ErrorCode.FILE_NOT_FOUND
    assert not dest.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


async def test_silent_server_times_out(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        with pytest.raises(TftpClientError, match="timed out"):
            await fetch_to(
                "127.0.0.1",
                port,
                "x",
                io.BytesIO(),
                ClientOptions(retransmit_timeout=0.05, max_retries=2),
            )
        silent.setblocking(False)
        requests = 0
        while True:
            try:
                silent.recv(2000)
            except BlockingIOError:
                break
            requests += 1
        assert requests == 3  # the request and two retransmissions


@pytest.mark.parametrize(
    "options",
    [
        ClientOptions(blksize=1468, windowsize=8),
        ClientOptions(blksize=512, windowsize=1),
        ClientOptions(blksize=65464, windowsize=4),
        ClientOptions(blksize=512, windowsize=2, mode=Mode.NETASCII),
    ],
)
async def test_client_and_server_round_trip(
    tree: Tree, tmp_path: Path, options: ClientOptions
) -> None:
    hook = RecordingHook(approved={"copy.bin"})
    config = TftpServerConfig(
        root=tree.root, port=0, upload_dir=tree.backups, max_upload_size=1 << 20
    )
    async with TftpServer(config, hook) as server:
        host, port = server.address
        data = tree.files["image.tar"]
        out = io.BytesIO()
        assert await fetch_to(host, port, "image.tar", out, options) == len(data)
        assert out.getvalue() == data
        await upload(host, port, "backup/copy.bin", tree.root / "image.tar", options)
        assert (tree.backups / "copy.bin").read_bytes() == data
        with pytest.raises(TftpClientError) as info:
            await upload(host, port, "image2.tar", tree.root / "image.tar", options)
        assert info.value.code == ErrorCode.ACCESS_VIOLATION


class _CountingStream(io.BytesIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.writes += 1
        return super().write(data)


async def test_download_is_written_in_large_chunks(tftpd: int, tree: Tree) -> None:
    out = _CountingStream()
    data = tree.files["image.tar"]  # 300,123 bytes: 587 blocks of 512
    assert await fetch_to("127.0.0.1", tftpd, "image.tar", out, ClientOptions(blksize=512)) == len(
        data
    )
    assert out.getvalue() == data
    assert out.writes <= len(data) // 65536 + 1  # not one write per block


class _ScriptedServer:
    """A TFTP server played by hand: the request arrives on `listen`, the transfer runs from
    `tid` (another port, as RFC 1350 wants), `stranger` is a third party on the same host."""

    def __init__(self) -> None:
        self.listen, self.tid, self.stranger = (_udp(), _udp(), _udp())
        self.client: tuple[str, int] | None = None

    @property
    def port(self) -> int:
        return int(self.listen.getsockname()[1])

    def close(self) -> None:
        for sock in (self.listen, self.tid, self.stranger):
            sock.close()

    async def request(self) -> bytes:
        data, self.client = await _recv(self.listen)
        return data

    def data(self, block: int, payload: bytes, sock: socket.socket | None = None) -> None:
        assert self.client is not None
        (sock or self.tid).sendto(bytes((0, 3, block >> 8, block & 0xFF)) + payload, self.client)

    async def expect_ack(self, block: int, within: float = 2.0) -> float:
        """Seconds until the client's next datagram, which must be ACK `block`."""
        start = asyncio.get_running_loop().time()
        data, _ = await _recv(self.tid, within)
        assert data == bytes((0, 4, block >> 8, block & 0xFF)), data
        return asyncio.get_running_loop().time() - start

    async def silent(self, seconds: float) -> None:
        with pytest.raises(TimeoutError):
            await _recv(self.tid, seconds)


def _udp() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sock.bind(("127.0.0.1", 0))
    return sock


async def _recv(sock: socket.socket, within: float = 2.0) -> tuple[bytes, tuple[str, int]]:
    async with asyncio.timeout(within):
        data, addr = await asyncio.get_running_loop().sock_recvfrom(sock, 70000)
    return data, (addr[0], addr[1])


@pytest.fixture
def scripted() -> Iterator[_ScriptedServer]:
    server = _ScriptedServer()
    yield server
    server.close()


async def test_lock_step_duplicates_gaps_strangers_and_a_lost_ack(
    scripted: _ScriptedServer,
) -> None:
    out = _CountingStream()
    options = ClientOptions(blksize=None, tsize=False, retransmit_timeout=0.3)
    client = asyncio.create_task(fetch_to("127.0.0.1", scripted.port, "f.bin", out, options))
    assert await scripted.request() == b"\x00\x01f.bin\x00octet\x00"
    one, two, three = os.urandom(512), os.urandom(512), os.urandom(100)
    scripted.data(1, one)  # the server ignores the (absent) options: DATA 1 at once
    await scripted.expect_ack(1)
    scripted.data(1, one)  # a duplicate: our ACK was lost, so it is sent again
    await scripted.expect_ack(1)
    scripted.data(2, b"x" * 512, scripted.stranger)  # another TID: dropped
    await scripted.silent(0.1)
    scripted.data(3, three)  # a gap: block 2 is missing, ACK 1 once
    await scripted.expect_ack(1)
    scripted.data(2, two)
    await scripted.expect_ack(2)
    waited = await scripted.expect_ack(2)  # nothing came: ACK 2 again after the timeout
    assert 0.2 < waited < 0.6
    scripted.data(3, three)
    await scripted.expect_ack(3)
    assert await client == 1124
    assert out.getvalue() == one + two + three
    assert out.writes == 1


async def test_an_error_mid_transfer_keeps_what_arrived(scripted: _ScriptedServer) -> None:
    out = io.BytesIO()
    client = asyncio.create_task(
        fetch_to("127.0.0.1", scripted.port, "f.bin", out, ClientOptions(blksize=None, tsize=False))
    )
    await scripted.request()
    blocks = [os.urandom(512) for _ in range(3)]
    for number, block in enumerate(blocks, 1):
        scripted.data(number, block)
        await scripted.expect_ack(number)
    assert scripted.client is not None
    scripted.tid.sendto(b"\x00\x05\x00\x03disk full\x00", scripted.client)
    with pytest.raises(TftpClientError, match="disk full") as info:
        await client
    assert info.value.code == ErrorCode.DISK_FULL
    assert out.getvalue() == b"".join(blocks)  # written, as block by block before


async def test_a_failing_stream_ends_the_download(scripted: _ScriptedServer) -> None:
    class Full(io.RawIOBase):
        def write(self, data: bytes) -> int:
            raise OSError(28, "No space left on device")

    client = asyncio.create_task(
        fetch_to(
            "127.0.0.1",
            scripted.port,
            "f.bin",
            Full(),  # type: ignore[arg-type]
            ClientOptions(blksize=None, tsize=False),
        )
    )
    await scripted.request()
    block = 0
    with pytest.raises(OSError, match="No space"):
        while not client.done():
            block += 1
            scripted.data(block, b"y" * 512)
            with contextlib.suppress(TimeoutError):
                await scripted.expect_ack(block, 0.5)
        await client
    assert 100 <= block <= 130  # the first 64 KiB chunk failed; nothing was read after it
