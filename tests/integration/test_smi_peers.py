"""Real programs as peers: nmap's service detection identifies the emulated client listener, and
the public command layouts drive a legacy client's TFTP read and write against tftp-hpa
(``in.tftpd``, with ``curl`` as the TFTP client); with authentication on, nothing moves."""

from __future__ import annotations

import asyncio
import re
import shlex
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from smartinstall.services.smi import (
    CommandReceived,
    SmiClientListener,
    SmiLimits,
    SmiSecurity,
    send_command,
)
from smartinstall.wire.smi import BackupConfig, DownloadConfig, DownloadImage
from tests.tools import require_program

from .test_smi_services import exchange


@pytest.mark.slow
async def test_nmap_identifies_the_client_listener() -> None:
    nmap = require_program("nmap")
    async with SmiClientListener(lambda event: None, port=0) as listener:
        port = listener.port
        proc = await asyncio.create_subprocess_exec(
            nmap,
            "-sV",
            "-Pn",
            "-n",
            "-p",
            str(listener.port),
            "--version-all",
            "127.0.0.1",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        async with asyncio.timeout(120):
            out, _ = await proc.communicate()
    text = out.decode(errors="replace")
    line = re.search(rf"^{port}/tcp\s+open\s+(\S+)\s+(.*)$", text, re.M)
    assert line, text
    assert line.group(1) == "cisco-smartinstall"
    assert "Cisco Switch Smart Install" in line.group(2)


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
async def tftpd(tmp_path: Path) -> AsyncIterator[tuple[int, Path]]:
    server = require_program("in.tftpd")
    require_program("curl")
    root = tmp_path / "tftpboot"
    root.mkdir()
    (root / "SwitchA.cfg").write_text("hostname SwitchA\nend\n")
    (root / "imagelist.txt").write_text("c2960-lanbasek9-tar.150-2.SE.tar")
    port = _free_udp_port()
    proc = await asyncio.create_subprocess_exec(
        server,
        "-L",
        "-a",
        f"127.0.0.1:{port}",
        "-c",
        "-p",
        "-u",
        "root",
        "-s",
        str(root),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    await asyncio.sleep(0.3)
    if proc.returncode is not None:
        err = (await proc.stderr.read()).decode() if proc.stderr else ""
        pytest.skip(f"in.tftpd did not start (needs root for -s): {err.strip()}")
    try:
        yield port, root
    finally:
        proc.terminate()
        await proc.wait()


class LegacySwitch:
    """The least a legacy client does with a command: fetch or upload by TFTP (curl)."""

    def __init__(self, flash: Path) -> None:
        self.flash = flash
        self.done: asyncio.Queue[str] = asyncio.Queue()

    async def __call__(self, event: CommandReceived) -> None:
        command = event.command
        if isinstance(command, DownloadConfig):
            await self._curl("-o", str(self.flash / "startup-config"), command.config_url)
            self.done.put_nowait("config")
        elif isinstance(command, DownloadImage):
            await self._curl("-o", str(self.flash / "imagelist"), command.imagelist_url)
            self.done.put_nowait("imagelist")
        elif isinstance(command, BackupConfig):
            for line in command.active_commands:
                words = shlex.split(line)
                if words[:1] == ["copy"] and words[2].startswith("tftp://"):
                    await self._curl("-T", str(self.flash / "startup-config"), words[2])
            self.done.put_nowait("backup")

    async def _curl(self, *args: str) -> None:
        proc = await asyncio.create_subprocess_exec("curl", "-s", "--max-time", "5", *args)
        assert await proc.wait() == 0


async def test_commands_drive_tftp_read_and_write(tftpd: tuple[int, Path], tmp_path: Path) -> None:
    port, root = tftpd
    flash = tmp_path / "flash"
    flash.mkdir()
    switch = LegacySwitch(flash)
    base = f"tftp://127.0.0.1:{port}"
    async with SmiClientListener(switch, port=0) as listener:
        # the same layouts as the shared vectors, pointed at the loopback TFTP server
        await send_command(
            "127.0.0.1", listener.port, DownloadConfig.at(f"{base}/SwitchA.cfg", 0, 1)
        )
        assert await asyncio.wait_for(switch.done.get(), 10) == "config"
        assert (flash / "startup-config").read_text() == "hostname SwitchA\nend\n"

        await send_command("127.0.0.1", listener.port, DownloadImage.now(f"{base}/imagelist.txt"))
        assert await asyncio.wait_for(switch.done.get(), 10) == "imagelist"
        assert (flash / "imagelist").read_text() == "c2960-lanbasek9-tar.150-2.SE.tar"

        backup = BackupConfig.of(f"copy nvram:startup-config {base}/SwitchA-0018.7363.4200.REV2")
        await send_command("127.0.0.1", listener.port, backup)
        assert await asyncio.wait_for(switch.done.get(), 10) == "backup"
        assert (root / "SwitchA-0018.7363.4200.REV2").read_text() == "hostname SwitchA\nend\n"


async def test_authenticated_switch_moves_nothing(tftpd: tuple[int, Path], tmp_path: Path) -> None:
    port, root = tftpd
    flash = tmp_path / "flash"
    flash.mkdir()
    switch = LegacySwitch(flash)
    base = f"tftp://127.0.0.1:{port}"
    security = SmiSecurity.from_config("lab-key-0123456789")
    mac = "0018.7363.4200"  # the switch's identity: an authenticated command names it
    async with SmiClientListener(
        switch, port=0, security=security, limits=SmiLimits(read_timeout=1), identity=mac
    ) as listener:
        attacks = [
            DownloadConfig.at(f"{base}/SwitchA.cfg", 0, 1),
            DownloadImage.now(f"{base}/imagelist.txt"),
            BackupConfig.of(f"copy nvram:startup-config {base}/stolen.cfg"),
        ]
        for attack in attacks:
            reply, _ = await exchange(listener.port, attack.encode())
            assert reply == b""
        await asyncio.sleep(0.5)
        assert switch.done.empty()
        assert not (flash / "startup-config").exists()
        assert not (root / "stolen.cfg").exists()
        # the director holding the key is obeyed
        await send_command("127.0.0.1", listener.port, attacks[0], security, recipient=mac)
        assert await asyncio.wait_for(switch.done.get(), 10) == "config"
