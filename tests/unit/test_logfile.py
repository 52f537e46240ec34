"""The log file: rolled over at its size limit, reopened after logrotate moved it, measured
afresh after logrotate emptied it, and quiet when it cannot be written."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from smartinstall.logfile import LogFile, parse_size


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    log = logging.getLogger("smartinstall.test.logfile")
    log.propagate = False
    log.setLevel(logging.INFO)
    yield log
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()


def attach(log: logging.Logger, path: Path, max_bytes: int = 0, backups: int = 5) -> LogFile:
    handler = LogFile(path, max_bytes, backups)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    return handler


def lines(*paths: Path) -> list[str]:
    return [line for p in paths if p.exists() for line in p.read_text().splitlines()]


@pytest.mark.parametrize(
    ("text", "size"),
    [("0", 0), ("1048576", 1 << 20), ("512k", 512 << 10), ("10M", 10 << 20), ("1g", 1 << 30),
     ("64KiB", 64 << 10), ("2 MB", 2 << 20)],
)  # fmt: skip
def test_sizes_are_read_in_bytes_or_with_a_unit(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "ten", "-5", "5T", "1.5M"])
def test_what_is_not_a_size_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a size"):
        parse_size(text)


def test_the_file_rolls_over_before_it_passes_its_size(
    logger: logging.Logger, tmp_path: Path
) -> None:
    path = tmp_path / "director.log"
    attach(logger, path, max_bytes=200, backups=2)
    for n in range(40):
        logger.info("line %02d %s", n, "x" * 30)  # 39 bytes a line: 5 lines a file
    files = [path, path.with_name("director.log.1"), path.with_name("director.log.2")]
    assert all(f.stat().st_size <= 200 for f in files)
    assert not path.with_name("director.log.3").exists()  # the oldest beyond 2 is gone
    kept = lines(*reversed(files))
    assert kept == [f"line {n:02d} {'x' * 30}" for n in range(40 - len(kept), 40)]
    assert len(kept) == 15


def test_no_backups_means_the_file_starts_again(logger: logging.Logger, tmp_path: Path) -> None:
    path = tmp_path / "director.log"
    attach(logger, path, max_bytes=100, backups=0)
    for n in range(10):
        logger.info("line %d %s", n, "y" * 40)  # 48 bytes a line: 2 lines a file
    assert lines(path) == [f"line {n} {'y' * 40}" for n in (8, 9)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["director.log"]


def test_logrotate_moving_or_emptying_the_file_is_followed(
    logger: logging.Logger, tmp_path: Path
) -> None:
    path = tmp_path / "director.log"
    attach(logger, path, max_bytes=1000, backups=3)
    logger.info("before the rotation")
    # logrotate's way (rename, then "create"): the next line opens a new file
    rotated = path.with_name("director.log.1")
    path.rename(rotated)
    logger.info("after the rotation")
    assert lines(path) == ["after the rotation"]
    assert lines(rotated) == ["before the rotation"]
    # logrotate's copytruncate: the file is emptied under the open handler; its size is the
    # file's, so no early roll-over
    for n in range(20):
        logger.info("filling %02d %s", n, "z" * 30)
    path.write_text("")
    logger.info("after copytruncate")
    assert lines(path) == ["after copytruncate"]
    # a roll-over of its own shifts logrotate's files along instead of overwriting them
    for n in range(40):
        logger.info("more %02d %s", n, "w" * 30)
    assert "before the rotation" in lines(*tmp_path.glob("director.log.*"))


def test_lines_that_cannot_be_written_are_counted_not_raised(
    logger: logging.Logger, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "logs" / "director.log"
    path.parent.mkdir()
    handler = attach(logger, path)
    logger.info("first")
    # the file cannot be reopened: its directory has become a file
    path.unlink()
    path.parent.rmdir()
    path.parent.write_text("not a directory")
    for n in range(5):
        logger.info("lost %d", n)
    assert handler.dropped == 5
    assert capsys.readouterr().err.count("Logging error") == 1  # said once
    path.parent.unlink()
    path.parent.mkdir()
    logger.info("back")
    assert lines(path) == ["(5 log lines lost: the file could not be written)", "back"]
