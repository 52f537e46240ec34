"""The lab PnP server (pnp/server.py) over real HTTP on loopback, checked "from the other side":
the shared example agent messages (``../shared/spec/pnp/examples``) are posted to it, and what
it answers must validate against Cisco's XSDs (``../shared/spec/pnp/xsd``) and follow the plan.
Also: exchanges.jsonl and ``/pnp-server/exchanges``, bad bodies (400, recorded), file serving
confined to the data directory, the guide's SMI Proxy errors, and the CLI command.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from smartinstall.lab.director_process import free_port
from smartinstall.pnp.plans import PlanError, parse_plans
from smartinstall.pnp.server import PnpServerHandle, serve_pnp
from smartinstall.wire import pnp

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "spec" / "pnp"
EXAMPLES = SHARED / "examples"
XSD = SHARED / "xsd"

pytestmark = pytest.mark.skipif(not XSD.is_dir(), reason="../shared/spec/pnp is not present")

EXAMPLE_UDI = pnp.Udi("WS-C3750X-24T-E", "V04", "FDO1703P2EB")
EXAMPLE_CORR = "CiscoPnP-1.0-1465-25A1212C"
IMAGE = b"c3750e-universalk9-tar.152-4.E10 " * 4096


def example(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


def loopback() -> str:
    return f"127.{random.randint(30, 250)}.{random.randint(1, 250)}.1"


def make_data_dir(path: Path) -> Path:
    (path / "images").mkdir(parents=True)
    (path / "configs").mkdir()
    (path / "images" / "c3750e.tar").write_bytes(IMAGE)
    (path / "configs" / "FDO1703P2EB.cfg").write_text("hostname IBC1\n!\nend\n")
    (path / "secret.txt").write_text("outside the plan, inside the directory\n")
    return path


PLANS: dict[str, Any] = {
    "defaults": {"backoff_seconds": 120, "reload_delay": 5},
    "devices": [
        {
            "serial": "FDO1703P2EB",
            "image": "images/c3750e.tar",
            "config": "configs/FDO1703P2EB.cfg",
        },
        {
            "udi": "PID:WS-C2960X-48FPD-L,VID:V01,SN:FOC1234X0AB",
            "config": "configs/FDO1703P2EB.cfg",
            "steps": [
                {"service": "config-upgrade", "apply_to": "running"},
                {"service": "cli-exec", "command": "show version"},
                {"service": "device-info", "type": "hardware"},
                {"service": "device-info", "type": "filesystem"},
                {"service": "reload"},
                "topology",
            ],
        },
    ],
}


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[PnpServerHandle]:
    handle = await serve_pnp(loopback(), 0, make_data_dir(tmp_path / "pnp"), PLANS, xsd_dir=XSD)
    try:
        yield handle
    finally:
        await handle.stop()


async def post(client: httpx.AsyncClient, path: str, body: bytes) -> httpx.Response:
    return await client.post(path, content=body, headers={"Content-Type": "text/xml"})


def valid(body: bytes) -> bytes:
    assert pnp.validate(body, XSD) == [], body.decode()
    return body


# --- the example device walks its plan ----------------------------------------------------------

# what the agent answers each request with: the shared examples
ANSWERS = {
    pnp.CapabilityRequest: "04_capability_response.xml",
    pnp.DeviceInfoRequest: "06_device_info_response.xml",
    pnp.ImageInstallRequest: "11_image_install_response_err.xml",
    pnp.ConfigUpgradeRequest: "08_config_upgrade_response_ok.xml",
    pnp.TopologyRequest: "13_topology_response.xml",
    pnp.BackoffRequest: "17_backoff_response.xml",
}


async def test_the_example_device_walks_its_plan(server: PnpServerHandle) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        hello = await client.get(pnp.HELLO_PATH)
        assert (hello.status_code, hello.content) == (200, b"")
        seen: list[pnp.ServiceRequest] = []
        for _ in range(7):
            answer = await post(client, pnp.WORK_REQUEST_PATH, example("01_work_request.xml"))
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("text/xml")
            request = pnp.decode_request(valid(answer.content))
            assert request.correlator == EXAMPLE_CORR  # copied from the work request
            assert request.udi == EXAMPLE_UDI.text
            seen.append(request)
            bye = await post(client, pnp.WORK_RESPONSE_PATH, example(ANSWERS[type(request)]))
            assert bye.status_code == 200
            assert pnp.decode_request(valid(bye.content)) == pnp.ByeRequest(
                EXAMPLE_CORR, udi=EXAMPLE_UDI.text
            )
            if isinstance(request, pnp.TopologyRequest):  # the plan's last step, answered
                assert server.device_done("FDO1703P2EB") and server.device_done(EXAMPLE_UDI.text)
            else:
                assert not server.device_done("FDO1703P2EB") or len(seen) > 5
        assert [type(r) for r in seen] == [
            pnp.CapabilityRequest,
            pnp.DeviceInfoRequest,
            pnp.ImageInstallRequest,
            pnp.ConfigUpgradeRequest,
            pnp.TopologyRequest,
            pnp.BackoffRequest,  # nothing left to do
            pnp.BackoffRequest,
        ]
        image, config, backoff = seen[2], seen[3], seen[5]
        assert isinstance(image, pnp.ImageInstallRequest)
        assert image.checksum == hashlib.md5(IMAGE).hexdigest()
        assert (image.reload, image.reload_delay, image.destination) == (True, 5, "flash:")
        assert isinstance(config, pnp.ConfigUpgradeRequest)
        assert (config.apply_to, config.reload) == ("startup", True)
        assert isinstance(backoff, pnp.BackoffRequest)
        assert backoff.callback_after_seconds == 120
        # the files the requests name are served (streamed) by the server itself
        got = await client.get(image.image_uri)
        assert (got.status_code, got.content) == (200, IMAGE)
        got = await client.get(config.source_uri)
        assert got.text == "hostname IBC1\n!\nend\n"

        listed = (await client.get("/pnp-server/exchanges")).json()
        by_serial = (await client.get("/pnp-server/exchanges?udi=FDO1703P2EB")).json()
        by_udi = (
            await client.get("/pnp-server/exchanges", params={"udi": EXAMPLE_UDI.text})
        ).json()
        other = (await client.get("/pnp-server/exchanges?udi=FOC0000")).json()
    assert listed == by_serial == by_udi and other == []
    responses = [r for r in listed if r["kind"] == "response"]
    assert [(r["service"], r["result"]) for r in responses] == [
        ("capability", "success"),
        ("device-info", "success"),
        ("image-install", "failure"),
        ("config-upgrade", "success"),
        ("topology", "success"),
        ("backoff", "success"),
        ("backoff", "success"),
    ]
    assert responses[2]["error_enum"] == "XSVC_ERROR_IMGINSTALL_IMG_SIGNATURE_VERIFY_FAILED"
    assert responses[2]["error_string"] == "Error verifying checksum for Image"
    assert responses[2]["detail"] == {"error_code": 1816}
    assert all(r["udi"] == EXAMPLE_UDI.text and r["correlator"] == EXAMPLE_CORR for r in listed)
    assert all("xsd_errors" not in r for r in listed)  # every example is XSD-valid
    requests = [r for r in listed if r["kind"] == "request"]
    assert [r["result"] for r in requests] == ["sent"] * 7
    assert requests[0]["via_proxy"] is True  # the example work request says viaProxy
    # the file holds the same records, one JSON object a line
    lines = (server.data_dir / "exchanges.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == listed
    devices = (await httpx.AsyncClient(base_url=server.url).get("/pnp-server/devices")).json()
    assert devices[EXAMPLE_UDI.text]["done"] is True


# --- the guide's SMI Proxy errors, as a proxy would answer ---------------------------------------

PROXIED = pnp.Udi("WS-C2960X-48FPD-L", "V01", "FOC1234X0AB")


def proxy_answer(request: pnp.ServiceRequest) -> bytes:
    """What SMI Proxy answers for a Smart Install client (guide ch. 4)."""
    corr = request.correlator
    match request:
        case pnp.ConfigUpgradeRequest(apply_to="running"):
            return pnp.encode_config_upgrade_response(
                PROXIED, corr, error=pnp.ERROR_CONFIG_RUNNING_UNSUPPORTED
            )
        case pnp.ConfigUpgradeRequest():
            return pnp.encode_config_upgrade_response(PROXIED, corr)
        case pnp.DeviceInfoRequest(info_type="hardware"):
            return pnp.encode_device_info_response(
                PROXIED, corr, error=pnp.ERROR_DEVICE_HARDWARE_INFO_UNSUPPORTED
            )
        case pnp.DeviceInfoRequest(info_type="filesystem"):
            return pnp.encode_device_info_response(
                PROXIED, corr, error=pnp.ERROR_DEVICE_FILESYSTEM_INFO_UNSUPPORTED
            )
        case pnp.UnsupportedRequest():
            return pnp.encode_error_response(
                PROXIED, request.namespace, corr, pnp.ERROR_UNSUPPORTED_REQUEST
            )
        case pnp.TopologyRequest():
            neighbour = pnp.TopologyNeighbour(
                "GigabitEthernet0/1", "Gi0/1", "0021.d7ae.fc01", "GigabitEthernet1/0/24",
                "Gi1/0/24", "0022.5566.7718", "IBD", "cisco WS-C3850-24T", "16.3.9",
            )  # fmt: skip
            return pnp.encode_topology_response(PROXIED, corr, [neighbour])
        case pnp.BackoffRequest():
            return pnp.encode_backoff_response(PROXIED, corr)
    raise AssertionError(request)


async def test_extra_steps_and_the_guides_errors(server: PnpServerHandle) -> None:
    sent: list[pnp.ServiceRequest] = []
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        for n in range(8):
            work = pnp.encode_work_request(PROXIED, f"CiscoPnP-1.0-{n}", via_proxy=True)
            answer = await post(client, pnp.WORK_REQUEST_PATH, valid(work))
            request = pnp.decode_request(answer.content)
            sent.append(request)
            if not isinstance(request, pnp.UnsupportedRequest) or request.service == "cli-exec":
                valid(answer.content)
            reply = proxy_answer(request)
            bye = await post(client, pnp.WORK_RESPONSE_PATH, reply)
            assert pnp.decode_request(bye.content) == pnp.ByeRequest(
                request.correlator, udi=PROXIED.text
            )
    first, retry = sent[0], sent[1]
    assert isinstance(first, pnp.ConfigUpgradeRequest) and first.apply_to == "running"
    # the guide: after SMI Proxy's error the server asks again, on the startup configuration
    assert isinstance(retry, pnp.ConfigUpgradeRequest) and retry.apply_to == "startup"
    assert retry.source_uri == first.source_uri
    assert isinstance(sent[2], pnp.UnsupportedRequest) and sent[2].service == "cli-exec"
    assert isinstance(sent[5], pnp.UnsupportedRequest) and sent[5].service == "reload"
    assert [type(r) for r in sent[6:]] == [pnp.TopologyRequest, pnp.BackoffRequest]

    responses = [r for r in server.exchanges(PROXIED.sn) if r["kind"] == "response"]
    assert [(r["service"], r["result"], r["error_enum"], r["error_string"]) for r in responses] == [
        ("config-upgrade", "failure", "XSVC_ERROR_CONFIG_UPGRADE_UNSUPPORTED",
         "SMI PROXY: Config upgrade apply to Running Config is not supported"),
        ("config-upgrade", "success", None, None),
        ("cli-exec", "failure", "PNP_ERROR_UNSUPPORTED_REQUEST",
         "SMI PROXY:Not supported service request"),
        ("device-info", "failure", "XSVC_ERROR_DEVICE_INFO_UNSUPPORTED",
         "SMI PROXY:Client device hardware info not supported"),
        ("device-info", "failure", "XSVC_ERROR_DEVICE_INFO_UNSUPPORTED",
         "SMI PROXY:Client device filesystem info not supported"),
        ("reload", "failure", "PNP_ERROR_UNSUPPORTED_REQUEST",
         "SMI PROXY:Not supported service request"),
        ("topology", "success", None, None),
        ("backoff", "success", None, None),
    ]  # fmt: skip
    # every answer of the proxy validates against its service's XSD
    assert [r["service"] for r in responses if r.get("xsd_errors")] == []
    await server.wait_for(lambda records: len(records) >= 16, timeout=5)


async def test_devices_without_a_plan_back_off_and_terminate(tmp_path: Path) -> None:
    plans = {"defaults": {"when_done": "terminate"}, "devices": [{"pid": "WS-C3560", "steps": []}]}
    handle = await serve_pnp(loopback(), 0, tmp_path, plans)
    try:
        async with httpx.AsyncClient(base_url=handle.url, timeout=10) as client:
            unknown = pnp.encode_work_request(pnp.Udi("WS-C2960", "V01", "X1"), "c1")
            req = pnp.decode_request((await post(client, pnp.WORK_REQUEST_PATH, unknown)).content)
            assert isinstance(req, pnp.BackoffRequest) and req.callback_after_seconds == 60
            planned = pnp.encode_work_request(pnp.Udi("WS-C3560", "V01", "X2"), "c2")
            req = pnp.decode_request((await post(client, pnp.WORK_REQUEST_PATH, planned)).content)
            assert isinstance(req, pnp.BackoffRequest) and req.terminate
    finally:
        await handle.stop()


# --- bad input ----------------------------------------------------------------------------------


async def test_bad_bodies_get_400_and_are_recorded(server: PnpServerHandle) -> None:
    bad = [
        (pnp.WORK_REQUEST_PATH, b""),
        (pnp.WORK_REQUEST_PATH, b"<pnp"),
        (pnp.WORK_REQUEST_PATH, example("03_capability_request.xml")),  # not a work request
        (pnp.WORK_RESPONSE_PATH, example("01_work_request.xml")),  # not a response
        (pnp.WORK_RESPONSE_PATH, b'<!DOCTYPE pnp [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                                 b'<pnp udi="&x;"/>'),
        (pnp.WORK_RESPONSE_PATH, b"\xff\xfe\x00garbage"),
    ]  # fmt: skip
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        for path, body in bad:
            answer = await post(client, path, body)
            assert answer.status_code == 400, (path, body)
            assert answer.text.startswith("bad PnP message")
        huge = await post(client, pnp.WORK_RESPONSE_PATH, b" " * (pnp.MAX_MESSAGE_SIZE + 10))
        assert huge.status_code == 413
        # still serving
        ok = await post(client, pnp.WORK_REQUEST_PATH, example("01_work_request.xml"))
        assert ok.status_code == 200
        recorded = (await client.get("/pnp-server/exchanges")).json()
    errors = [r for r in recorded if r["kind"] == "bad-message"]
    assert len(errors) == len(bad) + 1
    assert all(r["result"] == "protocol-error" and r["error_string"] for r in errors)
    assert [r["detail"]["endpoint"] for r in errors[:3]] == [pnp.WORK_REQUEST_PATH] * 3
    assert "entity" in errors[4]["error_string"]  # never resolved


async def test_files_are_confined_to_the_data_directory(server: PnpServerHandle) -> None:
    outside = server.data_dir.parent / "outside.txt"
    outside.write_text("not yours\n")
    (server.data_dir / "link").symlink_to(outside)
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        for path in (
            "/pnp-server/files/../outside.txt",
            "/pnp-server/files/%2e%2e/outside.txt",
            "/pnp-server/files/%252e%252e/outside.txt",
            "/pnp-server/files/images/%2e%2e/%2e%2e/outside.txt",
            "/pnp-server/files//etc/passwd",
            "/pnp-server/files/link",
            "/pnp-server/files/images",
            "/pnp-server/files/missing.bin",
        ):
            got = await client.get(path)
            assert got.status_code == 404, path
            assert b"not yours" not in got.content
        (server.data_dir / "a b%20c.cfg").write_text("odd name\n")
        odd = await client.get("/pnp-server/files/" + urllib.parse.quote("a b%20c.cfg"))
        assert odd.text == "odd name\n"
        head = await client.head("/pnp-server/files/images/c3750e.tar")
        assert (head.status_code, head.headers["content-length"]) == (200, str(len(IMAGE)))
        part = await client.get(
            "/pnp-server/files/images/c3750e.tar", headers={"Range": "bytes=0-9"}
        )
        assert (part.status_code, part.content) == (206, IMAGE[:10])


async def test_a_fault_answers_the_pending_request(server: PnpServerHandle) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        await post(client, pnp.WORK_REQUEST_PATH, example("01_work_request.xml"))
        bye = await post(client, pnp.WORK_RESPONSE_PATH, example("18_fault_response.xml"))
    assert pnp.decode_request(bye.content) == pnp.ByeRequest(EXAMPLE_CORR, udi=EXAMPLE_UDI.text)
    [fault] = [r for r in server.exchanges() if r["kind"] == "response"]
    assert (fault["service"], fault["result"], fault["error_enum"]) == ("fault", "failure",
                                                                        "XSVC:Client")  # fmt: skip


async def test_hello_and_records_survive_a_restart(tmp_path: Path) -> None:
    data = make_data_dir(tmp_path / "pnp")
    address = loopback()
    handle = await serve_pnp(address, 0, data, PLANS)
    async with httpx.AsyncClient(base_url=handle.url, timeout=10) as client:
        for method in ("GET", "HEAD", "POST"):
            hello = await client.request(
                method, pnp.HELLO_PATH, content=b"<info/>" * (method == "POST")
            )
            assert hello.status_code == 200
        await post(client, pnp.WORK_REQUEST_PATH, example("01_work_request.xml"))
    await handle.stop()
    await handle.stop()  # idempotent
    handle = await serve_pnp(address, handle.port, data)  # plans.yaml absent: no plans
    try:
        assert [r["service"] for r in handle.exchanges()] == ["capability"]
        async with httpx.AsyncClient(base_url=handle.url, timeout=10) as client:
            req = pnp.decode_request(
                (await post(client, pnp.WORK_REQUEST_PATH, example("01_work_request.xml"))).content
            )
        assert isinstance(req, pnp.BackoffRequest)
    finally:
        await handle.stop()


# --- plans.yaml ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        [],
        {"devices": [{"image": "x.bin"}]},  # matches nothing
        {"devices": [{"serial": "A", "steps": ["image-install"]}]},  # no image
        {"devices": [{"serial": "A", "image": "../etc/passwd"}]},
        {"devices": [{"serial": "A", "image": "/etc/passwd"}]},
        {"devices": [{"serial": "A", "steps": [{"service": "device-info", "type": "cpu"}]}]},
        {"devices": [{"serial": "A", "config": "c", "steps": [{"service": "config-upgrade",
                                                              "apply_to": "AP"}]}]},
        {"devices": [{"udi": "not a udi"}]},
        {"devices": [{"serial": "A", "colour": "red"}]},
        {"defaults": {"when_done": "sometimes"}},
        {"defaults": {"backoff_seconds": 999999}},
        {"devices": [{"serial": "A", "steps": [{"service": "backoff", "terminate": True,
                                                "default_minutes": 5}]}]},
    ],
)  # fmt: skip
def test_bad_plans_are_refused_with_a_reason(raw: Any) -> None:
    with pytest.raises(PlanError):
        parse_plans(raw)


def test_plan_matching_prefers_the_most_specific() -> None:
    plans = parse_plans(
        {
            "devices": [
                {"default": True, "config": "default.cfg"},
                {"pid": "WS-C2960X-48FPD-L", "config": "pid.cfg"},
                {"serial": "FOC1234X0AB", "config": "serial.cfg"},
                {"serial": "FOC1234X0AB", "pid": "OTHER", "config": "never.cfg"},
                {"udi": PROXIED.text, "config": "udi.cfg"},
            ]
        }
    )

    def config(udi: pnp.Udi) -> str | None:
        plan = plans.plan_for(udi)
        return plan.config if plan else None

    assert config(PROXIED) == "udi.cfg"
    assert config(pnp.Udi("WS-C2960X-48FPD-L", "V02", "FOC1234X0AB")) == "serial.cfg"
    assert config(pnp.Udi("WS-C2960X-48FPD-L", "V01", "FOC9")) == "pid.cfg"
    assert config(pnp.Udi("WS-C3560", "V01", "FOC9")) == "default.cfg"
    walk = plans.plan_for(PROXIED)
    assert walk is not None
    assert [s.service for s in walk.walk()] == [
        "capability",
        "device-info",
        "config-upgrade",
        "topology",
    ]


# --- the command --------------------------------------------------------------------------------


def wait_for_hello(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited"
        try:
            if httpx.get(url + pnp.HELLO_PATH, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("the PnP server did not answer HELLO")


def test_the_command_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    import yaml

    data = make_data_dir(tmp_path / "pnp")
    (data / "plans.yaml").write_text(yaml.safe_dump(PLANS))
    address = loopback()
    port = free_port(address, socket.SOCK_STREAM)
    command = [
        sys.executable, "-m", "smartinstall.cli", "pnp-server", "--address", address,
        "--port", str(port), "--data-dir", str(data), "--xsd-dir", str(XSD),
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ)
    )
    try:
        url = f"http://{address}:{port}"
        wait_for_hello(url, process)
        answer = httpx.post(
            url + pnp.WORK_REQUEST_PATH, content=example("01_work_request.xml"), timeout=10
        )
        assert isinstance(pnp.decode_request(valid(answer.content)), pnp.CapabilityRequest)
        bad = httpx.post(url + pnp.WORK_RESPONSE_PATH, content=b"nonsense", timeout=10)
        assert bad.status_code == 400
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    _, stderr = process.communicate()
    assert b"Traceback" not in stderr
    kinds = [
        json.loads(line)["kind"] for line in (data / "exchanges.jsonl").read_text().splitlines()
    ]
    assert kinds == ["request", "bad-message"]


def test_the_command_refuses_a_bad_plan(tmp_path: Path) -> None:
    (tmp_path / "plans.yaml").write_text("devices: [{serial: A, image: ../../etc/passwd}]\n")
    result = subprocess.run(
        [sys.executable, "-m", "smartinstall.cli", "pnp-server", "--address", "127.0.0.1",
         "--port", "0", "--data-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert b"must be a path inside the data directory" in result.stderr
    assert b"Traceback" not in result.stderr


async def test_a_port_in_use_is_an_oserror(tmp_path: Path) -> None:
    address = loopback()
    handle = await serve_pnp(address, 0, tmp_path / "a")
    try:
        with pytest.raises(OSError):
            await serve_pnp(address, handle.port, tmp_path / "b")
    finally:
        await handle.stop()
    await asyncio.sleep(0)
