"""SMI Proxy driven from the server side (guide, chapter 4: "How SMI Proxy and PnP Agent
Communicate", "Unsupported Services"): a scripted PnP server on loopback answers the proxy's
work requests with the exact bytes of Cisco's schema samples (../shared/spec/pnp/examples) and
with the request shapes the open-source PnP servers send (protocol.md §8 and §9), and each
answer of the proxy is checked: the service's namespace, the correlator echoed, success or the
guide's error enum and string, and validity against Cisco's PnP XSDs.

Only what the protocol makes a server change in an example is changed: the envelope's UDI is
the device's and the correlator is the one of the work request it answers (protocol.md §3).
The proxy's services are the real ones on a director that knows the client; only the Smart
Install download itself (the e2e test's) is recorded instead of carried out.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from smartinstall.director.core import Director
from smartinstall.director.facts import HelloFacts
from smartinstall.director.proxy_agent import AgentTimers, ClientAgent, PnpHttpClient
from smartinstall.director.proxy_services import ServiceTimers, SmartInstallServices
from smartinstall.domain.artifacts import image_facts
from smartinstall.domain.devices import Neighbor, UpgradeKind
from smartinstall.domain.proxy import ClientUdi, EntryState, PnpServerAddress, PnpTransport
from smartinstall.wire import pnp
from tests.integration.pnp_scripted_server import (
    EXAMPLES,
    Reply,
    ScriptedPnpServer,
    addressed,
    correlator_of,
    example,
    udi_of,
)
from tests.unit.director.director_host import make_director

ROOT = Path(__file__).resolve().parents[2]
XSD_DIR = ROOT / "../shared/spec/pnp/xsd"
HOST = "127.0.0.1"
MAC = "0050.5622.0003"
UDI = ClientUdi("WS-C2960X-24PS-L", "V01", "FOC56220003")
IMAGE = "c2960x-universalk9-tar.152-7.E9.tar"
RETRY = 30.0  # the agent's default wait when there is no work

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(not EXAMPLES.is_dir(), reason="../shared/spec/pnp/examples not present"),
]


def shaped(template: str) -> Reply:
    """A request as an open-source server renders it: its template filled with the UDI and the
    correlator of the work request (ianz94, GreatSymphonia, dmfigol all copy them)."""

    def reply(work_request: bytes) -> bytes:
        udi, correlator = udi_of(work_request).decode(), correlator_of(work_request).decode()
        return template.format(udi=udi, correlator=correlator).encode()

    return reply


# --- the shapes of protocol.md §5, §8 and §9 that the XSDs reject but agents accept -----------

#: ianz94 templates/image_install.xml: neither <reload> nor <noReload> (no reload)
IANZ94_IMAGE_INSTALL = """<?xml version="1.0" encoding="UTF-8"?>
<pnp udi="{udi}" version="1.0" xmlns="urn:cisco:pnp">
    <request correlator="{correlator}" xmlns="urn:cisco:pnp:image-install">
        <image>
            <copy>
                <source>
                    <location>tftp://192.0.2.10/c2960x-universalk9-tar.152-7.E10.tar</location>
                    <checksum>5660cb647e66fa22de8698a5acb7a8ed</checksum>
                </source>
                <destination>
                    <location>flash:c2960x-universalk9-tar.152-7.E10.tar</location>
                </destination>
            </copy>
        </image>
    </request>
</pnp>
"""
#: dmfigol templates/device_info.xml: no udi, no correlator (a fault answers it, §7 b)
DMFIGOL_DEVICE_INFO = """<?xml version="1.0" encoding="UTF-8"?>
<pnp xmlns="urn:cisco:pnp" version="1.0" >
  <request xmlns="urn:cisco:pnp:device-info">
   <deviceInfo type="all"/>
  </request>
</pnp>"""
#: dmfigol templates/load_config.xml: <copy> without applyTo/abortOnSyntaxFault, <noReload/>
DMFIGOL_CONFIG_UPGRADE = """<?xml version="1.0" encoding="UTF-8"?>
<pnp xmlns="urn:cisco:pnp" version="1.0" udi="{udi}">
  <request correlator="{correlator}" xmlns="urn:cisco:pnp:config-upgrade">
    <config details="all">
      <copy>
        <source>
          <location>http://192.0.2.10:8080/configs/access-3.cfg</location>
        </source>
      </copy>
    </config>
    <noReload/>
  </request>
</pnp>"""
#: GreatSymphonia templates/config_upgrade.xml with a reload delay
GREATSYMPHONIA_CONFIG_UPGRADE = """<?xml version="1.0" encoding="UTF-8"?>
<pnp xmlns="urn:cisco:pnp" version="1.0" udi="{udi}">
    <request correlator="{correlator}" xmlns="urn:cisco:pnp:config-upgrade">
        <config details="all">
            <copy>
                <source>
                    <location>http://192.0.2.10:8080/configs/FOC56220003.cfg</location>
                </source>
            </copy>
        </config>
        <reload>
            <reason>pnp device config</reason>
            <delayIn>30</delayIn>
            <user>pnp-device-config</user>
            <saveConfig>true</saveConfig>
        </reload>
    </request>
</pnp>
"""
#: GreatSymphonia templates/backoff.xml: callbackAfter in the order seconds, minutes, hours
GREATSYMPHONIA_BACKOFF = """<?xml version="1.0" encoding="UTF-8"?>
<pnp xmlns="urn:cisco:pnp" version="1.0" udi="{udi}">
    <request xmlns="urn:cisco:pnp:backoff" correlator="{correlator}">
        <backoff>
            <reason>backoffNow</reason>
            <callbackAfter>
                <seconds>5</seconds>
                 <minutes>2</minutes>
                 <hours>1</hours>
            </callbackAfter>
        </backoff>
    </request>
</pnp>"""
#: ianz94 templates/cli_exec.xml (a service SMI Proxy does not carry out)
IANZ94_CLI_EXEC = """<pnp xmlns="urn:cisco:pnp" version="1.0" udi="{udi}">
    <request xmlns="urn:cisco:pnp:cli-exec" correlator="{correlator}">
        <execCLI maxWait="PT10S" xsd="false">
            <cmd>
                show version
            </cmd>
        </execCLI>
    </request>
</pnp>"""


@dataclass(frozen=True)
class Expected:
    """The proxy's answer: the response's namespace (None: no response is posted), success or
    the error (enum, string); the agent's wait before its next work request (None: the server
    terminated the exchanges); the downloads the services were asked for."""

    namespace: str | None
    error: tuple[str, str] | None = None
    wait: float | None = 0.0
    downloads: list[tuple[str, str, str | None, bool]] = field(default_factory=list)


TFTP_CONFIG = "tftp://192.0.2.10/configs/FDO1703P2EB.cfg"
TFTP_IMAGE = "tftp://192.0.2.10/images/c3750e-universalk9-tar.152-4.E10.tar"
CASES: dict[str, tuple[Callable[[], Reply], Expected]] = {
    # Cisco's schema samples, byte for byte (UDI and correlator addressed to the device)
    "03_capability_request": (
        lambda: addressed(example("03_capability_request.xml")),
        Expected(pnp.NS_CAPABILITY),
    ),
    "05_device_info_request": (
        lambda: addressed(example("05_device_info_request.xml")),
        Expected(pnp.NS_DEVICE_INFO),
    ),
    "07_config_upgrade_request": (
        lambda: addressed(example("07_config_upgrade_request.xml")),
        Expected(
            pnp.NS_CONFIG_UPGRADE,
            downloads=[("config", TFTP_CONFIG, "f4c14103bdb911a7d3982a1fd02cb2df", True)],
        ),
    ),
    "10_image_install_request": (
        lambda: addressed(example("10_image_install_request.xml")),
        Expected(
            pnp.NS_IMAGE_INSTALL,
            downloads=[("image", TFTP_IMAGE, "5660cb647e66fa22de8698a5acb7a8ed", True)],
        ),
    ),
    "12_topology_request": (
        lambda: addressed(example("12_topology_request.xml")),
        Expected(pnp.NS_TOPOLOGY),
    ),
    "14_backoff_request_callback": (
        lambda: addressed(example("14_backoff_request_callback.xml")),
        Expected(pnp.NS_BACKOFF, wait=600.0),  # callbackAfter 0 h 10 min 0 s
    ),
    "15_backoff_request_default": (
        lambda: addressed(example("15_backoff_request_default.xml")),
        Expected(pnp.NS_BACKOFF, wait=300.0),  # defaultMinutes 5
    ),
    "16_backoff_request_terminate": (
        lambda: addressed(example("16_backoff_request_terminate.xml")),
        Expected(pnp.NS_BACKOFF, wait=None),
    ),
    "02_bye": (  # a bye instead of work: nothing to answer, the next work request later
        lambda: addressed(example("02_bye.xml")),
        Expected(None, wait=RETRY),
    ),
    # what the open-source servers send
    "empty-200 (GreatSymphonia, unknown state)": (
        lambda: lambda _request: b"",
        Expected(None, wait=RETRY),
    ),
    "image-install without reload (ianz94)": (
        lambda: shaped(IANZ94_IMAGE_INSTALL),
        Expected(
            pnp.NS_IMAGE_INSTALL,
            downloads=[
                (
                    "image",
                    "tftp://192.0.2.10/c2960x-universalk9-tar.152-7.E10.tar",
                    "5660cb647e66fa22de8698a5acb7a8ed",
                    False,
                )
            ],
        ),
    ),
    "config-upgrade without applyTo, noReload (dmfigol)": (
        lambda: shaped(DMFIGOL_CONFIG_UPGRADE),
        Expected(
            pnp.NS_CONFIG_UPGRADE,
            downloads=[("config", "http://192.0.2.10:8080/configs/access-3.cfg", None, False)],
        ),
    ),
    "config-upgrade without applyTo, reload (GreatSymphonia)": (
        lambda: shaped(GREATSYMPHONIA_CONFIG_UPGRADE),
        Expected(
            pnp.NS_CONFIG_UPGRADE,
            downloads=[("config", "http://192.0.2.10:8080/configs/FOC56220003.cfg", None, True)],
        ),
    ),
    "backoff seconds-minutes-hours (GreatSymphonia)": (
        lambda: shaped(GREATSYMPHONIA_BACKOFF),
        Expected(pnp.NS_BACKOFF, wait=3725.0),
    ),
    "cli-exec (ianz94)": (
        lambda: shaped(IANZ94_CLI_EXEC),
        Expected(
            pnp.NS_CLI_EXEC,
            error=(pnp.PNP_ERROR_UNSUPPORTED_REQUEST, pnp.SMI_PROXY_UNSUPPORTED_REQUEST),
        ),
    ),
    "device-info without udi or correlator (dmfigol)": (
        lambda: shaped(DMFIGOL_DEVICE_INFO),
        Expected(pnp.NS_FAULT, wait=RETRY),
    ),
}


class RecordedDownloads(SmartInstallServices):
    """The proxy's services on a real director; the Smart Install download (an on-demand
    ``vstack download-image`` / ``download-config``, the e2e test's) is recorded."""

    def __init__(self, director: Director) -> None:
        super().__init__(director, Path("/nonexistent"), MAC, UDI, ServiceTimers())
        self.downloads: list[tuple[str, str, str | None, bool]] = []

    async def _download(
        self, kind: UpgradeKind, uri: str, checksum: str | None, reload: bool
    ) -> None:
        self.downloads.append((kind.value, uri, checksum, reload))


def director_knowing_the_client(tmp_path: Path) -> Director:
    director = make_director(tmp_path, address=HOST)
    image, version = image_facts(IMAGE)
    director.client_hello(
        HelloFacts(
            MAC, ip="127.0.0.3", pid=UDI.pid, serial=UDI.sn, image=image, version=version,
            hostname="access-3",
        )
    )  # fmt: skip
    director.client_neighbors(
        MAC,
        (
            Neighbor(
                "GigabitEthernet1/0/1", "0050.5622.0001", "access-1", "127.0.0.2",
                "GigabitEthernet1/0/48", "cisco WS-C2960X-48FPS-L",
            ),
        ),
    )  # fmt: skip
    return director


@pytest.fixture
async def server() -> AsyncIterator[ScriptedPnpServer]:
    with ScriptedPnpServer(HOST) as running:
        yield running


def agent_for(
    server: ScriptedPnpServer, services: RecordedDownloads, sent: list[bytes]
) -> ClientAgent:
    async def active() -> None:
        return None

    states: list[EntryState] = []
    address = PnpServerAddress(PnpTransport.HTTP, server.host, server.port)
    return ClientAgent(
        UDI,
        MAC,
        lambda: "access-3",
        PnpHttpClient(address, None, 10.0),
        services,
        active,
        states.append,
        AgentTimers(retry=RETRY, error_retry=RETRY, timeout=10.0),
        lambda _path, message: sent.append(message),
    )


def assert_xsd_valid(message: bytes) -> None:
    if XSD_DIR.is_dir():
        assert pnp.validate(message, XSD_DIR) == [], message.decode()


@pytest.mark.parametrize("case", list(CASES))
async def test_the_proxy_answers_what_pnp_servers_send(
    case: str, server: ScriptedPnpServer, tmp_path: Path
) -> None:
    reply, expected = CASES[case]
    services = RecordedDownloads(director_knowing_the_client(tmp_path))
    sent: list[bytes] = []
    agent = agent_for(server, services, sent)
    server.answer(reply())

    wait = await asyncio.wait_for(agent.exchange(), 30)

    work_requests = server.posted(pnp.WORK_REQUEST_PATH)
    responses = server.posted(pnp.WORK_RESPONSE_PATH)
    assert len(work_requests) == 1
    work_request = work_requests[0]
    assert_xsd_valid(work_request)
    assert udi_of(work_request).decode() == str(UDI)
    assert wait == expected.wait
    assert services.downloads == expected.downloads
    if expected.namespace is None:
        assert responses == []
        return
    assert len(responses) == 1 and sent[-1] == responses[0]
    answer = pnp.decode_response(responses[0])
    assert answer.namespace == expected.namespace
    assert str(answer.udi) == str(UDI)
    if expected.namespace == pnp.NS_FAULT:
        # "error without job info (correlator)": the protocol-level fault of §7 (b), in the
        # upper-case XSVC-ERR prefix the servers read; there is no XSD for it
        assert answer.correlator == "" and not answer.success
        assert b"XSVC-ERR:error" in responses[0]
        return
    assert_xsd_valid(responses[0])
    assert answer.correlator == correlator_of(work_request).decode()  # echoed
    if expected.error is None:
        assert answer.success, responses[0].decode()
    else:
        assert not answer.success and answer.error is not None
        assert (answer.error.enum, answer.error.string) == expected.error


async def test_what_the_proxy_says_of_the_client(server: ScriptedPnpServer, tmp_path: Path) -> None:
    """The successful device-info and topology answers carry the client's facts: its UDI and
    image, its CDP neighbour."""
    services = RecordedDownloads(director_knowing_the_client(tmp_path))
    agent = agent_for(server, services, [])
    server.answer(
        addressed(example("05_device_info_request.xml")),
        addressed(example("12_topology_request.xml")),
    )
    assert await agent.exchange() == 0.0
    assert await agent.exchange() == 0.0
    info, topology = (pnp.decode_response(r) for r in server.posted(pnp.WORK_RESPONSE_PATH))
    assert info.device_info is not None and info.device_info.udi == str(UDI)
    assert info.device_info.image is not None
    assert info.device_info.image.image_file == f"flash:{image_facts(IMAGE)[0]}"
    (neighbour,) = topology.topology
    assert neighbour.device_name == "access-1"
    assert neighbour.local_interface == "GigabitEthernet1/0/1"
    assert neighbour.remote_interface == "GigabitEthernet1/0/48"


async def test_the_whole_set_in_one_session(server: ScriptedPnpServer, tmp_path: Path) -> None:
    """Cisco's samples one after the other, as one server would send them: each bye brings the
    next work request at once, the terminate ends the exchanges; every message the proxy
    sent is valid against the XSDs and carries the client's UDI."""
    services = RecordedDownloads(director_knowing_the_client(tmp_path))
    sent: list[bytes] = []
    agent = agent_for(server, services, sent)
    names = [
        "03_capability_request.xml", "05_device_info_request.xml",
        "07_config_upgrade_request.xml", "10_image_install_request.xml",
        "12_topology_request.xml", "16_backoff_request_terminate.xml",
    ]  # fmt: skip
    server.answer(*(addressed(example(name)) for name in names))
    await asyncio.wait_for(agent.run(), 60)  # it returns once the server terminated
    requests = server.posted(pnp.WORK_REQUEST_PATH)
    responses = server.posted(pnp.WORK_RESPONSE_PATH)
    assert len(requests) == len(responses) == len(names)
    namespaces = [pnp.decode_response(r).namespace for r in responses]
    assert namespaces == [
        pnp.NS_CAPABILITY, pnp.NS_DEVICE_INFO, pnp.NS_CONFIG_UPGRADE, pnp.NS_IMAGE_INSTALL,
        pnp.NS_TOPOLOGY, pnp.NS_BACKOFF,
    ]  # fmt: skip
    # each response echoes the correlator of its own work request (a new one each time)
    correlators = [correlator_of(r) for r in requests]
    assert len(set(correlators)) == len(correlators)
    assert [correlator_of(r) for r in responses] == correlators
    for message in sent:
        assert_xsd_valid(message)
        assert udi_of(message).decode() == str(UDI)
