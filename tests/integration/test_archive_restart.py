"""The configuration archive across a restart of a real director process: as IOS after a
reload, ``show archive`` lists the archive files found under ``path`` on flash:, the
numbering goes on after the newest and ``maximum`` is kept (the oldest deleted).

The director is the guide's (chapter 3, "Configuring the Director"); the archive lines are
those NAPALM's documentation asks of an IOS device.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from smartinstall.lab.runner import SOCKET_NAME
from smartinstall.services.cli_local import run_lines
from tests.integration.director_harness import DirectorProcess, director_preamble, lab_prefix

pytestmark = pytest.mark.timeout(300)

ARCHIVE = """archive
 path flash:cfg/archive
 maximum 3
 write-memory
"""


def console(director: DirectorProcess, lines: str) -> str:
    output, _ = run_lines(director.data_dir / SOCKET_NAME, lines, 60)
    return output


def archive_files(flash: Path) -> list[str]:
    return sorted(p.name for p in (flash / "cfg").glob("archive-*"))


def wait_for_files(director: DirectorProcess, names: list[str]) -> None:
    """Until flash: holds exactly ``names`` (``write memory`` archives in a thread): asked
    through the director's own ``dir``, which answers once its work is done."""
    for _ in range(200):
        if archive_files(director.flash) == names:
            return
        console(director, "dir flash:cfg\n")
    assert archive_files(director.flash) == names


def test_show_archive_lists_the_files_of_earlier_runs_and_numbering_goes_on(
    tmp_path: Path,
) -> None:
    prefix = lab_prefix()
    director = DirectorProcess(tmp_path / "director", prefix, director_preamble(prefix) + ARCHIVE)
    director.start()
    try:
        out = console(director, "write memory\nwrite memory\nshow archive\n")
        assert "There are currently 2 archive configurations saved." in out
        assert "flash:cfg/archive-2 <- Most Recent" in out
        wait_for_files(director, ["archive-1", "archive-2"])
        assert director.stop() == 0

        # the files an earlier run left (copies NAPALM or an operator made) are found too
        (director.flash / "cfg" / "archive-3").write_text("hostname three\n")
        (director.flash / "cfg" / "archive-4").write_text("hostname four\n")
        (director.flash / "cfg" / "archive-x").write_text("not an archive file\n")
        director.start()
        out = console(director, "show archive\n")
        assert "The maximum archive configurations allowed is 3." in out
        assert "There are currently 3 archive configurations saved." in out
        assert "The next archive file will be named flash:cfg/archive-5" in out
        assert "   1        flash:cfg/archive-2\n" in out
        assert "   3        flash:cfg/archive-4 <- Most Recent\n" in out
        # maximum 3: the oldest beyond it was deleted at start
        assert archive_files(director.flash) == ["archive-2", "archive-3", "archive-4", "archive-x"]

        out = console(director, "archive config\nshow archive\n")
        assert "The next archive file will be named flash:cfg/archive-6" in out
        assert "flash:cfg/archive-5 <- Most Recent" in out
        assert archive_files(director.flash) == ["archive-3", "archive-4", "archive-5", "archive-x"]
        assert "hostname Director" in (director.flash / "cfg" / "archive-5").read_text()
        out = console(director, "show archive config differences flash:cfg/archive-3\n")
        assert "-hostname three" in out and "+hostname Director" in out
    finally:
        director.stop()
