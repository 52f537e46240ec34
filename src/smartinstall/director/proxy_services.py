"""The PnP services SMI Proxy carries out on a Smart Install client, through Smart Install
(guide, "Unsupported Services": capabilities, config-upgrade, device-info, image-install,
topology, backoff, bye).

* image-install and config-upgrade are the director's on-demand downloads
  (:mod:`smartinstall.director.ondemand`: ``vstack download-image`` / ``download-config …
  startup``): the client fetches the file by TFTP and the download-status row says when it is
  done. A file the PnP server names by ``http(s)://`` is first staged on the proxy's
  ``flash:/vstack/pnp/`` (its checksum checked when the server gave one), since a Smart Install
  client fetches by TFTP only; ``tftp://`` and ``flash:`` locations are used as they are. When
  the request asks for a reload, the response waits until the client is back: its hello after
  the download ended (a client says hello once per boot; a keepalive that slips in before the
  reload is no evidence) and, after an image install, the new image in that hello, so that the
  next service finds it up. A client not back in time gets the schema's reload error
  (``XSVC_ERROR_IMGINSTALL_UNKNOWN_RELOAD_ERROR``, ``XSVC_ERROR_CFG_CAN_NOT_RELOAD``).
* config-upgrade to the running configuration is refused with
  ``XSVC_ERROR_CONFIG_UPGRADE_UNSUPPORTED`` by the agent before it gets here.
* device-info answers with the UDI (and the stack members' UDIs) and the image the client
  reported; hardware and filesystem information get ``XSVC_ERROR_DEVICE_INFO_UNSUPPORTED``
  with the guide's strings.
* topology lists the CDP neighbours the client reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import os
import ssl
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path, PurePosixPath

from smartinstall.director import ondemand
from smartinstall.director.core import Director
from smartinstall.domain.artifacts import runs_image
from smartinstall.domain.devices import Device, UpgradeKind
from smartinstall.domain.downloads import DownloadStatus
from smartinstall.domain.interfaces import short_interface
from smartinstall.domain.proxy import ClientUdi
from smartinstall.store.port import Change, DeviceSaved, DownloadRemoved, DownloadSaved
from smartinstall.wire import pnp

log = logging.getLogger(__name__)

STAGING_DIR = "vstack/pnp"
MAX_STAGED_FILE = 1 << 30
#: a service waiting for the client (a download row, a hello) wakes at each change of it, and
#: looks again at least this often (seconds) in case one was missed
RECHECK = 5.0
#: what the PnP server is told when a client does not come back from the reload it asked for
RELOAD_ERROR = {
    UpgradeKind.IMAGE: "XSVC_ERROR_IMGINSTALL_UNKNOWN_RELOAD_ERROR",
    UpgradeKind.CONFIG: "XSVC_ERROR_CFG_CAN_NOT_RELOAD",
}


@dataclass(frozen=True)
class ServiceTimers:
    """``upgrade``: longest wait for a client's download; ``reload``: longest wait for a
    client to come back after the reload a service asked for."""

    upgrade: float = 900.0
    reload: float = 600.0


class ServiceFailed(Exception):
    """A service could not be carried out; ``error`` is what the PnP server is told."""

    def __init__(self, error: pnp.PnpError) -> None:
        super().__init__(error.string)
        self.error = error


def _error(enum: str, text: str) -> pnp.PnpError:
    return pnp.PnpError(enum, text[:200])


class Reload(Enum):
    WAITING = "waiting"
    BACK = "back"
    NOT_BACK = "not back"


class ReloadWatch:
    """Is a client back from the reload a service asked for? Evidence of the reload is its
    hello after the download ended (keepalives go on until the reload itself); after an image
    install that hello must also report the new image. ``limit`` seconds on ``clock`` (the
    event loop's, or a test's) after the watch began it is :attr:`Reload.NOT_BACK`."""

    def __init__(
        self,
        ended: dt.datetime,
        limit: float,
        image_uri: str | None,
        clock: Callable[[], float],
    ) -> None:
        self.ended = ended
        self.limit = limit
        self.image_uri = image_uri
        self.clock = clock
        self.began = clock()
        self.reason = ""

    def verdict(self, hello_at: dt.datetime | None, device: Device | None) -> Reload:
        """``hello_at``: the client's last hello (director time); ``device``: what the
        director knows of it now. Sets :attr:`reason` when it says NOT_BACK."""
        rebooted = hello_at is not None and hello_at >= self.ended
        new_image = self.image_uri is None or (
            device is not None and runs_image(device.image, device.version, self.image_uri)
        )
        if rebooted and new_image:
            return Reload.BACK
        if self.clock() - self.began < self.limit:
            return Reload.WAITING
        waited = f"{self.limit:g} s"
        if not rebooted:
            self.reason = f"client not back {waited} after its reload (no hello since)"
        else:
            running = f"{device.image} {device.version}" if device is not None else "unknown"
            self.reason = f"client reloaded but runs {running}, not {self.image_uri}"
        return Reload.NOT_BACK


def fetch_to_flash(
    url: str, target: Path, checksum: str | None, context: ssl.SSLContext | None, timeout: float
) -> None:
    """Download ``url`` (http/https) to ``target`` (blocking: run it on a thread) through a
    temporary file, checking the MD5 the PnP server gave; raises OSError or ValueError."""
    digest = hashlib.md5(usedforsecurity=False)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.part")
    size = 0
    try:
        with (
            urllib.request.urlopen(url, timeout=timeout, context=context) as reply,
            open(temporary, "wb") as handle,
        ):
            while chunk := reply.read(1 << 16):
                size += len(chunk)
                if size > MAX_STAGED_FILE:
                    raise ValueError("file larger than 1 GiB")
                digest.update(chunk)
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        if checksum and digest.hexdigest().lower() != checksum.strip().lower():
            raise ValueError(f"checksum {digest.hexdigest()} differs from {checksum.strip()}")
        os.replace(temporary, target)
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()


_staging_locks: dict[str, asyncio.Lock] = {}


def _staging_lock(relative: str) -> asyncio.Lock:
    lock = _staging_locks.get(relative)
    if lock is None:
        while len(_staging_locks) > 256:  # bounded: the oldest unused ones go
            oldest = next(iter(_staging_locks))
            if _staging_locks[oldest].locked():
                break
            del _staging_locks[oldest]
        lock = _staging_locks[relative] = asyncio.Lock()
    return lock


class SmartInstallServices:
    """:class:`smartinstall.director.proxy_agent.ClientServices` for one client."""

    def __init__(
        self,
        director: Director,
        flash: Path,
        mac: str,
        udi: ClientUdi,
        timers: ServiceTimers,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.director = director
        self.flash = flash
        self.mac = mac
        self.udi = pnp.Udi(udi.pid, udi.vid, udi.sn)
        self.timers = timers
        self.tls = tls

    def _device(self) -> Device | None:
        return self.director.state.device_by_mac(self.mac)

    # --- image-install and config-upgrade ---------------------------------------------------

    async def image_install(self, request: pnp.ImageInstallRequest) -> bytes:
        error = await self._failure(
            UpgradeKind.IMAGE, request.image_uri, request.checksum, request.reload
        )
        return pnp.encode_image_install_response(
            self.udi, request.correlator, error=error, sid=request.sid
        )

    async def config_upgrade(self, request: pnp.ConfigUpgradeRequest) -> bytes:
        error = await self._failure(
            UpgradeKind.CONFIG, request.source_uri, request.checksum, request.reload
        )
        return pnp.encode_config_upgrade_response(
            self.udi, request.correlator, error=error, sid=request.sid
        )

    async def _failure(
        self, kind: UpgradeKind, uri: str, checksum: str | None, reload: bool
    ) -> pnp.PnpError | None:
        """:meth:`_download`; what the PnP server is told when it fails (None: done)."""
        try:
            await self._download(kind, uri, checksum, reload)
        except ServiceFailed as failed:
            return failed.error
        return None

    async def _download(
        self, kind: UpgradeKind, uri: str, checksum: str | None, reload: bool
    ) -> None:
        image = kind is UpgradeKind.IMAGE
        failed = "XSVC_ERROR_IMGINSTALL_IMG_COPY_FAILED" if image else "XSVC_APPLY_CFG_COPY_FAILED"
        device = self._device()
        if device is None or not device.ip:
            raise ServiceFailed(_error(failed, "SMI PROXY: client not reachable (no IP address)"))
        location = await self._stage(kind, uri, checksum)
        request = ondemand.OnDemandRequest(kind, url=location, ip=device.ip, reload_now=reload)
        try:
            url, selection = ondemand.plan(self.director, request)
        except ondemand.OnDemandError as error:
            raise ServiceFailed(_error(failed, f"SMI PROXY: {str(error).lstrip('% ')}")) from None
        if not selection.targets:
            why = "; ".join(selection.refused) or "client refused"
            raise ServiceFailed(_error(failed, f"SMI PROXY: {why.lstrip('% ')}"))
        before = self.director.state.latest_download(self.mac)
        lines = await ondemand.execute(self.director, request, url, selection)
        log.info("SMI proxy %s: %s", self.udi, lines.strip())
        row = self.director.state.latest_download(self.mac)
        if row is None or (before is not None and row.id == before.id):
            raise ServiceFailed(_error(failed, f"SMI PROXY: {lines.strip()[:150]}"))
        status, reason, ended = await self._finished(row.id, kind)
        if status is not DownloadStatus.UPGRADED:
            raise ServiceFailed(_error(failed, f"SMI PROXY: download {status.value}: {reason}"))
        if reload:
            await self._back_after_reload(kind, uri if image else None, ended)

    async def _finished(
        self, entry_id: int, kind: UpgradeKind
    ) -> tuple[DownloadStatus, str, dt.datetime]:
        """The status of the download row once it is finished (FAILED after the timeout),
        its reason and when it ended."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timers.upgrade
        state = self.director.state

        def of_row(change: Change) -> bool:
            if isinstance(change, DownloadSaved):
                return change.entry.id == entry_id
            return isinstance(change, DownloadRemoved) and change.entry_id == entry_id

        while loop.time() < deadline:
            row = state.download(entry_id)
            if row is None:
                return (
                    DownloadStatus.FAILED,
                    "download-status entry cleared",
                    dt.datetime.now(dt.UTC),
                )
            status = row.status(kind)
            if status.finished:
                return status, row.reason(kind), row.updated_at
            await state.next_change(min(deadline - loop.time(), RECHECK), of_row)
        return DownloadStatus.FAILED, "no answer from the client in time", dt.datetime.now(dt.UTC)

    async def _back_after_reload(
        self, kind: UpgradeKind, image_uri: str | None, ended: dt.datetime
    ) -> None:
        """Wait (bounded: ``timers.reload``) until the client is back after the reload the
        service asked for (:class:`ReloadWatch`); ServiceFailed with the schema's reload error
        when it is not."""
        clock = asyncio.get_running_loop().time
        watch = ReloadWatch(ended, self.timers.reload, image_uri, clock)
        state = self.director.state
        while True:
            verdict = watch.verdict(self.director.last_hello(self.mac), self._device())
            if verdict is Reload.BACK:
                return
            if verdict is Reload.NOT_BACK:
                log.warning("SMI proxy %s: %s", self.udi, watch.reason)
                raise ServiceFailed(_error(RELOAD_ERROR[kind], f"SMI PROXY: {watch.reason}"))
            # a hello is recorded with the entry's keepalive: the client's entry changes
            left = watch.began + watch.limit - clock()
            await state.next_change(min(left, RECHECK), self._of_client)

    def _of_client(self, change: Change) -> bool:
        return isinstance(change, DeviceSaved) and self.mac in (
            change.record.device.mac,
            *(member.mac for member in change.record.device.members),
        )

    async def _stage(self, kind: UpgradeKind, uri: str, checksum: str | None) -> str:
        """A location the client can fetch: an http(s) file copied to flash:, else the URI."""
        lowered = uri.lower()
        if not lowered.startswith(("http://", "https://")):
            return uri
        name = PurePosixPath(uri.split("?", 1)[0]).name
        if not name or name in (".", ".."):
            enum = "XSVC_ERROR_IMGINSTALL_SRC_NOT_FOUND"
            if kind is UpgradeKind.CONFIG:
                enum = "XSVC_ERROR_CFG_INVALID_SRC_CONFIG_FILE"
            raise ServiceFailed(_error(enum, f"SMI PROXY: no file name in {uri}"))
        relative = f"{STAGING_DIR}/{name}"
        try:
            # one download of a file at a time (several clients get the same image)
            async with _staging_lock(relative):
                await asyncio.to_thread(
                    fetch_to_flash, uri, self.flash / relative, checksum, self.tls, 300.0
                )
        except ValueError as error:
            enum = "XSVC_ERROR_IMGINSTALL_IMG_SIGNATURE_VERIFY_FAILED"
            if kind is UpgradeKind.CONFIG:
                enum = "XSVC_APPLY_CFG_HASH_FAILED"
            raise ServiceFailed(_error(enum, f"SMI PROXY: {uri}: {error}")) from None
        except OSError as error:
            enum = "XSVC_ERROR_IMGINSTALL_SRC_NOT_FOUND"
            if kind is UpgradeKind.CONFIG:
                enum = "XSVC_ERROR_CFG_INVALID_SRC_CONFIG_FILE"
            raise ServiceFailed(_error(enum, f"SMI PROXY: {uri}: {error}")) from None
        return f"flash:{relative}"

    # --- device-info and topology -----------------------------------------------------------

    def device_info(self, request: pnp.DeviceInfoRequest) -> bytes:
        kind = request.info_type.lower()
        udi, correlator, sid = self.udi, request.correlator, request.sid
        if kind == "hardware":
            return pnp.encode_device_info_response(
                udi, correlator, error=pnp.ERROR_DEVICE_HARDWARE_INFO_UNSUPPORTED, sid=sid
            )
        if kind == "filesystem":
            return pnp.encode_device_info_response(
                udi, correlator, error=pnp.ERROR_DEVICE_FILESYSTEM_INFO_UNSUPPORTED, sid=sid
            )
        device = self._device()
        image = None
        if device is not None and kind in ("image", "all"):
            image = pnp.ImageInfo(
                version_string=f"Cisco IOS Software, {device.image or 'unknown'}, "
                f"Version {device.version or 'unknown'}",
                image_file=f"flash:{device.image}" if device.image else "",
            )
        info = pnp.DeviceInfo(udi=self.udi.text, image=image)
        return pnp.encode_device_info_response(udi, correlator, info, sid=sid)

    def topology(self, request: pnp.TopologyRequest) -> bytes:
        device = self._device()
        neighbours: list[pnp.TopologyNeighbour] = []
        if device is not None:
            for n in device.neighbors:
                neighbours.append(
                    pnp.TopologyNeighbour(
                        local_interface=n.local_port,
                        local_short_interface=short_interface(n.local_port),
                        local_mac=device.mac,
                        remote_interface=n.port,
                        remote_short_interface=short_interface(n.port) if n.port else "",
                        remote_mac=n.mac,
                        device_name=n.device_id,
                        platform=n.platform,
                        version="",
                    )
                )
            if not neighbours and device.upstream_mac:
                # a client with no neighbour of its own below it: its uplink, as the director
                # learnt it (option 82: the upstream device and its port)
                upstream = self.director.state.device_by_mac(device.upstream_mac)
                port = device.upstream_port
                neighbours.append(
                    pnp.TopologyNeighbour(
                        local_interface="",
                        local_short_interface="",
                        local_mac=device.mac,
                        remote_interface=port,
                        remote_short_interface=short_interface(port) if port else "",
                        remote_mac=device.upstream_mac,
                        device_name=upstream.hostname if upstream is not None else "",
                        platform=f"cisco {upstream.pid}" if upstream and upstream.pid else "",
                        version=upstream.version if upstream is not None else "",
                    )
                )
        return pnp.encode_topology_response(
            self.udi, request.correlator, neighbours, sid=request.sid
        )


__all__ = [
    "RELOAD_ERROR",
    "STAGING_DIR",
    "Reload",
    "ReloadWatch",
    "ServiceFailed",
    "ServiceTimers",
    "SmartInstallServices",
]
