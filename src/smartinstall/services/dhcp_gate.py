"""The DHCP ACK gate: an ACK leaves once what it confirms is durable, or not at all.

A hook may say what must be durable before a client's ACK leaves (the director's record of a
new client, the files its answer names: ``ready_to_ack``, see
:class:`smartinstall.services.dhcp.AckGate`); the server sends the ACK once that and its own
lease are on disk. When the hook's part fails, the ACK is held back (:class:`HeldAcks`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smartinstall.services.dhcp import DhcpClientInfo

log = logging.getLogger("smartinstall.services.dhcp")

HELD_REPORT = 60.0  # seconds between two reports of ACKs that go on being held back


class HeldAcks:
    """ACKs held back because what they confirm could not be made durable (a full disk, a
    database gone). The answer is then no answer, never an ACK without the Smart Install
    options: a switch that got a plain ACK would boot on without zero touch and never ask
    again, while one that gets nothing asks again, and is served once the director can write.
    The first held ACK is logged with its reason, the next ones are counted (said once a
    minute), and the first gated ACK that leaves again says how many were held back."""

    def __init__(self, name: str, stats: dict[str, int]) -> None:
        self.name = name
        self.stats = stats
        self.count = 0  # held back since ACKs last left
        self.said_at = 0.0

    def held(self, mac: str, error: BaseException) -> None:
        self.count += 1
        self.stats["held_back"] += 1
        now = time.monotonic()
        if self.count == 1 or now - self.said_at >= HELD_REPORT:
            self.said_at = now
            log.warning(
                "%s: DHCP ACK to %s held back (%d so far; the client asks again): %s",
                self.name,
                mac,
                self.count,
                error,
            )

    def passed(self) -> None:
        if self.count:
            log.warning("%s: DHCP ACKs leave again (%d held back)", self.name, self.count)
            self.count = 0


def after_gate(
    hook: object,
    info: DhcpClientInfo,
    address: ipaddress.IPv4Address,
    send: Callable[[], None],
    held: HeldAcks,
) -> Callable[[], None]:
    """``send`` wrapped so that it runs once the hook's ACK gate (if any) is open: call the
    result when the server's own condition holds (the lease is durable). When the gate
    fails, nothing is sent (see :class:`HeldAcks`)."""
    gate = getattr(hook, "ready_to_ack", None)
    waiting: asyncio.Future[None] | None = None
    if gate is not None:
        try:
            waiting = gate(info, address)
        except Exception:
            log.exception("DHCP hook failed to say when to acknowledge")
    if waiting is None:
        return send
    pending = 2

    def one() -> None:
        nonlocal pending
        pending -= 1
        if pending == 0:
            send()

    def opened(future: asyncio.Future[None]) -> None:
        if future.cancelled():
            return
        error = future.exception()
        if error is not None:
            held.held(info.mac_text, error)
            return
        held.passed()
        one()

    waiting.add_done_callback(opened)
    return one
