"""The director's HTTP service on a real director process on loopback: REST API (httpx and
curl), HTTPS by option, authentication (Basic, bearer tokens, privileges), problem+json errors,
an on-demand upgrade started through the API that completes, backups, events, the SSE stream
and /metrics parsed by prometheus-client's own parser."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from smartinstall.wire import smi_client
from smartinstall.wire.smi import DownloadConfig, DownloadImage
from tests.integration.director_harness import (
    ROOT,
    DirectorProcess,
    ScriptedClient,
    console,
    director_preamble,
    free_port,
    lab_prefix,
)

ADMIN = ("admin", "admin-Pass1")
VIEWER = ("viewer", "viewer-Pass1")
PID = "WS-C2960X-48FPS-L"
IMAGE = "c2960x-universalk9-tar.152-7.E9.tar"
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def director(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DirectorProcess]:
    prefix = lab_prefix()
    address = f"{prefix}.1"
    http_port = free_port(address, socket.SOCK_STREAM)
    https_port = free_port(address, socket.SOCK_STREAM)
    config = (
        director_preamble(prefix)
        + f"""vstack config flash:seed.txt
username {ADMIN[0]} privilege 15 secret {ADMIN[1]}
username {VIEWER[0]} secret {VIEWER[1]}
ip http server
ip http port {http_port}
"""
    )
    process = DirectorProcess(tmp_path_factory.mktemp("http") / "director", prefix, config)
    process.ports["http"] = http_port
    process.ports["https"] = https_port
    process.extra_args = ["--https-port", str(https_port)]
    (process.flash / "seed.txt").write_text("hostname seed\n!\nend\n")
    (process.flash / IMAGE).write_bytes(os.urandom(20_000))
    process.start()
    process.wait_for_log("HTTPS server on")
    yield process
    process.stop()


def base(director: DirectorProcess) -> str:
    return f"http://{director.address}:{director.ports['http']}"


@pytest.fixture
async def api(director: DirectorProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base(director), auth=ADMIN, timeout=10) as client:
        yield client


def curl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["curl", "-sS", "--max-time", "10", "-w", "\n%{http_code}", *args],
        capture_output=True, text=True, timeout=20,
    )  # fmt: skip


def curl_status(result: subprocess.CompletedProcess[str]) -> tuple[int, str]:
    body, _, code = result.stdout.rpartition("\n")
    return int(code), body


async def joined(director: DirectorProcess, mac: str) -> ScriptedClient:
    client = ScriptedClient(director, mac, PID)
    await client.dhcp()
    await client.listen()
    await client.hello(f"sw-{mac[-4:]}")
    await director.await_log(f"mac address: {mac}")
    return client


def metric_value(text: str, name: str) -> float:
    """The value of a metric without labels, as prometheus-client's parser reads it."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and not sample.labels:
                return float(sample.value)
    raise AssertionError(f"{name} not in /metrics")


async def poll(check: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def test_anonymous_only_for_health_metrics_and_openapi(director: DirectorProcess) -> None:
    url = base(director)
    for path in ("/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"):
        assert curl_status(curl(url + path))[0] == 200, path
    for path in ("/", "/api/v1/devices", "/api/v1/events", "/api/v1/groups"):
        code, body = curl_status(curl("-i", url + path))
        assert code == 401, path
        assert "www-authenticate: Basic" in body.lower().replace(
            "www-authenticate: basic", "www-authenticate: Basic"
        )
        assert PROBLEM in body
    # from an address of its own: the login guard slows down this source, not the others
    guesser = f"{director.prefix}.77"
    code, body = curl_status(
        curl("--interface", guesser, "-u", "admin:wrong", url + "/api/v1/devices")
    )
    assert code == 401 and json.loads(body)["status"] == 401


def test_https_by_option_with_a_self_signed_certificate(director: DirectorProcess) -> None:
    url = f"https://{director.address}:{director.ports['https']}/api/v1/devices"
    code, body = curl_status(curl("-k", "-u", ":".join(VIEWER), url))
    assert code == 200
    assert json.loads(body)[0]["status"] == "Director"
    assert (director.data_dir / "http" / "self-signed.crt").exists()


def test_openapi_lists_every_route(director: DirectorProcess) -> None:
    document = httpx.get(base(director) + "/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    for path in (
        "/api/v1/devices", "/api/v1/devices/{key}", "/api/v1/devices/{key}/backups",
        "/api/v1/devices/{key}/backups/{revision}", "/api/v1/downloads",
        "/api/v1/operations/{number}", "/api/v1/groups", "/api/v1/groups/custom/{name}",
        "/api/v1/join-window", "/api/v1/join-window/held/{key}", "/api/v1/config",
        "/api/v1/config/save", "/api/v1/events", "/api/v1/events/stream", "/metrics",
        "/healthz", "/readyz", "/",
    ):  # fmt: skip
        assert path in paths, path
    for item in paths.values():
        for operation in item.values():
            assert operation["responses"], operation


async def test_privilege_1_reads_but_cannot_change(director: DirectorProcess) -> None:
    async with httpx.AsyncClient(base_url=base(director), auth=VIEWER, timeout=10) as viewer:
        assert (await viewer.get("/api/v1/groups")).status_code == 200
        response = await viewer.patch("/api/v1/join-window", json={"closed": True})
        assert response.status_code == 403
        assert response.headers["content-type"] == PROBLEM
        response = await viewer.post("/api/v1/config", json={"lines": ["vstack hostname-prefix x"]})
        assert response.status_code == 403


async def test_bearer_token_from_the_token_command(director: DirectorProcess) -> None:
    made = subprocess.run(
        [sys.executable, "-m", "smartinstall.cli", "token", "--data-dir", str(director.data_dir),
         "create", "--user", ADMIN[0]],
        capture_output=True, text=True, timeout=30, cwd=ROOT, check=True,
    )  # fmt: skip
    token = made.stdout.strip()
    assert token.startswith("si_")
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base(director), headers=headers, timeout=10) as client:
        assert (await client.get("/api/v1/downloads")).status_code == 200
    bad = {"Authorization": f"Bearer {token[:-2]}xx"}
    async with httpx.AsyncClient(base_url=base(director), headers=bad, timeout=10) as client:
        response = await client.get("/api/v1/downloads")
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM


async def test_changes_go_through_the_command_engine(
    director: DirectorProcess, api: httpx.AsyncClient
) -> None:
    response = await api.patch(
        "/api/v1/join-window", json={"schedule": "08:00 02:00 recurring", "mode": "auto"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["join_window"]["mode"] == "auto"
    response = await api.put(
        "/api/v1/groups/custom/apilab",
        json={"kind": "mac", "image": f"flash:{IMAGE}", "match": ["match mac 0011.2233.4455"]},
    )
    assert response.status_code == 200, response.text
    groups = (await api.get("/api/v1/groups")).json()
    assert [g["name"] for g in groups["custom"]] == ["apilab"]
    assert response.json()["saved"] is True
    running = await console(director, "show running-config\n")
    assert "vstack join-window start 08:00 02:00 recurring" in running
    assert "vstack group custom apilab mac" in running
    assert "ip http server" in running
    # persisted by the change itself, as `write memory` would
    startup_config = director.data_dir / "startup-config"
    startup = startup_config.read_text()
    assert "vstack group custom apilab mac" in startup and "ip http server" in startup
    assert "vstack join-window start 08:00 02:00 recurring" in startup
    saved = await api.post("/api/v1/config/save")
    assert saved.status_code == 200 and "[OK]" in saved.json()["output"]
    # a director restarted reads the changes back from its startup-config
    await asyncio.to_thread(director.stop)
    await asyncio.to_thread(director.start)
    async with httpx.AsyncClient(base_url=base(director), auth=ADMIN, timeout=10) as again:
        groups = (await again.get("/api/v1/groups")).json()
        assert [g["name"] for g in groups["custom"]] == ["apilab"]
        window = (await again.get("/api/v1/join-window")).json()
        assert window["mode"] == "auto"
        assert "vstack join-window start 08:00 02:00 recurring" in window["config_lines"]
        assert (await again.delete("/api/v1/groups/custom/apilab")).status_code == 200
        assert (await again.get("/api/v1/groups")).json()["custom"] == []
    assert "vstack group custom apilab" not in startup_config.read_text()


async def test_a_save_that_fails_is_problem_json(
    director: DirectorProcess, api: httpx.AsyncClient
) -> None:
    startup_config = director.data_dir / "startup-config"
    kept = startup_config.read_bytes()
    startup_config.unlink()
    startup_config.mkdir()  # the file cannot be replaced: the save fails
    try:
        response = await api.post("/api/v1/config", json={"lines": ["vstack hostname-prefix X-"]})
        assert response.status_code == 500, response.text
        assert response.headers["content-type"] == PROBLEM
        problem = response.json()
        assert problem["type"].endswith("save-failed") and problem["running_config_changed"]
        assert "%Error writing startup-config" in problem["detail"]
        response = await api.post("/api/v1/config/save")
        assert response.status_code == 500 and response.json()["type"].endswith("save-failed")
    finally:
        startup_config.rmdir()
        startup_config.write_bytes(kept)
    assert "vstack hostname-prefix X-" in await console(director, "show running-config\n")
    response = await api.post("/api/v1/config", json={"lines": ["no vstack hostname-prefix"]})
    assert response.status_code == 200, response.text
    assert "hostname-prefix" not in startup_config.read_text()


async def test_bad_input_is_problem_json(director: DirectorProcess, api: httpx.AsyncClient) -> None:
    response = await api.patch(
        "/api/v1/join-window", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("malformed-json")
    response = await api.get("/api/v1/devices/9999")
    assert response.status_code == 404 and response.json()["status"] == 404
    response = await api.put("/api/v1/groups/custom/g1", json={"kind": "colour"})
    assert response.status_code == 422 and response.json()["errors"]
    # a group the command engine refuses: its IOS message comes back
    response = await api.put(
        "/api/v1/groups/custom/g2", json={"kind": "mac", "match": ["match mac not-a-mac"]}
    )
    assert response.status_code == 400
    assert response.json()["type"].endswith("command-rejected")
    assert "%" in response.json()["detail"]
    response = await api.put("/api/v1/groups/custom/g3", json={"kind": "mac", "image": "a b?"})
    assert response.status_code == 400
    response = await api.patch("/api/v1/join-window", json={"schedule": "25:00"})
    assert response.status_code == 400 and "Invalid input" in response.json()["detail"]
    assert "saved" not in response.json()  # nothing was applied, nothing to save
    # the lines before a refused one stay in the running configuration, and are saved
    response = await api.post(
        "/api/v1/config", json={"lines": ["vstack hostname-prefix Part-", "vstack no-such-line"]}
    )
    assert response.status_code == 400
    assert response.json()["applied"] == 1 and response.json()["saved"] is True
    assert "vstack hostname-prefix Part-" in (director.data_dir / "startup-config").read_text()
    response = await api.post("/api/v1/config", json={"lines": ["no vstack hostname-prefix"]})
    assert response.status_code == 200
    assert (await api.get("/api/v1/no-such-route")).headers["content-type"] == PROBLEM
    # a page of another site cannot drive a browser holding the operator's credentials
    response = await api.post("/api/v1/config/save", headers={"Origin": "http://other.example"})
    assert response.status_code == 403 and response.json()["type"].endswith("cross-site")


async def test_on_demand_upgrade_through_the_api_completes(
    director: DirectorProcess, api: httpx.AsyncClient
) -> None:
    client = await joined(director, "0050.5619.0001")
    try:
        devices = (await api.get("/api/v1/devices", params={"pid": "WS-C2960X"})).json()
        assert [d["mac"] for d in devices] == [client.mac]
        started = await api.post(
            "/api/v1/downloads", json={"kind": "image", "url": f"flash:{IMAGE}", "ip": client.ip}
        )
        assert started.status_code == 202, started.text
        number = started.json()["id"]

        async def finished() -> dict[str, Any] | None:
            item = (await api.get(f"/api/v1/operations/{number}")).json()
            return item if item["state"] != "running" else None

        operation = await poll(finished)
        assert operation["state"] == "done", operation
        assert f"{client.ip}: image download requested" in operation["output"]

        async def commanded() -> bool:
            return any(isinstance(c.command, DownloadImage) for c in client.commands)

        await poll(commanded)
        await client.upgrade(smi_client.Operation.IMAGE, smi_client.UpgradeState.DONE)

        async def upgraded() -> dict[str, Any] | None:
            device = (await api.get(f"/api/v1/devices/{client.mac}")).json()
            return device if device["upgrade"]["image"] == "done" else None

        device = await poll(upgraded)
        assert device["downloads"] and device["downloads"][-1]["method"] == "image-upgrade"
        rows = (await api.get("/api/v1/downloads")).json()
        assert any(r["mac"] == client.mac and r["image"] == "UPGRADED" for r in rows), rows
    finally:
        await client.close()
    response = await api.post("/api/v1/downloads", json={"url": f"flash:{IMAGE}"})
    assert response.status_code == 400


async def test_backups_listed_with_their_text_and_diff(
    director: DirectorProcess, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    received = "smartinstall_tftp_bytes_received_total"
    before = metric_value((await api.get("/metrics")).text, received)
    uploaded = 0
    client = await joined(director, "0050.5619.0002")
    try:
        for save in (1, 2):
            await client.send(
                smi_client.WriteMemory(
                    sequence=client.next_sequence(), mac=client.mac, hostname="api-sw"
                )
            )
            url = await client.backup_url(save)
            source = tmp_path / f"startup-{save}"
            source.write_text(f"hostname api-sw\n! save {save}\nend\n")
            uploaded += source.stat().st_size
            assert await asyncio.to_thread(client.tftp_put, source, url)
            await client.send(
                smi_client.BackupResult(
                    sequence=client.next_sequence(), mac=client.mac, success=True
                )
            )
            await director.await_log("%SMI-6-SMI_DIRECTOR_BACKUP_SUCCESS", count=save)
        await director.until_background_idle()
    finally:
        await client.close()

    async def counted() -> float | None:
        after = metric_value((await api.get("/metrics")).text, received)
        return after if after >= before + uploaded else None

    assert await poll(counted) == before + uploaded  # the uploads, byte for byte
    revisions = (await api.get(f"/api/v1/devices/{client.mac}/backups")).json()
    assert len(revisions) == 2
    new, old = revisions[0]["revision"], revisions[1]["revision"]
    text = await api.get(f"/api/v1/devices/{client.mac}/backups/{new}")
    assert text.status_code == 200 and "! save 2" in text.text
    text = await api.get(f"/api/v1/devices/{client.mac}/backups/{old}")
    assert text.status_code == 200 and "! save 1" in text.text
    diff = await api.get(f"/api/v1/devices/{client.mac}/backups/{old}/diff/{new}")
    assert "-! save 1" in diff.text and "+! save 2" in diff.text
    assert (await api.get(f"/api/v1/devices/{client.mac}/backups/99999")).status_code == 404
    page = await api.get(f"/devices/{client.mac}/diff/{old}/{new}")
    assert page.status_code == 200 and "+! save 2" in page.text
    page = await api.get(f"/devices/{client.mac}")
    assert page.status_code == 200 and f"/backups/{new}" in page.text


async def test_events_since_an_id_and_the_sse_stream(
    director: DirectorProcess, api: httpx.AsyncClient
) -> None:
    events = (await api.get("/api/v1/events")).json()
    assert events and all(e["text"].startswith("%") for e in events)
    last = events[-1]["id"]
    assert (await api.get("/api/v1/events", params={"since": last})).json() == []
    seen: list[str] = []
    async with api.stream("GET", "/api/v1/events/stream", params={"since": last}) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        client: ScriptedClient | None = None
        async for line in stream.aiter_lines():
            seen.append(line)
            if line == "event: devices" and client is None:
                client = await joined(director, "0050.5619.0003")
            joined_seen = client is not None and client.mac in line
            if joined_seen and "event: smi" in seen:
                break
        assert client is not None
        await client.close()
    assert "event: smi" in seen


async def test_metrics_move_during_a_lab_run(
    director: DirectorProcess, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    def samples(text: str) -> dict[str, float]:
        values = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                key = sample.name + json.dumps(sample.labels, sort_keys=True)
                values[key] = sample.value
        return values

    def total(values: dict[str, float], name: str) -> float:
        return sum(v for k, v in values.items() if k.startswith(name + "{"))

    before = samples((await api.get("/metrics")).text)
    client = await joined(director, "0050.5619.0004")
    try:
        fetched = await asyncio.to_thread(client.tftp_get, IMAGE, tmp_path / IMAGE)
        assert fetched.returncode == 0, fetched.stderr
    finally:
        await client.close()
    sent = "smartinstall_tftp_bytes_sent_total{}"

    async def served() -> dict[str, float] | None:
        # the director hears the transfer's end just after the client has the last block
        values = samples((await api.get("/metrics")).text)
        return values if values[sent] >= before[sent] + 20_000 else None

    after = await poll(served)
    assert after[sent] == before[sent] + 20_000  # the image, byte for byte
    assert "smartinstall_tftp_bytes_received_total{}" in after
    assert total(after, "smartinstall_devices") == total(before, "smartinstall_devices") + 1
    assert total(after, "smartinstall_dhcp_messages_total") > total(
        before, "smartinstall_dhcp_messages_total"
    )
    assert total(after, "smartinstall_smi_messages_total") > total(
        before, "smartinstall_smi_messages_total"
    )
    assert total(after, "smartinstall_http_requests_total") > 0
    assert "smartinstall_store_queue_depth{}" in after


async def test_dashboard_renders_the_device_table(
    director: DirectorProcess, api: httpx.AsyncClient
) -> None:
    page = await api.get("/")
    assert page.status_code == 200
    assert '<table id="devices">' in page.text and "Director" in page.text
    assert "EventSource" in page.text and "http://" not in page.text.split("<script>")[1]


async def test_topology_and_settings_pages(
    director: DirectorProcess, api: httpx.AsyncClient
) -> None:
    topology = await api.get("/topology")
    assert topology.status_code == 200 and '<div id="topology">' in topology.text
    settings = await api.get("/settings")
    assert settings.status_code == 200 and "Join window" in settings.text
    assert (await api.get("/devices/nosuch")).status_code == 404
    async with httpx.AsyncClient(base_url=base(director), timeout=10) as anonymous:
        assert (await anonymous.get("/topology")).status_code == 401


async def test_show_commands_as_json(director: DirectorProcess) -> None:
    output = await console(director, "show vstack status | json\n")
    start, end = output.index("["), output.rindex("]")
    rows = json.loads(output[start : end + 1])
    assert rows[0]["devno"] == "0" and rows[0]["status"] == "Director"
    assert set(rows[0]) >= {"devno", "mac_address", "product_id", "ip_address", "hostname"}
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "smartinstall.cli", "console", "--data-dir",
         str(director.data_dir), "--json", "show vstack download-status"],
        capture_output=True, text=True, timeout=30, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert isinstance(json.loads(result.stdout), list)
    refused = await console(director, "show running-config | json\n")
    assert "% JSON output is not available for this command" in refused


async def test_ip_http_server_follows_the_running_configuration(
    director: DirectorProcess,
) -> None:
    url = base(director) + "/healthz"
    await console(director, "configure terminal\nno ip http server\nend\n")

    async def closed() -> bool:
        return curl_status(await asyncio.to_thread(curl, url))[0] == 0

    await poll(closed)  # curl: no connection (status 000)
    assert "ip http server" not in await console(director, "show running-config\n")
    await console(director, "configure terminal\nip http server\nend\n")

    async def opened() -> bool:
        return curl_status(await asyncio.to_thread(curl, url))[0] == 200

    await poll(opened)


async def test_a_held_client_installed_through_the_api(
    director: DirectorProcess, api: httpx.AsyncClient
) -> None:
    # Guide, "Managing Client Configuration Files" / vstack on-hold-clients: in manual mode a
    # new client is held (h) until the operator lets it install; the API does it as the CLI.
    # no schedule (always open), manual mode
    changed = await api.patch("/api/v1/join-window", json={"schedule": "", "mode": "manual"})
    assert changed.status_code == 200, changed.text
    mac = "0050.5609.0077"
    client = ScriptedClient(director, mac, PID)
    try:
        offer, _ = await client.dhcp()
        assert offer.config is None  # on hold: nothing offered
        await client.listen()
        window = (await api.get("/api/v1/join-window")).json()
        assert mac in json.dumps(window), window  # the hold list names it
        unknown = await api.post("/api/v1/join-window/held/0050.5609.9999", json={})
        assert unknown.status_code == 404
        assert unknown.headers["content-type"].startswith("application/problem+json")
        released = await api.post(f"/api/v1/join-window/held/{mac}", json={"action": "install"})
        assert released.status_code == 200, released.text
        body = released.json()
        assert body["saved"] is True
        assert body["command"].startswith("vstack on-hold-clients install client-id ")
        assert f"({mac}) allowed to install" in body["output"]
        for _ in range(200):  # the group's configuration is pushed to the client at once
            if any(isinstance(c.command, DownloadConfig) for c in client.commands):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"no DownloadConfig in {client.commands}")
    finally:
        await client.close()
        restored = await api.patch("/api/v1/join-window", json={"mode": "auto"})
        assert restored.status_code == 200, restored.text
