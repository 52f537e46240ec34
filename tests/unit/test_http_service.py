"""The HTTP service's pure parts: the ``ip http …`` configuration lines, bearer tokens, Basic
credentials, the command lines the API composes, problem documents, and the OpenAPI document
(checked into docs/openapi.json: a change to the API must change that file too)."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import httpx
import pytest

from smartinstall.domain.http import HttpSettings
from smartinstall.ios.director_config import replay_director_config
from smartinstall.services.http.api import DownloadRequest, _download_line
from smartinstall.services.http.auth import parse_basic
from smartinstall.services.http.dashboard import hop_tree
from smartinstall.services.http.openapi import _NoDirector, openapi_document
from smartinstall.services.http.problems import ProblemError
from smartinstall.services.http.service import HttpService
from smartinstall.services.http.tokens import TokenStore, split_token

DOCS = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"

HTTP_LINES = """ip http server
ip http port 8080
ip http secure-server
ip http secure-port 8443
ip http secure-certificate /etc/smartinstall/director.crt
ip http secure-private-key /etc/smartinstall/director.key
ip http metrics-authentication
"""


def test_ip_http_lines_render_and_round_trip() -> None:
    result = replay_director_config(HTTP_LINES, lambda _ip: True)
    assert result.errors == []
    http = result.settings.http
    assert (http.server, http.port, http.secure_server, http.secure_port) == (
        True, 8080, True, 8443,
    )  # fmt: skip
    assert http.metrics_login
    rendered = result.settings.render()
    assert "\n".join(line for line in rendered if line.startswith("ip http")) + "\n" == HTTP_LINES
    again = replay_director_config("\n".join(rendered), lambda _ip: True)
    assert again.errors == [] and again.settings.http == http


def test_no_forms_restore_the_defaults_and_bad_ports_are_refused() -> None:
    result = replay_director_config(
        HTTP_LINES
        + "no ip http server\nno ip http port\nno ip http secure-server\nno ip http secure-port\n"
        "no ip http secure-certificate\nno ip http secure-private-key\n"
        "no ip http metrics-authentication\n",
        lambda _ip: True,
    )
    assert result.errors == []
    assert result.settings.http == HttpSettings()
    assert not [line for line in result.settings.render() if line.startswith("ip http")]
    bad = replay_director_config("ip http port 70000\nip http secure-port 0\n", lambda _ip: True)
    assert [number for number, _line, _message in bad.errors] == [1, 2]


def test_off_when_not_configured() -> None:
    async def run() -> HttpService:
        service = HttpService(_NoDirector(), "127.0.0.1")
        await service.apply(HttpSettings())
        return service

    service = asyncio.run(run())
    assert service.listeners == {} and service.app is None and service.ports == {}


def test_tokens_are_stored_hashed_and_revocable(tmp_path: Path) -> None:
    store = TokenStore(tmp_path)
    record, token = store.create("admin")
    assert token.startswith("si_") and split_token(token) is not None
    assert token.split("_", 2)[2] not in store.path.read_text()
    assert os.stat(store.path).st_mode & 0o777 == 0o600
    assert store.user_of(token) == "admin"
    assert store.user_of(token + "x") is None
    assert store.user_of("si_nothing") is None and store.user_of("Basic x") is None
    assert store.revoke(record.id) and not store.revoke(record.id)
    assert store.user_of(token) is None


def test_basic_credentials() -> None:
    assert parse_basic("YWRtaW46cGE6c3M=") == ("admin", "pa:ss")
    assert parse_basic("not base64!") is None
    assert parse_basic("OnBhc3M=") is None  # no user name


def test_download_requests_become_one_cli_line() -> None:
    line = _download_line(
        DownloadRequest(url="flash:c.tar", indexes="1,3-5", override=True, reload=True)
    )
    assert line == "vstack download-image tar flash:c.tar index 1,3-5 NONE override reload"
    line = _download_line(DownloadRequest(kind="config", url="flash:s.txt", ip="10.0.0.5"))
    assert line == "vstack download-config flash:s.txt 10.0.0.5 NONE startup"
    line = _download_line(DownloadRequest(builtin="2960x 48fps", password="secret"))
    assert line == "vstack download-image built-in 2960x 48fps secret"
    for bad in (
        DownloadRequest(url="flash:c.tar"),  # no target
        DownloadRequest(url="flash:c.tar ? x", ip="10.0.0.5"),
        DownloadRequest(url="flash:c.tar", ip="10.0.0.5", password="a|b"),
        DownloadRequest(url="flash:c.tar", ip="10.0.0.5", indexes="1"),
    ):
        with pytest.raises(ProblemError) as caught:
            _download_line(bad)
        assert caught.value.status == 400


async def test_anonymous_routes_and_problem_documents() -> None:
    from smartinstall.services.http.app import HttpApp

    transport = httpx.ASGITransport(app=HttpApp(_NoDirector(), 0, lambda: False).app)
    async with httpx.AsyncClient(transport=transport, base_url="http://director") as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        assert (await client.get("/readyz")).status_code == 503
        metrics = await client.get("/metrics")
        assert metrics.headers["content-type"].startswith("text/plain")
        response = await client.get("/api/v1/devices")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Basic ")
    body = response.json()
    assert set(body) >= {"type", "title", "status", "detail"} and body["status"] == 401


def test_openapi_document_is_checked_in() -> None:
    document = openapi_document()
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    if os.environ.get("SMARTINSTALL_UPDATE_OPENAPI"):
        DOCS.write_text(text)
    assert DOCS.read_text() == text, (
        "the API changed: run SMARTINSTALL_UPDATE_OPENAPI=1 pytest "
        "tests/unit/test_http_service.py and review docs/openapi.json"
    )
    assert document["openapi"].startswith("3.")
    for path, item in document["paths"].items():
        assert path.startswith(("/api/v1/", "/metrics", "/healthz", "/readyz", "/"))
        for operation in item.values():
            assert operation["responses"] and operation["summary"]


def _entry(number: int, mac: str, upstream: str = "", director: bool = False) -> dict[str, object]:
    return {
        "number": number, "mac": mac, "hop": 0 if director else 1, "is_director": director,
        "upstream": {"mac": upstream, "ip": "", "port": ""},
    }  # fmt: skip


def test_hop_tree_hangs_clients_under_their_upstream_neighbour() -> None:
    devices = [
        _entry(0, "d"), _entry(1, "a", "d"), _entry(2, "b", "a"), _entry(3, "c", "zz"),
        _entry(4, "x", "y"), _entry(5, "y", "x"),  # a loop of reported neighbours
    ]  # fmt: skip
    devices[0]["is_director"] = True
    roots = hop_tree(devices)  # type: ignore[arg-type]
    assert [r.device["mac"] for r in roots] == ["d"]

    def macs(nodes: list) -> list:  # type: ignore[type-arg]
        return [(n.device["mac"], macs(n.children)) for n in nodes]

    tree = macs(roots[0].children)
    assert ("a", [("b", [])]) in tree and ("c", []) in tree
    flat = str(tree)
    assert flat.count("'x'") == 1 and flat.count("'y'") == 1
