"""What the HTTP service is given: `HttpHost`, plain data in and out (the director's side is
`smartinstall.director.http_bridge`); the service never reads the director's objects itself."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

#: privilege a change needs, and a read
CHANGE_LEVEL = 15
READ_LEVEL = 1


class CommandRejected(Exception):
    """The director's command engine refused a change: its IOS message, the line, and how
    many lines before it were applied (they stay, as on a terminal)."""

    def __init__(self, message: str, line: str = "", applied: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.applied = applied


class SaveFailed(Exception):
    """``write memory`` failed: the change is in the running configuration only."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Principal:
    """Who a request acts for."""

    user: str
    privilege: int


@dataclass
class MetricFamily:
    """One Prometheus metric family: ``kind`` is ``counter`` or ``gauge``; each sample is its
    labels and value."""

    name: str
    kind: str
    help: str
    labels: tuple[str, ...] = ()
    samples: list[tuple[tuple[str, ...], float]] = field(default_factory=list)


class HttpHost(Protocol):
    data_dir: Path

    @property
    def hostname(self) -> str: ...

    def devices(self) -> list[dict[str, Any]]: ...

    def devices_json(self) -> str: ...

    def device(self, key: str) -> dict[str, Any] | None: ...

    def watch_devices(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` after each change of the device table's rows (on the event loop;
        it must only take note); returns the function that stops it."""
        ...

    def downloads(self) -> list[dict[str, Any]]: ...

    def groups(self) -> dict[str, Any]: ...

    def join_window(self) -> dict[str, Any]: ...

    def backups(self, key: str) -> list[dict[str, Any]] | None: ...

    async def backup_text(self, key: str, revision: int) -> str | None: ...

    async def backup_diff(self, key: str, old: int, new: int) -> str | None: ...

    def events(self, since: int = 0, limit: int = 500) -> list[dict[str, Any]]: ...

    def subscribe(self, listener: Callable[[dict[str, Any]], None]) -> Callable[[], None]: ...

    def ready(self) -> bool: ...

    def metrics(self) -> list[MetricFamily]: ...

    def check_user(self, name: str, password: str) -> Principal | None: ...

    def privilege_of(self, name: str) -> int | None: ...

    async def login_attempt(
        self,
        peer: str,
        user: str,
        port: int,
        check: Callable[[], Awaitable[Principal | None]],
    ) -> Principal | None: ...

    async def configure(self, lines: list[str]) -> str: ...

    async def run_exec(self, line: str) -> str: ...

    async def save(self) -> str: ...


__all__ = [
    "CHANGE_LEVEL",
    "READ_LEVEL",
    "CommandRejected",
    "HttpHost",
    "MetricFamily",
    "Principal",
    "SaveFailed",
]
