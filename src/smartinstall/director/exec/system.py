"""The director as a box: ``show version``, ``show clock`` and ``show users`` (what IOS
tools, Ansible's ``cisco.ios`` facts among them, expect to find)."""

from __future__ import annotations

import datetime as dt
import platform
import time

from smartinstall import __version__
from smartinstall.director.exec.host import Family
from smartinstall.domain.settings import Role
from smartinstall.domain.values import normalize_mac
from smartinstall.ios import EXEC, USER_LEVEL, Context


class SystemCommands(Family):
    """``show version``, ``show clock`` and ``show users``."""

    def declare(self) -> None:
        c = self.command
        c(
            EXEC,
            "show version",
            self._show_version,
            level=USER_LEVEL,
            output=True,
            help={"version": "System hardware and software status"},
        )
        c(
            EXEC,
            "show clock",
            self._show_clock,
            level=USER_LEVEL,
            output=True,
            help={"clock": "Display the system clock"},
        )
        c(
            EXEC,
            "show users",
            self._show_users,
            level=USER_LEVEL,
            output=True,
            help={"users": "Display information about terminal lines"},
        )

    def _show_version(self, ctx: Context) -> None:
        uptime = dt.datetime.now(dt.UTC) - self.host.started_at.astimezone(dt.UTC)
        minutes = int(uptime.total_seconds()) // 60
        days, rest = divmod(minutes, 24 * 60)
        hours, minutes = divmod(rest, 60)
        serial = normalize_mac(self.host.director.address.encode().hex()[:12].ljust(12, "0"))
        role = "director" if self.host.director.role is Role.DIRECTOR else "client"
        ctx.write(
            f"smartinstall Smart Install director Software (SMARTINSTALL-{role.upper()}), "
            f"Version {__version__}, RELEASE SOFTWARE (IOS-compatible command line)\n"
            "Copyright (c) smartinstall developers, Apache License 2.0\n\n"
            f"ROM: Python {platform.python_version()}\n\n"
            f"{self.settings.hostname} uptime is {days} days, {hours} hours, "
            f"{minutes} minutes\n"
            "System returned to ROM by power-on\n"
            f'System image file is "flash:smartinstall-{__version__}"\n\n'
            f"smartinstall ({platform.machine() or 'unknown'}) processor with "
            "524288K bytes of memory.\n"
            f"Processor board ID SI{serial.replace('.', '').upper()}\n"
            f"Smart Install role: {role}\n\n"
            "Configuration register is 0xF\n"
        )

    def _show_clock(self, ctx: Context) -> None:
        now = dt.datetime.now(self.host.director.tz)
        zone = now.tzname() or "UTC"
        ctx.write(
            f"{now:%H:%M:%S}.{now.microsecond // 1000:03d} {zone} "
            f"{now:%a %b} {now.day} {now.year}\n"
        )

    def _show_users(self, ctx: Context) -> None:
        ctx.write("    Line       User       Host(s)              Idle       Location\n")
        now = time.monotonic()
        for session, line in sorted(
            self.lines.items(), key=lambda item: (item[1].kind, item[1].number)
        ):
            mark = "*" if session is ctx.session else " "
            idle = int(now - line.last_input)
            idle_text = f"{idle // 3600:02d}:{idle // 60 % 60:02d}:{idle % 60:02d}"
            name = f"{line.kind} {line.number}"
            ctx.write(
                f"{mark}{line.number + 2:3d} {name:<10} {line.user:<10} "
                f"{'idle':<20} {idle_text:<10} {line.peer}\n"
            )
        ctx.write("\n  Interface    User               Mode         Idle     Peer Address\n")
