"""The director as a box: ``show version``, ``show clock`` and ``show users`` (what IOS
tools, Ansible's ``cisco.ios`` facts among them, expect to find)."""

from __future__ import annotations

import datetime as dt
import platform
import time

from smartinstall import __version__
from smartinstall.director.exec import host_probe
from smartinstall.director.exec.host import Family, finish_in_thread
from smartinstall.director.exec.host_info import model
from smartinstall.domain.settings import Role
from smartinstall.ios import EXEC, USER_LEVEL, Context


def ios_uptime(uptime: dt.timedelta) -> str:
    """An uptime as IOS words it: ``1 week, 2 days, 3 hours, 4 minutes``."""
    minutes = max(0, int(uptime.total_seconds())) // 60
    parts: list[str] = []
    for name, size in (("year", 525_600), ("week", 10_080), ("day", 1_440), ("hour", 60)):
        count, minutes = divmod(minutes, size)
        if count or parts:
            parts.append(f"{count} {name}{'' if count == 1 else 's'}")
    parts.append(f"{minutes} minute{'' if minutes == 1 else 's'}")
    return ", ".join(parts)


def render_version(
    hostname: str, uptime: dt.timedelta, role: Role, memory: host_probe.Memory, serial: str
) -> str:
    """``show version`` in the IOS layout automation parses (Netmiko's autodetect, NAPALM's
    get_facts, Ansible's ios_facts, ntc-templates): the lines say what the box is, the
    director software on its host, and the host's memory and id."""
    pid = model(role)
    kind = "director" if role is Role.DIRECTOR else "client"
    return (
        f"Cisco IOS Software, smartinstall Software ({pid}), Version {__version__}, "
        "RELEASE SOFTWARE\n"
        "smartinstall is an open-source implementation of Cisco Smart Install, not Cisco "
        "software: it answers the IOS command line automation expects.\n"
        "Copyright (c) smartinstall developers, Apache License 2.0\n\n"
        f"ROM: Python {platform.python_version()} on {platform.system()} "
        f"{platform.release()}\n\n"
        f"{hostname} uptime is {ios_uptime(uptime)}\n"
        "System returned to ROM by power-on\n"
        f'System image file is "flash:smartinstall-{__version__}"\n'
        "Last reload reason: power-on\n\n"
        f"Cisco {pid} ({platform.machine() or 'unknown'}) processor with "
        f"{memory.total // 1024}K bytes of memory.\n"
        f"Processor board ID {serial or 'unknown'}\n"
        f"Smart Install role: {kind}\n\n"
        "Configuration register is 0xF\n"
    )


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
        hostname = self.settings.hostname
        role = self.host.director.role

        def render() -> str:  # reads the host's memory and id: in a thread
            return render_version(hostname, uptime, role, host_probe.memory(), host_probe.host_id())

        finish_in_thread(ctx, render)

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
