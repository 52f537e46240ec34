"""The director on a PostgreSQL server it cannot use: a wrong password or a server that does not
answer stops it with one line naming the server and the reason (never the password), exit 1.

A throwaway cluster with password (SCRAM) authentication is created with Debian's
``initdb``/``pg_ctl`` in a temporary directory, listening on a free loopback port only; as root
it runs as the ``postgres`` user (``runuser``), as in ``test_store_postgresql``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.director_harness import ROOT, free_port
from tests.integration.test_director_safety import _command, director, start_alone
from tests.integration.test_store_postgresql import _pg_program
from tests.tools import find_program

pytestmark = [pytest.mark.needs_tool, pytest.mark.timeout(180)]

USER = "smi_director"
PASSWORD = "Right-pass-7e1c"
WRONG = "wrong-pass-93ab"


@dataclass(frozen=True)
class PasswordCluster:
    port: int

    def url(self, password: str, port: int | None = None) -> str:
        return f"postgresql://{USER}:{password}@127.0.0.1:{port or self.port}/smi"


@pytest.fixture(scope="module")
def cluster() -> Iterator[PasswordCluster]:
    pytest.importorskip("psycopg", reason="psycopg is not installed (extra: postgresql)")
    initdb, pg_ctl, psql = _pg_program("initdb"), _pg_program("pg_ctl"), _pg_program("psql")
    if initdb is None or pg_ctl is None or psql is None:
        pytest.skip("PostgreSQL's initdb/pg_ctl/psql are not installed (Debian: postgresql)")
    base = Path(tempfile.mkdtemp(prefix="smi-pgpw-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        runuser = find_program("runuser")
        try:
            postgres = pwd.getpwnam("postgres")
        except KeyError:
            postgres = None
        if runuser is None or postgres is None:
            shutil.rmtree(base)
            pytest.skip("PostgreSQL refuses to run as root and there is no postgres user")
        as_user = [runuser, "-u", "postgres", "--"]
        os.chown(base, postgres.pw_uid, postgres.pw_gid)
    base.chmod(0o700)
    data, log, port = base / "data", base / "log", free_port("127.0.0.1", socket.SOCK_STREAM)
    # the superuser logs in over the socket directory only (trust); TCP asks every user for a
    # password (SCRAM), as a production server does
    setup = base / "setup.sql"
    setup.write_text(
        f"CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}';\nCREATE DATABASE smi OWNER {USER};\n"
    )
    if as_user:
        os.chown(setup, pwd.getpwnam("postgres").pw_uid, -1)
    try:
        subprocess.run(
            [*as_user, initdb, "-D", str(data), "-U", "postgres", "-E", "UTF8", "--no-sync",
             "--auth-local=trust", "--auth-host=scram-sha-256"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        options = f"-h 127.0.0.1 -p {port} -k {base} -F -c password_encryption=scram-sha-256"
        subprocess.run(
            [*as_user, pg_ctl, "-D", str(data), "-l", str(log), "-w", "-t", "60",
             "-o", options, "start"],
            check=True, capture_output=True, timeout=90,
        )  # fmt: skip
        subprocess.run(
            [*as_user, psql, "-h", str(base), "-p", str(port), "-U", "postgres",
             "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-f", str(setup)],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        detail = getattr(error, "stderr", b"") or b""
        if log.exists():
            detail += log.read_bytes()[-2000:]
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60, check=False)  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(
            f"cannot start a PostgreSQL cluster: {error}: {detail.decode(errors='replace')}"
        )
    try:
        yield PasswordCluster(port)
    finally:
        subprocess.run(
            [*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)


def refusal(done: subprocess.CompletedProcess[str]) -> str:
    """The one line the director says when it stops (it exits 1, without a traceback)."""
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("%")]
    return line


def test_a_wrong_password_stops_the_director_with_one_line(
    cluster: PasswordCluster, tmp_path: Path
) -> None:
    process = director(tmp_path)
    line = refusal(start_alone(process, "--database", cluster.url(WRONG)))
    assert f"127.0.0.1:{cluster.port}" in line and USER in line, line
    assert "password authentication failed" in line, line
    assert WRONG not in line and PASSWORD not in line
    assert not (process.data_dir / "director.db").exists()  # no SQLite director instead


def test_the_right_password_is_taken(cluster: PasswordCluster, tmp_path: Path) -> None:
    # the same server and URL with its password: the refusal above was the password's doing
    from smartinstall.store.maintenance import check

    process = director(tmp_path)
    command = [*_command(process), "--database", cluster.url(PASSWORD)]
    process.process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        log = process.wait_for_log("director ready", timeout=60)
        assert f"{USER}:***@127.0.0.1:{cluster.port}/smi opened" in log
        assert PASSWORD not in log
    finally:
        assert process.stop() == 0
    report = check(cluster.url(PASSWORD))
    assert report.ok and report.rows["devices"] == 1, report.render()


def test_a_server_that_does_not_answer_stops_the_director_with_one_line(tmp_path: Path) -> None:
    pytest.importorskip("psycopg", reason="psycopg is not installed (extra: postgresql)")
    port = free_port("127.0.0.1", socket.SOCK_STREAM)  # nobody listens there
    process = director(tmp_path)
    url = f"postgresql://{USER}:{WRONG}@127.0.0.1:{port}/smi"
    line = refusal(start_alone(process, "--database", url))
    assert f"127.0.0.1:{port}" in line and "Connection refused" in line, line
    assert WRONG not in line
