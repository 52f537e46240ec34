"""SMI Proxy's commands on the director's engine (guide, chapter 4 "Enabling Proxy on the
Device", "SMI Proxy CLI Commands", and the command reference of ``show vstack``): ``vstack
proxy``, what proxy mode hides and refuses, ``pnp profile``, ``show vstack config`` and ``show
vstack proxy-db`` as the guide lays them out."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartinstall.director.terminals import build_engine
from smartinstall.director.views.proxy import (
    ProxyClient,
    show_vstack_proxy_db,
    show_vstack_proxy_db_detail,
)
from smartinstall.domain.proxy import ClientUdi, EntryState, ProxyEntry
from smartinstall.domain.settings import DirectorSettings
from smartinstall.ios import Engine, Session, StartupConfig
from smartinstall.ios.director_commands import replay_director_config
from smartinstall.ios.director_config.proxy import PROXY_ENABLED
from tests.unit.director.director_host import Host, make_host

GUIDE_VSTACK_HELP = """\
  dhcp-localserver  Configure vstack dhcp parameters
  proxy             Configure smi pnp proxy feature
  startup-vlan      Configure vstack startup management vlan
  vlan              Configure vstack management vlan
  <cr>

"""
GUIDE_SHOW_VSTACK_HELP = """\
  config           View configuration parameters under Vstack mode
  download-status  show the status of config or image download
  proxy-db         show the proxy database
  status           show the status of CDP database

"""
GUIDE_SHOW_CONFIG = """\
Role: SMI PnP Proxy
Vstack SMI PnP Proxy IP address: 127.0.0.1
Vstack default management vlan: 1
Vstack start-up management vlan: 1
Vstack management Vlans: 1
"""


@pytest.fixture
def host(tmp_path: Path) -> Host:
    return make_host(tmp_path)


def session(host: Host) -> tuple[Engine, Session]:
    engine, _, _, _ = build_engine(host, StartupConfig.in_directory(host.data_dir), ())
    from smartinstall.director.terminals import director_config_set

    engine.add(director_config_set(engine, host))
    return engine, engine.session(level=15)


def run(s: Session, *lines: str) -> list[str]:
    return [s.run(line) for line in lines]


def test_vstack_proxy_runs_the_internal_steps_and_hides_the_director(host: Host) -> None:
    """Step 2 of "Enabling Proxy on the Device": the internal vstack, vstack director, vstack
    basic and vstack startup-vlan; then `vstack ?` is the guide's listing."""
    _, s = session(host)
    assert run(s, "configure terminal", "vstack proxy ip-address 127.0.0.1 startup-vlan 1") == [
        "Enter configuration commands, one per line.  End with CNTL/Z.\n",
        "",
    ]
    settings = host.settings
    assert settings.director_ip == "127.0.0.1" and settings.basic and settings.startup_vlan == 1
    assert settings.proxy is not None and settings.proxy.profile == "pnp-zero-touch"
    assert s.help("vst ") == GUIDE_VSTACK_HELP
    assert "director" not in s.help("no vstack ")


@pytest.mark.parametrize(
    "line",
    [
        "vstack director 127.0.0.1",
        "vstack basic",
        "vstack join-window close",
        "vstack backup",
        "no vstack backup",
        "vstack image flash:c2960x-universalk9-tar.152-7.E9.tar",
    ],
)
def test_the_director_commands_are_not_accessible_in_proxy_mode(host: Host, line: str) -> None:
    """ "Once SMI Proxy is enabled, the following commands are not accessible: vstack director
    ip, vstack basic, vstack join-window, vstack backup" ("SMI Director and SMI Proxy are
    mutually exclusive")."""
    _, s = session(host)
    run(s, "configure terminal", "vstack proxy ip-address 127.0.0.1")
    before = host.settings.render()
    assert s.run(line) == PROXY_ENABLED + "\n"
    assert host.settings.render() == before


def test_no_vstack_proxy_gives_the_director_commands_back(host: Host) -> None:
    _, s = session(host)
    run(s, "configure terminal", "vstack proxy ip-address 127.0.0.1 startup-vlan 5")
    assert run(s, "no vstack proxy") == [""]
    assert host.settings.proxy is None and host.settings.director_ip is None
    assert "director" in s.help("vstack ") and "join-window" in s.help("vstack ")
    assert run(s, "vstack director 127.0.0.1", "vstack basic") == ["", ""]


def test_show_vstack_lists_four_commands_in_proxy_mode(host: Host) -> None:
    """ "After proxy mode is enabled, only the following commands are accessible" (show vstack
    ?): config, download-status, proxy-db, status."""
    _, s = session(host)
    run(s, "configure terminal", "vstack proxy ip-address 127.0.0.1", "end")
    assert s.help("show vstack ") == GUIDE_SHOW_VSTACK_HELP


def test_show_vstack_config_in_proxy_mode(host: Host) -> None:
    """The guide's "example output from the show vstack config command in SMI Proxy mode",
    followed by the profile and its PnP server."""
    _, s = session(host)
    run(
        s,
        "configure terminal",
        "pnp profile pnp-zero-touch",
        "transport http ipv4 127.0.0.9 port 8080",
        "exit",
        "vstack proxy ip-address 127.0.0.1 startup-vlan 1 pnp-profile pnp-zero-touch",
        "end",
    )
    host.director.refresh_role()
    out = s.run("show vstack config")
    assert out.startswith(GUIDE_SHOW_CONFIG)
    assert out[len(GUIDE_SHOW_CONFIG) :] == (
        "Vstack PnP profile: pnp-zero-touch (default)\nVstack PnP server: http://127.0.0.9:8080\n"
    )


def test_the_configuration_renders_and_replays(host: Host) -> None:
    engine, s = session(host)
    run(
        s,
        "configure terminal",
        "pnp profile branch",
        "transport https ipv4 127.0.0.9 port 8443 remotecert flash:pnp-ca.pem",
        "exit",
        "vstack proxy ip-address 127.0.0.1 startup-vlan 7 pnp-profile branch",
        "end",
    )
    text = engine.running_config()
    assert "pnp profile branch\n transport https ipv4 127.0.0.9 port 8443 remotecert" in text
    assert "vstack proxy ip-address 127.0.0.1 startup-vlan 7 pnp-profile branch\n" in text
    assert "vstack director" not in text and "vstack basic" not in text
    again = replay_director_config(text, lambda address: True)
    assert again.errors == []
    assert again.settings.render() == host.settings.render()


def test_vstack_proxy_refuses_an_address_of_another_host(host: Host) -> None:
    """The director IP "must match with at least one of the switch IP"."""
    engine, s = session(host)
    commands = engine.sets[-1]
    commands._owns_address = lambda address: False  # type: ignore[attr-defined]
    run(s, "configure terminal")
    out = s.run("vstack proxy ip-address 192.0.2.1")
    assert out == "Command Rejected: The Director IP address does not match a switch IP address.\n"
    assert host.settings.proxy is None


def test_vstack_proxy_interface_takes_the_interface_address(host: Host) -> None:
    """ "Given the interface name, the SMI Proxy uses the associated IP address"."""
    engine, s = session(host)
    commands = engine.sets[-1]
    commands.interface_address = {"vlan1": "127.0.0.1"}.get  # type: ignore[attr-defined]
    run(s, "configure terminal")
    assert s.run("vstack proxy interface vlan 1 startup-vlan 1") == ""
    assert host.settings.director_ip == "127.0.0.1"
    assert "vstack proxy interface vlan1 startup-vlan 1" in engine.running_config()
    assert s.run("vstack proxy interface eth9") == "% Interface eth9 has no IPv4 address\n"


def test_show_vstack_proxy_db_layouts() -> None:
    """The guide's `show vstack proxy-db` and `show vstack proxy-db detail` examples."""
    entry = ProxyEntry(
        "001e.f76d.af80", ClientUdi("WS-C3750E-48TD", "V01", "FDO1152V10R"), EntryState.HELLO
    )
    clients = [ProxyClient(entry, "5.1.1.4", "Switch", "A")]
    assert show_vstack_proxy_db(clients, enabled=True).splitlines() == [
        "Smi PnP Proxy:    ENABLED",
        "",
        "Proxy Database:",
        "MAC ADDR         UDI                                               State",
        "-----          -",
        "001e.f76d.af80   PID:WS-C3750E-48TD,VID:V01,SN:FDO1152V10R         HELLO",
        "",
        "Status: Health_status",
        "Health_status: A - Active I - Inactive",
        "Proxy Database:",
        "MAC ADDR         IP_addr          Hostname          Status",
        "-----          -",
        "001e.f76d.af80   5.1.1.4          Switch            A",
    ]
    assert show_vstack_proxy_db_detail(clients, enabled=True).splitlines() == [
        "Smi PnP Proxy:    ENABLED",
        "",
        "-----",
        "Device ID          : Switch",
        "MAC Address        : 001e.f76d.af80",
        "IP Addr            : 5.1.1.4",
        "UDI                : PID:WS-C3750E-48TD,VID:V01,SN:FDO1152V10R",
        "state              : HELLO",
        "status             : A",
        "",
    ]


def test_show_vstack_proxy_db_without_proxy_mode(host: Host) -> None:
    _, s = session(host)
    assert s.run("show vstack proxy-db") == "Smi PnP Proxy:    DISABLED\n"
    assert s.run("show vstack proxy-db detail") == "Smi PnP Proxy:    DISABLED\n"


def test_the_proxy_outputs_parse_back_as_json() -> None:
    """`show vstack proxy-db [detail] | json` and `show vstack config | json` in proxy mode:
    the shipped TextFSM templates read the outputs back (Netmiko's use_textfsm too)."""
    import json

    from smartinstall.director.structured import structure
    from smartinstall.director.views.proxy import show_vstack_proxy_config
    from smartinstall.domain.proxy import ProxySettings

    entry = ProxyEntry("001e.f76d.af80", ClientUdi("WS-C3750E-48TD", "V01", "FDO1152V10R"))
    clients = [ProxyClient(entry, "5.1.1.4", "Switch", "A")]
    rows = json.loads(
        structure("show vstack proxy-db", show_vstack_proxy_db(clients, enabled=True)) or ""
    )
    assert rows == [{"mac_addr": "001e.f76d.af80", "udi": str(entry.udi), "state": "NO STATE"}]
    detail = show_vstack_proxy_db_detail(clients, enabled=True)
    [row] = json.loads(structure("show vstack proxy-db detail", detail) or "")
    assert row["ip_addr"] == "5.1.1.4" and row["status"] == "A" and row["udi"] == str(entry.udi)
    settings = DirectorSettings(
        director_ip="4.1.1.1", basic=True, startup_vlan=1, proxy=ProxySettings(ip="4.1.1.1")
    )
    [config] = json.loads(structure("show vstack config", show_vstack_proxy_config(settings)) or "")
    assert (config["role"], config["director_ip"], config["startup_vlan"]) == (
        "SMI PnP Proxy",
        "4.1.1.1",
        "1",
    )
