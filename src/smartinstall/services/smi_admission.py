"""Who gets one of an SMI listener's connection slots when there are not enough for everyone.

A listener has ``max_connections`` slots. Without pressure anyone gets one (within the per-source
limit and rate). Under a flood the rules are, in order:

* **Rate and per-source limits.** A source past its token bucket (``rate_per_peer``) or holding
  ``max_connections_per_peer`` slots is refused.
* **Honest clients first.** The director tells the listener which addresses are its clients'
  bound addresses (``is_known``: the address DHCP/the relay bound to a client's MAC). Those
  sources keep ``reserved_for_known`` slots that no other source may take, and when every slot
  is taken a known source's connection takes one from a stranger (the stranger's connection is
  closed, an idle one first).
* **Fair sharing among strangers.** When the strangers' slots are all taken, a newcomer takes
  one from the source holding the most of them, if that source holds more than its share
  (the strangers' slots divided by the sources that want them); otherwise the newcomer is
  refused. One address cannot hold the others out, and many addresses share what is left.
* **Short patience under pressure.** A stranger's connection admitted while the strangers'
  slots are three quarters taken gets ``pressure_idle_timeout`` to send its first header
  instead of ``idle_timeout``.

Every refusal is counted per source; the listener logs them once per source and interval with
the count. A refused connection from a known client's address is remembered
(:meth:`Admission.last_refused`): the client's report reached a busy director, and the director
does not count the keepalive it carried as missed (docs/security.md, "SMI flood").
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("smartinstall.services.smi")

# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class SmiLimits:
    """What one listener lets peers cost. Times are seconds.

    ``idle_timeout`` waits for the first complete header; it is longer than nmap's 6 s wait for a
    banner so that a scanner sees an open SMI port, not a "tcpwrapped" one. ``read_timeout`` is the
    deadline for the rest of a message once its first byte came (slowloris ends there).
    ``reserved_for_known``: slots only the director's known clients may take (None: a quarter of
    ``max_connections`` when the listener knows its clients, none otherwise).
    ``pressure_idle_timeout``: a stranger's idle deadline under pressure (None: no change).
    """

    max_connections: int = 256
    max_connections_per_peer: int = 32
    idle_timeout: float = 10.0
    read_timeout: float = 5.0
    max_payload: int | None = None  # None: the role's own maximum
    rate_per_peer: float = 100.0  # connections per second, sustained
    burst_per_peer: int = 200
    max_tracked_peers: int = 4096
    log_interval: float = 10.0  # one log line per (peer, kind of problem) per interval
    reserved_for_known: int | None = None
    pressure_idle_timeout: float | None = None


# ---------------------------------------------------------------------- throttles and limits


class LogThrottle:
    """One log line per (peer host, kind) per interval; suppressed repeats are counted and
    reported with the next line, so a flood costs a few lines, not one per connection."""

    def __init__(
        self, interval: float, capacity: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval = interval
        self.capacity = capacity
        self.clock = clock
        self._last: OrderedDict[tuple[str, str], tuple[float, int]] = OrderedDict()

    def emit(
        self,
        level: int,
        peer: object,
        kind: str,
        text: str,
        syslog: str | None = None,
        reason: str = "",
    ) -> bool:
        """``peer``: a ``Peer`` (``host:port``); its ``host`` keys the throttle."""
        now = self.clock()
        key = (str(getattr(peer, "host", peer)), kind)
        last = self._last.get(key)
        if last is not None and now - last[0] < self.interval:
            self._last[key] = (last[0], last[1] + 1)
            return False
        suppressed = last[1] if last is not None else 0
        self._last[key] = (now, 0)
        self._last.move_to_end(key)
        while len(self._last) > self.capacity:
            self._last.popitem(last=False)
        more = f" ({suppressed} similar since suppressed)" if suppressed else ""
        extra = {"smi_peer": str(peer), "smi_problem": kind, "smi_reason": reason or text}
        if syslog is not None:  # a %SMI-... message: the guide's text exactly
            log.log(level, "%s%s", syslog, more, extra=extra)
        else:
            log.log(level, "SMI %s from %s: %s%s", kind, peer, text, more, extra=extra)
        return True


class RateLimiter:
    """Token bucket per peer host, bounded in the number of peers tracked."""

    def __init__(
        self, rate: float, burst: int, capacity: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.capacity = capacity
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, host: str) -> bool:
        now = self.clock()
        tokens, stamp = self._buckets.get(host, (self.burst, now))
        tokens = min(self.burst, tokens + (now - stamp) * self.rate)
        ok = tokens >= 1.0
        self._buckets[host] = (tokens - 1.0 if ok else tokens, now)
        self._buckets.move_to_end(host)
        while len(self._buckets) > self.capacity:
            self._buckets.popitem(last=False)
        return ok


# ------------------------------------------------------------------------------- admission


@dataclass(eq=False)
class Slot:
    """One admitted connection. ``close`` ends it (the listener's transport abort)."""

    host: str
    known: bool
    opened: float
    idle_timeout: float
    close: Callable[[], None] | None = None
    spoke: bool = False  # its first byte came
    released: bool = False


@dataclass(frozen=True)
class Refusal:
    kind: str  # for the log: "connection limit", "per-peer connection limit", "rate limit"
    text: str


@dataclass
class _Source:
    slots: list[Slot] = field(default_factory=list)


class Admission:
    """The slot bookkeeping of one listener (see the module's rules). Not thread-safe: one
    event loop calls it. ``clock`` is monotonic seconds, ``wall`` the time of day (both
    replaceable in tests)."""

    def __init__(
        self,
        limits: SmiLimits,
        is_known: Callable[[str], bool] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.limits = limits
        self.is_known = is_known
        self.clock = clock
        self.wall = wall
        self._rate = RateLimiter(
            limits.rate_per_peer, limits.burst_per_peer, limits.max_tracked_peers, clock
        )
        self._sources: dict[str, _Source] = {}
        self.active = 0
        self.strangers = 0  # slots held by sources not known as clients
        self.evicted = 0
        #: refusals per source since start (bounded in the number of sources tracked)
        self.refusals: OrderedDict[str, int] = OrderedDict()
        self._known_refused: OrderedDict[str, float] = OrderedDict()

    # -- the numbers

    @property
    def reserved(self) -> int:
        if self.is_known is None:
            return 0
        wanted = self.limits.reserved_for_known
        if wanted is None:
            wanted = self.limits.max_connections // 4
        return max(0, min(wanted, self.limits.max_connections))

    @property
    def strangers_capacity(self) -> int:
        return self.limits.max_connections - self.reserved

    def held_by(self, host: str) -> int:
        source = self._sources.get(host)
        return len(source.slots) if source else 0

    def last_refused(self, host: str) -> float | None:
        """When (``wall`` seconds) a connection from this known client's address was last
        refused, if ever."""
        return self._known_refused.get(host)

    def _known(self, host: str) -> bool:
        if self.is_known is None:
            return False
        try:
            return bool(self.is_known(host))
        except Exception:
            log.exception("SMI: cannot tell whether %s is a known client", host)
            return False

    # -- admit and release

    def admit(self, host: str, close: Callable[[], None] | None = None) -> Slot | Refusal:
        known = self._known(host)
        refusal = self._check(host, known)
        if refusal is not None:
            return self._refuse(host, known, refusal)
        slot = Slot(host, known, self.clock(), self._idle_timeout(known), close)
        self._sources.setdefault(host, _Source()).slots.append(slot)
        self.active += 1
        if not known:
            self.strangers += 1
        return slot

    def release(self, slot: Slot) -> None:
        """The connection ended (idempotent: an evicted slot was released already)."""
        if slot.released:
            return
        slot.released = True
        self.active -= 1
        if not slot.known:
            self.strangers -= 1
        source = self._sources.get(slot.host)
        if source is not None:
            source.slots.remove(slot)
            if not source.slots:
                del self._sources[slot.host]

    def _check(self, host: str, known: bool) -> Refusal | None:
        limits = self.limits
        if not self._rate.allow(host):
            return Refusal("rate limit", "more connections than the per-peer rate allows")
        if self.held_by(host) >= limits.max_connections_per_peer:
            return Refusal(
                "per-peer connection limit",
                f"{limits.max_connections_per_peer} connections from this peer",
            )
        if known:
            if self.active < limits.max_connections or self._evict_stranger(host, 0):
                return None
        else:
            share = self.strangers_capacity // (len(self._stranger_hosts(host)) or 1)
            room = self.strangers < self.strangers_capacity
            if room and self.active < limits.max_connections:
                return None
            if self._evict_stranger(host, max(share, 1)):
                return None
        return Refusal("connection limit", f"{self.active} connections open")

    def _stranger_hosts(self, newcomer: str) -> set[str]:
        hosts = {h for h, s in self._sources.items() if s.slots and not s.slots[0].known}
        hosts.add(newcomer)
        return hosts

    def _evict_stranger(self, newcomer: str, share: int) -> bool:
        """Close one connection of the stranger holding the most slots, if it holds more than
        ``share`` and is not ``newcomer`` itself: its oldest connection that has not spoken,
        else its oldest."""
        best: tuple[int, str] | None = None
        for host, source in self._sources.items():
            if host == newcomer or not source.slots or source.slots[0].known:
                continue
            if best is None or len(source.slots) > best[0]:
                best = (len(source.slots), host)
        if best is None or best[0] <= share:
            return False
        slots = self._sources[best[1]].slots
        victim = next((s for s in slots if not s.spoke), slots[0])
        self.release(victim)
        self.evicted += 1
        if victim.close is not None:
            try:
                victim.close()
            except Exception:
                log.debug("SMI: closing an evicted connection from %s failed", victim.host)
        return True

    def _refuse(self, host: str, known: bool, refusal: Refusal) -> Refusal:
        count = self.refusals.pop(host, 0) + 1
        self.refusals[host] = count
        while len(self.refusals) > self.limits.max_tracked_peers:
            self.refusals.popitem(last=False)
        if known:
            self._known_refused.pop(host, None)
            self._known_refused[host] = self.wall()
            while len(self._known_refused) > self.limits.max_tracked_peers:
                self._known_refused.popitem(last=False)
        text = f"{refusal.text}; refused ({count} from this source so far)"
        return Refusal(refusal.kind, text)

    def _idle_timeout(self, known: bool) -> float:
        pressure = self.limits.pressure_idle_timeout
        if pressure is None or known:
            return self.limits.idle_timeout
        if self.strangers * 4 >= self.strangers_capacity * 3:
            return min(pressure, self.limits.idle_timeout)
        return self.limits.idle_timeout


__all__ = ["Admission", "LogThrottle", "RateLimiter", "Refusal", "Slot", "SmiLimits"]
