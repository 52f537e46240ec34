"""New-client admission of the director's DHCP server, on a clock the test turns."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from smartinstall.services.dhcp_admission import AdmissionConfig, NewClientAdmission

PORT_A = ("10.0.0.1", b"Gi1/0/1")
PORT_B = ("10.0.0.1", b"Gi1/0/2")


def test_a_flooding_port_spends_its_own_budget_not_its_neighbours() -> None:
    config = AdmissionConfig(per_source_rate=10, per_source_burst=30, max_unconfirmed_per_source=99)
    admission = NewClientAdmission(config)
    taken = sum(admission.admit(PORT_A, 0.0) for _ in range(1000))
    assert taken == 30  # the burst
    assert admission.admit(PORT_B, 0.0)  # the next port is untouched
    assert not admission.admit(PORT_A, 0.05)
    assert admission.admit(PORT_A, 0.1)  # 10 a second come back
    assert admission.dropped == 1000 - 30 + 1


def test_without_a_port_only_the_global_rate_counts() -> None:
    admission = NewClientAdmission(AdmissionConfig(global_rate=100, global_burst=200))
    taken = sum(admission.admit(("10.0.0.1", b""), 0.0) for _ in range(500))
    assert taken == 200
    assert sum(admission.admit(("10.0.0.1", b""), 1.0) for _ in range(500)) == 100


def test_too_many_unconfirmed_offers_withdraw_the_oldest() -> None:
    admission = NewClientAdmission(AdmissionConfig(max_unconfirmed=3))
    assert [admission.offered(bytes([i]), 100 + i) for i in range(3)] == [None] * 3
    admission.confirmed(bytes([1]))
    assert admission.offered(b"\x09", 109) is None
    assert admission.offered(b"\x0a", 110) == 100  # the oldest unconfirmed one


@given(st.lists(st.tuples(st.integers(0, 5), st.floats(0, 1000)), max_size=300))
def test_admission_never_exceeds_burst_plus_rate(events: list[tuple[int, float]]) -> None:
    config = AdmissionConfig(
        per_source_rate=5, per_source_burst=10, global_rate=1e9, global_burst=1e9
    )
    admission = NewClientAdmission(config)
    events.sort(key=lambda e: e[1])
    admitted: dict[int, list[float]] = {}
    for port, now in events:
        if admission.admit(("r", str(port).encode()), now):
            admitted.setdefault(port, []).append(now)
    for times in admitted.values():
        span = times[-1] - times[0]
        assert len(times) <= 10 + 5 * span + 1e-6


def test_a_port_holds_only_a_handful_of_unanswered_offers() -> None:
    # a flood through one port cannot take the pool: its offers nobody requests count until
    # they expire, and while 8 wait the port gets no more
    admission = NewClientAdmission(
        AdmissionConfig(max_unconfirmed_per_source=8, unconfirmed_for=30)
    )
    offered = 0
    for i in range(100):
        if admission.admit(PORT_A, i * 0.1):
            admission.offered(bytes([i]), 1000 + i, PORT_A, i * 0.1)
            offered += 1
    assert offered == 8
    assert admission.admit(PORT_B, 10.0)  # its neighbour is not held back
    admission.confirmed(bytes([0]))  # one of them asked for its address after all
    assert admission.admit(PORT_A, 10.1)
    assert admission.admit(PORT_A, 45.0)  # the rest expired
