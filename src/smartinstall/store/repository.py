"""The director's file repository ("flash:"): a directory confined to its root.

* :meth:`Repository.resolve` maps a repository path (``vstack/x.REV2``) to a file under the
  root and refuses anything that could leave it: ``..``, absolute paths, NUL and other control
  characters, and symbolic links that point out of the root.
* Every write is atomic: the data goes to a temporary file in the target's directory, which is
  flushed and fsync'ed, renamed over the target, and the directory is fsync'ed. A reader (or a
  restart after ``kill -9``) sees the old file or the new one, never a part of one.
* :meth:`Repository.execute_backup_plan` carries out a ``domain.backups.plan_backup`` plan so
  that at every instant REV2 is the old backup or the new one, complete, and the previous
  backup is intact: the new configuration is staged first, REV2 is *linked* (not moved) to
  REV1, and only then is the staged file renamed over REV2. Sources of moves that are not
  overwritten (after a hostname change) are removed last.
* Opening a repository removes the temporary files a crash left behind.
* Files are streamed in chunks (copy, MD5); nothing loads an image into memory.

Methods block; the director calls them from its executor.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import secrets
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from smartinstall.crashpoints import crashpoint
from smartinstall.domain.backups import BackupPlan, StepKind

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
TEMP_PREFIX = ".smi-tmp-"
BACKUP_DIRECTORY = "vstack"  # flash:/vstack, the guide's default backup repository
FLASH_DIRECTORY = "flash"  # the repository's folder in the director's data directory


class RepositoryError(Exception):
    """A path outside the repository, or a file operation that failed (message says which)."""


@dataclass(frozen=True)
class FileInfo:
    """One line of ``dir flash:``."""

    name: str
    size: int
    mtime: float
    is_dir: bool = False


@dataclass(frozen=True)
class StoredFile:
    """A file written to the repository: its repository path, size and MD5 (upper-case)."""

    path: str
    size: int
    md5: str


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def md5_of(stream: BinaryIO) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    for chunk in iter(lambda: stream.read(CHUNK), b""):
        digest.update(chunk)
    return digest.hexdigest().upper()


def _chunks(data: bytes | Iterable[bytes]) -> Iterable[bytes]:
    if isinstance(data, bytes | bytearray | memoryview):
        view = memoryview(data)
        return (bytes(view[i : i + CHUNK]) for i in range(0, len(view), CHUNK))
    return data


class Repository:
    """A directory that plays the director's ``flash:``.

    Open it once per process at start and share the instance (TFTP, backups, CLI): opening
    removes the temporary files of unfinished writes, which would break a write in flight by
    another instance on the same directory.
    """

    def __init__(self, root: Path | str, *, create: bool = True) -> None:
        path = Path(root)
        if create:
            path.mkdir(parents=True, exist_ok=True)
        if not path.is_dir():
            raise RepositoryError(f"repository {path} is not a directory")
        self.root = path.resolve(strict=True)
        removed = self.recover()
        if removed:
            log.info("repository %s: removed %d unfinished temporary files", self.root, removed)

    @classmethod
    def for_data_dir(cls, data_dir: Path | str) -> Repository:
        """The director's ``flash:``: ``<data_dir>/flash`` (created when missing)."""
        return cls(Path(data_dir) / FLASH_DIRECTORY)

    # --- paths ----------------------------------------------------------------------------------

    def resolve(self, path: str) -> Path:
        """The file of a repository path, which must stay inside the root.

        The path is relative (``vstack/a.REV2``); ``..`` components, absolute paths, control
        characters and symbolic links leading out of the root are refused. A missing file is
        fine (the path may be about to be written), a missing directory too.
        """
        if not isinstance(path, str) or not path:
            raise RepositoryError("empty repository path")
        if any(ord(c) < 32 or c == "\x7f" for c in path):
            raise RepositoryError(f"invalid character in repository path {path!r}")
        if path.startswith("/") or path.startswith("\\"):
            raise RepositoryError(f"absolute path not allowed in the repository: {path}")
        parts = [p for p in path.split("/") if p not in ("", ".")]
        if not parts:
            raise RepositoryError(f"not a file in the repository: {path!r}")
        if any(p == ".." for p in parts):
            raise RepositoryError(f"'..' not allowed in a repository path: {path}")
        if any(p.startswith(TEMP_PREFIX) for p in parts):
            raise RepositoryError(f"reserved name in repository path: {path}")
        candidate = self.root.joinpath(*parts)
        # Follow whatever symbolic links exist; the result must still be under the root.
        real = Path(os.path.realpath(candidate))
        if real != self.root and self.root not in real.parents:
            raise RepositoryError(f"path leaves the repository: {path}")
        return candidate

    def _name(self, target: Path) -> str:
        return target.relative_to(self.root).as_posix()

    def _temp_for(self, target: Path) -> Path:
        return target.with_name(f"{TEMP_PREFIX}{secrets.token_hex(6)}-{target.name}"[:255])

    def _parent(self, target: Path) -> Path:
        parent = target.parent
        parent.mkdir(parents=True, exist_ok=True)
        # A directory created through a symbolic link must not lead out of the root either.
        real = Path(os.path.realpath(parent))
        if real != self.root and self.root not in real.parents:
            raise RepositoryError(f"path leaves the repository: {self._name(target)}")
        return parent

    # --- reading ----------------------------------------------------------------------------------

    def exists(self, path: str) -> bool:
        return self.resolve(path).is_file()

    @contextlib.contextmanager
    def open_read(self, path: str) -> Iterator[BinaryIO]:
        """Open a repository file for reading (never through a symbolic link at the end)."""
        target = self.resolve(path)
        try:
            fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as error:
            raise RepositoryError(f"cannot open {path}: {error.strerror}") from None
        with os.fdopen(fd, "rb") as stream:
            if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
                raise RepositoryError(f"not a regular file: {path}")
            yield stream

    def read_bytes(self, path: str, limit: int = 16 * 1024 * 1024) -> bytes:
        """A small file's content (configurations, scripts); larger than ``limit`` is refused."""
        with self.open_read(path) as stream:
            data = stream.read(limit + 1)
        if len(data) > limit:
            raise RepositoryError(f"{path} is larger than {limit} bytes")
        return data

    def iter_chunks(self, path: str, chunk: int = CHUNK) -> Iterator[bytes]:
        with self.open_read(path) as stream:
            yield from iter(lambda: stream.read(chunk), b"")

    def md5(self, path: str) -> str:
        """The MD5 of a file, upper-case hex (``File checksum``), read in chunks."""
        with self.open_read(path) as stream:
            return md5_of(stream)

    def size(self, path: str) -> int:
        try:
            return self.resolve(path).stat().st_size
        except OSError as error:
            raise RepositoryError(f"cannot stat {path}: {error.strerror}") from None

    def listing(self, directory: str = "") -> list[FileInfo]:
        """``dir flash:[directory]``: entries by name, without temporary files."""
        folder = self.resolve(directory) if directory else self.root
        if not folder.is_dir():
            raise RepositoryError(f"no such directory: {directory}")
        result: list[FileInfo] = []
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith(TEMP_PREFIX):
                    continue
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if entry.is_symlink():
                    continue
                is_dir = stat.S_ISDIR(info.st_mode)
                result.append(
                    FileInfo(entry.name, 0 if is_dir else info.st_size, info.st_mtime, is_dir)
                )
        return sorted(result, key=lambda f: f.name)

    def names(self, directory: str = "") -> list[str]:
        """Names of the regular files in a directory (``[]`` when it does not exist)."""
        try:
            return [f.name for f in self.listing(directory) if not f.is_dir]
        except RepositoryError:
            return []

    def free_space(self, directory: str = "") -> int | None:
        """Bytes the director may still write in ``directory`` (the root when it does not
        exist yet); None when the file system cannot tell."""
        try:
            folder = self.resolve(directory) if directory else self.root
            if not folder.is_dir():
                folder = self.root
            info = os.statvfs(folder)
        except (OSError, RepositoryError):
            return None
        return info.f_bavail * info.f_frsize

    # --- writing ----------------------------------------------------------------------------------

    def write(self, path: str, data: bytes | Iterable[bytes]) -> StoredFile:
        """Write a file atomically from bytes or an iterable of chunks (streamed)."""
        target = self.resolve(path)
        temp, size, digest = self._stage(target, data)
        try:
            self._install(temp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise
        return StoredFile(self._name(target), size, digest)

    def _stage(self, target: Path, data: bytes | Iterable[bytes]) -> tuple[Path, int, str]:
        """Write ``data`` to a fsync'ed temporary file beside ``target``."""
        self._parent(target)
        temp = self._temp_for(target)
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            with os.fdopen(fd, "wb") as out:
                for chunk in _chunks(data):
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
        except OSError as error:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise RepositoryError(
                f"cannot write {self._name(target)}: {error.strerror or error}"
            ) from None
        except BaseException:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise
        return temp, size, digest.hexdigest().upper()

    def _install(self, temp: Path, target: Path) -> None:
        if target.is_dir() and not target.is_symlink():
            raise RepositoryError(f"{self._name(target)} is a directory")
        os.replace(temp, target)
        _fsync_dir(target.parent)

    def copy(self, source: str, target: str) -> StoredFile:
        """Copy a file (streamed) to a new name, atomically."""
        with self.open_read(source) as stream:
            return self.write(target, iter(lambda: stream.read(CHUNK), b""))

    def copy_in(self, source: Path | str, target: str) -> StoredFile:
        """Copy a file from outside the repository (streamed) into it, atomically."""
        try:
            stream = open(source, "rb")  # noqa: SIM115 - closed below
        except OSError as error:
            raise RepositoryError(f"cannot open {source}: {error.strerror}") from None
        with stream:
            return self.write(target, iter(lambda: stream.read(CHUNK), b""))

    def rename(self, source: str, target: str) -> None:
        """Rename within the repository (atomic; replaces ``target``)."""
        src = self.resolve(source)
        dst = self.resolve(target)
        if not src.is_file() or src.is_symlink():
            raise RepositoryError(f"no such file: {source}")
        self._parent(dst)
        os.replace(src, dst)
        _fsync_dir(dst.parent)
        if src.parent != dst.parent:
            _fsync_dir(src.parent)

    def delete(self, path: str) -> bool:
        """Delete a file; False when it did not exist."""
        target = self.resolve(path)
        if target.is_dir() and not target.is_symlink():
            raise RepositoryError(f"{path} is a directory")
        try:
            target.unlink()
        except FileNotFoundError:
            return False
        except OSError as error:
            raise RepositoryError(f"cannot delete {path}: {error.strerror}") from None
        _fsync_dir(target.parent)
        return True

    def _link_over(self, source: Path, target: Path) -> None:
        """Make ``target`` a complete copy of ``source`` atomically, leaving ``source``."""
        with contextlib.suppress(OSError):
            if os.path.samefile(source, target):
                # one file under both names already (a rotation a crash interrupted): a
                # rename between two links of one file does nothing and would leave the
                # temporary link behind
                return
        temp = self._temp_for(target)
        try:
            os.link(source, temp, follow_symlinks=False)
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.EXDEV, errno.EMLINK, errno.ENOTSUP):
                raise
            # No hard links here: a streamed copy does as well, only slower.
            with open(source, "rb") as stream:
                temp, _size, _md5 = self._stage(target, iter(lambda: stream.read(CHUNK), b""))
        try:
            self._install(temp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise

    # --- backups ----------------------------------------------------------------------------------

    def execute_backup_plan(
        self,
        plan: BackupPlan,
        content: bytes | Iterable[bytes],
        directory: str = BACKUP_DIRECTORY,
    ) -> StoredFile:
        """Carry out ``plan`` (from ``domain.backups.plan_backup``) in ``directory``.

        Order of the file system changes, each one atomic and durable before the next:
        the new configuration is staged in a temporary file; REV2 is linked to REV1 (REV2
        stays); the staged file is renamed over REV2; the files the plan deletes, and the
        sources of its moves that nothing replaced, are removed last. A crash at any point
        leaves REV2 old or new and complete, and the previous backup complete (as REV2 or
        REV1); the worst case is a leftover old-hostname file that the next backup removes.
        """
        writes = [s for s in plan.steps if s.kind is StepKind.WRITE]
        if len(writes) != 1:
            raise RepositoryError("a backup plan writes exactly one file")
        base = f"{directory.strip('/')}/" if directory.strip("/") else ""
        write_target = self.resolve(base + writes[0].target)
        staged, size, digest = self._stage(write_target, content)
        moved_sources: list[Path] = []
        try:
            for step in plan.steps:
                target = self.resolve(base + step.target)
                if step.kind in (StepKind.MOVE, StepKind.COPY):
                    source = self.resolve(base + step.source)
                    if not source.is_file() or source.is_symlink():
                        log.warning("backup: %s is gone, nothing to rotate", step.source)
                        continue
                    self._link_over(source, target)
                    crashpoint("backup-rotated")
                    if step.kind is StepKind.MOVE and source != write_target:
                        moved_sources.append(source)
                elif step.kind is StepKind.WRITE:
                    self._install(staged, target)
                elif step.kind is StepKind.DELETE:
                    with contextlib.suppress(FileNotFoundError):
                        target.unlink()
                        _fsync_dir(target.parent)
        except BaseException:
            with contextlib.suppress(OSError):
                staged.unlink()
            raise
        for source in moved_sources:
            with contextlib.suppress(FileNotFoundError):
                source.unlink()
                _fsync_dir(source.parent)
        return StoredFile(self._name(write_target), size, digest)

    # --- recovery ---------------------------------------------------------------------------------

    def recover(self) -> int:
        """Remove temporary files left by an interrupted write; the number removed."""
        removed = 0
        for folder, dirs, files in os.walk(self.root, followlinks=False):
            for name in files:
                if name.startswith(TEMP_PREFIX):
                    path = Path(folder, name)
                    try:
                        path.unlink()
                        removed += 1
                    except OSError as error:
                        log.warning("repository: cannot remove %s: %s", path, error)
            dirs[:] = [d for d in dirs if not Path(folder, d).is_symlink()]
        return removed
