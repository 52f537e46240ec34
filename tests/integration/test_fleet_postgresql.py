"""Directors of one fleet on one PostgreSQL database (docs/scale-out.md).

The throwaway cluster is the one of ``test_store_postgresql`` (Debian's ``initdb``/``pg_ctl``,
a free loopback port, as the ``postgres`` user when run as root). The director-identity tests
of ``tests/unit/store/test_director_identity.py`` run again here on PostgreSQL; then two
director processes with different ids provision their own emulated switches on one database
without crossing: rows, backups and DHCP bindings.
"""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from smartinstall.lab.director_process import free_port
from smartinstall.lab.runner import Lab
from smartinstall.store.leases import JOURNAL_NAME
from tests.e2e.lab_kit import director_config, lab_prefix, switch, topology, until_upgraded
from tests.integration.test_store_postgresql import cluster, database_url
from tests.unit.store import test_director_identity

globals().update(
    {
        name: value
        for name, value in vars(test_director_identity).items()
        if name.startswith("test_")
        and name != "test_the_director_id_command_validates_and_has_a_no_form"
    }
)

__all__ = ["cluster", "database_url"]
pytestmark = [pytest.mark.needs_tool, pytest.mark.timeout(240)]


async def fleet_status(url: str, *more: str) -> str:
    """``smartinstall fleet status --database URL`` as an operator runs it."""
    command = [sys.executable, "-m", "smartinstall.cli", "fleet", "status", "--database", url]
    done = await asyncio.to_thread(
        subprocess.run, [*command, *more], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.2)
    return False


ADMIN = ("admin", "Fleet-Pass-1")


def _lab(tmp_path: Path, name: str, hosts: list[int], url: str, more: str = "") -> Lab:
    prefix = lab_prefix()
    config = director_config(prefix, f"vstack director-id {name}\nvstack backup\n{more}")
    switches = [switch(f"sw{h}", h, prefix) for h in hosts]
    topo = topology(tmp_path / name, prefix, config, switches)
    return Lab(topo, tmp_path / name / "lab", dhcp_retry=0.5, database_url=url)


async def test_two_directors_on_one_database_provision_their_own_labs(
    database_url: str, tmp_path: Path
) -> None:
    """Each director hands its own switches image and configuration (the guide's zero touch,
    "Configuring the Director"), backs them up and keeps their DHCP bindings; neither reads,
    backs up nor changes a row of the other."""
    for name in ("east", "west"):
        (tmp_path / name).mkdir()
    http_port = free_port("127.0.0.1", socket.SOCK_STREAM)
    api = f"username {ADMIN[0]} privilege 15 secret {ADMIN[1]}\nip http server\n"
    east = _lab(tmp_path, "east", [40, 41, 42], database_url, f"{api}ip http port {http_port}\n")
    west = _lab(tmp_path, "west", [50, 51], database_url)
    try:
        await east.start()
        await west.start()
        await until_upgraded(east, 90)
        await until_upgraded(west, 90)

        def backed_up(lab: Lab) -> bool:
            db = lab.database()
            return all(db.backups(run.switch.mac) for run in lab.runs.values())

        assert await east.wait_until(lambda: backed_up(east), 60)
        assert await west.wait_until(lambda: backed_up(west), 60)
        macs = {
            "east": {run.switch.mac for run in east.runs.values()},
            "west": {run.switch.mac for run in west.runs.values()},
        }
        for name, lab in (("east", east), ("west", west)):
            db = lab.database()
            clients = {d.mac for d in db.devices() if not d.is_director}
            assert clients == macs[name]
            assert {e.mac for e in db.downloads()} == macs[name]
            assert {b.mac for b in db.backups()} == macs[name]
            journal = (lab.data_dir / "dhcp" / JOURNAL_NAME).read_text()
            other = macs["west" if name == "east" else "east"]
            assert not any(mac.replace(".", "") in journal for mac in other)
            assert all(mac.replace(".", "") in journal for mac in macs[name])
        # one inventory across the directors, from the shared database
        status = await fleet_status(database_url)
        assert re.search(r"^east\s+active\s+\S+s ago\s+3\s+3 UPGRADED$", status, re.M), status
        assert re.search(r"^west\s+active\s+\S+s ago\s+2\s+2 UPGRADED$", status, re.M), status
        # the same from the REST API of either director
        async with httpx.AsyncClient(auth=ADMIN, timeout=20) as client:
            reply = await client.get(f"http://{east.address}:{http_port}/api/v1/fleet")
        assert reply.status_code == 200, reply.text
        fleet = {line["director_id"]: line for line in reply.json()}
        assert fleet["west"]["devices"] == 2 and fleet["east"]["statuses"] == {"UPGRADED": 3}
        assert [m["role"] for m in fleet["east"]["members"]] == ["active"]
        # a director that stops beating shows as down
        await west.director.stop(signal.SIGKILL)

        async def west_down() -> bool:
            status = await fleet_status(database_url, "--down-after", "3")
            return bool(re.search(r"^west\s+down\s", status, re.M))

        assert await wait_for(west_down, 30)
        assert re.search(r"^east\s+active\s", await fleet_status(database_url), re.M)
    finally:
        await east.stop()
        await west.stop()
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            rows = conn.execute(
                text("SELECT director_id, mac FROM backups ORDER BY director_id, mac")
            ).all()
            owners = conn.execute(text("SELECT DISTINCT director_id FROM devices")).scalars()
            assert set(owners) == {"east", "west"}
    finally:
        engine.dispose()
    assert {mac for owner, mac in rows if owner == "east"} == macs["east"]
    assert {mac for owner, mac in rows if owner == "west"} == macs["west"]


async def test_a_standby_follows_the_commits_of_the_active_member(database_url: str) -> None:
    """The standby's copy of the state follows the active member's commits, woken by their
    NOTIFY (docs/scale-out.md, section 3): at takeover it is handed over when it is at the
    database's commit position."""
    import datetime as dt
    import threading

    from smartinstall.store.fleet import FleetMember
    from smartinstall.store.follow import StateFollower
    from smartinstall.store.port import StateSaved
    from smartinstall.store.sqlstore import SqlStore

    became = threading.Event()
    member = FleetMember(
        database_url, "followed", wait_for_lock=False, on_active=lambda _t: became.set()
    )
    member.start()
    follower = StateFollower(database_url, "followed", every=5.0)
    store = SqlStore(database_url, director_id="followed", claim=True)
    try:
        assert await asyncio.to_thread(became.wait, 30)
        store.fence = member.token
        follower.start()

        async def at(position: int) -> bool:
            return follower.position == position

        assert await wait_for(lambda: at(0), 30)
        for n in range(1, 4):
            store.apply([StateSaved(f"k{n}", str(n), dt.datetime.now(dt.UTC))])
            # far sooner than the 5 s poll: the commit's NOTIFY woke the follower
            assert await wait_for(lambda n=n: at(n), 4), follower.position
        assert follower.notified >= 3
        state_at, behind = follower.progress()
        assert state_at is not None and behind == 0.0
        # handed over at the database's position, to the member that raised the token next
        assert follower.take(2, member.token + 1) is None
        assert follower.take(3, member.token + 2) is None  # another member was active between
        copy = follower.take(3, member.token + 1)
        assert copy is not None and copy.state == {"k1": "1", "k2": "2", "k3": "3"}
        # a member of an older release raises the token without advancing the position: the
        # copy the follower reads then is never handed over, and says no lag
        engine = create_engine(database_url)
        try:
            with engine.begin() as conn:
                conn.execute(
                    text("UPDATE director_fences SET token = token + 1 WHERE director_id = :id"),
                    {"id": "followed"},
                )
        finally:
            engine.dispose()

        async def uncounted() -> bool:
            return follower.progress() == (None, None)

        assert await wait_for(uncounted, 15)
        assert follower.take(3, member.token + 2) is None
    finally:
        follower.stop()
        store.close()
        await asyncio.to_thread(member.stop)
