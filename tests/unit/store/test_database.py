"""The director's records: the in-memory state owner and the SQL store behind it.

Every test changes a :class:`DirectorState` whose change records go to a real store (a
temporary SQLite file here); ``reopen`` commits them and loads a fresh state from the database,
as a restarted director does, and after every test the database is checked to hold exactly what
the state holds. ``tests/integration/test_store_postgresql.py`` runs these same tests against a
throwaway PostgreSQL cluster by overriding the ``database_url`` fixture.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from smartinstall.director.state import DirectorState
from smartinstall.director.state import StateError as DatabaseError
from smartinstall.domain.backups import NewcomerFacts, ReplacementKind, decide_replacement
from smartinstall.domain.devices import (
    Device,
    DeviceType,
    Health,
    JoinState,
    Neighbor,
    Progress,
    StackMember,
    UpgradeKind,
    UpgradeStatus,
)
from smartinstall.domain.downloads import DownloadMethod, DownloadStatus
from smartinstall.store.database import default_url
from smartinstall.store.port import Change, coalesce
from smartinstall.store.records import BACKUP_HISTORY, MAX_DOWNLOADS
from smartinstall.store.sqlstore import SqlStore

T0 = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC)
DIRECTOR_MAC = "0018.7363.4200"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> dt.datetime:
        self.now += dt.timedelta(seconds=seconds)
        return self.now


class Persisted(DirectorState):
    """A state whose change records are applied to a SQL store (one batch per ``commit``)."""

    def __init__(self, url: str, clock: Clock) -> None:
        self.pending: list[Change] = []
        super().__init__(self.pending.append, clock=clock)
        self.store = SqlStore(url)
        self.restore(self.store.load())

    def commit(self) -> None:
        self.store.apply(coalesce(self.pending))
        self.pending.clear()

    def close(self) -> None:
        self.commit()
        self.store.close()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return default_url(tmp_path)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _everything(state: DirectorState) -> tuple[object, ...]:
    return (
        state.device_records(),
        state.downloads(),
        state.backups(),
        state.pending_backups(),
        state.replacements(),
        {k: state.get_state(k) for k in ("k", "join-window")},
    )


@pytest.fixture
def reopen(database_url: str, clock: Clock) -> Iterator[Callable[[], Persisted]]:
    """Open the database again, as a restarted director does (the old one is committed and
    closed). At the end, the database must hold exactly what the last state held."""
    opened: list[Persisted] = []

    def open_again() -> Persisted:
        for old in opened:
            if old.store is not None:
                old.close()
        fresh = Persisted(database_url, clock)
        opened.append(fresh)
        return fresh

    yield open_again
    if opened:
        last = opened[-1]
        last.close()
        again = Persisted(database_url, clock)
        try:
            assert _everything(again) == _everything(last)
        finally:
            again.close()


@pytest.fixture
def db(reopen: Callable[[], Persisted]) -> Persisted:
    return reopen()


def client(mac: str, **fields: object) -> Device:
    return Device(0, mac, **fields)  # type: ignore[arg-type]


FULL = Device(
    number=99,  # ignored: the database numbers entries
    mac="001d.71ba.f780",
    pid="WS-C2960PD-8TT-L",
    serial="FOC1138Z6P7",
    version="12.2(0.0.242)DEV",
    image="C2960-LANBASEK9-M",
    ip="1.1.1.1",
    hostname="2960pd-47",
    hop=1,
    upstream_mac="0023.5e32.3780",
    upstream_ip="1.1.1.163",
    upstream_port="Gig 1/0/1",
    neighbors=(
        Neighbor(
            "Fas 0/7", "0023.5e32.3780", "3750e-163-smi", "1.1.1.163", "Gig 1/0/1", "WS-C3750E"
        ),
        Neighbor("Fas 0/8", "0023.5e32.3781"),
    ),
    supervisor="",
    device_type=DeviceType.SMART_INSTALL,
    health=Health.ACTIVE,
    join_state=JoinState.HOLD,
    upgrade=UpgradeStatus(Progress.DONE, Progress.IN_PROGRESS, Progress.FAILED),
    smi_version=1,
    capability="Network derived SMI management VLAN supported",
)


# --- device entries ------------------------------------------------------------------------------


def test_every_field_of_show_vstack_status_detail_round_trips(db: Persisted) -> None:
    stored = db.upsert_device(FULL)
    assert stored.number == 1
    assert stored == FULL.with_changes(number=1)
    assert db.device_by_mac("001D.71BA.F780") == stored
    assert db.device_by_number(1) == stored
    assert db.device_by_ip("1.1.1.1") == stored
    assert stored.status() == "S A h I c F"


def test_the_director_is_number_0_and_clients_count_from_1(db: Persisted) -> None:
    director = db.upsert_device(client(DIRECTOR_MAC, is_director=True, ip="127.0.0.1"))
    first = db.upsert_device(client("0000.0000.0001"))
    second = db.upsert_device(client("0000.0000.0002"))
    assert (director.number, first.number, second.number) == (0, 1, 2)
    assert [d.number for d in db.devices()] == [0, 1, 2]
    assert db.devices()[0].status() == "Director"


def test_a_number_is_stable_until_the_entry_is_cleared(db: Persisted) -> None:
    macs = [f"0000.0000.000{i}" for i in range(1, 6)]
    numbers = {mac: db.upsert_device(client(mac)).number for mac in macs}
    assert sorted(numbers.values()) == [1, 2, 3, 4, 5]
    # Updates (new IP, hostname, state) never renumber.
    for mac in reversed(macs):
        updated = db.upsert_device(client(mac, ip="10.0.0.9", hostname="x", hop=2))
        assert updated.number == numbers[mac]
    cleared = db.clear_device(2)
    assert cleared is not None and cleared.mac == macs[1]
    assert db.device_by_number(2) is None
    assert db.clear_device(2) is None
    assert {d.mac: d.number for d in db.devices()} == {m: n for m, n in numbers.items() if n != 2}
    # IOS hands out the lowest free number: the freed 2 goes to the next newcomer, then 6.
    assert db.upsert_device(client("0000.0000.00aa")).number == 2
    assert db.upsert_device(client("0000.0000.00bb")).number == 6
    # The cleared client coming back is a new entry.
    assert db.upsert_device(client(macs[1])).number == 7


def test_a_stack_has_one_number_and_clearing_it_clears_every_member(db: Persisted) -> None:
    members = (
        StackMember(1, "WS-C3750E-24TD", "0024.5111.0900"),
        StackMember(2, "WS-C3750E-24TD", "0024.5111.0a00"),
        StackMember(3, "WS-C3750G-24TS", "0024.5111.0b00"),
    )
    lone = db.upsert_device(client("0000.0000.0001"))
    stack = db.upsert_device(client("0024.5111.0900", members=members, pid="WS-C3750E-24TD"))
    assert (lone.number, stack.number) == (1, 2)
    assert stack.is_stack and stack.members == members
    for member in members:
        found = db.device_by_mac(member.mac)
        assert found is not None and found.number == 2
    cleared = db.clear_device(2)
    assert cleared is not None and cleared.members == members
    for member in members:
        assert db.device_by_mac(member.mac) is None
    assert [d.number for d in db.devices()] == [1]


def test_a_switch_that_joins_a_stack_is_merged_into_the_stack_entry(db: Persisted) -> None:
    first = db.upsert_device(client("0000.0000.0001", ip="10.0.0.1"))
    second = db.upsert_device(client("0000.0000.0002", ip="10.0.0.2"))
    assert (first.number, second.number) == (1, 2)
    stack = db.upsert_device(
        client(
            "0000.0000.0002",
            members=(
                StackMember(1, "WS-C2960X-48TS-L", "0000.0000.0002"),
                StackMember(2, "WS-C2960X-48TS-L", "0000.0000.0001"),
            ),
        )
    )
    assert stack.number == 1  # the lower number of the merged entries stays
    assert [d.number for d in db.devices()] == [1]
    # Members shrink: the member that left is free to become its own entry again.
    smaller = db.upsert_device(
        client("0000.0000.0002", members=(StackMember(1, "WS-C2960X-48TS-L", "0000.0000.0002"),))
    )
    assert smaller.number == 1 and len(smaller.members) == 1
    assert db.upsert_device(client("0000.0000.0001")).number == 2


def test_neighbours_and_members_are_replaced_by_an_update(db: Persisted) -> None:
    db.upsert_device(FULL)
    updated = db.upsert_device(FULL.with_changes(neighbors=(Neighbor("Gi0/1", "0000.1111.2222"),)))
    assert [n.mac for n in updated.neighbors] == ["0000.1111.2222"]
    assert db.device_by_number(1) == updated


def test_lookups_that_a_dhcp_storm_makes_read_only_what_they_need(db: Persisted) -> None:
    # reporters_of (the CDP upstream of a newcomer), devices_with_health (replacement
    # candidates) and hops_of (nearer hops still busy) answer from indexes.
    a = db.upsert_device(
        Device(
            0,
            "0050.5600.0a01",
            hop=1,
            ip="10.0.0.1",
            neighbors=(Neighbor("GigabitEthernet1/0/2", "0050.5600.0a09"),),
        )
    )
    b = db.upsert_device(
        Device(
            0,
            "0050.5600.0a02",
            hop=2,
            neighbors=(
                Neighbor("GigabitEthernet1/0/3", "0050.5600.0a09"),
                Neighbor("Gi1/0/4", "0050.5600.0a08"),
            ),
        )
    )
    db.upsert_device(Device(0, "0050.5600.0a03", hop=3))
    db.set_health(b.mac, Health.INACTIVE)
    assert [d.mac for d in db.reporters_of("0050.5600.0a09")] == [a.mac, b.mac]
    assert [d.mac for d in db.reporters_of("0050.5600.0a08")] == [b.mac]
    assert db.reporters_of("0050.5600.0aff") == []
    assert [d.mac for d in db.devices_with_health(Health.INACTIVE)] == [b.mac]
    assert db.hops_of({a.mac, b.mac, "0050.5600.0aff"}) == frozenset({1, 2})
    assert db.hops_of(set()) == frozenset()


def test_a_device_behind_one_without_an_address_gets_its_address_later(
    db: Persisted,
) -> None:
    # A hop-2 switch can ask DHCP while its upstream switch is still without an address: its
    # upstream IP (show vstack status detail, connectivity groups) is filled in when the
    # upstream switch's address becomes known, and follows it when it changes.
    upstream = db.upsert_device(Device(0, "0050.5600.0010", hop=1))
    behind = db.upsert_device(
        Device(0, "0050.5600.0020", hop=2, upstream_mac=upstream.mac, upstream_port="Gi1/0/2")
    )
    assert behind.upstream_ip == ""
    db.update_device(upstream.mac, ip="10.0.0.10")
    assert db.device_by_mac(behind.mac).upstream_ip == "10.0.0.10"  # type: ignore[union-attr]
    db.update_device(upstream.mac, ip="10.0.0.11")
    again = db.device_by_mac(behind.mac)
    assert again is not None and (again.upstream_ip, again.upstream_port) == (
        "10.0.0.11",
        "GigabitEthernet1/0/2",
    )
    unrelated = db.upsert_device(Device(0, "0050.5600.0030", hop=1, upstream_ip="10.9.9.9"))
    assert db.device_by_mac(unrelated.mac).upstream_ip == "10.9.9.9"  # type: ignore[union-attr]


def test_update_device_changes_fields_but_not_number_or_mac(db: Persisted) -> None:
    db.upsert_device(FULL)
    changed = db.update_device(
        FULL.mac, hostname="renamed", device_type=DeviceType.NON_SMART_INSTALL
    )
    assert (changed.number, changed.hostname, changed.status()[0]) == (1, "renamed", "N")
    with pytest.raises(DatabaseError):
        db.update_device(FULL.mac, number=5)
    with pytest.raises(DatabaseError):
        db.update_device("0000.0000.0fff", hostname="nobody")


def test_clear_all_keeps_the_director_entry(db: Persisted) -> None:
    db.upsert_device(client(DIRECTOR_MAC, is_director=True))
    for i in range(1, 4):
        db.upsert_device(client(f"0000.0000.000{i}"))
    assert db.clear_all() == 3
    assert [d.number for d in db.devices()] == [0]
    assert db.upsert_device(client("0000.0000.0009")).number == 1
    assert db.clear_all(keep_director=False) == 2
    assert db.devices() == []


def test_the_director_entry_follows_a_new_director_mac(db: Persisted) -> None:
    db.upsert_device(client(DIRECTOR_MAC, is_director=True))
    moved = db.upsert_device(client("0018.7363.4299", is_director=True))
    assert moved.number == 0
    assert [d.mac for d in db.devices()] == ["0018.7363.4299"]


def test_unknown_and_invalid_macs(db: Persisted) -> None:
    assert db.device_by_mac("0000.0000.0042") is None
    assert db.device_by_number(42) is None
    assert db.device_by_ip("10.9.9.9") is None
    with pytest.raises(DatabaseError):
        db.device_by_mac("not-a-mac")
    with pytest.raises(DatabaseError):
        db.set_health("0000.0000.0042", Health.INACTIVE)


# --- health, join state, upgrades ----------------------------------------------------------------


def test_keepalives_and_stale_clients(db: Persisted, clock: Clock) -> None:
    db.upsert_device(client(DIRECTOR_MAC, is_director=True))
    a = db.upsert_device(client("0000.0000.0001"))
    b = db.upsert_device(client("0000.0000.0002"))
    clock.advance(60)
    db.record_keepalive(a.mac)
    record = db.device_record(a.mac)
    assert record is not None and record.last_keepalive == T0 + dt.timedelta(seconds=60)
    assert record.first_seen == T0
    # Three missed 60-second periods: b never sent one (counted from first seen), a did.
    clock.advance(150)
    stale = db.stale_devices(clock.now - dt.timedelta(seconds=180))
    assert [d.mac for d in stale] == [b.mac]
    inactive = db.set_health(b.mac, Health.INACTIVE)
    assert inactive.status() == "P I a"
    assert db.stale_devices(clock.now) == [db.device_by_mac(a.mac)]
    # The inactive entry is kept; a keepalive makes it active again.
    assert db.device_by_number(b.number) == inactive
    assert db.record_keepalive(b.mac, at=clock.now).health is Health.ACTIVE


def test_join_state_and_the_removed_from_hold_flag(db: Persisted) -> None:
    mac = db.upsert_device(client("0000.0000.0001")).mac
    held = db.set_join_state(mac, JoinState.HOLD)
    assert held.join_state is JoinState.HOLD
    db.set_join_state(mac, JoinState.HOLD, removed_from_hold=True)
    record = db.device_record(mac)
    assert record is not None and record.removed_from_hold
    db.set_join_state(mac, JoinState.ALLOWED)  # None leaves the flag as it is
    record = db.device_record(mac)
    assert record is not None and record.removed_from_hold
    assert record.device.join_state is JoinState.ALLOWED


def test_upgrade_progress_gives_the_status_letters(db: Persisted) -> None:
    mac = db.upsert_device(client("0000.0000.0001", device_type=DeviceType.SMART_INSTALL)).mac
    db.set_upgrade(mac, UpgradeKind.IMAGE, Progress.IN_PROGRESS)
    assert db.device_by_mac(mac).status() == "S A a i"  # type: ignore[union-attr]
    db.set_upgrade(mac, UpgradeKind.IMAGE, Progress.DONE)
    db.set_upgrade(mac, UpgradeKind.CONFIG, Progress.DONE)
    db.set_upgrade(mac, UpgradeKind.SCRIPT, Progress.FAILED)
    assert db.device_by_mac(mac).status() == "S A a I C F"  # type: ignore[union-attr]
    assert db.set_device_type(mac, DeviceType.NON_SMART_INSTALL).status() == "N A a I C F"


# --- download status -----------------------------------------------------------------------------


def test_download_entries_renumber_after_a_clear_as_in_the_guide(db: Persisted) -> None:
    # Guide, "clear vstack": three entries, entry 2 cleared, 0030.7870.0c30 becomes No 2.
    macs = ["0017.9570.c780", "0026.985b.bc80", "0030.7870.0c30"]
    ips = ["10.1.1.4", "10.1.1.6", "10.1.1.11"]
    entries = [
        db.add_download(m, DownloadMethod.ZERO_TOUCH, ip=ip)
        for m, ip in zip(macs, ips, strict=True)
    ]
    assert [e.number for e in entries] == [1, 2, 3]
    removed = db.clear_download(2)
    assert removed is not None and removed.mac == macs[1]
    shown = db.downloads()
    assert [(e.number, e.ip, e.mac) for e in shown] == [(1, ips[0], macs[0]), (2, ips[2], macs[2])]
    # The stable id still finds the entry that moved up.
    moved = db.download(entries[2].id)
    assert moved is not None and moved.number == 2
    assert db.clear_download(3) is None and db.clear_download(0) is None
    assert db.clear_downloads() == 2 and db.downloads() == []


def test_download_status_columns_reasons_and_times(db: Persisted, clock: Clock) -> None:
    entry = db.add_download(
        "001e.be67.3000",
        DownloadMethod.IMAGE_UPGRADE,
        ip="172.20.249.3",
        hostname="Switch",
        config=DownloadStatus.NOT_APPLICABLE,
    )
    assert (entry.image, entry.config, entry.script) == (
        DownloadStatus.NOT_STARTED,
        DownloadStatus.NOT_APPLICABLE,
        DownloadStatus.NOT_APPLICABLE,
    )
    assert not entry.finished
    clock.advance(5)
    up = db.update_download(entry.id, UpgradeKind.IMAGE, DownloadStatus.UPGRADING)
    assert up.image is DownloadStatus.UPGRADING and up.image_at is None
    clock.advance(30)
    done = db.update_download(entry.id, UpgradeKind.IMAGE, DownloadStatus.UPGRADED)
    assert done.image_at == T0 + dt.timedelta(seconds=35)
    assert done.downloaded_at(UpgradeKind.IMAGE) == done.image_at
    assert done.finished
    failed = db.update_download(
        entry.id, UpgradeKind.SCRIPT, DownloadStatus.FAILED, reason="script file not found"
    )
    assert failed.status(UpgradeKind.SCRIPT) is DownloadStatus.FAILED
    assert failed.reason(UpgradeKind.SCRIPT) == "script file not found"
    assert failed.reason(UpgradeKind.IMAGE) == ""
    latest = db.latest_download("001e.be67.3000")
    assert latest == failed
    moved = db.set_download_client(entry.id, ip="172.20.249.4", hostname="Renamed")
    assert (moved.ip, moved.hostname) == ("172.20.249.4", "Renamed")
    with pytest.raises(DatabaseError):
        db.update_download(entry.id + 100, UpgradeKind.IMAGE, DownloadStatus.FAILED)


def test_the_download_table_is_bounded_and_drops_finished_entries_first(
    db: Persisted,
) -> None:
    busy = db.add_download("0000.0000.0001", DownloadMethod.ZERO_TOUCH)  # never finishes
    for i in range(MAX_DOWNLOADS - 1):
        db.add_download(
            f"0000.0001.{i:04x}",
            DownloadMethod.ON_DEMAND,
            image=DownloadStatus.UPGRADED,
            config=DownloadStatus.FAILED,
        )
    assert len(db.downloads()) == MAX_DOWNLOADS
    newest = db.add_download("0000.0000.0002", DownloadMethod.CONFIG_UPGRADE)
    shown = db.downloads()
    assert len(shown) == MAX_DOWNLOADS
    assert shown[0].id == busy.id  # the unfinished entry stays, the oldest finished one went
    assert shown[1].mac == "0000.0001.0001"
    assert shown[-1].id == newest.id and newest.number == MAX_DOWNLOADS


# --- backups, pending work, replacements ---------------------------------------------------------


def test_backup_records(db: Persisted, clock: Clock) -> None:
    mac = "001d.71ba.f780"
    assert db.latest_backup(mac) is None
    first = db.record_backup(
        mac,
        "2960pd-47",
        "flash:/vstack/2960pd-47-001d.71ba.f780.REV2",
        "426154bfafe1425f527621dc8b647c38",
        size=1234,
    )
    assert first.checksum == "426154BFAFE1425F527621DC8B647C38" and first.taken_at == T0
    clock.advance(60)
    second = db.record_backup(
        mac,
        "2960pd-47",
        "flash:/vstack/2960pd-47-001d.71ba.f780.REV2",
        "00000000000000000000000000000001",
    )
    assert db.latest_backup(mac) == second
    assert db.backups(mac) == [second, first]
    with pytest.raises(DatabaseError):
        db.record_backup(mac, "h", "f", "not-md5")


def test_backup_history_is_bounded(db: Persisted, clock: Clock) -> None:
    for i in range(BACKUP_HISTORY + 5):
        clock.advance(1)
        db.record_backup("0000.0000.0001", "h", f"f{i}", f"{i:032X}")
    db.record_backup("0000.0000.0002", "g", "other", "F" * 32)
    kept = db.backups("0000.0000.0001")
    assert len(kept) == BACKUP_HISTORY
    assert kept[0].file == f"f{BACKUP_HISTORY + 4}"
    assert len(db.backups()) == BACKUP_HISTORY + 1


def test_a_pending_backup_waits_until_the_backup_is_taken(db: Persisted) -> None:
    mac = "0000.0000.0001"
    db.add_pending_backup(mac, "connection lost")
    again = db.add_pending_backup(mac, "connection refused")
    assert (again.attempts, again.reason) == (2, "connection refused")
    assert [p.mac for p in db.pending_backups()] == [mac]
    db.record_backup(mac, "h", "f", "A" * 32)
    assert db.pending_backups() == []
    db.add_pending_backup(mac, "timeout")
    assert db.remove_pending_backup(mac) and not db.remove_pending_backup(mac)


def test_a_replacement_in_progress_is_recorded_per_branch(db: Persisted) -> None:
    old = db.upsert_device(FULL.with_changes(health=Health.INACTIVE))
    newcomer = NewcomerFacts("001d.71ba.0001", old.pid, old.upstream_mac, "", "Gi1/0/1")
    decision = decide_replacement(newcomer, db.devices())
    assert decision.kind is ReplacementKind.REPLACEMENT and decision.replaced == old
    started = db.start_replacement(newcomer.mac, old, "vstack/2960pd-47-001d.71ba.f780.REV2")
    assert started.old_number == 1 and started.upstream_port == old.upstream_port
    assert db.replacement_in_progress(upstream_mac=old.upstream_mac)
    assert not db.replacement_in_progress(upstream_mac="0000.0000.0fff")
    assert db.replacement_in_progress(upstream_ip="1.1.1.163")
    assert not db.replacement_in_progress()
    assert db.replacements() == [started]
    assert db.finish_replacement(newcomer.mac) == started
    assert db.finish_replacement(newcomer.mac) is None


def test_clearing_an_entry_drops_its_pending_work_but_keeps_backups(db: Persisted) -> None:
    old = db.upsert_device(FULL.with_changes(health=Health.INACTIVE))
    db.add_pending_backup(old.mac, "connection lost")
    db.start_replacement("001d.71ba.0001", old)
    db.record_backup(old.mac, old.hostname, "f", "B" * 32)
    db.add_pending_backup(old.mac, "connection lost")
    db.clear_device(old.number)
    assert db.pending_backups() == [] and db.replacements() == []
    assert db.latest_backup(old.mac) is not None


def test_named_state(db: Persisted) -> None:
    assert db.get_state("join-window") is None and db.get_state("x", "d") == "d"
    db.set_state("join-window", '{"closed": true}')
    db.set_state("join-window", '{"closed": false}')
    assert db.get_state("join-window") == '{"closed": false}'
    assert db.delete_state("join-window") and not db.delete_state("join-window")


# --- restart, durability settings, threads -------------------------------------------------------


def test_everything_survives_a_restart(
    db: Persisted, reopen: Callable[[], Persisted], clock: Clock
) -> None:
    db.upsert_device(client(DIRECTOR_MAC, is_director=True))
    stored = db.upsert_device(FULL)
    db.record_keepalive(FULL.mac)
    db.set_join_state(FULL.mac, JoinState.HOLD, removed_from_hold=True)
    entry = db.add_download(FULL.mac, DownloadMethod.ZERO_TOUCH, ip=FULL.ip)
    db.update_download(entry.id, UpgradeKind.IMAGE, DownloadStatus.FAILED, reason="timeout")
    backup = db.record_backup(FULL.mac, "2960pd-47", "flash:/vstack/x.REV2", "C" * 32)
    db.add_pending_backup("0000.0000.0077", "connection lost")
    replacement = db.start_replacement("001d.71ba.0001", stored)
    db.set_state("k", "v")
    before = (db.device_records(), db.downloads(), db.pending_backups())

    again = reopen()  # closes the first instance
    assert (again.device_records(), again.downloads(), again.pending_backups()) == before
    assert again.latest_backup(FULL.mac) == backup
    assert again.replacements() == [replacement]
    assert again.get_state("k") == "v"
    assert again.upsert_device(client("0000.0000.0099")).number == 2


def test_sqlite_runs_in_wal_mode_with_full_sync(tmp_path: Path) -> None:
    store = SqlStore(default_url(tmp_path / "data"))
    try:
        with store.engine.connect() as conn:
            assert (tmp_path / "data" / "director.db").is_file()
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        store.close()


def test_naive_times_are_refused(db: Persisted) -> None:
    mac = db.upsert_device(client("0000.0000.0001")).mac
    with pytest.raises(DatabaseError, match="naive"):
        db.record_keepalive(mac, at=dt.datetime(2026, 1, 1))
    with pytest.raises(DatabaseError, match="naive"):
        db.stale_devices(dt.datetime(2026, 1, 1))
    with pytest.raises(DatabaseError, match="naive"):
        db.record_backup(mac, "h", "f", "A" * 32, at=dt.datetime(2026, 1, 1))


def test_a_stack_with_a_repeated_member_mac_is_refused(db: Persisted) -> None:
    twice = (
        StackMember(1, "WS-C2960X-48TS-L", "0000.0000.0001"),
        StackMember(2, "WS-C2960X-48TS-L", "0000.0000.0001"),
    )
    with pytest.raises(DatabaseError):
        db.upsert_device(client("0000.0000.0001", members=twice))
    assert db.devices() == []


def test_a_batch_is_a_few_statements_whatever_its_size(db: Persisted) -> None:
    # A group commit of many changes sends the records of each table together: the number of
    # statements does not grow with the number of changes.
    db.commit()
    before = db.store.stats()
    for i in range(200):
        mac = f"0000.0010.{i:04x}"
        db.upsert_device(client(mac, neighbors=(Neighbor("Gi1/0/1", "0000.0020.0001"),)))
        db.add_download(mac, DownloadMethod.ZERO_TOUCH)
    db.commit()
    after = db.store.stats()
    assert after.commits - before.commits == 1
    assert after.statements - before.statements <= 8
    assert after.statements_off_writer == 0


def test_the_same_record_changed_twice_is_written_once(db: Persisted) -> None:
    mac = db.upsert_device(client("0000.0000.0001")).mac
    for _ in range(50):
        db.record_keepalive(mac)
    assert len(coalesce(db.pending)) == 1


def test_download_entry_renders_as_the_show_table(db: Persisted) -> None:
    from smartinstall.director.views import show_vstack_download_status

    entry = db.add_download("0050.5601.0001", DownloadMethod.ZERO_TOUCH, ip="10.0.0.5")
    db.update_download(entry.id, UpgradeKind.IMAGE, DownloadStatus.FAILED, reason="no space")
    row = db.downloads()[0].view()
    assert row.image_fail_reason == "no space" and row.client_ip == "10.0.0.5"
    text = show_vstack_download_status([row])
    assert "Total no of entries : 1" in text and "FAILED" in text
