"""Real terminal programs on a pseudo-terminal: the `telnet` client and `smartinstall console`
on a tty (keys as IOS: `?` at once, Tab completion, Ctrl-C)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.integration.director_harness import ROOT, DirectorProcess
from tests.integration.test_cli_exec import director as exec_director  # noqa: F401
from tests.integration.test_cli_ssh import PASSWORD
from tests.tools import require_program


class PtyProgram:
    def __init__(self, command: list[str]) -> None:
        self.master, slave = pty.openpty()
        os.set_blocking(self.master, False)
        self.process = subprocess.Popen(
            command, stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, start_new_session=True
        )
        os.close(slave)
        self.seen = ""

    def until(self, text: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{text!r} not seen; got {self.seen[-2000:]!r}")
            ready, _, _ = select.select([self.master], [], [], min(remaining, 0.5))
            if ready:
                try:
                    data = os.read(self.master, 65536)
                except OSError:
                    data = b""
                if not data:
                    raise AssertionError(f"closed before {text!r}; got {self.seen[-2000:]!r}")
                self.seen += data.decode("utf-8", errors="replace")
        head, _, self.seen = self.seen.partition(text)
        return head + text

    def send(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        os.close(self.master)


@pytest.fixture
def program() -> Iterator[list[PtyProgram]]:
    started: list[PtyProgram] = []
    yield started
    for item in started:
        item.close()


def test_telnet_client(
    exec_director: DirectorProcess,  # noqa: F811
    program: list[PtyProgram],
) -> None:
    telnet = require_program("telnet")
    client = PtyProgram([telnet, exec_director.address, str(exec_director.ports["telnet"])])
    program.append(client)
    client.until("Username: ")
    client.send("admin\r")
    client.until("Password: ")
    client.send(PASSWORD + "\r")
    client.until("Director>")
    client.send("show vstack ?")  # answered at once, without Enter
    listed = client.until("Director>show vstack ")
    assert "status           show the status of CDP database" in listed
    client.send("sta\t")  # Tab completes the keyword
    client.until("status ")
    client.send("\r")
    assert "SmartInstall: ENABLED" in client.until("Director>")
    client.send("exit\r")
    client.process.wait(timeout=10)


def test_console_on_a_terminal(
    exec_director: DirectorProcess,  # noqa: F811
    program: list[PtyProgram],
) -> None:
    console = PtyProgram(
        [
            sys.executable,
            "-m",
            "smartinstall.cli",
            "console",
            "--data-dir",
            str(exec_director.data_dir),
        ]
    )
    program.append(console)
    console.until("Director#")
    console.send("configure terminal\r")
    console.until("Director(config)#")
    console.send("hostname Half\x03")  # Ctrl-C abandons the line and leaves configuration
    console.until("^C")
    console.until("Director#")
    console.send("show vstack config | include Role\r")
    assert "Role: Director" in console.until("Director#")
    console.send("exit\r")
    assert console.process.wait(timeout=10) == 0
