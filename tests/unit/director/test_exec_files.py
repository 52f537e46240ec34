"""The director's file commands never block its event loop: ``vstack tar``, ``vstack untar``,
``vstack untar/table``, ``delete`` and ``copy tftp://… flash:`` do their disk work in threads
and finish with ``ctx.wait`` (real engine sessions, a real repository, no network except an
in-process TFTP server on loopback).

A ticker coroutine on the same loop counts its turns while a command runs: a command doing
its work inline on the loop would let it run no turn at all before the command is over."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tarfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from smartinstall.director.exec.files import RepositoryStream
from smartinstall.ios import Session
from smartinstall.services.tftp import TftpServer
from smartinstall.services.tftp_base import TftpServerConfig
from smartinstall.store.repository import TEMP_PREFIX, Repository, RepositoryError, StoredFile
from tests.unit.director.test_exec_commands import Host, host, privileged  # noqa: F401

pytestmark = pytest.mark.timeout(120)

LARGE = 8 * 1024 * 1024  # 8 MiB: tens of milliseconds of disk work
MANY = 10  # turns of the ticker that show the loop was free while the command ran


class ThreadRecordingRepository(Repository):
    """A repository that notes which thread writes and deletes its files."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.threads: list[tuple[str, int]] = []

    def write(self, path: str, data: bytes | Iterable[bytes]) -> StoredFile:
        self.threads.append(("write", threading.get_ident()))
        return super().write(path, data)

    def delete(self, path: str) -> bool:
        self.threads.append(("delete", threading.get_ident()))
        return super().delete(path)


@pytest.fixture
def repo(host: Host) -> ThreadRecordingRepository:  # noqa: F811
    recording = ThreadRecordingRepository(host.repo.root)
    host.repo = recording
    return recording


def digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


def large_file(path: Path, size: int = LARGE) -> str:
    """``size`` random bytes (written in chunks); their SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        for _ in range(size // (1 << 20)):
            out.write(os.urandom(1 << 20))
    return digest(path)


async def run_while_ticking(session: Session, *lines: str) -> tuple[str, int]:
    """Run ``lines`` (a command and the answers to its questions) to the end, as a terminal
    does, while a coroutine ticks on the same loop; the output and the number of ticks from
    the first line to the end of the command."""
    ticks = 0
    running = True

    async def ticker() -> None:
        nonlocal ticks
        while running:
            ticks += 1
            # not a busy loop: one that never sleeps takes the GIL from the thread it watches
            await asyncio.sleep(0.0005)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)  # the ticker is running
    start = ticks
    output = ""
    for line in lines:
        output += session.execute(line).output  # inline work would hold the loop here
        if session.waiting is not None:
            output += await session.settle()
    during = ticks - start
    running = False
    await task
    return output, during


async def test_tar_of_a_large_file_leaves_the_loop_running(host: Host) -> None:  # noqa: F811
    _, session = privileged(host)
    image = host.repo.root / "images" / "image.bin"
    expected = large_file(image)
    out, ticks = await run_while_ticking(session, "vstack tar flash:big.tar flash:images")
    assert out == f"archiving image.bin ({LARGE} bytes)\n"
    assert ticks >= MANY
    with tarfile.open(host.repo.root / "big.tar") as archive:
        member = archive.getmember("image.bin")
        assert member.size == LARGE
        stream = archive.extractfile(member)
        assert stream is not None
        sha = hashlib.sha256()
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            sha.update(chunk)
    assert sha.hexdigest() == expected
    assert not [n for n in os.listdir(host.repo.root) if n.startswith(TEMP_PREFIX)]


async def test_untar_of_a_large_file_leaves_the_loop_running(host: Host) -> None:  # noqa: F811
    _, session = privileged(host)
    expected = large_file(host.data_dir / "image.bin")
    with tarfile.open(host.repo.root / "big.tar", "w") as archive:
        archive.add(host.data_dir / "image.bin", arcname="image.bin")
    out, ticks = await run_while_ticking(session, "vstack untar flash:big.tar flash:restored")
    assert out == f"extracting image.bin ({LARGE} bytes)\n"
    assert ticks >= MANY
    assert digest(host.repo.root / "restored" / "image.bin") == expected


async def test_untar_table_of_a_large_compressed_archive_leaves_the_loop_running(
    host: Host,  # noqa: F811
) -> None:
    # listing a compressed archive reads (and inflates) all of it
    _, session = privileged(host)
    zeros = host.data_dir / "zeros.bin"
    with zeros.open("wb") as stream:
        stream.truncate(LARGE)
    with tarfile.open(host.repo.root / "big.tar.gz", "w:gz", compresslevel=1) as archive:
        archive.add(zeros, arcname="zeros.bin")
        archive.add(zeros, arcname="again.bin")
    out, ticks = await run_while_ticking(session, "vstack untar/table flash: big.tar.gz")
    assert out == f"zeros.bin ({LARGE} bytes)\nagain.bin ({LARGE} bytes)\n"
    assert ticks >= MANY


async def test_tar_work_errors_are_printed_as_before(host: Host) -> None:  # noqa: F811
    _, session = privileged(host)
    (host.repo.root / "junk.tar").write_bytes(b"not a tar file" * 100)
    (host.repo.root / "configs").mkdir()
    (host.repo.root / "configs" / "a.cfg").write_text("hostname a\n")
    # refused paths fail the line at once, as before
    outcome = session.execute("vstack untar flash:missing.tar")
    assert not outcome.ok and session.waiting is None
    assert outcome.output == "%Error opening flash:/missing.tar (No such file or directory)\n"
    # a file that is no archive: found by the work in the thread, same message
    out, _ = await run_while_ticking(session, "vstack untar/table flash:junk.tar")
    assert out.startswith("%Error opening flash:/junk.tar (not a tar file: ")
    # the archive cannot be written over a directory: the lines so far, then the error
    out, _ = await run_while_ticking(session, "vstack tar flash:configs flash:configs")
    assert out == (
        "archiving a.cfg (11 bytes)\n%Error writing flash:/configs (configs is a directory)\n"
    )


async def test_delete_runs_in_a_thread(
    host: Host,  # noqa: F811
    repo: ThreadRecordingRepository,
) -> None:
    _, session = privileged(host)
    (repo.root / "old.cfg").write_text("hostname old\n")
    out, _ = await run_while_ticking(session, "delete flash:old.cfg", "", "")
    assert out == ""
    assert not (repo.root / "old.cfg").exists()
    assert repo.threads and all(ident != threading.get_ident() for _, ident in repo.threads)
    out, _ = await run_while_ticking(session, "delete flash:old.cfg", "", "y")
    assert out == "%Error deleting flash:/old.cfg (No such file or directory)\n"
    assert session.run("delete flash:x.cfg") == ""
    assert session.run("other") == "%Error: the file name does not match\n"
    assert session.run("delete flash:x.cfg") == "" and session.run("") == ""
    assert session.run("n") == "" and session.waiting is None  # not confirmed: nothing to do


@pytest.fixture
async def tftp(tmp_path: Path) -> Any:
    root = tmp_path / "served"
    root.mkdir()
    async with TftpServer(TftpServerConfig(root=root, port=0)) as server:
        yield root, server.address


async def test_copy_from_tftp_writes_the_file_in_a_thread(
    host: Host,  # noqa: F811
    repo: ThreadRecordingRepository,
    tftp: tuple[Path, tuple[str, int]],
) -> None:
    root, (address, port) = tftp
    size = 4 * 1024 * 1024
    expected = large_file(root / "image.bin", size)
    _, session = privileged(host)
    source = f"tftp://{address}:{port}/image.bin"
    out, ticks = await run_while_ticking(session, f"copy {source} flash:", "images/copied.bin")
    assert out.startswith(
        f"Accessing {source}...\nLoading image.bin from {address} (port {port}): !\n"
        f"[OK - {size} bytes]\n\n{size} bytes copied in "
    )
    assert ticks >= MANY
    assert digest(repo.root / "images" / "copied.bin") == expected
    assert repo.threads == [("write", repo.threads[0][1])]
    assert repo.threads[0][1] != threading.get_ident()
    assert not [n for n in os.listdir(repo.root / "images") if n.startswith(TEMP_PREFIX)]


async def test_copy_errors_leave_no_file(
    host: Host,  # noqa: F811
    repo: ThreadRecordingRepository,
    tftp: tuple[Path, tuple[str, int]],
) -> None:
    root, (address, port) = tftp
    (root / "small.cfg").write_text("hostname small\n")
    (repo.root / "configs").mkdir()
    _, session = privileged(host)
    missing = f"tftp://{address}:{port}/missing.bin"
    out, _ = await run_while_ticking(session, f"copy {missing} flash:", "")
    assert out.startswith(f"Accessing {missing}...\n%Error opening {missing} (")
    assert not (repo.root / "missing.bin").exists()
    # the destination is a directory: the download ends in an error, nothing is left
    source = f"tftp://{address}:{port}/small.cfg"
    out, _ = await run_while_ticking(session, f"copy {source} flash:", "configs")
    assert out == (f"Accessing {source}...\n%Error opening {source} (configs is a directory)\n")
    assert os.listdir(repo.root / "configs") == []
    assert session.run(f"copy {source} flash:") == ""
    assert session.prompt() == "Destination filename [small.cfg]? "
    assert (
        session.run("../x")
        == "%Error opening flash:/../x ('..' not allowed in a repository path: ../x)\n"
    )


async def test_repository_stream(tmp_path: Path) -> None:
    repo = Repository(tmp_path / "flash")
    stream = RepositoryStream(repo, "a/b.bin")
    for _ in range(3):
        assert stream.write(b"x" * 1000) == 1000
    stored = await stream.finish()
    assert (stored.path, stored.size) == ("a/b.bin", 3000)
    assert (repo.root / "a" / "b.bin").read_bytes() == b"x" * 3000
    # aborted: the file is not written, its temporary file is removed
    stream = RepositoryStream(repo, "a/c.bin")
    stream.write(b"partial")
    await stream.abort()
    assert sorted(os.listdir(repo.root / "a")) == ["b.bin"]
    # a file cannot be written under a file: finish fails, and so does any later write (the
    # first one too, when the stream's thread has failed already)
    stream = RepositoryStream(repo, "a/b.bin/c.bin")
    with contextlib.suppress(RepositoryError):
        stream.write(b"data")
    with pytest.raises((OSError, RepositoryError)):
        await stream.finish()
    with pytest.raises(RepositoryError):
        stream.write(b"more")
    await stream.abort()
