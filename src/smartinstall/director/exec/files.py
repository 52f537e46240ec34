"""The director's ``flash:`` (its file repository): ``dir``, ``delete`` and ``copy tftp://…
flash:`` (guide, "Managing Client Configuration Files"; IOS file system commands).

Deleting and writing files happen in threads, never on the event loop: ``delete`` runs
`Repository.delete` with `asyncio.to_thread`, and ``copy`` hands the data the TFTP download
receives on the loop to a :class:`RepositoryStream`, whose own thread writes the file.
Listing one directory (``dir``) is a stat-like call and stays inline.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import queue
import shutil
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

from smartinstall.director.exec.host import Family, confirmed, finish_in_thread
from smartinstall.domain.locations import LOCAL_FILESYSTEMS
from smartinstall.ios import EXEC, PRIVILEGED_LEVEL, Arg, CommandError, Context, Word
from smartinstall.store.repository import FileInfo, Repository, RepositoryError, StoredFile


def flash_path(repo: Repository, text: str, *, allow_root: bool = False) -> str:
    """The repository path of a URL on one of the director's file systems (``""``: the root,
    when ``allow_root``). ``flash:``, ``flash0:``, ``flash1:``, ``bootflash:`` and ``usb:``
    all name the director's one repository, as its image and configuration locations do."""
    lowered = text.lower()
    scheme = next((fs for fs in LOCAL_FILESYSTEMS if lowered.startswith(fs)), None)
    if scheme is None:
        raise CommandError(f"%Error opening {text} (Invalid file system)")
    path = text[len(scheme) :].strip("/")
    if not path and not allow_root:
        raise CommandError(f"%Error opening {text} (No file name)")
    if path:
        try:
            repo.resolve(path)
        except RepositoryError as error:
            raise CommandError(f"%Error opening {text} ({error})") from None
    return path


class FileCommands(Family):
    """``dir [flash:<directory>]``, ``delete flash:<file>`` and ``copy tftp://… flash:[file]``."""

    def declare(self) -> None:
        c = self.command
        p = PRIVILEGED_LEVEL
        c(
            EXEC,
            "dir [<where>]",
            self._dir,
            level=p,
            output=True,
            help={"dir": "List files on a filesystem"},
            args={"where": Arg(Word(), "flash: directory")},
        )
        c(
            EXEC,
            "delete <file>",
            self._delete,
            level=p,
            help={"delete": "Delete a file"},
            args={"file": Arg(Word(), "flash: file")},
        )
        c(
            EXEC,
            "copy <source> <destination>",
            self._copy,
            level=p,
            help={"copy": "Copy from one file to another"},
            args={
                "source": Arg(Word("WORD", r"tftp://\S+"), "Source: tftp://host/file"),
                "destination": Arg(
                    Word("WORD", r"(?i)(flash[01]?|bootflash|usb):\S*"), "Destination: flash:[file]"
                ),
            },
        )

    def _dir(self, ctx: Context) -> None:
        where = str(ctx.args.get("where") or "flash:")
        repo = self.host.repo
        path = flash_path(repo, where, allow_root=True)
        scheme = where.split(":", 1)[0].lower()
        single = False
        try:
            entries = repo.listing(path)
        except RepositoryError as error:
            found = file_entry(repo, path)  # ``dir flash:/file``: that file alone
            if found is None:
                missing = "No such file or directory" if "no such" in str(error) else error
                raise CommandError(f"%Error opening {scheme}:/{path} ({missing})") from None
            entries, single = found, True
        ctx.write(f"Directory of {scheme}:/{path}{'/' if path and not single else ''}\n\n")
        tz = self.host.director.tz
        for number, entry in enumerate(entries, start=1):
            when = dt.datetime.fromtimestamp(entry.mtime, tz)
            kind = "drwx" if entry.is_dir else "-rwx"
            ctx.write(
                f"{number:5d}  {kind} {entry.size:12d}  {when:%b %d %Y %H:%M:%S %z}  {entry.name}\n"
            )
        usage = shutil.disk_usage(repo.root)
        ctx.write(f"\n{usage.total} bytes total ({usage.free} bytes free)\n")

    def _delete(self, ctx: Context) -> None:
        text = str(ctx.args["file"])
        repo = self.host.repo
        path = flash_path(repo, text)

        def confirm(reply: str) -> str:
            if confirmed(reply):
                finish_in_thread(ctx, delete_file, repo, path)
            return ""

        def name(reply: str) -> str:
            if reply.strip() and reply.strip() != path:
                return "%Error: the file name does not match\n"
            ctx.ask(f"Delete flash:/{path}? [confirm]", confirm)
            return ""

        ctx.ask(f"Delete filename [{path}]? ", name)

    def _copy(self, ctx: Context) -> None:
        from smartinstall.services.tftp_client import TftpClientError, fetch_to, parse_tftp_url

        source = str(ctx.args["source"])
        try:
            host, port, remote = parse_tftp_url(source)
        except ValueError as error:
            raise CommandError(f"%Error parsing {source} ({error})") from None
        repo = self.host.repo
        default = (
            flash_path(repo, str(ctx.args["destination"]), allow_root=True) or Path(remote).name
        )

        def answer(reply: str) -> str:
            name = reply.strip() or default
            try:
                repo.resolve(name)
            except RepositoryError as error:
                return f"%Error opening flash:/{name} ({error})\n"

            async def work() -> str:
                started = time.monotonic()
                stream = RepositoryStream(repo, name)
                try:
                    size = await fetch_to(host, port, remote, cast(BinaryIO, stream))
                    await stream.finish()
                except (TftpClientError, OSError, TimeoutError, RepositoryError) as error:
                    await stream.abort()
                    return f"%Error opening {source} ({error})\n"
                except BaseException:  # cancelled (the terminal went away): no file
                    stream.cancel()
                    raise
                elapsed = max(time.monotonic() - started, 0.001)
                return (
                    f"Loading {remote} from {host} (port {port}): !\n"
                    f"[OK - {size} bytes]\n\n"
                    f"{size} bytes copied in {elapsed:.3f} secs "
                    f"({int(size / elapsed)} bytes/sec)\n"
                )

            ctx.wait(work)
            return f"Accessing {source}...\n"

        ctx.ask(f"Destination filename [{default}]? ", answer)


def file_entry(repo: Repository, path: str) -> list[FileInfo] | None:
    """The listing of one file (``dir flash:/name``), None when it is not a file."""
    try:
        info = repo.resolve(path).stat()
    except (OSError, RepositoryError):
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return [FileInfo(path.rsplit("/", 1)[-1], info.st_size, info.st_mtime, False)]


def delete_file(repo: Repository, path: str) -> str:
    """``delete``'s work (in a thread): the error to print, or nothing."""
    try:
        if not repo.delete(path):
            return f"%Error deleting flash:/{path} (No such file or directory)\n"
    except RepositoryError as error:
        return f"%Error deleting flash:/{path} ({error})\n"
    return ""


class _Aborted(Exception):
    """The data will not come: the file is dropped."""


class RepositoryStream:
    """A repository file written by its own thread from data handed over on the event loop.

    :meth:`write` (called by a download on the loop) only queues the data; the thread writes
    it with `Repository.write` (temporary file, fsync, rename: a reader never sees part of the
    file). :meth:`finish` waits for the file without blocking the loop; :meth:`abort` drops
    it. Once the thread has failed, :meth:`write` raises its error so the download stops early.

    The thread is the stream's own, not one of the loop's executor: it lives as long as the
    download. The queue is not bounded (the loop must never wait for the disk); a disk is
    faster than a TFTP transfer.
    """

    def __init__(self, repo: Repository, path: str) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._aborted = False
        self._error: BaseException | None = None
        self._done: asyncio.Future[StoredFile | None] = self._loop.create_future()
        thread = threading.Thread(
            target=self._run, args=(repo, path), name=f"flash:{path}", daemon=True
        )
        thread.start()

    def write(self, data: bytes) -> int:
        if self._error is not None:
            raise RepositoryError(str(self._error))
        self._queue.put(bytes(data))
        return len(data)

    async def finish(self) -> StoredFile:
        """No more data: the stored file, once it is complete and in place."""
        self._queue.put(None)
        stored = await self._done
        if stored is None:  # aborted meanwhile
            raise RepositoryError("the copy was aborted")
        return stored

    async def abort(self) -> None:
        """Drop the file; returns once its temporary file is removed."""
        self.cancel()
        with contextlib.suppress(Exception):
            await self._done

    def cancel(self) -> None:
        """Drop the file without waiting for the thread."""
        self._aborted = True
        self._queue.put(None)
        if self._done.done() and not self._done.cancelled():
            self._done.exception()  # seen: not reported as never retrieved

    def _chunks(self) -> Iterator[bytes]:
        while (chunk := self._queue.get()) is not None:
            yield chunk
        if self._aborted:
            raise _Aborted

    def _run(self, repo: Repository, path: str) -> None:
        outcome: StoredFile | BaseException
        try:
            outcome = repo.write(path, self._chunks())
        except BaseException as error:
            self._error = error
            outcome = error
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
            self._loop.call_soon_threadsafe(self._settle, outcome)

    def _settle(self, outcome: StoredFile | BaseException) -> None:
        if self._done.done():
            return
        if not isinstance(outcome, BaseException):
            self._done.set_result(outcome)
        elif self._aborted:
            self._done.set_result(None)
        else:
            self._done.set_exception(outcome)
