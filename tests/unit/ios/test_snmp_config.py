"""`snmp-server …` in the director's running configuration: each form, its rendering, the
round trip through a startup-config replay, and IOS errors for bad input (docs/snmp.md)."""

from __future__ import annotations

import hashlib

import pytest

from smartinstall.domain.snmp import (
    SnmpCommunity,
    SnmpHost,
    SnmpSettings,
    SnmpUser,
    password_to_key,
    render_key,
)
from smartinstall.ios.director_config import replay_director_config

CONFIG = """snmp-server view csi 1.3.6.1.4.1.9.9.725 included
snmp-server view csi system included
snmp-server view csi 1.3.6.1.4.1.9.9.725.1.1.7 excluded
snmp-server community public RO
snmp-server community private RW 10
snmp-server group monitor v3 priv read csi
snmp-server group admins v3 priv read csi write csi
snmp-server user nms monitor v3 auth sha authpass1 priv aes 128 privpass1
snmp-server user ops admins v3 auth sha256 authpass2 priv aes 128 privpass2
snmp-server enable traps vstack
snmp-server host 127.0.0.5 version 2c public udp-port 1162
snmp-server host 127.0.0.6 version 3 priv nms
snmp-server host 127.0.0.7 version 3 auth ops
"""


SHA_KEY = ":".join(["AB"] * 20)


def test_every_form_is_rendered_and_replays_to_the_same_settings() -> None:
    first = replay_director_config(CONFIG)
    assert first.errors == []
    lines = first.settings.render()
    for line in CONFIG.splitlines():
        if not line.startswith("snmp-server user"):  # kept as keys: see below
            assert line in lines
    again = replay_director_config("\n".join(lines))
    assert again.errors == []
    assert again.settings.snmp == first.settings.snmp
    assert first.settings.snmp.active


def test_defaults_and_short_forms() -> None:
    result = replay_director_config(
        "snmp-server community public\nsnmp-server host 127.0.0.9 public vstack\n"
    )
    assert result.errors == []
    snmp = result.settings.snmp
    assert snmp.communities["public"] == SnmpCommunity("public", write=False)
    assert snmp.hosts == [SnmpHost("127.0.0.9", "public", "2c", "priv", 162)]
    assert "snmp-server community public RO" in result.settings.render()
    assert "snmp-server host 127.0.0.9 version 2c public" in result.settings.render()


def test_no_snmp_server_line_means_the_agent_is_off() -> None:
    assert not replay_director_config("vstack\n").settings.snmp.active
    result = replay_director_config(CONFIG + "no snmp-server\n")
    assert result.settings.snmp == SnmpSettings()
    assert not any(line.startswith("snmp-server") for line in result.settings.render())


def test_no_forms_remove_one_entry_each() -> None:
    result = replay_director_config(
        CONFIG
        + "no snmp-server community private\n"
        + "no snmp-server user ops\n"
        + "no snmp-server host 127.0.0.7\n"
        + "no snmp-server view csi 1.3.6.1.4.1.9.9.725.1.1.7\n"
        + "no snmp-server enable traps vstack\n"
    )
    assert result.errors == []
    snmp = result.settings.snmp
    assert list(snmp.communities) == ["public"]
    assert list(snmp.users) == ["nms"]
    assert [h.host for h in snmp.hosts] == ["127.0.0.5", "127.0.0.6"]
    assert len(snmp.views) == 2
    assert not snmp.traps_vstack


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("snmp-server community public RX", "% Invalid input detected at '^' marker."),
        ("snmp-server user u g v3 auth md5 authpass1 priv aes 128 privpass1", "% Invalid input"),
        ("snmp-server user u g v3 auth sha short priv aes 128 privpass1", "% Invalid password"),
        ("snmp-server user u g v3 auth sha authpass1 priv des privpass1", "% Invalid input"),
        ("snmp-server user u g v3 encrypted auth sha 00:11 priv aes 128 00:11", "% Invalid key"),
        (
            f"snmp-server user u g v3 encrypted auth sha256 {SHA_KEY} priv aes 128 {SHA_KEY}",
            "% Invalid key: 32 octets",
        ),
        (
            f"snmp-server user u g v3 encrypted auth sha {SHA_KEY[:-2]}ZZ priv aes 128 {SHA_KEY}",
            "% Invalid key",
        ),
        ("snmp-server view v 1.3.x included", "% Invalid OID"),
        ("snmp-server view v 1.3.6 maybe", "% Invalid input"),
        ("snmp-server host 300.1.1.1 public", "% Invalid input"),
        ("snmp-server host 127.0.0.1 version 1 public", "% Invalid input"),
        ("snmp-server host 127.0.0.1 public udp-port 70000", "% Invalid input"),
        ("snmp-server group g v3 noauth", "% Invalid input"),
        ("snmp-server enable traps snmp", "% Invalid input"),
    ],
)
def test_bad_input_gets_an_ios_error(line: str, message: str) -> None:
    result = replay_director_config(line + "\n")
    assert len(result.errors) == 1, result.errors
    number, text, error = result.errors[0]
    assert (number, text) == (1, line)
    assert error.startswith(message)
    assert not result.settings.snmp.active


def test_a_user_s_passwords_are_kept_as_their_keys_only() -> None:
    # "Security by default: hashed secrets": the running configuration (so startup-config,
    # archives, backups and show running-config) holds the RFC 3414 keys, never a password
    result = replay_director_config(CONFIG)
    rendered = "\n".join(result.settings.render())
    for password in ("authpass1", "privpass1", "authpass2", "privpass2"):
        assert password not in rendered
    nms = result.settings.snmp.users["nms"]
    assert nms == SnmpUser("nms", "monitor", "sha", password_to_key("authpass1", "sha"),
                           password_to_key("privpass1", "sha"))  # fmt: skip
    ops = result.settings.snmp.users["ops"]
    assert len(ops.auth_key) == len(ops.priv_key) == 32  # SHA-256 (RFC 7860)
    assert (
        f"snmp-server user ops admins v3 encrypted auth sha256 {render_key(ops.auth_key)} "
        f"priv aes 128 {render_key(ops.priv_key)}"
    ) in rendered
    # the keys are taken with or without the colons between octets
    plain = nms.auth_key.hex()
    again = replay_director_config(
        f"snmp-server user nms monitor v3 encrypted auth sha {plain} priv aes 128 "
        f"{render_key(nms.priv_key).lower()}\n"
    )
    assert again.errors == [] and again.settings.snmp.users["nms"] == nms


def test_password_to_key_gives_rfc_3414_s_key() -> None:
    # RFC 3414 A.3.2: "maplesyrup" with SHA
    assert password_to_key("maplesyrup", "sha").hex() == "9fb5cc0381497b3793528939ff788d5d79145211"
    # RFC 7860's SHA-256 is the same algorithm: the password repeated to 1 MiB, hashed
    data = b"maplesyrup" * (1_048_576 // 10 + 1)
    assert password_to_key("maplesyrup", "sha256") == hashlib.sha256(data[:1_048_576]).digest()
