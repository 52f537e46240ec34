"""The settings model: vstack basic rules and the running-config rendering."""

from __future__ import annotations

import pytest

from smartinstall.domain.errors import DomainError
from smartinstall.domain.settings import (
    DIRECTOR_IP_NOT_CONFIGURED,
    DIRECTOR_IP_NOT_OWNED,
    DirectorSettings,
    Role,
)


def owns(ip: str) -> bool:
    return ip.startswith("127.")


def test_vstack_basic_rejections_of_the_guide() -> None:
    # Command reference, vstack basic: both messages, character for character.
    settings = DirectorSettings()
    with pytest.raises(DomainError) as error:
        settings.enable_basic(owns)
    assert str(error.value) == "Command Rejected: Director IP is not configured"
    assert str(error.value) == DIRECTOR_IP_NOT_CONFIGURED
    settings.set_director("1.1.1.20")
    with pytest.raises(DomainError) as error:
        settings.enable_basic(owns)
    assert str(error.value) == (
        "Command Rejected: The Director IP address does not match a switch IP address."
    )
    assert str(error.value) == DIRECTOR_IP_NOT_OWNED
    settings.set_director("127.20.0.1")
    settings.enable_basic(owns)
    assert settings.role(owns) is Role.DIRECTOR


def test_no_vstack_disallows_director_commands_and_makes_a_client() -> None:
    settings = DirectorSettings()
    settings.set_director("127.20.0.1")
    settings.enable_basic(owns)
    settings.enabled = False
    assert settings.role(owns) is Role.CLIENT
    with pytest.raises(DomainError, match="disabled"):
        settings.enable_basic(owns)
    with pytest.raises(DomainError, match="disabled"):
        settings.set_director("127.20.0.2")


def test_vanished_address_turns_director_into_client() -> None:
    settings = DirectorSettings()
    settings.set_director("127.20.0.1")
    settings.enable_basic(owns)
    assert settings.role(lambda ip: False) is Role.CLIENT


def test_render_puts_director_before_basic_and_no_vstack_last() -> None:
    settings = DirectorSettings()
    settings.set_director("127.20.0.1")
    settings.enable_basic(owns)
    settings.enabled = False
    lines = settings.render()
    assert lines.index("vstack director 127.20.0.1") < lines.index("vstack basic")
    assert lines[-1] == "no vstack"


def test_address_pool_takes_mask_or_prefix() -> None:
    settings = DirectorSettings()
    pool = settings.dhcp_pool("pool1")
    pool.set_address_pool("1.1.1.0", "255.255.255.0")
    first = pool.network
    pool.set_address_pool("1.1.1.0", "/24")
    assert pool.network == first
    with pytest.raises(DomainError):
        pool.set_address_pool("1.1.1.0", "255.0.255.0")


def test_custom_group_kind_is_fixed() -> None:
    settings = DirectorSettings()
    settings.custom_group("pharmacy", "mac")
    with pytest.raises(DomainError):
        settings.custom_group("pharmacy", "stack")
    with pytest.raises(DomainError):
        settings.custom_group("x", "color")
