"""The emulated switch's real network edges: DHCP as a relay agent on loopback, TFTP with the
project's client (from the switch's own address), SMI messages and port 4786, and for a legacy
switch the IOS HTTP exec interface and the ``do telnet <director> 19140`` trigger.

On loopback there is no broadcast: a switch sends DISCOVER/REQUEST to the director's DHCP port
with ``giaddr`` set to its own pre-assigned address and receives the answers there, on the
director's relay port (docs/zero-touch.md).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import io
import logging
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO
from urllib.parse import unquote

from smartinstall.services import tftp_client
from smartinstall.services.smi import (
    CommandReceived,
    SmiClientListener,
    SmiClientSender,
    SmiSecurity,
    SmiSendError,
)
from smartinstall.services.smi_replay import CounterBook
from smartinstall.switch.flash import MAX_SMI_PEERS, FlashCounterStore
from smartinstall.switch.link import ImpairedRelay, Impairment
from smartinstall.switch.machine import FetchError, Lease, SendError, Switch
from smartinstall.wire import smi_client
from smartinstall.wire.dhcp import (
    DhcpDecodeError,
    DhcpPacket,
    MessageType,
    Opt,
    RelayAgentInfo,
    decode_vivso,
    encode_relay_agent_info,
)
from smartinstall.wire.tftp import ErrorCode

log = logging.getLogger(__name__)

EXEC_PREFIX = "/level/15/exec/-/"
HTTP_PORT_HINT = "smartinstall-http-port"  # emulation: tells the director our HTTP port


@dataclass
class NetConfig:
    """Where the director's services are, as the lab or the command line knows them."""

    dhcp_server: tuple[str, int]  # the director's DHCP port
    relay_port: int  # where it sends answers to relay agents (giaddr)
    smi_port: int = 4786  # the switch's own port 4786
    smi_key: str | None = None  # vstack authentication key (a fault: wrong or missing)
    http_port: int = 80  # legacy: the HTTP exec interface
    tftp_blksize: int | None = 1468
    tftp_windowsize: int | None = None
    tftp_timeout: float = 1.0
    dhcp_timeout: float = 2.0
    dhcp_attempts: int = 3
    smi_timeout: float = 5.0
    tftp_link: Impairment = field(default_factory=Impairment)  # slow or lossy TFTP (a fault)


class _Sink:
    """A write-only stream that hands each block on (the image is never held in memory)."""

    def __init__(self, sink: Callable[[bytes], None]) -> None:
        self.sink = sink

    def write(self, data: bytes) -> int:
        self.sink(bytes(data))
        return len(data)


def parse_lease(packet: DhcpPacket) -> Lease:
    imagelist = director = None
    vivso = packet.get(Opt.VIVSO)
    if vivso:
        with contextlib.suppress(DhcpDecodeError):
            for block in decode_vivso(vivso):
                if block.enterprise != 9:
                    continue
                raw = block.get(5)
                if raw:
                    imagelist = raw.decode("ascii", "replace").strip("\x00")
                ip = block.get(16)
                if ip and len(ip) == 4:
                    director = socket.inet_ntoa(ip)

    def text(code: int) -> str | None:
        value = packet.get(code)
        return value.decode("ascii", "replace").strip("\x00") or None if value else None

    server = packet.get(Opt.TFTP_SERVER_ADDRESS)
    return Lease(
        socket.inet_ntoa(packet.yiaddr), imagelist=imagelist, director=director,
        config=text(Opt.BOOTFILE_NAME),
        tftp_server=socket.inet_ntoa(server[:4]) if server and len(server) >= 4 else None,
        hostname=text(Opt.HOSTNAME),
    )  # fmt: skip


@dataclass
class NetIo:
    """The real I/O of one switch (one per switch; cheap: sockets open only while in use)."""

    net: NetConfig
    listener: SmiClientListener | None = None
    listening_on: str = ""  # the address port 4786 is bound to
    http: asyncio.Server | None = None
    security: SmiSecurity = field(init=False)
    dropped: int = 0  # TFTP datagrams the impaired link lost
    tftp_bytes: int = 0  # bytes received by TFTP, every file, complete or not
    _counters: tuple[int, CounterBook] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.security = SmiSecurity.from_config(self.net.smi_key)

    def counters(self, switch: Switch) -> CounterBook:
        """The authenticated mode's counters, read from flash at each boot (memory is lost on a
        reload; flash keeps them)."""
        if self._counters is None or self._counters[0] != switch.boots:
            store = FlashCounterStore(switch.flash, lambda: switch.flash_state)
            self._counters = (switch.boots, CounterBook(store, capacity=MAX_SMI_PEERS))
        return self._counters[1]

    # --- DHCP ----------------------------------------------------------------------------

    def _request(
        self,
        switch: Switch,
        kind: MessageType,
        xid: int,
        requested: str | None = None,
        server_id: bytes | None = None,
    ) -> DhcpPacket:
        config = switch.config
        options: list[tuple[int, bytes]] = [(Opt.MESSAGE_TYPE, bytes([kind]))]
        if requested:
            options.append((Opt.REQUESTED_IP, socket.inet_aton(requested)))
            if server_id:
                options.append((Opt.SERVER_ID, server_id))
        elif kind == MessageType.DISCOVER:
            # RFC 2131 4.4.1: a client may suggest the address it wants in a DISCOVER; the
            # switch asks for its own address (the director leases it when its pool allows)
            options.append((Opt.REQUESTED_IP, socket.inet_aton(config.address)))
        options.append((Opt.VENDOR_CLASS, f"cisco-{config.pid}".encode()))
        options.append((Opt.PARAMETER_LIST, bytes([1, 3, 12, 67, 125, 150])))
        if config.upstream_port:
            subs = [(1, config.upstream_port.encode())]
            if config.upstream_mac:
                subs.append((2, config.upstream_mac.encode()))
            info = encode_relay_agent_info(RelayAgentInfo(tuple(subs)))
            options.append((Opt.RELAY_AGENT_INFO, info))
        mac = bytes.fromhex(config.mac.replace(".", ""))
        return DhcpPacket(
            xid=xid,
            chaddr=mac + bytes(10),
            giaddr=socket.inet_aton(config.address),
            hops=1,
            options=options,
        )

    def _dhcp_socket(self, switch: Switch) -> socket.socket:
        """On loopback: the relay agent's socket, on the switch's own address."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.bind((switch.config.address, self.net.relay_port))
        except OSError:
            sock.close()
            raise
        return sock

    async def _bound(self, switch: Switch, ack: DhcpPacket) -> None:
        """The lease is in: nothing to do on loopback (the address is there already)."""

    async def _exchange(self, sock: socket.socket, packet: DhcpPacket) -> DhcpPacket | None:
        loop = asyncio.get_running_loop()
        for _ in range(self.net.dhcp_attempts):
            sock.sendto(packet.encode(), self.net.dhcp_server)
            try:
                async with asyncio.timeout(self.net.dhcp_timeout):
                    while True:
                        data, _ = await loop.sock_recvfrom(sock, 65535)
                        try:
                            reply = DhcpPacket.decode(data)
                        except DhcpDecodeError:
                            continue
                        if reply.xid == packet.xid and reply.chaddr[:6] == packet.chaddr[:6]:
                            return reply
            except TimeoutError:
                continue
        return None

    async def dhcp(self, switch: Switch, refresh: str | None = None) -> Lease | None:
        try:
            sock = self._dhcp_socket(switch)
        except OSError as error:
            log.warning("switch %s: DHCP: %s", switch.mac, error)
            return None
        try:
            xid = random.getrandbits(32)
            requested = refresh
            server_id = None
            if requested is None:
                offer = await self._exchange(sock, self._request(switch, MessageType.DISCOVER, xid))
                if offer is None or offer.message_type != MessageType.OFFER:
                    return None
                requested = socket.inet_ntoa(offer.yiaddr)
                # RFC 2131 4.3.2: a REQUEST in SELECTING state names the chosen server; a
                # refresh (INIT-REBOOT, after a reload) does not
                server_id = offer.get(Opt.SERVER_ID) or socket.inet_aton(self.net.dhcp_server[0])
            ack = await self._exchange(
                sock, self._request(switch, MessageType.REQUEST, xid, requested, server_id)
            )
            if ack is None or ack.message_type != MessageType.ACK:
                return None
            await self._bound(switch, ack)
            return parse_lease(ack)
        except OSError as error:
            log.warning("switch %s: DHCP: %s", switch.mac, error)
            return None
        finally:
            sock.close()

    # --- TFTP ----------------------------------------------------------------------------

    def _options(self, switch: Switch) -> tftp_client.ClientOptions:
        return tftp_client.ClientOptions(
            blksize=self.net.tftp_blksize,
            windowsize=self.net.tftp_windowsize,
            retransmit_timeout=self.net.tftp_timeout,
            local_host=switch.ip or None,
        )

    async def fetch(
        self, switch: Switch, host: str, port: int, name: str, sink: Callable[[bytes], None]
    ) -> int:
        def counted(data: bytes) -> None:
            self.tftp_bytes += len(data)
            sink(data)

        out: BinaryIO = _Sink(counted)  # type: ignore[assignment]
        try:
            if not self.net.tftp_link.active:
                return await tftp_client.fetch_to(host, port, name, out, self._options(switch))
            local = switch.ip or "127.0.0.1"
            async with ImpairedRelay((host, port), local, self.net.tftp_link, local) as relay:
                try:
                    return await tftp_client.fetch_to(
                        *relay.address, name, out, self._options(switch)
                    )
                finally:
                    self.dropped += relay.dropped
        except tftp_client.TftpClientError as error:
            # no answer, or "not defined" (a server shutting down): worth another try; a
            # missing file or an access violation is the server's answer
            transient = error.code in (None, ErrorCode.NOT_DEFINED)
            raise FetchError(f"{name}: {error}", transient=transient) from None
        except OSError as error:  # unreachable, connection refused
            raise FetchError(f"{name}: {error}", transient=True) from None

    async def upload(self, switch: Switch, url: str, data: bytes) -> None:
        try:
            host, port, name = tftp_client.parse_tftp_url(url)
            await tftp_client.upload_from(host, port, name, io.BytesIO(data), self._options(switch))
        except (tftp_client.TftpClientError, OSError, ValueError) as error:
            raise FetchError(f"{url}: {error}") from None

    # --- SMI -----------------------------------------------------------------------------

    async def send(self, switch: Switch, message: smi_client.ClientMessage) -> None:
        sender = SmiClientSender(
            switch.director,
            switch.config.director_port,
            self.security,
            timeout=self.net.smi_timeout,
            local_host=switch.ip or None,
            counters=self.counters(switch),
            identity=switch.mac,
        )
        try:
            ack = await sender.send(message)
        except SmiSendError as error:
            raise SendError(str(error), error.transient) from None
        if ack.status != 0:
            name = type(message).__name__
            raise SendError(f"director refused {name}: {ack.reason}", transient=False)

    def listen_host(self, switch: Switch) -> str:
        """Where port 4786 is open: the leased address, and before any lease the switch's own
        address (many switches share this host, so not 0.0.0.0)."""
        return switch.ip or switch.config.address

    async def listen(self, switch: Switch) -> None:
        """Open port 4786, or move it to :meth:`listen_host` when that changed (a lease of
        another address than the one the switch powered on with)."""
        host = self.listen_host(switch)
        if self.listener is not None:
            if host == self.listening_on:
                return
            await self.unlisten(switch)

        def owner(received: CommandReceived) -> None:
            switch.submit(received.command)

        self.listener = SmiClientListener(
            owner,
            host,
            self.net.smi_port,
            self.security,
            identity=switch.mac,
            counters=self.counters(switch),
        )
        try:
            await self.listener.start()
        except BaseException:
            self.listener = None
            raise
        self.listening_on = host

    async def unlisten(self, switch: Switch) -> None:
        if self.listener is not None:
            listener, self.listener = self.listener, None
            self.listening_on = ""
            await listener.close()

    # --- legacy --------------------------------------------------------------------------

    async def legacy_up(self, switch: Switch, director: str, trigger_port: int) -> None:
        if self.http is None:
            self.http = await asyncio.start_server(
                lambda r, w: self._http(switch, r, w), switch.ip, self.net.http_port
            )
        if not director or not trigger_port:
            return  # the HTTP interface only (a configuration with ip http server)
        try:
            async with asyncio.timeout(5):
                _, writer = await asyncio.open_connection(
                    director, trigger_port, local_addr=(switch.ip, 0)
                )
            writer.write(f"{HTTP_PORT_HINT} {self.net.http_port}\r\n".encode())
            await writer.drain()
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        except (OSError, TimeoutError) as error:
            switch.note(f"telnet {director} {trigger_port}: {error}")

    async def legacy_down(self, switch: Switch) -> None:
        if self.http is not None:
            self.http.close()
            with contextlib.suppress(Exception):
                await self.http.wait_closed()
            self.http = None

    async def _http(
        self, switch: Switch, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            async with asyncio.timeout(10):
                head = await reader.readuntil(b"\r\n\r\n")
            status, body = await self._answer(switch, head)
            writer.write(
                f"HTTP/1.0 {status}\r\nContent-Type: text/plain\r\n"
                f"Content-Length: {len(body)}\r\n".encode()
                + (
                    b'WWW-Authenticate: Basic realm="level_15_access"\r\n'
                    if status.startswith("401")
                    else b""
                )
                + b"Connection: close\r\n\r\n"
                + body
            )
            await writer.drain()
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def _answer(self, switch: Switch, head: bytes) -> tuple[str, bytes]:
        request = parse_exec_request(head)
        if isinstance(request, str):
            return request, b""
        command, password = request
        if not switch.enable_password or password != switch.enable_password:
            return "401 Unauthorized", b"Authorization required\n"
        if command is None:
            return "404 Not Found", b""
        output = await switch.exec_command(command)
        return "200 OK", output.encode()


def parse_exec_request(head: bytes) -> tuple[str | None, str | None] | str:
    """An HTTP request head → (exec command or None when the path is not the exec interface,
    basic-auth password or None), or the HTTP status of a malformed request. Never raises."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split()
    if len(parts) != 3 or parts[0] != "GET" or not parts[2].startswith("HTTP/"):
        return "400 Bad Request"
    password = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() != "authorization":
            continue
        scheme, _, token = value.strip().partition(" ")
        if scheme.lower() == "basic":
            try:
                _, _, password = base64.b64decode(token, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                password = None
    path = parts[1]
    if not path.startswith(EXEC_PREFIX):
        return None, password
    rest = path[len(EXEC_PREFIX) :].removesuffix("/CR")
    command = " ".join(unquote(p) for p in rest.split("/") if p)
    return (command or None), password
