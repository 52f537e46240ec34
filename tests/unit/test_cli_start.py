"""The `smartinstall` command loads every sub-command module to build its parser, so what
those modules import at their top is paid by every command, `smartinstall console` among them
(an operator's way in while the director is under attack: docs/security.md, section 8)."""

from __future__ import annotations

import subprocess
import sys

#: packages only some commands need: a command imports them when it runs
HEAVY = ("fastapi", "starlette", "uvicorn", "pysnmp", "lxml", "httpx", "netmiko", "napalm")


def test_building_the_command_line_leaves_the_heavy_packages_alone() -> None:
    code = (
        "import sys\n"
        "from smartinstall import cli\n"
        "cli.build_parser(cli._load())\n"
        f"print(' '.join(sorted(p for p in {HEAVY!r} if p in sys.modules)))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    assert loaded == []
