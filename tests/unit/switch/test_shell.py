"""The switch's IOS shell on the command engine; the telnet option parser."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartinstall.ios import PRIVILEGED_LEVEL
from smartinstall.switch.machine import State
from smartinstall.switch.shell import IAC, make_engine, strip_telnet
from tests.unit.switch.test_machine import DIRECTOR, IMAGE, make, network, up

pytestmark = pytest.mark.timeout(20)


async def test_show_commands_and_configuration(tmp_path: Path) -> None:
    net = network()
    switch = make(tmp_path, net)
    await up(switch)
    session = make_engine(switch).session(level=PRIVILEGED_LEVEL)
    assert session.prompt() == "STORE-01.0020#"
    version = session.run("show version")
    assert "Version 15.2(7)E9" in version and f'"flash:{IMAGE}"' in version
    assert "Model number                    : WS-C2960X-48FPS-L" in version
    # a Catalyst's show version names the VID of its UDI (guide, chapter 4, "SMI Proxy and
    # Tailored Configuration Files": PID, VID and SN are read from it)
    assert "Version ID                      : V01" in version
    assert session.run("show vstack config") == (
        "Role: Client (SmartInstall enabled)\nVstack Director IP address: 10.0.0.1\n"
    )
    session.run("configure terminal")
    session.run("hostname branch-7")
    assert session.prompt() == "branch-7(config)#"
    session.run("no vstack")
    await asyncio.sleep(0.05)
    assert not net.listening and not switch.flash_state.vstack_enabled
    session.run("end")
    assert "(SmartInstall disabled)" in session.run("show vstack config")
    running = session.run("show running-config")
    assert "hostname branch-7\n" in running and "no vstack\n" in running
    session.run("write memory")
    await asyncio.sleep(0.05)
    startup = switch.flash.startup_config() or ""
    assert "hostname branch-7" in startup and "no vstack" in startup
    session.run("configure terminal")
    session.run(f"vstack director {DIRECTOR}")
    await asyncio.sleep(0.05)
    assert net.listening and switch.flash_state.vstack_enabled
    assert f"vstack director {DIRECTOR}" in session.run("do show running-config")
    assert "no vstack" not in session.run("do show running-config")
    session.run("end")
    session.run("write erase")
    assert switch.flash.startup_config() is None
    session.run("reload")
    assert await switch.wait_for(lambda s: s.boots >= 4 and s.state is State.RUNNING, 5)
    await switch.shutdown()


def test_strip_telnet() -> None:
    text, replies = strip_telnet(
        bytes((IAC, 253, 24))
        + b"ab"
        + bytes((IAC, IAC))
        + bytes((IAC, 250, 31, 0, 80, IAC, 240))
        + b"c"
    )
    assert text == b"ab\xffc"
    assert replies == bytes((IAC, 252, 24))
    assert strip_telnet(bytes((IAC,))) == (b"", b"")


@given(st.binary(max_size=300))
def test_strip_telnet_never_fails(data: bytes) -> None:
    text, replies = strip_telnet(data)
    assert len(text) <= len(data)
    assert len(replies) % 3 == 0 and replies[::3] == bytes([IAC]) * (len(replies) // 3)
