"""Errors as RFC 9457 problem details (``application/problem+json``): every error the service
answers, its own and the framework's (unknown route, malformed JSON, invalid body)."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://smartinstall.invalid/problems/"


class ProblemError(Exception):
    """Answer with a problem document: ``kind`` names its type (a URI under `TYPE_BASE`)."""

    def __init__(
        self,
        status: int,
        detail: str,
        kind: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind
        self.headers = headers or {}
        self.extra = extra


def problem(
    status: int,
    detail: str,
    kind: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + kind if kind else "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def install(app: FastAPI) -> None:
    """Every error of ``app`` as a problem document."""

    async def own(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ProblemError)
        return problem(
            error.status,
            error.detail,
            error.kind,
            request.url.path,
            error.headers,
            **error.extra,
        )

    async def http(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        return problem(
            error.status_code,
            str(error.detail),
            instance=request.url.path,
            headers=dict(error.headers or {}),
        )

    async def invalid(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
            for e in error.errors()
        ]
        if any(e.get("type") == "json_invalid" for e in error.errors()):
            return problem(
                400, "The request body is not valid JSON", "malformed-json", request.url.path
            )
        return problem(
            422,
            "The request does not match its schema",
            "invalid-request",
            request.url.path,
            errors=errors,
        )

    async def crashed(request: Request, error: Exception) -> JSONResponse:
        log.error("HTTP %s %s failed", request.method, request.url.path, exc_info=error)
        return problem(500, "Internal error", "internal", request.url.path)

    app.add_exception_handler(ProblemError, own)
    app.add_exception_handler(StarletteHTTPException, http)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(Exception, crashed)


__all__ = ["MEDIA_TYPE", "ProblemError", "install", "problem"]
