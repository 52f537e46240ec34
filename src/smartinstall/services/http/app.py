"""The ASGI application: REST API, events stream, dashboard, metrics, health.

Anonymous: ``/api/v1/openapi.json``, ``/healthz``, ``/readyz`` and ``/metrics`` (unless ``ip
http metrics-authentication``). Everything else needs a user of privilege 1 to read and 15 to
change (`auth`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from starlette.routing import Match

from smartinstall.services.http import problems
from smartinstall.services.http.api import PREFIX, Operations, build_router
from smartinstall.services.http.auth import Authenticator
from smartinstall.services.http.dashboard import (
    render_dashboard,
    render_device,
    render_settings,
    render_topology,
)
from smartinstall.services.http.host import READ_LEVEL, HttpHost, Principal
from smartinstall.services.http.metrics import CONTENT_TYPE, Metrics
from smartinstall.services.http.problems import ProblemError
from smartinstall.services.http.stream import event_stream

OPENAPI_URL = f"{PREFIX}/openapi.json"
#: ``info.version``: the version of the API description (docs/openapi.json), changed with the
#: API, not with the package's version (which setuptools-scm takes from the git tags)
API_DOCUMENT_VERSION = "0.1.0"


CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def cross_site(request: Request) -> bool:
    """A changing request whose ``Origin`` (browsers send it) is not this server."""
    if request.method not in CHANGING:
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return False  # not a browser's cross-site request (curl, scripts)
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1].rstrip("/") != host


class HttpApp:
    """One application for the HTTP and the HTTPS listener of a director."""

    def __init__(self, host: HttpHost, port: int, metrics_login: Callable[[], bool]) -> None:
        self.host = host
        self.auth = Authenticator(host, port)
        self.operations = Operations()
        self.metrics = Metrics(host.metrics)
        self.stopping = asyncio.Event()
        self._metrics_login = metrics_login
        self.app = self._build()

    async def _reader(self, request: Request) -> Principal:
        peer = request.client.host if request.client else "unknown"
        principal = await self.auth.identify(request.headers.get("authorization"), peer)
        if principal.privilege < READ_LEVEL:
            raise ProblemError(403, f"Privilege {READ_LEVEL} needed", "forbidden")
        return principal

    def _build(self) -> FastAPI:
        host = self.host
        app = FastAPI(
            title="smartinstall director",
            version=API_DOCUMENT_VERSION,
            description="REST API of the Smart Install director (docs/api.md).",
            openapi_url=OPENAPI_URL,
            docs_url=None,
            redoc_url=None,
        )
        problems.install(app)
        app.include_router(build_router(host, self.auth, self.operations))

        @app.middleware("http")
        async def count(
            request: Request, call_next: Callable[[Request], Awaitable[Response]]
        ) -> Response:
            if cross_site(request):
                # a page of another site must not drive the operator's browser, which sends
                # its cached Basic credentials along (CSRF)
                response: Response = problems.problem(
                    403, "Cross-site request refused", "cross-site", request.url.path
                )
            else:
                response = await call_next(request)
            route = "unmatched"
            for candidate in app.router.routes:
                match, _ = candidate.matches(request.scope)
                if match is Match.FULL:
                    route = getattr(candidate, "path", "unmatched")
                    break
            self.metrics.requests[route, str(response.status_code)] += 1
            return response

        @app.get("/healthz", summary="Alive", tags=["health"])
        async def healthz() -> dict[str, str]:
            return {"status": "ok"}

        @app.get("/readyz", summary="Ready to serve", tags=["health"], response_model=None)
        async def readyz() -> Any:
            if host.ready():
                return {"status": "ready"}
            return JSONResponse({"status": "starting"}, status_code=503)

        @app.get("/metrics", summary="Prometheus metrics", tags=["metrics"], response_model=None)
        async def metrics(request: Request) -> Any:
            if self._metrics_login():
                await self._reader(request)
            return Response(self.metrics.render(), media_type=CONTENT_TYPE)

        @app.get(
            f"{PREFIX}/events/stream",
            summary="Server-Sent Events: smi messages and device table changes",
            response_model=None,
        )
        async def stream(request: Request, since: int = Query(0, ge=0)) -> Any:
            await self._reader(request)
            last = request.headers.get("last-event-id", "")
            start = int(last) if last.isdigit() else since
            return StreamingResponse(
                event_stream(host, request, self.stopping, start),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
            )

        @app.get("/", summary="Dashboard", response_class=HTMLResponse, tags=["dashboard"])
        async def dashboard(request: Request) -> HTMLResponse:
            principal = await self._reader(request)
            return HTMLResponse(render_dashboard(host.hostname, host.devices(), principal.user))

        @app.get("/topology", summary="Hop tree", response_class=HTMLResponse, tags=["dashboard"])
        async def topology(request: Request) -> HTMLResponse:
            principal = await self._reader(request)
            return HTMLResponse(render_topology(host.hostname, host.devices(), principal.user))

        @app.get(
            "/settings", summary="Join window and groups", response_class=HTMLResponse,
            tags=["dashboard"],
        )  # fmt: skip
        async def settings(request: Request) -> HTMLResponse:
            principal = await self._reader(request)
            page = render_settings(host.hostname, host.join_window(), host.groups(), principal.user)
            return HTMLResponse(page)

        @app.get(
            "/devices/{key}", summary="Device page", response_class=HTMLResponse,
            tags=["dashboard"],
        )  # fmt: skip
        async def device_page(request: Request, key: str) -> HTMLResponse:
            principal = await self._reader(request)
            device = host.device(key)
            if device is None:
                raise ProblemError(404, f"No device {key[:80]}", "not-found")
            return HTMLResponse(render_device(host.hostname, device, principal.user))

        @app.get(
            "/devices/{key}/diff/{old}/{new}", summary="Device page with a backup diff",
            response_class=HTMLResponse, tags=["dashboard"],
        )  # fmt: skip
        async def device_diff(request: Request, key: str, old: int, new: int) -> HTMLResponse:
            principal = await self._reader(request)
            device = host.device(key)
            diff = await host.backup_diff(key, old, new)
            if device is None or diff is None:
                raise ProblemError(404, f"No device {key[:80]} or revision", "not-found")
            return HTMLResponse(render_device(host.hostname, device, principal.user, diff))

        return app

    async def close(self) -> None:
        self.stopping.set()
        for task in list(self.operations.tasks):
            task.cancel()


__all__ = ["OPENAPI_URL", "HttpApp"]
