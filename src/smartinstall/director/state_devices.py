"""The director database's entries: clients, stacks and the director itself, indexed by MAC
(any stack member's too), device number, IP address, CDP neighbour and upstream switch.
Part of :class:`smartinstall.director.state.DirectorState`."""

from __future__ import annotations

import datetime as dt
import heapq
import logging
from collections.abc import Iterable
from dataclasses import replace

from smartinstall.director.state_tables import (
    StateError,
    Tables,
    _aware,
    _Entry,
    _mac,
    _macs,
)
from smartinstall.domain.devices import (
    Device,
    DeviceType,
    Health,
    JoinState,
    Progress,
    UpgradeKind,
    UpgradeStatus,
)
from smartinstall.store.port import (
    DeviceRemoved,
    DeviceSaved,
    PendingBackupRemoved,
    ReplacementRemoved,
)
from smartinstall.store.records import DIRECTOR_NUMBER, DeviceRecord

log = logging.getLogger("smartinstall.director.state")


class Devices(Tables):
    """The device entries of the director's state."""

    # --- indexes --------------------------------------------------------------------------

    def _index(self, entry: _Entry) -> None:
        device = entry.device
        self._entries[entry.key] = entry
        for mac in _macs(device):
            self._by_mac[mac] = entry.key
        self._by_number[device.number] = entry.key
        if device.number > self._highest_number:
            self._highest_number = device.number
        if device.ip:
            self._by_ip.setdefault(device.ip, set()).add(entry.key)
        for neighbor in device.neighbors:
            self._reporters.setdefault(neighbor.mac, set()).add(entry.key)
        if device.upstream_mac:
            self._downstream.setdefault(device.upstream_mac, set()).add(entry.key)

    def _unindex(self, entry: _Entry) -> None:
        device = entry.device
        for mac in _macs(device):
            if self._by_mac.get(mac) == entry.key:
                del self._by_mac[mac]
        if self._by_number.get(device.number) == entry.key:
            del self._by_number[device.number]
        _discard(self._by_ip, device.ip, entry.key)
        for neighbor in device.neighbors:
            _discard(self._reporters, neighbor.mac, entry.key)
        _discard(self._downstream, device.upstream_mac, entry.key)

    def _lowest_free_number(self) -> int:
        while self._free_numbers:
            number = heapq.heappop(self._free_numbers)
            if number not in self._by_number and number >= 1:
                return number
        return max(self._highest_number, DIRECTOR_NUMBER) + 1

    def _free_number(self, number: int) -> None:
        if number >= 1:
            heapq.heappush(self._free_numbers, number)

    def _save(self, entry: _Entry, device: Device, now: dt.datetime | None = None) -> Device:
        """Replace an entry's device (same key) and persist it."""
        self._unindex(entry)
        entry.device = device
        entry.updated_at = now or self._now()
        self._index(entry)
        self._emit(DeviceSaved(entry.record()))
        return device

    def _entry_by_mac(self, mac: str) -> _Entry | None:
        key = self._by_mac.get(_mac(mac))
        return self._entries.get(key) if key is not None else None

    # --- devices: reads -------------------------------------------------------------------

    def device_by_mac(self, mac: str) -> Device | None:
        """The entry of a device or stack (any member's MAC finds the stack)."""
        entry = self._entry_by_mac(mac)
        return entry.device if entry else None

    def device_by_number(self, number: int) -> Device | None:
        key = self._by_number.get(number)
        return self._entries[key].device if key is not None else None

    def device_by_ip(self, ip: str) -> Device | None:
        """The entry with this IP address (the lowest number if several claim it)."""
        keys = self._by_ip.get(ip.strip())
        if not keys:
            return None
        return min((self._entries[k].device for k in keys), key=lambda d: d.number)

    def reporters_of(self, mac: str) -> list[Device]:
        """The entries whose CDP table lists ``mac`` (the switches it hangs off), by number."""
        keys = self._reporters.get(_mac(mac), set())
        return sorted((self._entries[k].device for k in keys), key=lambda d: d.number)

    def devices_with_health(self, health: Health) -> list[Device]:
        """The entries of one health status (Inactive ones: candidates for a replacement)."""
        found = [e.device for e in self._entries.values() if e.device.health is health]
        return sorted(found, key=lambda d: d.number)

    def hops_of(self, macs: Iterable[str]) -> frozenset[int]:
        """The hop counts of the entries with these MACs (those that have one)."""
        hops = set()
        for mac in macs:
            entry = self._entry_by_mac(mac)
            if entry is not None and entry.device.hop:
                hops.add(entry.device.hop)
        return frozenset(hops)

    def devices(self) -> list[Device]:
        """Every entry, by device number (the director, number 0, first)."""
        return [self._entries[self._by_number[n]].device for n in sorted(self._by_number)]

    def device_records(self) -> list[DeviceRecord]:
        return [self._entries[self._by_number[n]].record() for n in sorted(self._by_number)]

    def device_record(self, mac: str) -> DeviceRecord | None:
        entry = self._entry_by_mac(mac)
        return entry.record() if entry else None

    def __len__(self) -> int:
        return len(self._entries)

    def stale_devices(self, before: dt.datetime) -> list[Device]:
        """Active clients with no keepalive since ``before`` (never one: since first seen). A
        non-Smart-Install (legacy) client sends no keepalives: its silence says nothing of its
        health."""
        limit = _aware(before)
        found = [
            e.device
            for e in self._entries.values()
            if not e.device.is_director
            and e.device.device_type is not DeviceType.NON_SMART_INSTALL
            and e.device.health is Health.ACTIVE
            and (e.last_keepalive or e.first_seen) < limit
        ]
        return sorted(found, key=lambda d: d.number)

    # --- devices: changes -----------------------------------------------------------------

    def upsert_device(self, device: Device) -> Device:
        """Add or update a device and return it as stored, with its device number.

        The entry is found by the device's MAC or any of its stack members' MACs (a switch
        that joined a stack is the stack's entry now); ``device.number`` is ignored: an
        existing entry keeps its number, a new one gets the lowest free number (the
        director 0). Entries of other MACs that the update makes members of this stack are
        merged into it (the lowest number stays).
        """
        member_macs = [m.mac for m in device.members]
        if len(set(member_macs)) != len(member_macs):
            raise StateError(f"stack {device.mac}: two members with the same MAC")
        now = self._now()
        macs = _macs(device)
        found = {self._by_mac[m] for m in macs if m in self._by_mac}
        if device.is_director:
            found |= {e.key for e in self._entries.values() if e.device.is_director}
        entries = sorted(
            (self._entries[k] for k in found),
            key=lambda e: (not e.device.is_director, e.device.number),
        )
        entry = entries[0] if entries else None
        for other in entries[1:]:
            log.info(
                "director-db: entry %d (%s) merged into entry %d (%s)",
                other.device.number,
                other.device.mac,
                entries[0].device.number,
                device.mac,
            )
            self._remove_entry(other)
        if entry is None:
            number = DIRECTOR_NUMBER if device.is_director else self._lowest_free_number()
            entry = _Entry(self._next_key, device, None, False, now, now)
            self._next_key += 1
            log.debug("director-db: new entry %d for %s", number, device.mac)
            stored = replace(device, number=number)
            old_ip = ""
        else:
            number = entry.device.number
            if device.is_director and number != DIRECTOR_NUMBER:
                # A client that becomes the director takes the director's number (no other
                # entry can hold 0: only the director gets it).
                log.info("director-db: entry %d (%s) is the director now", number, device.mac)
                self._free_number(number)
                number = DIRECTOR_NUMBER
            old_ip = entry.device.ip
            stored = replace(device, number=number) if device.number != number else device
        self._save(entry, stored, now)
        if stored.ip and stored.ip != old_ip:
            # The devices behind this one learnt its address when they were first seen; one
            # that asked DHCP before this one had an address gets it now.
            for mac in macs:
                for key in list(self._downstream.get(mac, ())):
                    behind = self._entries[key]
                    if behind.device.upstream_ip != stored.ip:
                        self._save(behind, replace(behind.device, upstream_ip=stored.ip), now)
        return stored

    def update_device(self, mac: str, **changes: object) -> Device:
        """Change some fields of a stored device (``Device`` field names)."""
        if "number" in changes or "mac" in changes:
            raise StateError("the device number and MAC of an entry do not change")
        current = self.device_by_mac(mac)
        if current is None:
            raise StateError(f"no director-db entry for {mac}")
        return self.upsert_device(current.with_changes(**changes))

    def _remove_entry(self, entry: _Entry) -> None:
        self._unindex(entry)
        del self._entries[entry.key]
        self._free_number(entry.device.number)
        self._emit(DeviceRemoved(entry.key))

    def _forget(self, entry: _Entry) -> None:
        macs = _macs(entry.device)
        for mac in macs:
            if self._pending.pop(mac, None) is not None:
                self._emit(PendingBackupRemoved(mac))
        for new_mac, replacement in list(self._replacements.items()):
            if new_mac in macs or replacement.old_mac in macs:
                del self._replacements[new_mac]
                self._emit(ReplacementRemoved(new_mac))
        self._remove_entry(entry)

    def clear_device(self, number: int) -> Device | None:
        """``clear vstack director-db entry n``: remove the entry (a whole stack) and its
        pending backups and replacements; its backup records stay. Returns what was removed."""
        key = self._by_number.get(number)
        if key is None:
            return None
        entry = self._entries[key]
        self._forget(entry)
        log.info("director-db: entry %d (%s) cleared", number, entry.device.mac)
        return entry.device

    def clear_all(self, keep_director: bool = True) -> int:
        """``clear vstack director-db``: remove every client entry; the number removed."""
        victims = [
            e for e in self._entries.values() if not (keep_director and e.device.is_director)
        ]
        for entry in victims:
            self._forget(entry)
        log.info("director-db: %d entries cleared", len(victims))
        return len(victims)

    def _change(self, mac: str, **changes: object) -> Device:
        entry = self._entry_by_mac(mac)
        if entry is None:
            raise StateError(f"no director-db entry for {mac}")
        return self._save(entry, replace(entry.device, **changes))  # type: ignore[arg-type]

    def set_health(self, mac: str, health: Health) -> Device:
        return self._change(mac, health=health)

    def record_keepalive(self, mac: str, at: dt.datetime | None = None) -> Device:
        """A keepalive arrived: the entry is Active and ``last_keepalive`` is ``at`` (now)."""
        entry = self._entry_by_mac(mac)
        if entry is None:
            raise StateError(f"no director-db entry for {mac}")
        entry.last_keepalive = _aware(at) if at else self._now()
        device = entry.device
        if device.health is not Health.ACTIVE:
            device = replace(device, health=Health.ACTIVE)
        return self._save(entry, device)

    def set_join_state(
        self,
        mac: str,
        state: JoinState,
        removed_from_hold: bool | None = None,
        pinned: bool | None = None,
    ) -> Device:
        """The join-window state; ``removed_from_hold`` records ``on-hold-clients remove``,
        ``pinned`` that the operator set it (each left unchanged when None)."""
        entry = self._entry_by_mac(mac)
        if entry is None:
            raise StateError(f"no director-db entry for {mac}")
        if removed_from_hold is not None:
            entry.removed_from_hold = removed_from_hold
        if pinned is not None:
            entry.join_pinned = pinned
        return self._save(entry, replace(entry.device, join_state=state))

    def set_upgrade(self, mac: str, kind: UpgradeKind, progress: Progress) -> Device:
        entry = self._entry_by_mac(mac)
        if entry is None:
            raise StateError(f"no director-db entry for {mac}")
        upgrade: UpgradeStatus = replace(entry.device.upgrade, **{kind.value: progress})
        return self._save(entry, replace(entry.device, upgrade=upgrade))

    def set_device_type(self, mac: str, device_type: DeviceType) -> Device:
        return self._change(mac, device_type=device_type)


def _discard(index: dict[str, set[int]], key: str, value: int) -> None:
    if not key:
        return
    keys = index.get(key)
    if keys is not None:
        keys.discard(value)
        if not keys:
            del index[key]
