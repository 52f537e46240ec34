"""The PnP agent of SMI Proxy against the lab's PnP server, over real sockets (guide, chapter 4:
"How SMI Proxy and PnP Agent Communicate", "Unsupported Services", "Security Methods").

* a bye brings the next work request at once, a backoff starts the backoff timer (a new default
  interval, a one-time wait, or the end of the exchanges);
* the unsupported services get the guide's enums and strings, as the server records them;
* every message the agent sends is valid against Cisco's PnP XSDs;
* over HTTPS the server's certificate must chain to the profile's CA and name its address.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from smartinstall.director.proxy_agent import (
    AgentTimers,
    ClientAgent,
    PnpHttpClient,
    PnpTransportError,
    tls_context,
)
from smartinstall.domain.proxy import ClientUdi, EntryState, PnpServerAddress, PnpTransport
from smartinstall.pnp.server import PnpServerHandle, serve_pnp
from smartinstall.wire import pnp
from tests.integration.syslog_receivers import make_authority, server_files

ROOT = Path(__file__).resolve().parents[2]
XSD_DIR = ROOT / "../shared/spec/pnp/xsd"
UDI = ClientUdi("WS-C2960X-48FPS-L", "V01", "FOC56220003")
HOST = "127.0.0.1"

pytestmark = pytest.mark.timeout(60)


class Services:
    """What a proxied client answers (the director's on-demand downloads are the e2e test's;
    here each download succeeds at once)."""

    def __init__(self) -> None:
        self.udi = pnp.Udi(UDI.pid, UDI.vid, UDI.sn)
        self.downloads: list[tuple[str, str]] = []

    async def image_install(self, request: pnp.ImageInstallRequest) -> bytes:
        self.downloads.append(("image", request.image_uri))
        return pnp.encode_image_install_response(self.udi, request.correlator)

    async def config_upgrade(self, request: pnp.ConfigUpgradeRequest) -> bytes:
        self.downloads.append(("config", request.source_uri))
        return pnp.encode_config_upgrade_response(self.udi, request.correlator)

    def device_info(self, request: pnp.DeviceInfoRequest) -> bytes:
        if request.info_type == "hardware":
            return pnp.encode_device_info_response(
                self.udi, request.correlator, error=pnp.ERROR_DEVICE_HARDWARE_INFO_UNSUPPORTED
            )
        info = pnp.DeviceInfo(udi=self.udi.text)
        return pnp.encode_device_info_response(self.udi, request.correlator, info)

    def topology(self, request: pnp.TopologyRequest) -> bytes:
        neighbour = pnp.TopologyNeighbour(
            "GigabitEthernet1/0/1", "Gi1/0/1", "0050.5622.0003", "GigabitEthernet1/0/2",
            "Gi1/0/2", "0050.5622.0001", "Proxy", "cisco WS-C3850-24T", "16.3.9",
        )  # fmt: skip
        return pnp.encode_topology_response(self.udi, request.correlator, [neighbour])


@contextlib.asynccontextmanager
async def pnp_server(tmp_path: Path, steps: list[Any]) -> AsyncIterator[PnpServerHandle]:
    data = tmp_path / "pnp-server"
    data.mkdir()
    (data / "access-3.cfg").write_text("hostname ACCESS-3\n")
    plans = {
        "defaults": {"when_done": "terminate"},
        "devices": [{"serial": UDI.sn, "config": "access-3.cfg", "steps": steps}],
    }
    handle = await serve_pnp(HOST, 0, data, plans, xsd_dir=XSD_DIR if XSD_DIR.is_dir() else None)
    try:
        yield handle
    finally:
        await handle.stop()


def agent_for(
    server: PnpServerAddress,
    context: ssl.SSLContext | None,
    sent: list[bytes],
    states: list[EntryState],
    timers: AgentTimers | None = None,
) -> tuple[ClientAgent, Services]:
    services = Services()

    async def active() -> None:
        return None

    agent = ClientAgent(
        UDI,
        "0050.5622.0003",
        lambda: "access-3",
        PnpHttpClient(server, context, 10.0),
        services,
        active,
        states.append,
        timers or AgentTimers(retry=30.0, error_retry=30.0, timeout=10.0),
        lambda _path, message: sent.append(message),
    )
    return agent, services


async def test_the_agent_walks_the_plan_and_answers_as_the_guide_says(tmp_path: Path) -> None:
    steps = [
        "capability",
        {"service": "device-info", "type": "udi"},
        {"service": "device-info", "type": "hardware"},
        {"service": "config-upgrade", "apply_to": "running"},
        {"service": "cli-exec", "command": "show version"},
        "topology",
        {"service": "backoff", "callback_after_seconds": 0},
    ]
    async with pnp_server(tmp_path, steps) as handle:
        server = PnpServerAddress(PnpTransport.HTTP, HOST, handle.port)
        sent: list[bytes] = []
        states: list[EntryState] = []
        agent, services = agent_for(server, None, sent, states)
        # the default retry is 30 s: finishing at once shows each bye (and the zero backoff)
        # brought the next work request at once, until the server's terminate
        await asyncio.wait_for(agent.run(), 20)
        records = handle.exchanges()
    assert states[0] is EntryState.HELLO and states[-1] is EntryState.TERMINATED
    # apply-to-running refused, then the server asked for the startup configuration
    assert services.downloads == [("config", f"{handle.url}/pnp-server/files/access-3.cfg")]
    answers = [
        (r["service"], r["result"], r.get("error_enum"), r.get("error_string"))
        for r in records
        if r["kind"] == "response"
    ]
    assert answers == [
        ("capability", "success", None, None),
        ("device-info", "success", None, None),
        ("device-info", "failure", "XSVC_ERROR_DEVICE_INFO_UNSUPPORTED",
         "SMI PROXY:Client device hardware info not supported"),
        ("config-upgrade", "failure", "XSVC_ERROR_CONFIG_UPGRADE_UNSUPPORTED",
         "SMI PROXY: Config upgrade apply to Running Config is not supported"),
        ("config-upgrade", "success", None, None),
        ("cli-exec", "failure", "PNP_ERROR_UNSUPPORTED_REQUEST",
         "SMI PROXY:Not supported service request"),
        ("topology", "success", None, None),
        ("backoff", "success", None, None),
        ("backoff", "success", None, None),
    ]  # fmt: skip
    requests = [r for r in records if r["kind"] == "request"]
    assert all(r.get("via_proxy") is True for r in requests)
    if XSD_DIR.is_dir():
        for message in sent:
            assert pnp.validate(message, XSD_DIR) == [], message.decode()
        assert not [r for r in records if r.get("xsd_errors")]


async def test_backoff_sets_the_wait_before_the_next_work_request(tmp_path: Path) -> None:
    """ "If SMI Proxy receives a backoff request for any SMI client, it starts the backoff
    timer": defaultMinutes changes the interval for good, callbackAfter waits once."""
    steps = [
        {"service": "backoff", "default_minutes": 5},
        {"service": "backoff", "callback_after_seconds": 42},
        "capability",
    ]
    async with pnp_server(tmp_path, steps) as handle:
        server = PnpServerAddress(PnpTransport.HTTP, HOST, handle.port)
        agent, _ = agent_for(server, None, [], [])
        assert await agent.exchange() == 300.0 and agent.interval == 300.0
        assert await agent.exchange() == 42.0
        assert await agent.exchange() == 0.0  # a capability response, then the bye
        assert await agent.exchange() is None  # the plan is done: terminate


async def test_an_unreachable_server_is_a_transport_error(tmp_path: Path) -> None:
    del tmp_path
    server = PnpServerAddress(PnpTransport.HTTP, HOST, 9)
    agent, _ = agent_for(server, None, [], [])
    with pytest.raises(PnpTransportError):
        await agent.exchange()


@contextlib.asynccontextmanager
async def tls_front(backend_port: int, cert: Path, key: Path) -> AsyncIterator[int]:
    """HTTPS in front of the PnP server: TLS here, the bytes passed on to its HTTP port."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(HOST, backend_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(serve, HOST, 0, ssl=context)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()


async def test_https_checks_the_server_certificate(tmp_path: Path) -> None:
    """ "Security Methods": the PnP server's certificate is checked (CA-signed certificate
    based authentication): the profile's remotecert CA must have signed it, for its address."""
    authority = make_authority()
    flash = tmp_path / "flash"
    flash.mkdir()
    (flash / "pnp-ca.pem").write_bytes(authority.pem())
    (flash / "other-ca.pem").write_bytes(make_authority("another CA").pem())
    cert, key = server_files(authority, HOST, tmp_path / "tls")
    wrong_cert, wrong_key = server_files(authority, "127.0.0.2", tmp_path / "tls")
    async with pnp_server(tmp_path, ["capability"]) as handle:
        async with tls_front(handle.port, cert, key) as port:
            good = PnpServerAddress(PnpTransport.HTTPS, HOST, port, "flash:pnp-ca.pem")
            agent, _ = agent_for(good, tls_context(good, flash), [], [])
            assert await agent.exchange() == 0.0  # the capability exchange, over TLS

            other = PnpServerAddress(PnpTransport.HTTPS, HOST, port, "flash:other-ca.pem")
            agent, _ = agent_for(other, tls_context(other, flash), [], [])
            with pytest.raises(PnpTransportError, match="TLS"):
                await agent.exchange()
        async with tls_front(handle.port, wrong_cert, wrong_key) as port:
            named = PnpServerAddress(PnpTransport.HTTPS, HOST, port, "flash:pnp-ca.pem")
            agent, _ = agent_for(named, tls_context(named, flash), [], [])
            with pytest.raises(PnpTransportError, match="TLS"):
                await agent.exchange()
    outside = PnpServerAddress(PnpTransport.HTTPS, HOST, 443, "flash:../secret.pem")
    with pytest.raises(PnpTransportError):
        tls_context(outside, flash)
