"""What a new backup changes in the lines that decide who controls a switch (issue: a
SIET-planted configuration must not be backed up silently)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from smartinstall.domain.backups import security_changes

BEFORE = """hostname sw1
enable secret 5 $1$old$abcdefghijklmnopqrstu
username admin privilege 15 secret 5 $1$x$y
vstack director 10.0.0.1
interface Vlan1
 ip address dhcp
end
"""


def test_an_unchanged_configuration_changes_nothing() -> None:
    assert security_changes(BEFORE, BEFORE) == []
    assert security_changes(BEFORE, BEFORE.replace("ip address dhcp", "shutdown")) == []


def test_a_planted_user_and_a_new_enable_secret_are_named_without_their_secrets() -> None:
    after = (
        BEFORE.replace("$1$old$abcdefghijklmnopqrstu", "$1$new$zzz")
        + "username pwn privilege 15 password 0 hunter2\n"
    )
    after = after.replace("vstack director 10.0.0.1", "vstack director 6.6.6.6")
    changes = security_changes(BEFORE, after)
    assert "+ enable secret …" in changes and "- enable secret …" in changes
    assert "+ username pwn privilege 15 password …" in changes
    assert "+ vstack director 6.6.6.6" in changes and "- vstack director 10.0.0.1" in changes
    assert not any("hunter2" in line or "$1$new" in line for line in changes)


def test_an_snmp_user_is_named_without_its_passwords_or_keys() -> None:
    after = BEFORE + (
        "snmp-server user pwn admins v3 auth sha hunter2pw priv aes 128 hunter3pw\n"
        "snmp-server user ops admins v3 encrypted auth sha AB:CD priv aes 128 EF:01\n"
    )
    changes = security_changes(BEFORE, after)
    assert changes == ["+ snmp-server user ops admins …", "+ snmp-server user pwn admins …"]


@given(st.text(max_size=2000), st.text(max_size=2000))
def test_any_two_texts_compare_without_error(previous: str, new: str) -> None:
    changes = security_changes(previous, new)
    assert all(line[:2] in ("+ ", "- ") for line in changes)
    assert security_changes(new, new) == []
