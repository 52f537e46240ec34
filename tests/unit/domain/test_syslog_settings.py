"""The ``logging`` lines of the director's configuration: several hosts per address, TLS,
``logging trap``, ``logging source-interface`` and ``logging tls-ca``."""

from __future__ import annotations

import pytest

from smartinstall.domain.errors import DomainError
from smartinstall.domain.syslog import (
    LoggingHost,
    SyslogSettings,
    parse_severity,
    with_host,
    without_host,
)
from smartinstall.ios import PRIVILEGED_LEVEL, Engine
from smartinstall.ios.director_commands import DirectorCommands
from smartinstall.ios.director_config.syslog import SyslogCommands


@pytest.mark.parametrize(
    ("word", "level"),
    [("0", 0), ("7", 7), ("warnings", 4), ("warn", 4), ("Informational", 6), ("deb", 7)],
)
def test_severities_by_name_or_number(word: str, level: int) -> None:
    assert parse_severity(word) == level


@pytest.mark.parametrize("word", ["8", "e", "loud", ""])
def test_bad_severities(word: str) -> None:
    with pytest.raises(DomainError):
        parse_severity(word)


def test_default_ports_and_rendering() -> None:
    assert LoggingHost("10.0.0.1").render() == "logging host 10.0.0.1"
    assert LoggingHost("10.0.0.1", "tls").port == 6514
    assert LoggingHost("10.0.0.1", "tls").render() == "logging host 10.0.0.1 transport tls"
    assert LoggingHost("10.0.0.1", "tls", 7000, True).render() == (
        "logging host 10.0.0.1 transport tls port 7000 rfc3164"
    )
    assert LoggingHost("10.0.0.1", "udp", 5514).render() == (
        "logging host 10.0.0.1 transport udp port 5514"
    )
    assert LoggingHost.parse(["10.0.0.1", "transport", "tls", "port", "7000"]).port == 7000


def test_one_address_many_destinations() -> None:
    hosts: list[LoggingHost] = []
    for host in (
        LoggingHost("10.0.0.1", "udp", 514),
        LoggingHost("10.0.0.1", "udp", 5514),
        LoggingHost("10.0.0.1", "tcp", 601),
        LoggingHost("10.0.0.1", "udp", 5514, rfc3164=True),  # replaces its twin
    ):
        hosts = with_host(hosts, host)
    assert [h.key for h in hosts] == [
        ("10.0.0.1", "udp", 514),
        ("10.0.0.1", "tcp", 601),
        ("10.0.0.1", "udp", 5514),
    ]
    assert hosts[-1].rfc3164
    assert [h.port for h in without_host(hosts, "10.0.0.1", "udp", 5514)] == [514, 601]
    assert [h.port for h in without_host(hosts, "10.0.0.1", "udp")] == [601]
    assert without_host(hosts, "10.0.0.1") == []


def test_syslog_settings_render() -> None:
    assert SyslogSettings().render() == []
    assert SyslogSettings(trap=None).render() == ["no logging trap"]
    assert SyslogSettings(4, "lo", "ca.pem").render() == [
        "logging trap warnings",
        "logging source-interface lo",
        "logging tls-ca ca.pem",
    ]


@pytest.fixture
def known_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    sources = {"Loopback0": "10.9.9.9", "10.1.1.1": "10.1.1.1"}
    monkeypatch.setattr(SyslogCommands, "resolve_source", staticmethod(sources.get))


def test_the_commands(known_sources: None) -> None:
    engine = Engine(hostname="Director")
    commands = DirectorCommands()
    engine.add(commands)
    session = engine.session(PRIVILEGED_LEVEL)
    session.run("configure terminal")
    for line in (
        "logging host 10.0.0.7 transport udp port 5514",
        "logging host 10.0.0.7 transport udp port 5515",
        "logging host 10.0.0.7 transport tls",
        "logging trap 4",
        "logging source-interface Loopback0",
        "logging tls-ca /etc/ssl/syslog-ca.pem",
    ):
        assert session.run(line) == "", line
    settings = commands.settings
    assert settings.syslog == SyslogSettings(4, "Loopback0", "/etc/ssl/syslog-ca.pem")
    assert [h.render() for h in settings.logging_hosts] == [
        "logging host 10.0.0.7 transport udp port 5514",
        "logging host 10.0.0.7 transport udp port 5515",
        "logging host 10.0.0.7 transport tls",
    ]
    refused = session.run("logging source-interface Loopback9")
    assert refused.endswith("^\n% Invalid input detected at '^' marker.\n\n")
    caret = refused.index("^")
    assert caret == len("Director(config)#logging source-interface ")
    assert settings.syslog.source_interface == "Loopback0"
    assert session.run("logging source-interface 10.1.1.1") == ""
    assert session.run("logging trap critical") == ""
    assert settings.syslog.trap == 2
    assert session.run("no logging trap") == ""
    assert settings.syslog.trap is None
    assert session.run("logging trap") == ""
    assert settings.syslog.trap == 6
    assert session.run("no logging host 10.0.0.7 transport udp port 5514") == ""
    assert len(settings.logging_hosts) == 2
    for line in ("no logging host 10.0.0.7", "no logging source-interface", "no logging tls-ca"):
        assert session.run(line) == "", line
    assert settings.logging_hosts == [] and settings.syslog == SyslogSettings()


def test_a_mnemonic_in_an_output_filter_finds_its_lines() -> None:
    from smartinstall.ios.engine import apply_filter

    text = (
        "Jan  2 03:04:05.006: %SMI-6-SWITCH_ADD: New Device detected by Director\n"
        "Jan  2 03:04:06.006: %SMI-6-SWITCH_REMOVE: Device removed\n"
        "hostname sw_10\nvstack vlan 1,10\n"
    )
    assert apply_filter("include", "%SMI-6-SWITCH_ADD", text) == text.splitlines(True)[0]
    assert apply_filter("include", "SWITCH_", text) == ""  # `_` at the end: a delimiter
    assert apply_filter("include", "_10$", text) == "vstack vlan 1,10\n"
    assert apply_filter("include", "sw_10", text) == "hostname sw_10\n"
