"""Readers hear of the director state's changes instead of looking again and again (DESIGN,
"The director's core": one owner changes the state; the SMI Proxy's scan and services wait
for a client's entry or download row to change)."""

from __future__ import annotations

import asyncio

import pytest

from smartinstall.director.state import DirectorState
from smartinstall.domain.devices import Device, DeviceType
from smartinstall.domain.downloads import DownloadMethod
from smartinstall.store.port import Change, DeviceSaved, DownloadSaved

MAC = "0050.5600.0001"
PID = "WS-C2960X-48FPD-L"


def client(mac: str = MAC) -> Device:
    return Device(0, mac, pid=PID, device_type=DeviceType.SMART_INSTALL, ip="127.0.0.5")


def test_a_watcher_hears_each_change_after_it_and_stops_when_told() -> None:
    state = DirectorState()
    heard: list[Change] = []
    stop = state.watch(heard.append)
    state.upsert_device(client())
    state.record_keepalive(MAC)
    assert [type(c) for c in heard] == [DeviceSaved, DeviceSaved]
    assert isinstance(heard[-1], DeviceSaved) and heard[-1].record.last_keepalive is not None
    stop()
    stop()  # twice is harmless
    state.record_keepalive(MAC)
    assert len(heard) == 2


def test_a_failing_watcher_neither_undoes_the_change_nor_silences_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    persisted: list[Change] = []
    state = DirectorState(persisted.append)

    def broken(change: Change) -> None:
        raise RuntimeError("a reader's bug")

    heard: list[Change] = []
    state.watch(broken)
    state.watch(heard.append)
    state.upsert_device(client())
    assert state.device_by_mac(MAC) is not None
    assert len(persisted) == 1 and len(heard) == 1
    assert "a watcher of DeviceSaved failed" in caplog.text


async def test_next_change_wakes_at_the_matching_change_or_times_out() -> None:
    state = DirectorState()
    state.upsert_device(client())
    state.upsert_device(client("0050.5600.0002"))

    def of_downloads(change: Change) -> bool:
        return isinstance(change, DownloadSaved) and change.entry.mac == MAC

    waiting = asyncio.create_task(state.next_change(30.0, of_downloads))
    await asyncio.sleep(0)
    state.record_keepalive(MAC)  # not a download: still waiting
    state.add_download("0050.5600.0002", DownloadMethod.ON_DEMAND)  # another client's
    await asyncio.sleep(0)
    assert not waiting.done()
    state.add_download(MAC, DownloadMethod.ON_DEMAND)
    assert await asyncio.wait_for(waiting, 5.0) is True
    assert await state.next_change(0.01) is False  # nothing changed
    assert await state.next_change(-1.0) is False  # a deadline already past
    assert not state._watchers  # every waiter gone, woken or not
