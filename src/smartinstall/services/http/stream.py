"""``GET /api/v1/events/stream``: Server-Sent Events. Each ``%SMI`` message as an ``smi`` event
(its id is the event id, so a reconnecting browser resumes with ``Last-Event-ID``), and the
device table as a ``devices`` event whenever a row changed (checked every `POLL` seconds)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request

from smartinstall.services.http.host import HttpHost

POLL = 0.5
QUEUE = 1024
KEEPALIVE = 15.0


def sse(event: str, data: Any, ident: int | None = None) -> bytes:
    head = f"id: {ident}\n" if ident is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def event_stream(
    host: HttpHost, request: Request, stopping: asyncio.Event, since: int = 0
) -> AsyncIterator[bytes]:
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE)

    def listener(event: dict[str, Any]) -> None:
        with contextlib.suppress(asyncio.QueueFull):  # a stalled reader loses events, not us
            queue.put_nowait(event)

    unsubscribe = host.subscribe(listener)
    try:
        yield b"retry: 2000\n\n"
        for event in host.events(since):
            yield sse("smi", event, event["id"])
        digest = host.status_digest()
        yield sse("devices", host.devices())
        loop = asyncio.get_running_loop()
        quiet_since = loop.time()
        while not stopping.is_set():
            try:
                event = await asyncio.wait_for(queue.get(), POLL)
                yield sse("smi", event, event["id"])
                quiet_since = loop.time()
            except TimeoutError:
                if await request.is_disconnected():
                    return
            now = host.status_digest()
            if now != digest:
                digest = now
                yield sse("devices", host.devices())
                quiet_since = loop.time()
            elif loop.time() - quiet_since > KEEPALIVE:
                yield b": keepalive\n\n"
                quiet_since = loop.time()
    finally:
        unsubscribe()


__all__ = ["event_stream", "sse"]
