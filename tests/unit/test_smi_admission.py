"""The SMI server's connection admission on a clock the test turns: per-source limits, slots
reserved for the director's known clients, fair sharing among strangers, short patience under
pressure, refusals counted per source and remembered for known clients."""

from __future__ import annotations

from smartinstall.services.smi_admission import Admission, Refusal, Slot, SmiLimits

KNOWN = "127.0.0.20"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def admission(**limits: object) -> tuple[Admission, Clock, list[Slot]]:
    clock = Clock()
    base: dict[str, object] = {
        "max_connections": 16, "max_connections_per_peer": 8, "rate_per_peer": 1000,
        "burst_per_peer": 1000, "pressure_idle_timeout": 2.0,
    }  # fmt: skip
    settings = SmiLimits(**{**base, **limits})  # type: ignore[arg-type]
    closed: list[Slot] = []
    adm = Admission(settings, lambda ip: ip == KNOWN, clock=clock, wall=lambda: clock.now + 5e5)
    return adm, clock, closed


def take(adm: Admission, host: str, closed: list[Slot]) -> Slot | Refusal:
    holder: list[Slot] = []
    result = adm.admit(host, lambda: closed.append(holder[0]))
    if isinstance(result, Slot):
        holder.append(result)
    return result


def test_a_source_is_held_to_its_per_source_limit() -> None:
    adm, _, closed = admission()
    results = [take(adm, "127.0.0.200", closed) for _ in range(10)]
    assert sum(isinstance(r, Slot) for r in results) == 8
    refusal = results[-1]
    assert isinstance(refusal, Refusal) and refusal.kind == "per-peer connection limit"
    assert "2 from this source so far" in refusal.text
    assert adm.refusals["127.0.0.200"] == 2


def test_strangers_share_what_is_not_reserved_and_known_clients_come_first() -> None:
    adm, _, closed = admission()
    assert adm.reserved == 4 and adm.strangers_capacity == 12
    for host in ("127.0.0.200", "127.0.0.201"):
        for _ in range(6):
            assert isinstance(take(adm, host, closed), Slot)
    # the strangers' slots are full: a third stranger takes one from the biggest holder
    assert isinstance(take(adm, "127.0.0.202", closed), Slot)
    assert len(closed) == 1 and adm.evicted == 1
    assert adm.held_by("127.0.0.200") + adm.held_by("127.0.0.201") == 11
    # both big holders are at 6 and 5 with a share of 4: the fourth stranger still gets in
    assert isinstance(take(adm, "127.0.0.203", closed), Slot)
    # the known client gets the reserved slots without evicting anyone ...
    for _ in range(4):
        assert isinstance(take(adm, KNOWN, closed), Slot)
    assert adm.active == 16 and len(closed) == 2
    # ... and past them it takes a stranger's slot: the server is never full for it
    assert isinstance(take(adm, KNOWN, closed), Slot)
    assert len(closed) == 3 and adm.held_by(KNOWN) == 5
    assert adm.last_refused(KNOWN) is None


def test_a_stranger_at_its_share_is_refused_and_an_idle_connection_is_evicted_first() -> None:
    adm, _, closed = admission(reserved_for_known=0)
    slots = [take(adm, "127.0.0.200", closed) for _ in range(8)]
    others = [take(adm, "127.0.0.201", closed) for _ in range(8)]
    assert all(isinstance(s, Slot) for s in slots + others)
    first = others[0]
    assert isinstance(first, Slot)
    first.spoke = True  # a connection sending its message is not the one closed
    # a source at its share (8 of 16 between two) cannot take from the other one
    refused = take(adm, "127.0.0.200", closed)
    assert isinstance(refused, Refusal)  # per-source limit (8) first
    third = take(adm, "127.0.0.202", closed)
    assert isinstance(third, Slot) and closed[0] is slots[0]
    assert isinstance(take(adm, "127.0.0.202", closed), Slot)
    assert closed[1] is others[1]  # the idle one, not the one that spoke


def test_pressure_shortens_a_strangers_patience_not_a_known_clients() -> None:
    adm, _, closed = admission()
    early = take(adm, "127.0.0.200", closed)
    assert isinstance(early, Slot) and early.idle_timeout == 10.0
    for i in range(8):
        take(adm, f"127.0.0.{201 + i % 2}", closed)
    late = take(adm, "127.0.0.203", closed)
    assert isinstance(late, Slot) and late.idle_timeout == 2.0
    mine = take(adm, KNOWN, closed)
    assert isinstance(mine, Slot) and mine.idle_timeout == 10.0


def test_a_refused_known_client_is_remembered_and_release_is_idempotent() -> None:
    adm, clock, closed = admission(max_connections_per_peer=2)
    a, b = take(adm, KNOWN, closed), take(adm, KNOWN, closed)
    assert isinstance(a, Slot) and isinstance(b, Slot)
    clock.now += 3
    assert isinstance(take(adm, KNOWN, closed), Refusal)
    assert adm.last_refused(KNOWN) == clock.now + 5e5
    adm.release(a)
    adm.release(a)
    assert adm.active == 1 and adm.held_by(KNOWN) == 1
    assert isinstance(take(adm, KNOWN, closed), Slot)


def test_the_rate_limit_refills_with_the_clock() -> None:
    clock = Clock()
    adm = Admission(SmiLimits(rate_per_peer=2, burst_per_peer=2), clock=clock)
    host = "127.0.0.200"
    for _ in range(2):
        slot = adm.admit(host)
        assert isinstance(slot, Slot)
        adm.release(slot)
    refused = adm.admit(host)
    assert isinstance(refused, Refusal) and refused.kind == "rate limit"
    clock.now += 0.5
    assert isinstance(adm.admit(host), Slot)


def test_without_a_director_nothing_is_reserved() -> None:
    adm = Admission(SmiLimits(max_connections=4, max_connections_per_peer=10))
    assert adm.reserved == 0
    slots = [adm.admit("127.0.0.1") for _ in range(5)]
    assert [isinstance(s, Slot) for s in slots] == [True] * 4 + [False]
    refused = slots[-1]
    assert isinstance(refused, Refusal) and refused.kind == "connection limit"
