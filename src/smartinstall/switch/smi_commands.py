"""The director's commands to the emulated switch on port 4786 (types 2, 3, 5 and 8 of the
Smart Install protocol): download an image or a configuration (with a reload now or in hh:mm),
run a post-install script, back up the configuration."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from smartinstall.domain.artifacts import parse_post_install
from smartinstall.domain.errors import DomainError
from smartinstall.switch.facts import (
    FetchError,
    Operation,
    State,
    UpgradeState,
    _Rebooted,
    reload_delay,
    split_tftp_url,
)
from smartinstall.switch.legacy import LegacyHttp
from smartinstall.wire.smi import BackupConfig, DownloadConfig, DownloadImage, Execute

log = logging.getLogger("smartinstall.switch.machine")


class DirectorCommands(LegacyHttp):
    """Commands the director sends (:class:`smartinstall.switch.machine.Switch`)."""

    def submit(self, command: object) -> None:
        """Run a director command in the switch's own task (the listener returns at once;
        a reload or power-off cancels what is still running)."""
        task = asyncio.get_running_loop().create_task(self.command(command))
        self._commands.add(task)
        task.add_done_callback(self._command_done)

    def _command_done(self, task: asyncio.Task[None]) -> None:
        self._commands.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("switch %s: command failed", self.mac, exc_info=task.exception())

    async def command(self, command: object) -> None:
        """A command the director sent to port 4786 (types 2, 3, 5 and 8)."""
        try:
            await self._command(command)
        except _Rebooted:
            self.note("System restarted (power lost during a download)")
            self.reload()

    async def _command(self, command: object) -> None:
        if not self.director and isinstance(command, (DownloadImage, DownloadConfig)):
            # a switch the director pushes to before telling it its address (a held client
            # installed from the hold list, its port open from power-on): the director is the
            # one whose files it is sent to fetch; its reports go there
            url = (
                command.imagelist_url if isinstance(command, DownloadImage) else command.config_url
            )
            with contextlib.suppress(FetchError):
                self.director = split_tftp_url(url)[0]
        if isinstance(command, DownloadImage):
            await self._on_download_image(command)
        elif isinstance(command, DownloadConfig):
            await self._on_download_config(command)
        elif isinstance(command, Execute):
            url = command.script_url
            if url and url == self._script_this_boot:
                return  # already run (or about to run) since this boot
            if self._zero_touch or self.state is not State.RUNNING:
                self.flash_state.pending_script = url
                self.flash.save_state(self.flash_state)
                self.note(f"post-install script {url} runs after the reload")
            else:
                self._script_this_boot = url
                await self.run_script(url)
        elif isinstance(command, BackupConfig):
            await self._on_backup(command)

    def _schedule_reload(self, after: tuple[int, int] | None) -> None:
        """Reload in hh:mm (see :func:`reload_delay`); None and 00:00 mean now."""
        delay = reload_delay(*after) if after is not None else 0.0
        if not delay:
            self._later_reload(0.05)
            return
        hours, minutes = after or (0, 0)
        self.note(f"Reload scheduled in {hours} hours and {minutes} minutes by the director")
        self._later_reload(delay, self.reload_timer)

    async def _on_download_image(self, command: DownloadImage) -> None:
        try:
            host, port, _ = split_tftp_url(command.imagelist_url)
        except FetchError as error:
            await self.report(Operation.IMAGE, UpgradeState.FAILED, reason=str(error))
            return
        images = await self._download_images(host, port, command.imagelist_url)
        if not images:
            return
        self._install(images, None)
        if command.reload_now or command.reload_scheduled:
            self._schedule_reload(command.reload_at)

    async def _on_download_config(self, command: DownloadConfig) -> None:
        await self.report(Operation.CONFIG, UpgradeState.STARTED, file=command.config_url)
        try:
            text = await self._fetch_text(*split_tftp_url(command.config_url))
        except FetchError as error:
            await self.report(
                Operation.CONFIG, UpgradeState.FAILED, file=command.config_url, reason=str(error)
            )
            return
        self.flash.save_startup(text)
        self.note(f"configuration {command.config_url} saved to startup-config")
        if command.reload:
            self._schedule_reload(command.reload_at)

    async def run_script(self, url: str) -> bool:
        await self.report(Operation.SCRIPT, UpgradeState.STARTED, file=url)
        try:
            lines = parse_post_install(await self._fetch_text(*split_tftp_url(url)))
        except (FetchError, DomainError) as error:
            if self._script_this_boot == url:
                self._script_this_boot = ""  # the director may send it again: run it then
            await self.report(Operation.SCRIPT, UpgradeState.FAILED, file=url, reason=str(error))
            return False
        added: list[str] = []
        for line in lines:
            added.extend(
                command if i == 0 or command == "exit" else f" {command}"
                for i, command in enumerate(line.commands)
            )
        self.running_config = self.running_config.replace("\nend\n", "\n").rstrip("\n")
        self.running_config += "\n" + "\n".join(added) + "\nend\n"
        self.flash.save_startup(self.running_config)
        self.note(f"post-install script applied: {len(lines)} line(s)")
        await self.report(Operation.SCRIPT, UpgradeState.DONE, file=url)
        return True
