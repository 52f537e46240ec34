"""The director's state, in memory: its one owner.

Every entry of the director database (clients, stacks, the director itself), the
download-status table, the backups index, pending backups, replacements in progress and small
named values live here, and only here, while the director runs. Every change goes through a
method of :class:`DirectorState`, which validates it, applies it to memory and hands a change
record (:mod:`smartinstall.store.port`) to its sink — the store writer, which persists it off
the event loop. Reads never touch the store: ``show`` commands, the DHCP decision and the TFTP
policy read these tables.

Only the director core (:mod:`smartinstall.director.core` and its parts) calls the changing
methods; views and commands read. A test walks the source to keep it so.

Device numbers (``DevNo``): the director is 0; a new client gets the lowest free number from 1
up, as IOS does. A number never changes while its entry exists; after ``clear vstack
director-db [entry n]`` the freed number goes to the next new client. A stack is one entry
(one number); any member's MAC finds it, and clearing the entry clears the whole stack.

The download-status table keeps a stable ``id`` per entry; the number shown (``No``) is the
entry's position, so the entries after a cleared one move up, as in the guide's example. The
table keeps at most :data:`MAX_DOWNLOADS` entries (the guide's entry range is 1 to 255): adding
one more drops the oldest finished entry (or the oldest entry if none has finished).
"""

from __future__ import annotations

import heapq

from smartinstall.director.state_devices import Devices
from smartinstall.director.state_records import Records
from smartinstall.director.state_tables import Sink, StateError, _Entry
from smartinstall.store.port import Snapshot

__all__ = ["DirectorState", "Sink", "StateError"]


class DirectorState(Devices, Records):
    """See the module docstring. ``sink`` receives every change record (None: memory only);
    ``clock`` gives the (aware) time of each change."""

    def restore(self, snapshot: Snapshot) -> None:
        """Load what the store kept (at start, before anything else); emits nothing."""
        for record in snapshot.devices:
            entry = _Entry(
                record.key,
                record.device,
                record.last_keepalive,
                record.removed_from_hold,
                record.first_seen,
                record.updated_at,
                record.join_pinned,
            )
            self._index(entry)
            self._next_key = max(self._next_key, record.key + 1)
        for number in range(1, self._highest_number):
            if number not in self._by_number:
                heapq.heappush(self._free_numbers, number)
        for download in sorted(snapshot.downloads, key=lambda e: e.id):
            self._downloads[download.id] = download
            self._latest_download[download.mac] = download.id
            self._next_download = max(self._next_download, download.id + 1)
        for backup in sorted(snapshot.backups, key=lambda b: (b.taken_at, b.id)):
            self._backups.setdefault(backup.mac, []).append(backup)
            self._next_backup = max(self._next_backup, backup.id + 1)
        self._pending = {p.mac: p for p in snapshot.pending}
        self._replacements = {r.new_mac: r for r in snapshot.replacements}
        self._named = dict(snapshot.state)
