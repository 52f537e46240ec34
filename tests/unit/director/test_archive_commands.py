"""The configuration archive, configuration replace and the configuration ``copy`` forms on
the director's engine (real sessions on an event loop, a real repository): what IOS asks and
prints, and the disk work done by threads, never on the loop."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from smartinstall.director.exec import rollback_timer
from smartinstall.director.exec.archive import archive_set_of, without_archive_lines
from smartinstall.director.terminals import build_engine
from smartinstall.ios import Engine, Session, StartupConfig
from smartinstall.store.repository import Repository, StoredFile
from tests.unit.director.test_exec_commands import Host, host  # noqa: F401

pytestmark = pytest.mark.timeout(120)


class RecordingRepository(Repository):
    """Notes the thread of every write."""

    def __init__(self, root: Any) -> None:
        super().__init__(root)
        self.writers: list[int] = []

    def write(self, path: str, data: bytes | Iterable[bytes]) -> StoredFile:
        self.writers.append(threading.get_ident())
        return super().write(path, data)


def engine_of(host: Host) -> tuple[Engine, Session]:  # noqa: F811
    host.repo = RecordingRepository(host.repo.root)
    engine, _, _, _ = build_engine(host, StartupConfig.in_directory(host.data_dir))
    return engine, engine.session(level=15)


async def run(session: Session, *lines: str) -> str:
    """Lines as a terminal sends them (a command, then the answers to its questions)."""
    out = ""
    for line in lines:
        out += session.run(line)
        if session.waiting is not None:
            out += await session.settle()
    return out


def test_copy_asks_the_destination_unless_file_prompt_quiet(host: Host) -> None:  # noqa: F811
    engine, session = engine_of(host)
    repo = host.repo
    assert isinstance(repo, RecordingRepository)

    async def scenario() -> None:
        loop_thread = threading.get_ident()
        assert session.run("copy running-config flash:/saved.txt") == ""
        assert session.prompt() == "Destination filename [saved.txt]? "
        out = await run(session, "")
        assert out.startswith(f"{len(engine.running_config())} bytes copied in ")
        assert (repo.root / "saved.txt").read_text() == engine.running_config()
        assert loop_thread not in repo.writers
        await run(session, "configure terminal", "file prompt quiet", "end")
        assert "file prompt quiet" in engine.running_config()
        out = await run(session, "copy null: flash:/saved.txt")
        assert out.startswith("0 bytes copied in ")
        assert (repo.root / "saved.txt").read_bytes() == b""
        (repo.root / "merge.txt").write_text("vstack hostname-prefix MERGED\nvstack bogus\n")
        out = await run(session, "copy flash:merge.txt running-config")
        assert "% Invalid input detected at '^' marker." in out and "vstack bogus" in out
        assert "vstack hostname-prefix MERGED" in engine.running_config()
        md5 = hashlib.md5((repo.root / "merge.txt").read_bytes()).hexdigest()
        out = await run(session, "verify /md5 flash:/merge.txt")
        assert out.endswith(f"verify /md5 (flash:/merge.txt) = {md5}\n")
        out = await run(session, "dir flash:/merge.txt")
        assert out.startswith("Directory of flash:/merge.txt\n\n")
        assert "merge.txt" in out.splitlines()[2] and "bytes free" in out
        out = await run(session, "dir flash:/missing.txt")
        assert out == "%Error opening flash:/missing.txt (No such file or directory)\n"
        assert await run(session, "more flash:/merge.txt") == (repo.root / "merge.txt").read_text()
        assert await run(session, "show running-config all") == await run(
            session, "show running-config"
        )
        assert loop_thread not in repo.writers

    asyncio.run(scenario())


def test_archive_keeps_the_last_files_written_by_write_memory(host: Host) -> None:  # noqa: F811
    engine, session = engine_of(host)

    async def scenario() -> None:
        out = await run(session, "show archive")
        assert "Archive feature not enabled" in out
        await run(session, "configure terminal", "archive", "path flash:archive", "maximum 2",
                  "write-memory", "end")  # fmt: skip
        assert engine.running_config().count("\narchive\n path flash:archive\n maximum 2\n"
                                              " write-memory\n") == 1  # fmt: skip
        for _ in range(3):
            assert (await run(session, "write memory")).endswith("[OK]\n")
        archive = archive_set_of(engine)
        assert archive is not None
        while (
            archive.saved != ["archive-2", "archive-3"] or (host.repo.root / "archive-1").exists()
        ):
            await asyncio.sleep(0.01)
        await asyncio.gather(*list(_pending_archive_writes()))
        assert sorted(p.name for p in host.repo.root.glob("archive-*")) == ["archive-2",
                                                                           "archive-3"]  # fmt: skip
        out = await run(session, "show archive")
        assert "The maximum archive configurations allowed is 2." in out
        assert "   2        flash:archive-3 <- Most Recent" in out
        # the director's own replay of startup-config leaves these lines to the CLI
        text = "hostname X\nfile prompt quiet\narchive\n path flash:a\nvstack basic\n"
        assert without_archive_lines(text).splitlines() == ["hostname X", "!", "!", "!",
                                                            "vstack basic"]  # fmt: skip

    asyncio.run(scenario())


def _pending_archive_writes() -> set[asyncio.Task[None]]:
    from smartinstall.director.exec import archive

    return set(archive._KEEP)


def test_configure_replace_asks_needs_the_archive_for_revert_and_reverts_on_time(
    host: Host,  # noqa: F811
) -> None:
    engine, session = engine_of(host)
    original = engine.running_config()
    candidate = original.replace("vstack basic\n", "vstack basic\nvstack hostname-prefix NEW\n")
    (host.repo.root / "candidate.txt").write_text(candidate)

    async def scenario() -> None:
        out = await run(session, "configure replace flash:candidate.txt")
        assert session.prompt().endswith("Enter Y if you are sure you want to proceed. ? [no]: ")
        assert await run(session, "n") == ""
        assert engine.running_config() == original
        out = await run(session, "configure replace flash:candidate.txt force revert timer 1")
        assert out == "%Please turn config archive on before using Rollback Confirmed Change\n"
        await run(session, "configure terminal", "archive", "path flash:archive", "end")
        base = engine.running_config()
        (host.repo.root / "candidate.txt").write_text(
            base.replace("vstack basic\n", "vstack basic\nvstack hostname-prefix NEW\n")
        )
        out = await run(session, "configure replace flash:candidate.txt list force revert "
                                 "trigger error timer 1")  # fmt: skip
        assert "!Pass 1\n!List of Commands:\nvstack hostname-prefix NEW\nend\n" in out
        assert out.endswith("Total number of passes: 1\nRollback Done\n\n")
        assert "vstack hostname-prefix NEW" in engine.running_config()
        shown = await run(session, "show archive config rollback timer")
        assert "Timer type: Rollback Confirmed Change\nTimer value: 1 min\n" in shown
        archive = archive_set_of(engine)
        assert archive is not None and archive.timer.pending is not None
        archive.timer._expired()  # the minute is over: the revert runs on the loop
        await asyncio.gather(*list(rollback_timer._REVERTING))
        assert engine.running_config() == base
        assert await run(session, "show archive config rollback timer") == (
            "No Rollback Confirmed Change pending\n"
        )
        assert await run(session, "configure confirm") == (
            "% No Rollback Confirmed Change pending\n"
        )

    asyncio.run(scenario())


def test_a_refused_line_aborts_the_replace_and_trigger_error_restores(
    host: Host,  # noqa: F811
) -> None:
    engine, session = engine_of(host)

    async def scenario() -> None:
        await run(session, "configure terminal", "archive", "path flash:archive", "end")
        before = engine.running_config()
        (host.repo.root / "bad.txt").write_text(
            before.replace("vstack basic\n", "vstack basic\nvstack hostname-prefix NEW\nbogus 1\n")
        )
        out = await run(session, "configure replace flash:bad.txt force revert trigger error")
        assert "bogus 1\n" in out and "% Invalid input detected" in out
        assert "The rollback configlet from the last pass is listed below:" in out
        assert "The original configuration has been successfully restored." in out
        assert engine.running_config() == before
        out = await run(session, "show archive config differences flash:bad.txt")
        assert out.splitlines()[0] == "!Contextual Config Diffs:"
        assert "-vstack hostname-prefix NEW" in out.splitlines()
        out = await run(session, "show archive config incremental-diffs flash:bad.txt")
        assert out.splitlines() == ["!List of Commands:", "vstack hostname-prefix NEW", "bogus 1",
                                    "end"]  # fmt: skip

    asyncio.run(scenario())


def test_copy_to_and_from_tftp(host: Host, tmp_path: Path) -> None:  # noqa: F811
    """``copy tftp://… running-config`` merges a file a TFTP server serves; ``copy
    running-config tftp://…`` writes the running configuration to one (a real server on
    loopback)."""
    from smartinstall.services.tftp import TftpServer
    from smartinstall.services.tftp_base import OpenUploads, TftpServerConfig

    engine, session = engine_of(host)
    served = tmp_path / "served"
    uploads = tmp_path / "uploads"
    served.mkdir()
    uploads.mkdir()
    (served / "merge.cfg").write_text("vstack hostname-prefix FROM-TFTP\n")

    async def scenario() -> None:
        config = TftpServerConfig(root=served, port=0, upload_dir=uploads)
        async with TftpServer(config, OpenUploads()) as server:
            address, port = server.address
            await run(session, "configure terminal", "file prompt quiet", "end")
            out = await run(session, f"copy tftp://{address}:{port}/merge.cfg running-config")
            assert "bytes copied in" in out and "Invalid" not in out
            assert "vstack hostname-prefix FROM-TFTP" in engine.running_config()
            out = await run(session, f"copy running-config tftp://{address}:{port}/backup/run.cfg")
            assert out.startswith("!!\n") and "bytes copied in" in out, out
            missing = f"tftp://{address}:{port}/missing.cfg"
            out = await run(session, f"copy {missing} running-config")
            assert out.startswith(f"%Error opening {missing} (")
        written = [p for p in uploads.rglob("*") if p.is_file()]
        assert len(written) == 1 and written[0].read_text() == engine.running_config()

    asyncio.run(scenario())


def test_a_large_merge_leaves_the_event_loop_turning(host: Host) -> None:  # noqa: F811
    """3,000 lines merged with ``copy flash:… running-config``: the loop serves its other
    work between the lines (a ticker on the same loop keeps turning)."""
    engine, session = engine_of(host)
    lines = "".join(f"vstack group custom g{n} mac\n match mac 0050.56{n // 256:02x}.{n % 256:02x}00\n"
                    for n in range(1500))  # fmt: skip
    (host.repo.root / "large.txt").write_text(lines)

    async def scenario() -> int:
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        await run(session, "configure terminal", "file prompt quiet", "end")
        out = await run(session, "copy flash:large.txt running-config")
        done.set()
        await task
        assert "Invalid" not in out, out[:500]
        return ticks

    assert asyncio.run(scenario()) >= 50
    assert engine.running_config().count("vstack group custom g") == 1500
