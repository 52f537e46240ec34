"""The director's system-message log: ``%SMI-…`` lines with IOS timestamps.

Every event is rendered by :mod:`smartinstall.domain.messages`, kept in a bounded buffer for
``show logging``, written to the Python log (console or log file) and sent to each configured
remote syslog target whose severity ``logging trap`` lets through (informational and more
severe by default). Debug output of ``debug vstack <area>`` goes through the same path at
severity 7 when that area is on.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Protocol

from smartinstall.domain import messages

log = logging.getLogger("smartinstall.smi")

DEBUG_AREAS = (
    "backup", "cli", "director-db", "download", "emulation", "fsm", "group", "join-window",
    "protocol", "smi-proxy",
)  # fmt: skip
BUFFER_LINES = 4096
TRAP_DEFAULT = 6  # informational, as IOS

_LEVELS = {0: 50, 1: 50, 2: 50, 3: 40, 4: 30, 5: 20, 6: 20, 7: 10}


class Sender(Protocol):
    """A remote log destination (``services.syslog.SyslogSender``)."""

    def send(
        self, severity: int, hostname: str, msgid: str, text: str, when: dt.datetime
    ) -> None: ...

    def close(self) -> Awaitable[None]: ...

    @property
    def sent(self) -> int: ...

    @property
    def dropped(self) -> int: ...


def ios_timestamp(when: dt.datetime) -> str:
    """``Nov 27 01:59:12.345`` — IOS's ``service timestamps log datetime msec`` form."""
    return f"{when:%b} {when.day:2d} {when:%H:%M:%S}.{when.microsecond // 1000:03d}"


@dataclass(frozen=True)
class LoggedLine:
    when: dt.datetime
    severity: int
    mnemonic: str
    text: str  # "%SMI-6-SWITCH_ADD: …"

    def render(self) -> str:
        return f"{ios_timestamp(self.when)}: {self.text}"


class EventLog:
    def __init__(
        self,
        hostname: str = "Director",
        clock: Callable[[], dt.datetime] | None = None,
        tz: dt.tzinfo = dt.UTC,
        sender_factory: Callable[[Hashable], Sender] | None = None,
    ) -> None:
        self.hostname = hostname
        self.tz = tz
        self._clock = clock or (lambda: dt.datetime.now(self.tz))
        self.buffer: deque[LoggedLine] = deque(maxlen=BUFFER_LINES)
        self.debug: set[str] = set()
        self._senders: dict[Hashable, Sender] = {}
        self._factory = sender_factory
        self._listeners: list[Callable[[LoggedLine], None]] = []
        #: ``logging trap``: the least severe level sent to the syslog hosts (None: none)
        self.trap: int | None = TRAP_DEFAULT
        self.trap_lines = 0  # lines handed to the syslog hosts

    # --- configuration --------------------------------------------------------------------

    def set_targets(self, targets: Iterable[Hashable]) -> list[Sender]:
        """Keep one sender per target (made by the sender factory); returns the senders no
        longer wanted, for the caller to close."""
        wanted = set(targets)
        gone = [s for t, s in self._senders.items() if t not in wanted]
        factory = self._factory
        if factory is None:
            self._senders = {}
            return gone
        self._senders = {t: self._senders.get(t) or factory(t) for t in wanted}
        return gone

    @property
    def senders(self) -> list[Sender]:
        return list(self._senders.values())

    def destinations(self) -> list[tuple[Hashable, Sender]]:
        """Each target with its sender (``show logging``)."""
        return list(self._senders.items())

    def subscribe(self, listener: Callable[[LoggedLine], None]) -> None:
        """``terminal monitor``: a session sees each line as it is logged."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[LoggedLine], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    # --- logging --------------------------------------------------------------------------

    def smi(self, mnemonic: str, **fields: object) -> LoggedLine:
        """Log one ``%SMI`` message of the guide with its fields."""
        text = messages.render(mnemonic, **fields)
        severity = messages.CATALOG[mnemonic].severity
        return self._emit(severity, mnemonic, text)

    def notice(self, severity: int, mnemonic: str, text: str) -> LoggedLine:
        """A message of the director's own (not in the guide's catalogue), in the guide's
        form (``%SMI-4-MNEMONIC: text``), logged, kept for ``show logging`` and sent to the
        syslog hosts like the guide's."""
        return self._emit(severity, mnemonic, f"%{messages.FACILITY}-{severity}-{mnemonic}: {text}")

    def debug_line(self, area: str, text: str) -> LoggedLine | None:
        """``debug vstack <area>`` output; dropped unless the area (or ``all``) is on."""
        if area not in self.debug and "all" not in self.debug:
            return None
        return self._emit(7, f"DEBUG_{area.upper()}", f"SMI-{area}: {text}")

    def record(self, severity: int, mnemonic: str, text: str) -> LoggedLine:
        """A line of another facility (``%SEC_LOGIN-…``) that its own code already wrote to
        the Python log: into ``show logging`` and to the syslog hosts."""
        line = LoggedLine(self._clock(), severity, mnemonic, text)
        self.buffer.append(line)
        self._forward(line)
        return line

    def _forward(self, line: LoggedLine) -> None:
        if self.trap is None or line.severity > self.trap or not self._senders:
            return
        self.trap_lines += 1
        for sender in self._senders.values():
            sender.send(line.severity, self.hostname, line.mnemonic, line.text, line.when)

    def _emit(self, severity: int, mnemonic: str, text: str) -> LoggedLine:
        when = self._clock()
        line = LoggedLine(when, severity, mnemonic, text)
        self.buffer.append(line)
        log.log(_LEVELS.get(severity, 20), "%s", line.render())
        self._forward(line)
        for listener in list(self._listeners):
            try:
                listener(line)
            except Exception:  # a broken session must not stop logging
                log.exception("log listener failed")
        return line

    def lines(self) -> list[str]:
        return [line.render() for line in self.buffer]
