"""The Smart Install client side of the emulated switch: port 4786, the hello and neighbour
report, keepalives, upgrade status reports (resent with backoff when the director does not
answer), ``write memory`` notices, configuration backups the director asks for, and
``vstack director`` / ``no vstack``."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, cast

from smartinstall.switch.core import SwitchCore
from smartinstall.switch.facts import (
    REPORT_ATTEMPTS,
    REPORT_RESEND_FIRST,
    FetchError,
    SendError,
    State,
)
from smartinstall.wire import smi_client
from smartinstall.wire.smi import BackupConfig

if TYPE_CHECKING:
    from smartinstall.switch.machine import Switch

log = logging.getLogger("smartinstall.switch.machine")


class SmiReports(SwitchCore):
    """What the switch tells the director (:class:`smartinstall.switch.machine.Switch`)."""

    async def _listen(self) -> None:
        """Open port 4786 (the I/O moves it to the leased address when that one differs)."""
        await self.io.listen(cast("Switch", self))
        self.listening = True

    def _keep_alive(self) -> None:
        """Keepalives from now until the reload (or ``no vstack``), if not running yet."""
        if self._keepalive_task is None or self._keepalive_task.done():
            self._keepalive_task = asyncio.get_running_loop().create_task(self._keepalives())

    async def _say_hello(self) -> bool:
        if not await self.send(self.hello()):
            return False
        if self.config.neighbors:
            await self.send(
                smi_client.NeighborReport(
                    sequence=self._next(), mac=self.mac, neighbors=self.config.neighbors
                )
            )
        return True

    async def send(self, message: smi_client.ClientMessage) -> bool:
        """One report (hello, keepalive, upgrade status, backup result, write memory); one the
        director did not answer (a flood refused it, a restart) is sent again with backoff."""
        delay, waited = REPORT_RESEND_FIRST, 0.0
        for attempt in range(1, REPORT_ATTEMPTS + 1):
            try:
                await self.io.send(cast("Switch", self), message)
            except SendError as error:
                again = error.transient and attempt < REPORT_ATTEMPTS
                if again and waited + delay <= self.config.keepalive:
                    log.debug("switch %s: %s; sent again in %g s", self.mac, error, delay)
                    await asyncio.sleep(delay)
                    waited, delay = waited + delay, delay * 2
                    continue
                log.info("switch %s: %s (%d attempts)", self.mac, error, attempt)
                if self.ip and self.director:
                    self.message("CLIENT_CONN_FAILED", client_ip=self.ip, director_ip=self.director)
                return False
            return True
        return False

    async def _keepalives(self) -> None:
        period = self.config.keepalive
        uptime = 0.0
        while True:
            await asyncio.sleep(period)
            uptime += period
            if not self._hello_taken:
                self._hello_taken = await self._say_hello()
                continue
            await self.send(
                smi_client.Keepalive(
                    sequence=self._next(), mac=self.mac, ip=self.ip, uptime=int(uptime)
                )
            )

    async def report(
        self,
        operation: int,
        state: int,
        file: str = "",
        reason: str = "",
        bytes_done: int = 0,
        bytes_total: int = 0,
    ) -> None:
        if self.config.legacy or not self.director:
            return
        await self.send(smi_client.UpgradeStatus(
            sequence=self._next(), mac=self.mac, operation=operation, state=state,
            file=file[:200], reason=reason[:200], bytes_done=bytes_done, bytes_total=bytes_total,
        ))  # fmt: skip

    async def _on_backup(self, command: BackupConfig) -> None:
        for line in command.active_commands:
            words = line.split()
            if len(words) != 3 or words[0] != "copy" or "startup-config" not in words[1]:
                self.note(f"backup command ignored: {line}")
                continue
            url = words[2]
            startup = self.flash.startup_config()
            reason = ""
            if startup is None:
                reason = "no startup-config"
            else:
                try:
                    await self.io.upload(cast("Switch", self), url, startup.encode())
                except FetchError as error:
                    reason = str(error)
            if reason:
                self.message("SMI_CLIENT_BACKUP_FAILURE")
            else:
                self.message("SMI_CLIENT_BACKUP_SUCCESS")
            await self.send(
                smi_client.BackupResult(
                    sequence=self._next(),
                    mac=self.mac,
                    success=not reason,
                    file=url[:200],
                    reason=reason[:200],
                )
            )

    async def write_memory(self) -> None:
        self.flash.save_startup(self.running_config)
        self.flash_state.ip = self.ip
        self.flash_state.director = self.director
        self.flash.save_state(self.flash_state)
        if self.director and not self.config.legacy and self.flash_state.vstack_enabled:
            await self.send(
                smi_client.WriteMemory(
                    sequence=self._next(), mac=self.mac, hostname=self.hostname, ip=self.ip
                )
            )

    def disable_vstack(self) -> None:
        """The part of ``no vstack`` that takes effect at once (the port closes after)."""
        self.flash_state.vstack_enabled = False
        self.flash.save_state(self.flash_state)

    def set_director(self, ip: str) -> None:
        """The part of ``vstack director <ip>`` that takes effect at once."""
        self.director = ip
        self.flash_state.director = ip
        self.flash_state.vstack_enabled = True
        self.flash.save_state(self.flash_state)

    async def no_vstack(self) -> None:
        """``no vstack``: the client stops being a Smart Install client; port 4786 closes."""
        self.disable_vstack()
        if self._keepalive_task is not None:
            self._keepalive_task.cancel()
            self._keepalive_task = None
        if self.listening:
            await self.io.unlisten(cast("Switch", self))
            self.listening = False

    async def vstack_director(self, ip: str) -> None:
        self.set_director(ip)
        if self.state is State.RUNNING and self.ip:
            await self._listen()
            await self._say_hello()
            if self._keepalive_task is None:
                self._keepalive_task = asyncio.get_running_loop().create_task(self._keepalives())
