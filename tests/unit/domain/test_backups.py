"""Backup naming and rotation, and the replacement decision (guide: "Backing Up the Client
Configuration", "Managing Client Configuration Files", "Replacing a Client Switch")."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartinstall.domain.backups import (
    NewcomerFacts,
    ReplacementKind,
    Step,
    StepKind,
    backup_name,
    decide_replacement,
    parse_backup_name,
    plan_backup,
    replacement_config,
)
from smartinstall.domain.devices import Device, Health
from smartinstall.domain.errors import DomainError


def test_names_as_show_vstack_status_detail_prints_them() -> None:
    # "Latest backup file: flash:/vstack/2960pd-47-001d.71ba.f780.REV2"
    assert backup_name("2960pd-47", "001D.71BA.F780", 2) == "2960pd-47-001d.71ba.f780.REV2"
    assert parse_backup_name("IBC_WOW-08.603f-68ef.bd08.6000.REV2") == (
        "IBC_WOW-08.603f", "68ef.bd08.6000", 2,
    )  # fmt: skip
    assert parse_backup_name("startup-config") is None
    with pytest.raises(DomainError):
        backup_name("sw", "001d.71ba.f780", 3)


def test_first_backup_writes_rev2() -> None:
    plan = plan_backup("sw1", "001d.71ba.f780", existing=[])
    assert plan.steps == (Step(StepKind.WRITE, "sw1-001d.71ba.f780.REV2"),)


def test_rotation_rev2_becomes_rev1_then_new_rev2() -> None:
    existing = ["sw1-001d.71ba.f780.REV1", "sw1-001d.71ba.f780.REV2"]
    plan = plan_backup("sw1", "001d.71ba.f780", existing)
    assert plan.steps == (
        Step(StepKind.MOVE, "sw1-001d.71ba.f780.REV1", "sw1-001d.71ba.f780.REV2"),
        Step(StepKind.WRITE, "sw1-001d.71ba.f780.REV2"),
    )


def test_hostname_change_on_local_repository_removes_old_mapping() -> None:
    existing = ["old-001d.71ba.f780.REV1", "old-001d.71ba.f780.REV2"]
    plan = plan_backup("new", "001d.71ba.f780", existing, previous_hostname="old")
    assert plan.steps == (
        Step(StepKind.MOVE, "new-001d.71ba.f780.REV1", "old-001d.71ba.f780.REV2"),
        Step(StepKind.WRITE, "new-001d.71ba.f780.REV2"),
        Step(StepKind.DELETE, "old-001d.71ba.f780.REV1"),
    )


def test_hostname_change_on_third_party_server_keeps_old_files() -> None:
    # "On a third-party TFTP server, … the files are not removed."
    existing = ["old-001d.71ba.f780.REV1", "old-001d.71ba.f780.REV2"]
    plan = plan_backup("new", "001d.71ba.f780", existing, "old", local_repository=False)
    assert [s.kind for s in plan.steps] == [StepKind.COPY, StepKind.WRITE]


def _inactive(
    number: int, mac: str, pid: str, port: str, health: Health = Health.INACTIVE
) -> Device:
    return Device(
        number, mac, pid, upstream_mac="0023.5e32.3780", upstream_ip="1.1.1.163",
        upstream_port=port, health=health,
    )  # fmt: skip


OLD = _inactive(2, "001d.71ba.f780", "WS-C2960PD-8TT-L", "GigabitEthernet1/0/1")


@pytest.mark.parametrize(
    ("newcomer", "known", "kind"),
    [
        # Same PID, same upstream device and port, old entry inactive: replacement.
        (NewcomerFacts("001d.71ba.0001", "WS-C2960PD-8TT-L", "0023.5e32.3780", "", "Gi1/0/1"),
         [OLD], ReplacementKind.REPLACEMENT),
        # Another product ID: new client ("do not have the same product ID").
        (NewcomerFacts("001d.71ba.0001", "WS-C2960-24TT-L", "0023.5e32.3780", "", "Gi1/0/1"),
         [OLD], ReplacementKind.NEW),
        # Another port: new client ("must be connected to the same ports").
        (NewcomerFacts("001d.71ba.0001", "WS-C2960PD-8TT-L", "0023.5e32.3780", "", "Gi1/0/2"),
         [OLD], ReplacementKind.NEW),
        # Old switch still active: new client.
        (NewcomerFacts("001d.71ba.0001", "WS-C2960PD-8TT-L", "0023.5e32.3780", "", "Gi1/0/1"),
         [_inactive(2, "001d.71ba.f780", "WS-C2960PD-8TT-L", "Gi1/0/1", Health.ACTIVE)],
         ReplacementKind.NEW),
        # Matching by upstream IP when the upstream MAC is unknown.
        (NewcomerFacts("001d.71ba.0001", "WS-C2960PD-8TT-L", "", "1.1.1.163", "Gi1/0/1"),
         [OLD], ReplacementKind.REPLACEMENT),
        # Known MAC: the same switch coming back, not a replacement.
        (NewcomerFacts("001d.71ba.f780", "WS-C2960PD-8TT-L", "0023.5e32.3780", "", "Gi1/0/1"),
         [OLD], ReplacementKind.NEW),
    ],
)  # fmt: skip
def test_replacement_table(
    newcomer: NewcomerFacts, known: list[Device], kind: ReplacementKind
) -> None:
    decision = decide_replacement(newcomer, known)
    assert decision.kind is kind
    assert decision.reason


def test_one_replacement_at_a_time_and_one_path() -> None:
    newcomer = NewcomerFacts("001d.71ba.0001", "WS-C2960PD-8TT-L", "0023.5e32.3780", "", "Gi1/0/1")
    assert (
        decide_replacement(newcomer, [OLD], replacement_in_progress=True).kind
        is ReplacementKind.NEW
    )
    assert decide_replacement(newcomer, [OLD], paths_to_director=2).kind is ReplacementKind.NEW


def test_replacement_gets_last_backup_else_seed() -> None:
    assert replacement_config(True, "sw-x.REV2", "flash:seed.txt")[0] == "sw-x.REV2"
    assert replacement_config(False, "sw-x.REV2", "flash:seed.txt")[0] == "flash:seed.txt"


@given(st.text(max_size=60))
def test_parse_backup_name_never_raises(name: str) -> None:
    parse_backup_name(name)
