"""The configuration archive's files on flash: listed again, as IOS's ``show archive`` does
after a reload: which names count, the numbering after the newest, ``maximum`` kept by
deleting the oldest, and the listing and deleting done in threads, never on the loop."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from smartinstall.director.exec.archive import archive_set_of, list_archive
from smartinstall.director.terminals import build_engine
from smartinstall.ios import StartupConfig
from smartinstall.store.repository import Repository
from tests.unit.director.test_archive_commands import run
from tests.unit.director.test_exec_commands import Host, host  # noqa: F401

pytestmark = pytest.mark.timeout(120)


class ThreadNotingRepository(Repository):
    """Notes the thread of every listing and deletion."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.threads: list[int] = []

    def names(self, directory: str = "") -> list[str]:
        self.threads.append(threading.get_ident())
        return super().names(directory)

    def delete(self, path: str) -> bool:
        self.threads.append(threading.get_ident())
        return super().delete(path)


def test_only_numbered_files_count_oldest_first_and_beyond_maximum_deleted(
    tmp_path: Path,
) -> None:
    repo = Repository(tmp_path / "flash")
    for name in ("archive-2", "archive-10", "archive-9", "archive-0", "archive-01", "archive-3a",
                 "archive-", "archive", "archived-4", "other-5"):  # fmt: skip
        (repo.root / name).write_text(name)
    assert list_archive(repo, "archive", 10) == ["archive-2", "archive-9", "archive-10"]
    assert list_archive(repo, "archive", 2) == ["archive-9", "archive-10"]
    assert not (repo.root / "archive-2").exists()
    assert (repo.root / "archive-0").exists() and (repo.root / "archived-4").exists()
    assert list_archive(repo, "missing/archive", 10) == []
    (repo.root / "sub").mkdir()
    (repo.root / "sub" / "cfg-7").write_text("x")
    assert list_archive(repo, "sub/cfg", 10) == ["sub/cfg-7"]


def test_a_path_set_while_running_lists_its_files_in_a_thread(host: Host) -> None:  # noqa: F811
    host.repo = repo = ThreadNotingRepository(host.repo.root)
    (repo.root / "net").mkdir()
    for number in (4, 5, 6):
        (repo.root / "net" / f"sw-{number}").write_text(f"hostname old{number}\n")
    engine, _, _, _ = build_engine(host, StartupConfig.in_directory(host.data_dir))
    session = engine.session(level=15)
    archive = archive_set_of(engine)
    assert archive is not None

    async def scenario() -> None:
        loop_thread = threading.get_ident()
        await archive.refresh()  # no path yet: nothing listed
        await run(session, "configure terminal", "archive", "path flash:net/sw", "maximum 2",
                  "end")  # fmt: skip
        out = await run(session, "show archive")
        assert "There are currently 2 archive configurations saved." in out
        assert "The next archive file will be named flash:net/sw-7" in out
        assert "   2        flash:net/sw-6 <- Most Recent" in out
        assert sorted(p.name for p in (repo.root / "net").iterdir()) == ["sw-5", "sw-6"]
        assert await run(session, "archive config") == ""
        assert sorted(p.name for p in (repo.root / "net").iterdir()) == ["sw-6", "sw-7"]
        assert repo.threads and loop_thread not in repo.threads

    asyncio.run(scenario())
