"""`smartinstall shell` with the director's commands, as a program: piped like commands into a
switch, typed in a real terminal, and its saved file read back by `smartinstall explain`'s and
the director's own replay."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from smartinstall.director.daemon import load_settings
from tests.integration.test_shell import SHELL, Tmux, run_piped
from tests.integration.test_shell import tmux as tmux  # the fixture


def test_a_guide_session_piped_into_the_shell(tmp_path: Path) -> None:
    config = tmp_path / "director.cfg"
    # the guide's "Configuring the Director as the DHCP Server", on an address this host owns
    result = run_piped(
        config,
        (
            "enable\n"
            "configure terminal\n"
            "vstack director 127.20.0.1\n"
            "vstack basic\n"
            "vstack dhcp-localserver pool1\n"
            "address-pool 127.20.0.0 255.255.0.0\n"
            "default-router 127.20.0.1\n"
            "file-server 127.20.0.1\n"
            "exit\n"
            "ip dhcp remember\n"
            "vstack group built-in 3750 24poe\n"
            "image flash:c3750.tar\n"
            "end\n"
            "write memory\n"
        ),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.endswith(
        "Director(config-vstack-group)#image flash:c3750.tar\n"
        "Director(config-vstack-group)#end\n"
        "Director#write memory\n"
        "Building configuration...\n"
        "[OK]\n"
    )
    assert "Director(config-vstack-dhcp)#default-router 127.20.0.1\n" in result.stdout
    assert "Director(config-vstack-group)#image flash:c3750.tar\n" in result.stdout
    assert config.read_text() == (
        "!\n"
        "hostname Director\n"
        "!\n"
        "vstack dhcp-localserver pool1\n"
        " address-pool 127.20.0.0 255.255.0.0\n"
        " default-router 127.20.0.1\n"
        " file-server 127.20.0.1\n"
        "!\n"
        "ip dhcp remember\n"
        "!\n"
        "vstack director 127.20.0.1\n"
        "vstack basic\n"
        "vstack group built-in 3750 24poe\n"
        " image flash:c3750.tar\n"
        "!\n"
        "end\n"
    )
    # the director reads the saved file through the same commands
    settings, errors = load_settings(config)
    assert errors == []
    assert settings.basic and str(settings.dhcp_pools["pool1"].network) == "127.20.0.0/16"
    # and the next shell start replays it: show vstack config sees a director
    again = run_piped(config, "enable\nshow vstack config | include Role|Mode\n")
    assert again.stdout == (
        "Director>enable\n"
        "Director#show vstack config | include Role|Mode\n"
        "Role: Director\n"
        "Vstack Mode: Basic\n"
        "    Operation Mode: auto (default)\n"
        "    Mode: On (default)\n"
        "    Mode: legacy (unauthenticated)\n"
    )


def test_rejected_lines_at_start_and_while_piping(tmp_path: Path) -> None:
    config = tmp_path / "director.cfg"
    config.write_text("vstack director 192.0.2.1\nvstack basic\nvstack image ftp:x.tar\n")
    result = run_piped(config, "enable\nconf t\nvstack basic\nvstack group built-in 3751 24\n")
    reported = [line for line in result.stderr.splitlines() if line.startswith("% ")]
    assert reported == [
        f"% {config} line 2: vstack basic: Command Rejected: The Director IP address does not "
        "match a switch IP address.",
        f"% {config} line 3: vstack image ftp:x.tar: % ftp: is not supported for the image; "
        "use flash:, flash0:, flash1:, bootflash:, usb: or tftp://",
    ]
    assert result.stdout.endswith(
        "Director(config)#vstack basic\n"
        "Command Rejected: The Director IP address does not match a switch IP address.\n"
        "Director(config)#vstack group built-in 3751 24\n"
        "                                          ^\n"
        "% Invalid input detected at '^' marker.\n\n"
    )
    assert result.returncode == 1


def test_explain_reports_rejected_lines_with_their_numbers(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    config = tmp_path / "director.cfg"
    text = (root / "examples/branch/startup-config").read_text()
    config.write_text(text + "vstack startup-vlan 5000\n")
    lines = len(text.splitlines()) + 1
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "smartinstall.cli",
            "explain",
            "examples/branch/topology.yaml",
            "--config",
            str(config),
            "--at",
            "2026-11-27 10:00",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (
        f"  configuration line {lines} rejected: vstack startup-vlan 5000  ->  "
        "% Invalid input detected at '^' marker. (column 24)"
    ) in done.stdout
    assert "7 devices: 7 would be installed now with zero touch" in done.stdout


@pytest.mark.needs_tool
def test_director_commands_in_a_real_terminal(tmux: Tmux, tmp_path: Path) -> None:
    config = tmp_path / "director.cfg"
    command = " ".join([*SHELL, "--config", str(config)])
    tmux("new-session", "-d", "-x", "100", "-y", "40", "-s", "shell", command)
    tmux("set-option", "-t", "shell", "remain-on-exit", "on")
    tmux.wait_for("Director>")
    tmux.type("en")
    tmux.key("Enter")
    tmux.type("conf t")
    tmux.key("Enter")
    tmux.wait_for("Director(config)#")
    tmux.type("vstack group built-in 4500 sup8-e ?")
    tmux.wait_for("all      Configure all Chassis for this Sup")
    tmux.wait_for("\nDirector(config)#vstack group built-in 4500 sup8-e ")
    tmux.type("45")
    tmux.key("Tab")  # ambiguous: 4503, 4506 … nothing is completed
    tmux.type("06")
    tmux.key("Enter")
    tmux.wait_for("Director(config-vstack-group)#")
    tmux.type("?")
    tmux.wait_for("Vstack group configuration commands")
    tmux.type("im")
    tmux.key("Tab")
    tmux.type("bootflash:k10.tar")
    tmux.wait_for("Director(config-vstack-group)#image bootflash:k10.tar")
    tmux.key("Enter")
    tmux.key("C-z")
    tmux.wait_for("Director#")
    tmux.type("wr")
    tmux.key("Enter")
    tmux.wait_for("[OK]")
    assert "vstack group built-in 4500 sup8-e 4506\n image bootflash:k10.tar\n" in (
        config.read_text()
    )
    tmux.type("exit")
    tmux.key("Enter")
    deadline = time.monotonic() + 10
    while tmux("list-panes", "-t", "shell", "-F", "#{pane_dead}").strip() != "1":
        assert time.monotonic() < deadline, "the shell did not end on exit"
        time.sleep(0.05)
