"""Netmiko's ``use_textfsm=True`` against a running director, through the index ``smartinstall
textfsm-dir`` writes: ``show vstack client … {version | running-config | tech-support}`` (the
director logs in to an emulated switch's telnet console, guide "Connecting to a Client
Switch"), ``show vstack proxy-db [detail]`` of a director in SMI Proxy mode (guide, "SMI Proxy
Database"), and the IOS commands the director answers for automation (``show ipv6 interface``,
``show lldp``, ``show cdp``, ``verify /md5``, ``show archive config …``, ``dir``) give the rows
of what the director and the switch hold."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from smartinstall.director.exec import host_probe
from smartinstall.director.exec.host_protocols import SCOPE_HOST, SCOPE_LINK, ipv6_addresses
from smartinstall.domain.proxy import (
    PROXY_DB_NAME,
    ClientUdi,
    EntryState,
    ProxyDatabase,
    render_proxy_db,
)
from smartinstall.switch.machine import Switch
from smartinstall.switch.shell import TelnetConsole
from tests.integration.director_harness import (
    DirectorProcess,
    ScriptedClient,
    free_port,
    lab_prefix,
)
from tests.integration.test_automation_tools import GROUPS, MAC, PID, device
from tests.integration.test_cli_ssh import config
from tests.unit.switch.test_machine import make, network

pytest.importorskip("textfsm")
netmiko = pytest.importorskip("netmiko")
textfsm_dir = pytest.importorskip("smartinstall.textfsm_dir")

pytestmark = pytest.mark.timeout(240)
T = TypeVar("T")
OLD = "hostname A\ninterface Gi1/0/1\n description old\nntp server 10.0.0.1\n"
NEW = "hostname B\ninterface Gi1/0/1\n description new\nsnmp-server community lab\n"


class ConsoleThread:
    """An emulated switch's telnet console on an event loop of its own (Netmiko is
    synchronous): the client the director logs in to for ``show vstack client``."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.switch: Switch | None = None
        self.console: TelnetConsole | None = None

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    def start(self, root: Path, address: str, port: int) -> Switch:
        async def go() -> Switch:
            switch = make(root, network(lease=None))
            self.console = TelnetConsole(switch, port, host=address)
            await self.console.start()
            return switch

        self.switch = self.run(go())
        return self.switch

    def running_config(self) -> str:
        """What the switch's ``show running-config`` prints after its two header lines."""

        async def read() -> str:
            assert self.console is not None
            return self.console.engine.running_config()

        return self.run(read())

    def close(self) -> None:
        async def stop() -> None:
            if self.console is not None:
                await self.console.close()
            if self.switch is not None:
                await self.switch.shutdown()

        try:
            self.run(stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
            self.loop.close()


@dataclass
class Lab:
    director: DirectorProcess
    client: ScriptedClient
    switch: Switch
    running_config: str


def join(director: DirectorProcess, mac: str, hostname: str) -> ScriptedClient:
    scripted = ScriptedClient(director, mac, PID)

    async def go() -> None:
        await scripted.dhcp(upstream=("GigabitEthernet1/0/1", "0000.0c07.ac01"))
        await scripted.hello(hostname)
        await director.await_log(f"mac address: {mac}")

    asyncio.run(go())
    return scripted


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A director whose client 1 has its telnet console up (``--client-telnet-port``)."""
    root = tmp_path_factory.mktemp("textfsm-live")
    prefix = lab_prefix()
    ssh_port = free_port(f"{prefix}.1", socket.SOCK_STREAM)
    telnet_port = free_port(f"{prefix}.1", socket.SOCK_STREAM)
    director = DirectorProcess(
        root / "director",
        prefix,
        config(prefix, ssh_port, GROUPS),
        extra_args=["--client-telnet-port", str(telnet_port)],
    )
    director.ports["ssh"] = ssh_port
    (director.flash / "seed.txt").write_text("hostname seed\n!\nend\n")
    (director.flash / "old.txt").write_text(OLD)
    (director.flash / "new.txt").write_text(NEW)
    consoles = ConsoleThread()
    director.start()
    try:
        director.wait_for_log("SSH CLI on")
        client = join(director, MAC, "ACCESS-01")
        switch = consoles.start(root / "switch", client.ip, telnet_port)
        yield Lab(director, client, switch, consoles.running_config())
    finally:
        director.stop()
        consoles.close()


@pytest.fixture
def chained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if textfsm_dir.ntc_templates_dir() is None:
        pytest.skip("ntc-templates is not installed")
    directory: Path = textfsm_dir.write_chained_dir(tmp_path / "tfsm")
    monkeypatch.setenv("NET_TEXTFSM", str(directory))
    return directory


def rows(conn: Any, command: str) -> list[dict[str, Any]]:
    """``command`` parsed by Netmiko through ``NET_TEXTFSM`` (Netmiko gives the text back when
    no row comes out: that is no rows)."""
    parsed = conn.send_command(command, use_textfsm=True, read_timeout=60)
    if isinstance(parsed, str):
        return []
    assert isinstance(parsed, list), parsed
    return parsed


def test_show_vstack_client_forms(lab: Lab, chained: Path) -> None:
    """Command reference, show vstack: ``show vstack client {1 | client_ip_address | all |
    group …} client-password {running-config | tech-support | version}``."""
    switch, client = lab.switch, lab.client
    with netmiko.ConnectHandler(**device(lab.director)) as conn:
        conn.enable()
        expected = {
            "client": "1", "client_ip": client.ip, "client_mac": MAC, "client_hostname": "",
            "error": "", "software_image": "FACTORY-UNIVERSALK9-M", "version": "12.2(55)SE",
            "release": "", "rommon": "", "hostname": switch.hostname,
            "uptime": f"{switch.boots} reloads", "running_image": switch.image,
            "hardware": [switch.config.pid], "serial": [switch.config.serial_number],
            "config_register": "", "mac_address": [switch.mac],
        }  # fmt: skip
        assert rows(conn, "show vstack client 1 NONE version") == [expected]
        assert rows(conn, f"show vstack client {client.ip} NONE version") == [expected]
        assert rows(conn, "show vstack client all NONE version") == [expected]
        assert rows(conn, "show vstack client group built-in 2960x 48poe-4sfp-lb NONE version") == [
            expected
        ]

        [config_row] = rows(conn, "show vstack client all NONE running-config")
        assert (config_row["client"], config_row["client_ip"], config_row["error"]) == (
            "1",
            client.ip,
            "",
        )
        assert config_row["hostname"] == switch.hostname
        lines = [line.rstrip() for line in lab.running_config.splitlines() if line.strip()]
        assert f"hostname {switch.hostname}" in lines
        assert config_row["config"] == lines

        # the emulated switch has no show tech-support: the row carries its answer
        [tech] = rows(conn, "show vstack client 1 NONE tech-support")
        assert tech["client"] == "1"
        assert tech["error"] == "Invalid input detected at '^' marker."


def test_ios_commands_for_automation(lab: Lab, chained: Path) -> None:
    director = lab.director
    with netmiko.ConnectHandler(**device(director)) as conn:
        conn.enable()

        found = rows(conn, "show ipv6 interface")
        kernel = [a for a in ipv6_addresses() if a.scope != SCOPE_HOST]
        names = [
            i.name for i in host_probe.interfaces() if any(a.interface == i.name for a in kernel)
        ]
        assert [row["interface"] for row in found] == names
        for row in found:
            own = [a for a in kernel if a.interface == row["interface"]]
            unicast = [str(a.address.ip).upper() for a in own if a.scope != SCOPE_LINK]
            assert row["ipv6_address"] == unicast
            assert row["mtu"].isdigit()

        assert rows(conn, "show lldp") == [
            {"status": "not enabled", "advertisement_interval": "", "holdtime": "",
             "reinitialisation_delay": ""}
        ]  # fmt: skip
        assert rows(conn, "show cdp") == [
            {"status": "", "sending": "no", "send_interval": "", "holdtime": "180",
             "cdpv2_advertisements": ""}
        ]  # fmt: skip

        digest = hashlib.md5((director.flash / "seed.txt").read_bytes()).hexdigest()
        assert rows(conn, "verify /md5 flash:seed.txt") == [
            {"file": "flash:seed.txt", "md5": digest, "expected": "", "error": ""}
        ]
        assert rows(conn, "verify /md5 flash:nosuch.txt") == [
            {"file": "flash:nosuch.txt", "md5": "", "expected": "",
             "error": "No such file or directory"}
        ]  # fmt: skip

        differences = rows(conn, "show archive config differences flash:old.txt flash:new.txt")
        assert [(r["parent"], r["action"], r["line"]) for r in differences] == [
            ("", "-", "hostname A"),
            ("", "-", "ntp server 10.0.0.1"),
            ("", "+", "hostname B"),
            ("interface Gi1/0/1", "-", "description old"),
            ("interface Gi1/0/1", "+", "description new"),
            ("", "+", "snmp-server community lab"),
        ]
        incremental = rows(conn, "show archive config incremental-diffs flash:new.txt")
        assert [r["line"] for r in incremental] == [
            "hostname B",
            "interface Gi1/0/1",
            " description new",
            "snmp-server community lab",
        ]
        timer = conn.send_command("show archive config rollback timer")
        assert timer.strip() == "No Rollback Confirmed Change pending"
        assert rows(conn, "show archive config rollback timer") == []

        # ntc-templates' templates
        files = rows(conn, "dir flash:")
        assert {"seed.txt", "old.txt", "new.txt"} <= {row["name"] for row in files}
        assert rows(conn, "show archive")  # its one row: the archive is not configured


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DirectorProcess, str]]:
    """A director in SMI Proxy mode whose proxy database (on flash, read back at start) has
    the client that joins and a stale entry."""
    root = tmp_path_factory.mktemp("textfsm-proxy")
    prefix = lab_prefix()
    ssh_port = free_port(f"{prefix}.1", socket.SOCK_STREAM)
    text = config(prefix, ssh_port).replace(
        f"vstack director {prefix}.1\nvstack basic\nvstack config flash:seed.txt\n",
        f"vstack proxy ip-address {prefix}.1\n",
    )
    director = DirectorProcess(root / "director", prefix, text)
    director.ports["ssh"] = ssh_port
    database = ProxyDatabase()
    database.add(PROXY_MAC, ClientUdi(PID, "V02", "FOC1234X0AB"))
    database.add(STALE_MAC, ClientUdi("WS-C3750E-48TD", "V01", "FDO1152V10R"))
    (director.flash / PROXY_DB_NAME).parent.mkdir(parents=True, exist_ok=True)
    (director.flash / PROXY_DB_NAME).write_text(render_proxy_db(database))
    director.start()
    try:
        director.wait_for_log("SSH CLI on")
        client = join(director, PROXY_MAC, "PROXIED-01")
        yield director, client.ip
    finally:
        director.stop()


PROXY_MAC = "0050.5603.0011"
STALE_MAC = "001e.f76d.af80"
STATES = {state.value for state in EntryState}


def test_show_vstack_proxy_db_live(proxy: tuple[DirectorProcess, str], chained: Path) -> None:
    """Guide, "SMI Proxy Database": the entries (MAC address, UDI, state) and, in detail, what
    the director database knows of each client."""
    director, ip = proxy
    with netmiko.ConnectHandler(**device(director)) as conn:
        conn.enable()
        table = rows(conn, "show vstack proxy-db")
        assert [(r["mac_addr"], r["udi"]) for r in table] == [
            (PROXY_MAC, f"PID:{PID},VID:V02,SN:FOC1234X0AB"),
            (STALE_MAC, "PID:WS-C3750E-48TD,VID:V01,SN:FDO1152V10R"),
        ]
        assert all(r["state"] in STATES for r in table), table
        detail = rows(conn, "show vstack proxy-db detail")
        assert [(r["device_id"], r["mac_address"], r["ip_addr"], r["status"]) for r in detail] == [
            ("PROXIED-01", PROXY_MAC, ip, "A"),
            ("**", STALE_MAC, "**", "**"),
        ]
        assert [r["udi"] for r in detail] == [r["udi"] for r in table]
        assert all(r["state"] in STATES for r in detail), detail
