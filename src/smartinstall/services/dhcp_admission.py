"""Admission of new DHCP clients: a flood of invented MACs must not starve the real ones.

A DISCOVER from a client the server has never bound costs an address held for the offer and,
in the director, an entry in its table. Under a flood of random MACs (1,300 packets/s from one
port) that used to exhaust the pool and make honest exchanges fail. A client with a binding is
always answered; a new one is admitted through two token buckets:

* one per switch port it comes from (the relay's address and its option-82 circuit), when the
  relay says: a flooding port spends its own budget, not its neighbours';
* one for the whole server: the rate at which new clients can be taken at all;

and only while its port has fewer than ``max_unconfirmed_per_source`` offers waiting for their
REQUEST (an offer unanswered for ``unconfirmed_for`` seconds no longer counts): a flooding port
holds a handful of addresses, never the pool. In all, at most ``max_unconfirmed`` offers to new
clients wait (the oldest is dropped to make room).

Dropped DISCOVERs are counted and logged once a minute with the count: a new client that was
dropped retries (every DHCP client does) and gets in once the flood's budget is spent.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass

log = logging.getLogger(__name__)

MAX_SOURCES = 4096  # places remembered (bounded memory)


@dataclass
class AdmissionConfig:
    per_source_rate: float = 10.0  # new clients per second from one port
    per_source_burst: float = 30.0
    global_rate: float = 500.0  # new clients per second in all
    global_burst: float = 1000.0
    max_unconfirmed: int = 512  # offers to new clients awaiting their REQUEST
    max_unconfirmed_per_source: int = 8  # of them from one port
    unconfirmed_for: float = 30.0  # seconds an unanswered offer counts (the offer's hold)


class _Bucket:
    __slots__ = ("stamp", "tokens")

    def __init__(self, tokens: float, stamp: float) -> None:
        self.tokens = tokens
        self.stamp = stamp

    def take(self, now: float, rate: float, burst: float) -> bool:
        self.tokens = min(burst, self.tokens + (now - self.stamp) * rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class NewClientAdmission:
    """See the module docstring. Every method is O(1); the clock is the caller's (monotonic)."""

    def __init__(self, config: AdmissionConfig | None = None) -> None:
        self.config = config or AdmissionConfig()
        self._sources: OrderedDict[tuple[str, bytes], _Bucket] = OrderedDict()
        self._global: _Bucket | None = None
        # client key -> (address, port it came from, when): oldest first
        self.unconfirmed: OrderedDict[bytes, tuple[int, tuple[str, bytes], float]] = OrderedDict()
        self._waiting: dict[tuple[str, bytes], int] = {}  # port -> its unconfirmed offers
        self.dropped = 0
        self._dropped_logged = 0
        self._logged_at = float("-inf")

    def admit(self, source: tuple[str, bytes], now: float) -> bool:
        """May a new client from ``source`` (relay address, circuit id) get an offer now?"""
        c = self.config
        if self._global is None:
            self._global = _Bucket(c.global_burst, now)
        self._expire(now)
        if source[1] and self._waiting.get(source, 0) >= c.max_unconfirmed_per_source:
            return self._drop(source, "its port's unanswered offers", now)
        if not source[1]:  # no circuit id: the port is unknown, only the global budget counts
            if not self._global.take(now, c.global_rate, c.global_burst):
                return self._drop(source, "the new-client rate", now)
            return True
        bucket = self._sources.get(source)
        if bucket is None:
            if len(self._sources) >= MAX_SOURCES:
                self._sources.popitem(last=False)
            bucket = self._sources[source] = _Bucket(c.per_source_burst, now)
        else:
            self._sources.move_to_end(source)
        if not bucket.take(now, c.per_source_rate, c.per_source_burst):
            return self._drop(source, "its port's rate", now)
        if not self._global.take(now, c.global_rate, c.global_burst):
            return self._drop(source, "the new-client rate", now)
        return True

    def offered(
        self, key: bytes, address: int, source: tuple[str, bytes] = ("", b""), now: float = 0.0
    ) -> int | None:
        """A new client from ``source`` was offered ``address``; returns the address of the
        oldest unconfirmed offer to withdraw when there are too many (None otherwise)."""
        self.confirmed(key)
        self.unconfirmed[key] = (address, source, now)
        self._waiting[source] = self._waiting.get(source, 0) + 1
        if len(self.unconfirmed) > self.config.max_unconfirmed:
            oldest_key = next(iter(self.unconfirmed))
            oldest = self.unconfirmed[oldest_key][0]
            self.confirmed(oldest_key)
            return oldest
        return None

    def confirmed(self, key: bytes) -> None:
        """The client requested its offer (or has a binding): no longer unconfirmed."""
        found = self.unconfirmed.pop(key, None)
        if found is not None:
            source = found[1]
            left = self._waiting.get(source, 0) - 1
            if left > 0:
                self._waiting[source] = left
            else:
                self._waiting.pop(source, None)

    def _expire(self, now: float) -> None:
        limit = now - self.config.unconfirmed_for
        while self.unconfirmed:
            key, (_, _, since) = next(iter(self.unconfirmed.items()))
            if since > limit:
                return
            self.confirmed(key)

    def _drop(self, source: tuple[str, bytes], why: str, now: float) -> bool:
        self.dropped += 1
        if now - self._logged_at >= 60.0:
            since = self.dropped - self._dropped_logged
            log.warning(
                "DHCP: DISCOVER of a new client via %s%s dropped: over %s (%d dropped in the "
                "last minute); clients with a binding are still answered",
                source[0] or "no relay",
                f" port {source[1].decode('ascii', 'replace')}" if source[1] else "",
                why,
                since,
            )
            self._logged_at = now
            self._dropped_logged = self.dropped
        return False
