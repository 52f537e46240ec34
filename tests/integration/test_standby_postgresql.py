"""A hot-standby pair of directors on PostgreSQL (docs/scale-out.md): two director processes
with the same director id; one is active (it holds the id's advisory lock and its fencing
token), the other waits and takes over.

Both members listen on the same loopback address and ports (as a pair behind one service
address does): the standby binds nothing until it is active. ``flash:`` and the DHCP bindings
are in a directory both reach (``--shared-dir``). The cluster is the one of
``test_store_postgresql``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from smartinstall.lab.runner import READY, DirectorRunner, Lab
from tests.e2e.lab_kit import director_config, lab_prefix, switch, topology, until_upgraded
from tests.integration.test_store_postgresql import cluster, database_url

__all__ = ["cluster", "database_url"]
pytestmark = [pytest.mark.needs_tool, pytest.mark.timeout(300)]

PAIR = "branch-pair"
TAKEOVER_LIMIT = 10.0  # seconds from the active's death to the standby serving


def assert_token_fenced(url: str, director_id: str, token: int) -> None:
    """A member holding ``token`` of ``director_id``, now taken over, can no longer commit."""
    from smartinstall.store.port import StateSaved, StoreError
    from smartinstall.store.sqlstore import SqlStore

    fenced = SqlStore(url, director_id=director_id)
    try:
        fenced.fence = token
        with pytest.raises(StoreError, match="fenced"):
            fenced.apply([StateSaved("k", "v", dt.datetime.now(dt.UTC))])
    finally:
        fenced.close()


def pair_lab(tmp_path: Path, url: str, count: int, image_size: int = 256 * 1024) -> Lab:
    """The lab of the active member: ``count`` switches, some slow to download (so that a
    death finds installs under way); flash: and the DHCP bindings in its data directory,
    which both members share."""
    prefix = lab_prefix()
    config = director_config(prefix, f"vstack director-id {PAIR}\nvstack backup\n")
    switches = [
        switch(f"sw{h}", h, prefix, faults={"tftp_delay": (h % 5) * 0.4})
        for h in range(20, 20 + count)
    ]
    from tests.e2e.lab_kit import IMAGE

    topo = topology(tmp_path, prefix, config, switches, images={IMAGE: image_size})
    lab = Lab(topo, tmp_path / "lab", dhcp_retry=0.5, database_url=url)
    assert isinstance(lab.director, DirectorRunner)
    shared = ("--hot-standby", "--shared-dir", str(lab.data_dir))
    lab.director.extra = (*lab.director.extra, *shared)
    return lab


def standby_of(lab: Lab, tmp_path: Path) -> DirectorRunner:
    """The second member: its own data directory and startup-config, the same id, address,
    ports, database and shared directory."""
    active = lab.director
    assert isinstance(active, DirectorRunner)
    data = tmp_path / "standby"
    data.mkdir()
    (data / "startup-config").write_text(lab.topology.director_config)
    return DirectorRunner(
        data, active.address, active.ports, active.keepalive, active.timezone,
        extra=active.extra,
    )  # fmt: skip


async def start_standby(runner: DirectorRunner) -> None:
    runner.process = subprocess.Popen(
        runner.command(), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    await wait_log(runner, "standby: following the active member", 60)


async def wait_log(runner: DirectorRunner, text_: str, timeout: float) -> float:
    """Seconds until ``text_`` is in the member's log."""
    started = time.monotonic()
    while text_ not in runner.log():
        if runner.process is not None and runner.process.poll() is not None:
            raise AssertionError(f"member exited ({runner.process.returncode}):\n{runner.log()}")
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{text_!r} not logged in {timeout}s:\n{runner.log()[-3000:]}")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


ROOT = Path(__file__).resolve().parents[2]


def md5_upper(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest().upper()


async def test_the_standby_takes_over_a_killed_active_mid_install(
    database_url: str, tmp_path: Path
) -> None:
    """kill -9 of the active member while 20 switches install (the guide's zero touch,
    "Configuring the Director"): the standby serves within 10 s, every switch ends UPGRADED,
    and every switch keeps exactly its backups (none lost, none twice)."""
    lab = pair_lab(tmp_path, database_url, 20)
    standby = standby_of(lab, tmp_path)
    try:
        await lab.start(power_on=False)
        await start_standby(standby)
        lab.power_on()

        def mid_install() -> bool:
            rows = lab.database().downloads()
            upgraded = sum(1 for e in rows if e.finished)
            return upgraded >= 1 and any(not e.finished for e in rows)

        assert await lab.wait_until(mid_install, 90, every=0.05)
        done_before = sum(1 for e in lab.database().downloads() if e.finished)
        killed_at = dt.datetime.now()
        await lab.director.stop(signal.SIGKILL)
        took = await wait_log(standby, READY, 30)
        print(f"takeover after kill -9: {took:.2f}s ({done_before}/20 upgraded before)")
        print(f"  {takeover_phases(standby.log(), killed_at)}")
        assert took <= TAKEOVER_LIMIT, standby.log()[-3000:]
        # the standby followed the install: it starts from its copy, read before the takeover
        assert "taking over with the standby's copy of the state" in standby.log()
        assert done_before < 20
        await until_upgraded(lab, 180)

        def all_backed_up() -> bool:
            db = lab.database()
            return all(db.backups(run.switch.mac) for run in lab.runs.values())

        if not await lab.wait_until(all_backed_up, 90):
            db = lab.database()
            missing = [r.switch.mac for r in lab.runs.values() if not db.backups(r.switch.mac)]
            lines = [x for x in standby.log().splitlines() if any(m in x for m in missing)]
            raise AssertionError(f"no backup of {missing}:\n" + "\n".join(lines[-40:]))
        await standby_idle(standby)
        db = lab.database()
        counts = sorted(len(db.backups(run.switch.mac)) for run in lab.runs.values())
        print(f"backup records per switch: {counts}")
        flash = lab.data_dir / "flash"
        for run in lab.runs.values():
            records = db.backups(run.switch.mac)
            keys = [(r.file, r.taken_at, r.checksum) for r in records]
            assert len(set(keys)) == len(keys), records  # none recorded twice
            latest = records[0]
            path = flash / latest.file.removeprefix("flash:").lstrip("/")
            assert path.is_file() and md5_upper(path) == latest.checksum, latest  # none lost
    finally:
        await standby.stop()
        await lab.stop()


def takeover_phases(log: str, since: dt.datetime) -> str:
    """Seconds from ``since`` to each step of a takeover, from the new active member's log."""
    steps = (
        ("lock", "is active, fencing token"),
        ("settled", "waiting"),  # + the wait it names
        ("state", "director state loaded"),
        ("ready", READY),
    )
    shown = []
    for name, words in steps:
        for line in log.splitlines():
            if words in line:
                at = dt.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
                seconds = (at - since).total_seconds()
                if name == "settled":
                    seconds += float(line.rsplit("waiting ", 1)[1].split("s", 1)[0])
                shown.append(f"{name} {seconds:.2f}s")
                break
    return ", ".join(shown)


async def standby_idle(runner: DirectorRunner) -> None:
    """Until the new active member has committed what it knows (its console says so)."""
    from smartinstall.lab.runner import wait_until_committed

    await asyncio.to_thread(wait_until_committed, runner.data_dir, 10.0)


async def test_an_active_cut_off_from_the_database_is_fenced(
    database_url: str, tmp_path: Path
) -> None:
    """The database ends every connection of the active member (``pg_terminate_backend``, as
    a partition ends them once the keepalives give up): the standby takes over, the former
    active stops and exits non-zero, and a commit with its token is refused."""

    lab = pair_lab(tmp_path, database_url, 2)
    standby = standby_of(lab, tmp_path)
    try:
        await lab.start()
        await until_upgraded(lab, 90)
        await start_standby(standby)
        active = lab.director
        assert isinstance(active, DirectorRunner) and active.process is not None
        pid = active.process.pid
        engine = create_engine(database_url)
        try:
            with engine.begin() as conn:
                cut = conn.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE application_name LIKE :tag"
                    ),
                    {"tag": f"smartinstall {PAIR} %:{pid}"},
                ).scalar_one()
            assert cut >= 1
            took = await wait_log(standby, READY, 30)
            print(f"takeover after the partition: {took:.2f}s")
            assert took <= TAKEOVER_LIMIT
            code = await active.until_exit(20)
            assert code not in (None, 0), active.log()[-3000:]
            assert "fenced" in active.log()
            with engine.begin() as conn:
                token = conn.execute(
                    text("SELECT token FROM director_fences WHERE director_id = :id"),
                    {"id": PAIR},
                ).scalar_one()
                roles = dict(
                    conn.execute(
                        text("SELECT member, role FROM director_members WHERE director_id = :id"),
                        {"id": PAIR},
                    ).all()
                )
            assert token == 2
            assert sorted(roles.values()) in (["active", "active"], ["active", "fenced"])
        finally:
            engine.dispose()
        # the former active's token no longer commits
        assert_token_fenced(database_url, PAIR, 1)
        # the new active member goes on serving: a switch that reloads gets its files again
        await until_upgraded(lab, 30)
    finally:
        await standby.stop()
        await lab.stop()
