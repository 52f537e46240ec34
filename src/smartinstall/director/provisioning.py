"""Provisioning: the director's part in each client's DHCP exchange (zero touch).

Guide: "Zero-Touch Installation", "Configuring Join Window Mode", "Client Replacement". A new
client gets an entry (its upstream neighbour and hop from the CDP reports or option 82), is
matched against an Inactive client it may replace, and gets the decision of
:func:`smartinstall.domain.provisioning.decide_offer`; when it installs, the director publishes
its imagelist (and a legacy client's tailored configuration) and opens its download-status
row. Every read here is of the in-memory state: a DHCP answer never waits for the database.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import OrderedDict
from dataclasses import replace
from functools import partial

from smartinstall.crashpoints import crashpoint
from smartinstall.director.base import MAX_AWAITING_ACK
from smartinstall.director.facts import DhcpFacts
from smartinstall.director.tracking import Tracking
from smartinstall.domain.artifacts import TailoredConfig, client_enable_password
from smartinstall.domain.backups import NewcomerFacts, ReplacementKind, decide_replacement
from smartinstall.domain.devices import (
    Device,
    DeviceType,
    Health,
    JoinState,
    Progress,
    UpgradeKind,
)
from smartinstall.domain.downloads import DownloadMethod, DownloadStatus
from smartinstall.domain.errors import DomainError
from smartinstall.domain.groups import ClientFacts, resolve
from smartinstall.domain.interfaces import canonical_interface
from smartinstall.domain.joinwindow import is_open, joining_state
from smartinstall.domain.locations import parse_location
from smartinstall.domain.provisioning import (
    TAILORED_CONFIG_NAME,
    ClientContext,
    Offer,
    OfferAction,
    decide_offer,
)
from smartinstall.domain.values import normalize_mac

log = logging.getLogger(__name__)


UNCONFIRMED_FOR = dt.timedelta(minutes=2)  # a new client's entry waits this long for its REQUEST
MAX_UNCONFIRMED = 10_000


class Provisioning(Tracking):
    """The DHCP part of the director core."""

    _elsewhere: set[str]
    _unconfirmed: OrderedDict[str, dt.datetime]

    def _init_part(self) -> None:
        super()._init_part()
        self._elsewhere = set()  # MACs whose exchange was refused: their address stays
        # new clients offered but not yet bound: entries a flood of invented MACs would leave
        self._unconfirmed = OrderedDict()

    def tick(self) -> None:
        super().tick()
        if self.is_director:
            self.expire_unconfirmed()

    def expire_unconfirmed(self, now: dt.datetime | None = None) -> int:
        """Entries of new clients that never requested their offer (a flood of invented MACs,
        a client that chose another server) go after :data:`UNCONFIRMED_FOR`."""
        now = now or self.now()
        gone = 0
        while self._unconfirmed:
            mac, since = next(iter(self._unconfirmed.items()))
            if now - since < UNCONFIRMED_FOR:
                break
            del self._unconfirmed[mac]
            device = self.state.device_by_mac(mac)
            if device is not None and not device.ip and device.device_type is DeviceType.PENDING:
                latest = self.state.latest_download(mac)
                if latest is not None and not latest.finished:
                    self.state.clear_download(latest.number)
                self.state.clear_device(device.number)
                gone += 1
        if gone:
            self.events.debug_line("director-db", f"{gone} unconfirmed new client(s) forgotten")
        return gone

    def dhcp_offer(self, facts: DhcpFacts) -> Offer | None:
        """The decision for a client's DHCP OFFER/ACK; None when the director stays out."""
        if not self.is_director:
            return None
        mac = normalize_mac(facts.mac)
        device = self.state.device_by_mac(mac)
        if device is not None and device.is_director:
            return None
        now = self.now()
        replacing_backup: str | None = None
        replacing = False
        own_backup = True
        if facts.circuit_id:  # this exchange says where it comes from: judged again below
            self._elsewhere.discard(mac)
        if device is None:
            device, replacing, replacing_backup = self._new_client(mac, facts, now)
        else:
            where = self._arrives_elsewhere(device, facts)
            if where and device.health is Health.ACTIVE:
                # the client is up where it is known: this is another host with its MAC
                if len(self._elsewhere) >= MAX_AWAITING_ACK:
                    self._elsewhere.clear()
                self._elsewhere.add(mac)
                self._refused(
                    facts.giaddr or mac,
                    f"DHCP for {mac} {where} answered without Smart Install options: that "
                    f"client is active on {device.upstream_port or '?'} of "
                    f"{device.upstream_mac or device.upstream_ip or '?'}",
                )
                return None
            if where:
                # an inactive client back on another port: it moved; its backup stays where
                # it was (a backup goes only to the same port: "Client Replacement")
                own_backup = False
                device = self._moved(device, facts)
            if facts.pid and not device.pid:
                device = self.state.upsert_device(replace(device, pid=facts.pid))
            device = self._rejoin(device, now)
            replacing, replacing_backup = self._replacement_of(mac)
        return self._decide(device, replacing, replacing_backup, own_backup=own_backup)

    def _arrives_elsewhere(self, device: Device, facts: DhcpFacts) -> str:
        """Where this exchange comes from ("via port P of S"), when the relay's option 82
        says another port or upstream switch than the client is known on; else ""."""
        if not facts.circuit_id:
            return ""
        try:
            port = canonical_interface(facts.circuit_id)
        except DomainError:
            port = facts.circuit_id
        try:
            remote = normalize_mac(facts.remote_id) if facts.remote_id else ""
        except DomainError:
            remote = ""
        other_port = bool(device.upstream_port) and port != device.upstream_port
        other_switch = bool(device.upstream_mac and remote) and remote != device.upstream_mac
        if other_port or other_switch:
            return f"via port {port} of {remote or facts.giaddr or '?'}"
        return ""

    def _moved(self, device: Device, facts: DhcpFacts) -> Device:
        upstream_mac, upstream_ip, port, hop = self._upstream_of(device.mac, facts)
        return self.state.upsert_device(
            replace(
                device,
                upstream_mac=upstream_mac,
                upstream_ip=upstream_ip,
                upstream_port=port,
                hop=hop,
            )
        )

    def _rejoin(self, device: Device, now: dt.datetime) -> Device:
        """A known client asks DHCP again: its join state follows the window.

        A closed window denies it ("the director does not send files to the client until the
        next configured join window"); an open one lets a denied client in (auto) or puts it on
        hold (manual). A held client stays held, an allowed one stays allowed; a client taken
        off the hold list is held again once it restarts. A state the operator set (``vstack
        join-window-status index N {allowed | held}``, the guide's way to let a denied client
        in) holds whatever the window.
        """
        state = device.join_state
        if self._join_pinned(device.mac):
            return device  # the operator set it (vstack join-window-status): it holds
        removed = self._removed_from_hold(device.mac)
        if not is_open(self.settings.join_window, now, self.tz):
            new, clear_removed = JoinState.DENIED, False
        elif removed:
            # restarted after its removal from the hold list: held again (manual), or in
            # (auto, the window open)
            auto = self.settings.join_window.auto
            new, clear_removed = (JoinState.ALLOWED if auto else JoinState.HOLD), True
        elif state is JoinState.DENIED:
            new = JoinState.ALLOWED if self.settings.join_window.auto else JoinState.HOLD
            clear_removed = False
        else:
            return device
        if new is state and not clear_removed:
            return device
        self._mark_durable(device.mac)
        return self.state.set_join_state(
            device.mac, new, removed_from_hold=False if clear_removed else None
        )

    def _decide(
        self,
        device: Device,
        replacing: bool = False,
        replacing_backup: str | None = None,
        join_state: JoinState | None = None,
        *,
        own_backup: bool = True,
    ) -> Offer:
        """Resolve the group, decide the offer and publish its files (imagelist, tailored
        configuration, download-status entry) when it installs."""
        mac = device.mac
        client = ClientFacts.of_device(device)
        assignment = resolve(self.settings.groups, client)
        last_backup = None
        if self.settings.backup.enabled and not replacing and own_backup:
            last_backup = self._backup_path(device)
        # a stack answered as a standalone switch before its hello: the zero touch then opened
        # goes when the stack turns out to match no stack group
        row = self.state.latest_download(mac) if client.is_stack and not assignment.ok else None
        if row is not None and (row.finished or row.method is not DownloadMethod.ZERO_TOUCH):
            row = None
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
            stack=client.is_stack,
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
        elif offer.action is OfferAction.NOTHING:
            if offer.has_options and row is not None:
                # the earlier answer is withdrawn: its row goes, as if it had never been made
                self._mark_durable(mac)
                self.state.clear_download(row.number)
                if device.upgrade.script is Progress.PENDING:
                    self.state.set_upgrade(mac, UpgradeKind.SCRIPT, Progress.NONE)
            if mac not in self._not_configured_logged:
                self._not_configured_logged.add(mac)
                if device.ip:
                    self._say_not_configured(device)
                else:  # said once the client has its address (its DHCP ACK or hello)
                    self._not_configured_unsaid.add(mac)
        return offer

    def _new_client(
        self, mac: str, facts: DhcpFacts, now: dt.datetime
    ) -> tuple[Device, bool, str | None]:
        upstream = self._upstream_of(mac, facts)
        decision = decide_replacement(
            NewcomerFacts(mac, facts.pid, upstream[0], upstream[1], upstream[2]),
            # only an Inactive client can be replaced: not every entry is read per newcomer
            self.state.devices_with_health(Health.INACTIVE),
            replacement_in_progress=self.state.replacement_in_progress(upstream[0], upstream[1]),
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
            record = self.state.latest_backup(old.mac)
            path = self._backup_path(old, record.hostname if record else old.hostname)
            replacing_backup = path
            self.state.clear_device(old.number)  # clearing an entry also drops its replacements
            self.state.start_replacement(mac, old, config_file=path or "")
            self.events.smi("SWITCH_REPLACE", old_mac=old.mac, new_mac=mac)
            device = replace(device, join_state=JoinState.ALLOWED)
        stored = self.state.upsert_device(device)
        self._mark_durable(stored.mac)
        if len(self._unconfirmed) >= MAX_UNCONFIRMED:
            self._unconfirmed.popitem(last=False)
        self._unconfirmed[stored.mac] = now
        crashpoint("dhcp-new-client")
        self.events.smi("SWITCH_ADD", mac=mac)
        self.events.debug_line(
            "director-db",
            f"entry {stored.number} {mac} pid {stored.pid or '?'} hop {stored.hop} "
            f"join {stored.join_state.value}: {decision.reason}",
        )
        return stored, replacing, replacing_backup

    def _upstream_of(self, mac: str, facts: DhcpFacts) -> tuple[str, str, str, int]:
        """(upstream MAC, upstream IP, port, hop): a neighbour report first, then option 82."""
        for other in self.state.reporters_of(mac):
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
            upstream = self.state.device_by_mac(upstream_mac) if upstream_mac else None
            port = facts.circuit_id
            try:
                port = canonical_interface(port)
            except DomainError:
                port = ""
            if upstream is not None:
                return upstream.mac, upstream.ip, port, (upstream.hop or 0) + 1
            return upstream_mac, facts.giaddr, port, 1
        return "", "", "", 1

    def _busy_hops(self, exclude: str) -> frozenset[int]:
        busy = self.state.unfinished_download_macs()
        busy.discard(exclude)
        return self.state.hops_of(busy) if busy else frozenset()

    def _publish(self, offer: Offer, device: Device) -> None:
        """Have the imagelist and the tailored configuration the answer points to on flash:
        (written on a thread; a TFTP read of either waits for its write)."""
        if offer.imagelist_file and offer.imagelist is not None:
            data = offer.imagelist.encode()
            if offer.imagelist_url:  # option 150 names a third-party server: written there
                self.publish_remote(offer.imagelist_url, data, "IMAGELIST_FAILED")
            else:
                self.publish(offer.imagelist_file, data, "IMAGELIST_FAILED")
        if offer.tailored and offer.config_file:
            # the operator's password (an extension), else one the director makes per client
            password = self.settings.tailored_password or client_enable_password(device.mac)
            text = TailoredConfig(self.settings.director_ip or self.address, password).render()
            if offer.tailored_url:
                self.publish_remote(offer.tailored_url, text.encode(), "TAILOR_FAILED")
                # the director's own copy: the legacy upgrade reads its password back
                local = TAILORED_CONFIG_NAME.format(mac=device.mac)
                self.publish(local, text.encode(), "TAILOR_FAILED")
            else:
                self.publish(offer.config_file, text.encode(), "TAILOR_FAILED")

    def _start_zero_touch(self, device: Device, offer: Offer) -> None:
        # the row remembers the configuration offered: a backup among them is served over
        # TFTP only to the address this exchange leases (see Tracking.approve_read)
        request = f"zero-touch config {offer.config_file}" if offer.config_file else ""
        latest = self.state.latest_download(device.mac)
        if (
            latest is not None
            and not latest.finished
            and latest.method is not DownloadMethod.ZERO_TOUCH
        ):
            # an on-demand download left open: the zero touch replaces it
            self._end_open_row(latest, "superseded by a later zero-touch download")
            latest = None
        if latest is not None and not latest.finished:
            if latest.request != request:
                self.state.set_download_client(latest.id, request=request)
            # The same zero touch asks again (a stack, once its members are known, gets its
            # stack group's offer): a column the new offer has nothing for is not awaited.
            needed = {
                UpgradeKind.IMAGE: offer.imagelist_file,
                UpgradeKind.CONFIG: offer.config_file,
                UpgradeKind.SCRIPT: offer.script,
            }
            for kind, wanted_file in needed.items():
                if not wanted_file and latest.status(kind) is DownloadStatus.NOT_STARTED:
                    self.state.update_download(latest.id, kind, DownloadStatus.NOT_APPLICABLE)
            self._follow_remote(device.mac, latest.id, offer)
            return
        na = DownloadStatus.NOT_APPLICABLE
        self._mark_durable(device.mac)
        entry = self.state.add_download(
            device.mac,
            DownloadMethod.ZERO_TOUCH,
            ip=device.ip,
            hostname=offer.hostname or device.hostname,
            image=DownloadStatus.NOT_STARTED if offer.imagelist_file else na,
            config=DownloadStatus.NOT_STARTED if offer.config_file else na,
            script=DownloadStatus.NOT_STARTED if offer.script else na,
            request=request,
        )
        if offer.script:
            # the script is sent after the client's hello; the mark outlives the row, which a
            # roll-out of more than 255 clients may push out of the table before then
            self.state.set_upgrade(device.mac, UpgradeKind.SCRIPT, Progress.PENDING)
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
        self._follow_remote(device.mac, entry.id, offer)

    def _follow_remote(self, mac: str, entry_id: int, offer: Offer) -> None:
        """A file the answer names on a third-party TFTP server that could not be put there
        fails its column of the row, with the reason, once the attempt ends."""
        files = (
            (UpgradeKind.IMAGE, offer.imagelist_file, offer.imagelist_url),
            (UpgradeKind.CONFIG, offer.config_file, offer.tailored_url),
        )
        for kind, name, url in files:
            if not (name and url):
                continue
            running = self.publication(name)
            if running is None:
                self._remote_outcome(mac, entry_id, kind, name, url)
            else:
                running.add_done_callback(
                    partial(self._remote_done, mac, entry_id, kind, name, url)
                )

    def _remote_done(
        self, mac: str, entry_id: int, kind: UpgradeKind, name: str, url: str, _f: object
    ) -> None:
        self._remote_outcome(mac, entry_id, kind, name, url)

    def _remote_outcome(
        self, mac: str, entry_id: int, kind: UpgradeKind, name: str, url: str
    ) -> None:
        why = self.unwritten(name)
        if why is None:
            return
        entry = self.state.latest_download(mac)
        device = self.state.device_by_mac(mac)
        if entry is None or entry.id != entry_id or device is None or entry.status(kind).finished:
            return
        self._upgrade_failed(device, entry_id, kind, f"{url} not written: {why}"[:200])

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

    def dhcp_bound(self, mac: str, ip: str, hostname: str = "") -> bool:
        """The client gets its address (the ACK is about to confirm it): remember it for the
        tables and TFTP matching. True when the client's address changed."""
        if not self.is_director or mac in self._elsewhere:
            return False
        self._unconfirmed.pop(mac, None)
        device = self.state.device_by_mac(mac)
        if device is None or device.is_director:
            return False
        changes: dict[str, object] = {}
        if device.ip != ip:
            changes["ip"] = ip
        if hostname and not device.hostname:
            changes["hostname"] = hostname
        if changes:
            device = self.state.upsert_device(replace(device, **changes))  # type: ignore[arg-type]
        latest = self.state.latest_download(device.mac)
        if latest is not None and not latest.finished and latest.ip != ip:
            self.state.set_download_client(latest.id, ip=ip)
        self.state.record_keepalive(device.mac, self.now())
        self._address_known(device)
        return "ip" in changes

    def is_known_client(self, mac: str) -> bool:
        """Coexistence with a third-party DHCP server: answer only our switches."""
        return self.state.device_by_mac(normalize_mac(mac)) is not None

    def open_legacy_download(self, device: Device, kind: UpgradeKind, request: str) -> None:
        """An on-demand download of a non-Smart-Install client (driven over its HTTP exec
        interface, :mod:`smartinstall.director.legacy`): its image-upgrade or config-upgrade
        row (the caller ended the client's open row). ``request`` names no SMI command: a
        restarted director does not send it again."""
        image = kind is UpgradeKind.IMAGE
        method = DownloadMethod.IMAGE_UPGRADE if image else DownloadMethod.CONFIG_UPGRADE
        na = DownloadStatus.NOT_APPLICABLE
        self.state.add_download(
            device.mac, method, ip=device.ip, hostname=device.hostname,
            image=DownloadStatus.NOT_STARTED if image else na,
            config=na if image else DownloadStatus.NOT_STARTED, script=na, request=request,
        )  # fmt: skip
