"""Ansible's ``cisco.ios`` collection against a real director process: ``ansible-playbook``
(installed by scripts/install-test-tools in its own venv) over ``ansible.netcommon.network_cli``
to the director's SSH command line, ``become: enable`` with the enable secret, then
``ios_facts``, ``ios_command`` and ``ios_config`` (with ``save_when: modified``).

Ansible runs offline with everything it writes in the test's temporary folder (its home, temp
and persistent-connection sockets, no ``~/.ansible``), host key checking off, the collections
the ``ansible`` package carries (nothing fetched).

Guide: "Managing Client Configuration Files" (the director's running and startup
configuration), "Using the CLI for On-Demand Upgrades" (``show vstack status``)."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import re
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.director_harness import (
    DirectorProcess,
    ScriptedClient,
    console,
    neighbour_client,
)
from tests.integration.test_cli_ssh import ENABLE, PASSWORD, start_director
from tests.tools import require_program

PID = "WS-C2960X-48FPS-L"
MAC = "0050.5603.0001"
PLAYBOOK_TIMEOUT = 240  # seconds; a run takes a few seconds on an idle machine


@pytest.fixture(scope="module")
def ansible_playbook() -> str:
    return require_program("ansible-playbook")


@pytest.fixture(scope="module")
def director(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DirectorProcess]:
    process = start_director(tmp_path_factory.mktemp("ansible") / "director")
    yield process
    process.stop()


@pytest.fixture(scope="module")
def client(director: DirectorProcess) -> ScriptedClient:
    """A client that took a lease, said hello and reported the director as its neighbour on
    its port Gi1/0/48: the director's one CDP neighbour."""
    return neighbour_client(director, MAC, PID)


def inventory(director: DirectorProcess) -> str:
    return (
        "[directors]\n"
        f"director ansible_host={director.address} ansible_port={director.ports['ssh']}\n\n"
        "[directors:vars]\n"
        "ansible_connection=ansible.netcommon.network_cli\n"
        "ansible_network_os=cisco.ios.ios\n"
        "ansible_user=admin\n"
        f"ansible_password={PASSWORD}\n"
        "ansible_become=true\n"
        "ansible_become_method=enable\n"
        f"ansible_become_password={ENABLE}\n"
        "ansible_python_interpreter={{ ansible_playbook_python }}\n"
    )


def ansible_env(folder: Path) -> dict[str, str]:
    """Ansible's settings for a run that writes only under ``folder`` and reaches no network
    but the director's loopback address."""
    for name in ("home", "tmp", "cp", "collections"):
        (folder / name).mkdir(exist_ok=True)
    (folder / "ansible.cfg").write_text("[defaults]\n")
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": str(folder / "home"),
        "ANSIBLE_CONFIG": str(folder / "ansible.cfg"),
        "ANSIBLE_HOME": str(folder / "home" / ".ansible"),
        "ANSIBLE_LOCAL_TEMP": str(folder / "tmp"),
        "ANSIBLE_PERSISTENT_CONTROL_PATH_DIR": str(folder / "cp"),
        "ANSIBLE_COLLECTIONS_PATH": str(folder / "collections"),
        "ANSIBLE_LOG_PATH": str(folder / "ansible.log"),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_PERSISTENT_CONNECT_TIMEOUT": "60",
        "ANSIBLE_PERSISTENT_COMMAND_TIMEOUT": "60",
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
        "ANSIBLE_GALAXY_SERVER": "http://127.0.0.1:9/",
    }


def run_playbook(
    ansible_playbook: str, director: DirectorProcess, folder: Path, tasks: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run one play of ``tasks`` on the director: (each task's result, the host's stats)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "inventory.ini").write_text(inventory(director))
    play = [{"hosts": "directors", "gather_facts": False, "tasks": tasks}]
    (folder / "play.yml").write_text(json.dumps(play))  # JSON is YAML
    result = subprocess.run(
        [ansible_playbook, "-i", "inventory.ini", "play.yml"],
        cwd=folder, env=ansible_env(folder), capture_output=True, text=True,
        timeout=PLAYBOOK_TIMEOUT,
    )  # fmt: skip
    try:
        report = json.loads(result.stdout)
    except ValueError:
        raise AssertionError(f"no JSON report:\n{result.stdout[-3000:]}\n{result.stderr}") from None
    (played,) = report["plays"]
    results = [task["hosts"]["director"] for task in played["tasks"]]
    stats = report["stats"]["director"]
    assert result.returncode == 0 and not stats["failures"] and not stats["unreachable"], (
        json.dumps(results, indent=1)[-4000:] + result.stderr[-2000:]
    )
    return results, stats


def show(director: DirectorProcess, command: str) -> str:
    return asyncio.run(console(director, command + "\n"))


def host_interfaces() -> set[str]:
    return {name for _, name in socket.if_nameindex()}


def host_global_ipv6() -> set[str]:
    """The host's global-scope IPv6 addresses as IOS writes them (upper case)."""
    try:
        rows = Path("/proc/net/if_inet6").read_text().splitlines()
    except OSError:
        return set()
    found = set()
    for row in rows:
        fields = row.split()
        if len(fields) == 6 and int(fields[3], 16) == 0:
            packed = bytes.fromhex(fields[0])
            found.add(str(ipaddress.IPv6Address(packed)).upper())
    return found


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_ansible_playbook_facts_commands_and_config(
    ansible_playbook: str, director: DirectorProcess, client: ScriptedClient, tmp_path: Path
) -> None:
    """One test, so that a machine without Ansible skips it once: ``ios_facts`` and
    ``ios_command`` in a first run, ``ios_config`` in a second, the same again in a third."""
    tasks = [
        {"name": "facts", "cisco.ios.ios_facts": {"gather_subset": ["all"]}},
        {
            "name": "commands",
            "cisco.ios.ios_command": {"commands": ["show vstack status", "show version"]},
        },
    ]
    before = host_interfaces()
    gathered, stats = run_playbook(ansible_playbook, director, tmp_path / "facts", tasks)
    during = (before & host_interfaces(), before | host_interfaces())
    assert stats["changed"] == 0
    check_facts(gathered[0]["ansible_facts"], director, client, during)
    check_commands(gathered[1])
    check_config(ansible_playbook, director, tmp_path)


def check_facts(
    facts: dict[str, Any],
    director: DirectorProcess,
    client: ScriptedClient,
    host: tuple[set[str], set[str]],
) -> None:
    """What ``ios_facts`` gathers is what the director's ``show version`` says, and its
    interfaces are the host's (no interface made up from an error message)."""
    version = show(director, "show version")
    match = re.search(r"Version (\S+),", version)
    assert match is not None, version
    assert facts["ansible_net_version"] == match.group(1)
    assert facts["ansible_net_hostname"] == "Director"
    assert re.search(r"^Director uptime is ", version, re.M)
    assert facts["ansible_net_model"] == "SMARTINSTALL-DIRECTOR"
    assert re.search(r"^cisco SMARTINSTALL-DIRECTOR .* bytes of memory", version, re.M | re.I)
    serial = re.search(r"Processor board ID (\S+)", version)
    assert serial is not None and facts["ansible_net_serialnum"] == serial.group(1)
    assert facts["ansible_net_iostype"] == "IOS"
    assert facts["ansible_net_system"] == "ios"
    # interfaces: exactly the host's, with their addresses; ``host`` is (those there before and
    # after the run, those there at either time): other tests make and delete veth pairs
    interfaces = facts["ansible_net_interfaces"]
    always, ever = host
    assert always <= set(interfaces) <= ever
    assert interfaces["lo"]["ipv4"] == [{"address": "127.0.0.1", "subnet": "8"}]
    assert interfaces["lo"]["operstatus"] == "up" and interfaces["lo"]["type"] == "Loopback"
    assert "127.0.0.1" in facts["ansible_net_all_ipv4_addresses"]
    assert set(facts["ansible_net_all_ipv6_addresses"]) == host_global_ipv6()
    # the neighbour the director learned from the client's messages
    neighbors = [n for rows in facts["ansible_net_neighbors"].values() for n in rows]
    assert [(n["host"], n["ip"]) for n in neighbors] == [("ACCESS-01", client.ip)]
    assert neighbors[0]["platform"] == f"cisco {PID}"
    assert neighbors[0]["port"] == "GigabitEthernet1/0/48"
    # hardware and config subsets
    assert facts["ansible_net_filesystems"] == ["flash:"]
    assert 0 < facts["ansible_net_memfree_mb"] < facts["ansible_net_memtotal_mb"]
    assert "\nhostname Director\n" in facts["ansible_net_config"]


def check_commands(result: dict[str, Any]) -> None:
    status, version = result["stdout"]
    assert "SmartInstall: ENABLED" in status and MAC in status
    assert version.startswith("Cisco IOS Software, smartinstall Software")


def check_config(ansible_playbook: str, director: DirectorProcess, folder: Path) -> None:
    """``ios_config`` (at privilege 15 through ``become: enable``: the user's own level is 1)
    adds a syslog host and a custom group (a section, by its parent line); ``save_when:
    modified`` writes the startup-config; the same play again changes nothing."""
    tasks = [
        {
            "name": "syslog host",
            "cisco.ios.ios_config": {"lines": ["logging host 127.9.9.10"]},
        },
        {
            "name": "custom group",
            "cisco.ios.ios_config": {
                "parents": ["vstack group custom ansible-lab mac"],
                "lines": ["match mac 0050.5603.0042"],
                "save_when": "modified",
            },
        },
    ]
    startup = director.data_dir / "startup-config"
    assert "logging host 127.9.9.10" not in startup.read_text()
    results, stats = run_playbook(ansible_playbook, director, folder / "config", tasks)
    assert stats["changed"] == 2
    assert results[0]["updates"] == ["logging host 127.9.9.10"]
    assert results[1]["updates"] == [
        "vstack group custom ansible-lab mac", "match mac 0050.5603.0042"
    ]  # fmt: skip
    running = show(director, "show running-config")
    assert "\nlogging host 127.9.9.10\n" in running
    assert "\nvstack group custom ansible-lab mac\n match mac 0050.5603.0042\n" in running
    saved = startup.read_text()
    assert "logging host 127.9.9.10" in saved
    assert "vstack group custom ansible-lab mac\n match mac 0050.5603.0042\n" in saved
    # again: nothing to change, nothing to save
    results, stats = run_playbook(ansible_playbook, director, folder / "again", tasks)
    assert stats["changed"] == 0, results
    assert [r["changed"] for r in results] == [False, False]
    assert startup.read_text() == saved
