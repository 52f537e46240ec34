"""Configuration backups: asking a client for its startup configuration, storing REV1/REV2.

Guide, "Backing Up Client Configurations": after ``write memory`` on a client (and when the
director boots, or a client comes back with a backup pending) the director asks the client to
upload its startup configuration (SMI type 8); the upload arrives over TFTP as
``<hostname>-<mac>.<token>.upload`` in the backup repository (a name of its own for each
request, so that a result names the request it answers and an upload asked by another director
process is not taken for this one's), and the director rotates it in: the old
REV2 becomes REV1, the upload becomes REV2. With ``vstack backup file-server tftp://…`` the
files are kept on a third-party TFTP server instead.

File work (listing, copying with fsync, hashing) runs on a thread; the backup's record is
durable before the client's result is acknowledged.

A full disk: a backup is not asked for while the repository lacks room for it
(``BACKUP_ROOM`` and the size of the client's last backup): the guide's
``%SMI-3-SMI_DIRECTOR_BACKUP_FAILURE`` says so, the backup stays pending, and it is asked for
as soon as there is room again (the free space is looked at every ``ROOM_POLL`` seconds, for
``ROOM_WAIT`` at most; after that, at the client's next hello). A store that fails half-way
leaves no partial file: REV1/REV2 are replaced atomically or not at all, and the upload is
removed.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from pathlib import Path, PurePosixPath

from smartinstall.director.base import DirectorBase
from smartinstall.director.facts import CommandRequest, RemoteFileError
from smartinstall.domain.backups import backup_name, plan_backup, security_changes
from smartinstall.domain.devices import Device
from smartinstall.domain.errors import DomainError
from smartinstall.domain.joinwindow import Operation, Permission, permission
from smartinstall.domain.locations import Location, parse_repository
from smartinstall.domain.values import normalize_mac
from smartinstall.store.port import StoreError
from smartinstall.store.repository import RepositoryError, StoredFile, md5_of

log = logging.getLogger(__name__)

BACKUP_UPLOAD_SUFFIX = ".upload"
# How long a backup request waits for the client's result before another request replaces it
# (a client that was asked and then vanished must not block its backups forever).
BACKUP_RESULT_WAIT = 120.0
# Free space a backup needs besides the size of the client's last one: the upload, its record
# in the database, and room to spare for what the director must still write.
BACKUP_ROOM = 256 * 1024
ROOM_POLL = 2.0  # seconds between two looks at the free space while backups wait for room
ROOM_WAIT = 3600.0  # how long they wait for it, at most
MAX_UNACKED = 10_000  # backup results kept while their commit fails
MAX_OUTSTANDING = 4  # backup requests of one client awaiting their upload and result


class Backups(DirectorBase):
    """The backup part of the director core."""

    _backup_requests: dict[str, dict[str, float]]  # mac -> {upload name asked: when}
    _backup_asked_at: dict[str, float]  # mac -> asked at (monotonic), until stored
    _backup_again: set[str]  # asked again while one was under way
    _backup_no_room: set[str]  # refused for want of space, asked again once there is room
    _room_watch: bool  # a task looks at the free space for them
    _backup_unacked: dict[str, bool]  # results taken whose commit failed (mac -> stored)
    _backup_storing: dict[str, asyncio.Lock]  # one rotation at a time per client

    def _init_part(self) -> None:
        super()._init_part()
        self._backup_requests = {}
        self._backup_asked_at = {}
        self._backup_again = set()
        self._backup_no_room = set()
        self._room_watch = False
        self._backup_unacked = {}
        self._backup_storing = {}

    def _backup_failed(self, device: Device, why: str, reason: str | None = None) -> None:
        self.state.add_pending_backup(device.mac, why)
        self.events.smi(
            "SMI_DIRECTOR_BACKUP_FAILURE",
            client_ip=device.ip,
            repository=self.settings.backup.location,
            reason=reason or why,
        )

    async def request_backup(self, mac: str) -> bool:
        """Ask a client to upload its startup configuration (type 8), as after write memory."""
        device = self.state.device_by_mac(mac)
        if device is None or not self.is_director or not self.settings.backup.enabled:
            return False
        if permission(device.join_state, Operation.BACKUP) is not Permission.ALLOWED:
            self.events.debug_line("backup", f"{mac}: on hold, backup refused (Table 1-3)")
            return False
        if not device.ip or not device.hostname:
            self.state.add_pending_backup(device.mac, "client address or hostname unknown")
            return False
        if not await self._room_for_backup(device):
            return False
        device = self.state.device_by_mac(device.mac) or device
        asked = self._backup_asked_at.get(device.mac)
        if asked is not None and time.monotonic() - asked < BACKUP_RESULT_WAIT:
            # One upload at a time per client (they share the staging name): this request is
            # served by another backup as soon as the one under way has ended.
            self._backup_again.add(device.mac)
            self.events.debug_line("backup", f"{mac}: a backup is under way; another follows")
            return True
        token = secrets.token_hex(4)
        upload = f"{self.backup_dir}/{device.hostname}-{device.mac}.{token}{BACKUP_UPLOAD_SUFFIX}"
        upload = upload.lstrip("/")
        asked = time.monotonic()
        self._outstanding(device.mac, asked)[upload] = asked
        self._backup_asked_at[device.mac] = asked
        url = self.tftp_prefix + upload
        request = CommandRequest(
            device.ip,
            self._client_port(device.mac),
            "backup",
            url=url,
            commands=(f"copy startup-config {url}",),
        )
        try:
            await self._send(request)
        except (OSError, TimeoutError) as error:
            self._answered(device.mac, upload)
            self._backup_asked_at.pop(device.mac, None)
            self._backup_again.discard(device.mac)
            self._backup_failed(device, f"connection lost: {error}", "client unreachable")
            return False
        self.events.debug_line("backup", f"{mac}: asked for its configuration ({url})")
        return True

    def backup_later(self, mac: str) -> None:
        """Request a backup in the background."""
        self._spawn("backup", self.request_backup(mac))

    def forget_unanswered_backup(self, mac: str) -> bool:
        """A client said hello: it (re)started, so a backup asked of it before may never be
        answered (a client asked just before it reloads for an install). The next request is
        sent at once instead of waiting ``BACKUP_RESULT_WAIT`` behind it; True when one was
        outstanding or asked for again meanwhile (then ask anew). The earlier request's upload
        stays allowed until it expires: a request and a hello may cross (a director that
        starts asks every client while some are coming back from a reload), and then the
        client does answer it."""
        asked = self._backup_asked_at.pop(mac, None)
        again = mac in self._backup_again
        self._backup_again.discard(mac)
        return asked is not None or again

    def _outstanding(self, mac: str, now: float) -> dict[str, float]:
        """The client's backup requests awaiting their result, the expired ones dropped and
        room made for one more (at most ``MAX_OUTSTANDING``)."""
        requests = self._backup_requests.setdefault(mac, {})
        for name, asked in list(requests.items()):
            if now - asked >= BACKUP_RESULT_WAIT or len(requests) >= MAX_OUTSTANDING:
                del requests[name]
        return requests

    def _answered(self, mac: str, upload: str) -> None:
        requests = self._backup_requests.get(mac)
        if requests is not None:
            requests.pop(upload, None)
            if not requests:
                del self._backup_requests[mac]

    def _request_of(self, mac: str, file: str) -> str | None:
        """The outstanding request a client's result answers: the one whose upload ``file``
        names, or the latest when the client does not say (None: not one of ours)."""
        requests = self._backup_requests.get(mac, {})
        if not file:
            return max(requests, key=requests.__getitem__, default=None)
        named = PurePosixPath(file).name
        return next((u for u in requests if PurePosixPath(u).name == named), None)

    async def _room_for_backup(self, device: Device) -> bool:
        """Is there room on flash: for this client's backup? When not, the backup is refused
        (the guide's failure message, pending) and asked for again once there is."""
        previous = self.state.latest_backup(device.mac)
        needed = BACKUP_ROOM + (previous.size if previous is not None else 0)
        free = await asyncio.to_thread(self.repo.free_space, self.backup_dir)
        if free is None or free >= needed:
            return True
        self._backup_failed(
            device,
            f"no space left on flash: ({free // 1024} KB free, {needed // 1024} KB needed)",
            "no space left on device",
        )
        self._backup_no_room.add(device.mac)
        if not self._room_watch:
            self._room_watch = True
            self._spawn("backup waits for room", self._watch_room(needed))
        return False

    async def _watch_room(self, needed: int) -> None:
        """Ask again for the backups refused for want of space once there is room."""
        try:
            for _ in range(int(ROOM_WAIT / ROOM_POLL)):
                await asyncio.sleep(ROOM_POLL)
                free = await asyncio.to_thread(self.repo.free_space, self.backup_dir)
                if free is None or free >= needed:
                    break
            else:
                return  # still pending: asked for at the client's next hello
        finally:
            self._room_watch = False
        waiting, self._backup_no_room = self._backup_no_room, set()
        for mac in sorted(waiting):
            if self.state.has_pending_backup(mac):
                self.backup_later(mac)

    async def client_backup_result(
        self, mac: str, success: bool, file: str = "", reason: str = ""
    ) -> bool:
        """The client says its upload ended: rotate REV2 → REV1 and store the new REV2 (on a
        thread); the record is durable when this returns. Then the backup asked for meanwhile,
        if any, starts."""
        device = self.state.device_by_mac(normalize_mac(mac))
        if device is None:
            return False
        upload = self._request_of(device.mac, file)
        if upload is None and device.mac in self._backup_unacked:
            # the same result again, refused because its commit failed: answered from it
            return await self._acknowledge(device.mac, self._backup_unacked[device.mac])
        if upload is None and file:
            # the answer to a request this director did not make or has answered (one of a
            # member that died, or expired): the client's backup is not affected by it
            self.events.debug_line(
                "backup", f"{device.mac}: result for {file[:80]} ignored: not asked by us"
            )
            log.info("backup result of %s for %s: not a request outstanding here", mac, file)
            return False
        if upload is not None:
            self._answered(device.mac, upload)
        if not success or upload is None or not self.repo.exists(upload):
            why = reason or ("no upload received" if success else "client failed")
            self._backup_failed(device, why)
            self._backup_done(device.mac)
            return await self._acknowledge(device.mac, False)
        location = parse_repository(self.settings.backup.location)
        if not location.local:
            self._spawn(
                "backup to file server",
                self._store_remote(device, upload, location),
            )
            return True
        try:
            # two requests' uploads (a request crossing a hello) are rotated in one by one
            async with self._backup_storing.setdefault(device.mac, asyncio.Lock()):
                stored = await self._store_local(device, upload)
        finally:
            self._backup_done(device.mac)
        return await self._acknowledge(device.mac, stored)

    async def _acknowledge(self, mac: str, stored: bool) -> bool:
        """The result is durable before the client hears it was taken. When the commit fails
        (a full disk) the client is refused and reports again; the result is kept meanwhile,
        so that the report again is answered from it, not taken for one without an upload."""
        try:
            await self.flush()
        except StoreError:
            if len(self._backup_unacked) >= MAX_UNACKED:
                self._backup_unacked.clear()
            self._backup_unacked[mac] = stored
            raise
        self._backup_unacked.pop(mac, None)
        return stored

    def _backup_done(self, mac: str) -> None:
        self._backup_asked_at.pop(mac, None)
        if mac in self._backup_again:
            self._backup_again.discard(mac)
            self.backup_later(mac)

    async def _store_local(self, device: Device, upload: str) -> bool:
        previous = self.state.latest_backup(device.mac)
        previous_hostname = previous.hostname if previous else None
        try:
            changes = await asyncio.to_thread(
                self._security_changes, device.mac, upload, previous_hostname or device.hostname
            )
            stored, rotated = await asyncio.to_thread(
                self._rotate_in, device.hostname, device.mac, upload, previous_hostname
            )
        except (OSError, RepositoryError, DomainError) as error:
            self._backup_failed(device, str(error))
            # nothing half-done stays: REV1/REV2 are as they were, and the upload goes
            await asyncio.to_thread(self._discard, upload)
            return False
        if rotated or previous is None or previous.checksum != stored.md5:
            self.state.record_backup(
                device.mac, device.hostname, stored.path, stored.md5, stored.size
            )
        else:
            self.state.remove_pending_backup(device.mac)
            self.events.debug_line("backup", f"{device.mac}: configuration unchanged, REV2 kept")
        self.events.smi(
            "SMI_DIRECTOR_BACKUP_SUCCESS",
            client_ip=device.ip,
            repository=self.settings.backup.location,
        )
        if changes:
            # REV1 keeps the previous configuration; the operator hears what changed
            self.events.notice(
                4,
                "BACKUP_SECURITY_CHANGE",
                f"Client Device ({device.ip}) startup configuration changed security lines "
                f"since its last backup: {'; '.join(changes[:20])}"
                + (f" (and {len(changes) - 20} more)" if len(changes) > 20 else ""),
            )
        return True

    def _security_changes(self, mac: str, upload: str, hostname: str) -> list[str]:
        """(thread) The security-relevant lines the upload changes against the current REV2."""
        if not hostname:
            return []
        try:
            rev2 = f"{self.backup_dir}/{backup_name(hostname, mac, 2)}".lstrip("/")
            if not self.repo.exists(rev2):
                return []
            limit = 4 * 1024 * 1024
            previous = self.repo.read_bytes(rev2, limit).decode("utf-8", "replace")
            new = self.repo.read_bytes(upload, limit).decode("utf-8", "replace")
        except (OSError, RepositoryError, DomainError) as error:
            log.warning("backup of %s: not compared with the previous one: %s", mac, error)
            return []
        return security_changes(previous, new)

    def _discard(self, path: str) -> None:
        """(thread) Remove a file of a backup that failed; a failure to remove is logged."""
        try:
            self.repo.delete(path)
        except (OSError, RepositoryError) as error:
            log.warning("backup: cannot remove %s: %s", path, error)

    def _rotate_in(
        self, hostname: str, mac: str, upload: str, previous_hostname: str | None
    ) -> tuple[StoredFile, bool]:
        """(thread) The upload becomes REV2, the old REV2 REV1; the upload is removed. An
        upload equal to REV2 changes nothing: REV1 stays the previous configuration (a
        ``write memory`` that changed nothing must not push the older revision out).
        (stored REV2, whether the revisions rotated)."""
        directory = self.backup_dir
        rev2 = f"{directory}/{backup_name(hostname, mac, 2)}".lstrip("/")
        if (hostname == previous_hostname or previous_hostname is None) and self.repo.exists(rev2):
            digest = self.repo.md5(upload)
            if digest == self.repo.md5(rev2):
                self.repo.delete(upload)
                return StoredFile(rev2, self.repo.size(rev2), digest), False
        plan = plan_backup(
            hostname, mac, self.repo.names(directory), previous_hostname=previous_hostname
        )
        stored = self.repo.execute_backup_plan(
            plan, self.repo.iter_chunks(upload), directory=directory
        )
        self.repo.delete(upload)
        return stored, True

    async def _store_remote(self, device: Device, upload: str, location: Location) -> bool:
        try:
            stored = await self._store_remote_files(device, upload, location)
        finally:
            self._backup_done(device.mac)
        await self.flush()
        return stored

    async def _store_remote_files(self, device: Device, upload: str, location: Location) -> bool:
        """``vstack backup file-server tftp://…``: keep REV1/REV2 on a third-party TFTP server.

        TFTP has no rename, so the rotation reads the server's REV2 and writes it back as REV1
        before writing the new REV2; files of an old hostname stay, as the guide says of
        third-party servers. The upload stays in the local staging area until the server has
        the new REV2."""
        rev1 = "/".join(
            p for p in (location.path, backup_name(device.hostname, device.mac, 1)) if p
        )
        rev2 = "/".join(
            p for p in (location.path, backup_name(device.hostname, device.mac, 2)) if p
        )
        staging = self.repo.resolve(upload)
        old = staging.with_name(staging.name + ".rev2")
        try:
            if self.file_server is None:
                raise RemoteFileError("no TFTP client for the repository")
            server = self.file_server
            digest = await asyncio.to_thread(self.repo.md5, upload)
            unchanged = False
            try:
                await server.fetch(location.host, location.port, rev2, old)
            except RemoteFileError as error:
                if not error.missing:
                    raise
            else:
                # the server's REV2 equal to the upload: nothing to rotate (REV1 stays)
                unchanged = await asyncio.to_thread(_md5_of_file, old) == digest
                if not unchanged:
                    await server.upload(location.host, location.port, rev1, old)
            if unchanged:
                size = await asyncio.to_thread(self.repo.size, upload)
            else:
                size = await server.upload(location.host, location.port, rev2, staging)
        except (OSError, TimeoutError, RemoteFileError) as error:
            self._backup_failed(device, f"repository: {error}", str(error))
            return False
        finally:
            await asyncio.to_thread(_unlink, old)
        await asyncio.to_thread(self.repo.delete, upload)
        port = "" if location.port == 69 else f":{location.port}"
        url = f"tftp://{location.host}{port}/{rev2}"
        latest = self.state.latest_backup(device.mac)
        if unchanged and latest is not None and latest.checksum == digest and latest.file == url:
            self.state.remove_pending_backup(device.mac)
        else:
            self.state.record_backup(device.mac, device.hostname, url, digest, size)
        self.events.smi(
            "SMI_DIRECTOR_BACKUP_SUCCESS",
            client_ip=device.ip,
            repository=self.settings.backup.location,
        )
        return True

    def remove_leftovers(self) -> list[str]:
        """(thread, at start) Files an interrupted backup left in the backup repository: the
        staging uploads (``….upload``, ``….upload.rev2``) and the TFTP server's partial
        uploads (``.….part``). No upload is under way at start, so none of them is needed; a
        backup that did not finish is pending and is asked for again."""
        removed: list[str] = []
        folder = self.repo.resolve(self.backup_dir) if self.backup_dir else self.repo.root
        if not folder.is_dir():
            return removed
        for path in sorted(folder.iterdir()):
            name = path.name
            stale = name.endswith((BACKUP_UPLOAD_SUFFIX, f"{BACKUP_UPLOAD_SUFFIX}.rev2")) or (
                name.startswith(".") and name.endswith(".part")
            )
            if stale and path.is_file() and not path.is_symlink():
                try:
                    path.unlink()
                except OSError as error:
                    log.warning("backup repository: cannot remove %s: %s", path, error)
                    continue
                removed.append(name)
        return removed

    def _backup_path(self, device: Device, hostname: str | None = None) -> str | None:
        """The repository path of a client's REV2 when it is there (or its URL on a
        third-party server, trusted to be there)."""
        record = self.state.latest_backup(device.mac)
        if record is not None and record.file.startswith("tftp://"):
            return record.file
        name = hostname or (record.hostname if record else device.hostname)
        if not name:
            return None
        try:
            path = f"{self.backup_dir}/{backup_name(name, device.mac, 2)}".lstrip("/")
        except DomainError:
            return None
        return path if self.repo.exists(path) else None


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)


def _md5_of_file(path: Path) -> str:
    with path.open("rb") as stream:
        return md5_of(stream)
