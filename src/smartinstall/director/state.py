"""The director's state, in memory: its one owner.

Every entry of the director database (clients, stacks, the director itself), the
download-status table, the backups index, pending backups, replacements in progress and small
named values live here, and only here, while the director runs. Every change goes through a
method of :class:`DirectorState`, which validates it, applies it to memory and hands a change
record (:mod:`smartinstall.store.port`) to its sink — the store writer, which persists it off
the event loop. Reads never touch the store: ``show`` commands, the DHCP decision and the TFTP
policy read these tables.

Only the director core (:mod:`smartinstall.director.core` and its parts) calls the changing
methods; views and commands read. A test walks the source to keep it so.

Device numbers (``DevNo``): the director is 0; a new client gets the lowest free number from 1
up, as IOS does. A number never changes while its entry exists; after ``clear vstack
director-db [entry n]`` the freed number goes to the next new client. A stack is one entry
(one number); any member's MAC finds it, and clearing the entry clears the whole stack.

The download-status table keeps a stable ``id`` per entry; the number shown (``No``) is the
entry's position, so the entries after a cleared one move up, as in the guide's example. The
table keeps at most :data:`MAX_DOWNLOADS` entries (the guide's entry range is 1 to 255): adding
one more drops the oldest finished entry (or the oldest entry if none has finished).
"""

from __future__ import annotations

import datetime as dt
import heapq
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from smartinstall.domain.devices import (
    Device,
    DeviceType,
    Health,
    JoinState,
    Progress,
    UpgradeKind,
    UpgradeStatus,
)
from smartinstall.domain.downloads import DownloadMethod, DownloadStatus
from smartinstall.domain.errors import DomainError
from smartinstall.domain.values import normalize_mac
from smartinstall.store.port import (
    BackupRemoved,
    BackupSaved,
    Change,
    DeviceRemoved,
    DeviceSaved,
    DownloadRemoved,
    DownloadSaved,
    PendingBackupRemoved,
    PendingBackupSaved,
    ReplacementRemoved,
    ReplacementSaved,
    Snapshot,
    StateRemoved,
    StateSaved,
)
from smartinstall.store.records import (
    BACKUP_HISTORY,
    DIRECTOR_NUMBER,
    MAX_DOWNLOADS,
    BackupRecord,
    DeviceRecord,
    DownloadEntry,
    PendingBackup,
    Replacement,
    utcnow,
)

log = logging.getLogger(__name__)

Sink = Callable[[Change], None]


class StateError(Exception):
    """A change the state refuses (unknown entry, bad value)."""


def _mac(text: str) -> str:
    try:
        return normalize_mac(text)
    except DomainError as error:
        raise StateError(str(error)) from None


def _aware(when: dt.datetime) -> dt.datetime:
    if when.tzinfo is None:
        raise StateError("naive datetime given to the director state; use aware times")
    return when


@dataclass(slots=True)
class _Entry:
    key: int
    device: Device
    last_keepalive: dt.datetime | None
    removed_from_hold: bool
    first_seen: dt.datetime
    updated_at: dt.datetime

    def record(self) -> DeviceRecord:
        return DeviceRecord(
            self.device,
            self.last_keepalive,
            self.removed_from_hold,
            self.first_seen,
            self.updated_at,
            self.key,
        )


def _macs(device: Device) -> set[str]:
    return {device.mac, *(m.mac for m in device.members)}


class DirectorState:
    """See the module docstring. ``sink`` receives every change record (None: memory only)."""

    def __init__(
        self, sink: Sink | None = None, *, clock: Callable[[], dt.datetime] = utcnow
    ) -> None:
        self._sink = sink
        self._clock = clock
        self._entries: dict[int, _Entry] = {}
        self._by_mac: dict[str, int] = {}  # device and member MACs -> key
        self._by_number: dict[int, int] = {}
        self._by_ip: dict[str, set[int]] = {}
        self._reporters: dict[str, set[int]] = {}  # neighbour MAC -> keys listing it
        self._downstream: dict[str, set[int]] = {}  # upstream MAC -> keys behind it
        self._free_numbers: list[int] = []  # heap of freed numbers
        self._highest_number = 0
        self._next_key = 1
        self._downloads: dict[int, DownloadEntry] = {}  # by id, in table order
        self._latest_download: dict[str, int] = {}  # mac -> newest id
        self._next_download = 1
        self._backups: dict[str, list[BackupRecord]] = {}  # mac -> oldest first
        self._next_backup = 1
        self._pending: dict[str, PendingBackup] = {}
        self._replacements: dict[str, Replacement] = {}
        self._named: dict[str, str] = {}

    # --- set-up ---------------------------------------------------------------------------

    def set_sink(self, sink: Sink | None) -> None:
        self._sink = sink

    def restore(self, snapshot: Snapshot) -> None:
        """Load what the store kept (at start, before anything else); emits nothing."""
        for record in snapshot.devices:
            entry = _Entry(
                record.key,
                record.device,
                record.last_keepalive,
                record.removed_from_hold,
                record.first_seen,
                record.updated_at,
            )
            self._index(entry)
            self._next_key = max(self._next_key, record.key + 1)
        for number in range(1, self._highest_number):
            if number not in self._by_number:
                heapq.heappush(self._free_numbers, number)
        for download in sorted(snapshot.downloads, key=lambda e: e.id):
            self._downloads[download.id] = download
            self._latest_download[download.mac] = download.id
            self._next_download = max(self._next_download, download.id + 1)
        for backup in sorted(snapshot.backups, key=lambda b: (b.taken_at, b.id)):
            self._backups.setdefault(backup.mac, []).append(backup)
            self._next_backup = max(self._next_backup, backup.id + 1)
        self._pending = {p.mac: p for p in snapshot.pending}
        self._replacements = {r.new_mac: r for r in snapshot.replacements}
        self._named = dict(snapshot.state)

    def _emit(self, change: Change) -> None:
        if self._sink is not None:
            self._sink(change)

    def _now(self) -> dt.datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise StateError("the state clock must return aware times")
        return now

    # --- indexes --------------------------------------------------------------------------

    def _index(self, entry: _Entry) -> None:
        device = entry.device
        self._entries[entry.key] = entry
        for mac in _macs(device):
            self._by_mac[mac] = entry.key
        self._by_number[device.number] = entry.key
        if device.number > self._highest_number:
            self._highest_number = device.number
        if device.ip:
            self._by_ip.setdefault(device.ip, set()).add(entry.key)
        for neighbor in device.neighbors:
            self._reporters.setdefault(neighbor.mac, set()).add(entry.key)
        if device.upstream_mac:
            self._downstream.setdefault(device.upstream_mac, set()).add(entry.key)

    def _unindex(self, entry: _Entry) -> None:
        device = entry.device
        for mac in _macs(device):
            if self._by_mac.get(mac) == entry.key:
                del self._by_mac[mac]
        if self._by_number.get(device.number) == entry.key:
            del self._by_number[device.number]
        _discard(self._by_ip, device.ip, entry.key)
        for neighbor in device.neighbors:
            _discard(self._reporters, neighbor.mac, entry.key)
        _discard(self._downstream, device.upstream_mac, entry.key)

    def _lowest_free_number(self) -> int:
        while self._free_numbers:
            number = heapq.heappop(self._free_numbers)
            if number not in self._by_number and number >= 1:
                return number
        return max(self._highest_number, DIRECTOR_NUMBER) + 1

    def _free_number(self, number: int) -> None:
        if number >= 1:
            heapq.heappush(self._free_numbers, number)

    def _save(self, entry: _Entry, device: Device, now: dt.datetime | None = None) -> Device:
        """Replace an entry's device (same key) and persist it."""
        self._unindex(entry)
        entry.device = device
        entry.updated_at = now or self._now()
        self._index(entry)
        self._emit(DeviceSaved(entry.record()))
        return device

    def _entry_by_mac(self, mac: str) -> _Entry | None:
        key = self._by_mac.get(_mac(mac))
        return self._entries.get(key) if key is not None else None

    # --- devices: reads -------------------------------------------------------------------

    def device_by_mac(self, mac: str) -> Device | None:
        """The entry of a device or stack (any member's MAC finds the stack)."""
        entry = self._entry_by_mac(mac)
        return entry.device if entry else None

    def device_by_number(self, number: int) -> Device | None:
        key = self._by_number.get(number)
        return self._entries[key].device if key is not None else None

    def device_by_ip(self, ip: str) -> Device | None:
        """The entry with this IP address (the lowest number if several claim it)."""
        keys = self._by_ip.get(ip.strip())
        if not keys:
            return None
        return min((self._entries[k].device for k in keys), key=lambda d: d.number)

    def reporters_of(self, mac: str) -> list[Device]:
        """The entries whose CDP table lists ``mac`` (the switches it hangs off), by number."""
        keys = self._reporters.get(_mac(mac), set())
        return sorted((self._entries[k].device for k in keys), key=lambda d: d.number)

    def devices_with_health(self, health: Health) -> list[Device]:
        """The entries of one health status (Inactive ones: candidates for a replacement)."""
        found = [e.device for e in self._entries.values() if e.device.health is health]
        return sorted(found, key=lambda d: d.number)

    def hops_of(self, macs: Iterable[str]) -> frozenset[int]:
        """The hop counts of the entries with these MACs (those that have one)."""
        hops = set()
        for mac in macs:
            entry = self._entry_by_mac(mac)
            if entry is not None and entry.device.hop:
                hops.add(entry.device.hop)
        return frozenset(hops)

    def devices(self) -> list[Device]:
        """Every entry, by device number (the director, number 0, first)."""
        return [self._entries[self._by_number[n]].device for n in sorted(self._by_number)]

    def device_records(self) -> list[DeviceRecord]:
        return [self._entries[self._by_number[n]].record() for n in sorted(self._by_number)]

    def device_record(self, mac: str) -> DeviceRecord | None:
        entry = self._entry_by_mac(mac)
        return entry.record() if entry else None

    def __len__(self) -> int:
        return len(self._entries)

    def stale_devices(self, before: dt.datetime) -> list[Device]:
        """Active clients with no keepalive since ``before`` (never one: since first seen)."""
        limit = _aware(before)
        found = [
            e.device
            for e in self._entries.values()
            if not e.device.is_director
            and e.device.health is Health.ACTIVE
            and (e.last_keepalive or e.first_seen) < limit
        ]
        return sorted(found, key=lambda d: d.number)

    # --- devices: changes -----------------------------------------------------------------

    def upsert_device(self, device: Device) -> Device:
        """Add or update a device and return it as stored, with its device number.

        The entry is found by the device's MAC or any of its stack members' MACs (a switch
        that joined a stack is the stack's entry now); ``device.number`` is ignored: an
        existing entry keeps its number, a new one gets the lowest free number (the
        director 0). Entries of other MACs that the update makes members of this stack are
        merged into it (the lowest number stays).
        """
        member_macs = [m.mac for m in device.members]
        if len(set(member_macs)) != len(member_macs):
            raise StateError(f"stack {device.mac}: two members with the same MAC")
        now = self._now()
        macs = _macs(device)
        found = {self._by_mac[m] for m in macs if m in self._by_mac}
        if device.is_director:
            found |= {e.key for e in self._entries.values() if e.device.is_director}
        entries = sorted(
            (self._entries[k] for k in found),
            key=lambda e: (not e.device.is_director, e.device.number),
        )
        entry = entries[0] if entries else None
        for other in entries[1:]:
            log.info(
                "director-db: entry %d (%s) merged into entry %d (%s)",
                other.device.number,
                other.device.mac,
                entries[0].device.number,
                device.mac,
            )
            self._remove_entry(other)
        if entry is None:
            number = DIRECTOR_NUMBER if device.is_director else self._lowest_free_number()
            entry = _Entry(self._next_key, device, None, False, now, now)
            self._next_key += 1
            log.debug("director-db: new entry %d for %s", number, device.mac)
            stored = replace(device, number=number)
            old_ip = ""
        else:
            number = entry.device.number
            if device.is_director and number != DIRECTOR_NUMBER:
                # A client that becomes the director takes the director's number (no other
                # entry can hold 0: only the director gets it).
                log.info("director-db: entry %d (%s) is the director now", number, device.mac)
                self._free_number(number)
                number = DIRECTOR_NUMBER
            old_ip = entry.device.ip
            stored = replace(device, number=number) if device.number != number else device
        self._save(entry, stored, now)
        if stored.ip and stored.ip != old_ip:
            # The devices behind this one learnt its address when they were first seen; one
            # that asked DHCP before this one had an address gets it now.
            for mac in macs:
                for key in list(self._downstream.get(mac, ())):
                    behind = self._entries[key]
                    if behind.device.upstream_ip != stored.ip:
                        self._save(behind, replace(behind.device, upstream_ip=stored.ip), now)
        return stored

    def update_device(self, mac: str, **changes: object) -> Device:
        """Change some fields of a stored device (``Device`` field names)."""
        if "number" in changes or "mac" in changes:
            raise StateError("the device number and MAC of an entry do not change")
        current = self.device_by_mac(mac)
        if current is None:
            raise StateError(f"no director-db entry for {mac}")
        return self.upsert_device(current.with_changes(**changes))

    def _remove_entry(self, entry: _Entry) -> None:
        self._unindex(entry)
        del self._entries[entry.key]
        self._free_number(entry.device.number)
        self._emit(DeviceRemoved(entry.key))

    def _forget(self, entry: _Entry) -> None:
        macs = _macs(entry.device)
        for mac in macs:
            if self._pending.pop(mac, None) is not None:
                self._emit(PendingBackupRemoved(mac))
        for new_mac, replacement in list(self._replacements.items()):
            if new_mac in macs or replacement.old_mac in macs:
                del self._replacements[new_mac]
                self._emit(ReplacementRemoved(new_mac))
        self._remove_entry(entry)

    def clear_device(self, number: int) -> Device | None:
        """``clear vstack director-db entry n``: remove the entry (a whole stack) and its
        pending backups and replacements; its backup records stay. Returns what was removed."""
        key = self._by_number.get(number)
        if key is None:
            return None
        entry = self._entries[key]
        self._forget(entry)
        log.info("director-db: entry %d (%s) cleared", number, entry.device.mac)
        return entry.device

    def clear_all(self, keep_director: bool = True) -> int:
        """``clear vstack director-db``: remove every client entry; the number removed."""
        victims = [
            e for e in self._entries.values() if not (keep_director and e.device.is_director)
        ]
        for entry in victims:
            self._forget(entry)
        log.info("director-db: %d entries cleared", len(victims))
        return len(victims)

    def _change(self, mac: str, **changes: object) -> Device:
        entry = self._entry_by_mac(mac)
        if entry is None:
            raise StateError(f"no director-db entry for {mac}")
        return self._save(entry, replace(entry.device, **changes))  # type: ignore[arg-type]

    def set_health(self, mac: str, health: Health) -> Device:
        return self._change(mac, health=health)

    def record_keepalive(self, mac: str, at: dt.datetime | None = None) -> Device:
        """A keepalive arrived: the entry is Active and ``last_keepalive`` is ``at`` (now)."""
        entry = self._entry_by_mac(mac)
        if entry is None:
            raise StateError(f"no director-db entry for {mac}")
        entry.last_keepalive = _aware(at) if at else self._now()
        device = entry.device
        if device.health is not Health.ACTIVE:
            device = replace(device, health=Health.ACTIVE)
        return self._save(entry, device)

    def set_join_state(
        self, mac: str, state: JoinState, removed_from_hold: bool | None = None
    ) -> Device:
        """The join-window state; ``removed_from_hold`` records ``on-hold-clients remove``
        (left unchanged when None)."""
        entry = self._entry_by_mac(mac)
        if entry is None:
            raise StateError(f"no director-db entry for {mac}")
        if removed_from_hold is not None:
            entry.removed_from_hold = removed_from_hold
        return self._save(entry, replace(entry.device, join_state=state))

    def set_upgrade(self, mac: str, kind: UpgradeKind, progress: Progress) -> Device:
        entry = self._entry_by_mac(mac)
        if entry is None:
            raise StateError(f"no director-db entry for {mac}")
        upgrade: UpgradeStatus = replace(entry.device.upgrade, **{kind.value: progress})
        return self._save(entry, replace(entry.device, upgrade=upgrade))

    def set_device_type(self, mac: str, device_type: DeviceType) -> Device:
        return self._change(mac, device_type=device_type)

    # --- download status ------------------------------------------------------------------

    def _numbered(self, entry: DownloadEntry) -> DownloadEntry:
        position = 0
        for position, entry_id in enumerate(self._downloads, start=1):  # noqa: B007
            if entry_id == entry.id:
                break
        return entry if entry.number == position else replace(entry, number=position)

    def add_download(
        self,
        mac: str,
        method: DownloadMethod,
        *,
        ip: str = "",
        hostname: str = "",
        image: DownloadStatus = DownloadStatus.NOT_STARTED,
        config: DownloadStatus = DownloadStatus.NOT_STARTED,
        script: DownloadStatus = DownloadStatus.NOT_APPLICABLE,
    ) -> DownloadEntry:
        """A new entry at the end of the download-status table."""
        mac = _mac(mac)
        now = self._now()
        while len(self._downloads) >= MAX_DOWNLOADS:
            self._drop_oldest()
        entry = DownloadEntry(
            number=len(self._downloads) + 1,
            id=self._next_download,
            ip=ip.strip(),
            mac=mac,
            hostname=hostname,
            method=method,
            image=image,
            config=config,
            script=script,
            image_reason="",
            config_reason="",
            script_reason="",
            image_at=None,
            config_at=None,
            script_at=None,
            created_at=now,
            updated_at=now,
        )
        self._next_download += 1
        self._downloads[entry.id] = entry
        self._latest_download[mac] = entry.id
        self._emit(DownloadSaved(entry))
        return entry

    def _drop_oldest(self) -> None:
        """Drop the oldest finished entry (at most 255 looked at), else the oldest."""
        victim = next((e for e in self._downloads.values() if e.finished), None)
        if victim is None:
            victim = next(iter(self._downloads.values()))
        self._remove_download(victim)

    def _remove_download(self, entry: DownloadEntry) -> None:
        del self._downloads[entry.id]
        if self._latest_download.get(entry.mac) == entry.id:
            older = [i for i, e in self._downloads.items() if e.mac == entry.mac]
            if older:
                self._latest_download[entry.mac] = older[-1]
            else:
                del self._latest_download[entry.mac]
        self._emit(DownloadRemoved(entry.id))

    def _download_by_id(self, entry_id: int) -> DownloadEntry:
        entry = self._downloads.get(entry_id)
        if entry is None:
            raise StateError(f"no download-status entry with id {entry_id}")
        return entry

    def _put_download(self, entry: DownloadEntry) -> DownloadEntry:
        self._downloads[entry.id] = entry
        self._emit(DownloadSaved(entry))
        return self._numbered(entry)

    def update_download(
        self,
        entry_id: int,
        kind: UpgradeKind,
        status: DownloadStatus,
        reason: str | None = None,
        at: dt.datetime | None = None,
    ) -> DownloadEntry:
        """Set one column of an entry (by its stable ``id``). ``UPGRADED`` records the
        download time (``at`` or now); ``reason`` is the fail reason shown by ``detail``."""
        entry = self._download_by_id(entry_id)
        now = self._now()
        changes: dict[str, object] = {kind.value: status, "updated_at": now}
        if reason is not None:
            changes[f"{kind.value}_reason"] = reason
        if status is DownloadStatus.UPGRADED:
            changes[f"{kind.value}_at"] = _aware(at) if at else now
        return self._put_download(replace(entry, **changes))  # type: ignore[arg-type]

    def set_download_client(
        self, entry_id: int, *, ip: str | None = None, hostname: str | None = None
    ) -> DownloadEntry:
        """Correct the client IP or hostname of an entry (learned after it was added)."""
        entry = self._download_by_id(entry_id)
        changes: dict[str, object] = {"updated_at": self._now()}
        if ip is not None:
            changes["ip"] = ip.strip()
        if hostname is not None:
            changes["hostname"] = hostname
        return self._put_download(replace(entry, **changes))  # type: ignore[arg-type]

    def downloads(self) -> list[DownloadEntry]:
        """The table as ``show vstack download-status`` prints it, numbered from 1."""
        return [
            e if e.number == i else replace(e, number=i)
            for i, e in enumerate(self._downloads.values(), start=1)
        ]

    def unfinished_download_macs(self) -> set[str]:
        return {e.mac for e in self._downloads.values() if not e.finished}

    def download(self, entry_id: int) -> DownloadEntry | None:
        entry = self._downloads.get(entry_id)
        return self._numbered(entry) if entry else None

    def latest_download(self, mac: str) -> DownloadEntry | None:
        """The newest entry of a client (the one its TFTP reads and reports update)."""
        entry_id = self._latest_download.get(_mac(mac))
        return self.download(entry_id) if entry_id is not None else None

    def clear_download(self, number: int) -> DownloadEntry | None:
        """``clear vstack download-list entry n`` (``n`` as shown now); the later entries
        move up one number. Returns the removed entry."""
        if not 1 <= number <= len(self._downloads):
            return None
        entry = list(self._downloads.values())[number - 1]
        self._remove_download(entry)
        return replace(entry, number=number)

    def clear_downloads(self) -> int:
        """``clear vstack download-list``: the number of entries removed."""
        entries = list(self._downloads.values())
        for entry in entries:
            self._remove_download(entry)
        return len(entries)

    # --- backups --------------------------------------------------------------------------

    def record_backup(
        self,
        mac: str,
        hostname: str,
        file: str,
        checksum: str,
        size: int = 0,
        at: dt.datetime | None = None,
    ) -> BackupRecord:
        """A backup that is complete in the repository; clears a pending backup of the MAC.
        ``checksum`` is the file's MD5 (upper-case hex, as ``File checksum`` shows it)."""
        digest = checksum.strip().upper()
        if len(digest) != 32 or any(c not in "0123456789ABCDEF" for c in digest):
            raise StateError(f"not an MD5 checksum: {checksum!r}")
        key = _mac(mac)
        record = BackupRecord(
            key, hostname, file, digest, size, _aware(at) if at else self._now(), self._next_backup
        )
        self._next_backup += 1
        history = self._backups.setdefault(key, [])
        history.append(record)
        history.sort(key=lambda b: (b.taken_at, b.id))
        self._emit(BackupSaved(record))
        if self._pending.pop(key, None) is not None:
            self._emit(PendingBackupRemoved(key))
        while len(history) > BACKUP_HISTORY:
            self._emit(BackupRemoved(history.pop(0).id))
        return record

    def latest_backup(self, mac: str) -> BackupRecord | None:
        history = self._backups.get(_mac(mac))
        return history[-1] if history else None

    def backups(self, mac: str | None = None) -> list[BackupRecord]:
        """Backup records, newest first (the last :data:`BACKUP_HISTORY` per client)."""
        if mac is not None:
            found = list(self._backups.get(_mac(mac), []))
        else:
            found = [b for history in self._backups.values() for b in history]
        return sorted(found, key=lambda b: (b.taken_at, b.id), reverse=True)

    def add_pending_backup(self, mac: str, reason: str) -> PendingBackup:
        """A backup failed (connection lost): take it when the client comes back."""
        key = _mac(mac)
        old = self._pending.get(key)
        if old is None:
            pending = PendingBackup(key, reason, self._now(), 1)
        else:
            pending = replace(old, reason=reason, attempts=old.attempts + 1)
        self._pending[key] = pending
        self._emit(PendingBackupSaved(pending))
        return pending

    def pending_backups(self) -> list[PendingBackup]:
        return sorted(self._pending.values(), key=lambda p: p.since)

    def has_pending_backup(self, mac: str) -> bool:
        return _mac(mac) in self._pending

    def remove_pending_backup(self, mac: str) -> bool:
        key = _mac(mac)
        if self._pending.pop(key, None) is None:
            return False
        self._emit(PendingBackupRemoved(key))
        return True

    # --- replacements ---------------------------------------------------------------------

    def start_replacement(self, new_mac: str, old: Device, config_file: str = "") -> Replacement:
        """Record that ``new_mac`` replaces the inactive entry ``old`` (survives a restart)."""
        key = _mac(new_mac)
        replacement = Replacement(
            new_mac=key,
            old_mac=old.mac,
            old_number=old.number,
            upstream_mac=old.upstream_mac,
            upstream_ip=old.upstream_ip,
            upstream_port=old.upstream_port,
            config_file=config_file,
            started_at=self._now(),
        )
        self._replacements[key] = replacement
        self._emit(ReplacementSaved(replacement))
        return replacement

    def replacements(self) -> list[Replacement]:
        """Replacements in progress, oldest first."""
        return sorted(self._replacements.values(), key=lambda r: r.started_at)

    def replacement_of(self, new_mac: str) -> Replacement | None:
        return self._replacements.get(_mac(new_mac))

    def replacement_in_progress(self, upstream_mac: str = "", upstream_ip: str = "") -> bool:
        """Is a replacement running on the branch below this upstream device?"""
        mac = _mac(upstream_mac) if upstream_mac else ""
        ip = upstream_ip.strip()
        if not mac and not ip:
            return False
        return any(
            (mac and r.upstream_mac == mac) or (ip and r.upstream_ip == ip)
            for r in self._replacements.values()
        )

    def finish_replacement(self, new_mac: str) -> Replacement | None:
        key = _mac(new_mac)
        done = self._replacements.pop(key, None)
        if done is not None:
            self._emit(ReplacementRemoved(key))
        return done

    # --- named state ----------------------------------------------------------------------

    def set_state(self, key: str, value: str) -> None:
        if self._named.get(key) == value:
            return
        self._named[key] = value
        self._emit(StateSaved(key, value, self._now()))

    def get_state(self, key: str, default: str | None = None) -> str | None:
        return self._named.get(key, default)

    def delete_state(self, key: str) -> bool:
        if self._named.pop(key, None) is None:
            return False
        self._emit(StateRemoved(key))
        return True


def _discard(index: dict[str, set[int]], key: str, value: int) -> None:
    if not key:
        return
    keys = index.get(key)
    if keys is not None:
        keys.discard(value)
        if not keys:
            del index[key]
