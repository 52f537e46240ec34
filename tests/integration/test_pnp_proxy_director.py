"""SMI Proxy in a real director process (guide, chapter 4 "Configuring SMI Proxy"):

* "[no] vstack proxy … The [no] form of the vstack proxy command turns off support for SMI
  clients": on a running director the proxy stops (no PnP agent runs), ``show vstack
  proxy-db`` says ``Smi PnP Proxy: DISABLED``, the director's own commands are accessible
  again, and the database on flash: is kept ("Clearing this database is disallowed");
* a SIGHUP (startup-config replayed) while in proxy mode leaves the proxy working: its agents
  keep asking the PnP server for work, its database is intact.

The client is a scripted Smart Install client (real DHCP through a relay address and SMI); its
proxy database entry is on flash: before the director starts (as after a restart), so no
reverse telnet is needed. The PnP server is a scripted one on loopback.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from smartinstall.domain.proxy import (
    PROXY_DB_NAME,
    ClientUdi,
    ProxyDatabase,
    parse_proxy_db,
    render_proxy_db,
)
from smartinstall.wire import pnp
from tests.integration.director_harness import (
    DirectorProcess,
    ScriptedClient,
    console,
    lab_prefix,
)
from tests.integration.pnp_scripted_server import ScriptedPnpServer, correlator_of, udi_of

MAC = "0050.5623.0001"
PID = "WS-C2960X-48FPS-L"
UDI = ClientUdi(PID, "V01", "FOC56230001")
REJECTED = "Command Rejected: SMI Proxy is enabled; enter no vstack proxy first"

pytestmark = pytest.mark.timeout(180)


def proxy_config(prefix: str, pnp_port: int) -> str:
    """The example's startup-config (examples/pnp-proxy/startup-config) on the test's /24."""
    return f"""hostname Proxy
vstack dhcp-localserver branch
 address-pool {prefix}.0 255.255.255.0
 default-router {prefix}.1
 file-server {prefix}.1
!
pnp profile pnp-zero-touch
 transport http ipv4 {prefix}.9 port {pnp_port}
!
vstack proxy ip-address {prefix}.1 startup-vlan 1
"""


def backoff_one_second(work_request: bytes) -> bytes:
    """What the server answers when it has nothing to do: come back in a second."""
    return pnp.encode_backoff_request(
        pnp.Udi.parse(udi_of(work_request).decode()),
        correlator_of(work_request).decode(),
        callback_after_seconds=1,
    )


@dataclass
class ProxyLab:
    director: DirectorProcess
    server: ScriptedPnpServer
    client: ScriptedClient

    def work_requests(self) -> int:
        return len(self.server.posted(pnp.WORK_REQUEST_PATH))

    async def more_work_requests_than(self, count: int, timeout: float = 30.0) -> None:
        """Until the PnP server has had more than ``count`` work requests for the client."""

        def more(server: ScriptedPnpServer) -> bool:
            asked = server.posted(pnp.WORK_REQUEST_PATH)
            return len(asked) > count and udi_of(asked[-1]).decode() == str(UDI)

        got = await asyncio.to_thread(self.server.wait_for, more, timeout)
        assert got, f"no work request after {count}:\n{self.director.log()[-4000:]}"

    def database_file(self) -> ProxyDatabase:
        text = (self.director.flash / PROXY_DB_NAME).read_text()
        database, skipped = parse_proxy_db(text)
        assert skipped == []
        return database


@pytest.fixture
async def lab(tmp_path: Path) -> AsyncIterator[ProxyLab]:
    prefix = lab_prefix()
    with ScriptedPnpServer(f"{prefix}.9") as server:
        server.default = backoff_one_second
        director = DirectorProcess(tmp_path, prefix, proxy_config(prefix, server.port))
        database = ProxyDatabase()
        database.add(MAC, UDI)
        path = director.flash / PROXY_DB_NAME  # flash:/vstack/smi_pnp_proxy_db.txt
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_proxy_db(database))
        director.start()
        client = ScriptedClient(director, MAC, PID)
        try:
            await director.await_log("SMI proxy database", timeout=30)
            await client.dhcp()
            await client.listen()
            await client.hello("access-1")
            proxy = ProxyLab(director, server, client)
            await proxy.more_work_requests_than(0)  # the device-came-up work request
            yield proxy
        finally:
            await client.close()
            director.stop()


async def test_no_vstack_proxy_on_a_running_director(lab: ProxyLab) -> None:
    director = lab.director
    shown = await console(director, "show vstack proxy-db\n")
    assert "Smi PnP Proxy:    ENABLED" in shown and str(UDI) in shown, shown
    # "SMI Director and SMI Proxy are mutually exclusive": the director's commands are refused
    refused = await console(
        director, f"configure terminal\nvstack director {director.address}\nend\n"
    )
    assert REJECTED in refused, refused

    said = await console(director, "configure terminal\nno vstack proxy\nend\n")
    assert "%" not in said and "Rejected" not in said, said
    await director.await_log("SMI proxy stopped: 1 agents ended", timeout=30)

    shown = await console(director, "show vstack proxy-db\nshow vstack proxy-db detail\n")
    assert shown.count("Smi PnP Proxy:    DISABLED") == 2, shown
    assert str(UDI) not in shown and "Proxy Database" not in shown, shown
    config = await console(director, "show vstack config\n")
    assert "SMI PnP Proxy" not in config, config
    # the director's own commands are accessible again
    accepted = await console(
        director, f"configure terminal\nvstack director {director.address}\nvstack basic\nend\n"
    )
    assert REJECTED not in accepted and "%" not in accepted, accepted
    config = await console(director, "show vstack config\n")
    assert "Role: Director" in config, config
    # the database is kept on flash: (never cleared), with the client's UDI
    assert [str(e.udi) for e in lab.database_file().entries.values()] == [str(UDI)]

    # proxy mode again: the entry read back, the agent asks for work for the client again
    asked = lab.work_requests()
    again = await console(
        director,
        f"configure terminal\nno vstack director\nno vstack basic\n"
        f"vstack proxy ip-address {director.address} startup-vlan 1\nend\n",
    )
    assert "Rejected" not in again, again
    await lab.more_work_requests_than(asked)
    shown = await console(director, "show vstack proxy-db\n")
    assert "Smi PnP Proxy:    ENABLED" in shown and str(UDI) in shown, shown


async def test_sighup_in_proxy_mode_keeps_the_proxy_working(lab: ProxyLab) -> None:
    director = lab.director
    assert director.process is not None
    starts = director.log().count("SMI proxy database")
    director.process.send_signal(signal.SIGHUP)
    await director.await_log("configuration reloaded", timeout=30)

    # the agent goes on: the server's one-second backoffs are followed by work requests
    asked = lab.work_requests()
    await lab.more_work_requests_than(asked)
    await lab.more_work_requests_than(asked + 1)
    log = director.log()
    assert "SMI proxy stopped" not in log, log[-4000:]
    assert log.count("SMI proxy database") == starts  # not restarted: nothing read again
    assert "startup-config line" not in log  # every line of the startup-config replayed

    shown = await console(director, "show vstack proxy-db detail\n")
    assert "Smi PnP Proxy:    ENABLED" in shown and f"UDI                : {UDI}" in shown, shown
    assert [str(e.udi) for e in lab.database_file().entries.values()] == [str(UDI)]
    config = await console(director, "show vstack config\n")
    assert "Role: SMI PnP Proxy" in config, config
    # every message of the agent still carries the client's UDI
    assert {udi_of(m).decode() for m in lab.server.posted(pnp.WORK_REQUEST_PATH)} == {str(UDI)}
