"""A legacy switch (not Smart Install capable): it applies the tailored configuration of
option 67, offers the HTTP exec interface and calls the director on its trigger port; the
director then drives ``archive download-sw``, the configuration copy and ``reload`` as
privileged EXEC commands."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING, cast

from smartinstall.domain.artifacts import image_facts
from smartinstall.switch.downloads import TftpDownloads
from smartinstall.switch.facts import (
    FetchError,
    Lease,
    State,
    loop_timer,
    reload_delay,
    split_tftp_url,
)

if TYPE_CHECKING:
    from smartinstall.switch.machine import Switch


class LegacyHttp(TftpDownloads):
    """The legacy HTTP exec interface (:class:`smartinstall.switch.machine.Switch`)."""

    async def _legacy_zero_touch(self, lease: Lease) -> None:
        server = lease.tftp_server or ""
        text = await self._download_config(server, self.config.tftp_port, lease.config or "")
        if text is None:
            self._set_state(State.WAITING)
            return
        self.running_config = text
        trigger = self._apply_lines(text, save=False)
        self._set_state(State.LEGACY_WAITING)
        if trigger is not None:
            await self.io.legacy_up(cast("Switch", self), trigger[0], trigger[1])

    def _apply_lines(self, text: str, save: bool) -> tuple[str, int] | None:
        """Apply what the emulation understands of a configuration; the ``do telnet`` trigger."""
        trigger = None
        for line in text.splitlines():
            words = line.split()
            if len(words) >= 3 and words[:2] == ["enable", "password"]:
                self.enable_password = words[-1]
            elif len(words) == 3 and words[:2] == ["vstack", "director"]:
                self.director = words[2]
            elif len(words) == 4 and words[:2] == ["do", "telnet"] and words[3].isdigit():
                trigger = (words[2], int(words[3]))
            elif words == ["no", "vstack"]:
                self.flash_state.vstack_enabled = False
        if save:
            self.flash.save_state(self.flash_state)
        return trigger

    async def exec_command(self, command: str) -> str:
        """A privileged EXEC command (the HTTP exec interface of a legacy switch)."""
        words = command.split()
        if words[:2] == ["archive", "download-sw"]:
            url = next((w for w in words[2:] if not w.startswith("/")), "")
            try:
                host, port, name = split_tftp_url(url)
                size = await self._download_image(host, port, url)
            except FetchError as error:
                return f"%Error opening {url} ({error})\n"
            self._install({"1": PurePosixPath(name).name}, None)
            if "/reload" in words:
                self._later_reload(0.2)
            return (
                f"examining image...\nInstalling {name} ({size} bytes)\n"
                "All software images installed.\n"
            )
        if len(words) == 3 and words[0] == "copy" and words[2] == "startup-config":
            try:
                host, port, name = split_tftp_url(words[1])
                text = await self._fetch_text(host, port, name)
            except FetchError as error:
                return f"%Error opening {words[1]} ({error})\n"
            self.flash.save_startup(text)
            return f"[OK - {len(text)} bytes]\n"
        if words == ["reload"]:
            self._later_reload(0.2)
            return "Proceed with reload? [confirm]\n"
        if len(words) == 3 and words[:2] == ["reload", "in"]:
            hours, _, minutes = words[2].partition(":")
            try:
                delay = reload_delay(int(hours), int(minutes))
            except ValueError:
                return f"% Invalid input detected: {command}\n"
            self._later_reload(delay or 0.2, self.reload_timer if delay else loop_timer)
            self.note(f"Reload scheduled in {int(hours)} hours and {int(minutes)} minutes")
            return f"Reload scheduled in {int(hours)} hours and {int(minutes)} minutes\n"
        if words[:2] == ["show", "version"]:
            image, version = image_facts(self.image)
            return (
                f"Cisco IOS Software, {image}, Version {version}\n"
                f'System image file is "flash:{self.image}"\n'
                f"Model number : {self.config.pid}\n"
                f"Version ID : {self.config.version_id}\n"
            )
        if words in (["write", "memory"], ["write"]):
            await self.write_memory()
            return "[OK]\n"
        return f"% Invalid input detected: {command}\n"
