"""Configuration files in and out of the running configuration: the ``copy`` forms NAPALM,
Ansible and network engineers use, ``verify /md5`` and ``more`` (IOS file system commands).

* ``copy running-config|startup-config <flash:file | tftp://host/file>``
* ``copy <flash:file | tftp://host/file> running-config`` (a merge: every line as if typed in
  configuration mode, through the engine; a refused line prints IOS's error)
* ``copy <flash:file> startup-config``, ``copy <flash:file> <flash:file>``, ``copy null:
  <flash:file>`` (an empty file)
* ``verify /md5 <flash:file>``, ``more <flash:file>``

Without ``file prompt quiet`` the destination is asked (``Destination filename [x]?``), as
IOS does. Files are read and written in threads (`Repository.write`: temporary file, fsync,
rename), never on the event loop; the configuration is applied on the loop, where the engine
lives.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from smartinstall.director.exec.files import flash_path
from smartinstall.director.exec.host import DirectorHost
from smartinstall.ios import EXEC, PRIVILEGED_LEVEL, Arg, CommandError, Context, Engine, Word
from smartinstall.ios.config import MAX_CONFIG_BYTES
from smartinstall.ios.config_lock import check_unlocked
from smartinstall.ios.config_replace import apply_steps, rejected_text, run_stepwise
from smartinstall.store.repository import Repository, RepositoryError

if TYPE_CHECKING:
    from smartinstall.ios.tree import CommandSet

LOCAL = r"(flash[01]?|bootflash|usb):\S*"
TFTP = r"tftp://\S+"
RUNNING = "running-config"
STARTUP = "startup-config"


class _Bounded(io.RawIOBase):
    """A download into memory that refuses more than a configuration's largest size."""

    def __init__(self) -> None:
        super().__init__()
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        if len(self.data) + len(data) > MAX_CONFIG_BYTES:
            raise RepositoryError(f"larger than {MAX_CONFIG_BYTES} bytes")
        self.data += data
        return len(data)


def copied(size: int, started: float) -> str:
    elapsed = max(time.monotonic() - started, 0.001)
    return f"{size} bytes copied in {elapsed:.3f} secs ({int(size / elapsed)} bytes/sec)\n"


def read_config(repo: Repository, path: str, url: str) -> str:
    """A configuration file of flash: (in a thread); IOS's message when it cannot be read."""
    try:
        data = repo.read_bytes(path, MAX_CONFIG_BYTES)
    except RepositoryError as error:
        if not repo.resolve(path).exists():
            raise CommandError(f"%Error opening {url} (No such file or directory)") from None
        raise CommandError(f"%Error opening {url} ({error})") from None
    return data.decode("utf-8", errors="replace")


async def _ready(data: bytes) -> bytes:
    return data


class ConfigCopy:
    """Declares the ``copy`` forms, ``verify /md5`` and ``more`` on ``commands``; ``quiet``
    says whether ``file prompt quiet`` is configured."""

    def __init__(
        self, commands: CommandSet, host: DirectorHost, engine: Engine, quiet: Callable[[], bool]
    ) -> None:
        self.host = host
        self.engine = engine
        self.quiet = quiet
        p = PRIVILEGED_LEVEL
        c = commands.command
        to = Arg(Word("WORD", f"(?i)({LOCAL}|{TFTP})"), "Destination: flash:file or tftp://")
        local_from = Arg(Word("WORD", f"(?i)({LOCAL}|null:)"), "Source: flash:file or null:")
        tftp_from = Arg(Word("WORD", TFTP), "Source: tftp://host/file")
        help_ = {
            "copy": "Copy from one file to another",
            RUNNING: "Copy from current system configuration",
            STARTUP: "Copy from startup configuration",
        }
        into = {"copy": help_["copy"], RUNNING: "Update (merge with) current system configuration",
                STARTUP: "Copy to startup configuration"}  # fmt: skip
        c(EXEC, f"copy {RUNNING} <to>", self._from_running, level=p, help=help_, args={"to": to})
        c(EXEC, f"copy {STARTUP} <to>", self._from_startup, level=p, help=help_, args={"to": to})
        c(EXEC, f"copy <source> {RUNNING}", self._into_running, level=p, help=into,
          args={"source": Arg(tftp_from.type, tftp_from.help)})  # fmt: skip
        c(EXEC, f"copy <from> {RUNNING}", self._into_running, level=p, help=into,
          args={"from": local_from})  # fmt: skip
        c(EXEC, f"copy <from> {STARTUP}", self._into_startup, level=p, help=into,
          args={"from": local_from})  # fmt: skip
        c(EXEC, "copy <from> <to>", self._file_to_file, level=p, help=into,
          args={"from": local_from, "to": to})  # fmt: skip
        c(
            EXEC,
            "verify /md5 <file>",
            self._verify,
            level=p,
            output=True,
            help={"verify": "Verify a file", "/md5": "Compute the MD5 of a file"},
            args={"file": Arg(Word("WORD", f"(?i){LOCAL}"), "File to compute the MD5 of")},
        )
        c(
            EXEC,
            "more <file>",
            self._more,
            level=p,
            output=True,
            help={"more": "Display the contents of a file"},
            args={"file": Arg(Word("WORD", f"(?i){LOCAL}"), "File to display")},
        )

    @property
    def repo(self) -> Repository:
        return self.host.repo

    # --- the destination question ---------------------------------------------------------

    def _then(self, ctx: Context, default: str, go: Callable[[str], Awaitable[str]]) -> None:
        """``go(destination)`` as the command's work, after ``Destination filename [x]?``
        unless ``file prompt quiet``."""
        if self.quiet():
            ctx.wait(lambda: go(default))
            return

        def answer(reply: str) -> str:
            chosen = reply.strip() or default
            ctx.wait(lambda: go(chosen))
            return ""

        ctx.ask(f"Destination filename [{default}]? ", answer)

    def _write_to(self, url: str, text: str, ctx: Context) -> None:
        """A configuration text to flash: or TFTP."""
        data = text.encode("utf-8")
        if url.lower().startswith("tftp://"):
            self._upload(ctx, url, lambda: _ready(data))
            return
        path = flash_path(self.repo, url)
        repo = self.repo

        async def go(name: str) -> str:
            target = path if name == path.rsplit("/", 1)[-1] else name.strip("/")
            started = time.monotonic()
            try:
                await asyncio.to_thread(repo.write, target, data)
            except RepositoryError as error:
                raise CommandError(f"%Error opening {url} ({error})") from None
            return copied(len(data), started)

        self._then(ctx, path.rsplit("/", 1)[-1], go)

    def _upload(self, ctx: Context, url: str, data: Callable[[], Awaitable[bytes]]) -> None:
        """``data()`` written to a TFTP server."""
        from smartinstall.services.tftp_client import TftpClientError, parse_tftp_url, upload_from

        try:
            host, port, remote = parse_tftp_url(url)
        except ValueError as error:
            raise CommandError(f"%Error parsing {url} ({error})") from None

        async def go(name: str) -> str:
            content = await data()
            started = time.monotonic()
            try:
                await upload_from(host, port, name, io.BytesIO(content))
            except (TftpClientError, OSError, TimeoutError) as error:
                raise CommandError(f"%Error opening {url} ({error})") from None
            return f"!!\n{copied(len(content), started)}"

        self._then(ctx, remote, go)

    # --- handlers -----------------------------------------------------------------------------

    def _from_running(self, ctx: Context) -> None:
        self._write_to(str(ctx.args["to"]), self.engine.running_config(), ctx)

    def _from_startup(self, ctx: Context) -> None:
        store = self.engine.store
        text = store.read() if store is not None else None  # one bounded read, as `show`
        if text is None:
            raise CommandError("%Error opening nvram:startup-config (No such file or directory)")
        self._write_to(str(ctx.args["to"]), text, ctx)

    async def _fetch(self, url: str) -> str:
        """A configuration text from flash: (in a thread) or TFTP (into memory, bounded)."""
        if url.lower().startswith("tftp://"):
            from smartinstall.services.tftp_client import (
                TftpClientError,
                fetch_to,
                parse_tftp_url,
            )

            try:
                host, port, remote = parse_tftp_url(url)
                sink = _Bounded()
                await fetch_to(host, port, remote, sink)  # type: ignore[arg-type]
            except (ValueError, TftpClientError, OSError, TimeoutError, RepositoryError) as error:
                raise CommandError(f"%Error opening {url} ({error})") from None
            return sink.data.decode("utf-8", errors="replace")
        path = flash_path(self.repo, url)
        return await asyncio.to_thread(read_config, self.repo, path, url)

    def _into_running(self, ctx: Context) -> None:
        url = str(ctx.args.get("source") or ctx.args["from"])
        if url.lower() == "null:":
            raise CommandError("%Error opening null: (Invalid operation)")
        check_unlocked(ctx.session)  # another terminal's configure replace is under way

        async def go(name: str) -> str:
            if name != RUNNING:
                raise CommandError(f"%Error: only {RUNNING} can be written here")
            started = time.monotonic()
            text = await self._fetch(url)
            check_unlocked(ctx.session)
            rejected = await run_stepwise(apply_steps(self.engine, text))
            return rejected_text(rejected) + "\n" + copied(len(text.encode()), started)

        self._then(ctx, RUNNING, go)

    def _into_startup(self, ctx: Context) -> None:
        url = str(ctx.args["from"])
        store = self.engine.store
        if store is None or url.lower() == "null:":
            raise CommandError(f"%Error opening {url} (Invalid operation)")

        async def go(name: str) -> str:
            if name != STARTUP:
                raise CommandError(f"%Error: only {STARTUP} can be written here")
            started = time.monotonic()
            text = await self._fetch(url)
            try:
                await asyncio.to_thread(store.write, text)
            except (OSError, ValueError) as error:
                raise CommandError(f"%Error writing {STARTUP} ({error})") from None
            return "[OK]\n" + copied(len(text.encode()), started)

        self._then(ctx, STARTUP, go)

    def _file_to_file(self, ctx: Context) -> None:
        source, target = str(ctx.args["from"]), str(ctx.args["to"])
        if target.lower().startswith("tftp://"):
            if source.lower() == "null:":
                raise CommandError("%Error opening null: (Invalid operation)")
            path = flash_path(self.repo, source)
            repo = self.repo

            async def content() -> bytes:
                text = await asyncio.to_thread(read_config, repo, path, source)
                return text.encode("utf-8")

            self._upload(ctx, target, content)
            return
        destination = flash_path(self.repo, target)
        repo = self.repo
        empty = source.lower() == "null:"
        origin = "" if empty else flash_path(self.repo, source)

        def work(name: str) -> int:
            if empty:
                return repo.write(name, b"").size
            if not repo.exists(origin):
                raise CommandError(f"%Error opening {source} (No such file or directory)")
            return repo.copy(origin, name).size

        async def go(name: str) -> str:
            chosen = destination if name == destination.rsplit("/", 1)[-1] else name.strip("/")
            started = time.monotonic()
            try:
                size = await asyncio.to_thread(work, chosen)
            except RepositoryError as error:
                raise CommandError(f"%Error opening {target} ({error})") from None
            return copied(size, started)

        self._then(ctx, destination.rsplit("/", 1)[-1], go)

    def _verify(self, ctx: Context) -> None:
        url = str(ctx.args["file"])
        path = flash_path(self.repo, url)
        repo = self.repo

        def digest() -> str:
            try:
                value = repo.md5(path).lower()
            except RepositoryError:
                raise CommandError(f"%Error opening {url} (No such file or directory)") from None
            return f".Done!\nverify /md5 ({url}) = {value}\n"

        async def work() -> str:
            return await asyncio.to_thread(digest)

        ctx.wait(work)

    def _more(self, ctx: Context) -> None:
        url = str(ctx.args["file"])
        path = flash_path(self.repo, url)
        repo = self.repo

        async def work() -> str:
            text = await asyncio.to_thread(read_config, repo, path, url)
            return text if text.endswith("\n") or not text else text + "\n"

        ctx.wait(work)


__all__ = ["ConfigCopy", "copied", "read_config"]
