"""Operator lockout, attacked on a real director process on loopback: idle connections that
hold every login slot, password guesses from rotating source addresses and in parallel from
one address, a full console pool. While each attack goes on an operator still logs in (SSH,
telnet, the local console) within 5 s; failed logins reach a real syslog listener."""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import socket
import sys
import time
from collections.abc import Iterator

import asyncssh
import pytest

from smartinstall.services.cli_local import socket_address
from tests.integration.director_harness import (
    ROOT,
    DirectorProcess,
    director_preamble,
    free_port,
    lab_prefix,
)
from tests.integration.test_cli_terminals import PtyProgram

PASSWORD = "s3cret-Pass"
HONEST_WITHIN = 5.0
LOGIN_TIMEOUT = 2  # ip cli login-timeout of the director under attack
SESSION_LIMIT = 4
LOGIN_SLOTS = 32  # ip cli login-slots (the default)


@pytest.fixture(scope="module")
def syslog() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    yield sock
    sock.close()


@pytest.fixture(scope="module")
def director(
    tmp_path_factory: pytest.TempPathFactory, syslog: socket.socket
) -> Iterator[DirectorProcess]:
    prefix = lab_prefix()
    address = f"{prefix}.1"
    ssh_port = free_port(address, socket.SOCK_STREAM)
    telnet_port = free_port(address, socket.SOCK_STREAM)
    config = (
        director_preamble(prefix)
        + f"""logging host 127.0.0.1 transport udp port {syslog.getsockname()[1]}
username admin privilege 15 secret {PASSWORD}
username oper privilege 15 secret {PASSWORD}
username backup privilege 15 secret {PASSWORD}
ip ssh server port {ssh_port}
ip telnet server port {telnet_port}
ip cli session-limit {SESSION_LIMIT}
ip cli login-timeout {LOGIN_TIMEOUT}
"""
    )
    process = DirectorProcess(tmp_path_factory.mktemp("lockout") / "director", prefix, config)
    process.ports["ssh"] = ssh_port
    process.ports["telnet"] = telnet_port
    process.start()
    process.wait_for_log("telnet CLI on")
    yield process
    process.stop()


def source(director: DirectorProcess, host: int) -> str:
    return f"{director.prefix}.{host}"


async def ssh(
    director: DirectorProcess, user: str, password: str, local: str, timeout: float = 10.0
) -> asyncssh.SSHClientConnection:
    return await asyncssh.connect(
        director.address, director.ports["ssh"], username=user, password=password,
        known_hosts=None, client_keys=None, local_addr=(local, 0), login_timeout=timeout,
    )  # fmt: skip


async def ssh_command(director: DirectorProcess, user: str, local: str, command: str) -> str:
    """An operator's SSH login and one command; fails unless done within 5 s."""
    async with asyncio.timeout(HONEST_WITHIN):
        async with await ssh(director, user, PASSWORD, local) as conn:
            result = await conn.run(command, check=False)
    assert result.exit_status == 0, result.stderr
    return str(result.stdout)


async def telnet_command(director: DirectorProcess, user: str, local: str, command: str) -> str:
    """An operator's telnet login and one command; fails unless done within 5 s."""
    async with asyncio.timeout(HONEST_WITHIN):
        reader, writer = await asyncio.open_connection(
            director.address, director.ports["telnet"], local_addr=(local, 0)
        )
        seen = b""

        async def until(text: bytes) -> bytes:
            nonlocal seen
            while text not in seen:
                chunk = await reader.read(4096)
                assert chunk, f"closed before {text!r}: {seen[-500:]!r}"
                seen += chunk
            head, _, seen = seen.partition(text)
            return head

        try:
            await until(b"Username: ")
            writer.write(user.encode() + b"\r")
            await until(b"Password: ")
            writer.write(PASSWORD.encode() + b"\r")
            await until(b"Director#")
            writer.write(command.encode() + b"\r")
            output = await until(b"Director#")
            writer.write(b"exit\r")
        finally:
            writer.close()
    return output.decode(errors="replace")


async def console(director: DirectorProcess, lines: str) -> tuple[int, str, str]:
    """`smartinstall console` with piped lines: (exit status, stdout, stderr), within 5 s."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "smartinstall.cli", "console", "--data-dir",
        str(director.data_dir), cwd=ROOT, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with asyncio.timeout(HONEST_WITHIN):
            out, err = await process.communicate(lines.encode())
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def idle(director: DirectorProcess, port: str, local: str) -> Connection | None:
    """A TCP connection that never logs in (None when the director refused it at once)."""
    try:
        return await asyncio.open_connection(
            director.address, director.ports[port], local_addr=(local, 0)
        )
    except OSError:
        return None


async def until_closed(connection: Connection) -> None:
    """Until the director closes the connection (which then is closed here too)."""
    reader, writer = connection
    try:
        with contextlib.suppress(ConnectionError):
            while await reader.read(65536):
                pass
    finally:
        writer.close()


async def test_idle_connections_do_not_lock_operators_out(director: DirectorProcess) -> None:
    before = director.log()
    # 20 idle connections to each server from one address, then one each from 40 addresses:
    # 120 connections that never log in, where 16 used to lock every front end out
    attack = [await idle(director, port, source(director, 10)) for port in ("ssh", "telnet")
              for _ in range(20)]  # fmt: skip
    attack += [await idle(director, port, source(director, 20 + i)) for i in range(40)
               for port in ("ssh", "telnet")]  # fmt: skip
    connections = [connection for connection in attack if connection is not None]
    assert len(connections) >= 100  # the connections were accepted: they hold (or held) slots
    # the director has taken in every one of them once all but a pool's worth are closed
    # (evicted, or timed out when the machine is slow): the attack now holds every slot
    closing = [asyncio.ensure_future(until_closed(connection)) for connection in connections]
    async with asyncio.timeout(LOGIN_TIMEOUT + 4):
        while sum(task.done() for task in closing) < len(connections) - LOGIN_SLOTS:
            await asyncio.wait(closing, return_when=asyncio.FIRST_COMPLETED)
    started = time.monotonic()
    assert " UTC " in await ssh_command(director, "oper", source(director, 250), "show clock")
    assert " UTC " in await telnet_command(director, "oper", source(director, 251), "show clock")
    status, out, err = await console(director, "show clock\n")
    assert status == 0, err
    assert " UTC " in out
    assert time.monotonic() - started < 3 * HONEST_WITHIN
    # every attacking connection is closed: its slot went to a newcomer, or its login time ran
    # out (2 s here)
    async with asyncio.timeout(LOGIN_TIMEOUT + 4):
        await asyncio.gather(*closing)
    log = director.log()[len(before) :]
    assert "closed before login: its slot went to a newcomer" in log
    assert "not logged in in time" in log
    assert "Traceback" not in log


async def test_sessions_over_the_limit_are_refused_but_not_the_console(
    director: DirectorProcess,
) -> None:
    conns = [
        await ssh(director, "oper", PASSWORD, source(director, 60)) for _ in range(SESSION_LIMIT)
    ]
    try:
        async with await ssh(director, "oper", PASSWORD, source(director, 60)) as extra:
            result = await extra.run("show clock", check=False, timeout=5)
        assert result.exit_status == 1
        assert "% Too many sessions" in str(result.stderr)
        status, _, err = await console(director, "show clock\n")
        assert status == 0, err
    finally:
        for conn in conns:
            conn.close()


async def test_console_refusal_exits_non_zero(director: DirectorProcess) -> None:
    path = director.data_dir / "cli.sock"
    held: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    try:
        for _ in range(16):  # the console pool (CONSOLE_SESSIONS)
            with socket_address(path) as address:
                reader, writer = await asyncio.open_unix_connection(address)
            writer.write(b"SMARTINSTALL-CONSOLE 1 tty 80 24\n")
            async with asyncio.timeout(5):
                await reader.readuntil(b"Director#")
            held.append((reader, writer))
        status, out, err = await console(director, "show clock\n")
        assert status == 2
        assert "% Too many sessions" in err and "UTC" not in out
        # the same on a terminal
        program = PtyProgram(
            [sys.executable, "-m", "smartinstall.cli", "console", "--data-dir",
             str(director.data_dir)]
        )  # fmt: skip
        try:
            program.until("% Too many sessions")
            assert await asyncio.to_thread(program.process.wait, 10) == 2
        finally:
            program.close()
        # one console session ends: the next one gets in
        held.pop()[1].close()
        for _ in range(50):
            status, out, err = await console(director, "show clock\n")
            if status == 0:
                break
            await asyncio.sleep(0.05)
        assert status == 0, err
    finally:
        for _, writer in held:
            writer.close()


async def test_a_failed_login_is_logged_and_sent_to_syslog(
    director: DirectorProcess, syslog: socket.socket
) -> None:
    while True:  # drop what the director sent before
        try:
            syslog.recv(65536)
        except BlockingIOError:
            break
    with pytest.raises(asyncssh.PermissionDenied):
        await ssh(director, "nobody", "guess", source(director, 70))
    expected = re.compile(
        r"%SEC_LOGIN-4-LOGIN_FAILED: Login failed \[user: nobody\] "
        rf"\[Source: {re.escape(source(director, 70))}\] "
        rf"\[localport: {director.ports['ssh']}\] \[Reason: Login Authentication Failed\] "
        r"at \d\d:\d\d:\d\d UTC \w{3} \w{3} \d{1,2} \d{4}"
    )
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(5):
        while True:
            data = (await loop.sock_recv(syslog, 65536)).decode(errors="replace")
            if "LOGIN_FAILED" in data:
                break
    assert expected.search(data), data
    assert data.startswith(f"<{23 * 8 + 4}>1 ")  # local7.warning, RFC 5424
    assert " LOGIN_FAILED - " in data
    assert expected.search(director.log())
    status, out, _ = await console(director, "show logging | include nobody\n")
    assert status == 0 and "%SEC_LOGIN-4-LOGIN_FAILED: Login failed [user: nobody]" in out


def judged_failures(log: str, marker: str) -> int:
    return sum(
        1
        for line in log.splitlines()
        if marker in line and "[Reason: Login Authentication Failed]" in line
        and "%SEC_LOGIN-4-LOGIN_FAILED" in line and "smartinstall.services" in line
    )  # fmt: skip


def most_judged(seconds: float) -> int:
    """Failures the throttle lets be judged in ``seconds``: at 0, 1, 3, 7, 15 … s."""
    return 1 + math.floor(math.log2(seconds + 1))


async def test_guessing_from_rotating_and_parallel_sources_is_throttled(
    director: DirectorProcess,
) -> None:
    workstation = source(director, 240)
    await ssh_command(director, "admin", workstation, "show clock")  # admin's usual address
    before = len(director.log())
    tried = 0

    async def guess(user: str, local: str) -> None:
        nonlocal tried
        tried += 1
        with contextlib.suppress(asyncssh.Error, OSError, TimeoutError):
            conn = await ssh(director, user, f"guess-{tried}", local, timeout=LOGIN_TIMEOUT + 1)
            conn.close()

    async def rotating() -> None:  # admin's password, from a new address each time
        while True:
            await guess("admin", source(director, 100 + tried % 120))

    async def parallel() -> None:  # backup's password, tries at once from one address
        while True:
            await guess("backup", source(director, 99))

    started = time.monotonic()
    attack = [asyncio.ensure_future(rotating()) for _ in range(10)]
    attack += [asyncio.ensure_future(parallel()) for _ in range(10)]
    try:
        await director.await_log("[user: admin]", count=director.log().count("[user: admin]") + 1)
        # while the attack goes on: admin from the workstation it used, oper from a new address,
        # the local console
        assert " UTC " in await ssh_command(director, "admin", workstation, "show clock")
        assert " UTC " in await ssh_command(director, "oper", source(director, 241), "show clock")
        status, _, err = await console(director, "show clock\n")
        assert status == 0, err
        deadline = time.monotonic() + 3
        while tried < 60 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        for task in attack:
            task.cancel()
        await asyncio.gather(*attack, return_exceptions=True)
    elapsed = time.monotonic() - started
    log = director.log()[before:]
    assert tried >= 30
    admin = judged_failures(log, "[user: admin]")
    backup = judged_failures(log, f"[Source: {source(director, 99)}]")
    assert 1 <= admin <= most_judged(elapsed), (admin, elapsed)
    assert 1 <= backup <= most_judged(elapsed), (backup, elapsed)
    assert "Too many login attempts waiting" in log
    assert "Traceback" not in log


def test_login_settings_show_in_the_running_config(director: DirectorProcess) -> None:
    from smartinstall.services.cli_local import run_lines

    output, failed = run_lines(
        director.data_dir / "cli.sock", "show running-config | include ip cli\n"
    )
    assert failed == 0
    assert f"ip cli login-timeout {LOGIN_TIMEOUT}" in output
    assert f"ip cli session-limit {SESSION_LIMIT}" in output


async def test_a_client_that_sends_nothing_is_closed_at_the_login_timeout(
    director: DirectorProcess,
) -> None:
    connection = await idle(director, "telnet", source(director, 80))
    assert connection is not None
    started = time.monotonic()
    async with asyncio.timeout(LOGIN_TIMEOUT + 3):
        await until_closed(connection)
    assert time.monotonic() - started >= LOGIN_TIMEOUT - 0.5
