"""Adapters between the services (DHCP, TFTP, SMI) and the director core.

They translate wire-level data into the core's plain facts and the core's decisions into
options and commands; no policy lives here.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from smartinstall.crashpoints import crashpoint
from smartinstall.director.core import (
    CommandRequest,
    DhcpFacts,
    Director,
    HelloFacts,
    RemoteFileError,
    UpgradeReport,
)
from smartinstall.director.state import DirectorState, StateError
from smartinstall.domain.devices import Neighbor, StackMember, UpgradeKind
from smartinstall.domain.errors import DomainError
from smartinstall.domain.values import normalize_mac
from smartinstall.services import tftp_client
from smartinstall.services.dhcp import DhcpClientInfo, DhcpEvent, is_cisco_vendor_class
from smartinstall.services.smi import ClientMessageReceived, SmiSecurity, send_command
from smartinstall.services.smi_replay import CounterBook
from smartinstall.services.tftp import Address, TransferInfo
from smartinstall.store.port import StoreError
from smartinstall.wire import smi_client
from smartinstall.wire.dhcp import Opt, ip_value, smart_install_vivso
from smartinstall.wire.smi import BackupConfig, DownloadConfig, DownloadImage, Execute
from smartinstall.wire.smi_auth import PeerId

log = logging.getLogger(__name__)

MAX_BACKUP_SIZE = 4 * 1024 * 1024
MAX_CLIENTS_REMEMBERED = 10_000  # per-client notes kept between a DHCP answer and its ACK


def _text(value: bytes | None) -> str:
    if not value:
        return ""
    return value.decode("ascii", errors="replace").strip("\x00").strip()


class DirectorDhcpHook:
    """The director's part in DHCP: Smart Install options for the clients it provisions."""

    def __init__(self, director: Director) -> None:
        self.director = director
        # the flash: files each client's last answer named (its imagelist, a tailored config)
        self._named: dict[str, tuple[str, ...]] = {}
        # clients whose last ACK was held back: the next one waits for the commit again
        self._held: set[str] = set()

    def _facts(self, client: DhcpClientInfo) -> DhcpFacts:
        relay = client.relay_info
        return DhcpFacts(
            mac=client.mac_text,
            message=str(client.message_type),
            vendor_class=_text(client.vendor_class),
            giaddr=str(client.giaddr) if client.giaddr else "",
            circuit_id=_text(relay.circuit_id) if relay else "",
            remote_id=_text(relay.remote_id) if relay else "",
        )

    def client_options(self, client: DhcpClientInfo) -> Sequence[tuple[int, bytes]]:
        try:
            offer = self.director.dhcp_offer(self._facts(client))
        except (DomainError, StateError) as error:
            log.warning("DHCP %s: %s", client.mac_text, error)
            return ()
        except MemoryError:
            self.director.events.smi("NOMEMORY", table=f"director-db entry of {client.mac_text}")
            return ()
        except Exception as error:  # a bug: no options (a plain lease), said as the guide says
            log.exception("DHCP %s: the Smart Install answer failed", client.mac_text)
            internal_error(self.director, f"DHCP answer to {client.mac_text}", error)
            return ()
        mac = normalize_mac(client.mac_text)
        if offer is None or not offer.has_options:
            self._named.pop(mac, None)
            return ()
        if len(self._named) >= MAX_CLIENTS_REMEMBERED:  # a flood of new MACs
            self._named.clear()
        self._named[mac] = tuple(f for f in (offer.imagelist_file, offer.config_file) if f)
        options: list[tuple[int, bytes]] = []
        options.append((Opt.VIVSO, smart_install_vivso(offer.imagelist_file, offer.director_ip)))
        if offer.config_file:
            options.append((Opt.BOOTFILE_NAME, offer.config_file.encode("ascii", "replace")))
        if offer.tftp_server:
            options.append((Opt.TFTP_SERVER_ADDRESS, ip_value(offer.tftp_server)))
        if offer.hostname:
            options.append((Opt.HOSTNAME, offer.hostname.encode("ascii", "replace")))
        return options

    def is_smart_install_client(self, client: DhcpClientInfo) -> bool:
        return self.director.is_known_client(client.mac_text) or is_cisco_vendor_class(
            client.vendor_class
        )

    def ready_to_ack(
        self, client: DhcpClientInfo, address: ipaddress.IPv4Address
    ) -> asyncio.Future[None] | None:
        """The binding is the director's before the ACK confirms it: a new client's entry,
        its download-status row and its address are committed first (a crash after the ACK
        must not lose them). The files the answer names are on flash: first too. A client
        whose records did not change, and whose files are written, waits for nothing.

        When the commit or a write fails (a full disk), the ACK is held back — no answer, the
        client asks again — and the client's next ACK waits for the commit again."""
        mac = normalize_mac(client.mac_text)
        moved = self.director.dhcp_bound(mac, str(address), _text(client.hostname))
        durable = self.director.durable_before_ack(mac) or moved or mac in self._held
        director = self.director
        files = tuple(
            f
            for f in self._named.pop(mac, ())
            if director.publication(f) is not None or director.unwritten(f) is not None
        )
        if not (durable or files):
            return None
        return asyncio.ensure_future(self._committed(mac, durable, files))

    async def _committed(self, mac: str, durable: bool, files: tuple[str, ...]) -> None:
        try:
            unwritten = await self.director.wait_published(files) if files else None
            if unwritten is not None:
                raise OSError(unwritten)
            if durable:
                await self.director.flush()
        except BaseException:
            if len(self._held) >= MAX_CLIENTS_REMEMBERED:
                self._held.clear()
            self._held.add(mac)
            raise
        self._held.discard(mac)
        if durable:
            crashpoint("dhcp-ack-committed")

    def observe(self, event: DhcpEvent) -> None:
        return None


class DirectorTftpHook:
    """Download status from the client's reads; backups are the only writes accepted."""

    def __init__(self, director: Director) -> None:
        self.director = director

    def transfer_started(self, info: TransferInfo) -> None:
        self.director.tftp_transfer(info.peer[0], info.filename, info.is_read, False, None)
        if not info.is_read:
            crashpoint("backup-upload")

    def transfer_progress(self, info: TransferInfo, done: int) -> None:
        if info.is_read:
            self.director.tftp_progress(info.peer[0])
        image = info.filename.endswith((".tar", ".bin"))
        if image and info.is_read and info.size and done * 2 >= info.size:
            crashpoint("image-transfer")

    def transfer_finished(self, info: TransferInfo, done: int, error: str | None) -> None:
        self.director.tftp_bytes(info.is_read, done)
        self.director.tftp_transfer(info.peer[0], info.filename, info.is_read, True, error)

    def approve_read(self, peer: Address, name: str) -> bool | Awaitable[bool]:
        # A file the director is still writing (an imagelist, a tailored configuration) is
        # served once it is on disk.
        if self.director.publication(name) is not None:
            return self.director.approve_read_when_ready(peer[0], name)
        return self.director.approve_read(peer[0], name)

    def approve_upload(self, peer: Address, name: str, size: int | None) -> bool:
        if size is not None and size > MAX_BACKUP_SIZE:
            return False
        return self.director.approve_upload(peer[0], name)


_OPERATIONS = {
    smi_client.Operation.IMAGE: UpgradeKind.IMAGE,
    smi_client.Operation.CONFIG: UpgradeKind.CONFIG,
    smi_client.Operation.SCRIPT: UpgradeKind.SCRIPT,
}
_STATES = {
    smi_client.UpgradeState.STARTED: "started",
    smi_client.UpgradeState.PROGRESS: "progress",
    smi_client.UpgradeState.DONE: "done",
    smi_client.UpgradeState.FAILED: "failed",
}


class DirectorSmiOwner:
    """Client messages on TCP 4786 → the core.

    A message whose effect must survive a crash before the client hears it was taken (an
    upgrade done or failed, a backup result) is acknowledged only after the change is
    committed; when the commit fails the client gets an error acknowledgement and reports
    again."""

    def __init__(self, director: Director) -> None:
        self.director = director

    async def __call__(self, received: ClientMessageReceived) -> smi_client.Ack | None:
        message = received.message
        core = self.director
        peer_ip = received.peer.host
        mac = getattr(message, "mac", "")
        if mac and not core.accepts_report(mac, peer_ip, received.authenticated):
            return smi_client.Ack(
                acked_type=int(message.MSG_TYPE),
                acked_sequence=message.sequence,
                status=1,
                reason="not from the client's address",
            )
        # without the key, a message speaks for the address it comes from
        claimed = peer_ip if not received.authenticated else ""
        durable = False
        image_done = False
        try:
            if isinstance(message, smi_client.Hello):
                core.client_hello(_hello(message, peer_ip, claimed))
                crashpoint("hello")
            elif isinstance(message, smi_client.Keepalive):
                core.client_keepalive(message.mac, claimed or message.ip or peer_ip)
            elif isinstance(message, smi_client.NeighborReport):
                core.client_neighbors(message.mac, _neighbors(message.neighbors))
            elif isinstance(message, smi_client.WriteMemory):
                core.client_write_memory(
                    message.mac, message.hostname, claimed or message.ip or peer_ip
                )
            elif isinstance(message, smi_client.UpgradeStatus):
                kind = _OPERATIONS.get(smi_client.Operation(message.operation))
                if kind is not None:
                    durable = message.state in (
                        smi_client.UpgradeState.DONE,
                        smi_client.UpgradeState.FAILED,
                    )
                    image_done = (
                        kind is UpgradeKind.IMAGE and message.state == smi_client.UpgradeState.DONE
                    )
                    if image_done:
                        crashpoint("image-done")
                    core.client_upgrade(
                        UpgradeReport(
                            message.mac,
                            kind,
                            _STATES.get(smi_client.UpgradeState(message.state), "progress"),
                            message.file,
                            message.reason,
                            peer_ip,
                        )
                    )
            elif isinstance(message, smi_client.BackupResult):
                await core.client_backup_result(
                    message.mac, message.success, message.file, message.reason
                )
            if durable:
                await core.flush()
                if image_done:
                    crashpoint("image-done-committed")
        except (DomainError, ValueError, StoreError, StateError) as error:
            log.warning("SMI %s from %s: %s", type(message).__name__, received.peer, error)
            return smi_client.Ack(
                acked_type=int(message.MSG_TYPE),
                acked_sequence=message.sequence,
                status=1,
                reason=str(error)[:200],
            )
        except MemoryError:
            core.events.smi("NOMEMORY", table=f"{type(message).__name__} of {peer_ip}")
            return smi_client.Ack(
                acked_type=int(message.MSG_TYPE),
                acked_sequence=message.sequence,
                status=1,
                reason="director out of memory",
            )
        except Exception as error:  # a bug: said as the guide says it, the client told
            log.exception("SMI %s from %s failed", type(message).__name__, received.peer)
            internal_error(core, f"SMI {type(message).__name__} from {peer_ip}", error)
            return smi_client.Ack(
                acked_type=int(message.MSG_TYPE),
                acked_sequence=message.sequence,
                status=1,
                reason="internal error",
            )
        return None


def internal_error(core: Director, what: str, error: BaseException) -> None:
    """``%SMI-3-INTERNAL_ERROR: <what>: <error> - <code>`` (the guide's internal software
    error; the code is the error's errno, else 0)."""
    code = getattr(error, "errno", None)
    core.events.smi(
        "INTERNAL_ERROR",
        error=f"{what}: {type(error).__name__}: {error}"[:200],
        code=code if isinstance(code, int) else 0,
    )


def _hello(message: smi_client.Hello, peer_ip: str, claimed: str = "") -> HelloFacts:
    members = []
    for member in message.stack:
        try:
            members.append(StackMember(member.number, member.pid, member.mac))
        except DomainError as error:
            log.warning("hello from %s: stack member ignored: %s", message.mac, error)
    capability = []
    if message.capabilities & smi_client.Capability.NON_VLAN1:
        capability.append("Network derived SMI management VLAN supported")
    if message.capabilities & smi_client.Capability.AUTHENTICATION:
        capability.append("Authenticated Smart Install")
    return HelloFacts(
        mac=message.mac,
        ip=claimed or message.ip or peer_ip,
        pid=message.pid,
        serial=message.serial,
        version=message.sw_version,
        image=message.image,
        hostname=message.hostname,
        members=tuple(members) if len(members) > 1 else (),
        supervisor=message.supervisor,
        smi_version=message.smi_version,
        capability="; ".join(capability),
        has_startup_config=message.has_startup_config,
    )


def _neighbors(items: Sequence[smi_client.Neighbor]) -> tuple[Neighbor, ...]:
    result = []
    for item in items:
        try:
            result.append(
                Neighbor(
                    local_port=item.local_port,
                    mac=item.mac,
                    device_id=item.device_id,
                    ip=item.ip,
                    port=item.remote_port,
                    platform=item.platform,
                )
            )
        except DomainError as error:
            log.warning("neighbour %s ignored: %s", item.mac, error)
    return tuple(result)


class SmiCommandSender:
    """Turns the core's command requests into SMI messages (types 2, 3 and 8).

    In authenticated mode each command is sealed for its recipient alone: ``recipient_of``
    names the client (its MAC) at a request's address, ``counters`` is the director's book
    (kept in its data directory) and ``identity`` the director's address."""

    def __init__(
        self,
        security: SmiSecurity,
        timeout: float = 5.0,
        *,
        recipient_of: Callable[[str], str | None] | None = None,
        counters: CounterBook | None = None,
        identity: str | None = None,
    ) -> None:
        self.security = security
        self.timeout = timeout
        self.recipient_of = recipient_of
        self.counters = counters
        self.identity = identity

    @classmethod
    def for_state(
        cls,
        security: SmiSecurity,
        state: DirectorState,
        counters: CounterBook,
        identity: str,
    ) -> SmiCommandSender:
        """The director's sender: a request's client is the device known at its address."""

        def recipient_of(host: str) -> str | None:
            device = state.device_by_ip(host)
            return device.mac if device is not None else None

        return cls(security, recipient_of=recipient_of, counters=counters, identity=identity)

    async def __call__(self, request: CommandRequest) -> None:
        command: DownloadImage | DownloadConfig | BackupConfig | Execute
        if request.kind == "download-image":
            if request.reload_at is not None:
                command = DownloadImage.at(request.url, *request.reload_at)
            elif request.reload_now:
                command = DownloadImage.now(request.url)
            else:  # install the image, reload later by hand
                command = DownloadImage(request.url, reload_now=0, flags=0x801)
        elif request.kind == "download-config":
            if request.reload_at is not None:
                command = DownloadConfig.at(request.url, *request.reload_at)
            else:
                command = DownloadConfig(request.url, reload=1 if request.reload_now else 0)
        elif request.kind == "backup":
            command = BackupConfig.of(*request.commands[:3])
        elif request.kind == "execute":
            command = Execute(request.url)
        else:
            raise ValueError(f"unknown command {request.kind}")
        recipient = None
        if self.security.authenticated:
            recipient = self.recipient_of(request.host) if self.recipient_of else None
            if not recipient:
                raise OSError(f"no client known at {request.host} to seal the command for")
        await send_command(
            request.host,
            request.port,
            command,
            self.security,
            self.timeout,
            recipient=recipient,
            sender=PeerId.director(self.identity) if self.identity else None,
            counters=self.counters,
        )


class TftpFileServer:
    """The director's TFTP client for a third-party repository (``FileServer``)."""

    async def fetch(self, host: str, port: int, name: str, dest: Path) -> int:
        try:
            return await tftp_client.fetch(host, port, name, dest)
        except tftp_client.TftpClientError as error:
            raise RemoteFileError(str(error), missing=error.code == 1) from error

    async def upload(self, host: str, port: int, name: str, source: Path) -> int:
        try:
            with source.open("rb") as stream:
                return await tftp_client.upload_from(host, port, name, stream)
        except tftp_client.TftpClientError as error:
            raise RemoteFileError(str(error)) from error
