"""Shared pieces of the TFTP integration tests: file tree, recording hook, raw peer."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from smartinstall.services.tftp import Address, TransferInfo
from smartinstall.wire import tftp


@dataclass
class Tree:
    root: Path
    backups: Path
    secret: Path
    files: dict[str, bytes]


def make_tree(base: Path) -> Tree:
    root = base / "flash"
    backups = base / "backups"
    root.mkdir()
    backups.mkdir()
    (root / "sub").mkdir()
    secret = base / "secret.txt"
    secret.write_bytes(b"not for tftp\n")
    rnd = os.urandom
    files = {
        "small.txt": b"vstack\nconfig line\r\nend\n",
        "image.tar": rnd(300_000 + 123),
        "exact.bin": rnd(512 * 40),  # a multiple of 512: ends with an empty DATA
        "sub/nested.cfg": b"hostname sw1\n",
        "empty.txt": b"",
    }
    for name, data in files.items():
        (root / name).write_bytes(data)
    (root / "escape").symlink_to(secret)  # a symlink out of the root
    (root / "sub" / "up").symlink_to(root / "small.txt")  # a symlink inside the root is fine
    (root / ".hidden").write_bytes(b"x")
    return Tree(root, backups, secret, files)


@dataclass
class RecordingHook:
    """Records every hook call; approves the uploads named in `approved`."""

    approved: set[str] = field(default_factory=set)
    started: list[TransferInfo] = field(default_factory=list)
    progress: list[tuple[TransferInfo, int]] = field(default_factory=list)
    finished: list[tuple[TransferInfo, int, str | None]] = field(default_factory=list)
    asked: list[tuple[Address, str, int | None]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def transfer_started(self, info: TransferInfo) -> None:
        self.started.append(info)

    def transfer_progress(self, info: TransferInfo, done: int) -> None:
        self.progress.append((info, done))

    def transfer_finished(self, info: TransferInfo, done: int, error: str | None) -> None:
        self.finished.append((info, done, error))
        self.changed.set()

    def approve_upload(self, peer: Address, name: str, size: int | None) -> bool:
        self.asked.append((peer, name, size))
        return name in self.approved

    async def wait_finished(self, count: int, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.finished) < count:
                self.changed.clear()
                await self.changed.wait()


class RawPeer:
    """A hand-driven TFTP peer on a plain UDP socket, for fault injection."""

    def __init__(self, server: Address) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.sock.bind(("127.0.0.1", 0))
        self.server = server
        self.tid: Address | None = None
        self.loop = asyncio.get_running_loop()

    def close(self) -> None:
        self.sock.close()

    def send_raw(self, packet: bytes, to: Address | None = None) -> None:
        self.sock.sendto(packet, to or self.tid or self.server)

    def request(
        self,
        name: str,
        opts: dict[str, str] | None = None,
        *,
        write: bool = False,
        mode: tftp.Mode = tftp.Mode.OCTET,
    ) -> None:
        opcode = tftp.Opcode.WRQ if write else tftp.Opcode.RRQ
        self.send_raw(tftp.encode_request(opcode, name, mode, opts), self.server)

    async def recv(self, timeout: float = 2.0) -> tftp.Packet | None:
        """The next packet (None on timeout); the first one fixes the server's TID."""
        try:
            async with asyncio.timeout(timeout):
                data, addr = await self.loop.sock_recvfrom(self.sock, 70000)
        except TimeoutError:
            return None
        if self.tid is None:
            self.tid = (addr[0], addr[1])
        return tftp.parse(data)

    async def expect(self, kind: type, timeout: float = 2.0) -> tftp.Packet:
        packet = await self.recv(timeout)
        assert packet is not None and isinstance(packet, kind), (
            f"expected {kind.__name__}, got {packet!r}"
        )
        return packet

    def ack(self, block: int) -> None:
        self.send_raw(tftp.encode_ack(block))

    async def __aenter__(self) -> RawPeer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


async def run(*argv: str, timeout: float = 60.0, cwd: Path | None = None) -> tuple[int, str]:
    """Run a program; (exit status, stdout+stderr)."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=cwd,
    )
    try:
        async with asyncio.timeout(timeout):
            out, _ = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for a condition, looking every 10 ms, for at most `timeout` seconds."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


def process_gone(pid: int) -> bool:
    """True once `pid` no longer runs (gone, or a zombie nobody reaped yet)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return True
    return state in ("Z", "X")


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """User+system CPU time of a process (or one of its threads), from /proc."""
    path = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """The running child processes of `pid`, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] not in ("Z", "X"):
            found.append(int(entry))
    return found
