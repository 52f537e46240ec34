"""Smart Install security: ``vstack authentication key`` and ``vstack allowed-clients``.

With a key (:class:`SmiSecurity`) every message carries the HMAC trailer of
:mod:`smartinstall.wire.smi_auth`: :func:`seal_message` adds it, naming the sender, the
recipient and the sender's counter (:class:`~smartinstall.services.smi_replay.CounterBook`).
Without a key the protocol is the legacy, Cisco-compatible one.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable
from dataclasses import dataclass

from smartinstall.services.smi_replay import CounterBook
from smartinstall.wire import smi_auth
from smartinstall.wire.smi_auth import PeerId

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class SmiSecurity:
    """``vstack authentication key <key>`` and ``vstack allowed-clients <prefix> ...``.

    Without a key the protocol is the legacy, Cisco-compatible one. ``allowed_clients`` (when not
    empty) limits which addresses the director accepts client messages from, in either mode.
    ``max_skew`` is the accepted distance, in seconds, between a sender's timestamp and ours.
    """

    key: bytes | None = None
    allowed_clients: tuple[IPNetwork, ...] = ()
    max_skew: float = 60.0
    replay_capacity: int = 100_000

    def __post_init__(self) -> None:
        if self.key is not None and len(self.key) < smi_auth.MIN_KEY_SIZE:
            raise ValueError(
                f"authentication key must be at least {smi_auth.MIN_KEY_SIZE} characters"
            )

    @classmethod
    def from_config(
        cls, key: str | None = None, allowed_clients: Iterable[str] = (), max_skew: float = 60.0
    ) -> SmiSecurity:
        """From the text of the IOS lines (key as typed; prefixes like ``10.1.0.0/16``)."""
        nets = tuple(ipaddress.ip_network(p.strip(), strict=False) for p in allowed_clients)
        return cls(key.encode("utf-8") if key else None, nets, max_skew)

    @property
    def authenticated(self) -> bool:
        return self.key is not None

    @property
    def mode(self) -> str:
        """As ``show vstack config`` reports it."""
        return "authenticated" if self.key is not None else "legacy (unauthenticated)"

    def allows(self, host: str) -> bool:
        if not self.allowed_clients:
            return True
        try:
            addr = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        return any(addr in net for net in self.allowed_clients)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


#: the counter of senders given no book of their own (tools, tests): it follows the clock
_SHARED_COUNTERS = CounterBook()


def seal_message(
    data: bytes,
    security: SmiSecurity,
    *,
    sender: PeerId | None = None,
    recipient: PeerId | None = None,
    counter: int | None = None,
) -> bytes:
    """Add the authentication trailer when a key is configured; legacy bytes otherwise.

    A sealed message names its sender and its recipient and carries the sender's counter."""
    if security.key is None:
        return data
    if sender is None or recipient is None or counter is None:
        raise ValueError("a sealed message names its sender and recipient and has a counter")
    return smi_auth.seal(
        data, security.key, _now_ms(), sender=sender, recipient=recipient, counter=counter
    )
