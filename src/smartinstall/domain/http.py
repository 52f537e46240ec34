"""The director's web service settings (``ip http …``), as IOS names them.

``ip http server`` / ``ip http port N`` turn on plain HTTP (port 80 by default);
``ip http secure-server`` / ``ip http secure-port N`` turn on HTTPS (443), with the server's
certificate and private key given as PEM files (``ip http secure-certificate FILE``, ``ip http
secure-private-key FILE``; IOS names a trustpoint, a Linux host has files). ``ip http
metrics-authentication`` puts ``/metrics`` behind the login like the API. Nothing listens
until one of the servers is configured (or a ``--http-port``/``--https-port`` option asks).
"""

from __future__ import annotations

from dataclasses import dataclass

from smartinstall.domain.errors import DomainError

DEFAULT_HTTP_PORT = 80
DEFAULT_HTTPS_PORT = 443
MAX_PATH = 1024


@dataclass
class HttpSettings:
    server: bool = False
    port: int = DEFAULT_HTTP_PORT
    secure_server: bool = False
    secure_port: int = DEFAULT_HTTPS_PORT
    certificate: str | None = None
    private_key: str | None = None
    metrics_login: bool = False

    @staticmethod
    def check_port(port: int) -> int:
        if not 1 <= port <= 65535:
            raise DomainError(f"% Invalid port: {port}", str(port))
        return port

    @staticmethod
    def check_path(path: str) -> str:
        if not path or len(path) > MAX_PATH or "\x00" in path:
            raise DomainError(f"% Invalid file name: {path[:64]}", path[:64])
        return path

    def render(self) -> list[str]:
        lines = []
        if self.server:
            lines.append("ip http server")
        if self.port != DEFAULT_HTTP_PORT:
            lines.append(f"ip http port {self.port}")
        if self.secure_server:
            lines.append("ip http secure-server")
        if self.secure_port != DEFAULT_HTTPS_PORT:
            lines.append(f"ip http secure-port {self.secure_port}")
        if self.certificate:
            lines.append(f"ip http secure-certificate {self.certificate}")
        if self.private_key:
            lines.append(f"ip http secure-private-key {self.private_key}")
        if self.metrics_login:
            lines.append("ip http metrics-authentication")
        return lines


__all__ = ["DEFAULT_HTTPS_PORT", "DEFAULT_HTTP_PORT", "HttpSettings"]
