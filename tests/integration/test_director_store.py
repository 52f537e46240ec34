"""The director's store from outside the core: what one zero touch costs the database, and
that no SQL ever runs on the event loop (DESIGN, "The director's core").

An emulated switch runs a complete zero touch against a director on the lab's event loop —
DHCP, imagelist and image over TFTP, configuration, reload, hello, and the backup the director
takes of its new configuration — while the store port counts statements and commits.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from smartinstall.director.daemon import DirectorDaemon
from smartinstall.lab.runner import InProcessDirector, Lab
from smartinstall.store.database import default_url
from smartinstall.store.port import StoreStats
from smartinstall.store.sqlstore import SqlStore
from tests.e2e.lab_kit import director_config, lab_prefix, switch, topology, until_upgraded

pytestmark = pytest.mark.timeout(120)


def daemon_of(lab: Lab) -> DirectorDaemon:
    assert isinstance(lab.director, InProcessDirector) and lab.director.daemon is not None
    return lab.director.daemon


async def settled(daemon: DirectorDaemon) -> StoreStats:
    """Everything submitted is committed; the store's counters then."""
    await daemon.writer.flush()
    stats = daemon.writer.stats()
    assert stats.pending == 0 and stats.committed == stats.submitted
    return stats.store


async def test_one_zero_touch_is_at_most_three_commits_and_40_statements(
    tmp_path: Path,
) -> None:
    prefix = lab_prefix()
    config = director_config(prefix, "vstack backup\n")
    topo = topology(tmp_path, prefix, config, [switch("sw", 40, prefix)])
    lab = Lab(topo, tmp_path / "lab", dhcp_retry=0.5, director_in_process=True)
    try:
        await lab.start(power_on=False)
        daemon = daemon_of(lab)
        before = await settled(daemon)
        lab.power_on()
        await until_upgraded(lab)
        sw = lab.switch("sw")
        state = daemon.state

        def backed_up() -> bool:
            return state.latest_backup(sw.mac) is not None

        assert await lab.wait_until(backed_up, 20)
        # the backup result is acknowledged once its record is committed: nothing pending
        # is left of the zero touch but what the commit delay still holds
        after = await settled(daemon)
        commits = after.commits - before.commits
        statements = after.statements - before.statements
        print(f"one zero touch: {commits} commits, {statements} statements")
        assert commits <= 3, (commits, statements)
        assert statements <= 40, (commits, statements)
        assert after.statements_off_writer == 0
    finally:
        await lab.stop()
    # What was committed is what the director knew: a restart reads it back.
    store = SqlStore(default_url(lab.data_dir))
    try:
        snapshot = store.load()
    finally:
        store.close()
    (row,) = [d for d in snapshot.downloads if d.mac == sw.mac]
    assert row.finished and row.image.value == row.config.value == "UPGRADED"
    assert [b.mac for b in snapshot.backups] == [sw.mac]


async def test_sql_on_an_event_loop_thread_is_caught(tmp_path: Path) -> None:
    # The detector the test above relies on: a statement run from a coroutine (on the loop's
    # thread) is counted apart.
    store = await asyncio.to_thread(SqlStore, default_url(tmp_path))  # migrated off the loop
    try:
        assert store.stats().statements_off_writer == 0
        store.load()  # on this loop's thread: exactly what the director must never do
        caught = store.stats().statements_off_writer
        assert caught > 0
        await asyncio.to_thread(store.load)  # a thread of its own: fine
        assert store.stats().statements_off_writer == caught
    finally:
        store.close()
