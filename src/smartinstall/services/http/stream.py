"""``GET /api/v1/events/stream``: Server-Sent Events. Each ``%SMI`` message as an ``smi`` event
(its id is the event id, so a reconnecting browser resumes with ``Last-Event-ID``), and the
device table as a ``devices`` event after its rows change (told by the host, at most one event
every ``DEVICES_GAP`` seconds: a burst of changes during a roll-out is one event)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request

from smartinstall.services.http.host import HttpHost

DEVICES_GAP = 0.5  # seconds at least between two devices events (a burst of changes is one)
QUEUE = 1024
KEEPALIVE = 15.0
IDLE_CHECK = 2.0  # seconds between two looks at a quiet connection (gone? keepalive due?)
_DEVICES: dict[str, Any] = {}  # in the queue: the device table changed


def sse(event: str, data: Any, ident: int | None = None) -> bytes:
    head = f"id: {ident}\n" if ident is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def event_stream(
    host: HttpHost, request: Request, stopping: asyncio.Event, since: int = 0
) -> AsyncIterator[bytes]:
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE)
    table_changed = False  # a devices event is due (one in the queue, or held back)

    def listener(event: dict[str, Any]) -> None:
        with contextlib.suppress(asyncio.QueueFull):  # a stalled reader loses events, not us
            queue.put_nowait(event)

    def devices_changed() -> None:
        nonlocal table_changed
        if not table_changed:
            table_changed = True
            listener(_DEVICES)

    unsubscribe = host.subscribe(listener)
    unwatch = host.watch_devices(devices_changed)
    try:
        yield b"retry: 2000\n\n"
        for event in host.events(since):
            yield sse("smi", event, event["id"])
        yield sse("devices", host.devices())
        loop = asyncio.get_running_loop()
        quiet_since = devices_at = loop.time()
        while not stopping.is_set():
            wait = IDLE_CHECK
            if table_changed:  # held back: sent once the gap has passed
                wait = max(0.0, devices_at + DEVICES_GAP - loop.time())
            try:
                event = await asyncio.wait_for(queue.get(), wait)
            except TimeoutError:
                if not table_changed and await request.is_disconnected():
                    return
            else:
                if event is not _DEVICES:
                    yield sse("smi", event, event["id"])
                    quiet_since = loop.time()
            now = loop.time()
            if table_changed and now >= devices_at + DEVICES_GAP:
                table_changed = False
                yield sse("devices", host.devices())
                quiet_since = devices_at = loop.time()
            elif now - quiet_since > KEEPALIVE:
                yield b": keepalive\n\n"
                quiet_since = now
    finally:
        unwatch()
        unsubscribe()


__all__ = ["event_stream", "sse"]
