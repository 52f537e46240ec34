"""The director's application core: one owner of the director's state and its handlers.

Every arrow into the core is a plain method call with plain data: the DHCP, TFTP and SMI
services call it through the adapters in :mod:`smartinstall.director.bridges`, the operator's
commands (CLI, SIGHUP, later the REST API) call its operations. It decides with the domain
rules, remembers in its in-memory state (:class:`~smartinstall.director.state.DirectorState`,
persisted by the store writer off the event loop) and the repository, and reports through the
event log (``%SMI-…``). It never touches a socket itself: SMI commands go out through the
``send_command`` callable it is given.

The core is built in parts, one concern each, each part extending the one before:

* :mod:`~smartinstall.director.base` — settings, state, role, timers, publishing, plumbing;
* :mod:`~smartinstall.director.backups` — REV1/REV2 backups of client configurations;
* :mod:`~smartinstall.director.tracking` — TFTP reads, SMI reports, neighbours, health;
* :mod:`~smartinstall.director.provisioning` — the DHCP answer of zero touch;
* :mod:`~smartinstall.director.holds` — join-window states and the hold list;
* :mod:`~smartinstall.director.recovery` — installs interrupted by a restart, seen through;
* this module — on-demand downloads and the operator's changes (clear, settings).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from smartinstall.crashpoints import crashpoint
from smartinstall.director.facts import (
    CommandRequest,
    DhcpFacts,
    FileServer,
    HelloFacts,
    OperationResult,
    RemoteFileError,
    SendCommand,
    UpgradeReport,
    what,
)
from smartinstall.director.recovery import Recovery, request_text
from smartinstall.domain.devices import Device, UpgradeKind
from smartinstall.domain.downloads import DownloadMethod, DownloadStatus
from smartinstall.domain.settings import DirectorSettings
from smartinstall.store.records import DownloadEntry

log = logging.getLogger(__name__)

__all__ = [
    "CommandRequest",
    "DhcpFacts",
    "Director",
    "FileServer",
    "HelloFacts",
    "OperationResult",
    "RemoteFileError",
    "SendCommand",
    "UpgradeReport",
]


class Director(Recovery):
    """The Smart Install director's core (see the module docstring)."""

    _settings_listeners: list[Callable[[], None]]

    def _init_part(self) -> None:
        super()._init_part()
        self._settings_listeners = []

    # --- the operator's changes -----------------------------------------------------------

    def add_settings_listener(self, listener: Callable[[], None]) -> None:
        """``listener`` runs after every change of the settings (the daemon then makes the
        services follow: DHCP pools, syslog hosts, Smart Install security)."""
        self._settings_listeners.append(listener)

    def settings_changed(self) -> None:
        """The operator changed the settings in place (a configuration command)."""
        for listener in list(self._settings_listeners):
            listener()

    def replace_settings(self, settings: DirectorSettings) -> None:
        """New settings as a whole (SIGHUP replays startup-config into a fresh object)."""
        self.settings = settings
        self.settings_changed()

    def clear_entry(self, number: int) -> Device | None:
        """``clear vstack director-db entry n``."""
        return self.state.clear_device(number)

    def clear_all_entries(self) -> int:
        """``clear vstack director-db``: every client entry (the director's stays)."""
        return self.state.clear_all()

    def clear_download(self, number: int) -> DownloadEntry | None:
        """``clear vstack download-list entry n`` (the later entries move up)."""
        return self.state.clear_download(number)

    def clear_downloads(self) -> int:
        """``clear vstack download-list``."""
        return self.state.clear_downloads()

    # --- on-demand ------------------------------------------------------------------------

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
        requests = []
        for device in targets:
            self.supersede(device.mac, method.value)
            request = CommandRequest(
                device.ip,
                self._client_port(device.mac),
                "download-image" if kind is UpgradeKind.IMAGE else "download-config",
                url=url,
                reload_at=reload_at,
                reload_now=reload_now,
            )
            entry = self.state.add_download(
                device.mac,
                method,
                ip=device.ip,
                hostname=device.hostname,
                image=DownloadStatus.NOT_STARTED if kind is UpgradeKind.IMAGE else na,
                config=DownloadStatus.NOT_STARTED if kind is UpgradeKind.CONFIG else na,
                script=na,
                request=request_text(request),
            )
            requests.append((device, entry, request))
        # the rows are committed before any client is asked: a director that stops after a
        # command left knows what it asked, and asks again when it is back
        await self.flush()
        for device, entry, request in requests:
            try:
                await self._send(request)
            except (OSError, TimeoutError) as error:
                self.state.update_download(entry.id, kind, DownloadStatus.FAILED, reason=str(error))
                result.failed += 1
                result.lines.append(f"{device.ip}: unreachable ({error})")
                continue
            crashpoint("on-demand-sent")
            result.ok += 1
            result.lines.append(f"{device.ip}: {what(kind)} download requested")
        return result
