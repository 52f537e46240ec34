"""The director's SSH server (asyncssh): IOS keystrokes through the engine's line editor.

* Off unless a port is given (``--ssh-port`` or ``ip ssh server port N``).
* Host key: ``DATA/ssh/ssh_host_ed25519_key``, generated (mode 0600) on first start.
* Passwords: the ``username … secret`` lines (Cisco type 9 hashes); wrong ones are slowed
  down and logged by the hub's `LoginGuard`. No user configured: every login is refused.
  Three wrong passwords end the connection.
* Before it logs in, a connection holds one of the hub's login slots and has
  ``ip cli login-timeout`` seconds to log in; once logged in it counts against
  ``ip cli session-limit`` (over it: ``% Too many sessions``, exit status 1).
* Public keys: ``DATA/ssh/authorized_keys`` (OpenSSH format); a key logs in as the user name
  the client gives, which must be a configured user (its privilege applies).
* A shell request gets an interactive session; an exec request (``ssh director 'show
  version'``) runs its command lines and ends; an ``scp`` request goes to the SCP server
  (``services/cli_scp.py``) when one is given.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path
from typing import Any

import asyncssh

from smartinstall.services.cli_auth import User
from smartinstall.services.cli_guard import LoginSlot
from smartinstall.services.cli_scp import ScpServer
from smartinstall.services.cli_terminal import (
    READ_CHUNK,
    TOO_MANY,
    TerminalHub,
    TerminalIO,
    run_terminal,
)

log = logging.getLogger(__name__)

HOST_KEY = "ssh_host_ed25519_key"
AUTHORIZED_KEYS = "authorized_keys"
LOGIN_TIMEOUT = 300.0  # the library's own deadline, behind the hub's login timeout
LOGIN_ATTEMPTS = 3


def load_host_key(directory: Path) -> asyncssh.SSHKey:
    """The host key, generated into ``directory`` (0600, written atomically) when missing."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / HOST_KEY
    if path.exists():
        return asyncssh.read_private_key(str(path))
    key = asyncssh.generate_private_key("ssh-ed25519")
    temp = path.with_suffix(".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key.export_private_key())
        out.flush()
        os.fsync(out.fileno())
    os.replace(temp, path)
    (directory / f"{HOST_KEY}.pub").write_bytes(key.export_public_key())
    log.info("SSH host key generated: %s", path)
    return key


class _Server(asyncssh.SSHServer):
    def __init__(self, owner: SshCliServer) -> None:
        self.owner = owner
        self.hub = owner.hub
        self.peer = "?"
        self.port = owner.port
        self.user: User | None = None
        self.admitted = False
        self.refused = False
        self.failures = 0
        self.named = False  # the client gave a user name
        self.slot: LoginSlot | None = None
        self.deadline: asyncio.TimerHandle | None = None
        self.conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        peer = conn.get_extra_info("peername")
        self.peer = str(peer[0]) if peer else "?"
        self.slot = self.hub.login_slot("SSH", self.peer, conn.abort, self._progress)
        if self.slot is None:
            conn.abort()
            return
        self.deadline = asyncio.get_running_loop().call_later(
            self.hub.login_timeout, self._too_late
        )

    def _progress(self) -> int:
        if self.named:
            return 2
        return 1 if self.conn is not None and self.conn.get_extra_info("client_version") else 0

    def _too_late(self) -> None:
        self.deadline = None
        if self.slot is not None and self.conn is not None:
            log.info("SSH connection from %s closed: not logged in in time", self.peer)
            self.conn.abort()

    def _login_over(self) -> None:
        self.hub.login_done(self.slot)
        self.slot = None
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def auth_completed(self) -> None:
        self._login_over()
        self.admitted = self.hub.admit("SSH", self.peer)
        self.refused = not self.admitted

    def connection_lost(self, exc: Exception | None) -> None:
        self._login_over()
        if self.admitted:
            self.hub.release()
            self.admitted = False

    def begin_auth(self, username: str) -> bool:
        self.named = True
        reason = self.hub.no_users_reason()
        if reason is not None:
            log.warning("SSH login of %r from %s refused: %s", username[:64], self.peer, reason)
        banner = self.hub.access.banner
        if banner and self.conn is not None:
            self.conn.send_auth_banner(banner.replace("\n", "\r\n") + "\r\n")
        return True

    def password_auth_supported(self) -> bool:
        return True

    async def validate_password(self, username: str, password: str) -> bool:
        access = self.hub.access

        async def check() -> User | None:
            # scrypt takes tens of milliseconds: off the event loop, which serves DHCP and SMI
            return await asyncio.to_thread(access.check_user, username, password)

        user = await self.hub.guard.attempt(self.peer, username, self.port, check)
        if user is None:
            self.failures += 1
            if self.failures >= LOGIN_ATTEMPTS and self.conn is not None:
                asyncio.get_running_loop().call_soon(self.conn.close)
            return False
        self.user = user
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        user = self.hub.access.users.get(username)
        if user is None:
            return False
        keys = self.owner.authorized_keys()
        if keys is None or keys.validate(key, self.peer, self.peer) is None:
            return False
        self.hub.guard.succeeded(self.peer, username, self.port)
        self.user = user
        return True


class _SshIO(TerminalIO):
    def __init__(self, process: asyncssh.SSHServerProcess[str]) -> None:
        self.process = process
        self._size: tuple[int, int] | None = None

    async def read(self) -> str:
        while True:
            try:
                return await self.process.stdin.read(READ_CHUNK)
            except asyncssh.TerminalSizeChanged as change:
                self._size = (change.width, change.height)
            except (asyncssh.BreakReceived, asyncssh.SignalReceived):
                return "\x03"

    def write(self, text: str) -> None:
        if self.process.is_closing():
            raise BrokenPipeError("channel closed")
        self.process.stdout.write(text)

    def resize(self) -> tuple[int, int] | None:
        size, self._size = self._size, None
        return size


class SshCliServer:
    def __init__(
        self, hub: TerminalHub, host: str, port: int, key_dir: Path, scp: ScpServer | None = None
    ) -> None:
        self.hub = hub
        #: ``scp`` commands to and from flash: (``ip scp server enable``), when given
        self.scp = scp
        self.host = host
        self.port = port
        self.key_dir = key_dir
        self._server: asyncssh.SSHAcceptor | None = None
        self._keys_mtime: float | None = None
        self._keys: asyncssh.SSHAuthorizedKeys | None = None

    def authorized_keys(self) -> asyncssh.SSHAuthorizedKeys | None:
        path = self.key_dir / AUTHORIZED_KEYS
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return None
        if mtime != self._keys_mtime:
            try:
                self._keys = asyncssh.read_authorized_keys(str(path))
            except (OSError, ValueError, asyncssh.KeyImportError) as error:
                log.warning("%s: %s", path, error)
                self._keys = None
            self._keys_mtime = mtime
        return self._keys

    async def start(self) -> None:
        library = logging.getLogger("asyncssh")
        if library.level == logging.NOTSET:  # one line per packet event is too much
            library.setLevel(logging.WARNING)
        key = load_host_key(self.key_dir)
        reason = self.hub.no_users_reason()
        if reason is not None:
            log.warning("SSH server: %s", reason)
        self._server = await asyncssh.create_server(
            lambda: _Server(self), self.host, self.port, server_host_keys=[key],
            process_factory=self._process, line_editor=False, encoding="utf-8",
            login_timeout=LOGIN_TIMEOUT, keepalive_interval=30, keepalive_count_max=4,
            allow_scp=False, sftp_factory=None,
        )  # fmt: skip
        if self.port == 0:
            sockets = self._server.sockets
            if sockets:
                self.port = int(sockets[0].getsockname()[1])
        log.info("SSH CLI on %s:%d", self.host, self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
            self._server = None

    async def _process(self, process: asyncssh.SSHServerProcess[str]) -> None:
        conn: Any = process.get_extra_info("connection")
        owner = conn.get_owner() if conn is not None else None
        user = owner.user if isinstance(owner, _Server) else None
        peer = owner.peer if isinstance(owner, _Server) else "?"
        if user is None:
            process.exit(1)
            return
        if isinstance(owner, _Server) and owner.refused:
            process.stderr.write(TOO_MANY + "\r\n")
            process.exit(1)
            return
        try:
            if process.command is not None:
                if self.scp is not None and process.command.startswith("scp "):
                    privilege = user.privilege or 1
                    process.exit(await self.scp.serve(process, user.name, privilege, peer))
                    return
                await self._exec(process, user)
                return
            width, height, _, _ = process.get_terminal_size()
            await run_terminal(
                self.hub,
                _SshIO(process),
                kind="vty",
                user=user.name,
                peer=peer,
                level=user.privilege or 1,
                width=width or 80,
                height=height or 24,
            )
        except Exception:  # a session must never take the server down
            log.exception("SSH session of %s from %s failed", user.name, peer)
        finally:
            with contextlib.suppress(Exception):
                process.exit(0)

    async def _exec(self, process: asyncssh.SSHServerProcess[str], user: User) -> None:
        session = self.hub.engine.session(level=user.privilege or 1)
        session.terminal_length = 0
        status = 0
        for line in (process.command or "").splitlines()[:100]:
            outcome = session.execute(line)
            process.stdout.write(outcome.output)
            if session.waiting is not None:
                process.stdout.write(await session.settle())
            if not outcome.ok:
                status = 1
            if session.closed:
                break
        process.exit(status)
