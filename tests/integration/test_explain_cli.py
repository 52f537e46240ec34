"""`smartinstall explain` run as a program on the shipped example branch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smartinstall.cli", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_explains_every_device_of_the_example_branch() -> None:
    result = run("explain", "examples/branch/topology.yaml", "--at", "2026-11-27 10:00")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Director Director: Director, director IP 127.20.0.1" in out
    assert "Join window at Fri 27 Nov 2026 10:00 UTC: open, mode auto; closes" in out
    blocks = {block.split()[0]: block for block in out.split("\n\n") if block.strip()}
    assert "group    : default (default)" in blocks["checkout-1"]
    assert "group    : pharmacy (mac)" in blocks["pharmacy"]
    assert "group    : backroom (stack)" in blocks["backroom-stack"]
    assert blocks["backroom-stack"].count("image    : member") == 3
    assert "group    : 3560 24 (built-in)" in blocks["office"]
    assert "group    : 2960 24 (built-in)" in blocks["closet"]
    assert "tailored configuration" in blocks["closet"]
    assert "group    : stockroom (connectivity)" in blocks["stockroom"]
    assert "after hop 1 is done" in blocks["stockroom"]
    assert "hostname : STORE-01.0001" in blocks["checkout-1"]
    assert "7 devices: 7 would be installed now with zero touch" in out


def test_join_window_closed_at_night() -> None:
    result = run("explain", "examples/branch/topology.yaml", "--at", "2026-11-27 23:30")
    assert result.returncode == 0, result.stderr
    assert "closed, mode auto; opens Sat 28 Nov 2026 05:00 UTC" in result.stdout
    assert "denied now (state d)" in result.stdout
    assert "7 devices: 0 would be installed now" in result.stdout


def test_bad_input_gets_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "t.yaml"
    bad.write_text("director: {address: 300.1.1.1}\n")
    result = run("explain", str(bad))
    assert result.returncode == 1
    assert result.stderr.startswith("% director:")
    assert "Traceback" not in result.stderr
    assert run("explain", "examples/branch/topology.yaml", "--at", "tomorrow").returncode == 1
