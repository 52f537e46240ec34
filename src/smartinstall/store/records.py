"""The records the director keeps beside its devices: download-status entries, backups,
pending backups, replacements and a device's bookkeeping.

They are plain frozen values: the director's state owner (:mod:`smartinstall.director.state`)
holds them in memory and hands them to views; the store persists them as they are.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from smartinstall.domain import downloads as _view
from smartinstall.domain.devices import Device, UpgradeKind
from smartinstall.domain.downloads import DownloadMethod, DownloadStatus

DIRECTOR_NUMBER = 0
MAX_DOWNLOADS = 255  # the guide's download-status entry range is 1 to 255
BACKUP_HISTORY = 10  # backup records kept per client (the files themselves are REV1 and REV2)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class DownloadEntry:
    """One entry of the download-status table. ``number`` is the ``No`` shown now (its
    position); ``id`` is stable."""

    number: int
    id: int
    ip: str
    mac: str
    hostname: str
    method: DownloadMethod
    image: DownloadStatus
    config: DownloadStatus
    script: DownloadStatus
    image_reason: str
    config_reason: str
    script_reason: str
    image_at: dt.datetime | None
    config_at: dt.datetime | None
    script_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    # what the director asked the client to do, so that it can ask again after a restart
    # (an on-demand download: the URL and the reload; "" for zero touch)
    request: str = ""

    def status(self, kind: UpgradeKind) -> DownloadStatus:
        if kind is UpgradeKind.IMAGE:
            return self.image
        if kind is UpgradeKind.CONFIG:
            return self.config
        return self.script

    def reason(self, kind: UpgradeKind) -> str:
        if kind is UpgradeKind.IMAGE:
            return self.image_reason
        if kind is UpgradeKind.CONFIG:
            return self.config_reason
        return self.script_reason

    def downloaded_at(self, kind: UpgradeKind) -> dt.datetime | None:
        if kind is UpgradeKind.IMAGE:
            return self.image_at
        if kind is UpgradeKind.CONFIG:
            return self.config_at
        return self.script_at

    @property
    def finished(self) -> bool:
        return self.image.finished and self.config.finished and self.script.finished

    def view(self) -> _view.DownloadEntry:
        """The row as ``show vstack download-status`` renders it."""
        return _view.DownloadEntry(
            client_ip=self.ip or "0.0.0.0",
            client_mac=self.mac,
            method=self.method,
            image=self.image,
            config=self.config,
            script=self.script,
            hostname=self.hostname or "Switch",
            image_fail_reason=self.image_reason,
            config_fail_reason=self.config_reason,
            script_fail_reason=self.script_reason,
            image_downloaded_at=self.image_at,
            config_downloaded_at=self.config_at,
            script_downloaded_at=self.script_at,
        )


@dataclass(frozen=True, slots=True)
class BackupRecord:
    """A backup as ``show vstack status detail`` reports it (``File checksum`` is the MD5).
    ``id`` orders records taken at the same instant."""

    mac: str
    hostname: str
    file: str
    checksum: str
    size: int
    taken_at: dt.datetime
    id: int = 0


@dataclass(frozen=True, slots=True)
class PendingBackup:
    """A backup that could not be taken (connection lost): taken when the client returns."""

    mac: str
    reason: str
    since: dt.datetime
    attempts: int


@dataclass(frozen=True, slots=True)
class Replacement:
    """A replacement that has started: ``new_mac`` takes over ``old_number``'s backup."""

    new_mac: str
    old_mac: str
    old_number: int
    upstream_mac: str
    upstream_ip: str
    upstream_port: str
    config_file: str
    started_at: dt.datetime


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    """A device with what the director keeps beside ``show vstack status detail``. ``key``
    identifies the entry for the store (the device number can change: a client that becomes
    the director takes 0)."""

    device: Device
    last_keepalive: dt.datetime | None
    removed_from_hold: bool
    first_seen: dt.datetime
    updated_at: dt.datetime
    key: int = 0
    # the operator set the join-window state (vstack join-window-status index …): it holds
    # across the client's next exchanges instead of following the window
    join_pinned: bool = False


__all__ = [
    "BACKUP_HISTORY",
    "DIRECTOR_NUMBER",
    "MAX_DOWNLOADS",
    "BackupRecord",
    "DeviceRecord",
    "DownloadEntry",
    "DownloadMethod",
    "DownloadStatus",
    "PendingBackup",
    "Replacement",
    "utcnow",
]
