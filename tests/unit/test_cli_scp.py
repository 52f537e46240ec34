"""The SCP server of the director's SSH server (``ip scp server enable``): the remote command
and control lines parsed with bounds, paths confined to flash:, and a real asyncssh server
and client on loopback for what happens to a file that does not arrive whole."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import Any

import asyncssh
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartinstall.services.cli_scp import (
    Control,
    ScpError,
    ScpRequest,
    ScpServer,
    flash_location,
    parse_control,
    parse_scp_command,
)
from smartinstall.store.repository import TEMP_PREFIX, Repository

pytestmark = pytest.mark.timeout(120)


def test_the_remote_commands_scp_sends() -> None:
    assert parse_scp_command("scp -t flash:/merge_config.txt") == ScpRequest(
        True, "flash:/merge_config.txt"
    )
    assert parse_scp_command("scp -v -p -t -- flash:a") == ScpRequest(True, "flash:a")
    assert parse_scp_command("scp -f 'flash:/with space'") == ScpRequest(False, "flash:/with space")
    assert parse_scp_command("scp -r -d -t flash:") == ScpRequest(True, "flash:", True, True)
    for bad in ("scp", "scp -t", "scp -t a b", "scp -x -t a", "scp -t -f a", "ls -t a",
                "scp -t 'open", "scp -t " + "a" * 2000):  # fmt: skip
        with pytest.raises(ScpError):
            parse_scp_command(bad)


def test_control_lines() -> None:
    assert parse_control(b"C0644 12 merge_config.txt") == Control("C", 0o644, 12,
                                                                  "merge_config.txt")  # fmt: skip
    assert parse_control(b"C0644 0 name with spaces") == Control("C", 0o644, 0, "name with spaces")
    assert parse_control(b"T1700000000 0 1700000000 0") == Control("T")
    assert parse_control(b"E") == Control("E")
    assert parse_control(b"D0755 0 dir").kind == "D"
    for bad in (b"", b"C0644 12 ../x", b"C0644 12 a/b", b"C0644 12 ..", b"C9999 1 a",
                b"C0644 -1 a", b"C0644 1", b"X", b"T1 2 3", b"C0644 1 a\x01b", b"\xff\xfe",
                b"C0644 " + b"9" * 30 + b" a", b"C0644 1 " + b"a" * 2000):  # fmt: skip
        with pytest.raises(ScpError):
            parse_control(bad)


def test_paths_stay_inside_flash(tmp_path: Path) -> None:
    repo = Repository(tmp_path / "flash")
    (tmp_path / "secret").write_text("outside")
    os.symlink(tmp_path / "secret", repo.root / "link")
    os.symlink(tmp_path, repo.root / "up")
    assert flash_location(repo, "flash:") == ""
    assert flash_location(repo, "flash:/") == ""
    assert flash_location(repo, ".") == ""
    assert flash_location(repo, "flash:/merge_config.txt") == "merge_config.txt"
    assert flash_location(repo, "flash:dir/a.txt") == "dir/a.txt"
    assert flash_location(repo, "bootflash:/a.txt") == "a.txt"
    assert flash_location(repo, "a.txt") == "a.txt"
    for bad in ("flash:/../secret", "../secret", "/etc/passwd", "/tmp/x", "nvram:startup-config",
                "system:running-config", "flash:/link", "flash:/up/secret", "a/../../b"):  # fmt: skip
        with pytest.raises(ScpError):
            flash_location(repo, bad)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_control_lines_never_fail_otherwise(line: bytes) -> None:
    with contextlib.suppress(ScpError):
        parse_control(line)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_commands_and_paths_never_fail_otherwise(text: str) -> None:
    with contextlib.suppress(ScpError):
        parse_scp_command(text)
    repo = Repository.__new__(Repository)  # only `resolve` is used: no directory needed
    repo.root = Path("/nonexistent-flash-root")
    try:
        location = flash_location(repo, text)
    except ScpError:
        return
    assert ".." not in location.split("/") and not location.startswith("/")


# --- a real SSH server and client ---------------------------------------------------------------


class _Open(asyncssh.SSHServer):
    """Logged in without a password (the director's login is tested elsewhere)."""

    def begin_auth(self, username: str) -> bool:
        return False


async def with_server(
    repo: Repository, enabled: bool, privilege: int, client: Any
) -> tuple[int | None, bytes]:
    scp = ScpServer(repo, lambda: enabled)

    async def process(proc: asyncssh.SSHServerProcess[str]) -> None:
        proc.exit(await scp.serve(proc, "oper", privilege, "127.0.0.1"))

    key = asyncssh.generate_private_key("ssh-ed25519")
    server = await asyncssh.create_server(
        _Open, "127.0.0.1", 0, server_host_keys=[key], process_factory=process,
        encoding="utf-8", password_auth=True, line_editor=False,
    )  # fmt: skip
    port = server.sockets[0].getsockname()[1]
    try:
        async with asyncssh.connect(
            "127.0.0.1", port, username="oper", password="x", known_hosts=None,
            client_keys=None,
        ) as conn:  # fmt: skip
            return await client(conn)
    finally:
        server.close()
        await server.wait_closed()


async def upload(conn: asyncssh.SSHClientConnection, target: str, data: bytes,
                 declared: int | None = None) -> tuple[int | None, bytes]:  # fmt: skip
    proc = await conn.create_process(f"scp -t {target}", encoding=None)
    answers = bytearray(await proc.stdout.readexactly(1))
    size = len(data) if declared is None else declared
    proc.stdin.write(f"C0644 {size} upload.bin\n".encode())
    answers += await proc.stdout.read(1)
    if answers[-1:] == b"\0":
        proc.stdin.write(data)
        if declared is None:
            proc.stdin.write(b"\0")
            answers += await proc.stdout.readexactly(1)
    proc.stdin.write_eof()
    answers += await proc.stdout.read()
    await proc.wait()
    return proc.exit_status, bytes(answers)


def test_an_upload_is_written_whole_and_a_cut_one_leaves_nothing(tmp_path: Path) -> None:
    repo = Repository(tmp_path / "flash")
    data = os.urandom(200_000)
    status, answers = asyncio.run(with_server(
        repo, True, 15, lambda conn: upload(conn, "flash:/merge_config.txt", data)))  # fmt: skip
    assert status == 0 and answers == b"\0\0\0"
    assert (repo.root / "merge_config.txt").read_bytes() == data
    # into a directory: the sender's name
    status, _ = asyncio.run(with_server(repo, True, 15, lambda conn: upload(conn, "flash:", data)))
    assert status == 0 and (repo.root / "upload.bin").read_bytes() == data
    # 100 bytes announced, 10 sent, then the end of the stream: no file, no temporary file
    status, _ = asyncio.run(with_server(
        repo, True, 15, lambda conn: upload(conn, "flash:/cut.txt", b"0123456789", 100)))  # fmt: skip
    assert status == 1
    assert sorted(p.name for p in repo.root.iterdir()) == ["merge_config.txt", "upload.bin"]
    assert not any(p.name.startswith(TEMP_PREFIX) for p in repo.root.iterdir())


def test_refused_without_the_server_enabled_privilege_15_or_inside_flash(tmp_path: Path) -> None:
    repo = Repository(tmp_path / "flash")

    async def refused(conn: asyncssh.SSHClientConnection) -> tuple[int | None, bytes]:
        result = await conn.run("scp -t flash:/x.txt", encoding=None, input=b"")
        return result.exit_status, bytes(result.stdout or b"")

    status, out = asyncio.run(with_server(repo, False, 15, refused))
    assert status == 1 and out.startswith(b"\x01scp: SCP server not enabled")
    status, out = asyncio.run(with_server(repo, True, 1, refused))
    assert status == 1 and b"privilege level 15 is needed" in out

    async def outside(conn: asyncssh.SSHClientConnection) -> tuple[int | None, bytes]:
        result = await conn.run("scp -t ../x.txt", encoding=None, input=b"")
        return result.exit_status, bytes(result.stdout or b"")

    status, out = asyncio.run(with_server(repo, True, 15, outside))
    assert status == 1 and b"'..' not allowed" in out
    assert list(repo.root.iterdir()) == []
