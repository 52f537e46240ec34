"""A director configuration that carries the terminals' lines — the access lines (``username``,
``enable secret``, ``ip ssh server port``) and the configuration archive that NAPALM asks of
an IOS device (``archive`` / ``path`` / ``maximum`` / ``write-memory``, ``file prompt quiet``,
``ip scp server enable``) — read offline: ``smartinstall explain`` reports none of them as
rejected, and ``smartinstall shell`` keeps them in ``show running-config`` and ``write
memory``. The ``vstack`` lines are the guide's (chapter 3, "Configuring the Director")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from smartinstall.services.cli_auth import without_terminal_lines
from tests.integration.test_shell import run_piped

ROOT = Path(__file__).resolve().parents[2]
TERMINAL_LINES = """username admin privilege 15 secret 0 lab-pass
enable secret 0 lab-enable
ip ssh server port 2222
archive
 path flash:archive
 maximum 5
 write-memory
file prompt quiet
ip scp server enable
"""


def branch_config(tmp_path: Path) -> Path:
    config = tmp_path / "director.cfg"
    text = (ROOT / "examples/branch/startup-config").read_text()
    config.write_text(text.rstrip("\n") + "\n" + TERMINAL_LINES + "vstack startup-vlan 5000\n")
    return config


def test_explain_reports_no_terminal_line_as_rejected(tmp_path: Path) -> None:
    config = branch_config(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "smartinstall.cli", "explain", "examples/branch/topology.yaml",
         "--config", str(config), "--at", "2026-11-27 10:00"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rejected = [line for line in done.stdout.splitlines() if "rejected:" in line]
    last = len(config.read_text().splitlines())
    # only the wrong vstack line, with its own number
    assert rejected == [
        f"  configuration line {last} rejected: vstack startup-vlan 5000  ->  "
        "% Invalid input detected at '^' marker. (column 24)"
    ]
    assert "7 devices: 7 would be installed now with zero touch" in done.stdout


def test_the_shell_keeps_the_terminal_lines(tmp_path: Path) -> None:
    config = branch_config(tmp_path)
    result = run_piped(
        config,
        "enable\nshow running-config | section archive\nconfigure terminal\nno vstack "
        "startup-vlan\narchive\nmaximum 3\nexit\nno file prompt\nend\nwrite memory\n",
    )
    reported = [line for line in result.stderr.splitlines() if line.startswith("% ")]
    assert len(reported) == 1 and "vstack startup-vlan 5000" in reported[0]
    assert (
        "Director#show running-config | section archive\narchive\n path flash:archive\n"
        " maximum 5\n write-memory\n"
    ) in result.stdout
    saved = config.read_text()
    assert "archive\n path flash:archive\n maximum 3\n write-memory\n" in saved
    assert "ip scp server enable\n" in saved and "file prompt" not in saved
    assert "ip ssh server port 2222\n" in saved
    assert "username admin privilege 15 secret 9 $9$" in saved
    assert "enable secret 9 $9$" in saved
    # the saved file is read again without a rejected line
    again = run_piped(config, "enable\nshow running-config | include archive|scp|ssh\n")
    assert again.returncode == 0 and again.stderr == ""
    assert again.stdout.endswith(
        "include archive|scp|ssh\nip ssh server port 2222\nip scp server enable\narchive\n"
        " path flash:archive\n"
    )


@given(st.text(alphabet=" \nabcdefghiklmnoprstuvwxy-:", max_size=300))
def test_the_filter_keeps_line_numbers_and_the_other_lines(text: str) -> None:
    """Rejected lines are reported by their number: the filter never adds or drops a line."""
    lines = without_terminal_lines(text).splitlines()
    assert all(line == "" for line in text.splitlines()[len(lines) :])  # only trailing blanks
    for before, after in zip(text.splitlines(), lines, strict=False):
        assert after in (before, "!")
