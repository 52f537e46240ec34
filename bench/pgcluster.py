"""A throwaway PostgreSQL cluster for benchmarks (the same recipe as the tests' fixture in
tests/integration/test_store_postgresql.py): Debian's ``initdb``/``pg_ctl`` in a temporary
directory, trust authentication, a free loopback port only; as root it runs as the
``postgres`` user (``runuser``). ``scripts/install-test-tools`` installs PostgreSQL."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def pg_program(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


class ThrowawayCluster:
    def __init__(self, max_connections: int = 200) -> None:
        initdb, pg_ctl = pg_program("initdb"), pg_program("pg_ctl")
        if initdb is None or pg_ctl is None:
            raise RuntimeError("PostgreSQL is not installed (scripts/install-test-tools)")
        self.pg_ctl = pg_ctl
        self.base = Path(tempfile.mkdtemp(prefix="smi-bench-pg-"))
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            postgres = pwd.getpwnam("postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
            os.chown(self.base, postgres.pw_uid, postgres.pw_gid)
        self.base.chmod(0o700)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.data = self.base / "data"
        subprocess.run(
            [*self.as_user, initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres",
             "-E", "UTF8", "--no-sync"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        options = f"-h 127.0.0.1 -p {self.port} -k {self.base} -c max_connections={max_connections}"
        subprocess.run(
            [*self.as_user, pg_ctl, "-D", str(self.data), "-l", str(self.base / "log"), "-w",
             "-t", "60", "-o", options, "start"],
            check=True, capture_output=True, timeout=90,
        )  # fmt: skip

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        subprocess.run(
            [*self.as_user, self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop"],
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        shutil.rmtree(self.base, ignore_errors=True)
