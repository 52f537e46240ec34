"""Director identity in the store: every row belongs to a director id, so that many directors
share one database without touching each other's clients (docs/scale-out.md).

These run on a temporary SQLite file; ``tests/integration/test_fleet_postgresql.py`` runs them
again on a throwaway PostgreSQL cluster by overriding ``database_url``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import text

from smartinstall.director.fleet_store import open_director_store
from smartinstall.director.state import DirectorState
from smartinstall.domain.devices import Device, Neighbor, StackMember
from smartinstall.domain.downloads import DownloadMethod
from smartinstall.domain.errors import DomainError
from smartinstall.domain.fleet import validate_director_id
from smartinstall.ios.director_commands import replay_director_config
from smartinstall.store.database import (
    DatabaseError,
    create_director_engine,
    default_url,
    upgrade,
)
from smartinstall.store.identity import ID_FILE, DirectorIdentity, read_id, record, resolve
from smartinstall.store.port import Change, coalesce
from smartinstall.store.sqlstore import DatabaseReader, SqlStore

T0 = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return default_url(tmp_path / "db")


def _state(store: SqlStore) -> tuple[DirectorState, list[Change]]:
    pending: list[Change] = []
    state = DirectorState(pending.append, clock=lambda: T0)
    state.restore(store.load())
    return state, pending


def _provision(store: SqlStore, mac: str) -> None:
    """One client with a stack member and a neighbour, a download row, a backup and a pending
    backup, as a zero touch leaves them."""
    state, pending = _state(store)
    device = Device(
        0,
        mac,
        ip="10.0.0.5",
        hostname=f"sw-{mac[-4:]}",
        members=(StackMember(1, "WS-C2960X-48FPS-L", mac),),
        neighbors=(Neighbor("Gi1/0/1", "0000.0000.00aa", "up"),),
    )
    state.upsert_device(device)
    state.add_download(mac, DownloadMethod.ZERO_TOUCH, ip="10.0.0.5")
    state.record_backup(mac, device.hostname, f"flash:/vstack/{mac}.REV1", "A" * 32)
    state.set_state("join-window", "open")
    store.apply(coalesce(pending))


def test_two_directors_share_one_database_without_crossing(database_url: str) -> None:
    first = SqlStore(database_url, director_id="branch-1")
    second = SqlStore(database_url, director_id="branch-2")
    try:
        _provision(first, "0000.0000.0001")
        _provision(second, "0000.0000.0002")  # the same keys (entry 1, row 1, backup 1)
        one, two = first.load(), second.load()
        assert [r.device.mac for r in one.devices] == ["0000.0000.0001"]
        assert [r.device.mac for r in two.devices] == ["0000.0000.0002"]
        assert one.devices[0].key == two.devices[0].key == 1
        assert [d.mac for d in one.downloads] == ["0000.0000.0001"]
        assert [b.mac for b in two.backups] == ["0000.0000.0002"]
        assert one.devices[0].device.members[0].mac == "0000.0000.0001"
        assert two.devices[0].device.neighbors[0].device_id == "up"
        # removing an entry of one director leaves the other's entry with the same key
        state, pending = _state(first)
        state.clear_device(1)
        first.apply(coalesce(pending))
        assert first.load().devices == []
        assert [r.device.mac for r in second.load().devices] == ["0000.0000.0002"]
        assert second.load().devices[0].device.members  # its children were not cascaded away
        with DatabaseReader(database_url, "branch-2") as reader:
            assert [d.mac for d in reader.devices()] == ["0000.0000.0002"]
            assert [b.mac for b in reader.backups()] == ["0000.0000.0002"]
    finally:
        first.close()
        second.close()


def test_a_database_from_before_director_ids_is_claimed_by_its_director(
    database_url: str,
) -> None:
    engine = create_director_engine(database_url)
    try:
        upgrade(engine, "0004")
    finally:
        engine.dispose()
    old = SqlStore(database_url, migrate=False, director_id="")
    try:
        with old.engine.begin() as conn:  # rows as release 0004 wrote them
            conn.execute(
                text(
                    "INSERT INTO devices (id, number, mac, pid, serial, version, image, ip, "
                    "hostname, upstream_mac, upstream_ip, upstream_port, supervisor, "
                    "device_type, health, join_state, removed_from_hold, join_pinned, "
                    "image_progress, config_progress, script_progress, is_director, "
                    "capability, first_seen, updated_at) VALUES (7, 3, '0000.0000.0003', '', "
                    "'', '', '', '10.0.0.3', 'sw3', '', '', '', '', 'S', 'A', 'a', false, "
                    "false, 'done', 'none', 'none', false, '', '2026-11-27 00:00:00', "
                    "'2026-11-27 00:00:00')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO stack_members (device_id, number, pid, mac) "
                    "VALUES (7, 1, 'WS-C2960X-48FPS-L', '0000.0000.0003')"
                )
            )
    finally:
        old.close()
    mine = SqlStore(database_url, director_id="hq", claim=True)  # migrates, then claims
    try:
        (record,) = mine.load().devices
        assert (record.key, record.device.hostname) == (7, "sw3")
        assert [m.mac for m in record.device.members] == ["0000.0000.0003"]
        assert mine.records_of("") == 0
    finally:
        mine.close()
    late = SqlStore(database_url, director_id="late", claim=True)  # nothing left to claim
    try:
        assert late.load().devices == []
    finally:
        late.close()


def test_migrating_with_the_directors_id_fills_every_row(database_url: str) -> None:
    engine = create_director_engine(database_url)
    try:
        upgrade(engine, "0004")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO director_state (key, value, updated_at) "
                    "VALUES ('k', 'v', '2026-11-27 00:00:00')"
                )
            )
        upgrade(engine, director_id="branch-9")
        with engine.begin() as conn:
            assert conn.execute(text("SELECT director_id FROM director_state")).all() == [
                ("branch-9",)
            ]
    finally:
        engine.dispose()


def test_the_id_file_is_made_once_and_stays(tmp_path: Path) -> None:
    made = resolve(tmp_path, None)
    assert made.previous is None and not made.changed
    assert read_id(tmp_path) is None  # written once the database accepted it
    record(tmp_path, made)
    assert read_id(tmp_path) == made.director_id
    again = resolve(tmp_path, None)
    assert again == DirectorIdentity(made.director_id, made.director_id)  # stable
    named = resolve(tmp_path, "branch-17")
    assert named == DirectorIdentity("branch-17", made.director_id) and named.changed
    (tmp_path / ID_FILE).write_text("not an id!\n")
    with pytest.raises(Exception, match="holds no valid director id"):
        resolve(tmp_path, None)


def test_a_changed_id_is_refused_in_one_line_or_moved_deliberately(
    database_url: str, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    store = open_director_store(database_url, data, resolve(data, "old-name"))
    _provision(store, "0000.0000.0004")
    store.close()
    changed = resolve(data, "new-name")
    with pytest.raises(DatabaseError) as refused:
        open_director_store(database_url, data, changed)
    message = str(refused.value)
    assert "\n" not in message
    assert "new-name" in message and "old-name" in message and "--rename-director-id" in message
    assert read_id(data) == "old-name"  # nothing recorded
    moved = open_director_store(database_url, data, changed, rename=True)
    try:
        assert [r.device.mac for r in moved.load().devices] == ["0000.0000.0004"]
        assert moved.records_of("old-name") == 0
    finally:
        moved.close()
    assert read_id(data) == "new-name"


def test_the_director_id_command_validates_and_has_a_no_form() -> None:
    """``vstack director-id <name>`` (an extension of the guide's ``vstack director``
    section "Configuring the Director"): a word of letters, digits, ``. _ -``."""
    result = replay_director_config("vstack director-id branch-17\n", lambda _ip: True, "t")
    assert result.errors == [] and result.settings.director_id == "branch-17"
    assert "vstack director-id branch-17" in result.settings.render()
    result = replay_director_config("vstack director-id -x\n", lambda _ip: True, "t")
    assert result.errors == [(1, "vstack director-id -x", "% Invalid director id: -x")]
    text_ = "vstack director-id a\nno vstack director-id\n"
    assert replay_director_config(text_, lambda _ip: True, "t").settings.director_id is None
    with pytest.raises(DomainError):
        validate_director_id("x" * 64)


def test_a_hot_standby_needs_a_shared_database(tmp_path: Path) -> None:
    from smartinstall.director.daemon import ConfigError, DaemonOptions, DirectorDaemon

    with pytest.raises(ConfigError, match="--hot-standby needs a shared PostgreSQL database"):
        DirectorDaemon(DaemonOptions(data_dir=tmp_path, hot_standby=True))
