"""SMI Proxy end to end (guide, chapter 4 "Configuring SMI Proxy"): the example network
examples/pnp-proxy, a real director process in proxy mode, three emulated switches behind it
and the lab's PnP server.

* "SMI Proxy and Tailored Configuration Files": the proxy reads each client's PID, VID and SN
  over telnet (`show version`) and regenerates client_cfg_pnp.txt;
* "SMI Proxy Database": the entries (MAC address, UDI, state) are listed by `show vstack
  proxy-db`, kept in flash:/vstack/smi_pnp_proxy_db.txt and read back after a restart;
* "How SMI Proxy and PnP Agent Communicate": work requests on behalf of each client, a bye
  followed at once by the next work request, backoff;
* "Unsupported Services": the server's image and startup configuration are installed on each
  client through Smart Install; hardware and filesystem device-info, apply-to-running and
  cli-exec get the guide's error enums and strings, as the PnP server records them;
* every message the proxy sends is valid against Cisco's PnP XSDs (the server checks each).
"""

from __future__ import annotations

import asyncio
import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from smartinstall.lab.runner import SOCKET_NAME, Lab, render_table
from smartinstall.lab.topology import load_topology
from smartinstall.services.cli_local import run_lines

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "pnp-proxy" / "topology.yaml"
XSD_DIR = ROOT / "../shared/spec/pnp/xsd"
NEW_IMAGE = "c2960x-universalk9-tar.152-7.E10.tar"
NAMES = ("access-1", "access-2", "access-3")

pytestmark = pytest.mark.timeout(420)


async def console(lab: Lab, lines: str) -> str:
    """The director's console (its local socket, as `smartinstall console`)."""
    output, _ = await asyncio.to_thread(run_lines, lab.data_dir / SOCKET_NAME, lines, 20)
    return output


def udi_of(lab: Lab, name: str) -> str:
    config = lab.switch(name).config
    return f"PID:{config.pid},VID:{config.version_id},SN:{config.serial_number}"


def responses(records: list[dict[str, Any]], udi: str) -> list[dict[str, Any]]:
    return [r for r in records if r.get("kind") == "response" and r.get("udi") == udi]


def diagnostics(lab: Lab) -> str:
    assert lab.pnp_server is not None and lab.pnp_server.handle is not None
    records = lab.pnp_server.handle.exchanges()
    lines = [
        f"{r.get('udi', '')[-14:]} {r.get('kind')} {r.get('service')} {r.get('result')} "
        f"{r.get('error_enum') or ''} {r.get('xsd_errors') or ''}"
        for r in records[-60:]
    ]
    return (
        render_table(lab.rows(), 0)
        + lab.show_download_status()
        + "\n".join(lines)
        + "\n"
        + lab.director.log()[-6000:]
    )


def example_copy(tmp_path: Path) -> Path:
    """The example, moved from 127.22.0.0/16 to a /16 of its own (tests run side by side)."""
    target = tmp_path / "pnp-proxy"
    shutil.copytree(EXAMPLE.parent, target)
    prefix = f"127.{random.randint(150, 250)}."
    for name in ("topology.yaml", "startup-config"):
        path = target / name
        path.write_text(path.read_text().replace("127.22.", prefix))
    return target / "topology.yaml"


def address(lab: Lab, host: str) -> str:
    """An address of the example (``0.1``: the proxy) in the /16 the test moved it to."""
    return lab.address.rsplit(".", 2)[0] + "." + host


async def test_three_clients_behind_the_proxy(tmp_path: Path) -> None:
    topology = load_topology(example_copy(tmp_path))
    lab = Lab(topology, tmp_path / "lab", dhcp_retry=0.5)
    assert lab.pnp_server is not None
    if XSD_DIR.is_dir():
        lab.pnp_server.xsd_dir = XSD_DIR  # the server checks every message of the proxy
    async with lab:
        done = await lab.wait_until(lab.all_upgraded, 300)
        assert done, diagnostics(lab)
        handle = lab.pnp_server.handle
        records = handle.exchanges()

        # the server's plan: a new image and a startup configuration on each client, through
        # Smart Install (an on-demand image-upgrade and config-upgrade row each)
        for number, name in enumerate(NAMES, start=1):
            switch = lab.switch(name)
            assert switch.image == NEW_IMAGE, (name, diagnostics(lab))
            startup = switch.flash.startup_config() or ""
            assert f"hostname ACCESS-{number}" in startup, (name, startup)
            done_services = {
                r["service"]
                for r in responses(records, udi_of(lab, name))
                if r["result"] == "success"
            }
            assert {"image-install", "config-upgrade", "capabilities"} <= {
                "capabilities" if s == "capability" else s for s in done_services
            }, (name, done_services)
        statuses = lab.show_download_status()
        assert statuses.count("image-upgrade") == 3 and statuses.count("config-upgrade") == 3

        # what SMI Proxy refuses, with the guide's enums and strings, as the server saw them
        failures = {
            (r["service"], r["error_enum"], r["error_string"])
            for r in responses(records, udi_of(lab, "access-3"))
            if r["result"] == "failure"
        }
        assert failures == {
            ("device-info", "XSVC_ERROR_DEVICE_INFO_UNSUPPORTED",
             "SMI PROXY:Client device hardware info not supported"),
            ("device-info", "XSVC_ERROR_DEVICE_INFO_UNSUPPORTED",
             "SMI PROXY:Client device filesystem info not supported"),
            ("config-upgrade", "XSVC_ERROR_CONFIG_UPGRADE_UNSUPPORTED",
             "SMI PROXY: Config upgrade apply to Running Config is not supported"),
            ("cli-exec", "PNP_ERROR_UNSUPPORTED_REQUEST",
             "SMI PROXY:Not supported service request"),
        }, diagnostics(lab)  # fmt: skip
        # every work request and response came through the proxy, and is XSD-valid
        requests = [r for r in records if r.get("kind") == "request"]
        assert requests and all(r.get("via_proxy") is True for r in requests)
        if XSD_DIR.is_dir():
            invalid = [r for r in records if r.get("xsd_errors")]
            assert invalid == [], invalid
        assert not [r for r in records if r.get("kind") == "bad-message"]

        # the VID of each UDI is the "Version ID" of the client's show version
        assert [udi_of(lab, name).split(",")[1] for name in NAMES] == [
            "VID:V01", "VID:V02", "VID:V01"
        ]  # fmt: skip
        # show vstack proxy-db lists the three clients with their UDIs
        shown = await console(lab, "show vstack proxy-db\nshow vstack proxy-db detail\n")
        assert "Smi PnP Proxy:    ENABLED" in shown, shown
        for name in NAMES:
            switch = lab.switch(name)
            assert any(
                switch.mac in line and udi_of(lab, name) in line for line in shown.splitlines()
            ), shown
            assert f"UDI                : {udi_of(lab, name)}" in shown
        config = await console(lab, "show vstack config\n")
        assert "Role: SMI PnP Proxy" in config and address(lab, "0.1") in config, config

        # the database and the tailored configuration on flash:, as the guide names them
        vstack = lab.data_dir / "flash" / "vstack"
        db_text = (vstack / "smi_pnp_proxy_db.txt").read_text()
        assert all(udi_of(lab, name) in db_text for name in NAMES), db_text
        tailored = (vstack / "client_cfg_pnp.txt").read_text()
        proxy = address(lab, "0.1")
        assert f"do telnet {proxy} 19140" in tailored and f"vstack director {proxy}" in tailored

        # the database survives a restart of the director process (never cleared)
        await lab.director.stop()
        await lab.director.start()
        shown = await console(lab, "show vstack proxy-db\n")
        for name in NAMES:
            assert udi_of(lab, name) in shown, shown
        assert (vstack / "smi_pnp_proxy_db.txt").read_text().count("PID:") == 3
        # and the proxy asks for work for each client again (device came up)
        before = len(handle.exchanges())
        await handle.wait_for(
            lambda rs: (
                {r.get("udi") for r in rs[before:] if r.get("kind") == "request"}
                >= {udi_of(lab, name) for name in NAMES}
            ),
            timeout=60,
        )
