"""The director's remote syslog commands, as IOS has them: ``logging host <ip> [transport
{udp|tcp|tls} [port <n>]] [rfc3164]`` (several per address, one per transport and port),
``logging trap <level>``, ``logging source-interface <interface|address>`` and ``logging
tls-ca <file>``, with their ``no`` forms."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from smartinstall import hostaddr
from smartinstall.domain.syslog import (
    DEFAULT_PORTS,
    DEFAULT_TRAP,
    SEVERITY_HELP,
    SEVERITY_NAMES,
    LoggingHost,
    parse_severity,
    with_host,
    without_host,
)
from smartinstall.ios.director_config.base import DirectorCommandsBase, domain_errors, said, text
from smartinstall.ios.engine import Context
from smartinstall.ios.tree import CONFIG
from smartinstall.ios.types import Arg, ArgError, ArgType, IPv4, Number, Word

#: answers the address to send from for a ``logging source-interface`` word, None if unknown
SourceResolver = Callable[[str], str | None]


HOST_HELP = {
    "host": "Set syslog server IP address and parameters",
    "transport": "Specify the transport protocol (default=UDP)",
    "udp": "UDP transport",
    "tcp": "TCP transport",
    "tls": "TLS transport (RFC 5425)",
    "port": "Specify the port",
    "rfc3164": "Send messages in the RFC 3164 format",
}


class SyslogCommands(DirectorCommandsBase):
    """``logging host|trap|source-interface|tls-ca`` (a part of `DirectorCommands`)."""

    #: resolves ``logging source-interface`` (tests give their own)
    resolve_source: SourceResolver = staticmethod(hostaddr.source_address)

    def _declare_logging(self) -> None:
        c = self.command
        args = {
            "host": Arg(IPv4(), "IP address of the syslog server"),
            "port": Arg(Number(1, 65535), "Port number"),
        }
        for negated in ("", "no "):
            c(
                CONFIG,
                f"{negated}logging host <host> [rfc3164]",
                partial(self._logging_host, transport=None),
                help=HOST_HELP,
                args=args,
            )
            for transport in DEFAULT_PORTS:
                c(
                    CONFIG,
                    f"{negated}logging host <host> transport {transport} [port <port>] [rfc3164]",
                    partial(self._logging_host, transport=transport),
                    help=HOST_HELP,
                    args=args,
                )
        levels = " | ".join(SEVERITY_NAMES)
        trap_help = {
            "trap": "Set syslog server logging level",
            **{name: f"{SEVERITY_HELP[n]} (severity={n})" for n, name in enumerate(SEVERITY_NAMES)},
        }
        level = {"level": Arg(Number(0, 7), "Logging severity level")}
        c(CONFIG, f"logging trap {{{levels}}}", self._trap, help=trap_help)
        c(CONFIG, "logging trap <level>", self._trap, help=trap_help, args=level)
        c(CONFIG, "logging trap", self._trap, help=trap_help)
        c(CONFIG, f"no logging trap [{{{levels}}}]", self._trap, help=trap_help)
        c(CONFIG, "no logging trap <level>", self._trap, help=trap_help, args=level, hidden=True)
        source_help = {"source-interface": "Specify interface for source address in logging "
                       "transactions"}  # fmt: skip
        resolve = self._source_of
        source = {
            "name": Arg(SourceInterface(resolve), "Interface name or IP address of this host")
        }
        any_name = {"name": Arg(Word(max_len=64), "Interface name or IP address of this host")}
        c(
            CONFIG,
            "logging source-interface <name>",
            self._source,
            help=source_help,
            args=source,
        )
        c(
            CONFIG,
            "no logging source-interface [<name>]",
            self._source,
            help=source_help,
            args=any_name,
        )
        ca_help = {"tls-ca": "CA certificates that TLS syslog servers are checked against"}
        ca = {"file": Arg(Word(max_len=1024), "PEM file (relative to the data directory)")}
        c(CONFIG, "logging tls-ca <file>", self._tls_ca, help=ca_help, args=ca)
        c(CONFIG, "no logging tls-ca [<file>]", self._tls_ca, help=ca_help, args=ca)

    def _source_of(self, name: str) -> str | None:
        return type(self).resolve_source(name)

    # --- handlers ------------------------------------------------------------------------

    def _logging_host(self, ctx: Context, transport: str | None) -> None:
        settings = self.settings
        host = text(ctx.args["host"])
        port = ctx.args.get("port")
        assert port is None or isinstance(port, int)
        if ctx.negated:
            settings.logging_hosts = without_host(settings.logging_hosts, host, transport, port)
            return
        with domain_errors():
            new = LoggingHost(host, transport or "udp", port or 0, said(ctx, "rfc3164"))
        settings.logging_hosts = with_host(settings.logging_hosts, new)

    def _trap(self, ctx: Context) -> None:
        syslog = self.settings.syslog
        if ctx.negated:
            syslog.trap = None
            return
        given = ctx.args.get("level")
        if given is None:
            given = next((w for w in SEVERITY_NAMES if w in ctx.keywords), None)
        if given is None:
            syslog.trap = DEFAULT_TRAP
            return
        assert isinstance(given, int | str)
        with domain_errors():
            syslog.trap = parse_severity(given)

    def _source(self, ctx: Context) -> None:
        syslog = self.settings.syslog
        if ctx.negated:
            syslog.source_interface = None
            return
        syslog.source_interface = text(ctx.args["name"])

    def _tls_ca(self, ctx: Context) -> None:
        syslog = self.settings.syslog
        syslog.tls_ca = None if ctx.negated else text(ctx.args["file"])


class SourceInterface(ArgType):
    """An interface name or an IPv4 address of this host: anything else is invalid input, with
    the caret under the word, as IOS answers an interface it does not have."""

    label = "WORD"

    def __init__(self, resolve: SourceResolver, max_len: int = 64) -> None:
        self._resolve = resolve
        self.max_len = max_len

    def parse(self, token: str) -> object:
        if not token or len(token) > self.max_len or self._resolve(token) is None:
            raise ArgError("no such interface")
        return token

    def partial(self, token: str) -> int:
        try:
            self.parse(token)
        except ArgError:
            return 0
        return len(token)


__all__ = ["SourceInterface", "SourceResolver", "SyslogCommands"]
