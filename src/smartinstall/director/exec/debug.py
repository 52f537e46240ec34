"""Smart Install debugging and the log: ``debug vstack …``, ``undebug all``, ``show
debugging``, ``show logging`` and ``terminal [no] monitor`` (guide, "Troubleshooting Smart
Install"). The areas and the buffered lines are the director's event log's."""

from __future__ import annotations

from smartinstall.director.eventlog import DEBUG_AREAS, LoggedLine
from smartinstall.director.exec.host import Family
from smartinstall.domain.syslog import severity_name
from smartinstall.ios import EXEC, PRIVILEGED_LEVEL, USER_LEVEL, CommandError, Context


class DebugCommands(Family):
    """``[no] debug vstack {all | <area>}``, ``undebug vstack {all | <area>}``, ``undebug all``,
    ``no debug all``, ``show debugging``, ``show logging`` and ``terminal [no] monitor``."""

    def declare(self) -> None:
        c = self.command
        p = PRIVILEGED_LEVEL
        c(
            EXEC,
            "show logging",
            self._show_logging,
            level=USER_LEVEL,
            output=True,
            help={"logging": "Show the contents of logging buffers"},
        )
        c(
            EXEC,
            "show debugging",
            self._show_debugging,
            level=USER_LEVEL,
            output=True,
            help={"debugging": "State of each debugging option"},
        )
        areas = " | ".join(("all", *DEBUG_AREAS))
        area_help = {area: f"Smart Install {area} debugging" for area in DEBUG_AREAS}
        area_help.update({"all": "All Smart Install debugging", "vstack": "Smart Install"})
        c(EXEC, f"debug vstack {{{areas}}}", self._debug, level=p, help=area_help)
        c(EXEC, f"no debug vstack {{{areas}}}", self._debug, level=p, help=area_help)
        c(EXEC, "undebug all", self._undebug, level=p, help={"all": "Disable all debugging"})
        # guide, debug vstack: "The undebug vstack command is the same as the no debug vstack
        # command."
        c(EXEC, f"undebug vstack {{{areas}}}", self._debug, level=p, help=area_help)
        c(
            EXEC,
            "no debug all",
            self._undebug,
            level=p,
            help={
                "debug": "Debugging functions (see also 'undebug')",
                "all": "Disable all debugging",
            },
        )
        c(
            EXEC,
            "terminal monitor",
            self._monitor,
            level=USER_LEVEL,
            help={"monitor": "Copy debug output to the current terminal line"},
        )
        c(
            EXEC,
            "terminal no monitor",
            self._no_monitor,
            level=USER_LEVEL,
            help={
                "no": "Negate a command or set its defaults",
                "monitor": "Copy debug output to the current terminal line",
            },
        )

    def _show_logging(self, ctx: Context) -> None:
        events = self.host.events
        buffered = events.lines()
        monitors = sum(1 for line in self.lines.values() if line.monitor is not None)
        destinations = events.destinations()
        dropped = sum(sender.dropped for _, sender in destinations)
        ctx.write(f"Syslog logging: enabled ({dropped} messages dropped, 0 flushes, 0 overruns)\n")
        ctx.write(f"    Console logging: level debugging, {len(buffered)} messages logged\n")
        ctx.write(
            f"    Monitor logging: level debugging, {len(buffered)} messages logged"
            f" ({monitors} terminals)\n"
        )
        ctx.write(f"    Buffer logging: level debugging, {len(buffered)} messages logged\n")
        if events.trap is None:
            ctx.write("    Trap logging: disabled\n")
        else:
            ctx.write(
                f"    Trap logging: level {severity_name(events.trap)}, {events.trap_lines}"
                " message lines logged\n"
            )
        syslog = self.settings.syslog
        if syslog.source_interface:
            ctx.write(f"        Logging Source-Interface: {syslog.source_interface}\n")
        for target, sender in destinations:
            host = getattr(target, "host", "?")
            transport = getattr(target, "transport", "udp")
            port = getattr(target, "port", 514)
            link = "up" if getattr(sender, "link_up", True) else "down"
            ctx.write(
                f"        Logging to {host}  ({transport} port {port}, link {link}),\n"
                f"              {sender.sent} message lines logged,\n"
                f"              {sender.dropped} message lines dropped\n"
            )
        ctx.write(f"\nLog Buffer ({len(buffered)} lines):\n\n")
        for text in buffered:
            ctx.write(text + "\n")

    def _show_debugging(self, ctx: Context) -> None:
        areas = sorted(self.host.events.debug)
        if not areas:
            return
        ctx.write("Smart Install:\n")
        for area in areas:
            ctx.write(f"  vstack {area} debugging is on\n")

    def _debug(self, ctx: Context) -> None:
        area = next((a for a in ("all", *DEBUG_AREAS) if a in ctx.keywords), None)
        if area is None:
            raise CommandError("% Incomplete command.")
        debug = self.host.events.debug
        if ctx.negated or ctx.command.syntax.startswith(("no ", "undebug ")):
            debug.discard(area)
            if area == "all":
                debug.clear()
            ctx.write(f"Smart Install {area} debugging is off\n")
        else:
            debug.add(area)
            ctx.write(f"Smart Install {area} debugging is on\n")

    def _undebug(self, ctx: Context) -> None:
        self.host.events.debug.clear()
        ctx.write("All possible debugging has been turned off\n")

    def _monitor(self, ctx: Context) -> None:
        line = self.lines.get(ctx.session)
        if line is None or line.notify is None:
            raise CommandError("% Terminal monitor needs a terminal line")
        if line.monitor is not None:
            return
        notify = line.notify

        def listener(logged: LoggedLine) -> None:
            notify(logged.render())

        line.monitor = listener
        self.host.events.subscribe(listener)

    def _no_monitor(self, ctx: Context) -> None:
        line = self.lines.get(ctx.session)
        if line is not None and line.monitor is not None:
            self.host.events.unsubscribe(line.monitor)
            line.monitor = None
