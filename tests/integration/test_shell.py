"""`smartinstall shell`: piped like commands into a switch, and typed in a real terminal."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tools import require_program

SHELL = [sys.executable, "-m", "smartinstall.cli", "shell"]


def run_piped(config: Path, commands: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SHELL, "--config", str(config)],
        input=commands,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_piped_commands_print_prompt_echo_and_output(tmp_path: Path) -> None:
    config = tmp_path / "director.cfg"
    result = run_piped(
        config,
        "enable\nconf t\nhostname IBD\nhostnme x\nend\n"
        "show running-config | include host\nwrite memory\nexit\n",
    )
    assert result.stdout == (
        "Director>enable\n"
        "Director#conf t\n"
        "Enter configuration commands, one per line.  End with CNTL/Z.\n"
        "Director(config)#hostname IBD\n"
        "IBD(config)#hostnme x\n"
        "                 ^\n"
        "% Invalid input detected at '^' marker.\n\n"
        "IBD(config)#end\n"
        "IBD#show running-config | include host\n"
        "hostname IBD\n"
        "IBD#write memory\n"
        "Building configuration...\n"
        "[OK]\n"
        "IBD#exit\n"
    )
    assert result.returncode == 1  # one line was rejected
    assert config.read_text() == "!\nhostname IBD\n!\nend\n"
    # the saved file is replayed at the next start
    again = run_piped(config, "show running-config\n")
    assert again.stdout.startswith("IBD>")
    assert again.returncode == 1  # show running-config needs enable


def test_piped_replay_errors_name_the_line(tmp_path: Path) -> None:
    config = tmp_path / "director.cfg"
    config.write_text("hostname A\ngobble now\nhostname B\n")
    result = run_piped(config, "")
    assert f"% {config} line 2, column 1: gobble now: % Invalid input" in result.stderr
    assert result.returncode == 0


class Tmux:
    def __init__(self, socket: str) -> None:
        self.socket = socket

    def __call__(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return done.stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "shell")

    def wait_for(self, text: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not on screen:\n{screen}")

    def type(self, text: str) -> None:
        self("send-keys", "-t", "shell", "-l", text)

    def key(self, *keys: str) -> None:
        self("send-keys", "-t", "shell", *keys)


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    require_program("tmux")
    terminal = Tmux(f"smartinstall-test-{os.getpid()}")
    yield terminal
    terminal("kill-server")


@pytest.mark.needs_tool
def test_shell_in_a_real_terminal(tmux: Tmux, tmp_path: Path) -> None:
    config = tmp_path / "director.cfg"
    command = " ".join([*SHELL, "--config", str(config)])
    tmux("new-session", "-d", "-x", "100", "-y", "30", "-s", "shell", command)
    tmux("set-option", "-t", "shell", "remain-on-exit", "on")
    tmux.wait_for("Director>")
    tmux.type("enable")
    tmux.key("Enter")
    tmux.wait_for("Director#")
    tmux.type("show ?")  # answered at once, without Enter
    tmux.wait_for("running-config  Current operating configuration")
    screen = tmux.wait_for("\nDirector#show")  # the line comes back to go on typing
    assert screen.rstrip().splitlines()[-1] == "Director#show"
    tmux.key("C-u")
    tmux.type("conf t")
    tmux.key("Enter")
    tmux.type("hostname Lab")
    tmux.key("Enter")
    tmux.wait_for("Lab(config)#")
    tmux.key("C-z")
    tmux.wait_for("^Z")
    tmux.type("sh")
    tmux.key("Tab")
    tmux.type("ru")
    tmux.key("Tab")
    screen = tmux.wait_for("Lab#show running-config")
    tmux.key("Enter")
    screen = tmux.wait_for("hostname Lab")
    tmux.type("write memory")
    tmux.key("Enter")
    tmux.wait_for("[OK]")
    assert "hostname Lab" in config.read_text()
    tmux.type("show running-config")
    tmux.key("Up")  # history: the previous command replaces the line
    tmux.wait_for("Lab#write memory")
    tmux.key("C-u")
    tmux.type("exit")
    tmux.key("Enter")
    deadline = time.monotonic() + 10
    while tmux("list-panes", "-t", "shell", "-F", "#{pane_dead}").strip() != "1":
        assert time.monotonic() < deadline, "the shell did not end on exit"
        time.sleep(0.05)
    status = tmux("list-panes", "-t", "shell", "-F", "#{pane_dead_status}").strip()
    assert status in ("0", "")  # older tmux versions do not report the status
