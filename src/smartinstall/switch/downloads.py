"""Downloads of the emulated switch: the imagelist and its images (one per stack member), the
configuration and post-install scripts over TFTP, each reported with upgrade status messages,
and the install on flash."""

from __future__ import annotations

import asyncio
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, cast

from smartinstall.domain.artifacts import parse_imagelist
from smartinstall.domain.errors import DomainError
from smartinstall.switch.facts import (
    FetchError,
    Operation,
    State,
    UpgradeState,
    _Rebooted,
    split_tftp_url,
)
from smartinstall.switch.reports import SmiReports

if TYPE_CHECKING:
    from smartinstall.switch.machine import Switch


class TftpDownloads(SmiReports):
    """TFTP downloads and the install (:class:`smartinstall.switch.machine.Switch`)."""

    def _install(self, images: dict[str, str], config_text: str | None) -> None:
        self._set_state(State.INSTALLING)
        self.flash_state.images.update(images)
        self.flash_state.ip = self.ip
        self.flash_state.director = self.director
        self.flash.save_state(self.flash_state)
        if config_text is not None:
            self.flash.save_startup(config_text)
        self.note(f"installed image {self.image}" + (" and configuration" if config_text else ""))

    async def _fetch_text(self, host: str, port: int, name: str, limit: int = 1 << 20) -> str:
        chunks: list[bytes] = []
        size = 0

        def sink(data: bytes) -> None:
            nonlocal size
            size += len(data)
            if size > limit:
                raise FetchError(f"{name} is larger than {limit} bytes")
            chunks.append(data)

        await self._delay()
        await self.io.fetch(cast("Switch", self), host, port, name, sink)
        return b"".join(chunks).decode("utf-8", errors="replace")

    async def _delay(self) -> None:
        if self.config.faults.tftp_delay > 0:
            await asyncio.sleep(self.config.faults.tftp_delay)

    def _locate(self, host: str, port: int, entry: str) -> tuple[str, int, str]:
        if entry.lower().startswith("tftp://"):
            return split_tftp_url(entry)
        return host, port, entry.split(":", 1)[-1].lstrip("/") if ":" in entry else entry

    async def _download_images(self, host: str, port: int, imagelist: str) -> dict[str, str]:
        """The imagelist and its images; {member: image} of those verified, {} on failure."""
        await self.report(Operation.IMAGE, UpgradeState.STARTED, file=imagelist)
        try:
            where = self._locate(host, port, imagelist)
            names = parse_imagelist(await self._fetch_text(*where))
        except (FetchError, DomainError) as error:
            self._unanswered |= isinstance(error, FetchError) and error.transient
            await self.report(
                Operation.IMAGE, UpgradeState.FAILED, file=imagelist, reason=f"imagelist: {error}"
            )
            return {}
        numbers = [m.number for m in self.config.members] if self.config.is_stack else [1]
        chosen = {str(n): names[min(i, len(names) - 1)] for i, n in enumerate(numbers)}
        done: dict[str, str] = {}
        fetched: dict[str, int] = {}
        for member, name in chosen.items():
            try:
                if name not in fetched:
                    fetched[name] = await self._download_image(host, port, name)
            except FetchError as error:
                self._unanswered |= error.transient
                await self.report(
                    Operation.IMAGE, UpgradeState.FAILED, file=name, reason=str(error)
                )
                return {}
            done[member] = PurePosixPath(name.split("://", 1)[-1]).name
        await self.report(
            Operation.IMAGE,
            UpgradeState.DONE,
            file=",".join(chosen.values()),
            bytes_done=sum(fetched.values()),
            bytes_total=sum(fetched.values()),
        )
        return done

    async def _download_image(self, host: str, port: int, entry: str) -> int:
        where = self._locate(host, port, entry)
        size = 0
        limit = self.config.faults.reboot_after_bytes
        reboot = limit is not None and not self._rebooted_once

        def sink(data: bytes) -> None:
            nonlocal size
            size += len(data)
            self.bytes_downloaded += len(data)
            if reboot and limit is not None and size >= limit:
                self._rebooted_once = True
                raise _Rebooted()

        await self._delay()
        total = await self.io.fetch(cast("Switch", self), *where, sink)
        if total != size:
            raise FetchError(f"{entry}: {size} bytes written, {total} transferred")
        self.flash.record_image(where[2], size)
        return size

    async def _download_config(self, host: str, port: int, name: str) -> str | None:
        try:
            return await self._fetch_text(*self._locate(host, port, name))
        except FetchError as error:
            # "If the configuration it is sent is missing it reloads with the default one."
            self._unanswered |= error.transient
            await self.report(Operation.CONFIG, UpgradeState.FAILED, file=name, reason=str(error))
            return None
