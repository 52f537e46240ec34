"""EXEC commands of a real director process through its three front ends: the local console
(`smartinstall console`), telnet and SSH, against scripted clients on loopback."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import asyncssh
import pytest

from smartinstall.director.daemon import default_tftp_workers
from smartinstall.services.cli_local import run_lines
from smartinstall.services.cli_telnet import IAC, TelnetCodec
from smartinstall.wire.smi import DownloadConfig, DownloadImage
from tests.integration.director_harness import (
    ROOT,
    DirectorProcess,
    ScriptedClient,
    director_preamble,
    free_port,
    lab_prefix,
)
from tests.integration.test_cli_ssh import ENABLE, PASSWORD, Terminal, connect

PID_A = "WS-C2960X-48FPS-L"
PID_B = "WS-C3750X-24P-L"
T = TypeVar("T")
IMAGE = "c2960x-universalk9-tar.152-7.E9.tar"


@pytest.fixture(scope="module")
def director(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DirectorProcess]:
    prefix = lab_prefix()
    address = f"{prefix}.1"
    ssh_port = free_port(address, socket.SOCK_STREAM)
    telnet_port = free_port(address, socket.SOCK_STREAM)
    config = (
        director_preamble(prefix)
        + f"""vstack config flash:seed.txt
username admin secret {PASSWORD}
enable secret {ENABLE}
ip ssh server port {ssh_port}
ip telnet server port {telnet_port}
banner login ^Authorized access only^
"""
    )
    process = DirectorProcess(tmp_path_factory.mktemp("exec") / "director", prefix, config)
    process.ports["ssh"] = ssh_port
    process.ports["telnet"] = telnet_port
    (process.flash / "seed.txt").write_text("hostname seed\n!\nend\n")
    (process.flash / IMAGE).write_bytes(os.urandom(50_000))
    process.start()
    process.wait_for_log("telnet CLI on")
    yield process
    process.stop()


def console(director: DirectorProcess, lines: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smartinstall.cli", "console", "--data-dir",
         str(director.data_dir)],
        input=lines, capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip


async def joined(director: DirectorProcess, mac: str, pid: str) -> ScriptedClient:
    client = ScriptedClient(director, mac, pid)
    await client.dhcp()
    await client.listen()
    await client.hello(f"sw-{mac[-4:]}")
    await director.await_log(f"mac address: {mac}")
    return client


async def received(client: ScriptedClient, kind: type[T]) -> T:
    """The first command of a type the client received (backups requests come too)."""
    for _ in range(200):
        for item in client.commands:
            if isinstance(item.command, kind):
                return item.command
        await asyncio.sleep(0.05)
    raise AssertionError(f"{client.mac}: no {kind.__name__} in {client.commands}")


def test_console_socket_is_private_and_runs_piped_lines(director: DirectorProcess) -> None:
    mode = stat.S_IMODE((director.data_dir / "cli.sock").stat().st_mode)
    assert mode == 0o600
    result = console(
        director, "show vstack config\nshow running-config | include vstack\nfrobnicate\n"
    )
    assert result.returncode == 1  # one line was rejected
    assert "Director#show vstack config\nRole: Director\n" in result.stdout
    assert f"vstack director {director.address}" in result.stdout  # kept from startup-config
    assert "Director#frobnicate\n% Unknown command" in result.stdout


async def test_show_vstack_internal_tells_how_the_director_itself_is_doing(
    director: DirectorProcess,
) -> None:
    client = await joined(director, "0050.5603.0009", PID_A)
    try:
        output, failed = await asyncio.to_thread(
            run_lines, director.data_dir / "cli.sock", "show vstack internal\n"
        )
    finally:
        await client.close()
    assert failed == 0, output
    lines = dict(re.findall(r"^(\S.*?)\s+: (.*)$", output, re.MULTILINE))
    assert re.fullmatch(r"p50 [\d.]+ p99 [\d.]+ max [\d.]+ samples \d+ since start",
                        lines["Event loop lag (ms)"])  # fmt: skip
    assert lines["Director database entries"] == "2"  # the director and the client
    assert lines["Store: SQL on the event loop"] == "0"
    assert lines["Store: failed commits"] == "0"
    # the client's DHCP ACK waited for its entry to be committed: a commit happened
    assert int(lines["Store: commits"].split()[0]) >= 1
    assert lines["TFTP workers"].startswith(f"{default_tftp_workers()} of ")
    assert lines["Background tasks failed"] == "0"


async def test_on_demand_image_and_config_reach_the_clients(
    director: DirectorProcess,
) -> None:
    a = await joined(director, "0050.5603.0001", PID_A)
    b = await joined(director, "0050.5603.0002", PID_A)
    c = await joined(director, "0050.5603.0003", PID_B)
    try:
        result = await asyncio.to_thread(console, director, "show vstack status\n")
        numbers = {}
        for line in result.stdout.splitlines():
            for client in (a, b, c):
                if client.mac in line:
                    numbers[client.mac] = int(line.split()[0])
        assert len(numbers) == 3, result.stdout
        listed = ",".join(str(numbers[x.mac]) for x in (a, b, c))
        result = await asyncio.to_thread(
            console,
            director,
            f"vstack download-image tar flash:{IMAGE} index {listed} NONE reload in 23:30\n"
            f"vstack download-config flash:seed.txt {c.ip} NONE startup\n",
        )
        out = result.stdout
        assert f"% Client {numbers[c.mac]} ({c.ip}): product ID {PID_B} differs from {PID_A}" in out
        assert f"{a.ip}: image download requested" in out
        assert f"{b.ip}: image download requested" in out
        assert f"{c.ip}: config download requested" in out
        image = await received(a, DownloadImage)
        assert (image.reload_hour, image.reload_minute) == (23, 30)
        name = image.imagelist_url.rsplit("/", 1)[1]
        imagelist = director.flash / "vstack" / name
        assert imagelist.read_text().strip() == IMAGE
        await received(b, DownloadImage)
        config = await received(c, DownloadConfig)
        assert not [x for x in c.commands if isinstance(x.command, DownloadImage)]
        assert config.config_url.endswith("/seed.txt")
        status = await asyncio.to_thread(console, director, "show vstack download-status\n")
        assert "image-upgrade" in status.stdout and "config-upgrade" in status.stdout
    finally:
        for client in (a, b, c):
            await client.close()


async def test_clear_and_join_window_commands_confirm_first(
    director: DirectorProcess,
) -> None:
    client = await joined(director, "0050.5603.0010", PID_A)
    await client.close()
    status = await asyncio.to_thread(console, director, "show vstack status\n")
    number = next(int(line.split()[0]) for line in status.stdout.splitlines() if client.mac in line)
    result = await asyncio.to_thread(
        console,
        director,
        f"vstack join-window-status index {number} held\nn\n"
        f"vstack join-window-status index {number} held\n\n"
        f"clear vstack director-db entry {number}\nno\n"
        "show vstack status\n"
        f"clear vstack director-db entry {number}\ny\n"
        "show vstack status\n",
    )
    out = result.stdout
    assert "will change to held. proceed?[confirm]" in out
    assert "% Client is active: only a denied client can be put on hold" in out
    assert (
        "Config backup feature is ON. If IBC is replaced by another switch, that wont get "
        "backup\nconfig file. proceed?[confirm]" in out
    )
    tables = out.split("Director#show vstack status\n")
    assert client.mac in tables[1] and client.mac not in tables[2]


async def test_repository_files_tar_untar_dir_delete_and_copy_tftp(
    director: DirectorProcess,
) -> None:
    folder = director.flash / "configs"
    folder.mkdir(exist_ok=True)
    (folder / "a.cfg").write_text("hostname a\n")
    (folder / "b.cfg").write_text("hostname b\n")
    tftp = director.ports["tftp"]
    result = await asyncio.to_thread(
        console,
        director,
        "vstack tar flash:archive.tar flash:configs\n"
        "vstack untar/table flash:archive.tar\n"
        "vstack untar flash: archive.tar flash:restored\n"
        "dir flash:restored\n"
        f"copy tftp://{director.address}:{tftp}/{IMAGE} flash:\ncopied.tar\n"
        "delete flash:archive.tar\n\n\n"
        "dir flash:\n",
    )
    out = result.stdout
    assert "a.cfg (11 bytes)\nb.cfg (11 bytes)\n" in out
    assert (director.flash / "restored" / "b.cfg").read_text() == "hostname b\n"
    assert "Directory of flash:/restored/" in out
    assert "[OK - 50000 bytes]" in out
    assert (director.flash / "copied.tar").read_bytes() == (director.flash / IMAGE).read_bytes()
    assert not (director.flash / "archive.tar").exists()
    listing = out.split("Director#dir flash:\n")[-1]
    assert "copied.tar" in listing and "archive.tar" not in listing
    # an archive cannot write outside flash:
    result = await asyncio.to_thread(console, director, "vstack untar flash:../../etc.tar\n")
    assert "%Error opening" in result.stdout


async def telnet_login(
    director: DirectorProcess, user: str, password: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, TelnetCodec, str]:
    reader, writer = await asyncio.open_connection(director.address, director.ports["telnet"])
    codec = TelnetCodec()
    seen = ""

    async def until(text: str) -> str:
        nonlocal seen
        while text not in seen:
            data = await asyncio.wait_for(reader.read(4096), 10)
            if not data:
                raise AssertionError(f"closed before {text!r}: {seen!r}")
            seen += codec.decode(data).decode("utf-8", errors="replace")
        return seen

    # a window size (NAWS) as a telnet client sends it
    writer.write(bytes([IAC, 250, 31, 0, 100, 0, 30, IAC, 240]))
    await until("Username: ")
    writer.write(user.encode() + b"\r\n")
    await until("Password: ")
    writer.write(password.encode() + b"\r\n")
    return reader, writer, codec, await until("\n")


async def test_telnet_login_banner_and_commands(director: DirectorProcess) -> None:
    reader, writer, codec, seen = await telnet_login(director, "admin", "wrong")
    text = ""
    while "Username: " not in text:
        text += codec.decode(await asyncio.wait_for(reader.read(4096), 10)).decode()
    assert "% Login invalid" in text
    writer.close()
    assert "Authorized access only" in seen

    reader, writer, codec, seen = await telnet_login(director, "admin", PASSWORD)
    text = ""
    while "Director>" not in text:
        text += codec.decode(await asyncio.wait_for(reader.read(4096), 10)).decode()
    writer.write(b"show vstack status\r\n")
    while "Director Database:" not in text or not text.endswith("Director>"):
        text += codec.decode(await asyncio.wait_for(reader.read(4096), 10)).decode()
    assert "SmartInstall: ENABLED" in text
    writer.write(b"show users\r\n")
    while text.count("Director>") < 3:
        text += codec.decode(await asyncio.wait_for(reader.read(4096), 10)).decode()
    assert "vty" in text and "admin" in text
    writer.write(b"exit\r\n")
    await asyncio.wait_for(reader.read(), 10)
    writer.close()
    director.wait_for_log("Login failed [user: admin]")


async def test_terminal_monitor_shows_log_lines_above_the_prompt(
    director: DirectorProcess,
) -> None:
    conn: asyncssh.SSHClientConnection = await connect(director)
    async with conn:
        process = await conn.create_process(term_type="vt100", term_size=(80, 24))
        term = Terminal(process)
        await term.until("Director>")
        term.send("terminal monitor\r")
        await term.until("Director>")
        term.send("show vst")  # a half-typed line stays under the message
        await term.until("show vst")
        client = ScriptedClient(director, "0050.5603.0020", PID_A)
        await client.dhcp()
        shown = await term.until("Director>show vst")
        assert (
            "%SMI-6-SWITCH_ADD: New Device detected by Director with mac address: "
            "0050.5603.0020" in shown
        )
        term.send("\x15debug vstack all\r")
        await term.until("debug vstack all\r\n")
        output = await term.until("Director>")
        assert "% Invalid input" in output or "% Unknown command" in output  # user EXEC


async def test_on_hold_install_pushes_the_group_files_at_once(tmp_path: Path) -> None:
    prefix = lab_prefix()
    config = f"""hostname Director
vstack dhcp-localserver lab
 address-pool {prefix}.0 255.255.255.0
 default-router {prefix}.1
 file-server {prefix}.1
vstack director {prefix}.1
vstack basic
vstack image flash:{IMAGE}
vstack config flash:seed.txt
no vstack join-window mode
"""
    process = DirectorProcess(tmp_path / "director", prefix, config)
    (process.flash / "seed.txt").write_text("hostname seed\n!\nend\n")
    (process.flash / IMAGE).write_bytes(os.urandom(1000))
    process.start()
    client = ScriptedClient(process, "0050.5603.0030", PID_A)
    try:
        offer, _ = await client.dhcp()
        assert offer.imagelist is None and offer.config is None  # on hold: no files offered
        await client.listen()
        status = await asyncio.to_thread(console, process, "show vstack status\n")
        row = next(line for line in status.stdout.splitlines() if client.mac in line)
        assert row.split()[-1] == "h" or " h" in row
        result = await asyncio.to_thread(
            console,
            process,
            f"vstack on-hold-clients install ipaddr {client.ip}\n"
            f"vstack on-hold-clients install ipaddr {client.ip}\n",
        )
        assert "(0050.5603.0030) allowed to install" in result.stdout
        assert f"{client.ip}: image download requested" in result.stdout
        assert f"{client.ip}: config download requested" in result.stdout
        image = await received(client, DownloadImage)
        name = image.imagelist_url.rsplit("/", 1)[1]
        assert (process.flash / "vstack" / name).read_text().strip() == IMAGE
        config_command = await received(client, DownloadConfig)
        assert config_command.config_url.endswith("/seed.txt")
    finally:
        await client.close()
        process.stop()


async def test_dhcp_logging_and_clock_views(director: DirectorProcess) -> None:
    client = ScriptedClient(director, "0050.5603.0040", PID_A)
    await client.dhcp()
    await director.await_log("mac address: 0050.5603.0040")
    result = await asyncio.to_thread(
        console,
        director,
        "show ip dhcp binding\nshow ip dhcp pool\nshow dhcp server\n"
        "show logging | include 0050.5603.0040\nshow clock\nshow users\n",
    )
    out = result.stdout
    binding = next(line for line in out.splitlines() if line.startswith(client.ip + " "))
    assert "0050.5603.0040" in binding and binding.endswith("Automatic")
    assert "Pool lab :" in out and "Total addresses                : 254" in out
    assert f"DHCP server: {director.address} port {director.ports['dhcp']}" in out
    assert (
        "%SMI-6-SWITCH_ADD: New Device detected by Director with mac address: 0050.5603.0040" in out
    )
    assert " UTC " in out.split("Director#show clock\n")[1].splitlines()[0]
    assert "con 0" in out.split("Director#show users\n")[1]


def test_shell_with_a_data_dir_configures_the_running_director(director: DirectorProcess) -> None:
    # `smartinstall shell` without --config reaches the running director; a configuration
    # change there takes effect in the running director (here: the join window closes).
    result = subprocess.run(
        [sys.executable, "-m", "smartinstall.cli", "shell", "--data-dir", str(director.data_dir)],
        input="configure terminal\nvstack join-window close\nend\nshow vstack config\n",
        capture_output=True, text=True, timeout=60, check=False, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "    Window: Closed" in result.stdout
    director.wait_for_log("SMI_JOIN_WINDOW_MESSAGE: SMI Join window End", timeout=10)
