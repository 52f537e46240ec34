"""The operator's CLI of a real director process, over SSH (asyncssh, OpenSSH, Netmiko)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import asyncssh
import pytest

from smartinstall import __version__
from tests.integration.director_harness import (
    DirectorProcess,
    ScriptedClient,
    free_port,
    lab_prefix,
)
from tests.tools import require_program

PID = "WS-C2960X-48FPS-L"
PASSWORD = "s3cret-Pass"
ENABLE = "en4ble-Pass"


def config(prefix: str, ssh_port: int, extra: str = "") -> str:
    return f"""hostname Director
vstack dhcp-localserver lab
 address-pool {prefix}.0 255.255.255.0
 default-router {prefix}.1
 file-server {prefix}.1
vstack director {prefix}.1
vstack basic
vstack config flash:seed.txt
username admin secret {PASSWORD}
username oper privilege 15 secret {PASSWORD}
enable secret {ENABLE}
ip ssh server port {ssh_port}
ip cli session-limit 30
{extra}"""


def start_director(root: Path, extra: str = "", users: bool = True) -> DirectorProcess:
    prefix = lab_prefix()
    ssh_port = free_port(f"{prefix}.1", socket.SOCK_STREAM)
    text = config(prefix, ssh_port, extra)
    if not users:
        text = "\n".join(line for line in text.splitlines() if not line.startswith("username"))
    process = DirectorProcess(root, prefix, text)
    process.ports["ssh"] = ssh_port
    (process.flash / "seed.txt").write_text("hostname seed\n!\nend\n")
    process.start()
    process.wait_for_log("SSH CLI on")
    return process


@pytest.fixture(scope="module")
def director(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DirectorProcess]:
    process = start_director(tmp_path_factory.mktemp("cli") / "director")
    yield process
    process.stop()


async def connect(
    director: DirectorProcess,
    user: str = "admin",
    password: str = PASSWORD,
    source: str | None = None,
) -> asyncssh.SSHClientConnection:
    """An SSH session to the director (from ``source``, a loopback address, when given)."""
    return await asyncssh.connect(
        director.address,
        director.ports["ssh"],
        username=user,
        password=password,
        known_hosts=None,
        client_keys=None,
        local_addr=(source, 0) if source else None,
    )


class Terminal:
    """An interactive SSH session: send keys, read until a text appears."""

    def __init__(self, process: asyncssh.SSHClientProcess[str]) -> None:
        self.process = process
        self.seen = ""

    async def until(self, text: str, timeout: float = 10.0) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while text not in self.seen:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"{text!r} not seen; got {self.seen[-2000:]!r}")
            chunk = await asyncio.wait_for(self.process.stdout.read(65536), remaining)
            if not chunk:
                raise AssertionError(f"closed before {text!r}; got {self.seen[-2000:]!r}")
            self.seen += chunk
        head, _, self.seen = self.seen.partition(text)
        return head + text

    def send(self, keys: str) -> None:
        self.process.stdin.write(keys)


async def terminal(conn: asyncssh.SSHClientConnection) -> Terminal:
    process = await conn.create_process(term_type="vt100", term_size=(80, 24))
    term = Terminal(process)
    await term.until("Director>")
    return term


async def test_show_vstack_status_over_ssh_shows_a_client_of_the_running_director(
    director: DirectorProcess,
) -> None:
    client = ScriptedClient(director, "0050.5602.0001", PID)
    await client.dhcp()
    director.wait_for_log(
        "%SMI-6-SWITCH_ADD: New Device detected by Director with mac address: 0050.5602.0001"
    )
    async with await connect(director) as conn:
        term = await terminal(conn)
        term.send("terminal length 0\r")
        await term.until("Director>")
        term.send("show vstack status\r")
        output = await term.until("Director>")
        assert "SmartInstall: ENABLED" in output
        assert "0050.5602.0001" in output and PID in output
        assert "\r\n" in output and "\n\n" not in output.replace("\r\n", "")
        # `?` answers at once, without Enter; the line comes back to go on typing
        term.send("show vstack ?")
        help_text = await term.until("Director>show vstack ")
        assert "download-status  show the status of config or image download" in help_text
        term.send("\x15enable\r")
        await term.until("Password: ")
        term.send(ENABLE + "\r")
        await term.until("Director#")
        term.send("show vstack download-status\r")
        output = await term.until("Director#")
        assert "Total no of entries : 1" in output
        term.send("exit\r")
        await asyncio.wait_for(term.process.wait_closed(), 5)


async def test_paging_stops_at_more_and_space_goes_on(director: DirectorProcess) -> None:
    async with await connect(director, "oper") as conn:
        process = await conn.create_process(term_type="vt100", term_size=(80, 10))
        term = Terminal(process)
        await term.until("Director#")  # privilege 15 user
        term.send("show vstack status\r")
        first = await term.until(" --More-- ")
        assert "SmartInstall: ENABLED" in first and "DevNo" not in first
        term.send(" ")
        rest = await term.until("Director#")
        assert "DevNo" in rest and "Director" in rest


async def test_exec_request_runs_the_command_and_ends(director: DirectorProcess) -> None:
    async with await connect(director, "oper") as conn:
        result = await conn.run("show version", check=False, timeout=10)
    assert result.exit_status == 0
    assert f"Version {__version__}," in str(result.stdout)
    assert "Director uptime is" in str(result.stdout)


async def test_wrong_password_is_refused_logged_and_slowed_down(
    director: DirectorProcess,
) -> None:
    for _ in range(2):
        with pytest.raises(asyncssh.PermissionDenied):
            await connect(director, "admin", "wrong")
    log = director.wait_for_log("%SEC_LOGIN-4-LOGIN_FAILED: Login failed [user: admin]", count=1)
    assert "next attempt in 1 s" in log or "next attempt in 2 s" in log
    with pytest.raises(asyncssh.PermissionDenied):
        await connect(director, "nobody", PASSWORD)
    director.wait_for_log("Login failed [user: nobody]")


async def test_wrong_enable_secret_gives_bad_secrets(director: DirectorProcess) -> None:
    async with await connect(director) as conn:
        term = await terminal(conn)
        term.send("enable\r")
        for _ in range(3):
            await term.until("Password: ")
            term.send("not-it\r")
        output = await term.until("Director>")
        assert "% Bad secrets" in output
        term.send("configure terminal\r")  # still user EXEC: the command does not exist
        output = await term.until("Director>")
        assert "% Invalid input detected at '^' marker." in output or "% Unknown command" in output


async def test_twenty_concurrent_sessions(director: DirectorProcess) -> None:
    async def one(index: int) -> str:
        async with await connect(director, "oper") as conn:
            result = await conn.run("show vstack status\nshow clock", check=False, timeout=30)
            return str(result.stdout)

    outputs = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(20))), 60)
    assert all("Director Database:" in out and " UTC " in out for out in outputs)


async def test_session_dropped_mid_command_and_garbage_keep_the_director_serving(
    director: DirectorProcess,
) -> None:
    dead_port = free_port(director.address)
    conn = await connect(director, "oper")
    term = await terminal_privileged(conn)
    # a TFTP copy from a port where nobody answers: the command waits, the client leaves
    term.send(f"copy tftp://{director.address}:{dead_port}/nothing.bin flash:\r")
    await term.until("Destination filename [nothing.bin]? ")
    term.send("\r")
    await term.until("Accessing")
    conn.abort()

    async with await connect(director, "oper") as conn:
        term = await terminal_privileged(conn)
        term.send("\x1b[" * 5000 + "\x1b]0;" + "\x00\x01\x02\xff\xfe" * 2000 + "\x03")
        await term.until("^C\r\nDirector#")
        term.send("x" * (1024 * 1024) + "\r")
        output = await term.until("% Unknown command or computer name", timeout=30)
        assert "\a" in output  # the line stops growing at 2048 characters
        await term.until("Director#")
        term.send("show version\r")
        output = await term.until("Director#")
        assert f"Version {__version__}," in output
        term.send("configure terminal\rvstack-what\rend\r")
        output = await term.until("Director#")
        assert "% Invalid input detected at '^' marker." in output
    # DHCP is still answered meanwhile
    client = ScriptedClient(director, "0050.5602.0099", PID)
    offer, _ = await client.dhcp()
    assert offer.address.startswith(director.prefix)
    assert "Traceback" not in director.log()


async def terminal_privileged(conn: asyncssh.SSHClientConnection) -> Terminal:
    process = await conn.create_process(term_type="vt100", term_size=(80, 24))
    term = Terminal(process)
    await term.until("Director#")
    return term


def authorized_key(director: DirectorProcess, tmp_path: Path) -> Path:
    """A new ed25519 key in the director's ``ssh/authorized_keys``; its private key file."""
    key = asyncssh.generate_private_key("ssh-ed25519")
    private = tmp_path / "id_ed25519"
    private.write_bytes(key.export_private_key())
    private.chmod(0o600)
    (director.data_dir / "ssh" / "authorized_keys").write_bytes(key.export_public_key())
    return private


async def test_openssh_client_with_a_public_key(director: DirectorProcess, tmp_path: Path) -> None:
    require_program("ssh")
    private = authorized_key(director, tmp_path)
    result = await asyncio.to_thread(
        subprocess.run,
        ["ssh", "-i", str(private), "-p", str(director.ports["ssh"]), "-o", "BatchMode=yes",
         "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
         "-o", "IdentitiesOnly=yes", f"oper@{director.address}", "show vstack config"],
        capture_output=True, timeout=30, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Role: Director" in result.stdout
    assert f"Vstack Director IP address: {director.address}" in result.stdout
    # a key for a user name that is not configured is refused
    refused = await asyncio.to_thread(
        subprocess.run,
        ["ssh", "-i", str(private), "-p", str(director.ports["ssh"]), "-o", "BatchMode=yes",
         "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
         "-o", "IdentitiesOnly=yes", f"intruder@{director.address}", "show version"],
        capture_output=True, timeout=30, text=True,
    )  # fmt: skip
    assert refused.returncode != 0


def test_netmiko_drives_the_director(director: DirectorProcess) -> None:
    netmiko = pytest.importorskip("netmiko")
    device = {
        "device_type": "cisco_ios", "host": director.address, "port": director.ports["ssh"],
        "username": "admin", "password": PASSWORD, "secret": ENABLE, "timeout": 20,
        "use_keys": False, "allow_agent": False,
    }  # fmt: skip
    with netmiko.ConnectHandler(**device) as conn:
        conn.enable()
        assert conn.find_prompt() == "Director#"
        # Netmiko's session preparation (Ansible's too) set the terminal up as for IOS
        history = conn.send_command("show history")
        assert "terminal width 511" in history and "terminal length 0" in history
        status = conn.send_command("show vstack status")
        assert "Director Database:" in status
        version = conn.send_command("show version")
        assert f"Version {__version__}," in version
        output = conn.send_config_set(["hostname Netmiko-Lab"])
        assert "Netmiko-Lab(config)#" in output
        assert conn.set_base_prompt() == "Netmiko-Lab"
        saved = conn.save_config()
        assert "[OK]" in saved
        # the vstack lines no command set of the engine takes yet are kept by write memory
        startup = (director.data_dir / "startup-config").read_text()
        assert "hostname Netmiko-Lab" in startup
        assert f"vstack director {director.address}" in startup
        assert "username admin secret 9 $9$" in startup and PASSWORD not in startup
        asked = conn.send_command_timing("clear vstack download-list")
        assert "proceed?[confirm]" in asked
        conn.send_command_timing("\n")
        after = conn.send_command("show vstack download-status")
        assert "Total no of entries : 0" in after
        conn.send_config_set(["hostname Director"])
        conn.set_base_prompt()
        conn.save_config()


async def test_no_user_configured_refuses_every_login(tmp_path: Path) -> None:
    process = start_director(tmp_path / "director", users=False)
    try:
        with pytest.raises(asyncssh.PermissionDenied):
            await connect(process, "admin", PASSWORD)
        log = process.wait_for_log("every login is refused")
        assert "no username is configured" in log
    finally:
        process.stop()
    assert os.path.exists(process.data_dir / "ssh" / "ssh_host_ed25519_key")


async def test_sighup_reads_new_users(tmp_path: Path) -> None:
    process = start_director(tmp_path / "director")
    try:
        with pytest.raises(asyncssh.PermissionDenied):
            await connect(process, "newcomer", "N3w-pass")
        config = process.data_dir / "startup-config"
        config.write_text(config.read_text() + "username newcomer privilege 15 secret N3w-pass\n")
        assert process.process is not None
        process.process.send_signal(signal.SIGHUP)
        process.wait_for_log("configuration reloaded")
        # the login guard slows the address that failed above; the newcomer logs in from
        # another one at once
        other = f"{process.prefix}.9"
        async with await connect(process, "newcomer", "N3w-pass", source=other) as conn:
            result = await conn.run("show running-config | include username", check=False)
        assert "username newcomer privilege 15 secret 9 $9$" in str(result.stdout)
        assert str(result.stdout).count("username admin ") == 1
        process.wait_for_log(f"Login Success [user: newcomer] [Source: {other}]")
    finally:
        process.stop()
