"""The tailored configuration's enable password when the operator set none (guide: "SMI Proxy
and Tailored Configuration Files"; docs/zero-touch.md, "Clients that are not Smart Install
capable")."""

from __future__ import annotations

from smartinstall.domain.artifacts import (
    TailoredConfig,
    client_enable_password,
    tailored_enable_password,
)


def test_each_client_gets_its_own_stable_password() -> None:
    first = client_enable_password("0050.56aa.00d4")
    assert first == client_enable_password("0050.56AA.00D4")  # every answer to the client
    assert first != client_enable_password("0050.56aa.00d5")
    assert first != "cisco" and len(first) >= 16 and first.isalnum()


def test_the_password_is_read_back_from_the_file() -> None:
    password = client_enable_password("0050.56aa.00d4")
    text = TailoredConfig("10.0.0.1", password).render()
    assert f"enable password {password}\n" in text and "do telnet 10.0.0.1 19140" in text
    assert tailored_enable_password(text) == password
    assert tailored_enable_password("hostname x\nend\n") is None
