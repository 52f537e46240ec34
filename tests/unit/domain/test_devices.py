"""Device records and the status letters of show vstack status (guide, "Smart Install Clients")."""

from __future__ import annotations

import pytest

from smartinstall.domain.devices import (
    Device,
    DeviceType,
    Health,
    JoinState,
    Progress,
    StackMember,
    UpgradeStatus,
    parse_status_letters,
)
from smartinstall.domain.errors import DomainError


@pytest.mark.parametrize(
    ("device_type", "health", "join", "upgrade", "expected"),
    [
        # Rows of the guide's show vstack status examples.
        (DeviceType.SMART_INSTALL, Health.ACTIVE, JoinState.ALLOWED, UpgradeStatus(), "S A a"),
        (
            DeviceType.SMART_INSTALL, Health.ACTIVE, JoinState.ALLOWED,
            UpgradeStatus(Progress.DONE, Progress.DONE), "S A a I C",
        ),
        (
            DeviceType.SMART_INSTALL, Health.INACTIVE, JoinState.ALLOWED,
            UpgradeStatus(config=Progress.DONE, script=Progress.DONE), "S I a C P",
        ),
        (
            DeviceType.NON_SMART_INSTALL, Health.ACTIVE, JoinState.HOLD,
            UpgradeStatus(Progress.IN_PROGRESS, Progress.FAILED, Progress.FAILED), "N A h i x F",
        ),
        (
            DeviceType.PENDING, Health.INACTIVE, JoinState.DENIED,
            UpgradeStatus(Progress.FAILED, Progress.IN_PROGRESS, Progress.IN_PROGRESS),
            "P I d X c p",
        ),
    ],
)  # fmt: skip
def test_status_letters(
    device_type: DeviceType, health: Health, join: JoinState, upgrade: UpgradeStatus, expected: str
) -> None:
    device = Device(
        1, "0024.13c6.b580", "WS-C3750E-24TD", device_type=device_type, health=health,
        join_state=join, upgrade=upgrade,
    )  # fmt: skip
    assert device.status() == expected
    parsed = parse_status_letters(expected)
    assert parsed["device_type"] == device_type.value


def test_director_row() -> None:
    assert Device(0, "0018.7363.4200", "WS-C3750-24TS", is_director=True).status() == "Director"


def test_stack_is_one_device_with_members() -> None:
    device = Device(
        3, "0050.5603.0001", "WS-C3750-24PS-S",
        members=(
            StackMember(1, "WS-C3750-24PS-S", "0050.5603.0001"),
            StackMember(2, "ws-c3750-24ps-s", "00:50:56:03:00:02"),
        ),
    )  # fmt: skip
    assert device.is_stack
    assert device.members[1].pid == "WS-C3750-24PS-S"
    assert device.members[1].mac == "0050.5603.0002"


def test_bad_values() -> None:
    with pytest.raises(DomainError):
        StackMember(10, "WS-C3750-24PS-S", "0050.5603.0001")
    with pytest.raises(DomainError):
        Device(1, "0050.5603.0001", ip="300.1.1.1")
    with pytest.raises(DomainError):
        Device(1, "0050.5603.0001", hop=8)
    with pytest.raises(DomainError):
        parse_status_letters("S A")
