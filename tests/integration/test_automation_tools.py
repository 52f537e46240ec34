"""The director's CLI driven by the tools network engineers automate IOS with, over SSH to a
real director process: Netmiko (ConnectHandler, SSHDetect autodetect, ``use_textfsm``) and
NAPALM's ``ios`` driver (get_facts, get_interfaces, get_arp_table, get_environment)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.director_harness import (
    DirectorProcess,
    ScriptedClient,
    neighbour_client,
)
from tests.integration.test_cli_ssh import ENABLE, PASSWORD, start_director

PID = "WS-C2960X-48FPS-L"
MAC = "0050.5603.0001"


GROUPS = """vstack group built-in 2960 24
 image flash:c2960x.tar
 config flash:seed.txt
vstack group custom lab-custom mac
 match mac 0050.5603.0002
 image flash:c2960x.tar
vstack join-window start 04 july 2030 10:00 end 05 july 2030
"""


@pytest.fixture(scope="module")
def director(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DirectorProcess]:
    process = start_director(tmp_path_factory.mktemp("tools") / "director", extra=GROUPS)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def client(director: DirectorProcess) -> ScriptedClient:
    """One client that took a lease, said hello and reported the director as its CDP
    neighbour on its port Gi1/0/48 (a CDP neighbour always names its port)."""
    return neighbour_client(director, MAC, PID)


def device(director: DirectorProcess, **extra: Any) -> dict[str, Any]:
    return {
        "device_type": "cisco_ios", "host": director.address, "port": director.ports["ssh"],
        "username": "admin", "password": PASSWORD, "secret": ENABLE, "timeout": 20,
        "use_keys": False, "allow_agent": False, **extra,
    }  # fmt: skip


def host_interfaces() -> list[str]:
    return [name for _, name in sorted(socket.if_nameindex())]


def are_host_interfaces(names: Iterable[str], before: list[str]) -> bool:
    """``names`` are the host's interfaces: every one there before and after the command,
    and none that was not there at either time (other tests make and delete veth pairs)."""
    after = host_interfaces()
    return set(before) & set(after) <= set(names) <= set(before) | set(after)


def test_netmiko_autodetect_finds_cisco_ios(
    director: DirectorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SSHDetect tries every platform recognised by ``show version`` (IOS, IOS XE, NX-OS, IOS
    XR, EOS …) on the director's answer and picks cisco_ios. The platforms recognised by other
    commands are left out: SSHDetect waits about seven seconds on each of them."""
    detect = pytest.importorskip("netmiko.ssh_autodetect")
    by_version = [item for item in detect.SSH_MAPPER_BASE if item[1]["cmd"] == "show version"]
    assert len(by_version) > 10
    monkeypatch.setattr(detect, "SSH_MAPPER_BASE", by_version)
    guesser = detect.SSHDetect(**device(director, device_type="autodetect"))
    assert guesser.autodetect() == "cisco_ios"
    assert set(guesser.potential_matches) == {"cisco_ios"}


def test_ios_commands_automation_sends(director: DirectorProcess, client: ScriptedClient) -> None:
    netmiko = pytest.importorskip("netmiko")
    with netmiko.ConnectHandler(**device(director)) as conn:
        assert conn.send_command("show privilege") == "Current privilege level is 1"
        conn.enable()
        assert conn.send_command("show privilege") == "Current privilege level is 15"
        version = conn.send_command("show version")
        assert version.startswith("Cisco IOS Software, smartinstall Software")
        assert "Director uptime is 0 minutes" in version or "Director uptime is 1 minute" in version
        assert "Processor board ID " in version and "bytes of memory." in version
        before = host_interfaces()
        brief = conn.send_command("show ip interface brief")
        assert brief.splitlines()[0].split() == [
            "Interface", "IP-Address", "OK?", "Method", "Status", "Protocol"
        ]  # fmt: skip
        assert are_host_interfaces([line.split()[0] for line in brief.splitlines()[1:]], before)
        assert "lo                     127.0.0.1       YES manual up" in brief
        interfaces = conn.send_command("show interfaces")
        assert "lo is up, line protocol is up" in interfaces
        assert "Hardware is Loopback, address is 0000.0000.0000" in interfaces
        assert "Internet address is 127.0.0.1/8" in interfaces
        inventory = conn.send_command("show inventory")
        assert 'NAME: "Chassis", DESCR: "smartinstall director on Linux' in inventory
        assert "PID: SMARTINSTALL-DIRECTOR" in inventory
        arp = conn.send_command("show ip arp")
        assert arp == conn.send_command("show arp")
        rows = {line.split()[1]: line.split() for line in arp.splitlines()[1:]}
        assert rows[director.address][2:] == ["-", "0000.0000.0000", "ARPA", "lo"]
        assert rows[client.ip][2:] == ["0", MAC, "ARPA", "lo"]
        cdp = conn.send_command("show cdp neighbors")
        assert "Total cdp entries displayed : 1" in cdp
        assert "ACCESS-01" in cdp and "WS-C2960X" in cdp
        detail = conn.send_command("show cdp neighbors detail")
        assert f"  IP address: {client.ip}" in detail
        assert f"Platform: cisco {PID},  Capabilities: Switch IGMP" in detail
        assert "Version 15.2(7)E9" in detail
        section = conn.send_command("show running-config | section vstack dhcp-localserver")
        assert section.splitlines()[0] == "vstack dhcp-localserver lab"
        assert all(line.startswith(" ") for line in section.splitlines()[1:])
        assert conn.send_command("show running-config | include ^hostname") == "hostname Director"
        assert "Log Buffer" in conn.send_command("show logging | include Log Buffer")
        clock = conn.send_command("show clock")
        assert " UTC " in clock
        users = conn.send_command("show users")
        assert "admin" in users
        hosts = conn.send_command("show hosts")
        assert hosts.startswith("Default domain is ")
        missing = conn.send_command("show environment temperature status")
        assert "% Invalid input detected at '^' marker." in missing


def test_napalm_ios_getters(director: DirectorProcess, client: ScriptedClient) -> None:
    napalm = pytest.importorskip("napalm")
    driver = napalm.get_network_driver("ios")
    optional = {"port": director.ports["ssh"], "secret": ENABLE, "use_keys": False,
                "allow_agent": False}  # fmt: skip
    with driver(director.address, "admin", PASSWORD, timeout=20, optional_args=optional) as dev:
        before = host_interfaces()
        facts = dev.get_facts()
        assert facts["hostname"] == "Director"
        assert facts["model"] == "SMARTINSTALL-DIRECTOR"
        assert facts["os_version"].startswith("smartinstall Software (SMARTINSTALL-DIRECTOR)")
        assert 0 <= facts["uptime"] < 3600
        assert facts["serial_number"] not in ("", "Unknown")
        assert are_host_interfaces(facts["interface_list"], before)
        before = host_interfaces()
        interfaces = dev.get_interfaces()
        assert are_host_interfaces(interfaces, before)
        assert interfaces["lo"]["is_up"] and interfaces["lo"]["is_enabled"]
        assert interfaces["lo"]["mtu"] > 0
        arp = {row["ip"]: row for row in dev.get_arp_table()}
        assert arp[client.ip]["mac"] == "00:50:56:03:00:01"
        assert arp[client.ip]["interface"] == "lo"
        assert arp[director.address]["age"] == -1.0
        addresses = dev.get_interfaces_ip()
        assert addresses["lo"] == {"ipv4": {"127.0.0.1": {"prefix_length": 8}}}
        configs = dev.get_config()
        assert configs["running"].startswith("!\nhostname Director\n")
        assert configs["running"].endswith("end")
        assert f"vstack director {director.address}" in configs["startup"]
        status = dev.cli(["show vstack status"])["show vstack status"]
        assert MAC in status
        environment = dev.get_environment()
        memory = environment["memory"]
        assert 0 < memory["used_ram"] < memory["available_ram"]
        assert 0.0 <= environment["cpu"][0]["%usage"] <= 100.0
        assert environment["temperature"] == {
            "invalid": {"is_alert": False, "is_critical": False, "temperature": -1.0}
        }


def test_show_commands_of_the_host_are_filtered_like_any_other(
    director: DirectorProcess, tmp_path: Path
) -> None:
    netmiko = pytest.importorskip("netmiko")
    with netmiko.ConnectHandler(**device(director)) as conn:
        only_lo = conn.send_command("show interfaces | include ^lo ")
        assert only_lo.rstrip() == "lo is up, line protocol is up"
        assert conn.send_command("show memory statistics | include Processor").startswith(
            "Processor"
        )
        cpu = conn.send_command("show processes cpu | include CPU utilization")
        assert cpu.startswith("CPU utilization for five seconds: ")


#: IOS commands the director answers that ntc-templates parses, with a field every row has
NTC_PARSED = {
    "show version": "version",
    "show ip interface brief": "interface",
    "show ip interface": "interface",
    "show interfaces": "interface",
    "show inventory": "pid",
    "show arp": "address",
    "show ip arp": "ip_address",
    "show cdp neighbors": "neighbor_name",
    "show cdp neighbors detail": "neighbor_name",
    "show clock": "time",
    "show users": "line",
    "show processes cpu": "cpu_usage_1_min",
    "show logging": "mnemonic",
}


def test_netmiko_parses_director_and_ios_commands_through_the_chained_index(
    director: DirectorProcess,
    client: ScriptedClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``NET_TEXTFSM`` at the directory ``smartinstall textfsm-dir`` writes: Netmiko parses
    the director's ``show vstack`` forms with smartinstall's templates and the IOS commands
    with ntc-templates'; every one gives rows."""
    netmiko = pytest.importorskip("netmiko")
    textfsm_dir = pytest.importorskip("smartinstall.textfsm_dir")
    if textfsm_dir.ntc_templates_dir() is None:
        pytest.skip("ntc-templates is not installed")
    monkeypatch.setenv("NET_TEXTFSM", str(textfsm_dir.write_chained_dir(tmp_path / "tfsm")))
    with netmiko.ConnectHandler(**device(director)) as conn:
        conn.enable()
        status = conn.send_command("show vstack status", use_textfsm=True)
        assert isinstance(status, list), status
        assert any(row["mac_address"] == MAC for row in status)
        for command, key in NTC_PARSED.items():
            rows = conn.send_command(command, use_textfsm=True)
            assert isinstance(rows, list) and rows, (command, rows)
            assert all(row.get(key) not in (None, "") for row in rows), (command, rows)
        # the CDP row is read in its columns, not shifted (a port left empty shifted them)
        (neighbour,) = conn.send_command("show cdp neighbors", use_textfsm=True)
        assert neighbour["neighbor_interface"] == "Gig 1/0/48", neighbour
        assert neighbour["platform"] == PID[:9], neighbour


def parse(command: str, output: str) -> list[dict[str, Any]]:
    """``output`` parsed by the package's own index and templates, as Netmiko would."""
    from textfsm import clitable

    from smartinstall.textfsm_dir import TEMPLATES

    table = clitable.CliTable("index", str(TEMPLATES))
    table.ParseCmd(output, {"Command": command, "Platform": "cisco_ios"})
    keys = [heading.lower() for heading in table.header]
    return [dict(zip(keys, row, strict=True)) for row in table]


def test_the_shipped_templates_parse_the_directors_own_output(
    director: DirectorProcess, client: ScriptedClient
) -> None:
    """Every template added for issue 20 against what the running director prints."""
    pytest.importorskip("textfsm")
    netmiko = pytest.importorskip("netmiko")
    with netmiko.ConnectHandler(**device(director)) as conn:
        conn.enable()

        def rows(command: str) -> list[dict[str, Any]]:
            return parse(command, conn.send_command(command))

        host = rows(f"show vstack host {client.ip}")  # the host's row, then one per neighbour
        assert [(r["devno"], r["mac_address"], r["ip_address"], r["hostname"]) for r in host] == [
            ("1", MAC, client.ip, "ACCESS-01")
        ] * 2
        assert [(r["neighbor_id"], r["local_interface"]) for r in host] == [
            ("", ""),
            ("Director", "Gig 1/0/48"),
        ]
        families = rows("show vstack group built-in")
        assert {"name": "2960x", "description": "2960x product family"} in families
        assert len(families) > 30
        ports = rows("show vstack group built-in 2960")
        assert {"name": "24", "description": "24 port, 2 dual purpose or TT uplinks"} in ports
        detail = rows("show vstack group built-in 2960 24 detail")
        assert detail == [
            {"group_name": "2960 24", "image": "flash:c2960x.tar", "config": "flash:seed.txt",
             "script": ""}
        ]  # fmt: skip
        configured = rows("show vstack group built-in detail configured")
        assert [row["group_name"] for row in configured] == ["2960 24"]
        every = rows("show vstack group built-in detail")
        assert len(every) > 100 and {"1783 6", "2960 24"} <= {r["group_name"] for r in every}
        custom = rows("show vstack group custom detail")
        assert custom == rows("show vstack group custom lab-custom detail")
        assert custom == [
            {"group_name": "lab-custom", "image": ["flash:c2960x.tar"], "config": "",
             "script": "", "connectivity": [], "product_id": [], "stack": [],
             "mac_address": ["0050.5603.0002"]}
        ]  # fmt: skip
        window = rows("show vstack join-window configuration")
        assert window == [
            {"window": "Closed (scheduled)", "start_date": "04 Jul 2030", "start_time": "10:00",
             "interval": "", "end_date": "05 Jul 2030", "recurring": "no",
             "mode": "auto (default)"}
        ]  # fmt: skip
        assert rows("show privilege") == [{"level": "15"}]
        hosts = rows("show hosts")
        assert len(hosts) == 1 and hosts[0]["lookup"] == "domain service"
        assert hosts[0]["default_domain"] and hosts[0]["name_servers"]
        memory = rows("show memory statistics")
        assert [row["pool"] for row in memory] == ["Processor", "I/O"]
        assert int(memory[0]["total"]) > int(memory[0]["used"]) > 0
        # `| json` shapes with the same templates, also what a command prints from a thread
        shaped = json.loads(conn.send_command("show memory statistics | json"))
        assert [row["pool"] for row in shaped] == ["Processor", "I/O"]
        assert json.loads(conn.send_command("show privilege | json")) == [{"level": "15"}]
