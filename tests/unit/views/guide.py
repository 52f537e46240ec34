"""Read example outputs from the guide (never copied into the repository).

The guide's text is an extraction from PDF: code fences, blank lines and page headers
(``show vstack``) interrupt some examples, and column spacing is partly lost. ``example`` returns
the lines of one example from a marker line on, without those interruptions, and ``squeeze``
collapses runs of blanks so that layouts can be compared where the extraction lost them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parents[3] / ".." / "shared" / "spec" / "smart-install-guide.txt"


def guide_lines() -> list[str]:
    if not GUIDE.exists():
        pytest.skip(f"the guide is not at {GUIDE}")
    return GUIDE.read_text(encoding="utf-8").splitlines()


def example(marker: str, count: int, occurrence: int = 1) -> list[str]:
    """``count`` content lines starting at the ``occurrence``-th line equal to ``marker``
    (compared after stripping), skipping fences, blank lines and page headers."""
    lines = guide_lines()
    starts = [i for i, line in enumerate(lines) if line.strip() == marker]
    if len(starts) < occurrence:
        raise AssertionError(f"marker {marker!r} #{occurrence} not in the guide")
    out: list[str] = []
    for line in lines[starts[occurrence - 1] :]:
        if line.strip() in ("```", "", "show vstack"):
            continue
        out.append(line.rstrip())
        if len(out) == count:
            return out
    raise AssertionError(f"example at {marker!r} is shorter than {count} lines")


def squeeze(lines: list[str] | str) -> list[str]:
    if isinstance(lines, str):
        lines = lines.splitlines()
    return [" ".join(line.split()) for line in lines if line.strip()]
