"""Our TFTP client against tftp-hpa's in.tftpd and against our own server."""

from __future__ import annotations

import asyncio
import io
import os
import socket
from collections.abc import AsyncIterator
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
                await fetch_to("127.0.0.1", port, "probe-missing", io.BytesIO(),
                               ClientOptions(retransmit_timeout=0.1, max_retries=0))
            except TftpClientError as exc:
                if exc.code is not None:
                    return
            await asyncio.sleep(0.05)


@pytest.fixture
async def tftpd(tree: Tree) -> AsyncIterator[int]:
    """in.tftpd (tftp-hpa) on a loopback port, serving the tree's root, creating files."""
    program = require_program("in.tftpd")
    port = free_udp_port()
    args = [program, "--foreground", "--listen", "--address", f"127.0.0.1:{port}",
            "--secure", "--create"]
    if os.geteuid() == 0:
        args += ["--user", "root"]
    os.chmod(tree.root, 0o777)
    proc = await asyncio.create_subprocess_exec(*args, str(tree.root),
                                                stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.DEVNULL)
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
    [ClientOptions(), ClientOptions(blksize=None, tsize=False), ClientOptions(blksize=8192),
     ClientOptions(blksize=1468, windowsize=8, timeout=2)],
)
async def test_fetch_from_tftp_hpa(tftpd: int, tree: Tree, tmp_path: Path,
                                   options: ClientOptions) -> None:
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
            await fetch_to("127.0.0.1", port, "x", io.BytesIO(),
                           ClientOptions(retransmit_timeout=0.05, max_retries=2))
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
    [ClientOptions(blksize=1468, windowsize=8), ClientOptions(blksize=512, windowsize=1),
     ClientOptions(blksize=65464, windowsize=4),
     ClientOptions(blksize=512, windowsize=2, mode=Mode.NETASCII)],
)
async def test_client_and_server_round_trip(tree: Tree, tmp_path: Path,
                                            options: ClientOptions) -> None:
    hook = RecordingHook(approved={"copy.bin"})
    config = TftpServerConfig(root=tree.root, port=0, upload_dir=tree.backups,
                              max_upload_size=1 << 20)
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
