"""The lab's director: ``smartinstall director`` as a real process (:class:`DirectorRunner`) or
the daemon on the lab's own event loop (:class:`InProcessDirector`), its ports picked free at
start, its log in ``data_dir/director.log``; and what a running director is asked over its
console socket (``show vstack internal``, whether its store has committed what it knows).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from smartinstall.director.daemon import DirectorDaemon
from smartinstall.director.terminals import SOCKET_NAME
from smartinstall.services.cli_local import run_lines

READY = "director ready"


def free_port(host: str, kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class DirectorPorts:
    dhcp: int
    relay: int
    tftp: int
    smi: int
    client_smi: int
    client_telnet: int = 23  # the switches' telnet consoles (vstack attach, show vstack client)
    snmp: int = 161  # the director's SNMP agent (on only with snmp-server lines)

    @classmethod
    def pick(cls, address: str) -> DirectorPorts:
        return cls(
            dhcp=free_port(address),
            relay=free_port(address),
            tftp=free_port(address),
            smi=free_port(address, socket.SOCK_STREAM),
            client_smi=free_port(address, socket.SOCK_STREAM),
            client_telnet=free_port(address, socket.SOCK_STREAM),
            snmp=free_port(address),
        )


class _DirectorLog:
    """Where a lab's director writes its log: ``data_dir/director.log``."""

    data_dir: Path

    @property
    def log_file(self) -> Path:
        return self.data_dir / "director.log"

    def log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""


@dataclass
class DirectorRunner(_DirectorLog):
    """``smartinstall director`` as a subprocess; its log goes to ``data_dir/director.log``."""

    data_dir: Path
    address: str
    ports: DirectorPorts
    keepalive: float
    timezone: str
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    wrapper: tuple[str, ...] = ()  # e.g. ("ip", "netns", "exec", <namespace>)
    extra: tuple[str, ...] = ()  # more `smartinstall director` options
    env: dict[str, str] = field(default_factory=dict)  # more environment (e.g. a crash point)

    def command(self) -> list[str]:
        """The ``smartinstall director`` command line (without the :attr:`wrapper`)."""
        p = self.ports
        return [
            sys.executable, "-m", "smartinstall.cli", "director",
            "--data-dir", str(self.data_dir), "--address", self.address,
            "--dhcp-port", str(p.dhcp), "--dhcp-relay-port", str(p.relay),
            "--tftp-port", str(p.tftp), "--smi-port", str(p.smi),
            "--client-smi-port", str(p.client_smi), "--client-telnet-port", str(p.client_telnet),
            "--snmp-port", str(p.snmp), "--keepalive", str(self.keepalive),
            "--timezone", self.timezone, "--log-file", str(self.log_file), *self.extra,
        ]  # fmt: skip

    async def start(self, timeout: float = 60.0) -> None:
        before = self.log().count(READY)
        self.process = subprocess.Popen(
            [*self.wrapper, *self.command()],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, **self.env} if self.env else None,
        )
        self.starts += 1
        deadline = time.monotonic() + timeout
        while self.log().count(READY) <= before:
            if self.process.poll() is not None:
                raise LabError(
                    f"the director exited ({self.process.returncode}); see {self.log_file}"
                )
            if time.monotonic() > deadline:
                raise LabError(
                    f"the director was not ready within {timeout:.0f}s; see {self.log_file}"
                )
            await asyncio.sleep(0.05)

    async def until_exit(self, timeout: float) -> int | None:
        """Wait for the process to end by itself (a crash point); its return code, or None
        when it still runs after ``timeout`` seconds."""
        process = self.process
        if process is None:
            return None
        deadline = time.monotonic() + timeout
        while process.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if process.poll() is None:
            return None
        self.process = None
        return process.returncode

    async def stop(self, sig: int = signal.SIGTERM) -> int | None:
        process, self.process = self.process, None
        if process is None:
            return None
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
        deadline = time.monotonic() + 15
        while process.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if process.poll() is None:
            process.kill()
            process.wait()
        return process.returncode


class InProcessDirector(_DirectorLog):
    """The director daemon on the lab's own event loop (tests that call the core directly,
    e.g. ``vstack on-hold-clients install`` or on-demand downloads, before the operator CLI
    reaches a running director). Same interface as :class:`DirectorRunner`; its log goes to
    ``data_dir/director.log`` too."""

    def __init__(
        self, data_dir: Path, address: str, ports: DirectorPorts, keepalive: float, timezone: str
    ) -> None:
        self.data_dir = data_dir
        self.address = address
        self.ports = ports
        self.keepalive = keepalive
        self.timezone = timezone
        self.daemon: DirectorDaemon | None = None
        self.starts = 0
        self._serving: asyncio.Task[None] | None = None
        self._handler: logging.Handler | None = None
        self._level = logging.NOTSET

    async def start(self, timeout: float = 60.0) -> None:
        del timeout
        from zoneinfo import ZoneInfo

        from smartinstall.director.daemon import DaemonOptions, DirectorDaemon

        if self._handler is None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            handler = logging.FileHandler(self.log_file)
            handler.setLevel(logging.INFO)
            handler.setFormatter(
                logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s")
            )
            package = logging.getLogger("smartinstall")
            self._level = package.level
            if package.getEffectiveLevel() > logging.INFO:
                package.setLevel(logging.INFO)
            package.addHandler(handler)
            self._handler = handler
        p = self.ports
        options = DaemonOptions(
            data_dir=self.data_dir, address=self.address, dhcp_port=p.dhcp,
            dhcp_relay_port=p.relay, tftp_port=p.tftp, smi_port=p.smi,
            client_smi_port=p.client_smi, client_telnet_port=p.client_telnet,
            snmp_port=p.snmp, keepalive=self.keepalive,
            timezone=ZoneInfo(self.timezone),
        )  # fmt: skip
        daemon = DirectorDaemon(options)
        await daemon.start()
        self.daemon = daemon
        self.starts += 1
        logging.getLogger("smartinstall.director.daemon").info(READY)
        # the daemon's own timers (join window, health, settings changes), as in the process
        self._serving = asyncio.get_running_loop().create_task(daemon.serve())

    async def stop(self, sig: int = signal.SIGTERM) -> int | None:
        del sig
        daemon, self.daemon = self.daemon, None
        if daemon is None:
            return None
        daemon.request_stop()
        if self._serving is not None:
            await self._serving
            self._serving = None
        await daemon.stop()
        return 0

    def close_log(self) -> None:
        if self._handler is not None:
            package = logging.getLogger("smartinstall")
            package.removeHandler(self._handler)
            package.setLevel(self._level)
            self._handler.close()
            self._handler = None


class LabError(RuntimeError):
    """The lab could not start; the message is one line."""


_INTERNAL_LINE = re.compile(r"^(\S.*?)\s+: (.*)$", re.MULTILINE)


def read_internals(data_dir: Path, timeout: float = 10.0) -> dict[str, str] | None:
    """``show vstack internal`` of a running director, asked through its console socket, as
    {label: value}; None when the director cannot be asked."""
    try:
        output, _ = run_lines(data_dir / SOCKET_NAME, "show vstack internal\n", timeout)
    except OSError:
        return None
    return dict(_INTERNAL_LINE.findall(output))


def wait_until_committed(data_dir: Path, timeout: float = 10.0) -> bool:
    """Until a running director has committed every change it made so far, so that its
    database shows them. False when the director cannot be asked or did not catch up."""
    deadline = time.monotonic() + timeout
    while True:
        internals = read_internals(data_dir, timeout)
        if internals is None:
            return False
        if internals.get("Store: changes pending") == "0" and internals.get(
            "Store: changes submitted"
        ) == internals.get("Store: changes committed"):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
