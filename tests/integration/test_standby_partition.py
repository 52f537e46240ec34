"""A network partition of the active member of a hot-standby pair from PostgreSQL
(docs/scale-out.md, "What happens at each failure").

The active director process runs in a network namespace made for the test and reaches a
throwaway PostgreSQL cluster over a veth pair with link-local addresses private to the pair
(the cluster listens on the host end and on loopback); the standby runs outside and reaches
the cluster on loopback. The partition is the link going down inside the namespace: no packet
of the active member reaches the database any more, and none of the database reaches it (no
``pg_terminate_backend``, no reset: both ends find out by themselves). The namespace and the
veth pair are deleted by name, the processes stopped by their own handles.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import random
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from smartinstall.lab.director_process import free_port
from smartinstall.lab.runner import READY, DirectorPorts, DirectorRunner
from tests.e2e.lab_kit import director_config, lab_prefix
from tests.integration.test_fleet_postgresql import fleet_status
from tests.integration.test_standby_postgresql import (
    assert_token_fenced,
    start_standby,
    wait_log,
)
from tests.integration.test_store_postgresql import _pg_program, pg_admin
from tests.tools import find_program

pytestmark = [pytest.mark.needs_tool, pytest.mark.needs_root, pytest.mark.timeout(300)]

PAIR = "branch-cut"
TAKEOVER_LIMIT = 10.0  # seconds from the partition to the standby serving


@dataclass(frozen=True)
class Link:
    """A namespace and the veth pair that joins it to the host."""

    namespace: str
    host_if: str
    ns_if: str
    host_ip: str
    ns_ip: str
    network: str


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False, timeout=30)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip() or done.returncode}")
    return done


@contextlib.contextmanager
def namespace_link() -> Iterator[Link]:
    tag = f"{os.getpid() % 100000:05d}"
    octet = random.randint(100, 160)
    link = Link(
        namespace=f"smi-cut-{tag}",
        host_if=f"smic{tag}h",
        ns_if=f"smic{tag}n",
        host_ip=f"169.254.{octet}.1",
        ns_ip=f"169.254.{octet}.2",
        network=f"169.254.{octet}.0/30",
    )
    made = False
    try:
        try:
            _ip("netns", "add", link.namespace)
            made = True
            _ip("link", "add", link.host_if, "type", "veth", "peer", "name", link.ns_if)
        except RuntimeError as error:  # a kernel or container without namespaces or veth
            pytest.skip(f"cannot make a network namespace with a veth pair: {error}")
        _ip("link", "set", link.ns_if, "netns", link.namespace)
        _ip("addr", "add", f"{link.host_ip}/30", "dev", link.host_if)
        _ip("link", "set", link.host_if, "up")
        _ip("-n", link.namespace, "link", "set", "lo", "up")
        _ip("-n", link.namespace, "addr", "add", f"{link.ns_ip}/30", "dev", link.ns_if)
        _ip("-n", link.namespace, "link", "set", link.ns_if, "up")
        yield link
    finally:
        _ip("link", "delete", link.host_if, check=False)  # and its peer
        if made:
            _ip("netns", "delete", link.namespace, check=False)


@dataclass(frozen=True)
class PgCluster:
    port: int

    def url(self, host: str, database: str) -> str:
        return f"postgresql+psycopg://postgres@{host}:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        pg_admin(self.port, sql)


@contextlib.contextmanager
def pg_cluster(link: Link) -> Iterator[PgCluster]:
    """A throwaway cluster on loopback and on the host end of the veth pair, which alone may
    connect from the pair's network."""
    pytest.importorskip("psycopg", reason="psycopg is not installed (extra: postgresql)")
    initdb, pg_ctl = _pg_program("initdb"), _pg_program("pg_ctl")
    runuser = find_program("runuser")
    if initdb is None or pg_ctl is None or runuser is None:
        pytest.skip("PostgreSQL's initdb/pg_ctl (Debian: postgresql) or runuser is missing")
    import pwd

    try:
        postgres = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("PostgreSQL refuses to run as root and there is no postgres user")
    as_user = [runuser, "-u", "postgres", "--"]
    base = Path(tempfile.mkdtemp(prefix="smi-pg-cut-"))
    os.chown(base, postgres.pw_uid, postgres.pw_gid)
    base.chmod(0o700)
    data, log = base / "data", base / "log"
    port = free_port("127.0.0.1", socket.SOCK_STREAM)
    started = False
    try:
        subprocess.run(
            [*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
             "--no-sync"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        with (data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {link.network} trust\n")
        options = f"-h 127.0.0.1,{link.host_ip} -p {port} -k {base} -F -c max_connections=40"
        subprocess.run(
            [*as_user, pg_ctl, "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options,
             "start"],
            check=True, capture_output=True, timeout=90,
        )  # fmt: skip
        started = True
        yield PgCluster(port)
    finally:
        if started:
            subprocess.run(
                [*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
                capture_output=True, timeout=60, check=False,
            )  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)


def _first_time(log: str, words: str) -> dt.datetime:
    """The time stamp of the first log line with ``words`` (the members share a clock)."""
    for line in log.splitlines():
        if words in line:
            return dt.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
    raise AssertionError(f"{words!r} not logged:\n{log[-3000:]}")


async def test_an_active_partitioned_from_the_database_fences_itself_and_the_standby_takes_over(
    tmp_path: Path,
) -> None:
    """The link of the active member goes down: it fences itself (no beat reaches the
    database) and exits non-zero without serving beside the new active member, the standby
    outside the namespace serves within 10 s, and a commit with the former token is refused.
    The guide's director is one switch ("Configuring the Director"); a pair of processes with
    one director id stands in for it."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and the ip program (network namespaces)")

    with namespace_link() as link, pg_cluster(link) as pg:
        name = f"smi_{uuid.uuid4().hex[:12]}"
        pg.admin(f'CREATE DATABASE "{name}"')
        local_url = pg.url("127.0.0.1", name)
        prefix = lab_prefix()
        config = director_config(prefix, f"vstack director-id {PAIR}\n", default=False)
        shared = tmp_path / "shared"
        shared.mkdir()
        members = []
        for role, wrapper, url in (
            ("active", ("ip", "netns", "exec", link.namespace), pg.url(link.host_ip, name)),
            ("standby", (), local_url),
        ):
            data = tmp_path / role
            data.mkdir()
            (data / "startup-config").write_text(config)
            ports = DirectorPorts.pick(f"{prefix}.1")  # free on the host; the namespace is empty
            extra = ("--database", url, "--hot-standby", "--shared-dir", str(shared))
            members.append(
                DirectorRunner(
                    data, f"{prefix}.1", ports, 30.0, "UTC", wrapper=wrapper, extra=extra
                )
            )
        active, standby = members
        engine = create_engine(local_url)
        try:
            await active.start(90)
            assert active.process is not None
            await start_standby(standby)

            def following() -> bool:
                with engine.begin() as conn:
                    behind = conn.execute(
                        text(
                            "SELECT behind FROM director_members WHERE director_id = :id "
                            "AND role = 'standby'"
                        ),
                        {"id": PAIR},
                    ).scalar()
                return behind is not None

            deadline = time.monotonic() + 30
            while not await asyncio.to_thread(following):
                assert time.monotonic() < deadline, standby.log()[-3000:]
                await asyncio.sleep(0.1)

            # the standby says how far behind it is (smartinstall fleet status)
            status = await fleet_status(local_url)
            assert re.search(r"^  standby \S+: \d+\.\ds behind", status, re.M), status

            # the partition: the active member's link goes down inside its namespace
            _ip("-n", link.namespace, "link", "set", link.ns_if, "down")
            took = await wait_log(standby, READY, 60)
            print(f"takeover after the link went down: {took:.2f}s")
            assert took <= TAKEOVER_LIMIT, standby.log()[-3000:]
            code = await active.until_exit(60)
            assert code not in (None, 0), active.log()[-3000:]
            # fenced by its own watchdog (no beat for LOST_AFTER) or its failed beat
            assert re.search(
                r"fenced: no heartbeat reached the database in time|lost the database as active",
                active.log(),
            ), active.log()[-3000:]
            # the standby followed: it starts from its copy of the state
            assert "taking over with the standby's copy of the state" in standby.log()
            fenced_at = _first_time(active.log(), "fenced")
            ready_at = _first_time(standby.log(), READY)
            print(f"the former active fenced itself {(ready_at - fenced_at).total_seconds():.2f}s"
                  " before the standby served")  # fmt: skip
            assert fenced_at <= ready_at  # never two members serving at once

            with engine.begin() as conn:
                token = conn.execute(
                    text("SELECT token FROM director_fences WHERE director_id = :id"),
                    {"id": PAIR},
                ).scalar_one()
            assert token == 2
        finally:
            engine.dispose()
            await standby.stop()
            await active.stop()
        # the former active's token no longer commits
        assert_token_fenced(local_url, PAIR, 1)
        pg.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
