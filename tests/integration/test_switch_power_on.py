"""An emulated switch from power-on, driven from outside: port 4786 is open before DHCP has
answered (IOS with client mode on), so `smartinstall probe` and nmap see it; `smartinstall
switch --address A` asks DHCP for A; during a zero touch the switch keeps its keepalives going
while it downloads, so the director does not mark it Inactive mid-download."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from smartinstall.domain.devices import Health
from smartinstall.switch.machine import Faults, State
from smartinstall.wire.dhcp import DhcpPacket, MessageType, Opt
from tests.integration.director_harness import ROOT, free_port, kill_tree, lab_prefix
from tests.integration.switch_harness import IMAGE, director_config, make_director, make_switch
from tests.tools import find_program

pytestmark = pytest.mark.timeout(60)


async def _run(*command: str, timeout: float = 30.0) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *command, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    async with asyncio.timeout(timeout):
        out, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace")


async def test_standalone_switch_listens_before_dhcp_and_asks_for_its_address(
    tmp_path: Path,
) -> None:
    # A "director" whose DHCP port takes requests and never answers: the switch keeps asking,
    # and its port 4786 is open all the while.
    prefix = lab_prefix()
    address = f"{prefix}.77"
    dhcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dhcp.bind((f"{prefix}.1", 0))
    dhcp.setblocking(False)
    dhcp_port = dhcp.getsockname()[1]
    smi_port = free_port(address, socket.SOCK_STREAM)
    command = [
        sys.executable, "-m", "smartinstall.cli", "switch", "--pid", "WS-C2960X-24TS-L",
        "--mac", "0050.56bb.0077", "--address", address, "--director", f"{prefix}.1",
        "--flash", str(tmp_path / "flash"), "--smi-port", str(smi_port),
        "--dhcp-port", str(dhcp_port), "--dhcp-relay-port", str(free_port(address)),
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(20):
            while True:
                data, _ = await loop.sock_recvfrom(dhcp, 65535)
                discover = DhcpPacket.decode(data)
                if discover.message_type == MessageType.DISCOVER:
                    break
        # it asks for its own address (RFC 2131 4.4.1), as the lab's switches do
        assert discover.get(Opt.REQUESTED_IP) == socket.inet_aton(address)
        assert discover.giaddr == socket.inet_aton(address)
        # DHCP has not answered: the port is open, and answers as a Smart Install client does
        code, out = await _run(
            sys.executable, "-m", "smartinstall.cli", "probe", address,
            "--port", str(smi_port), "--timeout", "3",
        )  # fmt: skip
        assert (code, out) == (
            0,
            f"{address}:{smi_port}: Smart Install client (replied with the 24-byte client reply)\n",
        )
        nmap = find_program("nmap")
        if nmap is not None:
            code, out = await _run(nmap, "-Pn", "-n", "-sT", "-p", str(smi_port), address)
            assert f"{smi_port}/tcp open" in out, out
        assert process.poll() is None
    finally:
        kill_tree(process)
        dhcp.close()


async def test_keepalives_go_on_while_the_zero_touch_downloads(tmp_path: Path) -> None:
    # The director (keepalive period 1 s) marks a client Inactive after three missed periods.
    # The switch says hello, then takes over four seconds to download (each TFTP fetch waits
    # 1.4 s): its keepalives keep it Active throughout, and it installs.
    prefix = lab_prefix()
    director = make_director(tmp_path, prefix, director_config(prefix), keepalive=1.0)
    director.start()
    switch = make_switch(director, tmp_path, 91, faults=Faults(tftp_delay=1.4))
    try:
        switch.power_on()
        assert await switch.wait_for(lambda s: s.state is State.DOWNLOADING, 15)
        assert await switch.wait_for(lambda s: s.state is State.RUNNING and s.boots >= 2, 30), (
            switch.state,
            switch.console,
        )
        assert switch.image == IMAGE
        assert f"SWITCH_REMOVE: Device {switch.mac}" not in director.log()
        db = director.database()
        try:
            device = db.device_by_mac(switch.mac)
            assert device is not None and device.health is Health.ACTIVE
        finally:
            db.close()
    finally:
        await switch.shutdown()
        director.stop()
