"""A real director process on loopback and a scripted client that speaks real DHCP (as a relay
agent), TFTP (curl) and SMI to it."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from smartinstall.lab.director_process import free_port
from smartinstall.lab.runner import SOCKET_NAME, read_internals, wait_until_committed
from smartinstall.services.cli_local import run_lines
from smartinstall.services.smi import (
    ClientOwner,
    CommandReceived,
    SmiClientListener,
    SmiClientSender,
)
from smartinstall.store.database import default_url
from smartinstall.store.sqlstore import DatabaseReader
from smartinstall.wire import smi_client
from smartinstall.wire.dhcp import (
    DhcpPacket,
    MessageType,
    Opt,
    RelayAgentInfo,
    decode_vivso,
    encode_relay_agent_info,
)
from smartinstall.wire.smi import BackupConfig
from tests.integration.dhcp_helpers import LoopbackAgent, request

ROOT = Path(__file__).resolve().parents[2]


async def console(director: DirectorProcess, lines: str) -> str:
    """What the director's console answers to ``lines`` (its local socket, as an operator's
    ``smartinstall console`` would)."""
    output, _ = await asyncio.to_thread(run_lines, director.data_dir / SOCKET_NAME, lines, 20)
    return output


def director_preamble(prefix: str) -> str:
    """The start of a test director's startup-config: hostname, a DHCP pool of the prefix's
    /24, and the director on its .1 (tests add their own lines after it)."""
    return f"""hostname Director
vstack dhcp-localserver lab
 address-pool {prefix}.0 255.255.255.0
 default-router {prefix}.1
 file-server {prefix}.1
vstack director {prefix}.1
vstack basic
"""


def lab_prefix() -> str:
    """A /24 of 127.0.0.0/8 of our own for one test, so runs never collide."""
    return f"127.{random.randint(30, 250)}.{random.randint(1, 250)}"


@dataclass
class DirectorProcess:
    data_dir: Path
    prefix: str
    config: str
    keepalive: float = 2.0
    address: str = ""
    ports: dict[str, int] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    extra_args: list[str] = field(default_factory=list)  # more director options
    extra_env: dict[str, str] = field(default_factory=dict)  # more environment (NOTIFY_SOCKET)

    def __post_init__(self) -> None:
        self.address = f"{self.prefix}.1"
        self.flash = self.data_dir / "flash"
        self.flash.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "startup-config").write_text(self.config)
        host = self.address
        self.ports = {
            "dhcp": free_port(host),
            "relay": free_port(f"{self.prefix}.254"),
            "tftp": free_port(host),
            "smi": free_port(host, socket.SOCK_STREAM),
            "client_smi": free_port(f"{self.prefix}.254", socket.SOCK_STREAM),
        }

    @property
    def log_file(self) -> Path:
        return self.data_dir / "director.log"

    def start(self) -> None:
        starts = self.log().count("director ready")
        command = [
            sys.executable, "-m", "smartinstall.cli", "director",
            "--data-dir", str(self.data_dir), "--address", self.address,
            "--dhcp-port", str(self.ports["dhcp"]), "--dhcp-relay-port", str(self.ports["relay"]),
            "--tftp-port", str(self.ports["tftp"]), "--smi-port", str(self.ports["smi"]),
            "--client-smi-port", str(self.ports["client_smi"]),
            "--keepalive", str(self.keepalive), "--log-file", str(self.log_file),
            *self.extra_args,
        ]  # fmt: skip
        env = {**os.environ, **self.extra_env} if self.extra_env else None
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
        )
        # a generous wait: three test processes and the type check share two cores
        self.wait_for_log("director ready", timeout=60, count=starts + 1)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process is None:
            return 0
        with suppress(ProcessLookupError):
            self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.process = None
        return code

    def log(self) -> str:
        if not self.log_file.exists():
            return ""
        return self.log_file.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout: float = 20.0, count: int = 1) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            content = self.log()
            if content.count(text) >= count:
                return content
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"director exited ({self.process.returncode}):\n{content}")
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not logged within {timeout}s:\n{self.log()[-4000:]}")

    async def await_log(self, text: str, timeout: float = 20.0, count: int = 1) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            content = self.log()
            if content.count(text) >= count:
                return content
            await asyncio.sleep(0.05)
        raise AssertionError(f"{text!r} not logged within {timeout}s:\n{self.log()[-4000:]}")

    async def until_background_idle(self, timeout: float = 10.0) -> None:
        """Until no background task of the director runs (its backup requests, script sends
        …), asked over its console (``show vstack internal``)."""
        deadline = time.monotonic() + timeout
        while True:
            internals = await asyncio.to_thread(read_internals, self.data_dir)
            running = (internals or {}).get("Background tasks running", "")
            if running.split(" ")[0] == "0":
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"background tasks still running: {running!r}")
            await asyncio.sleep(0.02)

    def database(self) -> DatabaseReader:
        """The director's database, read-only, once the running director has committed what
        it knows (asked over its console socket)."""
        if self.process is not None and self.process.poll() is None:
            wait_until_committed(self.data_dir)
        return DatabaseReader(default_url(self.data_dir))


@dataclass
class Offer:
    address: str
    imagelist: str | None
    director: str | None
    config: str | None
    tftp_server: str | None
    hostname: str | None


def parse_offer(packet: DhcpPacket) -> Offer:
    imagelist = director = None
    vivso = packet.get(Opt.VIVSO)
    if vivso:
        for block in decode_vivso(vivso):
            if block.enterprise == 9:
                raw = block.get(5)
                imagelist = raw.decode() if raw else None
                ip = block.get(16)
                director = socket.inet_ntoa(ip) if ip else None

    def text(code: int) -> str | None:
        value = packet.get(code)
        return value.decode() if value else None

    server = packet.get(Opt.TFTP_SERVER_ADDRESS)
    return Offer(
        socket.inet_ntoa(packet.yiaddr),
        imagelist,
        director,
        text(Opt.BOOTFILE_NAME),
        socket.inet_ntoa(server) if server else None,
        text(Opt.HOSTNAME),
    )


class ScriptedClient:
    """One Smart Install client: DHCP through a relay address, TFTP with curl, SMI messages."""

    def __init__(self, director: DirectorProcess, mac: str, pid: str) -> None:
        self.director = director
        self.mac = mac
        self.pid = pid
        self.ip = ""
        self.commands: list[CommandReceived] = []
        self.listener: SmiClientListener | None = None
        self.sequence = 0

    @property
    def mac_bytes(self) -> bytes:
        return bytes.fromhex(self.mac.replace(".", ""))

    async def dhcp(
        self, vendor_class: bool = True, upstream: tuple[str, str] | None = None
    ) -> tuple[Offer, Offer]:
        """DISCOVER and REQUEST as a relay agent; ``upstream`` = (interface, upstream MAC) goes
        into option 82 (circuit id, remote id)."""
        agent = LoopbackAgent(f"{self.director.prefix}.254")
        agent.sock.close()
        agent.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        agent.sock.bind((f"{self.director.prefix}.254", self.director.ports["relay"]))
        agent.sock.setblocking(False)
        server = (self.director.address, self.director.ports["dhcp"])
        vc = f"cisco-{self.pid}".encode() if vendor_class else None
        extra: list[tuple[int, bytes]] = []
        if upstream is not None:
            info = RelayAgentInfo(((1, upstream[0].encode()), (2, upstream[1].encode())))
            extra.append((Opt.RELAY_AGENT_INFO, encode_relay_agent_info(info)))
        xid = random.getrandbits(32)
        giaddr = f"{self.director.prefix}.254"
        try:
            offer_packet = await agent.exchange(
                request(
                    MessageType.DISCOVER,
                    self.mac_bytes,
                    xid,
                    giaddr=giaddr,
                    vendor_class=vc,
                    extra=extra,
                ),
                server,
                timeout=5,
            )
            assert offer_packet is not None, "no DHCPOFFER"
            offer = parse_offer(offer_packet)
            ack_packet = await agent.exchange(
                request(
                    MessageType.REQUEST,
                    self.mac_bytes,
                    xid,
                    giaddr=giaddr,
                    vendor_class=vc,
                    requested=offer.address,
                    server_id=self.director.address,
                    extra=extra,  # a relay adds option 82 to every packet it relays
                ),
                server,
                timeout=5,
            )
            assert ack_packet is not None, "no DHCPACK"
            ack = parse_offer(ack_packet)
        finally:
            agent.close()
        self.ip = ack.address
        return offer, ack

    def tftp_get(self, name: str, dest: Path) -> subprocess.CompletedProcess[bytes]:
        url = f"tftp://{self.director.address}:{self.director.ports['tftp']}/{name}"
        return subprocess.run(
            ["curl", "-s", "-S", "--interface", self.ip, "-o", str(dest), url],
            capture_output=True, timeout=30, check=False,
        )  # fmt: skip

    def tftp_put(self, source: Path, url: str) -> bool:
        """A plain RFC 1350 write (octet, 512-byte blocks) from the client's own address.

        curl's TFTP upload cannot bind a source address, and the director accepts a backup only
        from the client it asked."""
        rest = url.removeprefix("tftp://")
        hostport, _, name = rest.partition("/")
        host, _, port = hostport.partition(":")
        data = source.read_bytes()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((self.ip, 0))
            sock.settimeout(1)
            last = b"\x00\x02" + name.encode() + b"\x00octet\x00"
            server = (host, int(port or 69))
            sock.sendto(last, server)
            block = 0
            peer = None
            silent = 0  # a client retransmits what went unanswered (RFC 1350), a few times
            while True:
                try:
                    packet, source_address = sock.recvfrom(1024)
                except TimeoutError:
                    silent += 1
                    if silent > 5:
                        return False
                    sock.sendto(last, peer or server)
                    continue
                silent = 0
                if peer is None:
                    peer = source_address
                if packet[:2] == b"\x00\x05":
                    return False
                if packet[:2] != b"\x00\x04" or int.from_bytes(packet[2:4], "big") != block:
                    continue
                chunk = data[block * 512 : (block + 1) * 512]
                if block > 0 and len(data[(block - 1) * 512 : block * 512]) < 512:
                    return True
                block += 1
                last = b"\x00\x03" + block.to_bytes(2, "big") + chunk
                sock.sendto(last, peer)

    def sender(self) -> SmiClientSender:
        return SmiClientSender(
            self.director.address, self.director.ports["smi"], local_host=self.ip or None
        )

    async def send(self, message: smi_client.ClientMessage) -> smi_client.Ack:
        return await self.sender().send(message)

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence

    async def hello(self, hostname: str, has_startup_config: bool = True) -> smi_client.Ack:
        return await self.send(
            smi_client.Hello(
                sequence=self.next_sequence(),
                mac=self.mac,
                pid=self.pid,
                serial="FOC1234X0AB",
                sw_version="15.2(7)E9",
                image="C2960X-UNIVERSALK9-M",
                hostname=hostname,
                ip=self.ip,
                has_startup_config=has_startup_config,
            )
        )

    async def upgrade(self, operation: int, state: int, reason: str = "") -> smi_client.Ack:
        return await self.send(
            smi_client.UpgradeStatus(
                sequence=self.next_sequence(),
                mac=self.mac,
                operation=operation,
                state=state,
                reason=reason,
            )
        )

    async def backup_url(self, nth: int, timeout: float = 10.0) -> str:
        """The upload URL of the director's ``nth`` backup command (type 8) to this client,
        waiting for it; the URL is the last word of the command's first slot."""
        deadline = time.monotonic() + timeout
        while True:
            backups = [c.command for c in self.commands if isinstance(c.command, BackupConfig)]
            if len(backups) >= nth:
                return backups[nth - 1].active_commands[0].split()[-1]
            if time.monotonic() > deadline:
                raise AssertionError(f"backup command {nth} not received in {timeout}s")
            await asyncio.sleep(0.05)

    def backup_count(self) -> int:
        return sum(isinstance(c.command, BackupConfig) for c in self.commands)

    async def listen(self) -> None:
        async def owner(received: CommandReceived) -> None:
            self.commands.append(received)

        handler: ClientOwner = owner
        self.listener = SmiClientListener(handler, self.ip, self.director.ports["client_smi"])
        await self.listener.start()

    async def close(self) -> None:
        if self.listener is not None:
            await self.listener.close()


def kill_tree(process: subprocess.Popen[bytes]) -> None:
    with suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGKILL)
    process.wait()


async def report_director_as_neighbour(
    director: DirectorProcess, scripted: ScriptedClient, port: str = "GigabitEthernet1/0/48"
) -> None:
    """``scripted`` reports the director as its CDP neighbour on ``port`` and the director
    shows it in ``show cdp neighbors detail`` (a CDP neighbour always names its port)."""
    uplink = smi_client.Neighbor(
        local_port=port,
        mac="0050.5600.0001",
        device_id="Director",
        ip=director.address,
        platform="smartinstall director",
    )
    report = smi_client.NeighborReport(
        sequence=scripted.next_sequence(), mac=scripted.mac, neighbors=(uplink,)
    )
    assert (await scripted.send(report)).status == 0
    for _ in range(200):
        if port in await console(director, "show cdp neighbors detail\n"):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the neighbour report is not in show cdp neighbors detail")


def neighbour_client(director: DirectorProcess, mac: str, pid: str) -> ScriptedClient:
    """A client that took a lease, said hello as ``ACCESS-01`` and reported the director as
    its CDP neighbour on its port Gi1/0/48: the director's one CDP neighbour."""
    scripted = ScriptedClient(director, mac, pid)

    async def join() -> None:
        await scripted.dhcp(upstream=("GigabitEthernet1/0/1", "0000.0c07.ac01"))
        await scripted.hello("ACCESS-01")
        await director.await_log(f"mac address: {mac}")
        await report_director_as_neighbour(director, scripted)

    asyncio.run(join())
    return scripted
