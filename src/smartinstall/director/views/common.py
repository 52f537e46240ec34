"""Pieces shared by the ``show vstack`` views: the enabled/disabled line, legends, tables.

Every view returns the whole output as one string of ``\\n``-terminated lines; the terminal
layer turns them into ``\\r\\n`` and pages them.
"""

from __future__ import annotations

from collections.abc import Iterable

ENABLED = "SmartInstall: ENABLED"
DISABLED = "SmartInstall: DISABLED"
RULE = "====="  # the guide prints one short rule under every table header
SEPARATOR = "-----"  # starts every block of a detail view
UNKNOWN = "**"  # a cell whose value the director does not know (guide: "Hop value : **")

# The status legend of show vstack status and show vstack host (guide, command reference of
# show vstack, the examples with the Script Upgrade line that 15.2(2)E added).
LEGEND = (
    "Status: Device_type Health_status Join-window_status Upgrade_status",
    "Device_type: S - Smart install N - Non smart install P - Pending",
    "Health_status: A - Active I - Inactive",
    "Join-window_Status: a - Allowed h - On-hold d - Denied",
    "Image Upgrade: i - in progress I - done X - failed",
    "Config Upgrade: c - in progress C - done x - failed",
    "Script Upgrade: p - in progress P - done F - failed",
)


def text(lines: Iterable[str]) -> str:
    """Join output lines; every line ends with a newline."""
    return "".join(f"{line}\n" for line in lines)


def cell(value: str, width: int) -> str:
    """``value`` left-aligned in a column of ``width``, always followed by at least one space,
    so that a value longer than its column never runs into the next one."""
    if len(value) >= width:
        return value + " "
    return value.ljust(width)


def known(value: str | None, missing: str = UNKNOWN) -> str:
    return value if value else missing
