"""The download-status table (the guide's 255 entries), the backups index, pending backups,
replacements in progress and small named values. Part of
:class:`smartinstall.director.state.DirectorState`."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from smartinstall.director.state_tables import StateError, Tables, _aware, _mac
from smartinstall.domain.devices import Device, UpgradeKind
from smartinstall.domain.downloads import DownloadMethod, DownloadStatus
from smartinstall.store.port import (
    BackupRemoved,
    BackupSaved,
    DownloadRemoved,
    DownloadSaved,
    PendingBackupRemoved,
    PendingBackupSaved,
    ReplacementRemoved,
    ReplacementSaved,
    StateRemoved,
    StateSaved,
)
from smartinstall.store.records import (
    BACKUP_HISTORY,
    MAX_DOWNLOADS,
    BackupRecord,
    DownloadEntry,
    PendingBackup,
    Replacement,
)


class Records(Tables):
    """Everything of the director's state but the device entries."""

    # --- download status ------------------------------------------------------------------

    def _numbered(self, entry: DownloadEntry) -> DownloadEntry:
        """The entry with the number it is shown with now (its position, at most 255)."""
        position = list(self._downloads).index(entry.id) + 1
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
        request: str = "",
    ) -> DownloadEntry:
        """A new entry at the end of the download-status table (``request``: what the client
        was asked to do, for an on-demand download)."""
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
            request=request,
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
        self,
        entry_id: int,
        *,
        ip: str | None = None,
        hostname: str | None = None,
        request: str | None = None,
    ) -> DownloadEntry:
        """Correct the client IP or hostname of an entry (learned after it was added), or
        what the client was offered (a zero touch asked again)."""
        entry = self._download_by_id(entry_id)
        changes: dict[str, object] = {"updated_at": self._now()}
        if ip is not None:
            changes["ip"] = ip.strip()
        if hostname is not None:
            changes["hostname"] = hostname
        if request is not None:
            changes["request"] = request
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
