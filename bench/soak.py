#!/usr/bin/env python3
"""Fuzz + flood soak: a real director process under every attack of the threat model at once,
while honest switches install and an operator works.

For ``--seconds`` (60), all on loopback (127.0.0.0/8), against one ``smartinstall director``
process (its own data directory and address, see :mod:`smartinstall.lab.runner`):

* **SMI fuzz** to the director's Smart Install port (4786 when free on its address): random
  bytes, mutated valid client reports (bytes flipped, cut, extended, length word lied about,
  message type changed) and CVE-2018-0171-style payloads (type 7 whose length covers only the
  first TLV, oversized or overflowing TLVs; type 3 oversized, with a huge length word, or with
  unterminated text slots), from a few attacker addresses, several connections at once;
* **DHCP flood**: DISCOVERs of invented MACs through one relay port (option 82);
* **TFTP flood**: reads from one source, each from a port of its own, never acknowledged;
* **forged SMI reports**: KEEPALIVE, HELLO and WRITE_MEMORY carrying a real switch's MAC
  from another address;

while honest emulated switches power on in waves and go through zero touch (image,
configuration, reload), and an operator logs in over SSH and runs ``show vstack status``
every few seconds. The three floods run in a process of their own (an attacker is another
host); the switches, the forger and the operator run here. Every loop is bounded in count
and time.

At the end: packets and messages sent per kind, the director's restarts and whether it still
runs and answers (console and SSH), honest installs completed and failed, operator logins and
their worst latency, the director's RSS before and after (``/proc/<pid>/status``), and the
bytes its log grew by. Writes ``bench/results/soak-<UTC time>/soak.json`` and ``soak.md``.

    .venv/bin/python bench/soak.py [--seconds 60] [--waves 4] [--per-wave 3] [--image-mib 16]
        [--dhcp-rate 1000] [--tftp-rate 200] [--smi-rate 400] [--smi-connections 8]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import random
import re
import socket
import struct
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import asyncssh
import yaml

from smartinstall.lab.runner import DirectorRunner, Lab, free_port, read_internals
from smartinstall.lab.topology import LabTopology, parse_topology
from smartinstall.services.smi import SmiClientSender, SmiSendError
from smartinstall.services.tftp_limits import raise_fd_limit
from smartinstall.switch.machine import State
from smartinstall.wire import smi_client, tftp
from smartinstall.wire.dhcp import (
    DhcpPacket,
    MessageType,
    Opt,
    RelayAgentInfo,
    encode_relay_agent_info,
)
from smartinstall.wire.smi import HEADER_SIZE, Header, Tlv, encode_tlvs

HERE = Path(__file__).resolve().parent
PID = "WS-C2960X-48FPS-L"
IMAGE = "c2960x-universalk9-tar.152-7.E9.tar"
SMI_PORT = 4786
USER = "admin"
PASSWORD = "s3cret-Soak"
OPERATOR_HOST = 250  # the operator's workstation: prefix.250
FORGER_HOST = 67
TFTP_FLOOD_HOST = 66
DHCP_RELAY_HOST = 254  # giaddr of the flooded relay; it sends from prefix.253
SMI_FUZZ_HOSTS = range(200, 208)
FIRST_SWITCH_HOST = 11
TICK = 0.01  # the floods send a burst every 10 ms
LOG_KEPT = 8 << 20  # the director's log is copied to the results (its last 8 MiB)


# ----------------------------------------------------------------------------- the attacker


@dataclass
class AttackSpec:
    """What the attacker process is told (JSON on a file)."""

    prefix: str
    director: str
    smi_port: int
    dhcp_port: int
    tftp_port: int
    seconds: float
    dhcp_rate: int
    tftp_rate: int
    smi_rate: int
    smi_connections: int
    tftp_sockets: int
    seed: int


@dataclass
class AttackCounts:
    """What the attacker process sent and saw."""

    smi_messages: Counter[str] = field(default_factory=Counter)  # sent, per kind
    smi_bytes: int = 0
    smi_connections: int = 0
    smi_connect_failed: int = 0  # refused, reset or timed out before a byte was sent
    smi_answered: int = 0  # the director sent something back
    smi_closed_silent: int = 0  # closed (or reset) without an answer
    smi_no_answer: int = 0  # still open and silent when the attacker gave up
    dhcp_sent: int = 0
    dhcp_send_errors: int = 0
    tftp_sent: int = 0
    tftp_send_errors: int = 0
    tftp_busy_seen: int = 0  # sockets answered "Server busy" (sampled when closed)
    seconds: float = 0.0


class Budget:
    """A send rate: how many may go now, and a total never passed."""

    def __init__(self, rate: int, total: int) -> None:
        self.rate = rate
        self.total = total
        self.taken = 0
        self.start = time.monotonic()

    def allowed(self) -> int:
        due = min(self.total, int((time.monotonic() - self.start) * self.rate) + 1)
        return max(0, due - self.taken)

    def take(self, count: int = 1) -> None:
        self.taken += count

    @property
    def spent(self) -> bool:
        return self.taken >= self.total


def _client_messages(rng: random.Random) -> list[bytes]:
    """Valid client reports for invented MACs (the fuzzer mutates them)."""
    mac = f"0000.5e{rng.randrange(256):02x}.{rng.randrange(65536):04x}"
    seq = rng.randrange(1, 1 << 31)
    messages: list[smi_client.ClientMessage] = [
        smi_client.Hello(
            sequence=seq,
            mac=mac,
            pid=PID,
            serial=f"FOC{rng.randrange(10**8):08d}",
            sw_version="15.2(7)E9",
            image="C2960X-UNIVERSALK9-M",
            hostname="fuzz",
            ip="127.0.0.9",
            has_startup_config=rng.random() < 0.5,
            stack=(smi_client.StackMember(number=1, pid=PID, mac=mac),),
        ),
        smi_client.Keepalive(sequence=seq, mac=mac, ip="127.0.0.9", uptime=rng.randrange(9999)),
        smi_client.WriteMemory(sequence=seq, mac=mac, hostname="fuzz"),
        smi_client.BackupResult(sequence=seq, mac=mac, success=rng.random() < 0.5),
        smi_client.NeighborReport(
            sequence=seq,
            mac=mac,
            neighbors=(smi_client.Neighbor(local_port="Gi1/0/1", mac=mac, device_id="x"),),
        ),
        smi_client.UpgradeStatus(sequence=seq, mac=mac),
    ]
    return [m.encode() for m in messages]


def mutated(rng: random.Random) -> bytes:
    """A valid client report, then broken in one or two ways."""
    data = bytearray(rng.choice(_client_messages(rng)))
    for _ in range(rng.randint(1, 2)):
        how = rng.randrange(7)
        if how == 0:  # flip bytes
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif how == 1 and len(data) > 1:  # cut
            del data[rng.randrange(1, len(data)) :]
        elif how == 2:  # extend
            data += rng.randbytes(rng.randint(1, 600))
        elif how == 3 and len(data) >= HEADER_SIZE:  # lie in the length word
            length = struct.unpack_from(">I", data, 12)[0]
            lie = rng.choice([0, 1, 0xFFFFFFFF, 0x7FFFFFFF, length + rng.randint(-8, 8) & 0xFFFF])
            struct.pack_into(">I", data, 12, lie & 0xFFFFFFFF)
        elif how == 4 and len(data) >= HEADER_SIZE:  # another type, sender or version
            offset = rng.choice([0, 4, 8])
            value = rng.choice([0, 1, 2, 3, 4, 5, 7, 8, 0x101, 0x106, 0x1234, 0xFFFFFFFF])
            struct.pack_into(">I", data, offset, value)
        elif how == 5 and len(data) > HEADER_SIZE + 8:  # a TLV length past the payload
            at = rng.randrange(HEADER_SIZE, len(data) - 8)
            struct.pack_into(">I", data, at, rng.choice([0xFFFFFFFF, 0x10000, len(data)]))
        else:  # the message twice on one connection
            data.extend(bytes(data))
    return bytes(data)


def cve_style(rng: random.Random) -> bytes:
    """CVE-2018-0171-shaped payloads: type 7 (init discovery) and type 3 (download config)."""
    sender = rng.choice([1, 2, 4])
    how = rng.randrange(6)
    if how == 0:  # the proof of concept: the length word covers the first TLV only
        first = Tlv(1, b"\x00\x00\x00\x01")
        big = Tlv(2, b"A" * rng.choice([600, 1200, 3000, 8000]))
        payload = encode_tlvs([first, big])
        return Header(sender, 1, 7, len(first.encode())).encode() + payload
    if how == 1:  # framed, one TLV far longer than any client holds
        payload = encode_tlvs([Tlv(rng.choice([1, 2, 3, 16]), b"\x41" * rng.randint(256, 4000))])
        return Header(sender, 1, 7, len(payload)).encode() + payload
    if how == 2:  # a TLV length word of 4 GiB, or thousands of empty TLVs
        if rng.random() < 0.5:
            payload = struct.pack(">II", 1, 0xFFFFFFFF) + b"B" * 64
        else:
            payload = struct.pack(">II", 0, 0) * rng.randint(500, 4000)
        return Header(sender, 1, 7, len(payload)).encode() + payload
    if how == 3:  # type 3 far larger than its 296 bytes
        payload = b"tftp://127.0.0.66/" + b"C" * rng.randint(300, 6000)
        return Header(sender, 1, 3, len(payload)).encode() + payload
    if how == 4:  # type 3 with a huge length word and what fits in a segment
        length = rng.choice([0xFFFFFFFF, 0x7FFFFFF0, 0x01000000])
        return Header(sender, 1, 3, length).encode() + b"D" * rng.randint(0, 2000)
    # type 3 of the right size whose text slots are never terminated
    return Header(sender, 1, 3, 296).encode() + b"E" * 296


def random_bytes(rng: random.Random) -> bytes:
    if rng.random() < 0.3:  # a plausible header, random rest
        length = rng.randint(0, 1200)
        head = Header(rng.choice([1, 2, 4]), rng.choice([0, 1, 0x13]), rng.randrange(0x110), length)
        return head.encode() + rng.randbytes(rng.randint(0, 1200))
    return rng.randbytes(rng.randint(1, 2048))


FUZZ_KINDS: dict[str, Callable[[random.Random], bytes]] = {
    "smi random bytes": random_bytes,
    "smi mutated report": mutated,
    "smi CVE-2018-0171 type 7/3": cve_style,
}


async def smi_fuzzer(spec: AttackSpec, counts: AttackCounts, budget: Budget, index: int) -> None:
    """One of `spec.smi_connections` fuzzing connections at a time."""
    rng = random.Random(spec.seed * 1000 + index)
    kinds = list(FUZZ_KINDS)
    deadline = time.monotonic() + spec.seconds
    while time.monotonic() < deadline and not budget.spent:
        if budget.allowed() <= 0:
            await asyncio.sleep(TICK)
            continue
        budget.take()
        kind = kinds[rng.randrange(len(kinds))]
        data = FUZZ_KINDS[kind](rng)
        source = f"{spec.prefix}.{rng.choice(SMI_FUZZ_HOSTS)}"
        try:
            async with asyncio.timeout(2.0):
                reader, writer = await asyncio.open_connection(
                    spec.director, spec.smi_port, local_addr=(source, 0)
                )
        except (OSError, TimeoutError):
            counts.smi_connect_failed += 1
            continue
        counts.smi_connections += 1
        try:
            writer.write(data)
            counts.smi_messages[kind] += 1
            counts.smi_bytes += len(data)
            if rng.random() < 0.5:
                writer.write_eof()
            async with asyncio.timeout(0.5):
                reply = await reader.read(4096)
            if reply:
                counts.smi_answered += 1
            else:
                counts.smi_closed_silent += 1
        except TimeoutError:
            counts.smi_no_answer += 1
        except OSError:
            counts.smi_closed_silent += 1
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


def dhcp_discover(mac: bytes, xid: int, giaddr: str, extra: list[tuple[int, bytes]]) -> bytes:
    packet = DhcpPacket(
        xid=xid,
        chaddr=mac + bytes(16 - len(mac)),
        giaddr=socket.inet_aton(giaddr),
        options=[
            (int(Opt.MESSAGE_TYPE), bytes([MessageType.DISCOVER])),
            (int(Opt.VENDOR_CLASS), f"cisco-{PID}".encode()),
            *extra,
        ],
    )
    return packet.encode()


async def dhcp_flood(spec: AttackSpec, counts: AttackCounts) -> None:
    """DISCOVERs of invented MACs through port Gi1/0/48 of one relay (option 82); the offers
    go to the relay's address, where nobody reads them."""
    rng = random.Random(spec.seed + 1)
    giaddr = f"{spec.prefix}.{DHCP_RELAY_HOST}"
    info = RelayAgentInfo(((1, b"GigabitEthernet1/0/48"), (2, b"0023.5e32.3780")))
    extra = [(int(Opt.RELAY_AGENT_INFO), encode_relay_agent_info(info))]
    budget = Budget(spec.dhcp_rate, int(spec.dhcp_rate * spec.seconds))
    deadline = time.monotonic() + spec.seconds
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        sock.bind((f"{spec.prefix}.{DHCP_RELAY_HOST - 1}", 0))
        while time.monotonic() < deadline and not budget.spent:
            for _ in range(budget.allowed()):
                mac = bytes([0x00, 0x1B, 0x2A]) + rng.randbytes(3)
                try:
                    sock.sendto(
                        dhcp_discover(mac, rng.getrandbits(32), giaddr, extra),
                        (spec.director, spec.dhcp_port),
                    )
                    counts.dhcp_sent += 1
                except OSError:
                    counts.dhcp_send_errors += 1
                budget.take()
            await asyncio.sleep(TICK)


async def tftp_flood(spec: AttackSpec, counts: AttackCounts) -> None:
    """Reads of the image from one source, each from its own port, never acknowledged; at most
    `spec.tftp_sockets` stay open (the oldest is closed for a new one)."""
    request = tftp.encode_request(tftp.Opcode.RRQ, IMAGE, tftp.Mode.OCTET)
    busy = tftp.encode_error(tftp.ErrorCode.NOT_DEFINED, "Server busy")
    source = f"{spec.prefix}.{TFTP_FLOOD_HOST}"
    budget = Budget(spec.tftp_rate, int(spec.tftp_rate * spec.seconds))
    socks: list[socket.socket] = []
    deadline = time.monotonic() + spec.seconds

    def retire(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while True:
                if sock.recv(70000) == busy:
                    counts.tftp_busy_seen += 1
                    break
        sock.close()

    try:
        while time.monotonic() < deadline and not budget.spent:
            for _ in range(budget.allowed()):
                if len(socks) >= spec.tftp_sockets:
                    retire(socks.pop(0))
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sock.setblocking(False)
                sock.bind((source, 0))
                socks.append(sock)
                try:
                    sock.sendto(request, (spec.director, spec.tftp_port))
                    counts.tftp_sent += 1
                except OSError:
                    counts.tftp_send_errors += 1
                budget.take()
            await asyncio.sleep(TICK)
    finally:
        for sock in socks:
            retire(sock)


async def attack(spec: AttackSpec) -> AttackCounts:
    counts = AttackCounts()
    start = time.monotonic()
    budget = Budget(spec.smi_rate, int(spec.smi_rate * spec.seconds))
    async with asyncio.TaskGroup() as group:
        group.create_task(dhcp_flood(spec, counts))
        group.create_task(tftp_flood(spec, counts))
        for index in range(spec.smi_connections):
            group.create_task(smi_fuzzer(spec, counts, budget, index))
    counts.seconds = time.monotonic() - start
    return counts


def attacker_main(spec_path: Path, out_path: Path) -> int:
    spec = AttackSpec(**json.loads(spec_path.read_text()))
    raise_fd_limit()
    counts = asyncio.run(attack(spec))
    data = {**asdict(counts), "smi_messages": dict(counts.smi_messages)}
    out_path.write_text(json.dumps(data))
    return 0


# ------------------------------------------------------------------------- the honest side


@dataclass
class OperatorCounts:
    logins: int = 0
    failed: int = 0
    latencies: list[float] = field(default_factory=list)  # login + show vstack status, s
    errors: Counter[str] = field(default_factory=Counter)


@dataclass
class ForgeCounts:
    sent: Counter[str] = field(default_factory=Counter)
    refused: int = 0  # error acknowledgement (status != 0)
    accepted: int = 0  # status 0: the forgery was taken
    no_answer: int = 0
    reasons: Counter[str] = field(default_factory=Counter)


async def operator(
    address: str, port: int, source: str, every: float, until: float, counts: OperatorCounts
) -> None:
    """Log in over SSH and run `show vstack status`, every `every` seconds until `until`."""
    while time.monotonic() < until:
        started = time.monotonic()
        try:
            output = await operator_once(address, port, source)
            if "MAC" not in output and "Director" not in output:
                raise ValueError("no show vstack status table")
            counts.logins += 1
            counts.latencies.append(time.monotonic() - started)
        except (OSError, asyncssh.Error, TimeoutError, ValueError) as error:
            counts.failed += 1
            counts.errors[type(error).__name__ + ": " + str(error)[:80]] += 1
        await asyncio.sleep(max(0.0, every - (time.monotonic() - started)))


async def operator_once(address: str, port: int, source: str, timeout: float = 10.0) -> str:
    async with asyncio.timeout(timeout):
        async with asyncssh.connect(
            address, port, username=USER, password=PASSWORD, known_hosts=None,
            client_keys=None, local_addr=(source, 0), login_timeout=timeout,
        ) as conn:  # fmt: skip
            result = await conn.run("show vstack status", check=False)
    if result.exit_status != 0:
        raise ValueError(f"exit status {result.exit_status}: {result.stderr!r}")
    return str(result.stdout)


async def forger(
    lab: Lab, victim: str, source: str, rate: float, until: float, counts: ForgeCounts
) -> None:
    """Once the victim switch is up: KEEPALIVE, HELLO and WRITE_MEMORY with its MAC, from
    `source`, `rate` a second, until `until`."""
    switch = lab.switch(victim)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(max(0.1, until - time.monotonic())):
            await switch.wait_for(lambda s: s.state is State.RUNNING and bool(s.ip), 3600)
    sender = SmiClientSender(
        lab.director.address, lab.director.ports.smi, local_host=source, timeout=3.0
    )
    mac = switch.mac
    sequence = 1
    while time.monotonic() < until:
        sequence += 1
        kind = ("keepalive", "hello", "write memory")[sequence % 3]
        message: smi_client.ClientMessage
        if kind == "keepalive":
            message = smi_client.Keepalive(sequence=sequence, mac=mac, ip=source, uptime=sequence)
        elif kind == "hello":
            message = smi_client.Hello(
                sequence=sequence, mac=mac, pid=PID, serial="FOC1234X0AB",
                sw_version="15.2(7)E9", image="C2960X-UNIVERSALK9-M", hostname=victim,
                ip=source, has_startup_config=True,
            )  # fmt: skip
        else:
            message = smi_client.WriteMemory(sequence=sequence, mac=mac, hostname=victim, ip=source)
        counts.sent[kind] += 1
        try:
            ack = await sender.send(message)
        except SmiSendError as error:
            counts.no_answer += 1
            counts.reasons[str(error)[:60]] += 1
        else:
            if ack.status == 0:
                counts.accepted += 1
            else:
                counts.refused += 1
                counts.reasons[ack.reason[:60]] += 1
        await asyncio.sleep(1.0 / rate)


# ------------------------------------------------------------------------------- the lab


def director_config(prefix: str, ssh_port: int) -> str:
    return f"""hostname Director
vstack dhcp-localserver soak
 address-pool {prefix}.0 255.255.255.0
 default-router {prefix}.1
 file-server {prefix}.1
!
ip dhcp remember
vstack director {prefix}.1
vstack basic
vstack image flash:{IMAGE}
vstack config flash:default.txt
username {USER} privilege 15 secret {PASSWORD}
ip ssh server port {ssh_port}
"""


def make_topology(
    work: Path, prefix: str, ssh_port: int, count: int, image_mib: int
) -> LabTopology:
    (work / "startup-config").write_text(director_config(prefix, ssh_port))
    switches = []
    for i in range(count):
        host = FIRST_SWITCH_HOST + i
        switches.append({
            "name": f"sw{i + 1}", "pid": PID, "mac": f"0050.56e0.{host:04x}",
            "address": f"{prefix}.{host}",
            "upstream": {"device": "director", "interface": f"GigabitEthernet1/0/{host % 48 + 1}"},
        })  # fmt: skip
    data: dict[str, Any] = {
        "director": {
            "address": f"{prefix}.1",
            "hostname": "Director",
            "config": "startup-config",
            "timezone": "UTC",
        },
        "switches": switches,
        "lab": {
            "images": {IMAGE: image_mib << 20},
            "files": {
                "default.txt": "vlan 10\n name DEFAULT\n!\ninterface Vlan1\n"
                " ip address dhcp\n!\nend\n",
            },
            "clock": "10:00",
            "keepalive": 2,
        },
    }
    return parse_topology(yaml.safe_dump(data, sort_keys=False), base=work)


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, KiB (empty when it is gone)."""
    out: dict[str, int] = {}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return out
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def children_rss_kib(pid: int) -> int:
    """The RSS of the director's child processes (TFTP workers), KiB."""
    total = 0
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += proc_status(int(child)).get("VmRSS", 0)
    return total


def log_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


_VOLATILE = re.compile(r"\d+(\.\d+)*|[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}")


def log_summary(text: str) -> dict[str, Any]:
    """Lines by level, tracebacks, and the most frequent warning shapes (numbers masked)."""
    levels: Counter[str] = Counter()
    shapes: Counter[str] = Counter()
    for line in text.splitlines():
        parts = line.split(" ", 4)
        level = parts[3] if len(parts) > 4 else "?"
        levels[level] += 1
        if level in ("WARNING", "ERROR", "CRITICAL"):
            shapes[_VOLATILE.sub("N", parts[4])[:110]] += 1
    return {
        "lines": sum(levels.values()),
        "levels": dict(levels),
        "tracebacks": text.count("Traceback (most recent call last)"),
        "top_warnings": shapes.most_common(12),
    }


@dataclass
class Result:
    stamp: str
    seconds: float
    prefix: str
    python: str
    kernel: str
    cores: int
    attack: dict[str, Any]
    forged: dict[str, Any]
    victim_kept_address: bool
    devices_at_end: int  # the director's device table (honest switches, admitted flood MACs)
    installs_started: int
    installs_completed: int  # while the attacks ran
    installs_completed_after: int  # in the grace period after them
    installs_failed: int
    installs_unfinished: int
    install_seconds: list[float]
    operator_logins: int
    operator_failed: int
    operator_worst_s: float | None
    operator_median_s: float | None
    operator_errors: dict[str, int]
    director_starts: int
    director_running: bool
    director_answers_console: bool
    director_answers_ssh: bool
    director_crashes: int
    rss_before_kib: int
    rss_after_kib: int
    hwm_after_kib: int
    children_rss_before_kib: int
    children_rss_after_kib: int
    log_bytes_before: int
    log_bytes_written: int
    log: dict[str, Any]
    notes: list[str] = field(default_factory=list)


async def soak(args: argparse.Namespace, stamp: str, out: Path) -> Result:
    prefix = f"127.{random.randint(60, 250)}.{random.randint(1, 250)}"
    address = f"{prefix}.1"
    ssh_port = free_port(address, socket.SOCK_STREAM)
    count = args.waves * args.per_wave
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="smartinstall-soak-") as tmp:
        work = Path(tmp)
        topo = make_topology(work, prefix, ssh_port, count, args.image_mib)
        lab = Lab(topo, work / "lab", dhcp_retry=0.5)
        director = lab.director
        assert isinstance(director, DirectorRunner)
        with contextlib.suppress(OSError):  # the SMI port of the guide, when it is free
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.bind((address, SMI_PORT))
            director.ports.smi = SMI_PORT
        try:
            await lab.start(power_on=False)
            process = director.process
            assert process is not None
            pid = process.pid
            await asyncio.sleep(1.0)  # the director settles (its first timers, workers)
            before = proc_status(pid)
            children_before = children_rss_kib(pid)
            log_before = log_size(director.log_file)
            ready_before = director.log().count("director ready")

            spec = AttackSpec(
                prefix=prefix, director=address, smi_port=director.ports.smi,
                dhcp_port=director.ports.dhcp, tftp_port=director.ports.tftp,
                seconds=args.seconds, dhcp_rate=args.dhcp_rate, tftp_rate=args.tftp_rate,
                smi_rate=args.smi_rate, smi_connections=args.smi_connections,
                tftp_sockets=args.tftp_sockets, seed=args.seed,
            )  # fmt: skip
            spec_path, out_path = work / "attack.json", work / "attack-counts.json"
            spec_path.write_text(json.dumps(asdict(spec)))
            start = time.monotonic()
            until = start + args.seconds
            attacker = await asyncio.create_subprocess_exec(
                sys.executable, str(Path(__file__).resolve()), "--attack", str(spec_path),
                str(out_path),
            )  # fmt: skip

            op_counts, forge_counts = OperatorCounts(), ForgeCounts()
            tasks = [
                asyncio.create_task(operator(
                    address, ssh_port, f"{prefix}.{OPERATOR_HOST}", args.ssh_every, until,
                    op_counts,
                )),
                asyncio.create_task(forger(
                    lab, "sw1", f"{prefix}.{FORGER_HOST}", args.forge_rate, until, forge_counts,
                )),
            ]  # fmt: skip
            powered: dict[str, float] = {}
            done_at: dict[str, float] = {}
            names = list(lab.runs)
            # waves in the first two thirds of the window, so the last one can finish in it
            spacing = args.seconds * 2 / 3 / max(1, args.waves)
            crashed_at: float | None = None
            waves = [start + wave * spacing for wave in range(args.waves)]
            while time.monotonic() < until:
                while waves and time.monotonic() >= waves[0]:
                    wave = args.waves - len(waves)
                    waves.pop(0)
                    batch = names[wave * args.per_wave : (wave + 1) * args.per_wave]
                    lab.power_on(batch, staged=False)
                    for name in batch:
                        powered[name] = time.monotonic()
                for row in lab.rows():
                    if row.done and row.name in powered and row.name not in done_at:
                        done_at[row.name] = time.monotonic()
                if process.poll() is not None and crashed_at is None:
                    crashed_at = time.monotonic() - start
                await asyncio.sleep(0.25)
            during = len(done_at)
            try:
                async with asyncio.timeout(30):
                    await attacker.wait()
            except TimeoutError:
                attacker.kill()
                await attacker.wait()
                notes.append("the attacker process did not end in time and was killed")
            if attacker.returncode != 0:
                notes.append(f"the attacker process exited with status {attacker.returncode}")
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

            # after the attacks: give unfinished installs a grace period, then check
            grace_end = time.monotonic() + args.grace
            while time.monotonic() < grace_end and len(done_at) < len(powered):
                for row in lab.rows():
                    if row.done and row.name in powered and row.name not in done_at:
                        done_at[row.name] = time.monotonic()
                await asyncio.sleep(0.5)
            rows = lab.rows()
            failed = sum(
                1
                for r in rows
                if r.name not in done_at and "FAILED" in (r.image, r.config, r.script)
            )
            running = process.poll() is None
            after = proc_status(pid)
            children_after = children_rss_kib(pid)
            console_ok = await asyncio.to_thread(read_internals, director.data_dir) is not None
            try:
                await operator_once(address, ssh_port, f"{prefix}.{OPERATOR_HOST}")
                ssh_ok = True
            except (OSError, asyncssh.Error, TimeoutError, ValueError) as error:
                ssh_ok = False
                notes.append(f"the final SSH login failed: {error!r}")
            victim = lab.database().device_by_mac(lab.switch("sw1").mac)
            victim_kept = victim is not None and victim.ip == lab.switch("sw1").ip
            devices = len(lab.database().devices())
            log_text = director.log()
            restarts = log_text.count("director ready") - ready_before
            attack_counts = (
                json.loads(out_path.read_text()) if out_path.exists() else {"missing": True}
            )
            if crashed_at is not None:
                notes.append(f"the director process exited {crashed_at:.1f} s into the soak")
        finally:
            await lab.stop()
        log_after = log_size(director.log_file)
        with open(director.log_file, "rb") as source:  # the evidence, beside the results
            source.seek(max(0, log_after - LOG_KEPT))
            (out / "director.log").write_bytes(source.read())

    latencies = sorted(op_counts.latencies)
    return Result(
        stamp=stamp, seconds=args.seconds, prefix=prefix,
        python=platform.python_version(), kernel=platform.release(), cores=os.cpu_count() or 0,
        attack=attack_counts,
        forged={
            "sent": dict(forge_counts.sent), "refused": forge_counts.refused,
            "accepted": forge_counts.accepted, "no_answer": forge_counts.no_answer,
            "reasons": dict(forge_counts.reasons),
        },
        victim_kept_address=victim_kept,
        devices_at_end=devices,
        installs_started=len(powered),
        installs_completed=during,
        installs_completed_after=len(done_at) - during,
        installs_failed=failed,
        installs_unfinished=len(powered) - len(done_at) - failed,
        install_seconds=[round(done_at[n] - powered[n], 1) for n in powered if n in done_at],
        operator_logins=op_counts.logins,
        operator_failed=op_counts.failed,
        operator_worst_s=round(latencies[-1], 3) if latencies else None,
        operator_median_s=round(latencies[len(latencies) // 2], 3) if latencies else None,
        operator_errors=dict(op_counts.errors),
        director_starts=director.starts,
        director_running=running,
        director_answers_console=console_ok,
        director_answers_ssh=ssh_ok,
        director_crashes=(0 if running else 1) + max(0, restarts),
        rss_before_kib=before.get("VmRSS", 0),
        rss_after_kib=after.get("VmRSS", 0),
        hwm_after_kib=after.get("VmHWM", 0),
        children_rss_before_kib=children_before,
        children_rss_after_kib=children_after,
        log_bytes_before=log_before,
        log_bytes_written=log_after - log_before,
        log=log_summary(log_text),
        notes=notes,
    )  # fmt: skip


# ------------------------------------------------------------------------------ the report


def markdown(r: Result, args: argparse.Namespace) -> str:
    a = r.attack
    smi: dict[str, int] = a.get("smi_messages", {})
    smi_total = sum(smi.values())
    seconds = a.get("seconds") or r.seconds
    sent = [
        ("SMI fuzz messages (all kinds)", smi_total),
        *((f"  {kind}", n) for kind, n in sorted(smi.items())),
        ("DHCP DISCOVERs (invented MACs, one relay port)", a.get("dhcp_sent", 0)),
        ("TFTP reads never acknowledged (one source)", a.get("tftp_sent", 0)),
        ("forged SMI reports (victim's MAC, other address)", sum(r.forged["sent"].values())),
    ]
    total = sum(n for label, n in sent if not label.startswith("  ") and "all kinds" not in label)
    total += smi_total
    lines = [
        f"# Soak {r.stamp}",
        "",
        f"{r.seconds:g} s of attacks against one director process on {r.prefix}.1 "
        f"(Python {r.python}, kernel {r.kernel}, {r.cores} cores). Command: "
        f"`.venv/bin/python bench/soak.py --seconds {args.seconds:g}`; {r.installs_started} "
        f"honest switches in {args.waves} waves, a {args.image_mib} MiB image.",
        "",
        "## Sent",
        "",
        "| kind | count | per second |",
        "|---|---|---|",
        *(f"| {label} | {n:,} | {n / seconds:,.0f} |" for label, n in sent),
        f"| **total** | **{total:,}** | **{total / seconds:,.0f}** |",
        "",
        f"SMI connections {a.get('smi_connections', 0):,} ({a.get('smi_connect_failed', 0):,} "
        f"could not connect); answered {a.get('smi_answered', 0):,}, closed without an answer "
        f"{a.get('smi_closed_silent', 0):,}, silent at 0.5 s {a.get('smi_no_answer', 0):,}; "
        f"{a.get('smi_bytes', 0):,} bytes. TFTP flood sockets told *Server busy*: "
        f"{a.get('tftp_busy_seen', 0):,}. Forged reports refused {r.forged['refused']}, "
        f"accepted {r.forged['accepted']}, unanswered {r.forged['no_answer']}; the victim's "
        f"address {'kept' if r.victim_kept_address else 'MOVED'}. Devices in the director's "
        f"table at the end: {r.devices_at_end:,} ({r.installs_started} honest).",
        "",
        "## The director",
        "",
        "| measure | value |",
        "|---|---|",
        f"| crashes or restarts | {r.director_crashes} |",
        f"| still running at the end | {'yes' if r.director_running else 'NO'} |",
        f"| answers its console / SSH at the end | {'yes' if r.director_answers_console else 'NO'}"
        f" / {'yes' if r.director_answers_ssh else 'NO'} |",
        f"| honest installs completed during the attacks | {r.installs_completed} of "
        f"{r.installs_started} |",
        f"| completed after the attacks (grace {args.grace:g} s) | {r.installs_completed_after} |",
        f"| failed / unfinished | {r.installs_failed} / {r.installs_unfinished} |",
        f"| install times, s (power on to UPGRADED and up) | "
        f"{', '.join(f'{s:g}' for s in r.install_seconds) or '-'} |",
        f"| operator SSH logins + `show vstack status` | {r.operator_logins} ok, "
        f"{r.operator_failed} failed |",
        f"| operator latency median / worst, s | {r.operator_median_s} / {r.operator_worst_s} |",
        f"| RSS before / after, MiB | {r.rss_before_kib / 1024:.1f} / "
        f"{r.rss_after_kib / 1024:.1f} (peak {r.hwm_after_kib / 1024:.1f}) |",
        f"| TFTP workers' RSS before / after, MiB | {r.children_rss_before_kib / 1024:.1f} / "
        f"{r.children_rss_after_kib / 1024:.1f} |",
        f"| log bytes written during the soak | {r.log_bytes_written:,} "
        f"({r.log['lines']:,} lines in all, {r.log['tracebacks']} tracebacks) |",
        "",
        "Most frequent warnings (numbers and MACs masked as N):",
        "",
        *(f"* {n} × `{shape}`" for shape, n in r.log["top_warnings"]),
    ]
    if r.operator_errors:
        lines += ["", "Operator errors:", ""]
        lines += [f"* {n} × {text}" for text, n in r.operator_errors.items()]
    if r.notes:
        lines += ["", "Notes:", "", *(f"* {note}" for note in r.notes)]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the attacks run")
    parser.add_argument("--waves", type=int, default=4, help="waves of honest switches")
    parser.add_argument("--per-wave", type=int, default=3, help="switches per wave")
    parser.add_argument("--image-mib", type=int, default=16, help="the image the switches load")
    parser.add_argument("--grace", type=float, default=30.0, help="after the attacks, at most")
    parser.add_argument("--dhcp-rate", type=int, default=1000, help="DISCOVERs per second")
    parser.add_argument("--tftp-rate", type=int, default=200, help="TFTP reads per second")
    parser.add_argument("--tftp-sockets", type=int, default=1100, help="flood sockets kept open")
    parser.add_argument("--smi-rate", type=int, default=400, help="SMI fuzz messages per second")
    parser.add_argument("--smi-connections", type=int, default=8, help="fuzzing at once")
    parser.add_argument("--forge-rate", type=float, default=5.0, help="forged reports a second")
    parser.add_argument("--ssh-every", type=float, default=3.0, help="operator login period")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--attack", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 1 <= args.seconds <= 3600:
        parser.error("--seconds: 1 to 3600")
    if not 1 <= args.waves * args.per_wave <= 200:
        parser.error("--waves × --per-wave: 1 to 200 switches")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.attack:
        return attacker_main(*args.attack)
    raise_fd_limit()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = HERE / "results" / f"soak-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    result = asyncio.run(soak(args, stamp, out))
    (out / "soak.json").write_text(json.dumps(asdict(result), indent=1))
    text = markdown(result, args)
    (out / "soak.md").write_text(text)
    print(text, end="")
    print(f"\nwritten to {out}")
    healthy = result.director_crashes == 0 and result.director_answers_console
    healthy = healthy and not result.notes
    return 0 if healthy and result.director_answers_ssh else 1


if __name__ == "__main__":
    sys.exit(main())
