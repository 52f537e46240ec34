"""Remote syslog settings: the ``logging host``, ``logging trap``, ``logging source-interface``
and ``logging tls-ca`` lines of the director's configuration, as IOS writes them.

Several ``logging host`` lines may name the same address: each (address, transport, port) is
one destination, as IOS allows ``logging host <ip> transport udp port <n>`` once per port.
"""

from __future__ import annotations

from dataclasses import dataclass

from smartinstall.domain.devices import validate_ipv4
from smartinstall.domain.errors import DomainError

TRANSPORTS = ("udp", "tcp", "tls")
#: the port of each transport when ``port`` is not given (TCP keeps 514, the port it has
#: always had here; RFC 5425 gives TLS 6514)
DEFAULT_PORTS = {"udp": 514, "tcp": 514, "tls": 6514}

#: IOS severity levels, as ``logging trap ?`` names them
SEVERITY_NAMES = (
    "emergencies",
    "alerts",
    "critical",
    "errors",
    "warnings",
    "notifications",
    "informational",
    "debugging",
)
SEVERITY_HELP = (
    "System is unusable",
    "Immediate action needed",
    "Critical conditions",
    "Error conditions",
    "Warning conditions",
    "Normal but significant conditions",
    "Informational messages",
    "Debugging messages",
)
DEFAULT_TRAP = 6  # informational


def parse_severity(word: str | int) -> int:
    """A severity level by name (``warnings``, any unambiguous prefix) or number (0-7)."""
    if isinstance(word, int) or word.isdigit():
        level = int(word)
        if 0 <= level <= 7:
            return level
        raise DomainError(f"% Invalid severity level: {word}", str(word))
    lowered = word.lower()
    found = [n for n, name in enumerate(SEVERITY_NAMES) if name.startswith(lowered)]
    if len(found) != 1 or not lowered:
        raise DomainError(f"% Invalid severity level: {word}", word)
    return found[0]


def severity_name(level: int) -> str:
    return SEVERITY_NAMES[level]


@dataclass(frozen=True)
class LoggingHost:
    """A remote syslog server for the ``%SMI`` messages."""

    host: str
    transport: str = "udp"
    port: int = 0  # 0: the transport's default port
    rfc3164: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "host", validate_ipv4(self.host))
        if self.transport not in TRANSPORTS:
            raise DomainError(f"% Invalid transport: {self.transport}", self.transport)
        if self.port == 0:
            object.__setattr__(self, "port", DEFAULT_PORTS[self.transport])
        if not 1 <= self.port <= 65535:
            raise DomainError(f"% Invalid port: {self.port}", str(self.port))

    @property
    def key(self) -> tuple[str, str, int]:
        """What makes two lines the same destination (a new line with it replaces the old)."""
        return (self.host, self.transport, self.port)

    def render(self) -> str:
        words = [f"logging host {self.host}"]
        if self.transport != "udp" or self.port != DEFAULT_PORTS["udp"]:
            words.append(f"transport {self.transport}")
            if self.port != DEFAULT_PORTS[self.transport]:
                words.append(f"port {self.port}")
        if self.rfc3164:
            words.append("rfc3164")
        return " ".join(words)

    @staticmethod
    def parse(words: list[str]) -> LoggingHost:
        """The words after ``logging host``."""
        if not words:
            raise DomainError("% Incomplete command.")
        host, rest = words[0], [w.lower() for w in words[1:]]
        transport, port, rfc3164 = "udp", 0, False
        while rest:
            word = rest.pop(0)
            if word == "transport" and rest and rest[0] in TRANSPORTS:
                transport = rest.pop(0)
                if rest and rest[0] == "port":
                    rest.pop(0)
                    if not rest or not rest[0].isascii() or not rest[0].isdigit():
                        raise DomainError("% Invalid port", rest[0] if rest else "")
                    port = int(rest.pop(0))
            elif word == "rfc3164":
                rfc3164 = True
            else:
                raise DomainError(f"% Invalid input: {word}", word)
        return LoggingHost(host, transport, port, rfc3164)


def with_host(hosts: list[LoggingHost], new: LoggingHost) -> list[LoggingHost]:
    """``logging host …``: the destinations with `new` added (replacing the same one)."""
    return [h for h in hosts if h.key != new.key] + [new]


def without_host(
    hosts: list[LoggingHost], host: str, transport: str | None = None, port: int | None = None
) -> list[LoggingHost]:
    """``no logging host <ip> [transport <t> [port <n>]]``: every line of the address, or only
    those of the transport (and port) given."""

    def matches(h: LoggingHost) -> bool:
        if h.host != host:
            return False
        if transport is not None and h.transport != transport:
            return False
        return not (port is not None and h.port != port)

    return [h for h in hosts if not matches(h)]


@dataclass
class SyslogSettings:
    """Everything about the remote syslog servers but the list of hosts."""

    #: ``logging trap <level>``: the most severe level sent is 0, the least 7; None is
    #: ``no logging trap`` (nothing sent to the hosts)
    trap: int | None = DEFAULT_TRAP
    #: ``logging source-interface <interface|address>``, as typed
    source_interface: str | None = None
    #: ``logging tls-ca <file>``: the CA certificates TLS servers are checked against (None:
    #: the system's store)
    tls_ca: str | None = None

    def render(self) -> list[str]:
        lines: list[str] = []
        if self.trap is None:
            lines.append("no logging trap")
        elif self.trap != DEFAULT_TRAP:
            lines.append(f"logging trap {severity_name(self.trap)}")
        if self.source_interface:
            lines.append(f"logging source-interface {self.source_interface}")
        if self.tls_ca:
            lines.append(f"logging tls-ca {self.tls_ca}")
        return lines


__all__ = [
    "DEFAULT_PORTS",
    "DEFAULT_TRAP",
    "SEVERITY_HELP",
    "SEVERITY_NAMES",
    "TRANSPORTS",
    "LoggingHost",
    "SyslogSettings",
    "parse_severity",
    "severity_name",
    "with_host",
    "without_host",
]
