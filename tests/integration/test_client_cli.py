"""The director on its clients' command lines: ``show vstack client`` and ``vstack attach``
against an emulated switch's real telnet console (guide: "Connecting to a Client Switch",
"Establishing a Remote Client Session")."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from smartinstall.domain.devices import Device, DeviceType
from smartinstall.domain.groups import CustomGroup, GroupKind
from smartinstall.ios import Session
from smartinstall.services.cli_terminal import TerminalIO, attach
from smartinstall.services.telnet_client import ClientCliError, run_on_client
from smartinstall.switch.shell import TelnetConsole
from tests.integration.director_harness import lab_prefix
from tests.unit.director.test_exec_commands import Host, host, privileged  # noqa: F401
from tests.unit.switch.test_machine import make, network

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[tuple[TelnetConsole, str]]:
    address = f"{lab_prefix()}.10"
    switch = make(tmp_path / "sw", network(lease=None))
    server = TelnetConsole(switch, 0, host=address)
    await server.start()
    yield server, address
    await server.close()
    await switch.shutdown()


def on_client(host: Host, console: tuple[TelnetConsole, str]) -> tuple[Session, Device, str]:  # noqa: F811
    """A privileged director session that knows the console's switch as a client."""
    server, address = console
    host.client_telnet_port = server.port  # type: ignore[attr-defined]
    device = host.db.upsert_device(
        Device(0, "0050.5600.0031", pid="WS-C2960X-48FPS-L", ip=address, hop=1,
               device_type=DeviceType.SMART_INSTALL)
    )  # fmt: skip
    _, session = privileged(host)
    return session, device, address


async def test_show_vstack_client_runs_the_command_on_the_client(
    host: Host,  # noqa: F811
    console: tuple[TelnetConsole, str],
) -> None:
    session, device, address = on_client(host, console)
    assert session.run(f"show vstack client {device.number} NONE version") == ""
    out = await session.settle()
    assert out.startswith(f"Client {device.number} ({address}, 0050.5600.0031):\n")
    assert "Cisco IOS Software" in out or "Version" in out
    assert "Switch#" not in out  # the client's prompt is not part of the output
    assert session.run("show vstack client 99 NONE version").startswith("% No client 99")


async def test_show_vstack_client_group_forms_reach_the_group_members(
    host: Host,  # noqa: F811
    console: tuple[TelnetConsole, str],
) -> None:
    # Command reference, show vstack: "show vstack client {1 | client_ip_address | all | group
    # {built-in product_family port_config chassis_config| custom group_name} client-password
    # {running-config | tech-support | version}}".
    session, device, address = on_client(host, console)
    assert session.run("show vstack client group built-in 2960x 48poe-4sfp-lb NONE version") == ""
    out = await session.settle()
    assert out.startswith(f"Client {device.number} ({address}, 0050.5600.0031):\n")
    assert "Version" in out

    pharmacy = CustomGroup("pharmacy", GroupKind.MAC)
    pharmacy.add_match(["mac", "0050.5600.0031"])
    host.settings.groups.custom["pharmacy"] = pharmacy
    assert session.run("show vstack client group custom pharmacy NONE running-config") == ""
    out = await session.settle()
    assert out.startswith(f"Client {device.number} ({address}, 0050.5600.0031):\n")
    assert "hostname" in out

    assert session.run("show vstack client group custom nosuch NONE version") == (
        "% Custom group nosuch is not configured\n"
    )
    assert session.run("show vstack client group built-in 3750 24poe NONE version") == (
        "% No client of this built-in group in the director database\n"
    )
    assert session.run("show vstack client group built-in 2960x NONE version").startswith(
        "% Usage: show vstack client group built-in"
    )
    assert session.run(
        "show vstack client group built-in 2960x 48poe-4sfp-lb NONE bogus"
    ).startswith("% Usage: show vstack client group built-in")


async def test_unreachable_client_gets_a_clear_message() -> None:
    with pytest.raises(ClientCliError, match="cannot connect"):
        await run_on_client(f"{lab_prefix()}.10", 9, "show version", timeout=3)


class Keys(TerminalIO):
    """A terminal that types lines and collects what is written."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.out: list[str] = []

    async def read(self) -> str:
        await asyncio.sleep(0.2)
        return self.lines.pop(0) if self.lines else ""

    def write(self, text: str) -> None:
        self.out.append(text)

    def text(self) -> Any:
        return "".join(self.out)


async def test_attach_puts_the_terminal_on_the_client(console: tuple[TelnetConsole, str]) -> None:
    server, address = console
    keys = Keys(["enable\r", "show vstack config\r", "exit\r"])
    await attach(keys, address, server.port)
    text = keys.text()
    assert text.startswith(f"Trying {address} ... Open\r\n")
    assert "Role: Client (SmartInstall enabled)" in text
    assert text.endswith(f"[Connection to {address} closed by foreign host]\r\n")


def test_attach_help_lists_the_active_clients(host: Host) -> None:  # noqa: F811
    # Guide, "Connecting to a Client Switch": "Director# vstack attach ?" lists
    # " 1      c3750-2042 @ IP 10.0.0.1 : MAC 0000.0040.4080" then "A.B.C.D IP address of …".
    host.db.upsert_device(
        Device(0, "0000.0040.4080", pid="WS-C3750-24PS-S", ip="10.0.0.1", hostname="c3750-2042",
               hop=1, device_type=DeviceType.SMART_INSTALL)
    )  # fmt: skip
    host.db.upsert_device(
        Device(0, "0000.000c.0d80", pid="WS-C3750-24PS-S", ip="10.0.0.2", hostname="c3750-2045",
               hop=1, device_type=DeviceType.SMART_INSTALL)
    )  # fmt: skip
    _, session = privileged(host)
    out = session.run("vstack attach ?")
    assert out.splitlines()[:3] == [
        "  1        c3750-2042 @ IP 10.0.0.1 : MAC 0000.0040.4080",
        "  2        c3750-2045 @ IP 10.0.0.2 : MAC 0000.000c.0d80",
        "  A.B.C.D  IP address of remote node to attempt attaching to",
    ]
