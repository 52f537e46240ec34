"""The REST API, ``/api/v1`` (OpenAPI document: ``/api/v1/openapi.json``; docs/api.md).

Reads answer from the director's memory. Changes are lines of the director's command engine
(the host's `configure` and `run_exec`), so they are validated, applied and shown by ``show
running-config`` exactly as on a terminal; a rejected line is a 400 problem carrying the IOS
message. Each change (groups, join window, hold list, configuration lines) is then persisted
as ``write memory`` persists it (the host's `save`): a failed save is a 500 problem, the change
staying in the running configuration. On-demand downloads are operations, not configuration:
nothing is saved for them. Words that go into a command line are checked first: no spaces, no
line breaks, no ``?`` or ``|``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from smartinstall.services.http.auth import Authenticator
from smartinstall.services.http.host import (
    CHANGE_LEVEL,
    READ_LEVEL,
    CommandRejected,
    HttpHost,
    Principal,
    SaveFailed,
)
from smartinstall.services.http.problems import ProblemError

PREFIX = "/api/v1"
MAX_OPERATIONS = 256
MAX_LINES = 200
_WORD = re.compile(r"[^\s?|]{1,1024}")


def word(value: str, what: str) -> str:
    """A value that becomes one word of a command line."""
    if not _WORD.fullmatch(value):
        raise ProblemError(
            400, f"Invalid {what}: one word, without spaces, '?' or '|'", "invalid-value"
        )
    return value


def words(value: str, what: str) -> str:
    """Values that become several words of a command line (one line, no help marks)."""
    parts = value.split()
    if not parts or len(value) > 1024:
        raise ProblemError(400, f"Invalid {what}", "invalid-value")
    return " ".join(word(p, what) for p in parts)


class DownloadRequest(BaseModel):
    """An on-demand download (``vstack download-image`` / ``vstack download-config``)."""

    kind: Literal["image", "config"] = "image"
    url: str | None = Field(None, description="tar image or configuration (flash:… or tftp://…)")
    ip: str | None = Field(None, description="one client by IP address")
    indexes: str | None = Field(None, description="clients by index, e.g. 1,3-5")
    builtin: str | None = Field(
        None, description="a built-in group: '<family> <port> [<chassis>]' (url not used)"
    )
    password: str = Field("NONE", description="the clients' enable password (NONE: none)")
    override: bool = False
    reload: bool = False


class JoinWindowChange(BaseModel):
    schedule: str | None = Field(
        None,
        description="what follows 'vstack join-window start' ('08:00 02:00 recurring'); "
        "'' removes the schedule; absent: unchanged",
    )
    closed: bool | None = None
    mode: Literal["auto", "manual"] | None = None


class CustomGroupChange(BaseModel):
    kind: Literal["connectivity", "mac", "product-id", "stack"]
    image: str | None = None
    config: str | None = None
    script: str | None = None
    match: list[str] = Field(default_factory=list, description="the group's match lines")


class ConfigLines(BaseModel):
    lines: list[str] = Field(..., max_length=MAX_LINES)


class HoldRelease(BaseModel):
    action: Literal["install", "remove"] = "install"
    override: bool = False


def _not_found(what: str, key: str) -> ProblemError:
    return ProblemError(404, f"No {what} {key[:80]}", "not-found")


class Operations:
    """On-demand downloads run in the background; their results are kept for polling."""

    def __init__(self) -> None:
        self.items: OrderedDict[int, dict[str, Any]] = OrderedDict()
        self._ids = itertools.count(1)
        self.tasks: set[asyncio.Task[None]] = set()

    def start(self, line: str, user: str, work: Callable[[], Awaitable[str]]) -> dict[str, Any]:
        number = next(self._ids)
        item: dict[str, Any] = {
            "id": number,
            "command": line,
            "user": user,
            "state": "running",
            "output": "",
            "started_at": dt.datetime.now(dt.UTC).isoformat(),
        }
        self.items[number] = item
        while len(self.items) > MAX_OPERATIONS:
            self.items.popitem(last=False)

        async def run() -> None:
            try:
                item["output"] = await work()
                item["state"] = "done"
            except CommandRejected as error:
                item["output"] = error.message
                item["state"] = "failed"
            item["finished_at"] = dt.datetime.now(dt.UTC).isoformat()

        task = asyncio.get_running_loop().create_task(run(), name=f"http-operation-{number}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return item


def build_router(host: HttpHost, auth: Authenticator, operations: Operations) -> APIRouter:
    router = APIRouter(prefix=PREFIX)

    def needs(level: int) -> Callable[[Request], Awaitable[Principal]]:
        async def dependency(request: Request) -> Principal:
            peer = request.client.host if request.client else "unknown"
            principal = await auth.identify(request.headers.get("authorization"), peer)
            if principal.privilege < level:
                held = principal.privilege
                raise ProblemError(
                    403, f"Privilege {level} needed (user {principal.user} has {held})", "forbidden"
                )
            return principal

        return dependency

    read = Depends(needs(READ_LEVEL))
    change = Depends(needs(CHANGE_LEVEL))

    async def persist() -> str:
        """``write memory`` after a change; a failure is the server's (500)."""
        try:
            return await host.save()
        except (SaveFailed, CommandRejected) as error:
            raise ProblemError(
                500, error.message, "save-failed", running_config_changed=True
            ) from None

    async def configure(lines: list[str]) -> dict[str, Any]:
        try:
            output = await host.configure(lines)
        except CommandRejected as error:
            saved: dict[str, Any] = {}
            if error.applied:  # the lines before the refused one stay: persisted too
                try:
                    await host.save()
                    saved["saved"] = True
                except (SaveFailed, CommandRejected) as failure:
                    saved = {"saved": False, "save_error": failure.message}
            raise ProblemError(
                400,
                error.message,
                "command-rejected",
                line=error.line,
                applied=error.applied,
                **saved,
            ) from None
        await persist()
        return {"lines": lines, "output": output, "saved": True}

    @router.get(
        "/devices",
        summary="Director database entries",
        dependencies=[read],
        response_model=None,
        responses={200: {"description": "A JSON array of devices (see GET /devices/{key})"}},
    )
    async def devices(
        status: str | None = Query(None, description="status cell, e.g. 'S A a I C' or a letter"),
        health: Literal["A", "I"] | None = None,
        group: str | None = None,
        pid: str | None = Query(None, description="product ID prefix"),
        ip: str | None = None,
    ) -> Response:
        if status is None and health is None and group is None and pid is None and ip is None:
            # the whole table, from the rows' cached JSON (only changed rows are serialised)
            return Response(host.devices_json(), media_type="application/json")
        found = host.devices()
        if status is not None:
            wanted = status.split()
            found = [d for d in found if all(w in d["status"].split() for w in wanted)]
        if health is not None:
            found = [d for d in found if d["health"] == health]
        if group is not None:
            found = [d for d in found if d["group"] == group]
        if pid is not None:
            found = [d for d in found if d["pid"].upper().startswith(pid.upper())]
        if ip is not None:
            found = [d for d in found if d["ip"] == ip]
        # serialised at once: the rows of a branch need no validation on their way out
        return Response(json.dumps(found, separators=(",", ":")), media_type="application/json")

    @router.get("/devices/{key}", summary="One entry by number, MAC or IP", dependencies=[read])
    async def device(key: str) -> dict[str, Any]:
        found = host.device(key)
        if found is None:
            raise _not_found("device", key)
        return found

    @router.get("/devices/{key}/backups", summary="Backup revisions", dependencies=[read])
    async def backups(key: str) -> list[dict[str, Any]]:
        found = host.backups(key)
        if found is None:
            raise _not_found("device", key)
        return found

    @router.get(
        "/devices/{key}/backups/{revision}",
        summary="A revision's text (text/plain)",
        dependencies=[read],
        response_model=None,
    )
    async def backup_text(key: str, revision: int) -> Any:
        from fastapi.responses import PlainTextResponse

        text = await host.backup_text(key, revision)
        if text is None:
            raise _not_found("backup revision", f"{key}/{revision}")
        return PlainTextResponse(text)

    @router.get(
        "/devices/{key}/backups/{old}/diff/{new}",
        summary="Unified diff of two revisions (text/plain)",
        dependencies=[read],
        response_model=None,
    )
    async def backup_diff(key: str, old: int, new: int) -> Any:
        from fastapi.responses import PlainTextResponse

        text = await host.backup_diff(key, old, new)
        if text is None:
            raise _not_found("backup revision", f"{key}/{old} or {new}")
        return PlainTextResponse(text)

    @router.get("/fleet", summary="The directors sharing this database", dependencies=[read])
    async def fleet() -> list[dict[str, Any]]:
        # one line per director id of the shared database (docs/scale-out.md)
        reader = getattr(host, "fleet", None)
        if reader is None:
            raise _not_found("fleet", "this director")
        found: list[dict[str, Any]] = await reader()
        return found

    @router.get("/downloads", summary="Download status", dependencies=[read])
    async def downloads() -> list[dict[str, Any]]:
        return host.downloads()

    @router.post("/downloads", summary="Start an on-demand download", status_code=202)
    async def start_download(
        body: DownloadRequest, principal: Principal = change
    ) -> dict[str, Any]:
        line = _download_line(body)
        return operations.start(line, principal.user, lambda: host.run_exec(line))

    @router.get("/operations/{number}", summary="An on-demand operation", dependencies=[read])
    async def operation(number: int) -> dict[str, Any]:
        item = operations.items.get(number)
        if item is None:
            raise _not_found("operation", str(number))
        return item

    @router.get("/groups", summary="Default, built-in and custom groups", dependencies=[read])
    async def groups() -> dict[str, Any]:
        return host.groups()

    @router.put(
        "/groups/custom/{name}", summary="Create or change a custom group", dependencies=[change]
    )
    async def put_group(name: str, body: CustomGroupChange) -> dict[str, Any]:
        lines = [f"vstack group custom {word(name, 'group name')} {body.kind}"]
        for kind in ("image", "config", "script"):
            value = getattr(body, kind)
            if value is not None:
                lines.append(f" {kind} {words(value, kind)}")
        lines.extend(f" {words(m, 'match')}" for m in body.match)
        lines.append("exit")
        return await configure(lines)

    @router.delete("/groups/custom/{name}", summary="Remove a custom group", dependencies=[change])
    async def delete_group(name: str) -> dict[str, Any]:
        current = {g["name"]: g for g in host.groups()["custom"]}
        if name not in current:
            raise _not_found("group", name)
        return await configure(
            [f"no vstack group custom {word(name, 'group name')} {current[name]['kind']}"]
        )

    @router.get("/join-window", summary="Join window and hold list", dependencies=[read])
    async def join_window() -> dict[str, Any]:
        return host.join_window()

    @router.patch("/join-window", summary="Change the join window", dependencies=[change])
    async def change_join_window(body: JoinWindowChange) -> dict[str, Any]:
        lines = []
        if body.schedule is not None:
            if body.schedule.strip():
                lines.append(f"vstack join-window start {words(body.schedule, 'schedule')}")
            else:
                lines.append("no vstack join-window start")
        if body.closed is not None:
            lines.append(("" if body.closed else "no ") + "vstack join-window close")
        if body.mode is not None:
            lines.append(("" if body.mode == "auto" else "no ") + "vstack join-window mode auto")
        if not lines:
            raise ProblemError(400, "Nothing to change", "invalid-value")
        result = await configure(lines)
        result["join_window"] = host.join_window()
        return result

    @router.post(
        "/join-window/held/{key}",
        summary="Install or remove an on-hold client",
        dependencies=[change],
    )
    async def release(key: str, body: HoldRelease) -> dict[str, Any]:
        found = host.device(key)
        if found is None:
            raise _not_found("device", key)
        line = f"vstack on-hold-clients {body.action} client-id {found['number']}"
        if body.action == "install" and body.override:
            line += " override"
        try:
            output = await host.run_exec(line)
        except CommandRejected as error:
            raise ProblemError(400, error.message, "command-rejected", line=line) from None
        await persist()
        return {"command": line, "output": output, "saved": True}

    @router.post(
        "/config",
        summary="Configuration lines, as 'configure terminal' takes them",
        dependencies=[change],
    )
    async def config(body: ConfigLines) -> dict[str, Any]:
        for line in body.lines:
            if "\n" in line or "\r" in line or len(line) > 1024:
                raise ProblemError(400, "One configuration line per item", "invalid-value")
        return await configure(body.lines)

    @router.post("/config/save", summary="write memory", dependencies=[change])
    async def save() -> dict[str, Any]:
        return {"output": await persist()}

    @router.get("/events", summary="The %SMI log, after an event id", dependencies=[read])
    async def events(
        since: int = Query(0, ge=0), limit: int = Query(500, ge=1, le=2048)
    ) -> list[dict[str, Any]]:
        return host.events(since, limit)

    return router


def _download_line(body: DownloadRequest) -> str:
    password = word(body.password, "password")
    image = body.kind == "image"
    if body.builtin is not None:
        group = words(body.builtin, "built-in group")
        line = f"vstack download-{body.kind} built-in {group} {password}"
        if image and body.override:
            line += " override"
        if not image:
            line += " startup"
        return line + (" reload" if body.reload else "")
    if body.url is None:
        raise ProblemError(400, "url is needed (or builtin)", "invalid-value")
    url = word(body.url, "url")
    if (body.ip is None) == (body.indexes is None):
        raise ProblemError(400, "Give one of ip, indexes or builtin", "invalid-value")
    target = (
        word(body.ip, "ip")
        if body.ip is not None
        else f"index {word(body.indexes or '', 'indexes')}"
    )
    if image:
        line = f"vstack download-image tar {url} {target} {password}"
        if body.override:
            line += " override"
        return line + (" reload" if body.reload else "")
    return f"vstack download-config {url} {target} {password} startup" + (
        " reload" if body.reload else ""
    )


__all__ = ["PREFIX", "Operations", "build_router"]
