"""Tar files on the director's file systems (``flash:``, ``flash0:``, ``flash1:``,
``bootflash:``, ``usb:``: its one repository): ``vstack tar``, ``vstack untar`` and ``vstack
untar/table`` (guide, "Managing Client Configuration Files": backups of the configuration
files, image tar files).

The paths are checked inline (a refused path fails the line at once); reading and writing
the archive and its members run in a thread (`finish_in_thread`), so that archiving a large
image never stalls the event loop. Their output is printed when they are done; a failure is a
`CommandError` whose message holds the lines printed before it, as the command printed them.
"""

from __future__ import annotations

import tarfile
import tempfile
from collections.abc import Iterator
from typing import IO

from smartinstall.director.exec.files import flash_path
from smartinstall.director.exec.host import Family, finish_in_thread
from smartinstall.domain.locations import LOCAL_FILESYSTEMS
from smartinstall.ios import EXEC, PRIVILEGED_LEVEL, Arg, CommandError, Context, Word
from smartinstall.store.repository import CHUNK, FileInfo, Repository, RepositoryError

MAX_TAR_MEMBERS = 10_000
MAX_TAR_BYTES = 4 * 1024**3


class TarCommands(Family):
    """``vstack tar <fs>:<archive> [<fs>:<folder>]``, ``vstack untar <fs>:<archive>
    [<fs>:<folder>]`` and ``vstack untar/table <fs>:<archive>`` on any of the director's file
    systems; the folder is the backup repository when it is not given."""

    def declare(self) -> None:
        c = self.command
        p = PRIVILEGED_LEVEL
        tar_help = {
            "tar": "Create a tar file from repository files",
            "untar": "Extract a tar file into the repository",
            "untar/table": "List the contents of a tar file",
        }
        files = {
            "first": Arg(Word(), "flash:, bootflash:, usb: … URL"),
            "second": Arg(Word(), "flash:, bootflash:, usb: … URL"),
            "third": Arg(Word(), "flash:, bootflash:, usb: … URL"),
            "fourth": Arg(Word(), "flash:, bootflash:, usb: … URL"),
        }
        c(
            EXEC,
            "vstack tar <first> [<second> [<third> [<fourth>]]]",
            self._tar,
            level=p,
            help=tar_help,
            args=files,
        )
        c(
            EXEC,
            "vstack untar <first> [<second> [<third> [<fourth>]]]",
            self._untar,
            level=p,
            help=tar_help,
            args=files,
        )
        c(
            EXEC,
            "vstack untar/table <first> [<second>]",
            self._untar_table,
            level=p,
            output=True,
            help=tar_help,
            args=files,
        )

    def _folder(self, text: str | None) -> str:
        """The folder a tar is made of or extracted into: the backup repository by default."""
        if text is None:
            return self.host.director.backup_dir
        return flash_path(self.host.repo, text, allow_root=True)

    def _archive(self, source: str) -> str:
        """The repository path of an existing archive."""
        path = flash_path(self.host.repo, source)
        if not self.host.repo.exists(path):
            raise CommandError(f"%Error opening flash:/{path} (No such file or directory)")
        return path

    def _tar(self, ctx: Context) -> None:
        destination, source = join_url(ctx)
        repo = self.host.repo
        target = flash_path(repo, destination)
        folder = self._folder(source)
        try:
            members = [f for f in repo.listing(folder) if not f.is_dir]
        except RepositoryError as error:
            raise CommandError(f"%Error opening flash:/{folder} ({error})") from None
        finish_in_thread(ctx, make_tar, repo, folder, members, target)

    def _untar_table(self, ctx: Context) -> None:
        source, _ = join_url(ctx)
        finish_in_thread(ctx, list_tar, self.host.repo, self._archive(source))

    def _untar(self, ctx: Context) -> None:
        source, destination = join_url(ctx)
        folder = self._folder(destination)
        finish_in_thread(ctx, extract_tar, self.host.repo, self._archive(source), folder)


def join_url(ctx: Context) -> tuple[str, str | None]:
    """``flash: archive.tar`` (the guide's examples) is one URL, ``flash:archive.tar``; so is
    ``flash mytar`` (the guide's ``vstack tar flash: archive.tar flash mytar``)."""
    words = [str(ctx.args[k]) for k in ("first", "second", "third", "fourth") if k in ctx.args]
    urls: list[str] = []
    for word in words:
        if urls and urls[-1].endswith(":"):
            urls[-1] += word
        elif urls and f"{urls[-1].lower()}:" in LOCAL_FILESYSTEMS:
            urls[-1] += ":" + word
        else:
            urls.append(word)
    if len(urls) > 2:
        raise CommandError("% Too many file names")
    return urls[0], (urls[1] if len(urls) > 1 else None)


# --- the work, in a thread ------------------------------------------------------------------


def make_tar(repo: Repository, folder: str, members: list[FileInfo], target: str) -> str:
    """``vstack tar``: the files of ``folder`` into the archive ``target``, written through a
    temporary file then atomically into the repository."""
    out: list[str] = []
    with tempfile.TemporaryFile() as spool:
        with tarfile.open(fileobj=spool, mode="w") as archive:
            for member in members:
                path = f"{folder}/{member.name}" if folder else member.name
                if path == target:
                    continue
                info = tarfile.TarInfo(member.name)
                info.size = member.size
                info.mtime = int(member.mtime)
                with repo.open_read(path) as stream:
                    archive.addfile(info, stream)
                out.append(f"archiving {member.name} ({member.size} bytes)\n")
        spool.seek(0)
        try:
            repo.write(target, iter(lambda: spool.read(CHUNK), b""))
        except RepositoryError as error:
            raise _failed(out, f"%Error writing flash:/{target} ({error})") from None
    return "".join(out)


def _open(repo: Repository, path: str) -> tarfile.TarFile:
    try:
        return tarfile.open(repo.resolve(path), mode="r:*")
    except (tarfile.TarError, OSError) as error:
        raise CommandError(f"%Error opening flash:/{path} (not a tar file: {error})") from None


def list_tar(repo: Repository, path: str) -> str:
    """``vstack untar/table``: the members of the archive (at most `MAX_TAR_MEMBERS`)."""
    out: list[str] = []
    with _open(repo, path) as archive:
        for count, member in enumerate(_members(archive)):
            if count >= MAX_TAR_MEMBERS:
                break
            if member.isdir():
                out.append(f"{member.name}/ (directory)\n")
            else:
                out.append(f"{member.name} ({member.size} bytes)\n")
    return "".join(out)


def extract_tar(repo: Repository, path: str, folder: str) -> str:
    """``vstack untar``: the regular files of the archive into ``folder``, each written
    atomically; at most `MAX_TAR_MEMBERS` members and `MAX_TAR_BYTES` bytes."""
    out: list[str] = []
    total = 0
    with _open(repo, path) as archive:
        for count, member in enumerate(_members(archive)):
            if count >= MAX_TAR_MEMBERS:
                raise _failed(out, "%Error: too many files in the archive")
            if member.isdir():
                continue
            if not member.isfile():
                out.append(f"skipping {member.name} (not a regular file)\n")
                continue
            total += member.size
            if total > MAX_TAR_BYTES:
                raise _failed(out, "%Error: the archive is too large")
            name = member.name.lstrip("./")
            target = f"{folder}/{name}" if folder else name
            stream = archive.extractfile(member)
            if stream is None:
                continue
            try:
                repo.write(target, _read_chunks(stream))
            except RepositoryError as error:
                out.append(f"%Error extracting {member.name} ({error})\n")
                continue
            out.append(f"extracting {name} ({member.size} bytes)\n")
    return "".join(out)


def _failed(out: list[str], message: str) -> CommandError:
    """The error that ends the work, after the lines it printed so far."""
    return CommandError("".join(out) + message)


def _read_chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK):
        yield chunk


def _members(archive: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    """Members one at a time (a huge archive is never listed in memory at once)."""
    while True:
        member = archive.next()
        if member is None:
            return
        yield member
