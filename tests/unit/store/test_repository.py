"""The director's file repository ("flash:") on a temporary directory."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartinstall.domain.backups import BackupPlan, Step, StepKind, backup_name, plan_backup
from smartinstall.store.repository import TEMP_PREFIX, Repository, RepositoryError

MAC = "001d.71ba.f780"


@pytest.fixture
def repo(tmp_path: Path) -> Repository:
    return Repository(tmp_path / "flash")


# --- confinement ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/etc/passwd",
        "\\windows",
        "..",
        "../x",
        "vstack/../../x",
        "a/../../b",
        "a\x00b",
        "line\nbreak",
        ".",
        "./",
        f"vstack/{TEMP_PREFIX}x",
    ],
)
def test_paths_that_leave_the_root_or_are_malformed_are_refused(
    repo: Repository, path: str
) -> None:
    with pytest.raises(RepositoryError):
        repo.resolve(path)


def test_ordinary_paths_resolve_inside_the_root(repo: Repository) -> None:
    assert (
        repo.resolve("c2960-lanbasek9-tar.150-2.SE.tar")
        == repo.root / "c2960-lanbasek9-tar.150-2.SE.tar"
    )
    assert repo.resolve("vstack/a.REV2") == repo.root / "vstack" / "a.REV2"
    assert repo.resolve("./vstack//a.REV2") == repo.root / "vstack" / "a.REV2"


def test_symbolic_links_out_of_the_root_are_refused(repo: Repository, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("no")
    os.symlink(outside, repo.root / "escape")
    os.symlink(outside / "secret", repo.root / "secret-link")
    os.symlink(repo.root / "vstack", repo.root / "inside")  # within the root: fine
    (repo.root / "vstack").mkdir()
    for path in ("escape", "escape/secret", "escape/new-file", "secret-link"):
        with pytest.raises(RepositoryError):
            repo.resolve(path)
    with pytest.raises(RepositoryError):
        repo.write("escape/new-file", b"x")
    assert not (outside / "new-file").exists()
    assert repo.resolve("inside/a") == repo.root / "inside" / "a"


def test_a_final_symbolic_link_is_never_read_through(repo: Repository) -> None:
    repo.write("real", b"data")
    os.symlink(repo.root / "real", repo.root / "alias")  # inside the root, yet a link
    with pytest.raises(RepositoryError):
        repo.read_bytes("alias")
    assert [f.name for f in repo.listing()] == ["real"]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_path_resolves_inside_the_root_or_is_refused(
    tmp_path_factory: pytest.TempPathFactory, path: str
) -> None:
    repo = Repository(tmp_path_factory.mktemp("flash"))
    try:
        resolved = repo.resolve(path)
    except RepositoryError:
        return
    assert repo.root in resolved.parents


# --- files ---------------------------------------------------------------------------------------


def test_write_read_list_delete(repo: Repository) -> None:
    stored = repo.write("vstack/startup.txt", b"hostname a\n")
    assert stored.path == "vstack/startup.txt" and stored.size == 11
    assert stored.md5 == hashlib.md5(b"hostname a\n").hexdigest().upper()
    assert repo.md5("vstack/startup.txt") == stored.md5
    assert repo.read_bytes("vstack/startup.txt") == b"hostname a\n"
    assert repo.exists("vstack/startup.txt") and repo.size("vstack/startup.txt") == 11
    repo.write("image.tar", [b"a" * 10, b"b" * 5])
    listing = repo.listing()
    assert [(f.name, f.size, f.is_dir) for f in listing] == [
        ("image.tar", 15, False),
        ("vstack", 0, True),
    ]
    assert all(f.mtime > 0 for f in listing)
    assert repo.names("vstack") == ["startup.txt"] and repo.names("missing") == []
    assert repo.delete("vstack/startup.txt") and not repo.delete("vstack/startup.txt")
    with pytest.raises(RepositoryError):
        repo.delete("vstack")
    with pytest.raises(RepositoryError):
        repo.read_bytes("vstack/startup.txt")
    with pytest.raises(RepositoryError):
        repo.listing("nowhere")


def test_overwrite_copy_rename(repo: Repository, tmp_path: Path) -> None:
    repo.write("a", b"one")
    repo.write("a", b"two")
    assert repo.read_bytes("a") == b"two"
    assert repo.copy("a", "sub/b").md5 == hashlib.md5(b"two").hexdigest().upper()
    repo.rename("sub/b", "c")
    assert repo.read_bytes("c") == b"two" and not repo.exists("sub/b")
    source = tmp_path / "outside.bin"
    source.write_bytes(b"x" * 100_000)
    assert repo.copy_in(source, "in.bin").size == 100_000
    with pytest.raises(RepositoryError):
        repo.rename("missing", "d")
    with pytest.raises(RepositoryError):
        repo.read_bytes("in.bin", limit=10)
    assert b"".join(repo.iter_chunks("in.bin", chunk=4096)) == source.read_bytes()


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(repo: Repository) -> None:
    repo.write("cfg", b"old")

    def broken() -> Iterator[bytes]:
        yield b"new part"
        raise OSError(28, "No space left on device")

    with pytest.raises(RepositoryError, match="No space"):
        repo.write("cfg", broken())
    assert repo.read_bytes("cfg") == b"old"
    assert os.listdir(repo.root) == ["cfg"]


def test_opening_removes_stale_temporary_files(tmp_path: Path) -> None:
    root = tmp_path / "flash"
    (root / "vstack").mkdir(parents=True)
    (root / f"{TEMP_PREFIX}abc-image.tar").write_bytes(b"partial")
    (root / "vstack" / f"{TEMP_PREFIX}def-h-001d.71ba.f780.REV2").write_bytes(b"part")
    (root / "vstack" / "h-001d.71ba.f780.REV2").write_bytes(b"whole")
    repo = Repository(root)
    assert sorted(p.name for p in root.rglob("*")) == ["h-001d.71ba.f780.REV2", "vstack"]
    assert repo.recover() == 0


def test_streaming_does_not_load_a_file_into_memory(repo: Repository) -> None:
    size = 16 * 1024 * 1024
    block = b"\xa5" * 65536

    def chunks() -> Iterator[bytes]:
        for _ in range(size // len(block)):
            yield block

    tracemalloc.start()
    try:
        stored = repo.write("big.bin", chunks())
        digest = repo.md5("big.bin")
        copied = repo.copy("big.bin", "big2.bin")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stored.size == size and digest == stored.md5 == copied.md5
    assert peak < 4 * 1024 * 1024  # a few chunks, not the 16 MiB file


# --- backups -------------------------------------------------------------------------------------


def rev(repo: Repository, hostname: str, revision: int) -> bytes | None:
    path = f"vstack/{backup_name(hostname, MAC, revision)}"
    return repo.read_bytes(path) if repo.exists(path) else None


def backup(repo: Repository, hostname: str, content: bytes, previous: str | None = None) -> None:
    plan = plan_backup(hostname, MAC, repo.names("vstack"), previous_hostname=previous)
    stored = repo.execute_backup_plan(plan, content)
    assert stored.path == f"vstack/{plan.rev2}"
    assert stored.md5 == hashlib.md5(content).hexdigest().upper()


def test_backups_rotate_rev2_to_rev1(repo: Repository) -> None:
    backup(repo, "sw1", b"first")
    assert (rev(repo, "sw1", 2), rev(repo, "sw1", 1)) == (b"first", None)
    backup(repo, "sw1", b"second")
    assert (rev(repo, "sw1", 2), rev(repo, "sw1", 1)) == (b"second", b"first")
    backup(repo, "sw1", b"third")
    assert (rev(repo, "sw1", 2), rev(repo, "sw1", 1)) == (b"third", b"second")
    assert repo.names("vstack") == [backup_name("sw1", MAC, 1), backup_name("sw1", MAC, 2)]


def test_a_hostname_change_keeps_one_step_of_history(repo: Repository) -> None:
    backup(repo, "old", b"a")
    backup(repo, "old", b"b")
    backup(repo, "new", b"c", previous="old")
    assert (rev(repo, "new", 2), rev(repo, "new", 1)) == (b"c", b"b")
    assert repo.names("vstack") == [backup_name("new", MAC, 1), backup_name("new", MAC, 2)]


def test_a_plan_that_does_not_write_one_file_is_refused(repo: Repository) -> None:
    with pytest.raises(RepositoryError):
        repo.execute_backup_plan(BackupPlan((), rev2="a", rev1="b"), b"x")


def test_a_rotation_whose_source_vanished_still_writes(repo: Repository) -> None:
    plan = BackupPlan(
        (Step(StepKind.MOVE, "h-x.REV1", "h-x.REV2"), Step(StepKind.WRITE, "h-x.REV2")),
        rev2="h-x.REV2",
        rev1="h-x.REV1",
    )
    repo.execute_backup_plan(plan, b"new")
    assert repo.names("vstack") == ["h-x.REV2"]


def test_every_intermediate_state_of_a_backup_keeps_a_complete_rev2(
    repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stop the backup after each file-system change (as a crash would) and look."""
    backup(repo, "sw", b"old-rev1")
    backup(repo, "sw", b"old-rev2")
    real_replace = os.replace
    real_unlink = Path.unlink
    seen: list[tuple[bytes | None, bytes | None]] = []

    class Crash(Exception):
        pass

    for stop_after in range(1, 10):
        calls = 0

        def counting_replace(src: object, dst: object, stop: int = stop_after) -> None:
            nonlocal calls
            real_replace(src, dst)  # type: ignore[arg-type]
            calls += 1
            if calls >= stop:
                raise Crash

        monkeypatch.setattr(os, "replace", counting_replace)
        try:
            plan = plan_backup("sw", MAC, repo.names("vstack"))
            repo.execute_backup_plan(plan, b"new-rev2")
            finished = True
        except Crash:
            finished = False
        monkeypatch.setattr(os, "replace", real_replace)
        state = (rev(repo, "sw", 2), rev(repo, "sw", 1))
        seen.append(state)
        assert state in {
            (b"old-rev2", b"old-rev1"),  # nothing happened yet
            (b"old-rev2", b"old-rev2"),  # REV1 updated, REV2 not yet
            (b"new-rev2", b"old-rev2"),  # done
        }
        # reset for the next round
        for name in repo.names("vstack"):
            real_unlink(repo.resolve(f"vstack/{name}"))
        Repository(repo.root)  # recovery
        backup(repo, "sw", b"old-rev1")
        backup(repo, "sw", b"old-rev2")
        if finished:
            break
    assert (b"old-rev2", b"old-rev2") in seen and seen[-1] == (b"new-rev2", b"old-rev2")


def test_the_director_flash_lives_in_the_data_directory(tmp_path: Path) -> None:
    repo = Repository.for_data_dir(tmp_path / "data")
    assert repo.root == (tmp_path / "data" / "flash").resolve()
    repo.write("vstack/x", b"1")
    assert (tmp_path / "data" / "flash" / "vstack" / "x").read_bytes() == b"1"
