"""The OpenAPI document of the REST API without a running director (docs/openapi.json is
this document; a test compares the two so that changes to the API are deliberate)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from smartinstall.services.http.host import MetricFamily, Principal


class _NoDirector:
    """A host that has nothing: enough to build the application and its document."""

    data_dir = Path("/nonexistent")
    hostname = "Director"

    def devices(self) -> list[dict[str, Any]]:
        return []

    def devices_json(self) -> str:
        return "[]"

    def device(self, key: str) -> dict[str, Any] | None:
        return None

    def watch_devices(self, listener: Callable[[], None]) -> Callable[[], None]:
        return lambda: None

    def downloads(self) -> list[dict[str, Any]]:
        return []

    def groups(self) -> dict[str, Any]:
        return {}

    def join_window(self) -> dict[str, Any]:
        return {}

    def backups(self, key: str) -> list[dict[str, Any]] | None:
        return None

    async def backup_text(self, key: str, revision: int) -> str | None:
        return None

    async def backup_diff(self, key: str, old: int, new: int) -> str | None:
        return None

    def events(self, since: int = 0, limit: int = 500) -> list[dict[str, Any]]:
        return []

    def subscribe(self, listener: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
        return lambda: None

    def ready(self) -> bool:
        return False

    def metrics(self) -> list[MetricFamily]:
        return []

    def check_user(self, name: str, password: str) -> Principal | None:
        return None

    def privilege_of(self, name: str) -> int | None:
        return None

    async def login_attempt(
        self,
        peer: str,
        user: str,
        port: int,
        check: Callable[[], Awaitable[Principal | None]],
    ) -> Principal | None:
        return None

    async def configure(self, lines: list[str]) -> str:
        return ""

    async def run_exec(self, line: str) -> str:
        return ""

    async def save(self) -> str:
        return ""


def openapi_document() -> dict[str, Any]:
    from smartinstall.services.http.app import HttpApp

    document: dict[str, Any] = HttpApp(_NoDirector(), 0, lambda: False).app.openapi()
    return document


__all__ = ["openapi_document"]
