"""Terminal access: type 9 secrets, the access lines, the login guard, the telnet codec."""

from __future__ import annotations

import asyncio
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartinstall.ios import Engine
from smartinstall.services.cli_auth import (
    CliAccess,
    LoginGuard,
    hash_secret,
    is_access_line,
    valid_hash,
    verify_secret,
)
from smartinstall.services.cli_telnet import IAC, NAWS, SB, SE, TelnetCodec, escape
from smartinstall.services.cli_terminal import TerminalHub, TerminalIO, run_terminal

# hashcat's example of mode 9300 (Cisco-IOS $9$, scrypt), password "hashcat"
CISCO_TYPE9 = "$9$2MJBozw/9R3UsU$2lFhcKvpghcyw8deP25GOfyZaagyUOGBymkryvOdfo6"


def test_type9_hashes_are_cisco_compatible() -> None:
    assert hash_secret("hashcat", "2MJBozw/9R3UsU") == CISCO_TYPE9
    assert verify_secret("hashcat", CISCO_TYPE9)
    assert not verify_secret("hashcaT", CISCO_TYPE9)
    fresh = hash_secret("x")
    assert valid_hash(fresh) and fresh != hash_secret("x")  # a new salt each time
    assert not valid_hash("$9$short$hash") and not verify_secret("x", "plain")


def test_access_lines_render_hashes_only_and_replay_the_same() -> None:
    engine = Engine(hostname="D")
    access = engine.add(CliAccess())
    assert isinstance(access, CliAccess)
    session = engine.session(level=15)
    session.run("configure terminal")
    for line in (
        "username admin secret Pa55word",
        "username op privilege 15 secret 9 " + CISCO_TYPE9,
        "enable secret 0 en",
        "ip ssh server port 2222",
        "ip telnet server port 2323",
        "ip cli session-limit 4",
        "ip cli idle-timeout 0",
        "banner login #Lab director#",
    ):
        assert session.execute(line).ok, line
    text = engine.running_config()
    assert "Pa55word" not in text and "enable secret 9 $9$" in text
    assert f"username op privilege 15 secret 9 {CISCO_TYPE9}" in text
    assert access.check_user("admin", "Pa55word") is not None
    assert access.check_user("admin", "wrong") is None and access.check_user("x", "y") is None
    assert access.check_enable("en") and not access.check_enable("EN")
    assert (access.ssh_port, access.telnet_port, access.session_limit) == (2222, 2323, 4)
    assert access.idle_seconds is None and access.banner == "Lab director"
    again = Engine(hostname="D")
    again.add(CliAccess())
    assert again.replay(text).ok
    assert again.running_config() == text
    assert session.execute("username bad secret 9 $9$nothash").output.startswith("% Invalid")
    session.run("no username admin")
    assert access.check_user("admin", "Pa55word") is None


def test_no_enable_secret_means_enable_is_refused() -> None:
    access = CliAccess()
    assert not access.check_enable("")


def test_access_lines_are_recognised_for_the_director_reader() -> None:
    for line in (
        "username a secret b",
        "no username a",
        "enable secret x",
        "ip cli idle-timeout 3",
        "ip ssh server port 22",
        "banner login ^x^",
    ):
        assert is_access_line(line)
    for line in ("ip helper-address 10.0.0.1", "vstack basic", "ip dhcp remember", ""):
        assert not is_access_line(line)


def test_login_guard_doubles_the_wait_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    guard = LoginGuard(cap=8.0, first=1.0)
    with caplog.at_level(logging.WARNING):
        guard.failed("127.0.0.9", "admin\x1b[2J", 22, "Login Authentication Failed")
        first = guard.delay("127.0.0.9")
        guard.failed("127.0.0.9", "admin", 22, "Login Authentication Failed")
        second = guard.delay("127.0.0.9")
    assert 0 < first <= 1.0 < second <= 2.0
    assert (
        "%SEC_LOGIN-4-LOGIN_FAILED: Login failed [user: admin?[2J] [Source: 127.0.0.9]"
        in caplog.text
    )
    assert guard.delay("127.0.0.8") == 0
    guard.succeeded("127.0.0.9", "admin", 22)
    assert guard.delay("127.0.0.9") == 0


def test_telnet_codec_takes_data_window_size_and_refuses_options() -> None:
    codec = TelnetCodec()
    data = codec.decode(
        b"ab"
        + bytes([IAC, IAC])
        + bytes([IAC, SB, NAWS, 0, 120, 0, 40, IAC, SE])
        + bytes([IAC, 253, 24])
        + b"c"
    )
    assert data == b"ab\xffc"
    assert codec.size == (120, 40)
    assert codec.take_replies() == bytes([IAC, 252, 24])  # DO TERMINAL-TYPE: WONT
    assert escape("\xff") == "\xff".encode().replace(b"\xff", b"\xff\xff")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=8))
def test_telnet_codec_never_fails_on_any_bytes(chunks: list[bytes]) -> None:
    codec = TelnetCodec()
    total = 0
    for chunk in chunks:
        total += len(codec.decode(chunk))
        codec.take_replies()
    assert total <= sum(len(c) for c in chunks)
    assert len(codec.sub) <= 64


class QueueIO(TerminalIO):
    """A terminal whose keys come from a queue (the transports' side of run_terminal)."""

    def __init__(self) -> None:
        self.keys: asyncio.Queue[str] = asyncio.Queue()
        self.shown = ""

    async def read(self) -> str:
        return await self.keys.get()

    def write(self, text: str) -> None:
        self.shown += text


class QuickIdle(CliAccess):
    @property
    def idle_seconds(self) -> float | None:
        return 0.2


async def test_idle_sessions_end_and_the_limit_refuses_more() -> None:
    engine = Engine(hostname="D")
    access = QuickIdle()
    engine.add(access)
    access.session_limit = 1
    hub = TerminalHub(engine, access)
    assert hub.admit("test", "127.0.0.1") and not hub.admit("test", "127.0.0.2")
    hub.release()
    io = QueueIO()
    io.keys.put_nowait("terminal length 0\r")
    await asyncio.wait_for(run_terminal(hub, io, kind="vty", user="u", peer="p", level=1), 5)
    assert io.shown.startswith("D>terminal length 0\r\nD>")
    assert io.shown.endswith("% Session idle timeout\r\n")
    io = QueueIO()
    io.keys.put_nowait("exit\r")
    await asyncio.wait_for(run_terminal(hub, io, kind="vty", user="u", peer="p", level=1), 5)
    assert io.shown == "D>exit\r\n"
