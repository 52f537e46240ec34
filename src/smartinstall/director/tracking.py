"""Following clients: their TFTP reads, their SMI reports, their neighbours and health.

The download-status table (``show vstack download-status``) and the status letters of ``show
vstack status`` follow what each client does: a TFTP read of its imagelist or image starts the
image column, a finished configuration download completes the configuration column, the
client's SMI upgrade reports complete the image and script columns; a client whose row has left
the 255-entry table is still followed through its own status letters.

The TFTP policy lives here too: a backup is readable only by its own client (or the switch that
replaces it), an upload is accepted only under the name the client was given.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import replace
from pathlib import PurePosixPath

from smartinstall.crashpoints import crashpoint
from smartinstall.director.backups import BACKUP_UPLOAD_SUFFIX, Backups
from smartinstall.director.facts import (
    CommandRequest,
    HelloFacts,
    UpgradeReport,
    pid_of_platform,
    what,
)
from smartinstall.domain.devices import (
    Device,
    DeviceType,
    Health,
    JoinState,
    Neighbor,
    Progress,
    UpgradeKind,
)
from smartinstall.domain.downloads import DownloadStatus
from smartinstall.domain.errors import DomainError
from smartinstall.domain.groups import ClientFacts, resolve
from smartinstall.domain.joinwindow import joining_state
from smartinstall.domain.values import normalize_mac
from smartinstall.store.records import DownloadEntry

log = logging.getLogger(__name__)


def offered_config(request: str) -> str:
    """The configuration a download-status row's request names: ``zero-touch config <file>``
    (what DHCP offered) or ``download-config <url> …`` (on demand); "" for anything else."""
    words = request.split()
    if len(words) >= 3 and words[:2] == ["zero-touch", "config"]:
        location = words[2]
    elif len(words) >= 2 and words[0] == "download-config":
        location = words[1]
    else:
        return ""
    if "://" in location:
        location = location.split("://", 1)[1].partition("/")[2]
    return location.split(":", 1)[-1] if location.startswith("flash:") else location


class Tracking(Backups):
    """The tracking part of the director core."""

    _refusals: dict[str, tuple[dt.datetime, int]]
    #: bytes TFTP moved since start: served (reads) and received (backup uploads), counted
    #: when each transfer ends, whether it succeeded or not (``/metrics``)
    tftp_bytes_sent: int
    tftp_bytes_received: int
    #: when each client last said hello (a client says it once per boot: after a reload too)
    _hellos: dict[str, dt.datetime]

    def _init_part(self) -> None:
        super()._init_part()
        self._refusals = {}  # source address -> (first refusal of the minute, count)
        self._hellos = {}
        self.tftp_bytes_sent = 0
        self.tftp_bytes_received = 0

    # --- TFTP ------------------------------------------------------------------------------

    def tftp_bytes(self, is_read: bool, done: int) -> None:
        """A transfer ended having moved ``done`` bytes (a read's to the client, an upload's
        from it)."""
        if is_read:
            self.tftp_bytes_sent += max(done, 0)
        else:
            self.tftp_bytes_received += max(done, 0)

    def tftp_transfer(
        self, peer_ip: str, path: str, is_read: bool, done: bool, error: str | None
    ) -> None:
        """Follow a client's downloads in the download-status table."""
        if not self.is_director or not is_read:
            return
        device = self.state.device_by_ip(peer_ip)
        if device is None:
            return
        entry = self.state.latest_download(device.mac)
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
                self.state.update_download(entry.id, kind, DownloadStatus.UPGRADING)
                self.state.set_upgrade(device.mac, kind, Progress.IN_PROGRESS)
                self.events.smi("UPGRD_STARTED", ip=peer_ip, what=what(kind))
            crashpoint("image-started" if kind is UpgradeKind.IMAGE else "config-transfer")
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
            crashpoint("config-done")

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
        """TFTP RRQ: a backup (``…REV1/.REV2``, uploads) is served only to the address a DHCP
        exchange leased when it offered that backup (the client's own, or the one of the
        switch it replaces), while that install is open, or to the client an on-demand
        ``download-config`` sent it to; everything else on flash: is served.

        Cisco's director serves its whole flash to anyone; backups hold secrets, and a MAC
        is easily borrowed: knowing a client's MAC and its backup's name is not enough."""
        wanted = PurePosixPath(name.lstrip("/"))
        backup_dir = PurePosixPath(self.backup_dir) if self.backup_dir else None
        if backup_dir is None or wanted.parent != backup_dir:
            return True
        if not (
            wanted.name.endswith((".REV1", ".REV2")) or wanted.name.endswith(BACKUP_UPLOAD_SUFFIX)
        ):
            return True
        device = self.state.device_by_ip(peer_ip)
        entry = self.state.latest_download(device.mac) if device is not None else None
        if entry is not None and not entry.finished and entry.ip == peer_ip:
            offered = offered_config(entry.request)
            if offered and PurePosixPath(offered).name == wanted.name:
                return True
        self._refused(
            peer_ip,
            f"TFTP read of backup {wanted} from {peer_ip} refused: no install open for that "
            "address was offered it",
        )
        return False

    async def approve_read_when_ready(self, peer_ip: str, name: str) -> bool:
        """``approve_read``, after a file the director is publishing has been written."""
        publishing = self.publication(name)
        if publishing is not None:
            await asyncio.shield(publishing)
        return self.approve_read(peer_ip, name)

    def approve_upload(self, peer_ip: str, name: str) -> bool:
        """TFTP WRQ: only the backup a client was asked for, to the name it was given, from
        the address the request went to (a forger elsewhere cannot make its configuration the
        client's REV2)."""
        wanted = PurePosixPath(name).name
        for mac, requests in self._backup_requests.items():
            if any(PurePosixPath(upload).name == wanted for upload in requests):
                device = self.state.device_by_mac(mac)
                if device is not None and device.ip and device.ip == peer_ip:
                    return True
                self._refused(
                    peer_ip,
                    f"TFTP upload of {wanted} from {peer_ip} refused: the backup was asked "
                    f"of {device.ip if device is not None else 'another client'}",
                )
                return False
        return False

    # --- SMI client messages ---------------------------------------------------------------

    def accepts_report(self, mac: str, source: str, authenticated: bool) -> bool:
        """Is a client's SMI message (hello, keepalive, write memory, reports) to be taken?

        In legacy (unauthenticated) mode anyone can write any MAC into a message: a report is
        taken only from the address DHCP (or the relay, or the client's first hello) bound to
        that MAC, so a forged keepalive or hello cannot move a client's address, after which
        its backups and on-demand commands would go to the forger. An authenticated message
        carries the key and is taken from anywhere."""
        if authenticated or not source:
            return True
        try:
            device = self.state.device_by_mac(normalize_mac(mac))
        except DomainError:
            return True  # the handler refuses it with its own reason
        if device is None:
            # a new client: not from an address another client holds (one address, one
            # client), so invented MACs from one host cannot fill the table
            holder = self.state.device_by_ip(source)
            if holder is None or holder.is_director:
                return True
            self._refused(
                source,
                f"SMI message for unknown client {mac} from {source} refused: that address "
                f"is {holder.mac}'s",
            )
            return False
        if not device.ip or device.ip == source:
            return True
        self._refused(
            source,
            f"SMI message for {device.mac} from {source} refused: that client's address is "
            f"{device.ip} (bound by DHCP); only an authenticated message may move it",
        )
        return False

    def _refused(self, source: str, why: str) -> None:
        """Log a refusal: the first one of each source a minute, then their count."""
        now = self.now()
        first, count = self._refusals.get(source, (now, 0))
        if count and (now - first).total_seconds() < 60:
            self._refusals[source] = (first, count + 1)
            return
        if len(self._refusals) >= 10_000:
            self._refusals.clear()
        self._refusals[source] = (now, 1)
        log.warning("%s%s", why, f" ({count - 1} more since)" if count > 1 else "")

    def client_hello(self, hello: HelloFacts) -> Device:
        mac = normalize_mac(hello.mac)
        existing = self.state.device_by_mac(mac)
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
        stored = self.state.upsert_device(device)
        said = self.now()
        self.state.record_keepalive(stored.mac, said)
        self._hellos[stored.mac] = said
        if existing is None:
            self.events.smi("SWITCH_ADD", mac=mac)
        elif existing.health is Health.INACTIVE:
            self.events.debug_line("director-db", f"entry {stored.number} {mac} active again")
        if self.is_director:
            self._offer_script(stored)
            self._address_known(stored)
        if self.is_director and hello.has_startup_config and self.settings.backup.enabled:
            unanswered = self.forget_unanswered_backup(stored.mac)
            pending = self.state.has_pending_backup(stored.mac)
            if unanswered or pending or self.state.latest_backup(stored.mac) is None:
                self.backup_later(stored.mac)
        return stored

    def last_hello(self, mac: str) -> dt.datetime | None:
        """When the client last said hello to this director process (None: not since start);
        a hello after a download ended is the client back from its reload."""
        return self._hellos.get(normalize_mac(mac))

    def _say_not_configured(self, device: Device) -> None:
        """``%SMI-3-IMG_CFG_NOT_CONFIGURED`` with the client's address, and what it lacks."""
        self._not_configured_unsaid.discard(device.mac)
        self.events.smi("IMG_CFG_NOT_CONFIGURED", device=device.pid or device.mac, ip=device.ip)
        if device.members:
            self.events.smi("INCORRECT_CFG", device_type="switch-stack", model=device.pid)
        elif device.pid:
            self.events.smi("INCORRECT_CFG", device_type="Product-ID", model=device.pid)

    def _address_known(self, device: Device) -> None:
        """The client has an address now: what waited for it is said."""
        if device.ip and device.mac in self._not_configured_unsaid:
            self._say_not_configured(device)

    def _offer_script(self, device: Device) -> None:
        """The post-install script rides with a zero-touch upgrade: once the client is up and
        has said hello, the director sends it the script URL (type 5), and the client fetches
        and runs it ("A script-only upgrade is not possible")."""
        entry = self.state.latest_download(device.mac)
        if entry is None:
            if device.upgrade.script is not Progress.PENDING:
                return  # no zero touch awaits a script (its row left the table: see PENDING)
        elif entry.finished or entry.script is not DownloadStatus.NOT_STARTED:
            return
        client = ClientFacts.of_device(device)
        script = resolve(self.settings.groups, client).script
        if not script or not device.ip:
            return
        url = self.tftp_url(script)
        request = CommandRequest(device.ip, self._client_port(device.mac), "execute", url=url)
        self._spawn("script", self._send_script(request))

    async def _send_script(self, request: CommandRequest) -> None:
        if await self._send_quietly(request):
            crashpoint("script-sent")

    def client_keepalive(self, mac: str, ip: str = "") -> None:
        mac = normalize_mac(mac)
        device = self.state.device_by_mac(mac)
        if device is None:
            device = self._rebuilt_entry(mac, ip)
            if device is None:
                return
        if ip and device.ip != ip:
            self.state.upsert_device(replace(device, ip=ip))
        self.state.record_keepalive(device.mac, self.now())

    def _rebuilt_entry(self, mac: str, ip: str) -> Device | None:
        """A keepalive from a client the table does not hold (``clear vstack director-db``,
        or a director that lost its database): the entry comes back from the network, with
        what the keepalive says; its next hello fills in the rest. An address another entry
        holds is not taken over (one address, one client)."""
        if not self.is_director or not ip:
            return None
        holder = self.state.device_by_ip(ip)
        if holder is not None:
            return None
        stored = self.state.upsert_device(
            Device(
                0,
                mac,
                ip=ip,
                device_type=DeviceType.SMART_INSTALL,
                health=Health.ACTIVE,
                join_state=JoinState.ALLOWED,
            )
        )
        self.events.smi("SWITCH_ADD", mac=mac)
        self.events.debug_line(
            "director-db", f"entry {stored.number} {mac} rebuilt from its keepalive ({ip})"
        )
        return stored

    def client_neighbors(self, mac: str, neighbors: tuple[Neighbor, ...]) -> None:
        """A client's CDP table: its neighbours become known (type P until they speak)."""
        reporter = self.state.device_by_mac(normalize_mac(mac))
        if reporter is None:
            return
        if reporter.neighbors != neighbors:
            reporter = self.state.upsert_device(replace(reporter, neighbors=neighbors))
        for neighbor in neighbors:
            if self.state.device_by_mac(neighbor.mac) is not None:
                continue
            if neighbor.ip and neighbor.ip == (self.settings.director_ip or self.address):
                continue
            hop = (reporter.hop or 0) + 1
            if hop > 7:
                continue
            legacy = "legacy" in neighbor.platform.lower() or "non-smi" in neighbor.platform.lower()
            join = joining_state(self.settings.join_window, self.now(), self.tz)
            self.state.upsert_device(
                Device(
                    0,
                    neighbor.mac,
                    pid=pid_of_platform(neighbor.platform),
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
        device = self.state.device_by_mac(normalize_mac(report.mac))
        if device is None:
            return
        entry = self.state.latest_download(device.mac)
        ip = report.ip or device.ip
        if entry is None:
            self._follow_without_entry(device, report.kind, report.state, ip)
            return
        if entry.finished:
            return
        if report.state == "started" and entry.status(report.kind) is DownloadStatus.NOT_STARTED:
            self.state.update_download(entry.id, report.kind, DownloadStatus.UPGRADING)
            self.state.set_upgrade(device.mac, report.kind, Progress.IN_PROGRESS)
            self.events.smi("UPGRD_STARTED", ip=ip, what=what(report.kind))
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
        word = what(kind)
        if state == "started" and current is not Progress.IN_PROGRESS:
            self.state.set_upgrade(device.mac, kind, Progress.IN_PROGRESS)
            self.events.smi("UPGRD_STARTED", ip=ip or "0.0.0.0", what=word)
        elif state == "done" and current is Progress.IN_PROGRESS:
            self.state.set_upgrade(device.mac, kind, Progress.DONE)
            self.events.smi("UPGRD_SUCCESS", ip=ip or "0.0.0.0", what=word)
        elif state == "failed" and current is Progress.IN_PROGRESS:
            self.state.set_upgrade(device.mac, kind, Progress.FAILED)
            self.events.smi("UPGRD_FAILED", ip=ip or "0.0.0.0", what=word)

    def _upgrade_done(self, device: Device, entry_id: int, kind: UpgradeKind) -> None:
        current = self.state.download(entry_id)
        if current is not None and current.status(kind) is DownloadStatus.UPGRADED:
            # said once already: the director saw the read of a file it served and the client
            # reported it too (which comes first is the network's choice)
            return
        entry = self.state.update_download(entry_id, kind, DownloadStatus.UPGRADED)
        self.state.set_upgrade(device.mac, kind, Progress.DONE)
        self.events.smi("UPGRD_SUCCESS", ip=device.ip or entry.ip or "0.0.0.0", what=what(kind))
        if entry.finished:
            self.state.finish_replacement(device.mac)

    def _upgrade_failed(
        self, device: Device, entry_id: int, kind: UpgradeKind, reason: str
    ) -> None:
        entry = self.state.update_download(entry_id, kind, DownloadStatus.FAILED, reason=reason)
        self.state.set_upgrade(device.mac, kind, Progress.FAILED)
        self.events.smi("UPGRD_FAILED", ip=device.ip or entry.ip or "0.0.0.0", what=what(kind))

    def _end_open_row(self, entry: DownloadEntry, reason: str) -> None:
        """Fail the open columns of a row with ``reason`` (it stalled, or a later download
        superseded it)."""
        device = self.state.device_by_mac(entry.mac)
        for kind in UpgradeKind:
            if entry.status(kind).finished:
                continue
            if device is not None:
                self._upgrade_failed(device, entry.id, kind, reason[:200])
            else:
                self.state.update_download(
                    entry.id, kind, DownloadStatus.FAILED, reason=reason[:200]
                )

    def client_write_memory(self, mac: str, hostname: str = "", ip: str = "") -> None:
        device = self.state.device_by_mac(normalize_mac(mac))
        if device is None:
            return
        if (hostname and hostname != device.hostname) or (ip and ip != device.ip):
            device = self.state.upsert_device(
                replace(device, hostname=hostname or device.hostname, ip=ip or device.ip)
            )
        self.backup_later(device.mac)
