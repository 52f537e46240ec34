"""The director's web service (REST API, dashboard, metrics), configured the IOS way: `ip http
server`, `ip http port N`, `ip http secure-server`, `ip http secure-port N`, `ip http
secure-certificate FILE`, `ip http secure-private-key FILE`, `ip http metrics-authentication`,
and their `no` forms (the model: `smartinstall.domain.http`)."""

from __future__ import annotations

from smartinstall.domain.http import DEFAULT_HTTP_PORT, DEFAULT_HTTPS_PORT, HttpSettings
from smartinstall.ios.director_config.base import DirectorCommandsBase, domain_errors, text
from smartinstall.ios.engine import Context
from smartinstall.ios.tree import CONFIG
from smartinstall.ios.types import Arg, Number, Word

HTTP_HELP = {
    "http": "HTTP server configuration",
    "server": "Enable HTTP server (REST API, dashboard, metrics)",
    "port": "HTTP server port",
    "secure-server": "Enable HTTP secure server",
    "secure-port": "Set the HTTP secure server port number for listening",
    "secure-certificate": "PEM file of the HTTP secure server's certificate",
    "secure-private-key": "PEM file of the HTTP secure server's private key",
    "metrics-authentication": "Require a login for /metrics",
}


class HttpCommands(DirectorCommandsBase):
    """`ip http …`: the director's HTTP(S) service."""

    @property
    def http(self) -> HttpSettings:
        return self.settings.http

    def _declare_http(self) -> None:
        c = self.command
        port = {"port": Arg(Number(1, 65535), "Port number")}
        path = {"file": Arg(Word("FILE", max_len=1024), "File name (PEM)")}
        for negated in ("", "no "):
            c(CONFIG, f"{negated}ip http server", self._server, help=HTTP_HELP)
            c(CONFIG, f"{negated}ip http secure-server", self._secure_server, help=HTTP_HELP)
            c(
                CONFIG,
                f"{negated}ip http metrics-authentication",
                self._metrics_login,
                help=HTTP_HELP,
            )
        c(CONFIG, "ip http port <port>", self._port, help=HTTP_HELP, args=port)
        c(CONFIG, "no ip http port [<port>]", self._port, help=HTTP_HELP, args=port)
        c(CONFIG, "ip http secure-port <port>", self._secure_port, help=HTTP_HELP, args=port)
        c(CONFIG, "no ip http secure-port [<port>]", self._secure_port, help=HTTP_HELP, args=port)
        for keyword, handler in (
            ("secure-certificate", self._certificate),
            ("secure-private-key", self._private_key),
        ):
            c(CONFIG, f"ip http {keyword} <file>", handler, help=HTTP_HELP, args=path)
            c(CONFIG, f"no ip http {keyword} [<file>]", handler, help=HTTP_HELP, args=path)

    # --- handlers ------------------------------------------------------------------------

    def _server(self, ctx: Context) -> None:
        self.http.server = not ctx.negated

    def _secure_server(self, ctx: Context) -> None:
        self.http.secure_server = not ctx.negated

    def _metrics_login(self, ctx: Context) -> None:
        self.http.metrics_login = not ctx.negated

    def _port(self, ctx: Context) -> None:
        if ctx.negated:
            self.http.port = DEFAULT_HTTP_PORT
            return
        value = ctx.args["port"]
        assert isinstance(value, int)
        with domain_errors():
            self.http.port = HttpSettings.check_port(value)

    def _secure_port(self, ctx: Context) -> None:
        if ctx.negated:
            self.http.secure_port = DEFAULT_HTTPS_PORT
            return
        value = ctx.args["port"]
        assert isinstance(value, int)
        with domain_errors():
            self.http.secure_port = HttpSettings.check_port(value)

    def _certificate(self, ctx: Context) -> None:
        if ctx.negated:
            self.http.certificate = None
            return
        with domain_errors():
            self.http.certificate = HttpSettings.check_path(text(ctx.args["file"]))

    def _private_key(self, ctx: Context) -> None:
        if ctx.negated:
            self.http.private_key = None
            return
        with domain_errors():
            self.http.private_key = HttpSettings.check_path(text(ctx.args["file"]))


__all__ = ["HttpCommands"]
