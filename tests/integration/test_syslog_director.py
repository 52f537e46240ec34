"""A running director's syslog, against real receivers on loopback: several ``logging host``
lines on one address (UDP and TCP, different ports), TLS (RFC 5425) to rsyslogd (or a Python
TLS server when rsyslogd is not installed) with the server's certificate checked, a clear error
when it is not trusted, ``logging trap``, ``logging source-interface``, the ``%SEC_LOGIN``
lines, and ``show logging`` filters."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import asyncssh
import pytest

from tests.integration.director_harness import (
    DirectorProcess,
    ScriptedClient,
    console,
    director_preamble,
    free_port,
    lab_prefix,
)
from tests.integration.syslog_receivers import (
    Receiver,
    RsyslogTls,
    StreamReceiver,
    UdpReceiver,
    make_authority,
    rsyslog_tls_available,
    server_files,
    tls_server_context,
)

PASSWORD = "s3cret-Pass"
PID = "WS-C2960X-48FPS-L"


@dataclass
class Setup:
    director: DirectorProcess
    udp_a: UdpReceiver
    udp_b: UdpReceiver
    tcp: StreamReceiver
    tls: Receiver
    untrusted: StreamReceiver
    source: str  # the logging source-interface address


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    prefix = lab_prefix()
    address = f"{prefix}.1"
    syslog_ip = f"{prefix}.200"  # every receiver listens here, each on its own port
    source = f"{prefix}.7"
    folder = tmp_path_factory.mktemp("syslog")
    authority = make_authority()
    (folder / "ca.pem").write_bytes(authority.pem())
    cert, key = server_files(authority, syslog_ip, folder / "tls")
    stranger = make_authority("not trusted by the director")
    stranger_cert, stranger_key = server_files(stranger, syslog_ip, folder / "stranger")
    receivers: list[Receiver] = []
    udp_a, udp_b = UdpReceiver(syslog_ip), UdpReceiver(syslog_ip)
    tcp = StreamReceiver(syslog_ip)
    untrusted = StreamReceiver(syslog_ip, tls_server_context(stranger_cert, stranger_key))
    receivers += [udp_a, udp_b, tcp, untrusted]
    program = rsyslog_tls_available()
    tls: Receiver
    if program is not None:
        port = free_port(syslog_ip, socket.SOCK_STREAM)
        tls = RsyslogTls(program, syslog_ip, port, folder / "rsyslog", folder / "ca.pem", cert, key)
    else:
        tls = StreamReceiver(syslog_ip, tls_server_context(cert, key))
    receivers.append(tls)
    ssh_port = free_port(address, socket.SOCK_STREAM)
    config = (
        director_preamble(prefix)
        + f"""logging source-interface {source}
logging tls-ca ca.pem
logging host {syslog_ip} transport udp port {udp_a.port}
logging host {syslog_ip} transport udp port {udp_b.port}
logging host {syslog_ip} transport tcp port {tcp.port}
logging host {syslog_ip} transport tls port {tls.port}
logging host {syslog_ip} transport tls port {untrusted.port}
username admin privilege 15 secret {PASSWORD}
ip ssh server port {ssh_port}
"""
    )
    director = DirectorProcess(folder / "director", prefix, config)
    (director.data_dir / "ca.pem").write_bytes(authority.pem())
    director.ports["ssh"] = ssh_port
    try:
        director.start()
        director.wait_for_log("SSH CLI on")
        yield Setup(director, udp_a, udp_b, tcp, tls, untrusted, source)
    finally:
        director.stop()
        for receiver in receivers:
            receiver.close()


async def ssh_login(director: DirectorProcess, password: str, user: str = "admin") -> None:
    conn = await asyncssh.connect(
        director.address, director.ports["ssh"], username=user, password=password,
        known_hosts=None, client_keys=None, login_timeout=10,
    )  # fmt: skip
    async with conn:
        await conn.run("show clock", check=False)


async def switch_added(director: DirectorProcess, mac: str) -> None:
    client = ScriptedClient(director, mac, PID)
    await client.dhcp()
    await director.await_log(f"mac address: {mac}")


async def test_every_destination_on_one_address_receives(setup: Setup) -> None:
    """Two UDP ports, TCP and TLS on one IP: each gets the %SMI message, from the
    ``logging source-interface`` address; TLS goes to rsyslogd with the certificate checked."""
    mac = "0050.5620.0001"
    await switch_added(setup.director, mac)
    needle = f"%SMI-6-SWITCH_ADD: New Device detected by Director with mac address: {mac}"
    for receiver in (setup.udp_a, setup.udp_b, setup.tcp):
        got = await asyncio.to_thread(receiver.wait_for, needle)
        assert got.text.startswith(f"<{23 * 8 + 6}>1 ") and " SWITCH_ADD - " in got.text
        assert got.peer == setup.source
    got = await asyncio.to_thread(setup.tls.wait_for, needle)
    if isinstance(setup.tls, RsyslogTls):
        assert got.text.startswith("6 SWITCH_ADD ")  # severity and msgid as rsyslogd parsed them
    out = await console(setup.director, "show logging | include %SMI-6-SWITCH_ADD\n")
    assert needle in out
    assert "Log Buffer" not in out and "Trap logging" not in out
    out = await console(setup.director, "show logging\n")
    assert "Trap logging: level informational" in out
    assert f"Logging Source-Interface: {setup.source}" in out
    assert f"Logging to {setup.untrusted.address}  (tls port {setup.tls.port}, link up)" in out


async def test_logins_reach_the_tls_server(setup: Setup) -> None:
    await ssh_login(setup.director, PASSWORD)
    with pytest.raises(asyncssh.PermissionDenied):
        await ssh_login(setup.director, "wrong-guess")
    success = await asyncio.to_thread(
        setup.tls.wait_for, "%SEC_LOGIN-5-LOGIN_SUCCESS: Login Success [user: admin]"
    )
    failed = await asyncio.to_thread(
        setup.tls.wait_for, "%SEC_LOGIN-4-LOGIN_FAILED: Login failed [user: admin]"
    )
    if isinstance(setup.tls, RsyslogTls):
        assert success.text.startswith("5 LOGIN_SUCCESS ")
        assert failed.text.startswith("4 LOGIN_FAILED ")


async def test_an_untrusted_tls_server_gets_nothing_and_a_clear_error(setup: Setup) -> None:
    line = await setup.director.await_log(f"syslog tls to {setup.untrusted.address}:")
    error = next(
        text
        for text in line.splitlines()
        if f"syslog tls to {setup.untrusted.address}:{setup.untrusted.port}:" in text
    )
    assert "TLS handshake failed: certificate not trusted" in error, error
    assert setup.untrusted.texts() == []


async def test_a_source_interface_the_host_lacks_is_refused(setup: Setup) -> None:
    out = await console(
        setup.director,
        "configure terminal\nlogging source-interface nosuch9\nlogging source-interface "
        "192.0.2.77\nend\nshow running-config | include source-interface\n",
    )
    assert out.count("% Invalid input detected at '^' marker.") == 2, out
    assert f"logging source-interface {setup.source}" in out


async def test_logging_trap_warnings_keeps_informational_messages_back(setup: Setup) -> None:
    out = await console(setup.director, "configure terminal\nlogging trap warnings\nend\n")
    assert "%" not in out, out
    try:
        mac = "0050.5620.0002"
        await switch_added(setup.director, mac)  # informational: kept back
        await ssh_login(setup.director, PASSWORD)  # notifications: kept back
        with pytest.raises(asyncssh.PermissionDenied):
            await ssh_login(setup.director, "guess", user="trapcheck")  # a warning: sent
        for receiver in (setup.udp_a, setup.udp_b, setup.tcp, setup.tls):
            await asyncio.to_thread(
                receiver.wait_for, "LOGIN_FAILED: Login failed [user: trapcheck]"
            )
        successes = [t for t in setup.udp_a.texts() if "LOGIN_SUCCESS" in t]
        assert len(successes) == 1, successes  # the one of the test before, none since
        for receiver in (setup.udp_a, setup.udp_b, setup.tcp, setup.tls):
            assert not any(mac in text for text in receiver.texts()), receiver
        out = await console(setup.director, "show logging | include " + mac + "\n")
        assert f"mac address: {mac}" in out  # still in the buffer
        out = await console(setup.director, "show running-config | include trap\n")
        assert "logging trap warnings" in out
    finally:
        await console(setup.director, "configure terminal\nlogging trap informational\nend\n")


def test_rsyslog_is_the_tls_peer_when_installed(setup: Setup) -> None:
    if rsyslog_tls_available() is None:
        pytest.skip("rsyslogd with its gtls driver is not installed (scripts/install-test-tools)")
    assert isinstance(setup.tls, RsyslogTls)
