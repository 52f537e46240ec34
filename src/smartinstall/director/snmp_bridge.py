"""What the director's SNMP agent (``smartinstall.services.snmp``) reads and drives: the adapter
between the agent and the running director (``DirectorDaemon``).

* Reads: one :class:`~smartinstall.services.snmp_mib.MibInputs` from the in-memory state the
  director core owns (never SQL).
* Notifications: the director's system messages (``%SMI-6-SWITCH_ADD``, ``SWITCH_REMOVE``,
  ``UPGRD_FAILED``, ``SMI_DIRECTOR_BACKUP_FAILURE``) become csiDeviceAdded, csiDeviceLost and
  csiFileLoadFailed; a change of csiOperationMode or of the join-window mode (a configuration
  command, a SET, the role) becomes csiOperationModeChange. All are gated by ``snmp-server
  enable traps vstack`` (csiNotifEnable).
* SETs: csiJoinWindowConfigOperationMode, csiBackupEnable, csiBackupHostUrl, csiNotifEnable,
  the join-window period row and the group rows (RowStatus createAndGo / destroy, and the
  name, image, second image, configuration and match columns of existing rows) change the
  running settings as the equivalent commands do, and the director core is told as after a
  configuration command (``show running-config`` shows them).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from smartinstall.director.eventlog import LoggedLine
from smartinstall.domain import messages
from smartinstall.domain.devices import Device
from smartinstall.domain.errors import DomainError
from smartinstall.domain.joinwindow import JoinWindowSettings
from smartinstall.domain.settings import BackupSettings, DirectorSettings
from smartinstall.ios import CommandError
from smartinstall.services.snmp import SnmpAgent
from smartinstall.services.snmp_groups import apply_group_sets, group_oid
from smartinstall.services.snmp_mib import (
    BACKUP_ENABLE,
    BACKUP_HOST_URL,
    FALSE,
    JOIN_WINDOW_MODE,
    NOTIF_ENABLE,
    TRUE,
    JoinWindowMode,
    MibInputs,
    Notification,
    OperationType,
    VarBind,
    join_window_mode,
    notification,
    operation_mode,
)
from smartinstall.services.snmp_set import integer, octets, period_column, period_row, refused

if TYPE_CHECKING:
    from smartinstall.director.daemon import DirectorDaemon

log = logging.getLogger(__name__)

MAX_URL = 255


class DirectorSnmpBridge:
    """The agent of one director daemon, and the glue between them."""

    def __init__(self, daemon: DirectorDaemon, port: int) -> None:
        self.daemon = daemon
        self.agent = SnmpAgent(
            daemon.address, port, self.inputs, self.write, state_dir=daemon.data_dir / "snmp"
        )
        self._last_operation = OperationType.OTHER
        self._last_result = ""
        self._modes = self._current_modes()
        self._saving: asyncio.Task[None] | None = None
        self._save_again = False
        daemon.events.subscribe(self.logged)

    @property
    def settings(self) -> DirectorSettings:
        return self.daemon.settings

    # --- reads ------------------------------------------------------------------------------

    def inputs(self) -> MibInputs:
        daemon = self.daemon
        state = daemon.state

        def latest_backup(mac: str) -> str | None:
            record = state.latest_backup(mac)
            return record.file if record is not None else None

        started = daemon.started_at
        return MibInputs(
            settings=self.settings,
            devices=state.devices(),
            is_director=daemon.director.is_director,
            uptime=(dt.datetime.now(started.tzinfo) - started).total_seconds(),
            latest_backup=latest_backup,
            last_operation=self._last_operation,
            last_result=self._last_result,
            now=dt.datetime.now(daemon.options.timezone),
        )

    # --- configuration ----------------------------------------------------------------------

    async def follow(self) -> None:
        """Make the agent follow ``snmp-server …``; tell csiOperationModeChange when the
        operation or join-window mode changed. A port that cannot be opened is logged."""
        try:
            await self.agent.follow(self.settings.snmp)
        except OSError as error:
            log.error("SNMP port %d cannot be opened: %s", self.agent.port, error)
        self.agent.mib.invalidate()
        self.check_modes()

    def _current_modes(self) -> tuple[int, int]:
        settings = self.settings
        return (
            operation_mode(settings, self.daemon.director.is_director),
            int(join_window_mode(settings)),
        )

    def check_modes(self) -> None:
        modes = self._current_modes()
        if modes != self._modes:
            self._modes = modes
            self._send(Notification.OPERATION_MODE_CHANGE, mode=modes[0])

    async def close(self) -> None:
        self.daemon.events.unsubscribe(self.logged)
        await self.agent.close()

    # --- notifications ----------------------------------------------------------------------

    def _send(self, kind: Notification, **fields: Any) -> None:
        if not self.settings.snmp.traps_vstack or not self.agent.running:
            return
        oid, binds = notification(kind, **fields)
        count = self.agent.notify(oid, binds)
        log.debug("SNMP notification %s sent to %d hosts", kind.name, count)

    def logged(self, line: LoggedLine) -> None:
        """A system message: the notification it stands for, if any."""
        if line.mnemonic == "DIRECTOR":
            self.check_modes()
            return
        if line.mnemonic not in (
            "SWITCH_ADD",
            "SWITCH_REMOVE",
            "UPGRD_FAILED",
            "SMI_DIRECTOR_BACKUP_FAILURE",
        ):
            return
        parsed = messages.parse(line.text)
        if parsed is None:
            return
        fields = parsed.fields
        state = self.daemon.state
        self.agent.mib.invalidate()  # a walk shows the change at once
        if line.mnemonic in ("SWITCH_ADD", "SWITCH_REMOVE"):
            mac = str(fields.get("mac", ""))
            device = state.device_by_mac(mac) or _unknown(mac)
            kind = (
                Notification.DEVICE_ADDED
                if line.mnemonic == "SWITCH_ADD"
                else Notification.DEVICE_LOST
            )
            self._send(kind, device=device)
            return
        what = str(fields.get("what", "")).lower()  # UPGRD_FAILED: image, config or script
        if line.mnemonic == "UPGRD_FAILED":
            ip = str(fields.get("ip", ""))
            operation = (
                OperationType.DOWNLOAD_IMAGE
                if "image" in what
                else OperationType.DOWNLOAD_CONFIG
                if "config" in what
                else OperationType.OTHER
            )
        else:
            ip = str(fields.get("client_ip", ""))
            operation = OperationType.UPLOAD_CONFIG
        device = state.device_by_ip(ip) or _unknown("", ip)
        result = line.text.split(": ", 1)[-1]
        entry = state.latest_download(device.mac) if device.number else None
        if entry is not None and operation is not OperationType.UPLOAD_CONFIG:
            # the download-status table says why (the message of the guide does not)
            column = "script" if "script" in what else "image" if "image" in what else "config"
            reason = str(getattr(entry, f"{column}_reason", ""))
            if reason:
                result = f"{result}: {reason}"
        result = result[:255]
        self._last_operation, self._last_result = operation, result
        self._send(Notification.FILE_LOAD_FAILED, device=device, operation=operation, result=result)

    # --- SETs -------------------------------------------------------------------------------

    def write(self, binds: Sequence[VarBind], apply: bool) -> None:
        """Check (``apply`` False) or apply the SETs of one request: all or none."""
        settings = self.settings
        window = settings.join_window
        backup = settings.backup
        traps = settings.snmp.traps_vstack
        period: dict[int, tuple[int, Any]] = {}
        period_oids: dict[int, tuple[int, ...]] = {}
        group_binds: dict[int, tuple[tuple[int, ...], Any]] = {}
        for index, (oid, value) in enumerate(binds):
            try:
                column = period_column(oid)
                if group_oid(oid):
                    group_binds[index] = (oid, value)
                elif column is not None:
                    period[column] = (index, value)
                    period_oids[column] = oid
                elif oid == JOIN_WINDOW_MODE:
                    mode = JoinWindowMode(integer(value, index))
                    window = JoinWindowSettings(
                        window.schedule, mode is JoinWindowMode.CLOSED,
                        mode is not JoinWindowMode.MANUAL if mode is not JoinWindowMode.CLOSED
                        else window.auto,
                    )  # fmt: skip
                elif oid == BACKUP_ENABLE:
                    flag = integer(value, index)
                    if flag not in (TRUE, FALSE):
                        raise refused("wrongValue", index, "TruthValue is 1 or 2")
                    backup = BackupSettings(flag == TRUE, backup.repository)
                elif oid == BACKUP_HOST_URL:
                    url = octets(value, index).decode("utf-8", errors="strict").strip()
                    if len(url) > MAX_URL:
                        raise refused("wrongLength", index)
                    probe = DirectorSettings()
                    probe.set_backup(True, url or None)
                    backup = BackupSettings(backup.enabled, url or None)
                elif oid == NOTIF_ENABLE:
                    traps = any(octets(value, index))
                else:
                    raise refused("notWritable", index)
            except ValueError as error:
                if isinstance(error, UnicodeDecodeError):
                    raise refused("wrongValue", index, "not UTF-8") from None
                raise refused("wrongValue", index, str(error)) from None
            except DomainError as error:
                raise refused("wrongValue", index, str(error)) from None
        if period:
            schedule = period_row(period, period_oids, window.schedule)
            window = JoinWindowSettings(schedule, window.closed, window.auto)
        groups = apply_group_sets(settings, group_binds) if group_binds else settings.groups
        if not apply:
            return
        settings.groups = groups
        settings.join_window = window
        settings.backup = backup
        settings.snmp.traps_vstack = traps
        log.info("SNMP set applied: %s", ", ".join(_name(oid) for oid, _ in binds))
        # the same path as a configuration command: the daemon and the agent follow
        self.daemon.director.settings_changed()
        self.check_modes()
        self._save()

    def _save(self) -> None:
        """A SET is persisted as ``write memory`` would: the running configuration written
        to startup-config in a thread (off the loop); SETs that come while one is written are
        saved by one more write once it is done."""
        if self._saving is not None and not self._saving.done():
            self._save_again = True
            return
        self._saving = self.daemon.director.tasks.spawn("snmp set saved", self._write_startup())

    async def _write_startup(self) -> None:
        terminals = self.daemon.terminals
        if terminals is None or terminals.engine.store is None:
            return
        engine = terminals.engine
        while True:
            self._save_again = False
            try:  # as `write memory` saves (its hooks too: `archive write-memory`)
                await engine.save_in_thread()
            except CommandError as error:
                log.error("SNMP set applied but not saved to startup-config: %s", error)
                return
            if not self._save_again:
                log.info("SNMP set saved to %s", terminals.engine.store.path)
                return


def _name(oid: tuple[int, ...]) -> str:
    return {
        JOIN_WINDOW_MODE: "csiJoinWindowConfigOperationMode",
        BACKUP_ENABLE: "csiBackupEnable",
        BACKUP_HOST_URL: "csiBackupHostUrl",
        NOTIF_ENABLE: "csiNotifEnable",
    }.get(oid, ".".join(map(str, oid)))


def _unknown(mac: str, ip: str = "") -> Device:
    """A device the director no longer (or never) had an entry for: number 0, what is known."""
    try:
        return Device(number=0, mac=mac or "0000.0000.0000", ip=ip)
    except DomainError:
        return Device(number=0, mac="0000.0000.0000")


__all__ = ["DirectorSnmpBridge"]
