"""The skip budget: a run that skips more than a few tests fails, so a missing tool or a
broken fixture cannot hide a part of the suite (every skip names its reason; `-ra` lists them).

`SMARTINSTALL_SKIP_BUDGET` changes the budget (a developer machine without root may need
more; CI keeps the default)."""

from __future__ import annotations

import os

import pytest

DEFAULT_BUDGET = 5


def _budget() -> int:
    text = os.environ.get("SMARTINSTALL_SKIP_BUDGET", "")
    return int(text) if text.isdigit() else DEFAULT_BUDGET


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or exitstatus not in (0,):
        return
    skipped = len(reporter.stats.get("skipped", []))
    budget = _budget()
    if skipped > budget:
        reporter.write_line(
            f"skip budget exceeded: {skipped} tests skipped, at most {budget} allowed "
            "(scripts/install-test-tools installs what they need)",
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
