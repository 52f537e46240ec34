"""Interface names compare in canonical form (connectivity groups, replacement)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartinstall.domain.errors import DomainError
from smartinstall.domain.interfaces import canonical_interface, same_interface, short_interface


@pytest.mark.parametrize(
    "text", ["Gi1/0/3", "GigabitEthernet 1/0/3", "gig 1/0/3", "GigabitEthernet1/0/3", "g1/0/3"]
)
def test_gigabit_forms(text: str) -> None:
    assert canonical_interface(text) == "GigabitEthernet1/0/3"


def test_other_types() -> None:
    assert canonical_interface("Fa0/7") == "FastEthernet0/7"
    assert canonical_interface("Te1/1/1") == "TenGigabitEthernet1/1/1"
    assert canonical_interface("Po1") == "Port-channel1"
    assert canonical_interface("Vlan1") == "Vlan1"


def test_short_form_of_show_vstack_neighbors() -> None:
    # Guide, show vstack host: "Fas 0/7", "Gig 1/0/1".
    assert short_interface("FastEthernet0/7") == "Fas 0/7"
    assert short_interface("Gi1/0/1") == "Gig 1/0/1"


def test_names_that_are_not_interfaces_are_kept() -> None:
    # Guide, vstack group custom example: "match host 2.2.2.2 interface finance".
    assert canonical_interface("finance") == "finance"
    assert same_interface("Finance", "finance")


def test_different_ports_differ() -> None:
    assert not same_interface("Gi1/0/3", "Gi1/0/4")
    assert not same_interface("Gi1/0/3", "Fa1/0/3")


@given(st.text(max_size=80))
def test_never_raises_anything_else(text: str) -> None:
    with contextlib.suppress(DomainError):
        canonical_interface(text)
