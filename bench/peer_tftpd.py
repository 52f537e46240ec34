"""tftp-hpa (``in.tftpd --listen``, a process per transfer) on a loopback address, with its CPU
counted over every process it forks (see bench/cpuacct.py), as bench/tftp.py runs it."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from cpuacct import CpuGroup, TreeSampler


def find_in_tftpd() -> str | None:
    for path in (shutil.which("in.tftpd"), "/usr/sbin/in.tftpd", "/sbin/in.tftpd"):
        if path and os.access(path, os.X_OK):
            return path
    return None


def free_udp_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class TftpHpa:
    """``with TftpHpa(root, host) as server:`` ... ``server.port``, ``server.cpu()``."""

    def __init__(self, root: Path, host: str) -> None:
        program = find_in_tftpd()
        if program is None:
            raise FileNotFoundError("in.tftpd (tftp-hpa) is missing: scripts/install-test-tools")
        self.host = host
        self.port = free_udp_port(host)
        self.argv = [
            program,
            "--foreground",
            "--listen",
            "--address",
            f"{host}:{self.port}",
            "--secure",
        ]
        if os.geteuid() == 0:
            self.argv += ["--user", "root"]
        self.argv.append(str(root))
        self.group: CpuGroup | None = None
        self.sampler: TreeSampler | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.method = ""  # how cpu() counts: cgroup | process tree

    def __enter__(self) -> TftpHpa:
        self.group = CpuGroup.create("tftp-hpa")
        self.method = "cgroup" if self.group is not None else "process tree"
        group = self.group
        self.proc = subprocess.Popen(
            self.argv,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=group.enter_current if group is not None else None,
        )
        self.sampler = TreeSampler(self.proc.pid)
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def wait_ready(self, timeout: float = 10.0) -> None:
        """The server is up once it answers a request for a missing file."""
        deadline = time.monotonic() + timeout
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(0.2)
            while time.monotonic() < deadline:
                sock.sendto(b"\x00\x01no-such-file\x00octet\x00", (self.host, self.port))
                try:
                    sock.recvfrom(600)
                    return
                except TimeoutError:
                    continue
        raise RuntimeError(f"in.tftpd did not answer on {self.host}:{self.port}")

    def cpu(self) -> float:
        """CPU seconds of in.tftpd and every transfer process it forked so far."""
        if self.group is not None:
            return self.group.cpu()
        assert self.sampler is not None
        return self.sampler.cpu()

    def sample(self) -> None:
        """Between cpu() readings, when there is no cgroup: catch short-lived children."""
        if self.group is None and self.sampler is not None:
            with contextlib.suppress(OSError, ValueError, IndexError):
                self.sampler.sample()

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if self.group is not None:
            for pid in self.group.pids():  # transfer processes left behind, if any
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.group.remove()
            self.group = None
