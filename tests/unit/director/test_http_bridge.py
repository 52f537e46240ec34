"""The HTTP bridge's device table: rows (and their JSON) made once per change of an entry, the
group of a client's facts kept until the settings change."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from smartinstall.director.eventlog import EventLog
from smartinstall.director.http_bridge import DirectorHttpBridge
from smartinstall.director.state import DirectorState
from smartinstall.domain.devices import Device, DeviceType
from smartinstall.domain.settings import DirectorSettings

PID = "WS-C2960X-48FPS-L"


def bridge_over(state: DirectorState, settings: DirectorSettings) -> tuple[DirectorHttpBridge, Any]:
    listeners: list[Any] = []
    daemon = SimpleNamespace(
        data_dir=Path("/nonexistent"),
        state=state,
        settings=settings,
        events=EventLog(),
        terminals=None,
        director=SimpleNamespace(add_settings_listener=listeners.append),
    )
    bridge = DirectorHttpBridge(daemon)  # type: ignore[arg-type]

    def settings_changed() -> None:
        for listener in listeners:
            listener()

    return bridge, settings_changed


def test_rows_follow_their_entries_and_the_settings() -> None:
    state = DirectorState()
    first = state.upsert_device(
        Device(0, "0050.5600.0001", pid=PID, device_type=DeviceType.SMART_INSTALL)
    )
    state.upsert_device(Device(0, "0050.5600.0002", pid=PID, device_type=DeviceType.SMART_INSTALL))
    settings = DirectorSettings()
    bridge, settings_changed = bridge_over(state, settings)

    rows = bridge.devices()
    assert json.loads(bridge.devices_json()) == rows
    assert bridge.devices_json() == json.dumps(rows, separators=(",", ":"))
    assert [r["group"] for r in rows] == ["default", "default"]
    assert bridge.devices()[0] is rows[0]  # an unchanged entry keeps its row

    state.upsert_device(replace(first, hostname="renamed"))
    table = json.loads(bridge.devices_json())
    assert [r["hostname"] for r in table] == ["renamed", ""]

    settings.custom_group("floor2", "product-id").product_ids.append(PID)
    settings_changed()
    assert [r["group"] for r in json.loads(bridge.devices_json())] == ["floor2", "floor2"]
    assert [r["group"] for r in bridge.devices()] == ["floor2", "floor2"]


def test_the_device_table_s_watchers_hear_entries_and_settings_change() -> None:
    # GET /api/v1/events/stream sends a devices event when told, instead of comparing the
    # table every half second on every connection
    state = DirectorState()
    settings = DirectorSettings()
    bridge, settings_changed = bridge_over(state, settings)
    told: list[str] = []
    stop = bridge.watch_devices(lambda: told.append("changed"))
    first = state.upsert_device(
        Device(0, "0050.5600.0001", pid=PID, device_type=DeviceType.SMART_INSTALL)
    )
    state.record_keepalive(first.mac)  # no row made yet: told
    assert told == ["changed"] * 2
    bridge.devices()  # the rows are made (the stream sends them)
    state.record_keepalive(first.mac)  # an Active client's keepalive: the same row
    state.set_state("join-window", "open")  # not the device table
    assert len(told) == 2
    settings_changed()  # a row's group may change
    assert len(told) == 3
    state.clear_device(first.number)
    assert len(told) == 4
    stop()
    state.upsert_device(first)
    settings_changed()
    assert len(told) == 4
