"""A full disk: the director keeps serving what it can, refuses what it cannot write with a
``%SMI`` message, never answers DHCP with half the options, and recovers once space returns
(issue "Disk and logs").

The director runs as a process with its data directory on a 4 MiB tmpfs of its own (its log
file outside it); the test fills the tmpfs with a file, talks DHCP (as a relay agent), TFTP
(curl) and SMI to it, then deletes the file."""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from smartinstall.director.terminals import SOCKET_NAME
from smartinstall.lab.runner import read_internals
from smartinstall.services.cli_local import run_lines
from smartinstall.store.leases import JOURNAL_NAME, Lease, LeaseStore
from smartinstall.wire import smi_client
from smartinstall.wire.dhcp import DhcpPacket, MessageType
from tests.integration.dhcp_helpers import LoopbackAgent, request
from tests.integration.director_harness import (
    ROOT,
    DirectorProcess,
    Offer,
    ScriptedClient,
    lab_prefix,
    parse_offer,
)
from tests.integration.small_disk import fill, free_bytes, small_disk
from tests.tools import require_program

pytestmark = pytest.mark.timeout(180)

IMAGE = "c2960x-universalk9-tar.152-7.E9.tar"
PID = "WS-C2960X-48FPS-L"
IMAGELIST = "vstack/imagelist-default.txt"


def config(prefix: str) -> str:
    return f"""hostname Director
vstack dhcp-localserver lab
 address-pool {prefix}.0 255.255.255.0
 default-router {prefix}.1
 file-server {prefix}.1
ip dhcp remember
vstack director {prefix}.1
vstack basic
vstack image flash:{IMAGE}
vstack config flash:seed.txt
vstack hostname-prefix STORE
"""


@dataclass
class DirectorOnSmallDisk(DirectorProcess):
    """The director with its data directory on the small disk and its log beside it, where
    there is room to say what happens."""

    log_dir: Path = Path()

    @property
    def log_file(self) -> Path:
        return self.log_dir / "director.log"

    def show(self, command: str, rejected: int = 0) -> str:
        output, failed = run_lines(self.data_dir / SOCKET_NAME, command + "\n", timeout=10)
        assert failed == rejected, output
        return output


@pytest.fixture
def director(tmp_path: Path) -> Iterator[DirectorOnSmallDisk]:
    require_program("curl")
    with small_disk(tmp_path / "disk") as disk:
        prefix = lab_prefix()
        process = DirectorOnSmallDisk(
            disk / "director", prefix, config(prefix), keepalive=30.0, log_dir=tmp_path
        )
        (process.flash / IMAGE).write_bytes(os.urandom(200_000))
        (process.flash / "seed.txt").write_text("hostname seed\n!\nend\n")
        process.start()
        try:
            yield process
        finally:
            process.stop()


class Relay:
    """A relay agent on the lab's .254, where the director sends its DHCP replies."""

    def __init__(self, director: DirectorProcess) -> None:
        self.director = director
        self.giaddr = f"{director.prefix}.254"
        self.agent = LoopbackAgent(self.giaddr)
        self.agent.sock.close()
        self.agent.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.agent.sock.bind((self.giaddr, director.ports["relay"]))
        self.agent.sock.setblocking(False)
        self.server = (director.address, director.ports["dhcp"])

    def close(self) -> None:
        self.agent.close()

    def _packet(
        self,
        kind: MessageType,
        mac: str,
        xid: int,
        requested: str | None = None,
        ciaddr: str | None = None,
    ) -> DhcpPacket:
        return request(
            kind,
            bytes.fromhex(mac.replace(".", "")),
            xid,
            giaddr=self.giaddr,
            vendor_class=f"cisco-{PID}".encode(),
            requested=requested,
            ciaddr=ciaddr,
            server_id=self.director.address if requested else None,
        )

    async def discover(self, mac: str) -> tuple[int, Offer]:
        xid = random.getrandbits(32)
        reply = await self.agent.exchange(
            self._packet(MessageType.DISCOVER, mac, xid), self.server, timeout=5
        )
        assert reply is not None, f"no DHCPOFFER for {mac}"
        return xid, complete(parse_offer(reply))

    def send_request(self, mac: str, xid: int, address: str) -> None:
        self.agent.send(self._packet(MessageType.REQUEST, mac, xid, address), self.server)

    async def request(self, mac: str, xid: int, address: str, timeout: float = 5) -> Offer | None:
        packet = self._packet(MessageType.REQUEST, mac, xid, address)
        reply = await self.agent.exchange(packet, self.server, timeout=timeout)
        return None if reply is None else complete(parse_offer(reply))

    async def renew(self, mac: str, address: str) -> Offer | None:
        xid = random.getrandbits(32)
        packet = self._packet(MessageType.REQUEST, mac, xid, ciaddr=address)
        reply = await self.agent.exchange(packet, self.server, timeout=5)
        return None if reply is None else complete(parse_offer(reply))


def complete(offer: Offer) -> Offer:
    """Every answer carries all the Smart Install options or none: never half of them."""
    options = (offer.imagelist, offer.director, offer.config, offer.tftp_server, offer.hostname)
    assert all(options) or not any(options), offer
    return offer


async def backup(client: ScriptedClient, nth: int, text: str, tmp_path: Path) -> bool:
    """The client's part of the ``nth`` backup the director asks for: the upload, then its
    result (what a switch reports: success only when the upload went through)."""
    url = await client.backup_url(nth)
    source = tmp_path / f"startup-{nth}"
    source.write_text(text)
    uploaded = await asyncio.to_thread(client.tftp_put, source, url)
    await client.send(
        smi_client.BackupResult(
            sequence=client.next_sequence(),
            mac=client.mac,
            success=uploaded,
            reason="" if uploaded else "%Error writing tftp (Disk full or allocation exceeded)",
        )
    )
    return uploaded


async def until_held_back(director: DirectorProcess, count: int, timeout: float = 10) -> None:
    """Until the director says (show vstack internal) it held back ``count`` DHCP ACKs."""
    deadline = time.monotonic() + timeout
    while True:
        internals = await asyncio.to_thread(read_internals, director.data_dir) or {}
        if internals.get("DHCP ACKs held back") == str(count):
            return
        assert time.monotonic() < deadline, f"not {count} ACKs held back: {internals}"
        await asyncio.sleep(0.05)


async def write_memory(client: ScriptedClient) -> None:
    await client.send(
        smi_client.WriteMemory(sequence=client.next_sequence(), mac=client.mac, hostname="sw-a")
    )


async def test_a_full_disk_is_survived_and_recovered_without_a_restart(
    director: DirectorOnSmallDisk, tmp_path: Path
) -> None:
    relay = Relay(director)
    a = ScriptedClient(director, "0050.56d1.000a", PID)
    try:
        # --- room enough: a client joins and is backed up
        xid, offer = await relay.discover(a.mac)
        ack = await relay.request(a.mac, xid, offer.address)
        assert ack is not None and ack.imagelist == IMAGELIST and ack.config == "seed.txt"
        a.ip = ack.address
        await a.listen()
        await a.hello("sw-a", has_startup_config=False)
        await write_memory(a)
        assert await backup(a, 1, "hostname sw-a\n! revision 1\nend\n", tmp_path)
        await director.await_log("%SMI-6-SMI_DIRECTOR_BACKUP_SUCCESS", count=1)
        vstack = director.flash / "vstack"
        rev2 = vstack / "sw-a-0050.56d1.000a.REV2"
        assert "revision 1" in rev2.read_text()
        # a second backup is asked for; the disk fills up before the client uploads it
        await write_memory(a)
        url = await a.backup_url(2)
        assert re.search(r"vstack/sw-a-0050\.56d1\.000a\.[0-9a-f]{8}\.upload$", url), url

        # --- the disk is full
        filler = director.data_dir.parent / "filler"
        await asyncio.to_thread(fill, filler)
        assert free_bytes(filler.parent) == 0

        # the upload is refused, and leaves nothing behind: REV2 as it was, no REV1
        assert not await backup(a, 2, "hostname sw-a\n! revision 2\n" + "!\n" * 40_000, tmp_path)
        log = await director.await_log("%SMI-3-SMI_DIRECTOR_BACKUP_FAILURE")
        assert "reason: %Error writing tftp (Disk full or allocation exceeded)" in log
        # the result could not be committed: the client is refused and reports again, which
        # is answered from the result taken, not taken for a backup without an upload
        again = await a.send(
            smi_client.BackupResult(sequence=a.next_sequence(), mac=a.mac, success=False)
        )
        assert again.status == 1 and "database or disk is full" in again.reason
        assert "revision 1" in rev2.read_text()
        assert sorted(p.name for p in vstack.iterdir()) == [
            "imagelist-default.txt",
            "sw-a-0050.56d1.000a.REV2",
        ]

        # a new client: its entry cannot be committed, so its ACK is held back (the OFFER,
        # which promises nothing, is complete); asked again, it is held back again
        b = "0050.56d1.000b"
        xid, offer_b = await relay.discover(b)
        assert offer_b.imagelist == IMAGELIST
        relay.send_request(b, xid, offer_b.address)
        await director.await_log(f"DHCP ACK to {b} held back")
        relay.send_request(b, xid, offer_b.address)
        await until_held_back(director, 2)
        assert await relay.agent.receive(timeout=0.3) is None
        log = await director.await_log("%SMI-3-INTERNAL_ERROR: director database")
        assert "database or disk is full" in log

        # a known client is still served, with all its options (its configuration is now
        # its last backup)
        renewed = await relay.renew(a.mac, a.ip)
        assert renewed is not None
        assert (renewed.address, renewed.imagelist) == (a.ip, IMAGELIST)
        assert renewed.config == "vstack/sw-a-0050.56d1.000a.REV2"

        # files already on flash: are still served
        for name in (IMAGELIST, IMAGE):
            fetched = await asyncio.to_thread(a.tftp_get, name, tmp_path / Path(name).name)
            assert fetched.returncode == 0, fetched.stderr
        assert (tmp_path / IMAGE).read_bytes() == (director.flash / IMAGE).read_bytes()

        # show commands answer from memory
        status = await asyncio.to_thread(director.show, "show vstack status")
        assert a.mac in status and b in status
        internal = await asyncio.to_thread(director.show, "show vstack internal")
        assert "database or disk is full" in internal
        # the operator's write memory is refused in IOS words; startup-config stays whole
        startup = director.data_dir / "startup-config"
        saved = startup.read_text()
        written = await asyncio.to_thread(director.show, "write memory", 1)
        assert "%Error writing startup-config" in written and "No space left" in written
        assert startup.read_text() == saved

        # a backup asked for now is refused at once, with the guide's message, and the
        # client is not asked to upload
        assert director.log().count("%SMI-3-SMI_DIRECTOR_BACKUP_FAILURE") == 1
        await write_memory(a)
        log = await director.await_log("%SMI-3-SMI_DIRECTOR_BACKUP_FAILURE", count=2)
        assert f"Client Device ({a.ip}) startup configuration backup fail" in log
        assert "reason: no space left on device" in log
        assert a.backup_count() == 2
        assert director.process is not None and director.process.poll() is None

        # --- space returns: everything resumes, without a restart
        filler.unlink()
        await director.await_log("commits succeed again", timeout=20)
        xid, offer_b = await relay.discover(b)
        ack_b = await relay.request(b, xid, offer_b.address)
        assert ack_b is not None and ack_b.imagelist == IMAGELIST and ack_b.hostname
        # the refused backup is asked for again by itself
        assert await backup(a, 3, "hostname sw-a\n! revision 3\nend\n", tmp_path)
        await director.await_log("%SMI-6-SMI_DIRECTOR_BACKUP_SUCCESS", count=2)
        assert "revision 3" in rev2.read_text()
        assert "revision 1" in (vstack / "sw-a-0050.56d1.000a.REV1").read_text()
        assert not list(vstack.glob("*.upload*")) and not list(vstack.glob(".*"))

        log = director.log()
        assert log.count("%SMI-3-INTERNAL_ERROR") == 1  # said once, not per failed commit
        assert log.count("%SMI-3-IMAGELIST_FAILED") == 0
        db = director.database()  # everything the director knows is committed again
        try:
            device = db.device_by_mac(b)
            assert device is not None and device.ip == ack_b.address
            record = db.latest_backup(a.mac)
            assert record is not None and record.file.endswith("sw-a-0050.56d1.000a.REV2")
        finally:
            db.close()
    finally:
        relay.close()
        await a.close()


async def test_the_lease_journal_keeps_no_half_line_and_catches_up(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk") as disk:
        leases = LeaseStore(disk / "dhcp")
        journal = disk / "dhcp" / JOURNAL_NAME
        acked: list[int] = []
        leases.bind(Lease(b"\x00first", 1, 2_000_000_000.0, b"a"), lambda: acked.append(1))
        await leases.flush()
        assert acked == [1]
        await asyncio.to_thread(fill, disk / "filler")
        # lines fill the journal's last page, then one does not fit: it is refused whole
        for n in range(2, 200):
            lease = Lease(b"\x01" + bytes([n]), n, 2_000_000_000.0, b"m")
            leases.bind(lease, lambda n=n: acked.append(n))
            await leases.flush()
            if len(acked) < n:
                break
        else:
            raise AssertionError("every binding was written to a full disk")
        refused = n
        assert journal.read_bytes().endswith(b"\n")
        assert len(journal.read_bytes().splitlines()) == refused - 1
        (disk / "filler").unlink()
        leases.bind(Lease(b"\x00last", 500, 2_000_000_000.0, b"z"), lambda: acked.append(500))
        await leases.flush()
        assert acked[-1] == 500
        await leases.close()
        again = LeaseStore(disk / "dhcp")
        try:
            # the binding whose line was refused is on disk too: the journal was rewritten
            assert again.get(b"\x01" + bytes([refused])) is not None
            assert len(again) == refused + 1
        finally:
            again.close_sync()


def test_the_log_file_is_kept_to_its_size_limit(tmp_path: Path) -> None:
    # --log-max-bytes: director.log rolls over to .1, .2 (--log-backups 2), never past it
    prefix = lab_prefix()
    process = DirectorProcess(tmp_path / "director", prefix, config(prefix))
    log = tmp_path / "logs" / "director.log"
    log.parent.mkdir()
    command = [
        sys.executable, "-m", "smartinstall.cli", "director",
        "--data-dir", str(process.data_dir), "--address", process.address,
        "--dhcp-port", str(process.ports["dhcp"]), "--dhcp-relay-port", str(process.ports["relay"]),
        "--tftp-port", str(process.ports["tftp"]), "--smi-port", str(process.ports["smi"]),
        "--log-file", str(log), "--log-max-bytes", "768", "--log-backups", "2",
    ]  # fmt: skip
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while "director ready" not in "".join(
            p.read_text(errors="replace") for p in log.parent.iterdir()
        ):
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "director not ready"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
    names = sorted(p.name for p in log.parent.iterdir())
    assert names == ["director.log", "director.log.1", "director.log.2"]
    assert all(p.stat().st_size <= 768 for p in log.parent.iterdir())
