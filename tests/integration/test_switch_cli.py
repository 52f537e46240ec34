"""`smartinstall switch` as a process against `smartinstall director`, and nmap's service
detection on the emulated switch's port 4786."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from smartinstall.domain.downloads import DownloadStatus
from tests.integration.director_harness import ROOT, free_port, kill_tree, lab_prefix
from tests.integration.switch_harness import director_config, make_director
from tests.tools import require_program

pytestmark = pytest.mark.timeout(120)


@pytest.mark.slow
async def test_switch_command_zero_touch_and_nmap_sees_smart_install(tmp_path: Path) -> None:
    nmap = require_program("nmap")
    prefix = lab_prefix()
    director = make_director(tmp_path, prefix, director_config(prefix), keepalive=1.0)
    director.start()
    mac = "0050.56bb.0001"
    telnet_port = free_port(f"{prefix}.220", socket.SOCK_STREAM)
    command = [
        sys.executable, "-m", "smartinstall.cli", "switch", "--pid", "WS-C2960X-24TS-L",
        "--mac", mac, "--address", f"{prefix}.220",
        "--director", f"{director.address}:{director.ports['smi']}",
        "--flash", str(tmp_path / "flash"), "--smi-port", str(director.ports["client_smi"]),
        "--dhcp-port", str(director.ports["dhcp"]),
        "--dhcp-relay-port", str(director.ports["relay"]),
        "--tftp-port", str(director.ports["tftp"]), "--keepalive", "0.5",
        "--telnet-port", str(telnet_port),
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        await director.await_log("image has upgraded successfully", timeout=20)
        await director.await_log("script has upgraded successfully", timeout=20)
        db = director.database()
        try:
            (entry,) = db.downloads()
            assert (entry.image, entry.config, entry.script) == (DownloadStatus.UPGRADED,) * 3
            device = db.device_by_mac(mac)
            assert device is not None and device.ip
            ip = device.ip
        finally:
            db.close()
        assert (tmp_path / "flash" / "startup-config").read_text().startswith("hostname seed")
        # The switch's listener looks like a Catalyst's to nmap.
        port = director.ports["client_smi"]
        scan = await asyncio.create_subprocess_exec(
            nmap,
            "-sV",
            "-Pn",
            "-n",
            "-p",
            str(port),
            "--version-all",
            ip,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        async with asyncio.timeout(100):
            out, _ = await scan.communicate()
        text = out.decode(errors="replace")
        line = re.search(rf"^{port}/tcp\s+open\s+(\S+)\s+(.*)$", text, re.M)
        assert line, text
        assert line.group(1) == "cisco-smartinstall"
        # its console over telnet, on the switch's own address
        reader, writer = await asyncio.open_connection(f"{prefix}.220", telnet_port)
        await reader.readuntil(b"seed>")
        writer.write(b"enable\r\nshow vstack config\r\n")
        await writer.drain()
        out = await asyncio.wait_for(reader.readuntil(b"address: "), 10)
        assert b"Role: Client (SmartInstall enabled)" in out
        # `no vstack` closes port 4786
        writer.write(b"configure terminal\r\nno vstack\r\nend\r\nshow vstack config\r\n")
        await writer.drain()
        out = await asyncio.wait_for(reader.readuntil(b"(SmartInstall disabled)"), 10)
        writer.close()
        for _ in range(50):
            try:
                probe = socket.create_connection((ip, port), timeout=1)
            except ConnectionRefusedError:
                break
            probe.close()
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("port 4786 still open after no vstack")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            assert process.wait(timeout=10) == 0
        except subprocess.TimeoutExpired:
            kill_tree(process)
            raise
        director.stop()
