"""The TFTP client's additions for the emulated switch: a source address of its own (the
director takes a backup only from the client's address) and a download whose size differs
from the announced tsize is refused."""

from __future__ import annotations

import asyncio
import io
import socket
from pathlib import Path

import pytest

from smartinstall.services.tftp import TftpServer, TftpServerConfig
from smartinstall.services.tftp_client import ClientOptions, TftpClientError, fetch_to, upload_from
from smartinstall.wire import tftp
from tests.integration.tftp_helpers import RecordingHook, make_tree

pytestmark = pytest.mark.timeout(30)


async def test_transfers_leave_from_the_given_source_address(tmp_path: Path) -> None:
    tree = make_tree(tmp_path)
    hook = RecordingHook(approved={"sw.upload"})
    config = TftpServerConfig(
        root=tree.root, host="127.0.0.1", port=0, upload_dir=tree.backups, max_upload_size=1 << 20
    )
    async with TftpServer(config, hook) as server:
        host, port = server.address
        out = io.BytesIO()
        options = ClientOptions(local_host="127.0.0.77")
        assert await fetch_to(host, port, "small.txt", out, options) == len(out.getvalue())
        await upload_from(host, port, "backup/sw.upload", io.BytesIO(b"hostname sw\n"), options)
        await fetch_to(host, port, "small.txt", io.BytesIO(), ClientOptions())
    peers = [info.peer[0] for info in hook.started]
    assert peers == ["127.0.0.77", "127.0.0.77", "127.0.0.1"]
    assert (tree.backups / "sw.upload").read_bytes() == b"hostname sw\n"


async def test_a_source_address_not_on_this_host_fails_cleanly() -> None:
    with pytest.raises(OSError):
        await fetch_to("127.0.0.1", 9, "x", io.BytesIO(), ClientOptions(local_host="192.0.2.1"))


async def test_size_differing_from_tsize_is_refused() -> None:
    """A server that announces 1000 bytes and sends 10: the transfer is not taken as good."""
    loop = asyncio.get_running_loop()
    listen = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listen.bind(("127.0.0.1", 0))
    listen.setblocking(False)
    port = listen.getsockname()[1]

    async def liar() -> None:
        data, client = await loop.sock_recvfrom(listen, 1024)
        assert isinstance(tftp.parse(data), tftp.Request)
        listen.sendto(b"\x00\x06tsize\x001000\x00", client)  # OACK tsize=1000
        await loop.sock_recvfrom(listen, 1024)  # ACK 0
        listen.sendto(tftp.encode_data(1, b"0123456789"), client)
        await loop.sock_recvfrom(listen, 1024)  # ACK 1

    task = loop.create_task(liar())
    try:
        with pytest.raises(TftpClientError, match="announced 1000"):
            await fetch_to(
                "127.0.0.1",
                port,
                "image.tar",
                io.BytesIO(),
                ClientOptions(blksize=None, retransmit_timeout=0.5, max_retries=1),
            )
        await asyncio.wait_for(task, 5)
    finally:
        task.cancel()
        listen.close()


async def test_image_download_memory_does_not_grow_with_the_image(tmp_path: Path) -> None:
    """The switch counts the image as it streams in: 8 MiB through, well under 1 MiB held."""
    import tracemalloc

    from smartinstall.switch.flash import Flash
    from smartinstall.switch.machine import Switch, SwitchConfig
    from smartinstall.switch.netio import NetConfig, NetIo

    root = tmp_path / "root"
    root.mkdir()
    size = 8 * 1024 * 1024
    with (root / "big.tar").open("wb") as out:
        for _ in range(size // 65536):
            out.write(b"\xa5" * 65536)
    config = TftpServerConfig(root=root, host="127.0.0.1", port=0)
    async with TftpServer(config, RecordingHook()) as server:
        host, port = server.address
        switch = Switch(
            SwitchConfig("WS-C2960X-48FPS-L", "0050.56dd.0001", "127.0.0.1", tftp_port=port),
            Flash(tmp_path / "flash"),
            NetIo(NetConfig(("127.0.0.1", 9), 9, tftp_windowsize=16)),
        )
        tracemalloc.start()
        try:
            got = await switch._download_image(host, port, "big.tar")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert got == size and switch.flash.has_image("big.tar")
    assert peak < 1024 * 1024, peak
