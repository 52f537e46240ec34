"""The switch's telnet console on a real socket: typing during zero touch aborts it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from smartinstall.switch.machine import State
from smartinstall.switch.shell import IAC, WILL, TelnetConsole
from tests.unit.switch.test_machine import make, network

pytestmark = pytest.mark.timeout(20)


async def test_typing_on_the_console_during_zero_touch_aborts_it(tmp_path: Path) -> None:
    net = network(lease=None)
    switch = make(tmp_path, net)
    console = TelnetConsole(switch, 0, host="127.0.0.1")
    await console.start()
    switch.power_on()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", console.port)
        head = await reader.readuntil(b"Switch>")
        assert head.startswith(bytes((IAC, WILL, 1)))
        writer.write(b"enable\r\n")
        await writer.drain()
        assert (await reader.readuntil(b"Switch#")).endswith(b"Switch#")
        assert switch.state is State.ABORTED
        assert "%SMI-6-AUTOINSTALL: aborted AUTOINSTALL" in switch.console
        writer.write(b"show vstack config\r\n")
        await writer.drain()
        out = await reader.readuntil(b"Switch#")
        assert b"Role: Client (SmartInstall enabled)" in out
        writer.close()
    finally:
        await console.close()
        await switch.shutdown()
