"""A small Cisco PnP server for labs and tests (docs/pnp-server.md).

It speaks the PnP HTTP endpoints (``/pnp/HELLO``, ``/pnp/WORK-REQUEST``,
``/pnp/WORK-RESPONSE``, protocol.md §2) with the codec of :mod:`smartinstall.wire.pnp`, walks
each UDI through its plan (``DIR/plans.yaml``, :mod:`smartinstall.pnp.plans`), serves the plan's
image and configuration files over HTTP (``GET /pnp-server/files/<path>``, confined to the data
directory), and records every exchange in ``DIR/exchanges.jsonl``
(:mod:`smartinstall.pnp.exchanges`), also served at ``GET /pnp-server/exchanges[?udi=]``.

It runs on Starlette under uvicorn, on a socket bound here, on the caller's event loop:
:func:`serve_pnp` starts it in-process (the lab, tests) and returns a handle to stop it;
``smartinstall pnp-server`` runs it alone.

Bad input never crashes it: a body the codec refuses gets HTTP 400 (413 when too large) and
is recorded as ``bad-message``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from smartinstall.pnp.exchanges import EXCHANGES_FILE, ExchangeLog, Record
from smartinstall.pnp.plans import (
    PLANS_FILE,
    DevicePlan,
    PlanError,
    Plans,
    Step,
    file_md5,
    is_url,
    load_plans,
    parse_plans,
)
from smartinstall.services.http.server import GRACE, Server, bind, server_config
from smartinstall.wire import pnp

__all__ = ["PlanError", "PnpServer", "PnpServerHandle", "serve_pnp"]

log = logging.getLogger(__name__)
_Message = TypeVar("_Message")

XML = "text/xml; charset=utf-8"
FILES_PATH = "/pnp-server/files"


@dataclass
class Progress:
    """Where one UDI is in its plan."""

    next_index: int = 0
    queue: list[Step] = field(default_factory=list)  # steps inserted before the plan's next
    pending: dict[str, Step] = field(default_factory=dict)  # correlator → step sent
    done: bool = False
    sent: int = 0
    answered: int = 0


class PnpServer:
    """The ASGI application and the per-UDI state; :func:`serve_pnp` runs it."""

    def __init__(
        self,
        data_dir: Path,
        plans: Plans,
        exchanges: ExchangeLog,
        *,
        xsd_dir: Path | None = None,
        md5s: Mapping[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.root = data_dir.resolve()
        self.plans = plans
        self.exchanges = exchanges
        self.xsd_dir = xsd_dir
        self.md5s = dict(md5s or {})
        self.progress: dict[str, Progress] = {}
        self.app = Starlette(
            routes=[
                Route(pnp.HELLO_PATH, self.hello, methods=["GET", "HEAD", "POST"]),
                Route(pnp.WORK_REQUEST_PATH, self.work_request, methods=["POST"]),
                Route(pnp.WORK_RESPONSE_PATH, self.work_response, methods=["POST"]),
                Route(FILES_PATH + "/{path:path}", self.files, methods=["GET", "HEAD"]),
                Route("/pnp-server/exchanges", self.list_exchanges, methods=["GET"]),
                Route("/pnp-server/devices", self.list_devices, methods=["GET"]),
            ]
        )

    # --- PnP endpoints -------------------------------------------------------------------------

    async def hello(self, request: Request) -> Response:
        await self._read(request)  # the NSO simulator posts <info/>; nothing to do with it
        return Response(b"", media_type=XML)

    async def work_request(self, request: Request) -> Response:
        received = await self._receive(request, pnp.WORK_REQUEST_PATH, pnp.decode_work_request_info)
        if isinstance(received, Response):
            return received
        body, work = received
        udi = work.udi
        state = self.progress.setdefault(udi.text, Progress())
        for correlator, step in state.pending.items():
            self.exchanges.record(
                kind="unanswered",
                udi=udi.text,
                service=step.service,
                correlator=correlator,
                result="unanswered",
            )
        state.pending.clear()
        plan = self.plans.plan_for(udi)
        step = self._next_step(state, plan)
        payload = self._encode(step, plan, udi, work.correlator, request)
        state.pending[work.correlator] = step
        state.sent += 1
        self.exchanges.record(
            kind="request",
            udi=udi.text,
            service=step.service,
            correlator=work.correlator,
            result="sent",
            detail=_detail(step) or None,
            via_proxy=work.via_proxy,
            xsd_errors=self._xsd(body) or None,
        )
        return Response(payload, media_type=XML)

    async def work_response(self, request: Request) -> Response:
        received = await self._receive(request, pnp.WORK_RESPONSE_PATH, pnp.decode_response)
        if isinstance(received, Response):
            return received
        body, resp = received
        udi = resp.udi.text
        state = self.progress.setdefault(udi, Progress())
        correlator = resp.correlator
        if resp.fault and not correlator and state.pending:
            # a fault carries no correlator: it answers whatever was pending
            correlator = next(iter(state.pending))
        step = state.pending.pop(correlator, None)
        state.answered += 1
        detail: dict[str, Any] = {}
        if step is None:
            detail["note"] = "no request pending with this correlator"
        elif step.service != resp.service and not resp.fault:
            detail["expected_service"] = step.service
        if resp.error is not None and resp.error.code is not None:
            detail["error_code"] = resp.error.code
        self.exchanges.record(
            kind="response",
            udi=udi,
            service=resp.service,
            correlator=resp.correlator,
            result="success" if resp.success else "failure",
            error_enum=resp.error.enum if resp.error else None,
            error_string=resp.error.string if resp.error else None,
            detail=detail or None,
            xsd_errors=self._xsd(body, fault=resp.fault) or None,
        )
        if step is not None and _retry_on_startup(step, resp):
            # the guide (ch. 4): after SMI Proxy refuses apply-to-running, the server asks for
            # the same configuration on the startup configuration
            state.queue.insert(0, Step("config-upgrade", {**step.params, "apply_to": "startup"}))
        plan = self.plans.plan_for(resp.udi)
        if (
            plan is not None
            and step is not None
            and step.service != "backoff"
            and not state.queue
            and not state.pending
            and state.next_index >= len(plan.walk())
        ):
            state.done = True  # the last step of the plan is answered
        return Response(pnp.encode_bye(resp.udi, correlator), media_type=XML)

    # --- the lab's own endpoints ---------------------------------------------------------------

    async def files(self, request: Request) -> Response:
        rel = str(request.path_params.get("path", ""))  # already percent-decoded
        target = await asyncio.to_thread(self._confined, rel)
        if target is None:
            return Response("not found\n", status_code=404, media_type="text/plain")
        return FileResponse(target, media_type="application/octet-stream")

    async def list_exchanges(self, request: Request) -> Response:
        return JSONResponse(self.exchanges.records(request.query_params.get("udi")))

    async def list_devices(self, request: Request) -> Response:
        out = {}
        for udi, state in self.progress.items():
            plan = self.plans.plan_for(pnp.Udi.parse(udi))
            out[udi] = {
                "plan": bool(plan),
                "next_step": state.next_index,
                "steps": len(plan.walk()) if plan else 0,
                "done": state.done,
                "pending": sorted(state.pending),
                "sent": state.sent,
                "answered": state.answered,
            }
        return JSONResponse(out)

    # --- helpers -------------------------------------------------------------------------------

    def _next_step(self, state: Progress, plan: DevicePlan | None) -> Step:
        if state.queue:
            return state.queue.pop(0)
        walk = plan.walk() if plan is not None else ()
        if state.next_index < len(walk):
            step = walk[state.next_index]
            state.next_index += 1
            return step
        if plan is not None and not state.done:
            state.done = True
            log.info("PnP server: plan done for %s", plan.udi or plan.serial or plan.pid)
        if plan is not None and self.plans.when_done == "terminate":
            return Step("backoff", {"terminate": True, "reason": "provisioning finished"})
        return Step(
            "backoff",
            {"callback_after_seconds": self.plans.backoff_seconds, "reason": "no work available"},
        )

    def _file_url(self, ref: str, request: Request) -> str:
        if is_url(ref):
            return ref
        base = self.plans.file_base_url or (str(request.base_url).rstrip("/") + FILES_PATH)
        return f"{base}/{urllib.parse.quote(ref)}"

    def _encode(
        self, step: Step, plan: DevicePlan | None, udi: pnp.Udi, corr: str, request: Request
    ) -> bytes:
        p = step.params
        reload_delay = int(p.get("reload_delay", self.plans.reload_delay))
        match step.service:
            case "capability":
                return pnp.encode_capability_request(udi, corr)
            case "topology":
                return pnp.encode_topology_request(udi, corr)
            case "device-info":
                return pnp.encode_device_info_request(udi, corr, str(p.get("type", "all")))
            case "image-install":
                ref = str(p.get("image") or (plan.image if plan else ""))
                md5 = p.get("image_md5") or (plan.image_md5 if plan and ref == plan.image else None)
                return pnp.encode_image_install_request(
                    udi,
                    corr,
                    self._file_url(ref, request),
                    checksum=str(md5 or self.md5s.get(ref) or "") or None,
                    destination=str(p.get("destination", "flash:")),
                    reload=bool(p.get("reload", True)),
                    reload_delay=reload_delay,
                )
            case "config-upgrade":
                ref = str(p.get("config") or (plan.config if plan else ""))
                return pnp.encode_config_upgrade_request(
                    udi,
                    corr,
                    self._file_url(ref, request),
                    apply_to=str(p.get("apply_to", "startup")),
                    checksum=None if p.get("checksum") is None else str(p["checksum"]),
                    reload=bool(p.get("reload", True)),
                    reload_delay=reload_delay,
                )
            case "backoff":
                terminate = bool(p.get("terminate", False))
                minutes = p.get("default_minutes")
                seconds = p.get("callback_after_seconds")
                if not terminate and minutes is None and seconds is None:
                    seconds = self.plans.backoff_seconds
                return pnp.encode_backoff_request(
                    udi,
                    corr,
                    str(p.get("reason", "backoff")),
                    callback_after_seconds=None if seconds is None else int(seconds),
                    default_minutes=None if minutes is None else int(minutes),
                    terminate=terminate,
                )
            case "cli-exec":
                return pnp.encode_cli_exec_request(udi, corr, str(p.get("command", "show ver")))
            case _:
                return pnp.encode_request(pnp.UnsupportedRequest(step.namespace, corr), udi)

    def _confined(self, rel: str) -> Path | None:
        if not rel or "\x00" in rel:
            return None
        try:
            target = (self.root / rel).resolve()
        except (OSError, RuntimeError, ValueError):
            return None
        if not target.is_relative_to(self.root) or not target.is_file():
            return None
        return target

    def _xsd(self, body: bytes, *, fault: bool = False) -> list[str]:
        if self.xsd_dir is None or fault:
            return []
        return pnp.validate(body, self.xsd_dir)

    async def _receive(
        self, request: Request, endpoint: str, decode: Callable[[bytes], _Message]
    ) -> tuple[bytes, _Message] | Response:
        """The body posted to ``endpoint`` and what ``decode`` makes of it; or the error
        response when it is too large or does not decode (recorded as a bad message)."""
        body = await self._read(request)
        if body is None:
            return self._too_large(endpoint)
        try:
            return body, decode(body)
        except pnp.PnpDecodeError as exc:
            return self._bad(endpoint, str(exc), body)

    async def _read(self, request: Request) -> bytes | None:
        """The body, or None when it exceeds the codec's bound."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > pnp.MAX_MESSAGE_SIZE:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    def _bad(self, endpoint: str, reason: str, body: bytes) -> Response:
        log.warning("PnP server: bad message on %s: %s", endpoint, reason)
        self.exchanges.record(
            kind="bad-message",
            result="protocol-error",
            error_enum="PNP_DECODE_ERROR",
            error_string=reason,
            detail={"endpoint": endpoint, "size": len(body)},
        )
        return Response(f"bad PnP message: {reason}\n", status_code=400, media_type="text/plain")

    def _too_large(self, endpoint: str) -> Response:
        self.exchanges.record(
            kind="bad-message",
            result="protocol-error",
            error_enum="PNP_DECODE_ERROR",
            error_string=f"body larger than {pnp.MAX_MESSAGE_SIZE} bytes",
            detail={"endpoint": endpoint},
        )
        return Response("body too large\n", status_code=413, media_type="text/plain")


def _detail(step: Step) -> dict[str, Any]:
    return {k: v for k, v in step.params.items() if isinstance(v, (str, int, bool))}


def _retry_on_startup(step: Step, resp: pnp.ServiceResponse) -> bool:
    if step.service != "config-upgrade" or step.params.get("apply_to") != "running":
        return False
    if resp.success or resp.error is None:
        return False
    return (
        resp.error.enum == pnp.XSVC_ERROR_CONFIG_UPGRADE_UNSUPPORTED
        or resp.error.code == pnp.ERROR_CODES[pnp.XSVC_ERROR_CONFIG_UPGRADE_UNSUPPORTED]
    )


@dataclass
class PnpServerHandle:
    """A running server: ``url`` to reach it, ``stop()`` to end it."""

    server: PnpServer
    address: str
    port: int
    _uvicorn: Server
    _task: asyncio.Task[None]

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    @property
    def data_dir(self) -> Path:
        return self.server.data_dir

    def exchanges(self, udi: str | None = None) -> list[Record]:
        """The records so far (``udi``: full UDI or serial number)."""
        return self.server.exchanges.records(udi)

    async def wait_for(
        self, predicate: Callable[[list[Record]], bool], timeout: float = 30.0
    ) -> None:
        """Wait until ``predicate(records)`` holds; TimeoutError after ``timeout`` seconds."""
        await self.server.exchanges.wait_for(predicate, timeout)

    def device_done(self, udi: str) -> bool:
        """Has the device (full UDI or serial number) answered the last step of its plan?"""
        for key, state in self.server.progress.items():
            if (key == udi or key.endswith(f",SN:{udi}")) and state.done:
                return True
        return False

    async def stop(self) -> None:
        """Stop serving and close the exchanges file (idempotent)."""
        if not self._task.done():
            self._uvicorn.should_exit = True
            try:
                await asyncio.wait_for(asyncio.shield(self._task), GRACE * 3)
            except (TimeoutError, asyncio.CancelledError):
                self._uvicorn.force_exit = True
                self._task.cancel()
                with contextlib.suppress(BaseException):
                    await self._task
            except Exception:
                log.exception("PnP server on port %d failed while stopping", self.port)
        await asyncio.to_thread(self.server.exchanges.close)


def _md5s(data_dir: Path, plans: Plans) -> dict[str, str]:
    out = {}
    for plan in plans.devices:
        for ref in [plan.image, *[s.params.get("image") for s in plan.steps or ()]]:
            if not isinstance(ref, str) or is_url(ref) or ref in out:
                continue
            path = data_dir / ref
            if path.is_file():
                out[ref] = file_md5(path)
            else:
                log.warning("PnP server: image %s is not in %s (no checksum sent)", ref, data_dir)
    return out


async def serve_pnp(
    address: str,
    port: int,
    data_dir: Path,
    plans: Plans | Mapping[str, Any] | Path | None = None,
    *,
    xsd_dir: Path | None = None,
) -> PnpServerHandle:
    """Start the PnP server on ``address:port`` (port 0: any free port) in this event loop.

    ``plans`` is a :class:`Plans`, the parsed YAML mapping, a path to a YAML file, or None for
    ``data_dir/plans.yaml`` (missing: no plans, every device gets a backoff). ``xsd_dir``
    (e.g. ``../shared/spec/pnp/xsd``) makes the server validate every agent message against
    Cisco's schemas and record the errors. Raises :class:`PlanError` for a bad plan and
    ``OSError`` when the port cannot be had.
    """
    data_dir = Path(data_dir)
    await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
    if plans is None:
        plans = await asyncio.to_thread(load_plans, data_dir / PLANS_FILE)
    elif isinstance(plans, Path):
        plans = await asyncio.to_thread(load_plans, plans)
    elif not isinstance(plans, Plans):
        plans = parse_plans(plans)
    md5s = await asyncio.to_thread(_md5s, data_dir, plans)
    exchanges = ExchangeLog(data_dir / EXCHANGES_FILE)
    await asyncio.to_thread(exchanges.open)
    server = PnpServer(data_dir, plans, exchanges, xsd_dir=xsd_dir, md5s=md5s)
    try:
        sock = bind(address, port)
    except OSError:
        await asyncio.to_thread(exchanges.close)
        raise
    bound_port = int(sock.getsockname()[1])
    runner = Server(server_config(server.app))
    task = asyncio.get_running_loop().create_task(
        runner.serve(sockets=[sock]), name=f"pnp-server-{bound_port}"
    )
    while not runner.started:
        if task.done():
            sock.close()
            await asyncio.to_thread(exchanges.close)
            raise OSError(f"PnP server on {address}:{bound_port} did not start: {task.exception()}")
        await asyncio.sleep(0.01)
    log.info("PnP server on %s:%d, data in %s", address, bound_port, data_dir)
    return PnpServerHandle(server, address, bound_port, runner, task)
