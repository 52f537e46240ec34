"""A real DHCP client (busybox udhcpc) gets an address and the Smart Install options from
our server across a veth pair between two network namespaces made for this test.

Real broadcast DHCP on ports 67/68: the server (``smartinstall dhcp-server``) runs inside
namespace A on its veth end; udhcpc runs in namespace B. The 10.213.x.0/24 addresses exist
only on that veth pair; nothing leaves the namespaces. The options are checked from the
client's own output: udhcpc's event script dumps its environment (``opt125``, ``opt150``,
``bootfile``, ``ip``, ``router``…).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

from smartinstall.store.leases import LeaseStore
from smartinstall.wire.dhcp import decode_vivso, parse_ip_list
from tests.tools import require_program, require_root

SUBNET = f"10.213.{os.getpid() % 200 + 20}"


@dataclass
class Namespaces:
    server: str
    client: str
    server_if: str
    client_if: str


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)


@pytest.fixture
def namespaces() -> Iterator[Namespaces]:
    require_root()
    require_program("ip")
    tag = f"{os.getpid() % 100000}"
    ns = Namespaces(f"si-dhcp-s{tag}", f"si-dhcp-c{tag}", f"sidhs{tag}", f"sidhc{tag}")
    made = _ip("netns", "add", ns.server)
    if made.returncode != 0:
        pytest.skip(f"cannot create a network namespace: {made.stderr.strip()}")
    try:
        steps = [
            ("netns", "add", ns.client),
            ("link", "add", ns.server_if, "type", "veth", "peer", "name", ns.client_if),
            ("link", "set", ns.server_if, "netns", ns.server),
            ("link", "set", ns.client_if, "netns", ns.client),
            ("-n", ns.server, "addr", "add", f"{SUBNET}.1/24", "dev", ns.server_if),
            ("-n", ns.server, "link", "set", "lo", "up"),
            ("-n", ns.server, "link", "set", ns.server_if, "up"),
            ("-n", ns.client, "link", "set", "lo", "up"),
            ("-n", ns.client, "link", "set", ns.client_if, "up"),
        ]
        for step in steps:
            result = _ip(*step)
            if result.returncode != 0:
                pytest.skip(f"cannot set up the veth pair ({' '.join(step)}): {result.stderr}")
        yield ns
    finally:
        _ip("netns", "del", ns.client)
        _ip("netns", "del", ns.server)  # deleting the namespace removes the veth pair


def start_server(ns: Namespaces, data: Path, *extra: str) -> subprocess.Popen[str]:
    with open(data.parent / "server.log", "w") as log:  # the child keeps its own descriptor
        process = _spawn(ns, data, log, *extra)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if "DHCP server listening" in (data.parent / "server.log").read_text():
            return process
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.terminate()
    raise AssertionError((data.parent / "server.log").read_text())


def _spawn(ns: Namespaces, data: Path, log: IO[str], *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            ns.server,
            sys.executable,
            "-m",
            "smartinstall.cli",
            "-v",
            "dhcp-server",
            "--server-address",
            f"{SUBNET}.1",
            "--interface",
            ns.server_if,
            "--pool",
            f"{SUBNET}.0/24",
            "--default-router",
            f"{SUBNET}.1",
            "--exclude",
            f"{SUBNET}.1-{SUBNET}.99",
            "--file-server",
            f"{SUBNET}.1",
            "--data-dir",
            str(data),
            "--imagelist",
            "imagelist.txt",
            "--director",
            f"{SUBNET}.1",
            "--config-file",
            "Switch-1.cfg",
            *extra,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop_server(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def udhcpc(ns: Namespaces, tmp: Path, *extra: str, tries: int = 5) -> dict[str, str] | None:
    """Run udhcpc once; return the environment of its 'bound' event, or None."""
    program = require_program("udhcpc")
    dump = tmp / "env.txt"
    dump.unlink(missing_ok=True)
    script = tmp / "script.sh"
    script.write_text(f'#!/bin/sh\nif [ "$1" = bound ]; then env > {dump}; fi\nexit 0\n')
    script.chmod(0o755)
    subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            ns.client,
            program,
            "-f",
            "-q",
            "-n",
            "-i",
            ns.client_if,
            "-t",
            str(tries),
            "-T",
            "1",
            "-A",
            "1",
            "-s",
            str(script),
            "-O",
            "125",
            "-O",
            "150",
            "-O",
            "67",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if not dump.exists():
        return None
    return dict(line.split("=", 1) for line in dump.read_text().splitlines() if "=" in line)


@pytest.mark.slow
@pytest.mark.needs_root
def test_udhcpc_gets_address_and_smart_install_options(
    namespaces: Namespaces, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    server = start_server(namespaces, data)
    try:
        env = udhcpc(namespaces, tmp_path)
        assert env is not None, (tmp_path / "server.log").read_text()
        address = env["ip"]
        last = int(address.rsplit(".", 1)[1])
        assert address.startswith(SUBNET + ".") and 100 <= last <= 254  # after the exclusion
        assert env["subnet"] == "255.255.255.0"
        assert env["router"].strip() == f"{SUBNET}.1"
        assert env["serverid"] == f"{SUBNET}.1"
        assert env["bootfile"] == "Switch-1.cfg"  # option 67
        assert [str(a) for a in parse_ip_list(bytes.fromhex(env["opt150"]))] == [f"{SUBNET}.1"]
        (block,) = decode_vivso(bytes.fromhex(env["opt125"]))
        assert block.enterprise == 9
        assert block.get(5) == b"imagelist.txt"
        assert block.get(16) == bytes(int(x) for x in f"{SUBNET}.1".split("."))
        # ip dhcp remember: restart the server, the client gets the same address.
        stop_server(server)
        store = LeaseStore(data)
        assert [str(lease.address >> 24) for lease in store] == ["10"]
        store.close_sync()
        server = start_server(namespaces, data)
        again = udhcpc(namespaces, tmp_path)
        assert again is not None and again["ip"] == address
    finally:
        stop_server(server)


@pytest.mark.slow
@pytest.mark.needs_root
def test_coexistence_mode_ignores_other_clients(namespaces: Namespaces, tmp_path: Path) -> None:
    server = start_server(namespaces, tmp_path / "data", "--only-smart-install")
    try:
        assert udhcpc(namespaces, tmp_path, tries=2) is None  # vendor class "udhcp 1.35.0"
        env = udhcpc(namespaces, tmp_path, "-V", "cisco-WS-C2960X-24PS-L")
        assert env is not None and env["bootfile"] == "Switch-1.cfg"
    finally:
        stop_server(server)
