"""The SMI Proxy database on flash (guide, "SMI Proxy Database"): ``flash:/vstack/
smi_pnp_proxy_db.txt``, read back when the proxy starts, written after every change, never
cleared.

The file is read and written on a thread (the director's loop never waits for the disk) and
atomically (a temporary file, fsync, rename): a crash leaves the old file or the new one. Writes
are coalesced: while one is running, later changes wait for the next, which writes the latest
database.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from smartinstall.domain.errors import DomainError
from smartinstall.domain.proxy import (
    PROXY_DB_NAME,
    ClientUdi,
    EntryState,
    ProxyDatabase,
    ProxyEntry,
    parse_proxy_db,
    render_proxy_db,
)
from smartinstall.ios.config import write_atomic

log = logging.getLogger(__name__)

MAX_DB_FILE = 4 * 1024 * 1024


def read_database(path: Path) -> ProxyDatabase:
    """The database a file holds (empty when there is none); skipped lines are logged."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_DB_FILE + 1)
    except FileNotFoundError:
        return ProxyDatabase()
    if len(data) > MAX_DB_FILE:
        log.error("%s is larger than %d bytes: only its beginning is read", path, MAX_DB_FILE)
        data = data[:MAX_DB_FILE]
    database, skipped = parse_proxy_db(data.decode("utf-8", errors="replace"))
    for message in skipped:
        log.warning("%s: %s (skipped)", path, message)
    return database


class ProxyDbFile:
    """The proxy database in memory (owned by the proxy, on the loop) and its file."""

    def __init__(self, flash: Path) -> None:
        self.path = flash / PROXY_DB_NAME
        self.database = ProxyDatabase()
        self._dirty = False
        self._writer: asyncio.Task[None] | None = None
        self.write_failures = 0

    async def load(self) -> int:
        """Read the file (on a thread); the number of entries."""
        self.database = await asyncio.to_thread(read_database, self.path)
        return len(self.database)

    def entries(self) -> list[ProxyEntry]:
        return list(self.database.entries.values())

    def add(self, mac: str, udi: ClientUdi) -> tuple[ProxyEntry, bool]:
        """The entry of ``mac``, added (and saved) when missing."""
        entry, added = self.database.add(mac, udi)
        if added:
            self.save_later()
        return entry, added

    def set_state(self, mac: str, state: EntryState) -> None:
        try:
            changed = self.database.set_state(mac, state)
        except DomainError:
            return
        if changed:
            self.save_later()

    def save_later(self) -> None:
        """Write the database soon (on a thread; one write at a time, the latest wins)."""
        self._dirty = True
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_loop())

    async def _write_loop(self) -> None:
        while self._dirty:
            self._dirty = False
            data = render_proxy_db(self.database).encode()
            try:
                await asyncio.to_thread(write_atomic, self.path, data)
            except OSError as error:
                self.write_failures += 1
                log.error("%s cannot be written: %s", self.path, error)

    async def flush(self) -> None:
        """Wait until the file holds the database as it is now."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)
        if self._dirty:
            self.save_later()
            assert self._writer is not None
            await asyncio.shield(self._writer)


__all__ = ["ProxyDbFile", "read_database"]
