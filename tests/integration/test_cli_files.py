"""Disk work of one terminal does not hold the others: while ``vstack tar`` of a 64 MiB file
runs for one session of the director's local console (real `LocalConsoleServer`, real engine,
real repository), another session logs in and gets its answers.

The tar's thread is held at a gate until the other session has been served; a tar done on the
event loop would hold the loop at that gate and the other session would get no answer."""

from __future__ import annotations

import asyncio
import hashlib
import tarfile
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import pytest

from smartinstall.director.terminals import build_engine
from smartinstall.ios import StartupConfig
from smartinstall.services.cli_local import MAGIC, LocalConsoleServer, run_lines, socket_address
from smartinstall.services.cli_terminal import TerminalHub
from smartinstall.store.repository import Repository
from tests.unit.director.test_exec_commands import Host, host  # noqa: F401
from tests.unit.director.test_exec_files import LARGE, large_file

pytestmark = pytest.mark.timeout(120)


class GatedRepository(Repository):
    """Reading a file waits at a gate the test opens. A safety timeout avoids a hang: a read
    on the event loop would hold the test too, until the gate gives up (noted in `opened`)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.opened: list[bool] = []  # per read: True when the test opened the gate

    @contextmanager
    def open_read(self, path: str) -> Iterator[BinaryIO]:
        self.entered.set()
        self.opened.append(self.gate.wait(timeout=10))
        with super().open_read(path) as stream:
            yield stream


@pytest.fixture
async def console(host: Host, tmp_path: Path) -> AsyncIterator[Path]:  # noqa: F811
    engine, access, exec_set, _ = build_engine(host, StartupConfig.in_directory(host.data_dir), ())
    server = LocalConsoleServer(TerminalHub(engine, access, lines=exec_set), tmp_path / "cli.sock")
    await server.start()
    yield tmp_path / "cli.sock"
    await server.close()


async def piped(path: Path) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    with socket_address(path) as address:
        reader, writer = await asyncio.open_unix_connection(address)
    writer.write(f"{MAGIC} 1 pipe\n".encode())
    return reader, writer


async def test_a_tar_in_one_session_leaves_the_other_sessions_served(
    host: Host,  # noqa: F811
    console: Path,
) -> None:
    repo = GatedRepository(host.repo.root)
    host.repo = repo
    expected = large_file(repo.root / "images" / "image.bin")

    tar_reader, tar_writer = await piped(console)
    tar_writer.write(b"vstack tar flash:big.tar flash:images\n")
    await tar_writer.drain()
    assert await asyncio.to_thread(repo.entered.wait, 10)  # the tar is at the gate

    other_reader, other_writer = await piped(console)
    other_writer.write(b"show users\nshow vstack status\n")
    other_writer.write_eof()
    served = (await asyncio.wait_for(other_reader.read(), 10)).decode()
    assert "SmartInstall: ENABLED" in served
    assert served.count(" con ") == 2  # both sessions are on the console lines
    assert served.endswith("\x000\n")
    other_writer.close()

    assert repo.opened == []  # the tar is still at the gate
    repo.gate.set()
    tar_writer.write_eof()
    out = (await asyncio.wait_for(tar_reader.read(), 60)).decode()
    tar_writer.close()
    assert f"archiving image.bin ({LARGE} bytes)\n" in out
    assert repo.opened == [True]  # the other session was served while the tar waited
    assert out.endswith("\x000\n")
    with tarfile.open(repo.root / "big.tar") as archive:
        stream = archive.extractfile("image.bin")
        assert stream is not None
        sha = hashlib.sha256()
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            sha.update(chunk)
    assert sha.hexdigest() == expected


async def test_a_console_socket_too_long_for_an_af_unix_address_is_served(
    host: Host,  # noqa: F811
    tmp_path: Path,
) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)  # the socket's path is past the 107-byte limit
    deep.mkdir(parents=True)
    path = deep / "cli.sock"
    assert len(str(path)) > 107
    engine, access, exec_set, _ = build_engine(host, StartupConfig.in_directory(host.data_dir), ())
    server = LocalConsoleServer(TerminalHub(engine, access, lines=exec_set), path)
    await server.start()
    try:
        assert path.exists()
        output, failed = await asyncio.to_thread(run_lines, path, "show clock\n", 10)
        assert failed == 0 and " UTC " in output
    finally:
        await server.close()
    assert not path.exists()
