"""The director's SNMP agent against real net-snmp tools on loopback (docs/snmp.md): snmpwalk
-v2c and -v3 authPriv of CISCO-SMART-INSTALL-MIB while an emulated switch joins, the four
notifications received by a real snmptrapd, a SET of csiJoinWindowConfigOperationMode seen in
`show vstack config`, group rows made, changed (a group's configuration file) and destroyed,
wrong credentials answered with nothing, and random datagrams that never stop the agent."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartinstall.domain.snmp import SnmpCommunity
from smartinstall.ios.director_config import replay_director_config
from smartinstall.services.snmp import SnmpAgent
from smartinstall.services.snmp_mib import MibInputs
from tests.integration.director_harness import DirectorProcess, console, free_port, lab_prefix
from tests.integration.snmp_base_mibs import write_base_mibs
from tests.integration.switch_harness import director_config, make_director, make_switch
from tests.tools import require_program

pytestmark = [pytest.mark.timeout(90), pytest.mark.needs_tool]

MIBS = Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "mibs"
CSI = "1.3.6.1.4.1.9.9.725"
DEVICE_MAC = f".{CSI}.1.3.1.1.2"
V3 = ["-v3", "-l", "authPriv", "-u", "nms", "-a", "SHA", "-A", "authpass1", "-x", "AES"]
V3_PRIV = [*V3, "-X", "privpass1"]
QUICK = ["-t", "0.4", "-r", "0"]  # for requests that must go unanswered


@pytest.fixture(scope="module")
def prefix() -> str:
    return lab_prefix()


@pytest.fixture(scope="module")
def trap_port(prefix: str) -> int:
    return free_port(f"{prefix}.250")


@pytest.fixture(scope="module")
def trapd(tmp_path_factory: pytest.TempPathFactory, prefix: str, trap_port: int) -> Iterator[Path]:
    """A real snmptrapd on two loopback addresses of the lab: v2c traps on .250, v3 informs
    on .251 (user nms); it logs every notification to the returned file."""
    program = require_program("snmptrapd")
    base = tmp_path_factory.mktemp("trapd")
    port = trap_port
    conf = base / "snmptrapd.conf"
    conf.write_text(
        "authCommunity log public\n"
        "createUser nms SHA authpass1 AES privpass1\n"
        "authUser log nms priv\n"
    )
    log = base / "traps.log"
    env = {**os.environ, "SNMP_PERSISTENT_DIR": str(base), "MIBS": "", "MIBDIRS": str(base)}
    command = [
        program, "-f", "-C", "-c", str(conf), "-On", "-n", "-m", "", "-Lf", str(log),
        "--agentXSocket=/dev/null", "--doNotRetainNotificationLogs=yes",
        f"udp:{prefix}.250:{port}", f"udp:{prefix}.251:{port}",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    deadline = time.monotonic() + 10
    while "NET-SNMP version" not in (log.read_text() if log.exists() else ""):
        assert process.poll() is None, "snmptrapd exited"
        assert time.monotonic() < deadline, "snmptrapd did not start"
        time.sleep(0.05)
    yield log
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def director(
    tmp_path_factory: pytest.TempPathFactory, prefix: str, trapd: Path, trap_port: int
) -> Iterator[DirectorProcess]:
    require_program("snmpwalk")
    snmp = f"""snmp-server view csi {CSI} included
snmp-server view csi 1.3.6.1.2.1.1 included
snmp-server view csi {CSI}.1.1.7 excluded
snmp-server community public RO
snmp-server community private RW
snmp-server group monitor v3 priv read csi
snmp-server user nms monitor v3 auth sha authpass1 priv aes 128 privpass1
snmp-server enable traps vstack
snmp-server host {prefix}.250 version 2c public udp-port {trap_port}
snmp-server host {prefix}.251 version 3 priv nms udp-port {trap_port}
"""
    process = make_director(
        tmp_path_factory.mktemp("snmp"), prefix, director_config(prefix, snmp), keepalive=0.5
    )
    # the configuration file is missing: its download fails (csiFileLoadFailed)
    (process.flash / "seed.txt").unlink()
    process.ports["snmp"] = free_port(process.address)
    process.extra_args = ["--snmp-port", str(process.ports["snmp"])]
    process.start()
    process.wait_for_log("SNMP agent on")
    yield process
    process.stop()


async def snmp(program: str, director: DirectorProcess, *args: str, timeout: float = 10) -> str:
    """Output of a net-snmp program against the director's agent (numeric OIDs, no MIBs):
    ``args`` are its options, then the OID (and for snmpset its type and value)."""
    at = next(i for i, arg in enumerate(args) if arg.startswith("1.3.6.1."))
    command = [
        require_program(program), "-On", "-m", "", "-t", "1", "-r", "1", *args[:at],
        f"{director.address}:{director.ports['snmp']}", *args[at:],
    ]  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        *command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env={**os.environ, "SNMP_PERSISTENT_DIR": str(director.data_dir), "MIBS": ""},
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), timeout)
    return output.decode(errors="replace")


async def until_trap(log: Path, *texts: str, timeout: float = 10.0) -> str:
    """The first notification block of snmptrapd's log that holds every text."""
    deadline = time.monotonic() + timeout
    while True:
        content = log.read_text(errors="replace")
        for block in content.split("\n20"):
            if all(text in block for text in texts):
                return block
        if time.monotonic() > deadline:
            raise AssertionError(f"no notification with {texts} in:\n{content[-3000:]}")
        await asyncio.sleep(0.05)


def group_lines(running: str, name: str) -> list[str]:
    """The lines of the custom group ``name`` in a running configuration."""
    lines = running.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(f"vstack group custom {name} "))
    body: list[str] = []
    for line in lines[at + 1 :]:
        if not line.startswith(" "):
            break
        body.append(line.rstrip())
    return body


def mac_hex(mac: str) -> str:
    digits = mac.replace(".", "").upper()
    return " ".join(digits[i : i + 2] for i in range(0, 12, 2))


async def test_walks_show_the_live_device_table_and_notifications_arrive(
    director: DirectorProcess, trapd: Path, tmp_path: Path
) -> None:
    switch = make_switch(director, tmp_path, 31)
    switch.power_on()
    try:
        await director.await_log(
            f"SWITCH_ADD: New Device detected by Director with mac address: {switch.mac}"
        )
        await director.await_log("%SMI-3-UPGRD_FAILED")
        wanted = f"{DEVICE_MAC}."
        deadline = time.monotonic() + 10
        while True:
            walk = await snmp("snmpwalk", director, "-v2c", "-c", "public", CSI)
            if mac_hex(switch.mac) in walk:
                break
            assert time.monotonic() < deadline, walk
            await asyncio.sleep(0.1)
        assert wanted in walk and f".{CSI}.1.1.1.0 = INTEGER: 2" in walk
        secure = await snmp("snmpwalk", director, *V3_PRIV, CSI)
        assert mac_hex(switch.mac) in secure
        system = await snmp("snmpwalk", director, *V3_PRIV, "1.3.6.1.2.1.1")
        assert '.1.3.6.1.2.1.1.5.0 = STRING: "Director"' in system
        # csiDeviceAdded (v2c trap and v3 inform), csiFileLoadFailed (downloadConfig(2))
        mac = mac_hex(switch.mac)
        await until_trap(trapd, f".{CSI}.0.2", mac, "UDP: [")
        await until_trap(trapd, f".{CSI}.0.4", f".{CSI}.1.4.2.0 = INTEGER: 2", "seed.txt")
        await until_trap(trapd, f".{CSI}.0.2", mac, f"{director.prefix}.251")
    finally:
        await switch.shutdown()
    # silent now: after three keepalive periods it is Inactive (csiDeviceLost)
    await director.await_log(f"SWITCH_REMOVE: Device {switch.mac}", timeout=10)
    await until_trap(trapd, f".{CSI}.0.3", mac_hex(switch.mac))


async def test_walks_with_the_mib_loaded(director: DirectorProcess, tmp_path: Path) -> None:
    """`-M ../shared/spec/mibs`: names, enumerations and MacAddress as net-snmp shows them
    (after the first test, the switch it ran is still in the table, Inactive)."""
    if not (MIBS / "CISCO-SMART-INSTALL-MIB.my").exists():
        pytest.skip(f"{MIBS} is not there")
    path = f"{write_base_mibs(tmp_path / 'base')}:{MIBS}"
    loaded = ["-M", path, "-m", "CISCO-SMART-INSTALL-MIB"]
    for credentials in (["-v2c", "-c", "public"], V3_PRIV):
        command = [
            require_program("snmpwalk"), *credentials, *loaded, "-t", "1",
            f"{director.address}:{director.ports['snmp']}", "ciscoSmartInstallMIB",
        ]  # fmt: skip
        process = await asyncio.create_subprocess_exec(
            *command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env={**os.environ, "SNMP_PERSISTENT_DIR": str(tmp_path), "MIBS": ""},
        )  # fmt: skip
        output = (await process.communicate())[0].decode(errors="replace")
        assert "CISCO-SMART-INSTALL-MIB::csiOperationMode.0 = INTEGER: basic(2)" in output, output
        assert "csiJoinWindowConfigOperationMode.0 = INTEGER: auto(2)" in output
        assert "csiDeviceMacAddress.1 = STRING: 0:50:56:aa:0:1f" in output
        assert "csiDevicePlatform.1 = STRING: WS-C2960X-48FPS-L" in output, output
        assert "csiDeviceStatus.1 = STRING: inactive" in output


async def test_wrong_community_or_v3_password_gets_no_data(director: DirectorProcess) -> None:
    wrong = await snmp("snmpget", director, *QUICK, "-v2c", "-c", "nope", "1.3.6.1.2.1.1.5.0")
    assert "Timeout" in wrong and "Director" not in wrong
    bad_priv = await snmp("snmpget", director, *QUICK, *V3, "-X", "wrongpass1", "1.3.6.1.2.1.1.5.0")
    assert "Director" not in bad_priv
    bad_auth = [*V3_PRIV]
    bad_auth[bad_auth.index("authpass1")] = "wrongpass2"
    answer = await snmp("snmpget", director, *QUICK, *bad_auth, "1.3.6.1.2.1.1.5.0")
    assert "Director" not in answer and ("Authentication failure" in answer or "Timeout" in answer)
    # excluded from the group's view (csiBackup): no such object; the community sees it
    outside = await snmp("snmpget", director, *V3_PRIV, f"{CSI}.1.1.7.2.0")
    assert "No Such Object" in outside
    community = await snmp("snmpget", director, "-v2c", "-c", "public", f"{CSI}.1.1.7.2.0")
    assert "INTEGER: 1" in community


async def test_v3_users_are_kept_as_keys_and_answer_with_their_passwords(
    director: DirectorProcess,
) -> None:
    # "Security by default: hashed secrets": the configuration holds the users' RFC 3414 keys
    # (IOS's "encrypted" form), never their passwords; the keys are what the agent uses
    await console(director, "configure terminal\n"
                  "snmp-server user ops monitor v3 auth sha256 authpass2 priv aes 128 privpass2\n"
                  "end\nwrite memory")  # fmt: skip
    running = await console(director, "show running-config")
    startup = (director.data_dir / "startup-config").read_text()
    for text in (running, startup):
        assert "authpass" not in text and "privpass" not in text
    (line,) = [x for x in running.splitlines() if x.startswith("snmp-server user ops ")]
    assert line.startswith("snmp-server user ops monitor v3 encrypted auth sha256 ")
    v3 = ["-v3", "-l", "authPriv", "-a", "SHA-256", "-A", "authpass2", "-x", "AES",
          "-X", "privpass2"]  # fmt: skip
    answer = await snmp("snmpget", director, *v3, "-u", "ops", "1.3.6.1.2.1.1.5.0")
    assert "Director" in answer, answer
    # the line as shown, under another name: the same keys answer the same passwords
    copied = line.replace("snmp-server user ops ", "snmp-server user ops2 ")
    await console(director, f"configure terminal\n{copied}\nend")
    answer = await snmp("snmpget", director, *v3, "-u", "ops2", "1.3.6.1.2.1.1.5.0")
    assert "Director" in answer, answer
    wrong = [*v3]
    wrong[wrong.index("authpass2")] = "wrongpass2"
    refused = await snmp("snmpget", director, *QUICK, *wrong, "-u", "ops2", "1.3.6.1.2.1.1.5.0")
    assert "Director" not in refused
    await console(director, "configure terminal\nno snmp-server user ops\n"
                  "no snmp-server user ops2\nend\nwrite memory")  # fmt: skip


async def test_set_of_the_join_window_mode(director: DirectorProcess, trapd: Path) -> None:
    oid = f"{CSI}.1.1.8.1.0"
    refused = await snmp("snmpset", director, "-v2c", "-c", "public", oid, "i", "3")
    assert "noAccess" in refused or "notWritable" in refused or "Timeout" in refused
    bad = await snmp("snmpset", director, "-v2c", "-c", "private", oid, "i", "9")
    assert "wrongValue" in bad
    done = await snmp("snmpset", director, "-v2c", "-c", "private", oid, "i", "3")
    assert f".{oid} = INTEGER: 3" in done
    config = await console(director, "show vstack config")
    assert "Manual" in config or "manual" in config, config
    running = await console(director, "show running-config")
    assert "no vstack join-window mode auto" in running
    assert "snmp-server community private RW" in running
    # persisted as write memory would: startup-config holds it (a restart keeps it)
    startup = director.data_dir / "startup-config"
    for _ in range(200):
        if "no vstack join-window mode auto" in startup.read_text():
            break
        await asyncio.sleep(0.05)
    assert "no vstack join-window mode auto" in startup.read_text()
    await until_trap(trapd, f".{CSI}.0.1", f".{CSI}.1.1.1.0 = INTEGER: 2")
    # the join-window period row: createAndGo with its columns, then destroy
    period = f"{CSI}.1.1.8.3.1"
    made = await snmp(
        "snmpset", director, "-v2c", "-c", "private", f"{period}.2.1", "x", "07EE0102081E0000",
        f"{period}.3.1", "u", "90", f"{period}.7.1", "i", "4",
    )  # fmt: skip
    assert f".{period}.7.1 = INTEGER: 4" in made, made
    running = await console(director, "show running-config")
    assert "vstack join-window start 02 jan 2030 08:30 01:30" in running.lower(), running
    gone = await snmp("snmpset", director, "-v2c", "-c", "private", f"{period}.7.1", "i", "6")
    assert "INTEGER: 6" in gone
    assert "join-window start" not in await console(director, "show running-config")
    back = await snmp("snmpset", director, "-v2c", "-c", "private", oid, "i", "2")
    assert f".{oid} = INTEGER: 2" in back
    assert "no vstack join-window mode auto" not in await console(director, "show running-config")


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(datagram=st.binary(max_size=1500) | st.builds(lambda n: b"\x30\x84" + b"\xff" * n,
                                                     st.integers(0, 64)))  # fmt: skip
def test_random_datagrams_never_stop_the_agent(director: DirectorProcess, datagram: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((f"{director.prefix}.77", 0))
        sock.sendto(datagram, (director.address, director.ports["snmp"]))


async def test_agent_answers_after_the_fuzz_and_an_oversized_packet(
    director: DirectorProcess,
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((f"{director.prefix}.78", 0))
        sock.sendto(
            b"\x30\x82\xff\xf0" + os.urandom(65000), (director.address, director.ports["snmp"])
        )
    answer = await snmp("snmpget", director, "-v2c", "-c", "public", "1.3.6.1.2.1.1.5.0")
    assert 'STRING: "Director"' in answer
    assert director.process is not None and director.process.poll() is None
    assert "Traceback" not in director.log()


async def test_agent_is_off_until_configured_and_follows_the_running_config(
    tmp_path: Path,
) -> None:
    prefix = lab_prefix()
    process = make_director(tmp_path, prefix, director_config(prefix))
    process.ports["snmp"] = free_port(process.address)
    process.extra_args = ["--snmp-port", str(process.ports["snmp"])]
    process.start()
    try:
        assert "SNMP agent on" not in process.log()
        silent = await snmp("snmpget", process, *QUICK, "-v2c", "-c", "lab", "1.3.6.1.2.1.1.5.0")
        assert "Timeout" in silent
        await console(process, "configure terminal\nsnmp-server community lab RO\nend")
        await process.await_log("SNMP agent on")
        answer = await snmp("snmpget", process, "-v2c", "-c", "lab", "1.3.6.1.2.1.1.5.0")
        assert 'STRING: "Director"' in answer
        await console(process, "configure terminal\nno snmp-server\nend")
        await process.await_log("closed")
        gone = await snmp("snmpget", process, *QUICK, "-v2c", "-c", "lab", "1.3.6.1.2.1.1.5.0")
        assert "Timeout" in gone
    finally:
        process.stop()


async def test_reconfiguration_keeps_the_port_and_follows_each_change() -> None:
    """In-process agent: a community added while it runs answers at once on the same port;
    the old engine's socket is released first."""
    address = f"{lab_prefix()}.1"
    settings = replay_director_config("snmp-server community one RO\n").settings
    agent = SnmpAgent(address, 0, lambda: MibInputs(settings, [], True, 1.0))
    await agent.follow(settings.snmp)
    port = agent.port
    try:
        stand_in = SimpleNamespace(address=address, ports={"snmp": port}, data_dir=Path("/tmp"))
        ask = partial(snmp, "snmpget", stand_in)  # type: ignore[arg-type]
        assert "STRING" in await ask("-v2c", "-c", "one", "1.3.6.1.2.1.1.5.0")
        settings.snmp.set_community(SnmpCommunity("two", write=False))
        await agent.follow(settings.snmp)
        assert agent.port == port
        assert "STRING" in await ask("-v2c", "-c", "two", "1.3.6.1.2.1.1.5.0")
        settings.snmp.traps_vstack = True
        running = agent._agent
        await agent.follow(settings.snmp)
        assert agent._agent is running  # the notification switch needs no restart
    finally:
        await agent.close()


async def test_set_of_a_custom_group_through_row_status(director: DirectorProcess) -> None:
    profile, match = f"{CSI}.1.2.5.1", f"{CSI}.1.2.6.1"
    free = await snmp("snmpget", director, "-v2c", "-c", "public", f"{CSI}.1.2.4.0")
    row = int(free.rsplit(":", 1)[1])
    made = await snmp(
        "snmpset", director, "-v2c", "-c", "private",
        f"{profile}.2.{row}", "s", "pharmacy", f"{profile}.5.{row}", "s", "flash:seed.txt",
        f"{profile}.7.{row}", "i", "4", f"{match}.2.{row}.1", "i", "2",
        f"{match}.3.{row}.1", "x", "005056AA0042", f"{match}.11.{row}.1", "i", "4",
    )  # fmt: skip
    assert f".{profile}.7.{row} = INTEGER: 4" in made, made
    running = await console(director, "show running-config")
    assert "vstack group custom pharmacy mac" in running
    assert "match mac 0050.56aa.0042" in running
    walk = await snmp("snmpwalk", director, "-v2c", "-c", "public", f"{CSI}.1.2")
    assert f'.{profile}.2.{row} = STRING: "pharmacy"' in walk
    assert f".{match}.3.{row}.1 = Hex-STRING: 00 50 56 AA 00 42" in walk
    # the group's configuration file changed on the active row: `config …` in the group
    changed = await snmp(
        "snmpset", director, "-v2c", "-c", "private", f"{profile}.5.{row}", "s",
        "tftp://10.0.0.9/pharmacy-v2.txt",
    )  # fmt: skip
    assert f'.{profile}.5.{row} = STRING: "tftp://10.0.0.9/pharmacy-v2.txt"' in changed, changed
    running = await console(director, "show running-config")
    assert group_lines(running, "pharmacy") == [
        " match mac 0050.56aa.0042", " config tftp://10.0.0.9/pharmacy-v2.txt",
    ], running  # fmt: skip
    startup = director.data_dir / "startup-config"
    for _ in range(200):
        if "config tftp://10.0.0.9/pharmacy-v2.txt" in startup.read_text():
            break
        await asyncio.sleep(0.05)
    assert " config tftp://10.0.0.9/pharmacy-v2.txt" in startup.read_text()
    # what the CLI refuses is refused, and nothing changes
    for value, error in (("ftp://10.0.0.9/x.txt", "wrongValue"), ("x" * 256, "wrongLength")):
        bad = await snmp(
            "snmpset", director, "-v2c", "-c", "private", f"{profile}.5.{row}", "s", value
        )
        assert error in bad, bad
    typed = await snmp("snmpset", director, "-v2c", "-c", "private", f"{profile}.5.{row}", "i", "1")
    assert "wrongType" in typed, typed
    assert "config tftp://10.0.0.9/pharmacy-v2.txt" in await console(
        director, "show running-config"
    )
    gone = await snmp("snmpset", director, "-v2c", "-c", "private", f"{profile}.7.{row}", "i", "6")
    assert "INTEGER: 6" in gone
    assert "pharmacy" not in await console(director, "show running-config")
