"""The director's application core: state, event handlers and on-demand operations.

Every arrow into the core is a plain method call with plain data: the DHCP, TFTP and SMI
services call it through the adapters in :mod:`smartinstall.director.bridges`, the CLI and the
REST API call its operations. It decides with the domain rules, remembers in the director
database and the repository, and reports through the event log (``%SMI-…``). It never touches
a socket itself: SMI commands go out through the ``send_command`` callable it is given.

Database calls are short synchronous transactions (SQLite in WAL mode with full sync);
they run on the event loop's thread, one at a time, which is the one path for blocking work
the design asks for. A director with thousands of joining clients a second would move them to
an executor; a branch does not need it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Protocol

from smartinstall.director.eventlog import EventLog
from smartinstall.domain.artifacts import TailoredConfig
from smartinstall.domain.backups import (
    NewcomerFacts,
    ReplacementKind,
    backup_name,
    decide_replacement,
    plan_backup,
)
from smartinstall.domain.devices import (
    Device,
    DeviceType,
    Health,
    JoinState,
    Neighbor,
    Progress,
    StackMember,
    UpgradeKind,
)
from smartinstall.domain.downloads import DownloadMethod, DownloadStatus
from smartinstall.domain.errors import DomainError
from smartinstall.domain.groups import ClientFacts, resolve
from smartinstall.domain.joinwindow import (
    Operation,
    Permission,
    is_open,
    joining_state,
    on_hold_install,
    on_hold_remove,
    permission,
    set_join_state,
)
from smartinstall.domain.locations import Location, parse_location, parse_repository
from smartinstall.domain.provisioning import ClientContext, Offer, OfferAction, decide_offer
from smartinstall.domain.settings import DirectorSettings, Role
from smartinstall.domain.values import normalize_mac
from smartinstall.store.database import DirectorDatabase
from smartinstall.store.repository import Repository, RepositoryError

log = logging.getLogger(__name__)

KEEPALIVE_MISSES = 3  # "has not provided updates for three consecutive keepalive periods"
BACKUP_UPLOAD_SUFFIX = ".upload"
# How long a backup request waits for the client's result before another request replaces it
# (a client that was asked and then vanished must not block its backups forever).
BACKUP_RESULT_WAIT = 120.0


@dataclass(frozen=True)
class DhcpFacts:
    """What one DHCP message tells the director about its client."""

    mac: str
    message: str = "discover"  # discover, request, inform …
    vendor_class: str = ""
    giaddr: str = ""
    circuit_id: str = ""  # option 82: the upstream interface
    remote_id: str = ""  # option 82: the upstream device (MAC or name)

    @property
    def pid(self) -> str:
        """Option 60 ``cisco-<PID>`` carries the product ID (our emulated switches send it)."""
        text = self.vendor_class.strip()
        if text.lower().startswith("cisco-") and len(text) > 6:
            return text[6:].upper()
        return ""


@dataclass(frozen=True)
class HelloFacts:
    """A Smart Install capable client's report of itself (SMI hello)."""

    mac: str
    ip: str = ""
    pid: str = ""
    serial: str = ""
    version: str = ""
    image: str = ""
    hostname: str = ""
    members: tuple[StackMember, ...] = ()
    supervisor: str = ""
    smi_version: int = 1
    capability: str = ""
    has_startup_config: bool = False
    smi_port: int = 0  # 0: the director's default client port


@dataclass(frozen=True)
class UpgradeReport:
    mac: str
    kind: UpgradeKind
    state: str  # started, progress, done, failed
    file: str = ""
    reason: str = ""
    ip: str = ""


@dataclass(frozen=True)
class CommandRequest:
    """A director → client command, handed to the SMI sender."""

    host: str
    port: int
    kind: str  # download-image, download-config, backup, execute
    url: str = ""
    reload_at: tuple[int, int] | None = None  # (hh, mm); None: no scheduled reload
    reload_now: bool = False
    commands: tuple[str, ...] = ()


@dataclass
class OperationResult:
    """Outcome of an on-demand operation, one line per client for the operator."""

    lines: list[str] = field(default_factory=list)
    ok: int = 0
    failed: int = 0


SendCommand = Callable[[CommandRequest], Awaitable[None]]


class RemoteFileError(Exception):
    """A transfer with a third-party file server failed; ``missing`` when the file is absent."""

    def __init__(self, message: str, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


class FileServer(Protocol):
    """A third-party TFTP server the director reads and writes (the backup repository)."""

    async def fetch(self, host: str, port: int, name: str, dest: Path) -> int: ...

    async def upload(self, host: str, port: int, name: str, source: Path) -> int: ...


class Director:
    """The Smart Install director's core."""

    def __init__(
        self,
        settings: DirectorSettings,
        db: DirectorDatabase,
        repository: Repository,
        events: EventLog,
        *,
        address: str,
        owns_address: Callable[[str], bool],
        send_command: SendCommand | None = None,
        file_server: FileServer | None = None,
        client_smi_port: int = 4786,
        tftp_port: int = 69,
        keepalive_period: float = 60.0,
        tz: dt.tzinfo = dt.UTC,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.repo = repository
        self.events = events
        self.address = address
        self.owns_address = owns_address
        self.send_command = send_command
        self.file_server = file_server
        self.client_smi_port = client_smi_port
        self.tftp_port = tftp_port
        self.keepalive_period = keepalive_period
        self.tz = tz
        self._clock = clock or (lambda: dt.datetime.now(self.tz))
        self._role = Role.CLIENT
        self._window_open: bool | None = None
        self._client_ports: dict[str, int] = {}  # mac -> SMI port announced in hello
        self._backup_requests: dict[str, str] = {}  # mac -> approved upload name
        self._backup_asked_at: dict[str, float] = {}  # mac -> asked at (monotonic), until stored
        self._backup_again: set[str] = set()  # asked again while one was under way
        self._not_configured_logged: set[str] = set()
        self._tasks: set[asyncio.Task[object]] = set()

    # --- time, role --------------------------------------------------------------------------

    def now(self) -> dt.datetime:
        return self._clock()

    @property
    def role(self) -> Role:
        return self._role

    def refresh_role(self) -> Role:
        """Recompute the role; log ``%SMI-5-DIRECTOR`` when it changes."""
        role = self.settings.role(self.owns_address)
        if role is not self._role:
            self._role = role
            status = "Enabled" if role is Role.DIRECTOR else "Disabled"
            self.events.smi("DIRECTOR", status=status)
            if role is Role.DIRECTOR:
                self._ensure_director_entry()
        return role

    def _ensure_director_entry(self) -> None:
        existing = [d for d in self.db.devices() if d.is_director]
        mac = existing[0].mac if existing else _director_mac(self.settings.director_ip or "")
        self.db.upsert_device(
            Device(
                0,
                mac,
                hostname=self.settings.hostname,
                ip=self.settings.director_ip or "",
                hop=0,
                is_director=True,
                device_type=DeviceType.SMART_INSTALL,
                version="smartinstall",
            )
        )

    @property
    def is_director(self) -> bool:
        return self._role is Role.DIRECTOR

    # --- join window -------------------------------------------------------------------------

    def tick(self) -> None:
        """Periodic work: join-window transitions, health, role. Call every few seconds."""
        self.refresh_role()
        if not self.is_director:
            return
        now = self.now()
        window_open = is_open(self.settings.join_window, now, self.tz)
        if self._window_open is not None and window_open != self._window_open:
            self.events.smi(
                "SMI_JOIN_WINDOW_MESSAGE",
                status="Opened" if window_open else "Closed",
                ip=self.settings.director_ip or self.address,
            )
        self._window_open = window_open
        self.check_health(now)

    def check_health(self, now: dt.datetime | None = None) -> list[Device]:
        """Active while keepalives arrive; Inactive after three missed periods."""
        now = now or self.now()
        limit = now - dt.timedelta(seconds=self.keepalive_period * KEEPALIVE_MISSES)
        gone = []
        for device in self.db.stale_devices(limit):
            if device.is_director or device.health is Health.INACTIVE:
                continue
            gone.append(self.db.set_health(device.mac, Health.INACTIVE))
            self.events.smi("SWITCH_REMOVE", mac=device.mac)
        return gone

    # --- DHCP --------------------------------------------------------------------------------

    def dhcp_offer(self, facts: DhcpFacts) -> Offer | None:
        """The decision for a client's DHCP OFFER/ACK; None when the director stays out."""
        if not self.is_director:
            return None
        mac = normalize_mac(facts.mac)
        device = self.db.device_by_mac(mac)
        if device is not None and device.is_director:
            return None
        now = self.now()
        replacing_backup: str | None = None
        replacing = False
        if device is None:
            device, replacing, replacing_backup = self._new_client(mac, facts, now)
        else:
            if facts.pid and not device.pid:
                device = self.db.upsert_device(replace(device, pid=facts.pid))
            device = self._rejoin(device, now)
            replacing, replacing_backup = self._replacement_of(mac)
        return self._decide(device, replacing, replacing_backup)

    def _rejoin(self, device: Device, now: dt.datetime) -> Device:
        """A known client asks DHCP again: its join state follows the window.

        A closed window denies it ("the director does not send files to the client until the
        next configured join window"); an open one lets a denied client in (auto) or puts it on
        hold (manual). A held client stays held, an allowed one stays allowed; a client taken
        off the hold list is held again once it restarts.
        """
        state = device.join_state
        removed = self._removed_from_hold(device.mac)
        if not is_open(self.settings.join_window, now, self.tz):
            new, clear_removed = JoinState.DENIED, False
        elif removed:
            new, clear_removed = JoinState.HOLD, True
        elif state is JoinState.DENIED:
            new = JoinState.ALLOWED if self.settings.join_window.auto else JoinState.HOLD
            clear_removed = False
        else:
            return device
        if new is state and not clear_removed:
            return device
        return self.db.set_join_state(
            device.mac, new, removed_from_hold=False if clear_removed else None
        )

    def _replacement_of(self, mac: str) -> tuple[bool, str | None]:
        replacement = next((r for r in self.db.replacements() if r.new_mac == mac), None)
        if replacement is None:
            return False, None
        return True, replacement.config_file or None

    def _decide(
        self,
        device: Device,
        replacing: bool = False,
        replacing_backup: str | None = None,
        join_state: JoinState | None = None,
    ) -> Offer:
        """Resolve the group, decide the offer and publish its files (imagelist, tailored
        configuration, download-status entry) when it installs."""
        mac = device.mac
        client = ClientFacts.of_device(device)
        assignment = resolve(self.settings.groups, client)
        last_backup = None
        if self.settings.backup.enabled and not replacing:
            last_backup = self._backup_path(device)
        context = ClientContext(
            mac=mac,
            join_state=join_state or device.join_state,
            hop=device.hop or 1,
            legacy=device.device_type is DeviceType.NON_SMART_INSTALL,
            last_backup=last_backup,
            replacement_backup=replacing_backup,
            replacing=replacing,
            # only a farther hop waits for nearer ones: a hop-1 client needs no look-up (the
            # look-up reads the download table, which a fleet's DHCP storm makes costly)
            busy_hops=self._busy_hops(exclude=mac) if (device.hop or 1) > 1 else frozenset(),
        )
        pool = next(iter(self.settings.dhcp_pools.values()), None)
        offer = decide_offer(
            assignment,
            context,
            self.settings.director_ip or self.address,
            file_server=pool.file_server if pool else None,
            hostname_prefix=self.settings.hostname_prefix,
            backup_enabled=self.settings.backup.enabled,
        )
        self.events.debug_line("group", f"{mac}: {'; '.join(offer.reasons)}")
        if offer.action is OfferAction.INSTALL:
            self._publish(offer, device)
            self._start_zero_touch(device, offer)
        elif offer.action is OfferAction.NOTHING and mac not in self._not_configured_logged:
            self._not_configured_logged.add(mac)
            self.events.smi(
                "IMG_CFG_NOT_CONFIGURED", device=device.pid or mac, ip=device.ip or "0.0.0.0"
            )
            if device.pid:
                self.events.smi("INCORRECT_CFG", device_type="Product-ID", model=device.pid)
        return offer

    def _new_client(
        self, mac: str, facts: DhcpFacts, now: dt.datetime
    ) -> tuple[Device, bool, str | None]:
        upstream = self._upstream_of(mac, facts)
        decision = decide_replacement(
            NewcomerFacts(mac, facts.pid, upstream[0], upstream[1], upstream[2]),
            # only an Inactive client can be replaced: not every entry is read per newcomer
            self.db.devices_with_health(Health.INACTIVE),
            replacement_in_progress=self.db.replacement_in_progress(upstream[0], upstream[1]),
        )
        join = joining_state(self.settings.join_window, now, self.tz)
        device = Device(
            0,
            mac,
            pid=facts.pid,
            upstream_mac=upstream[0],
            upstream_ip=upstream[1],
            upstream_port=upstream[2],
            hop=upstream[3],
            device_type=DeviceType.PENDING,
            join_state=join,
        )
        replacing_backup = None
        replacing = decision.kind is ReplacementKind.REPLACEMENT
        if replacing and decision.replaced is not None:
            old = decision.replaced
            record = self.db.latest_backup(old.mac)
            path = self._backup_path(old, record.hostname if record else old.hostname)
            replacing_backup = path
            self.db.clear_device(old.number)  # clearing an entry also drops its replacements
            self.db.start_replacement(mac, old, config_file=path or "")
            self.events.smi("SWITCH_REPLACE", old_mac=old.mac, new_mac=mac)
            device = replace(device, join_state=JoinState.ALLOWED)
        stored = self.db.upsert_device(device)
        self.events.smi("SWITCH_ADD", mac=mac)
        self.events.debug_line(
            "director-db",
            f"entry {stored.number} {mac} pid {stored.pid or '?'} hop {stored.hop} "
            f"join {stored.join_state.value}: {decision.reason}",
        )
        return stored, replacing, replacing_backup

    def _upstream_of(self, mac: str, facts: DhcpFacts) -> tuple[str, str, str, int]:
        """(upstream MAC, upstream IP, port, hop): a neighbour report first, then option 82."""
        for other in self.db.reporters_of(mac):
            for neighbor in other.neighbors:
                if neighbor.mac == mac:
                    hop = (other.hop or 0) + 1
                    return other.mac, other.ip, neighbor.local_port, hop
        if facts.circuit_id:
            remote = facts.remote_id
            upstream_mac = ""
            try:
                upstream_mac = normalize_mac(remote) if remote else ""
            except DomainError:
                upstream_mac = ""
            upstream = self.db.device_by_mac(upstream_mac) if upstream_mac else None
            port = facts.circuit_id
            try:
                from smartinstall.domain.interfaces import canonical_interface

                port = canonical_interface(port)
            except DomainError:
                port = ""
            if upstream is not None:
                return upstream.mac, upstream.ip, port, (upstream.hop or 0) + 1
            return upstream_mac, facts.giaddr, port, 1
        return "", "", "", 1

    def _busy_hops(self, exclude: str) -> frozenset[int]:
        busy = {e.mac for e in self.db.downloads() if not e.finished and e.mac != exclude}
        if not busy:
            return frozenset()
        # one query for the hops, not one per unfinished entry
        return self.db.hops_of(busy)

    def _backup_path(self, device: Device, hostname: str | None = None) -> str | None:
        record = self.db.latest_backup(device.mac)
        if record is not None and record.file.startswith("tftp://"):
            return record.file  # on a third-party server: trusted to be there
        name = hostname or (record.hostname if record else device.hostname)
        if not name:
            return None
        try:
            path = f"{self.backup_dir}/{backup_name(name, device.mac, 2)}".lstrip("/")
        except DomainError:
            return None
        return path if self.repo.exists(path) else None

    def _publish(self, offer: Offer, device: Device) -> None:
        """Write the imagelist and the tailored configuration the answer points to."""
        try:
            if offer.imagelist_file and offer.imagelist is not None:
                self._write_if_changed(offer.imagelist_file, offer.imagelist.encode())
        except OSError as error:
            log.error("imagelist %s: %s", offer.imagelist_file, error)
            self.events.smi("IMAGELIST_FAILED")
        try:
            if offer.tailored and offer.config_file:
                password = self.settings.tailored_password
                if not password:
                    raise DomainError("no vstack tailored-config enable-password configured")
                text = TailoredConfig(self.settings.director_ip or self.address, password).render()
                self._write_if_changed(offer.config_file, text.encode())
        except (OSError, DomainError) as error:
            log.error("tailored configuration for %s: %s", device.mac, error)
            self.events.smi("TAILOR_FAILED")

    def _start_zero_touch(self, device: Device, offer: Offer) -> None:
        latest = self.db.latest_download(device.mac)
        if latest is not None and not latest.finished:
            # The same zero touch asks again (a stack, once its members are known, gets its
            # stack group's offer): a column the new offer has nothing for is not awaited.
            needed = {
                UpgradeKind.IMAGE: offer.imagelist_file,
                UpgradeKind.CONFIG: offer.config_file,
                UpgradeKind.SCRIPT: offer.script,
            }
            for kind, wanted_file in needed.items():
                if not wanted_file and latest.status(kind) is DownloadStatus.NOT_STARTED:
                    self.db.update_download(latest.id, kind, DownloadStatus.NOT_APPLICABLE)
            return
        na = DownloadStatus.NOT_APPLICABLE
        entry = self.db.add_download(
            device.mac,
            DownloadMethod.ZERO_TOUCH,
            ip=device.ip,
            hostname=offer.hostname or device.hostname,
            image=DownloadStatus.NOT_STARTED if offer.imagelist_file else na,
            config=DownloadStatus.NOT_STARTED if offer.config_file else na,
            script=DownloadStatus.NOT_STARTED if offer.script else na,
        )
        if offer.script:
            # the script is sent after the client's hello; the mark outlives the row, which a
            # roll-out of more than 255 clients may push out of the table before then
            self.db.set_upgrade(device.mac, UpgradeKind.SCRIPT, Progress.PENDING)
        # Files that should be on the director's flash but are not fail now, with the reason,
        # instead of leaving the client to time out on them.
        wanted = [(UpgradeKind.SCRIPT, offer.script)]
        wanted += [(UpgradeKind.IMAGE, image) for image in offer.assignment.images]
        if offer.config_source == offer.assignment.config and not offer.tailored:
            wanted.append((UpgradeKind.CONFIG, offer.config_source))
        for kind, location in wanted:
            missing = self._missing_local(location)
            if missing:
                self._upgrade_failed(device, entry.id, kind, f"{missing} not found on flash:")

    def _missing_local(self, location: str | None) -> str:
        """The path of a ``flash:`` file that does not exist, else ``""``."""
        if not location:
            return ""
        try:
            parsed = parse_location(location)
        except DomainError:
            return location
        if parsed.local and not self.repo.exists(parsed.path):
            return parsed.path
        return ""

    def dhcp_bound(self, mac: str, ip: str, hostname: str = "") -> None:
        """The client got its address (ACK): remember it for the tables and TFTP matching."""
        if not self.is_director:
            return
        device = self.db.device_by_mac(mac)
        if device is None or device.is_director:
            return
        changes: dict[str, object] = {}
        if device.ip != ip:
            changes["ip"] = ip
        if hostname and not device.hostname:
            changes["hostname"] = hostname
        if changes:
            device = self.db.upsert_device(replace(device, **changes))  # type: ignore[arg-type]
        latest = self.db.latest_download(device.mac)
        if latest is not None and not latest.finished and latest.ip != ip:
            self.db.set_download_client(latest.id, ip=ip)
        self.db.record_keepalive(device.mac, self.now())

    def is_known_client(self, mac: str) -> bool:
        """Coexistence with a third-party DHCP server: answer only our switches."""
        return self.db.device_by_mac(normalize_mac(mac)) is not None

    # --- TFTP --------------------------------------------------------------------------------

    def tftp_transfer(
        self, peer_ip: str, path: str, is_read: bool, done: bool, error: str | None
    ) -> None:
        """Follow a client's downloads in the download-status table."""
        if not self.is_director or not is_read:
            return
        device = self.db.device_by_ip(peer_ip)
        if device is None:
            return
        entry = self.db.latest_download(device.mac)
        if entry is not None and entry.finished:
            return
        kind = self._kind_of(device, path)
        if kind is None:
            return
        if entry is None:
            # a client whose row left the table (255 entries at most) or was cleared
            tailored = PurePosixPath(path).name.startswith("tailored-")
            if not done:
                self._follow_without_entry(device, kind, "started", peer_ip)
            elif error:
                self._follow_without_entry(device, kind, "failed", peer_ip)
            elif not tailored and (
                device.device_type is DeviceType.NON_SMART_INSTALL or kind is UpgradeKind.CONFIG
            ):
                self._follow_without_entry(device, kind, "done", peer_ip)
            return
        if not done:
            if entry.status(kind) is DownloadStatus.NOT_STARTED:
                self.db.update_download(entry.id, kind, DownloadStatus.UPGRADING)
                self.db.set_upgrade(device.mac, kind, Progress.IN_PROGRESS)
                self.events.smi("UPGRD_STARTED", ip=peer_ip, what=_what(kind))
            return
        if error:
            self._upgrade_failed(device, entry.id, kind, f"download of {path} failed: {error}")
        elif PurePosixPath(path).name.startswith("tailored-"):
            # The tailored configuration only prepares a legacy client; its real configuration
            # and image come through the HTTP emulation, which reports them.
            return
        elif device.device_type is DeviceType.NON_SMART_INSTALL or kind is UpgradeKind.CONFIG:
            # Legacy clients send no reports; a configuration is in place once downloaded.
            self._upgrade_done(device, entry.id, kind)

    def _kind_of(self, device: Device, path: str) -> UpgradeKind | None:
        name = PurePosixPath(path).name
        client = ClientFacts.of_device(device)
        assignment = resolve(self.settings.groups, client)
        images = {PurePosixPath(i.split(":", 1)[-1]).name for i in assignment.images}
        if name.startswith("imagelist-") or name in images or name.endswith((".tar", ".bin")):
            return UpgradeKind.IMAGE
        if assignment.script and name == PurePosixPath(assignment.script.split(":", 1)[-1]).name:
            return UpgradeKind.SCRIPT
        return UpgradeKind.CONFIG

    def approve_read(self, peer_ip: str, name: str) -> bool:
        """TFTP RRQ: a backup (``…REV1/.REV2``, uploads) is readable only by the client it
        belongs to, or by the switch that replaces it; everything else on flash: is served.

        Cisco's director serves its whole flash to anyone; backups hold secrets."""
        wanted = PurePosixPath(name.lstrip("/"))
        backup_dir = PurePosixPath(self.backup_dir) if self.backup_dir else None
        if backup_dir is None or wanted.parent != backup_dir:
            return True
        if not (
            wanted.name.endswith((".REV1", ".REV2")) or wanted.name.endswith(BACKUP_UPLOAD_SUFFIX)
        ):
            return True
        device = self.db.device_by_ip(peer_ip)
        if device is None:
            return False
        if f"-{device.mac}." in wanted.name:
            return True
        replacing, backup = self._replacement_of(device.mac)
        return replacing and backup is not None and PurePosixPath(backup).name == wanted.name

    def approve_upload(self, peer_ip: str, name: str) -> bool:
        """TFTP WRQ: only the backup a client was asked for, to the name it was given."""
        wanted = PurePosixPath(name).name
        for mac, upload in self._backup_requests.items():
            if PurePosixPath(upload).name == wanted:
                device = self.db.device_by_mac(mac)
                return device is not None and (not device.ip or device.ip == peer_ip)
        return False

    # --- SMI client messages -----------------------------------------------------------------

    def client_hello(self, hello: HelloFacts) -> Device:
        mac = normalize_mac(hello.mac)
        existing = self.db.device_by_mac(mac)
        if hello.smi_port:
            self._client_ports[mac] = hello.smi_port
        base = existing or Device(0, mac, join_state=JoinState.ALLOWED)
        device = replace(
            base,
            mac=mac if existing is None or existing.mac == mac else existing.mac,
            pid=hello.pid or base.pid,
            serial=hello.serial or base.serial,
            version=hello.version or base.version,
            image=hello.image or base.image,
            ip=hello.ip or base.ip,
            hostname=hello.hostname or base.hostname,
            members=hello.members or base.members,
            supervisor=hello.supervisor or base.supervisor,
            smi_version=hello.smi_version,
            capability=hello.capability or base.capability,
            device_type=DeviceType.SMART_INSTALL,
            health=Health.ACTIVE,
        )
        stored = self.db.upsert_device(device)
        self.db.record_keepalive(stored.mac, self.now())
        if existing is None:
            self.events.smi("SWITCH_ADD", mac=mac)
        elif existing.health is Health.INACTIVE:
            self.events.debug_line("director-db", f"entry {stored.number} {mac} active again")
        if self.is_director:
            self._offer_script(stored)
        if self.is_director and hello.has_startup_config and self.settings.backup.enabled:
            pending = any(p.mac == stored.mac for p in self.db.pending_backups())
            if pending or self.db.latest_backup(stored.mac) is None:
                self._spawn(self.request_backup(stored.mac))
        return stored

    def _offer_script(self, device: Device) -> None:
        """The post-install script rides with a zero-touch upgrade: once the client is up and
        has said hello, the director sends it the script URL (type 5), and the client fetches
        and runs it ("A script-only upgrade is not possible")."""
        entry = self.db.latest_download(device.mac)
        if entry is None:
            if device.upgrade.script is not Progress.PENDING:
                return  # no zero touch awaits a script (its row left the table: see PENDING)
        elif entry.finished or entry.script is not DownloadStatus.NOT_STARTED:
            return
        client = ClientFacts.of_device(device)
        script = resolve(self.settings.groups, client).script
        if not script or not device.ip:
            return
        url = self._tftp_url(script)
        request = CommandRequest(
            device.ip, self._client_ports.get(device.mac, self.client_smi_port), "execute", url=url
        )
        self._spawn(self._send_quietly(request))

    def _tftp_url(self, location: str) -> str:
        """A location as the client fetches it: flash: files from the director's TFTP server."""
        parsed = parse_location(location)
        if not parsed.local:
            return parsed.text
        port = "" if self.tftp_port == 69 else f":{self.tftp_port}"
        return f"tftp://{self.settings.director_ip or self.address}{port}/{parsed.path}"

    async def _send_quietly(self, request: CommandRequest) -> bool:
        try:
            await self._send(request)
            return True
        except (OSError, TimeoutError) as error:
            log.warning("%s to %s failed: %s", request.kind, request.host, error)
            self.events.smi(
                "CLIENT_CONN_FAILED",
                client_ip=request.host,
                director_ip=self.settings.director_ip or self.address,
            )
            return False

    def client_keepalive(self, mac: str, ip: str = "") -> None:
        device = self.db.device_by_mac(normalize_mac(mac))
        if device is None:
            return
        if device.health is Health.INACTIVE:
            self.db.set_health(device.mac, Health.ACTIVE)
        if ip and device.ip != ip:
            self.db.upsert_device(replace(device, ip=ip))
        self.db.record_keepalive(device.mac, self.now())

    def client_neighbors(self, mac: str, neighbors: tuple[Neighbor, ...]) -> None:
        """A client's CDP table: its neighbours become known (type P until they speak)."""
        reporter = self.db.device_by_mac(normalize_mac(mac))
        if reporter is None:
            return
        reporter = self.db.upsert_device(replace(reporter, neighbors=neighbors))
        for neighbor in neighbors:
            if self.db.device_by_mac(neighbor.mac) is not None:
                continue
            if neighbor.ip and neighbor.ip == (self.settings.director_ip or self.address):
                continue
            hop = (reporter.hop or 0) + 1
            if hop > 7:
                continue
            legacy = "legacy" in neighbor.platform.lower() or "non-smi" in neighbor.platform.lower()
            join = joining_state(self.settings.join_window, self.now(), self.tz)
            self.db.upsert_device(
                Device(
                    0,
                    neighbor.mac,
                    pid=_pid_of_platform(neighbor.platform),
                    ip=neighbor.ip,
                    hostname=neighbor.device_id,
                    hop=hop,
                    upstream_mac=reporter.mac,
                    upstream_ip=reporter.ip,
                    upstream_port=neighbor.local_port,
                    device_type=DeviceType.NON_SMART_INSTALL if legacy else DeviceType.PENDING,
                    join_state=join,
                )
            )
            self.events.smi("SWITCH_ADD", mac=neighbor.mac)

    def client_upgrade(self, report: UpgradeReport) -> None:
        device = self.db.device_by_mac(normalize_mac(report.mac))
        if device is None:
            return
        entry = self.db.latest_download(device.mac)
        ip = report.ip or device.ip
        if entry is None:
            self._follow_without_entry(device, report.kind, report.state, ip)
            return
        if entry.finished:
            return
        if report.state == "started" and entry.status(report.kind) is DownloadStatus.NOT_STARTED:
            self.db.update_download(entry.id, report.kind, DownloadStatus.UPGRADING)
            self.db.set_upgrade(device.mac, report.kind, Progress.IN_PROGRESS)
            self.events.smi("UPGRD_STARTED", ip=ip, what=_what(report.kind))
        elif report.state == "done":
            self._upgrade_done(device, entry.id, report.kind)
        elif report.state == "failed":
            self._upgrade_failed(device, entry.id, report.kind, report.reason or "client failed")

    def _follow_without_entry(self, device: Device, kind: UpgradeKind, state: str, ip: str) -> None:
        """The client's row has left the download-status table (it keeps the guide's 255
        entries, or the operator cleared it) while the client was upgrading: its own status
        (the letters of ``show vstack status``) still follows its reports and downloads.
        ``state`` is ``started``, ``done`` or ``failed``."""
        current = getattr(device.upgrade, kind.value)
        what = _what(kind)
        if state == "started" and current is not Progress.IN_PROGRESS:
            self.db.set_upgrade(device.mac, kind, Progress.IN_PROGRESS)
            self.events.smi("UPGRD_STARTED", ip=ip or "0.0.0.0", what=what)
        elif state == "done" and current is Progress.IN_PROGRESS:
            self.db.set_upgrade(device.mac, kind, Progress.DONE)
            self.events.smi("UPGRD_SUCCESS", ip=ip or "0.0.0.0", what=what)
        elif state == "failed" and current is Progress.IN_PROGRESS:
            self.db.set_upgrade(device.mac, kind, Progress.FAILED)
            self.events.smi("UPGRD_FAILED", ip=ip or "0.0.0.0", what=what)

    def _upgrade_done(self, device: Device, entry_id: int, kind: UpgradeKind) -> None:
        entry = self.db.update_download(entry_id, kind, DownloadStatus.UPGRADED)
        self.db.set_upgrade(device.mac, kind, Progress.DONE)
        self.events.smi("UPGRD_SUCCESS", ip=device.ip or entry.ip or "0.0.0.0", what=_what(kind))
        if entry.finished:
            self.db.finish_replacement(device.mac)

    def _upgrade_failed(
        self, device: Device, entry_id: int, kind: UpgradeKind, reason: str
    ) -> None:
        entry = self.db.update_download(entry_id, kind, DownloadStatus.FAILED, reason=reason)
        self.db.set_upgrade(device.mac, kind, Progress.FAILED)
        self.events.smi("UPGRD_FAILED", ip=device.ip or entry.ip or "0.0.0.0", what=_what(kind))

    def client_write_memory(self, mac: str, hostname: str = "", ip: str = "") -> None:
        device = self.db.device_by_mac(normalize_mac(mac))
        if device is None:
            return
        if (hostname and hostname != device.hostname) or (ip and ip != device.ip):
            device = self.db.upsert_device(
                replace(device, hostname=hostname or device.hostname, ip=ip or device.ip)
            )
        self._spawn(self.request_backup(device.mac))

    # --- backups -----------------------------------------------------------------------------

    async def request_backup(self, mac: str) -> bool:
        """Ask a client to upload its startup configuration (type 8), as after write memory."""
        device = self.db.device_by_mac(mac)
        if device is None or not self.is_director or not self.settings.backup.enabled:
            return False
        if permission(device.join_state, Operation.BACKUP) is not Permission.ALLOWED:
            self.events.debug_line("backup", f"{mac}: on hold, backup refused (Table 1-3)")
            return False
        if not device.ip or not device.hostname:
            self.db.add_pending_backup(device.mac, "client address or hostname unknown")
            return False
        asked = self._backup_asked_at.get(device.mac)
        if asked is not None and time.monotonic() - asked < BACKUP_RESULT_WAIT:
            # One upload at a time per client (they share the staging name): this request is
            # served by another backup as soon as the one under way has ended.
            self._backup_again.add(device.mac)
            self.events.debug_line("backup", f"{mac}: a backup is under way; another follows")
            return True
        upload = f"{self.backup_dir}/{device.hostname}-{device.mac}{BACKUP_UPLOAD_SUFFIX}"
        upload = upload.lstrip("/")
        self._backup_requests[device.mac] = upload
        self._backup_asked_at[device.mac] = time.monotonic()
        url = f"tftp://{self.settings.director_ip or self.address}:{self.tftp_port}/{upload}"
        request = CommandRequest(
            device.ip,
            self._client_ports.get(device.mac, self.client_smi_port),
            "backup",
            url=url,
            commands=(f"copy startup-config {url}",),
        )
        try:
            await self._send(request)
        except (OSError, TimeoutError) as error:
            self._backup_requests.pop(device.mac, None)
            self._backup_asked_at.pop(device.mac, None)
            self._backup_again.discard(device.mac)
            self.db.add_pending_backup(device.mac, f"connection lost: {error}")
            self.events.smi(
                "SMI_DIRECTOR_BACKUP_FAILURE",
                client_ip=device.ip,
                repository=self.settings.backup.location,
                reason="client unreachable",
            )
            return False
        self.events.debug_line("backup", f"{mac}: asked for its configuration ({url})")
        return True

    def client_backup_result(
        self, mac: str, success: bool, file: str = "", reason: str = ""
    ) -> bool:
        """The client says its upload ended: rotate REV2 → REV1 and store the new REV2; then
        the backup asked for meanwhile, if any, starts."""
        device = self.db.device_by_mac(normalize_mac(mac))
        if device is None:
            return False
        remote = False
        try:
            stored, remote = self._store_backup(device, success, reason)
            return stored
        finally:
            if not remote:
                self._backup_done(device.mac)

    def _backup_done(self, mac: str) -> None:
        self._backup_asked_at.pop(mac, None)
        if mac in self._backup_again:
            self._backup_again.discard(mac)
            self._spawn(self.request_backup(mac))

    def _store_backup(self, device: Device, success: bool, reason: str) -> tuple[bool, bool]:
        """(stored, handed to the remote repository task)."""
        upload = self._backup_requests.pop(device.mac, None)
        repository = self.settings.backup.location
        if not success or upload is None or not self.repo.exists(upload):
            why = reason or ("no upload received" if success else "client failed")
            self.db.add_pending_backup(device.mac, why)
            self.events.smi(
                "SMI_DIRECTOR_BACKUP_FAILURE",
                client_ip=device.ip,
                repository=repository,
                reason=why,
            )
            return False, False
        previous = self.db.latest_backup(device.mac)
        location = parse_repository(repository)
        if not location.local:
            self._spawn(self._store_remote(device, upload, location))
            return True, True
        plan = plan_backup(
            device.hostname,
            device.mac,
            self.repo.names(self.backup_dir),
            previous_hostname=previous.hostname if previous else None,
        )
        try:
            stored = self.repo.execute_backup_plan(
                plan, self.repo.iter_chunks(upload), directory=self.backup_dir
            )
            self.repo.delete(upload)
        except (OSError, RepositoryError) as error:
            self.db.add_pending_backup(device.mac, str(error))
            self.events.smi(
                "SMI_DIRECTOR_BACKUP_FAILURE",
                client_ip=device.ip,
                repository=repository,
                reason=str(error),
            )
            return False, False
        self.db.record_backup(device.mac, device.hostname, stored.path, stored.md5, stored.size)
        self.events.smi("SMI_DIRECTOR_BACKUP_SUCCESS", client_ip=device.ip, repository=repository)
        return True, False

    async def _store_remote(self, device: Device, upload: str, location: Location) -> bool:
        try:
            return await self._store_remote_files(device, upload, location)
        finally:
            self._backup_done(device.mac)

    async def _store_remote_files(self, device: Device, upload: str, location: Location) -> bool:
        """``vstack backup file-server tftp://…``: keep REV1/REV2 on a third-party TFTP server.

        TFTP has no rename, so the rotation reads the server's REV2 and writes it back as REV1
        before writing the new REV2; files of an old hostname stay, as the guide says of
        third-party servers. The upload stays in the local staging area until the server has
        the new REV2."""
        repository = self.settings.backup.location
        rev1 = "/".join(
            p for p in (location.path, backup_name(device.hostname, device.mac, 1)) if p
        )
        rev2 = "/".join(
            p for p in (location.path, backup_name(device.hostname, device.mac, 2)) if p
        )
        staging = self.repo.resolve(upload)
        old = staging.with_name(staging.name + ".rev2")
        try:
            if self.file_server is None:
                raise RemoteFileError("no TFTP client for the repository")
            server = self.file_server
            try:
                await server.fetch(location.host, location.port, rev2, old)
            except RemoteFileError as error:
                if not error.missing:
                    raise
            else:
                await server.upload(location.host, location.port, rev1, old)
            size = await server.upload(location.host, location.port, rev2, staging)
            digest = self.repo.md5(upload)
        except (OSError, TimeoutError, RemoteFileError) as error:
            self.db.add_pending_backup(device.mac, f"repository: {error}")
            self.events.smi(
                "SMI_DIRECTOR_BACKUP_FAILURE",
                client_ip=device.ip,
                repository=repository,
                reason=str(error),
            )
            return False
        finally:
            old.unlink(missing_ok=True)
        self.repo.delete(upload)
        port = "" if location.port == 69 else f":{location.port}"
        url = f"tftp://{location.host}{port}/{rev2}"
        self.db.record_backup(device.mac, device.hostname, url, digest, size)
        self.events.smi("SMI_DIRECTOR_BACKUP_SUCCESS", client_ip=device.ip, repository=repository)
        return True

    # --- on-demand and join-window operations ----------------------------------------------

    async def download(
        self,
        kind: UpgradeKind,
        url: str,
        targets: list[Device],
        reload_at: tuple[int, int] | None = None,
        reload_now: bool = False,
    ) -> OperationResult:
        """``vstack download-image|download-config``: push an image or a configuration."""
        result = OperationResult()
        method = (
            DownloadMethod.IMAGE_UPGRADE
            if kind is UpgradeKind.IMAGE
            else DownloadMethod.CONFIG_UPGRADE
        )
        na = DownloadStatus.NOT_APPLICABLE
        for device in targets:
            entry = self.db.add_download(
                device.mac,
                method,
                ip=device.ip,
                hostname=device.hostname,
                image=DownloadStatus.NOT_STARTED if kind is UpgradeKind.IMAGE else na,
                config=DownloadStatus.NOT_STARTED if kind is UpgradeKind.CONFIG else na,
                script=na,
            )
            request = CommandRequest(
                device.ip,
                self._client_ports.get(device.mac, self.client_smi_port),
                "download-image" if kind is UpgradeKind.IMAGE else "download-config",
                url=url,
                reload_at=reload_at,
                reload_now=reload_now,
            )
            try:
                await self._send(request)
            except (OSError, TimeoutError) as error:
                self.db.update_download(entry.id, kind, DownloadStatus.FAILED, reason=str(error))
                result.failed += 1
                result.lines.append(f"{device.ip}: unreachable ({error})")
                continue
            result.ok += 1
            result.lines.append(f"{device.ip}: {_what(kind)} download requested")
        return result

    def set_join_states(self, numbers: list[int], target: str) -> list[str]:
        lines = []
        for number in numbers:
            device = self.db.device_by_number(number)
            if device is None or device.is_director:
                lines.append(f"% Client {number} not found")
                continue
            try:
                state = set_join_state(device.join_state, target)
            except DomainError as error:
                lines.append(f"{error} (client {number})")
                continue
            self.db.set_join_state(device.mac, state)
        return lines

    def _allow_held(self, device: Device) -> tuple[list[str], Offer | None, Device]:
        decision = on_hold_install(device.join_state, self._removed_from_hold(device.mac))
        if not decision.ok:
            return [f"% Request denied for client {device.number}: {decision.reason}"], None, device
        device = self.db.set_join_state(device.mac, decision.state, removed_from_hold=False)
        lines = [f"Client {device.number} ({device.mac}) allowed to install"]
        replacing, replacing_backup = self._replacement_of(device.mac)
        offer = self._decide(device, replacing, replacing_backup, JoinState.ALLOWED)
        if offer.action is not OfferAction.INSTALL:
            lines.append(f"% Client {device.number}: {offer.reasons[-1]}")
            return lines, None, device
        if not device.ip:
            lines.append(
                f"% Client {device.number}: IP address unknown; it upgrades when it asks for "
                "an address again"
            )
            return lines, None, device
        return lines, offer, device

    def hold_install(self, device: Device, override: bool = False) -> str:
        """``vstack on-hold-clients install`` without waiting: the push runs in the
        background (see :meth:`install_held`)."""
        lines, offer, device = self._allow_held(device)
        if offer is not None:
            self._spawn(self._push_offer(device, offer))
        return "\n".join(lines)

    async def install_held(self, device: Device, override: bool = False) -> list[str]:
        """``vstack on-hold-clients install``: the held client is upgraded at once — the director
        pushes its image and configuration over SMI (types 2 and 3) instead of waiting for
        its next DHCP exchange. Returns one line per step for the operator."""
        lines, offer, device = self._allow_held(device)
        if offer is not None:
            lines.extend(await self._push_offer(device, offer))
        return lines

    async def _push_offer(self, device: Device, offer: Offer) -> list[str]:
        port = self._client_ports.get(device.mac, self.client_smi_port)
        requests = []
        if offer.config_file:
            url = self._tftp_url_of(offer.config_file)
            requests.append(
                CommandRequest(
                    device.ip, port, "download-config", url=url, reload_now=not offer.imagelist_file
                )
            )
        if offer.imagelist_file:
            url = self._tftp_url_of(offer.imagelist_file)
            requests.append(
                CommandRequest(device.ip, port, "download-image", url=url, reload_now=True)
            )
        lines = []
        for request in requests:
            what = "image" if request.kind == "download-image" else "config"
            if await self._send_quietly(request):
                lines.append(f"{device.ip}: {what} download requested")
            else:
                lines.append(f"% {device.ip}: unreachable, {what} not sent")
        return lines

    def _tftp_url_of(self, served: str) -> str:
        """A file the director serves (relative to flash:) as a tftp:// URL."""
        if served.startswith("tftp://"):
            return served
        return self._tftp_url(f"flash:{served}")

    def hold_remove(self, device: Device) -> str:
        decision = on_hold_remove(device.join_state, self._removed_from_hold(device.mac))
        if not decision.ok:
            return f"% Client {device.number}: {decision.reason}"
        self.db.set_join_state(device.mac, decision.state, removed_from_hold=True)
        return f"Client {device.number} ({device.mac}) removed from the hold list"

    # --- plumbing ----------------------------------------------------------------------------

    @property
    def backup_dir(self) -> str:
        """The local backup repository, relative to flash: (``vstack`` by default)."""
        location = parse_repository(self.settings.backup.location)
        return location.path if location.local else "vstack"

    def _removed_from_hold(self, mac: str) -> bool:
        record = self.db.device_record(mac)
        return record.removed_from_hold if record is not None else False

    def _write_if_changed(self, path: str, data: bytes) -> None:
        if self.repo.exists(path) and self.repo.read_bytes(path, limit=len(data) + 1) == data:
            return
        self.repo.write(path, data)

    async def _send(self, request: CommandRequest) -> None:
        if self.send_command is None:
            raise OSError("no SMI sender")
        self.events.debug_line("protocol", f"{request.kind} to {request.host}:{request.port}")
        await self.send_command(request)

    def _spawn(self, coroutine: Awaitable[object]) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task: asyncio.Task[object] = loop.create_task(coroutine)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def cancel_background(self) -> None:
        """Stop background sends at shutdown; pending backups are in the database already."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def drain(self) -> None:
        """Wait for background work (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def _what(kind: UpgradeKind) -> str:
    return {UpgradeKind.IMAGE: "image", UpgradeKind.CONFIG: "config", UpgradeKind.SCRIPT: "script"}[
        kind
    ]


def _director_mac(ip: str) -> str:
    """A stable MAC for the director's own entry, derived from its address."""
    digest = hashlib.sha256(ip.encode()).digest()
    return normalize_mac((b"\x02" + digest[:5]).hex())


def _pid_of_platform(platform: str) -> str:
    """CDP platform strings read ``cisco WS-C2960-24TT-L``: take the product ID."""
    words = [w for w in platform.replace(",", " ").split() if w.lower() != "cisco"]
    for word in words:
        if "-" in word and len(word) <= 40 and word.replace("-", "").isalnum():
            return word.upper()
    return ""
