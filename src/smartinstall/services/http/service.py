"""The director's HTTP service: which listeners the settings (``ip http …``) and the
``--http-port``/``--https-port`` options ask for, started, changed and stopped as they change.
Nothing of the web stack is imported while no listener is wanted."""

from __future__ import annotations

import asyncio
import importlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from smartinstall.domain.http import HttpSettings
from smartinstall.services.http.host import HttpHost

if TYPE_CHECKING:
    from smartinstall.services.http.app import HttpApp
    from smartinstall.services.http.server import HttpListener

log = logging.getLogger(__name__)

SELF_SIGNED_DIR = "http"


@dataclass(frozen=True)
class Wanted:
    port: int
    certificate: Path | None = None
    key: Path | None = None


class HttpService:
    def __init__(
        self,
        host: HttpHost,
        address: str,
        http_port: int | None = None,
        https_port: int | None = None,
    ) -> None:
        self.host = host
        self.address = address
        self.http_port = http_port
        self.https_port = https_port
        self.app: HttpApp | None = None
        self.listeners: dict[Wanted, HttpListener] = {}
        self._settings = HttpSettings()

    @property
    def ports(self) -> dict[str, int]:
        """The ports listening now: ``{"http": n, "https": m}``."""
        return {
            ("https" if listener.secure else "http"): listener.port
            for listener in self.listeners.values()
        }

    async def _wanted(self, settings: HttpSettings) -> list[Wanted]:
        wanted = []
        port = (
            self.http_port
            if self.http_port is not None
            else (settings.port if settings.server else None)
        )
        if port is not None:
            wanted.append(Wanted(port))
        secure = (
            self.https_port
            if self.https_port is not None
            else (settings.secure_port if settings.secure_server else None)
        )
        if secure is not None:
            if settings.certificate and settings.private_key:
                pair = (Path(settings.certificate), Path(settings.private_key))
            else:
                from smartinstall.services.http.server import self_signed

                pair = await asyncio.to_thread(
                    self_signed, self.host.data_dir / SELF_SIGNED_DIR, self.host.hostname
                )
            wanted.append(Wanted(secure, *pair))
        return wanted

    def _metrics_login(self) -> bool:
        return self._settings.metrics_login

    async def apply(self, settings: HttpSettings) -> None:
        """Listen as ``settings`` (and the options) say; a listener that cannot start is
        logged and the others still run."""
        self._settings = settings
        try:
            wanted = await self._wanted(settings)
        except (OSError, ValueError) as error:
            log.error("HTTPS certificate cannot be made: %s", error)
            wanted = []
        for key in [k for k in self.listeners if k not in wanted]:
            await self.listeners.pop(key).close()
        if wanted and self.app is None:
            # the web stack's first import takes a while: not on the event loop
            await asyncio.to_thread(importlib.import_module, "smartinstall.services.http.server")
        for key in wanted:
            if key in self.listeners:
                continue
            from smartinstall.services.http.app import HttpApp
            from smartinstall.services.http.server import HttpListener, ssl_ok

            if key.certificate is not None and key.key is not None:
                problem = await asyncio.to_thread(ssl_ok, key.certificate, key.key)
                if problem is not None:
                    log.error("HTTPS server on port %d not started: %s", key.port, problem)
                    continue
            if self.app is None:
                self.app = HttpApp(self.host, key.port, self._metrics_login)
            listener = HttpListener(self.app, self.address, key.port, key.certificate, key.key)
            try:
                await listener.start()
            except OSError as error:
                log.error("HTTP server on %s:%d not started: %s", self.address, key.port, error)
                continue
            self.listeners[key] = listener

    async def close(self) -> None:
        if self.app is not None:
            await self.app.close()
        for listener in list(self.listeners.values()):
            await listener.close()
        self.listeners.clear()


__all__ = ["HttpService"]
