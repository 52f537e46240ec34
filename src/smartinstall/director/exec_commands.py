"""The EXEC-mode commands of the running director (guide, chapters 2 and 3).

`ExecCommands(host)` is a `CommandSet` for the engine the director's terminals share (SSH,
telnet, the local console). `host` is the running director: anything with the attributes of
:class:`DirectorHost` (``DirectorDaemon`` has them). The configuration commands are another
set; both go into one `Engine`.

Terminal transports register each session with :meth:`ExecCommands.attach` so that ``show
users`` lists it and ``terminal monitor`` can show log lines above its prompt.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import platform
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from smartinstall import __version__
from smartinstall.director import ondemand, views
from smartinstall.director.core import Director
from smartinstall.director.eventlog import DEBUG_AREAS, EventLog, LoggedLine
from smartinstall.director.views.groups import show_vstack_group_builtin, show_vstack_group_custom
from smartinstall.director.views.neighbors import (
    devices_in_builtin_group,
    devices_in_custom_group,
    select_devices,
)
from smartinstall.domain import catalog, downloads
from smartinstall.domain.catalog import CatalogError
from smartinstall.domain.devices import Device, JoinState, UpgradeKind, validate_ipv4
from smartinstall.domain.errors import DomainError
from smartinstall.domain.joinwindow import is_open
from smartinstall.domain.settings import DirectorSettings, Role
from smartinstall.domain.values import normalize_mac
from smartinstall.ios import (
    EXEC,
    PRIVILEGED_LEVEL,
    USER_LEVEL,
    Arg,
    CommandError,
    CommandSet,
    Context,
    IndexList,
    IPv4,
    Line,
    MacAddress,
    Number,
    Session,
    TimeOfDay,
    Word,
)
from smartinstall.ios.engine import Question
from smartinstall.ios.types import Suggested
from smartinstall.store.database import DirectorDatabase
from smartinstall.store.database import DownloadEntry as StoredDownload
from smartinstall.store.repository import Repository, RepositoryError

log = logging.getLogger(__name__)

CONFIRM = "proceed?[confirm]"
MAX_TAR_MEMBERS = 10_000
MAX_TAR_BYTES = 4 * 1024**3


class DirectorHost(Protocol):
    """What the EXEC commands read and drive (``DirectorDaemon`` is one)."""

    data_dir: Path
    settings: DirectorSettings
    events: EventLog
    db: DirectorDatabase
    repo: Repository
    director: Director
    dhcp: Any  # DhcpServer | DhcpRelay | None
    started_at: dt.datetime


@dataclass
class TerminalLine:
    """One connected terminal, as ``show users`` lists it."""

    kind: str  # "vty" (SSH, telnet) or "con" (local console)
    number: int
    user: str
    peer: str
    notify: Callable[[str], None] | None = None  # writes a message above the prompt
    last_input: float = field(default_factory=time.monotonic)
    monitor: Callable[[LoggedLine], None] | None = None


def confirmed(reply: str) -> bool:
    """IOS ``[confirm]``: Enter or y confirms, anything else aborts."""
    return reply.strip().lower() in ("", "y", "yes")


class ExecCommands(CommandSet):
    name = "director-exec"
    order = 90

    def __init__(self, host: DirectorHost) -> None:
        super().__init__()
        self.host = host
        self.lines: dict[Session, TerminalLine] = {}
        self.keyword_help.update({
            "show": "Show running system information",
            "vstack": "Smart Install commands",
            "clear": "Reset functions",
            "debug": "Debugging functions (see also 'undebug')",
            "undebug": "Disable debugging functions (see also 'debug')",
            "terminal": "Set terminal line parameters",
            "ip": "IP information",
            "dhcp": "Dynamic Host Configuration Protocol",
            "no": "Negate a command or set its defaults",
        })  # fmt: skip
        self._show_commands()
        self._vstack_commands()
        self._file_commands()
        self._debug_commands()

    # --- terminals ------------------------------------------------------------------------

    def attach(
        self,
        session: Session,
        kind: str,
        user: str,
        peer: str,
        notify: Callable[[str], None] | None = None,
    ) -> TerminalLine:
        taken = {line.number for line in self.lines.values() if line.kind == kind}
        number = next(n for n in range(len(taken) + 1) if n not in taken)
        line = TerminalLine(kind, number, user, peer, notify)
        self.lines[session] = line
        return line

    def detach(self, session: Session) -> None:
        line = self.lines.pop(session, None)
        if line is not None and line.monitor is not None:
            self.host.events.unsubscribe(line.monitor)

    def touch(self, session: Session) -> None:
        line = self.lines.get(session)
        if line is not None:
            line.last_input = time.monotonic()

    # --- helpers ----------------------------------------------------------------------------

    @property
    def settings(self) -> DirectorSettings:
        return self.host.settings

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    def _director_only(self) -> None:
        if not self.host.director.is_director:
            raise CommandError(
                "% This command is available only on the director "
                "(vstack director <ip> and vstack basic)"
            )

    def _window_open(self) -> bool | None:
        director = self.host.director
        try:
            return is_open(self.settings.join_window, director.now(), director.tz)
        except (DomainError, TypeError, ValueError):
            return None

    # --- show ---------------------------------------------------------------------------------

    def _show_commands(self) -> None:
        c = self.command
        vstack = {"vstack": "Smart Install information"}
        c(
            EXEC,
            "show vstack config",
            self._show_config,
            level=USER_LEVEL,
            output=True,
            help={**vstack, "config": "View configuration parameters under Vstack mode"},
        )
        c(
            EXEC,
            "show vstack status [detail]",
            self._show_status,
            level=USER_LEVEL,
            output=True,
            help={
                **vstack,
                "status": "show the status of CDP database",
                "detail": "Show detailed status",
            },
        )
        c(
            EXEC,
            "show vstack download-status [detail]",
            self._show_downloads,
            level=USER_LEVEL,
            output=True,
            help={
                **vstack,
                "download-status": "show the status of config or image download",
                "detail": "Show detailed status",
            },
        )
        c(
            EXEC,
            "show vstack client <selector> <password> {running-config | tech-support | version}",
            self._show_client,
            level=PRIVILEGED_LEVEL,
            output=True,
            help={
                **vstack,
                "client": "Show output of a client's command line",
                "running-config": "Show the client's running configuration",
                "tech-support": "Show the client's technical support information",
                "version": "Show the client's version",
            },
            args={
                "selector": Arg(Word(), "Device number, IP address of the client, or all"),
                "password": Arg(Word(), "Enable password of the client, or NONE"),
            },
        )
        client_help = {
            **vstack,
            "client": "Show output of a client's command line",
            "group": "Clients of a group",
            "built-in": "Built-in group",
            "custom": "Custom group",
        }
        c(
            EXEC,
            "show vstack client group built-in <words>",
            self._show_client_builtin,
            level=PRIVILEGED_LEVEL,
            output=True,
            help=client_help,
            args={
                "words": Arg(
                    Line(),
                    "<family> <port> [<chassis>] <password> "
                    "{running-config | tech-support | version}",
                )
            },
        )
        c(
            EXEC,
            "show vstack client group custom <name> <password> "
            "{running-config | tech-support | version}",
            self._show_client_custom,
            level=PRIVILEGED_LEVEL,
            output=True,
            help={
                **client_help,
                "running-config": "Show the client's running configuration",
                "tech-support": "Show the client's technical support information",
                "version": "Show the client's version",
            },
            args={
                "name": Arg(Word(), "Custom group name"),
                "password": Arg(Word(), "Enable password of the clients, or NONE"),
            },
        )
        c(
            EXEC,
            "vstack attach <client>",
            self._attach,
            level=PRIVILEGED_LEVEL,
            help={"vstack": "Smart Install commands", "attach": "Attach to a client"},
            args={
                "client": Arg(
                    Suggested(self._attach_choices, "A.B.C.D"),
                    "IP address of remote node to attempt attaching to",
                )
            },
        )
        c(
            EXEC,
            "show vstack host <ip>",
            self._show_host,
            level=USER_LEVEL,
            output=True,
            help={**vstack, "host": "Show the neighbors of a client"},
            args={"ip": Arg(IPv4(), "IP address of the client")},
        )
        c(
            EXEC,
            "show vstack neighbors [<selector>]",
            self._show_neighbors,
            level=USER_LEVEL,
            output=True,
            help={**vstack, "neighbors": "Show the CDP neighbors of clients"},
            args={
                "selector": Arg(
                    Word(), "Device number, IP address, all, or group built-in <family> <port>"
                )
            },
        )
        c(
            EXEC,
            "show vstack neighbors group built-in <words>",
            self._show_neighbors_group,
            level=USER_LEVEL,
            output=True,
            help={
                **vstack,
                "neighbors": "Show the CDP neighbors of clients",
                "group": "Clients of a group",
                "built-in": "Built-in group",
            },
            args={"words": Arg(Line(), "Product family, port configuration [chassis]")},
        )
        c(
            EXEC,
            "show vstack group built-in [<words>]",
            self._show_group_builtin,
            level=USER_LEVEL,
            output=True,
            help={**vstack, "group": "Show group information", "built-in": "Built-in groups"},
            args={"words": Arg(Line(), "[family [port [chassis]]] [detail] [configured]")},
        )
        c(
            EXEC,
            "show vstack group custom [<name>] detail",
            self._show_group_custom,
            level=USER_LEVEL,
            output=True,
            help={
                **vstack,
                "group": "Show group information",
                "custom": "Custom groups",
                "detail": "Show the groups' details",
            },
            args={"name": Arg(Word(), "Custom group name")},
        )
        c(
            EXEC,
            "show vstack join-window configuration",
            self._show_join_window,
            level=USER_LEVEL,
            output=True,
            help={
                **vstack,
                "join-window": "Join window information",
                "configuration": "Join window configuration",
            },
        )
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
        c(
            EXEC,
            "show dhcp server",
            self._show_dhcp_server,
            level=PRIVILEGED_LEVEL,
            output=True,
            help={
                "dhcp": "Dynamic Host Configuration Protocol status",
                "server": "Show DHCP Servers we know about",
            },
        )
        c(
            EXEC,
            "show ip dhcp pool",
            self._show_dhcp_pool,
            level=PRIVILEGED_LEVEL,
            output=True,
            help={
                "ip": "IP information",
                "dhcp": "Show items in the DHCP database",
                "pool": "DHCP pools information",
            },
        )
        c(
            EXEC,
            "show ip dhcp binding",
            self._show_dhcp_binding,
            level=PRIVILEGED_LEVEL,
            output=True,
            help={
                "ip": "IP information",
                "dhcp": "Show items in the DHCP database",
                "binding": "DHCP address bindings",
            },
        )

    def _show_config(self, ctx: Context) -> None:
        role = self.host.director.role
        ctx.write(views.show_vstack_config(self.settings, role, window_open=self._window_open()))

    def _details(self, devices: list[Device]) -> dict[str, views.DeviceDetail]:
        found = {}
        for device in devices:
            backup = self.host.db.latest_backup(device.mac)
            if backup is not None:
                found[device.mac] = views.DeviceDetail(
                    backup_file=Path(backup.file).name, backup_client_name=backup.hostname,
                    checksum=backup.checksum,
                )  # fmt: skip
        return found

    def _show_status(self, ctx: Context) -> None:
        devices = self.host.db.devices()
        if "detail" in ctx.keywords:
            ctx.write(
                views.show_vstack_status_detail(
                    devices, self._details(devices), enabled=self.enabled
                )
            )
        else:
            ctx.write(views.show_vstack_status(devices, enabled=self.enabled))

    def _show_downloads(self, ctx: Context) -> None:
        entries = [view_entry(entry) for entry in self.host.db.downloads()]
        if "detail" in ctx.keywords:
            ctx.write(views.show_vstack_download_status_detail(entries, enabled=self.enabled))
        else:
            ctx.write(views.show_vstack_download_status(entries, enabled=self.enabled))

    def _show_host(self, ctx: Context) -> None:
        ip = str(ctx.args["ip"])
        ctx.write(views.show_vstack_host(self.host.db.device_by_ip(ip), ip, enabled=self.enabled))

    def _client_telnet_port(self) -> int:
        return int(getattr(self.host, "client_telnet_port", 23))

    def _show_client(self, ctx: Context) -> None:
        """``show vstack client {n|ip|all} <password> {running-config|tech-support|version}``:
        the director logs in to each client's command line (telnet, enable password) and shows
        the command's output, one client after the other."""
        selector = str(ctx.args["selector"])
        devices = [d for d in select_devices(self.host.db.devices(), selector) if not d.is_director]
        if not devices:
            raise CommandError(f"% No client {selector} in the director database")
        self._run_on_clients(ctx, devices, str(ctx.args["password"]), _client_command(ctx))

    def _show_client_builtin(self, ctx: Context) -> None:
        """``show vstack client group built-in <family> <port> [<chassis>] <password>
        {running-config|tech-support|version}``: every client of the built-in group."""
        words = str(ctx.args["words"]).split()
        usage = (
            "% Usage: show vstack client group built-in <family> <port> [<chassis>] <password> "
            "{running-config | tech-support | version}"
        )
        if not 4 <= len(words) <= 5:
            raise CommandError(usage)
        command = _client_command_word(words[-1])
        if command is None:
            raise CommandError(usage)
        group = [w.lower() for w in words[:-2]]
        try:
            key = catalog.builtin_key(group[0], group[1], group[2] if len(group) > 2 else None)
        except (CatalogError, DomainError) as error:
            raise CommandError(str(error)) from None
        devices = devices_in_builtin_group(self.host.db.devices(), key)
        if not devices:
            raise CommandError("% No client of this built-in group in the director database")
        self._run_on_clients(ctx, devices, words[-2], command)

    def _show_client_custom(self, ctx: Context) -> None:
        """``show vstack client group custom <name> <password> {…}``: every client the custom
        group provisions (the group the precedence rule gives it)."""
        name = str(ctx.args["name"])
        if name not in self.settings.groups.custom:
            raise CommandError(f"% Custom group {name} is not configured")
        devices = devices_in_custom_group(self.host.db.devices(), self.settings.groups, name)
        if not devices:
            raise CommandError(f"% No client of custom group {name} in the director database")
        self._run_on_clients(ctx, devices, str(ctx.args["password"]), _client_command(ctx))

    def _run_on_clients(
        self, ctx: Context, devices: list[Device], password: str, command: str
    ) -> None:
        """Log in to each client's command line in turn and show ``command``'s output under a
        line naming the client; a client that cannot be reached gets its error and the next
        one is tried."""
        from smartinstall.services.telnet_client import ClientCliError, run_on_client

        secret = None if password.upper() == "NONE" else password
        port = self._client_telnet_port()

        async def work() -> str:
            out: list[str] = []
            for device in devices:
                header = f"Client {device.number} ({device.ip or 'no IP'}, {device.mac}):\n"
                if not device.ip:
                    out.append(header + "% IP address unknown\n")
                    continue
                try:
                    text = await run_on_client(device.ip, port, command, secret)
                except ClientCliError as error:
                    out.append(f"{header}% {error}\n")
                    continue
                out.append(header + text)
            return "\n".join(out)

        ctx.wait(work)

    def _attach_choices(self) -> list[tuple[str, str]]:
        """The active clients, as the guide's ``vstack attach ?`` lists them:
        ``1      c3750-2042 @ IP 10.0.0.1 : MAC 0000.0040.4080``."""
        choices = []
        for device in self.host.db.devices():
            if device.is_director or not device.ip or device.health.value != "A":
                continue
            name = device.hostname or device.pid or "Switch"
            choices.append((str(device.number), f"{name} @ IP {device.ip} : MAC {device.mac}"))
        return choices

    def _attach(self, ctx: Context) -> None:
        """``vstack attach {index | ip}``: this terminal on the client's command line (telnet)
        until the client closes the connection."""
        target = str(ctx.args["client"])
        host = ""
        if target.isascii() and target.isdigit():
            device = self.host.db.device_by_number(int(target))
            if device is None or device.is_director or not device.ip:
                raise CommandError(f"% Client {target} not found or without an IP address")
            host = device.ip
        else:
            try:
                host = validate_ipv4(target)
            except DomainError:
                raise CommandError(f"% Invalid client index or IP address: {target}") from None
        ctx.session.attach = (host, self._client_telnet_port())

    def _show_neighbors(self, ctx: Context) -> None:
        selector = str(ctx.args.get("selector") or "")
        devices = select_devices(self.host.db.devices(), selector)
        if not devices and self.enabled:
            raise CommandError(f"% No client {selector} in the director database")
        ctx.write(views.show_vstack_neighbors(devices, enabled=self.enabled))

    def _show_neighbors_group(self, ctx: Context) -> None:
        words = str(ctx.args["words"]).split()
        if not 2 <= len(words) <= 3:
            raise CommandError(
                "% Usage: show vstack neighbors group built-in <family> <port> [<chassis>]"
            )
        try:
            key = catalog.builtin_key(
                words[0].lower(), words[1].lower(), words[2].lower() if len(words) > 2 else None
            )
        except (CatalogError, DomainError) as error:
            raise CommandError(str(error)) from None
        devices = devices_in_builtin_group(self.host.db.devices(), key)
        if not devices and self.enabled:
            ctx.write("% No client of this group in the director database\n")
            return
        ctx.write(views.show_vstack_neighbors(devices, enabled=self.enabled))

    def _show_group_builtin(self, ctx: Context) -> None:
        words = [w.lower() for w in str(ctx.args.get("words") or "").split()]
        detail = configured = False
        while words and words[-1] in ("detail", "configured"):
            last = words.pop()
            detail = detail or last == "detail"
            configured = configured or last == "configured"
        if len(words) > 3:
            raise CommandError("% Invalid input: too many words")
        padded: list[str | None] = [*words, None, None, None]
        family, port, chassis = padded[:3]
        try:
            ctx.write(
                show_vstack_group_builtin(
                    self.settings.groups,
                    family,
                    port,
                    chassis,
                    detail=detail,
                    configured=configured,
                )
            )
        except (CatalogError, DomainError) as error:
            raise CommandError(str(error)) from None

    def _show_group_custom(self, ctx: Context) -> None:
        name = ctx.args.get("name")
        ctx.write(
            show_vstack_group_custom(self.settings.groups, str(name) if name is not None else None)
        )

    def _show_join_window(self, ctx: Context) -> None:
        ctx.write(
            views.show_vstack_join_window_configuration(
                self.settings.join_window, window_open=self._window_open()
            )
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

    def _show_logging(self, ctx: Context) -> None:
        events = self.host.events
        buffered = events.lines()
        monitors = sum(1 for line in self.lines.values() if line.monitor is not None)
        ctx.write("Syslog logging: enabled (0 messages dropped, 0 flushes, 0 overruns)\n")
        ctx.write(f"    Console logging: level debugging, {len(buffered)} messages logged\n")
        ctx.write(
            f"    Monitor logging: level debugging, {len(buffered)} messages logged"
            f" ({monitors} terminals)\n"
        )
        ctx.write(f"    Buffer logging: level debugging, {len(buffered)} messages logged\n")
        ctx.write(f"    Trap logging: level informational, {len(buffered)} message lines logged\n")
        for target in self.settings.logging_hosts:
            ctx.write(f"        Logging to {target.host} ({target.transport} port {target.port})\n")
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

    def _dhcp_server(self) -> Any:
        server = self.host.dhcp
        return server if server is not None and hasattr(server, "pools") else None

    def _show_dhcp_server(self, ctx: Context) -> None:
        dhcp = self.host.dhcp
        if dhcp is None:
            ctx.write("DHCP service: off (no vstack dhcp-localserver pool, no ip helper-address)\n")
            return
        if not hasattr(dhcp, "pools"):
            helpers = ", ".join(self.settings.helper_addresses)
            ctx.write(f"DHCP service: relay to {helpers}\n")
            return
        config = dhcp.config
        leases = dhcp.leases
        ctx.write(f"DHCP server: {config.listen_address} port {config.server_port}\n")
        ctx.write(f"  Pools: {len(dhcp.pools)}\n")
        ctx.write(f"  Bindings: {len(leases) if leases is not None else 0}\n")
        ctx.write(f"  Remembered bindings: {'yes' if config.data_dir else 'no'}\n")

    def _show_dhcp_pool(self, ctx: Context) -> None:
        dhcp = self._dhcp_server()
        if dhcp is None:
            return
        leases = list(dhcp.leases) if dhcp.leases is not None else []
        now = time.time()
        for pool in dhcp.pools:
            config = pool.config
            total = pool.last - pool.first + 1
            leased = sum(
                1 for lease in leases if pool.contains(lease.address) and lease.expires > now
            )
            ctx.write(f"\nPool {config.name} :\n")
            ctx.write(" Utilization mark (high/low)    : 100 / 0\n")
            ctx.write(" Subnet size (first/next)       : 0 / 0\n")
            ctx.write(f" Total addresses                : {total}\n")
            ctx.write(f" Leased addresses               : {leased}\n")
            ctx.write(f" Excluded addresses             : {len(pool.excluded)}\n")
            ctx.write(" Pending event                  : none\n")
            ctx.write(" 1 subnet is currently in the pool :\n")
            ctx.write(
                " Current index        IP address range                    Leased/Excluded/Total\n"
            )
            import ipaddress

            first = ipaddress.IPv4Address(pool.first)
            last = ipaddress.IPv4Address(pool.last)
            current = ipaddress.IPv4Address(min(pool.cursor, pool.last))
            ctx.write(
                f" {current!s:<20} {first!s:<15} - {last!s:<18} "
                f"{leased} / {len(pool.excluded)} / {total}\n"
            )

    def _show_dhcp_binding(self, ctx: Context) -> None:
        import ipaddress

        ctx.write("Bindings from all pools not associated with VRF:\n")
        ctx.write("IP address          Client-ID/              Lease expiration        Type\n")
        ctx.write("                    Hardware address/\n")
        ctx.write("                    User name\n")
        dhcp = self._dhcp_server()
        if dhcp is None or dhcp.leases is None:
            return
        now = time.time()
        tz = self.host.director.tz
        for lease in sorted(dhcp.leases, key=lambda item: item.address):
            if lease.expires <= now:
                continue
            when = dt.datetime.fromtimestamp(lease.expires, tz)
            hardware = lease.mac.hex() if lease.mac else lease.key.hex()
            client = normalize_mac(hardware) if len(hardware) == 12 else _dotted(hardware)
            expiry = f"{when:%b %d %Y %I:%M %p}"
            ctx.write(
                f"{ipaddress.IPv4Address(lease.address)!s:<19} {client:<23} "
                f"{expiry:<23} Automatic\n"
            )

    # --- vstack EXEC commands --------------------------------------------------------------

    def _vstack_commands(self) -> None:
        c = self.command
        p = PRIVILEGED_LEVEL
        image_help = {
            "download-image": "Download image to clients",
            "tar": "Image in tar format",
            "index": "Client indexes",
            "override": "Override the existing image",
            "reload": "Reload the clients after the download",
            "in": "Reload at a time of day",
            "built-in": "Built-in group",
        }
        targets = {
            "url": Arg(Word("WORD"), "Image tar file URL (tftp://… or flash:…)"),
            "ip": Arg(IPv4(), "Client IP address"),
            "indexes": Arg(IndexList(255), "Client indexes (for example 1,3-5,7)"),
            "password": Arg(Word(), "Enable password of the clients (NONE for none)"),
            "at": Arg(TimeOfDay(), "Time of day to reload"),
            "words": Arg(
                Line(),
                "<family> <port> [<chassis>] <password> [override] "
                "[issu [allow-reload]] [reload] [in hh:mm]",
            ),
        }
        c(
            EXEC,
            "vstack download-image tar <url> {<ip> | index <indexes>} <password> "
            "[override] [reload [in <at>]]",
            self._download_image,
            level=p,
            help=image_help,
            args=targets,
        )
        c(
            EXEC,
            "vstack download-image built-in <words>",
            self._download_builtin_image,
            level=p,
            help=image_help,
            args=targets,
        )
        config_help = {
            "download-config": "Download configuration to clients",
            "index": "Client indexes",
            "startup": "As the startup configuration",
            "reload": "Reload the clients after the download",
            "in": "Reload at a time of day",
            "built-in": "Built-in group",
        }
        config_args = dict(targets)
        config_args["url"] = Arg(Word("WORD"), "Configuration file URL (tftp://… or flash:…)")
        config_args["words"] = Arg(
            Line(), "<family> <port> [<chassis>] <password> startup [reload [in hh:mm]]"
        )
        c(
            EXEC,
            "vstack download-config built-in <words>",
            self._download_builtin_config,
            level=p,
            help=config_help,
            args=config_args,
        )
        c(
            EXEC,
            "vstack download-config <url> {<ip> | index <indexes>} <password> startup "
            "[reload [in <at>]]",
            self._download_config,
            level=p,
            help=config_help,
            args=config_args,
        )
        which = {
            "number": Arg(Number(0, 255), "Client index"),
            "address": Arg(IPv4(), "Client IP address"),
            "mac": Arg(MacAddress(), "Client MAC address"),
        }
        hold_help = {
            "on-hold-clients": "Clients on hold (join window in manual mode)",
            "install": "Install image and configuration on on-hold clients",
            "remove": "Remove clients from the on-hold list",
            "all": "All on-hold clients",
            "client-id": "Client with this index",
            "ipaddr": "Client with this IP address",
            "mac": "Client with this MAC address",
            "override": "Override the existing image",
        }
        c(
            EXEC,
            "vstack on-hold-clients install {all | client-id <number> | ipaddr <address> |"
            " mac <mac>} [override]",
            self._hold_install,
            level=p,
            help=hold_help,
            args=which,
        )
        c(
            EXEC,
            "vstack on-hold-clients remove {all | client-id <number> | ipaddr <address> |"
            " mac <mac>}",
            self._hold_remove,
            level=p,
            help=hold_help,
            args=which,
        )
        c(
            EXEC,
            "vstack join-window-status index <indexes> {allowed | held}",
            self._join_window_status,
            level=p,
            help={
                "join-window-status": "Change the join window state of clients",
                "index": "Client indexes",
                "allowed": "Allow the clients (active state)",
                "held": "Put the clients on hold",
            },
            args={"indexes": Arg(IndexList(255), "Client indexes (for example 1,3-5,7)")},
        )
        clear_help = {
            "vstack": "Smart Install",
            "director-db": "Clear the director database",
            "download-list": "Clear the download status list",
            "download-status": "Clear the download status list",
            "entry": "One entry",
        }
        entry = {"entry": Arg(Number(1, 255), "Entry number")}
        c(
            EXEC,
            "clear vstack director-db [entry <entry>]",
            self._clear_db,
            level=p,
            help=clear_help,
            args=entry,
        )
        c(
            EXEC,
            "clear vstack download-list [entry <entry>]",
            self._clear_downloads,
            level=p,
            help=clear_help,
            args=entry,
        )
        c(
            EXEC,
            "clear vstack download-status entry <entry>",
            self._clear_downloads,
            level=p,
            help=clear_help,
            args=entry,
        )
        tar_help = {
            "tar": "Create a tar file from repository files",
            "untar": "Extract a tar file into the repository",
            "untar/table": "List the contents of a tar file",
        }
        files = {
            "first": Arg(Word(), "flash: URL"),
            "second": Arg(Word(), "flash: URL"),
            "third": Arg(Word(), "flash: URL"),
        }
        c(
            EXEC,
            "vstack tar <first> [<second> [<third>]]",
            self._tar,
            level=p,
            help=tar_help,
            args=files,
        )
        c(
            EXEC,
            "vstack untar <first> [<second> [<third>]]",
            self._untar,
            level=p,
            help=tar_help,
            args=files,
        )
        c(
            EXEC,
            "vstack untar/table <first> [<second>]",
            self._untar_table,
            level=p,
            output=True,
            help=tar_help,
            args=files,
        )

    def _start_download(self, ctx: Context, request: ondemand.OnDemandRequest) -> None:
        self._director_only()
        try:
            url, selection = ondemand.plan(self.host.director, request)
        except ondemand.OnDemandError as error:
            raise CommandError(str(error)) from None
        if not selection.targets:
            for line in selection.refused:
                ctx.write(line + "\n")
            raise CommandError("% No client to update")
        director = self.host.director
        what = "image" if request.kind is UpgradeKind.IMAGE else "config"
        ctx.write(f"Requesting {what} download from {url} on {len(selection.targets)} client(s)\n")

        async def work() -> str:
            return await ondemand.execute(director, request, url, selection)

        ctx.wait(work)

    @staticmethod
    def _reload(ctx: Context) -> tuple[bool, tuple[int, int] | None]:
        at = ctx.args.get("at")
        if isinstance(at, dt.time):
            return False, (at.hour, at.minute)
        return "reload" in ctx.keywords, None

    def _download_image(self, ctx: Context) -> None:
        now, at = self._reload(ctx)
        indexes = ctx.args.get("indexes")
        request = ondemand.OnDemandRequest(
            UpgradeKind.IMAGE, url=str(ctx.args["url"]),
            ip=str(ctx.args["ip"]) if ctx.args.get("ip") is not None else None,
            indexes=tuple(indexes) if isinstance(indexes, list | tuple) else (),
            password=ondemand.password_of(str(ctx.args["password"])),
            override="override" in ctx.keywords, reload_now=now, reload_at=at,
        )  # fmt: skip
        self._start_download(ctx, request)

    def _download_config(self, ctx: Context) -> None:
        now, at = self._reload(ctx)
        indexes = ctx.args.get("indexes")
        request = ondemand.OnDemandRequest(
            UpgradeKind.CONFIG, url=str(ctx.args["url"]),
            ip=str(ctx.args["ip"]) if ctx.args.get("ip") is not None else None,
            indexes=tuple(indexes) if isinstance(indexes, list | tuple) else (),
            password=ondemand.password_of(str(ctx.args["password"])),
            reload_now=now, reload_at=at,
        )  # fmt: skip
        self._start_download(ctx, request)

    def _download_builtin_image(self, ctx: Context) -> None:
        try:
            request = ondemand.parse_builtin(UpgradeKind.IMAGE, str(ctx.args["words"]).split())
        except ondemand.OnDemandError as error:
            raise CommandError(str(error)) from None
        self._start_download(ctx, request)

    def _download_builtin_config(self, ctx: Context) -> None:
        try:
            request = ondemand.parse_builtin(UpgradeKind.CONFIG, str(ctx.args["words"]).split())
        except ondemand.OnDemandError as error:
            raise CommandError(str(error)) from None
        self._start_download(ctx, request)

    def _hold_targets(self, ctx: Context) -> list[Device]:
        db = self.host.db
        if "all" in ctx.keywords:
            return [d for d in db.devices() if not d.is_director and d.join_state is JoinState.HOLD]
        device: Device | None = None
        if ctx.args.get("number") is not None:
            device = db.device_by_number(int(str(ctx.args["number"])))
        elif ctx.args.get("address") is not None:
            device = db.device_by_ip(str(ctx.args["address"]))
        elif ctx.args.get("mac") is not None:
            device = db.device_by_mac(normalize_mac(str(ctx.args["mac"])))
        if device is None or device.is_director:
            raise CommandError("% Client not found in the director database")
        return [device]

    def _hold_install(self, ctx: Context) -> None:
        self._director_only()
        targets = self._hold_targets(ctx)
        if not targets:
            ctx.write("% No client is on hold\n")
            return
        director = self.host.director

        async def work() -> str:
            return await ondemand.install_on_hold(director, targets)

        ctx.wait(work)

    def _hold_remove(self, ctx: Context) -> None:
        self._director_only()
        targets = self._hold_targets(ctx)
        if not targets:
            ctx.write("% No client is on hold\n")
            return
        for device in targets:
            ctx.write(self.host.director.hold_remove(device) + "\n")

    def _join_window_status(self, ctx: Context) -> None:
        self._director_only()
        indexes = ctx.args["indexes"]
        assert isinstance(indexes, list | tuple)
        numbers = [int(n) for n in indexes]
        target = "allowed" if "allowed" in ctx.keywords else "held"
        director = self.host.director

        def answer(reply: str) -> str:
            if not confirmed(reply):
                return ""
            return "".join(line + "\n" for line in director.set_join_states(numbers, target))

        ctx.ask(
            f"Join window state of client(s) {_ranges(numbers)} will change to {target}. {CONFIRM}",
            answer,
        )

    def _clear_db(self, ctx: Context) -> None:
        self._director_only()
        db = self.host.db
        number = ctx.args.get("entry")
        if number is None:

            def answer_all(reply: str) -> str:
                if confirmed(reply):
                    db.clear_all()
                return ""

            ctx.ask(f"All entries of the director database will be cleared. {CONFIRM}", answer_all)
            return
        entry = int(str(number))
        device = db.device_by_number(entry)
        if device is None or device.is_director:
            raise CommandError(f"% Entry {entry} does not exist in the director database")

        def answer(reply: str) -> str:
            if confirmed(reply):
                db.clear_device(entry)
            return ""

        if self.settings.backup.enabled:
            ctx.write(
                "Config backup feature is ON. If IBC is replaced by another switch, that "
                "wont get backup\n"
            )
            ctx.ask(f"config file. {CONFIRM}", answer)
        else:
            ctx.ask(CONFIRM, answer)

    def _clear_downloads(self, ctx: Context) -> None:
        self._director_only()
        db = self.host.db
        number = ctx.args.get("entry")
        alias = ctx.command.syntax.startswith("clear vstack download-status")
        if number is None:

            def answer_all(reply: str) -> str:
                if confirmed(reply):
                    db.clear_downloads()
                return ""

            ctx.write(
                "status of upgrading client will not have correct status on clearing the "
                "download list.\n"
            )
            ctx.ask(CONFIRM, answer_all)
            return
        entry = int(str(number))
        if entry > len(db.downloads()):
            raise CommandError(f"% Entry {entry} does not exist in the download status list")

        def answer(reply: str) -> str:
            if confirmed(reply):
                db.clear_download(entry)
            return ""

        what = "entry" if alias else "list"
        ctx.write(
            "status of upgrading client will not have correct status on clearing the "
            f"download {what}.\n"
        )
        ctx.ask(CONFIRM, answer)

    # --- repository files ---------------------------------------------------------------------

    def _file_commands(self) -> None:
        c = self.command
        p = PRIVILEGED_LEVEL
        c(
            EXEC,
            "dir [<where>]",
            self._dir,
            level=p,
            output=True,
            help={"dir": "List files on a filesystem"},
            args={"where": Arg(Word(), "flash: directory")},
        )
        c(
            EXEC,
            "delete <file>",
            self._delete,
            level=p,
            help={"delete": "Delete a file"},
            args={"file": Arg(Word(), "flash: file")},
        )
        c(
            EXEC,
            "copy <source> <destination>",
            self._copy,
            level=p,
            help={"copy": "Copy from one file to another"},
            args={
                "source": Arg(Word("WORD", r"tftp://\S+"), "Source: tftp://host/file"),
                "destination": Arg(Word("WORD", r"flash:\S*"), "Destination: flash:[file]"),
            },
        )

    def _flash_path(self, text: str, *, allow_root: bool = False) -> str:
        lowered = text.lower()
        if not lowered.startswith("flash:"):
            raise CommandError(f"%Error opening {text} (Invalid file system)")
        path = text[len("flash:") :].strip("/")
        if not path and not allow_root:
            raise CommandError(f"%Error opening {text} (No file name)")
        if path:
            try:
                self.host.repo.resolve(path)
            except RepositoryError as error:
                raise CommandError(f"%Error opening {text} ({error})") from None
        return path

    def _dir(self, ctx: Context) -> None:
        where = str(ctx.args.get("where") or "flash:")
        path = self._flash_path(where, allow_root=True)
        repo = self.host.repo
        try:
            entries = repo.listing(path)
        except RepositoryError as error:
            raise CommandError(f"%Error opening flash:/{path} ({error})") from None
        ctx.write(f"Directory of flash:/{path}{'/' if path else ''}\n\n")
        tz = self.host.director.tz
        for number, entry in enumerate(entries, start=1):
            when = dt.datetime.fromtimestamp(entry.mtime, tz)
            kind = "drwx" if entry.is_dir else "-rwx"
            ctx.write(
                f"{number:5d}  {kind} {entry.size:12d}  {when:%b %d %Y %H:%M:%S %z}  {entry.name}\n"
            )
        import shutil

        usage = shutil.disk_usage(repo.root)
        ctx.write(f"\n{usage.total} bytes total ({usage.free} bytes free)\n")

    def _delete(self, ctx: Context) -> None:
        text = str(ctx.args["file"])
        path = self._flash_path(text)
        repo = self.host.repo

        def confirm(reply: str) -> str:
            if not confirmed(reply):
                return ""
            try:
                if not repo.delete(path):
                    return f"%Error deleting flash:/{path} (No such file or directory)\n"
            except RepositoryError as error:
                return f"%Error deleting flash:/{path} ({error})\n"
            return ""

        def name(reply: str) -> str:
            if reply.strip() and reply.strip() != path:
                return "%Error: the file name does not match\n"
            ctx.session.pending = Question(f"Delete flash:/{path}? [confirm]", confirm)
            return ""

        ctx.ask(f"Delete filename [{path}]? ", name)

    def _copy(self, ctx: Context) -> None:
        from smartinstall.services.tftp_client import TftpClientError, fetch_url, parse_tftp_url

        source = str(ctx.args["source"])
        try:
            host, port, remote = parse_tftp_url(source)
        except ValueError as error:
            raise CommandError(f"%Error parsing {source} ({error})") from None
        default = (
            self._flash_path(str(ctx.args["destination"]), allow_root=True) or Path(remote).name
        )
        repo = self.host.repo
        session = ctx.session

        def answer(reply: str) -> str:
            name = reply.strip() or default
            try:
                target = repo.resolve(name)
            except RepositoryError as error:
                return f"%Error opening flash:/{name} ({error})\n"

            async def work() -> str:
                target.parent.mkdir(parents=True, exist_ok=True)
                started = time.monotonic()
                try:
                    size = await fetch_url(source, target)
                except (TftpClientError, OSError, TimeoutError) as error:
                    return f"%Error opening {source} ({error})\n"
                elapsed = max(time.monotonic() - started, 0.001)
                return (
                    f"Loading {remote} from {host} (port {port}): !\n"
                    f"[OK - {size} bytes]\n\n"
                    f"{size} bytes copied in {elapsed:.3f} secs "
                    f"({int(size / elapsed)} bytes/sec)\n"
                )

            session.waiting = work
            return f"Accessing {source}...\n"

        ctx.ask(f"Destination filename [{default}]? ", answer)

    def _tar_source(self, text: str | None) -> str:
        if text is None:
            return self.host.director.backup_dir
        return self._flash_path(text, allow_root=True)

    def _join_url(self, ctx: Context) -> tuple[str, str | None]:
        """``flash: archive.tar`` (the guide's examples) is one URL, ``flash:archive.tar``."""
        words = [str(ctx.args[k]) for k in ("first", "second", "third") if k in ctx.args]
        urls: list[str] = []
        for word in words:
            if urls and urls[-1].endswith(":"):
                urls[-1] += word
            else:
                urls.append(word)
        if len(urls) > 2:
            raise CommandError("% Too many file names")
        return urls[0], (urls[1] if len(urls) > 1 else None)

    def _tar(self, ctx: Context) -> None:
        destination, source = self._join_url(ctx)
        target = self._flash_path(destination)
        folder = self._tar_source(source)
        repo = self.host.repo
        try:
            members = [f for f in repo.listing(folder) if not f.is_dir]
        except RepositoryError as error:
            raise CommandError(f"%Error opening flash:/{folder} ({error})") from None
        buffer = _TarSpool()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            for member in members:
                path = f"{folder}/{member.name}" if folder else member.name
                if path == target:
                    continue
                info = tarfile.TarInfo(member.name)
                info.size = member.size
                info.mtime = int(member.mtime)
                with repo.open_read(path) as stream:
                    archive.addfile(info, stream)
                ctx.write(f"archiving {member.name} ({member.size} bytes)\n")
        try:
            repo.write(target, buffer.chunks())
        except RepositoryError as error:
            raise CommandError(f"%Error writing flash:/{target} ({error})") from None
        finally:
            buffer.close()

    def _open_tar(self, source: str) -> tuple[str, tarfile.TarFile]:
        path = self._flash_path(source)
        repo = self.host.repo
        if not repo.exists(path):
            raise CommandError(f"%Error opening flash:/{path} (No such file or directory)")
        try:
            return path, tarfile.open(repo.resolve(path), mode="r:*")
        except (tarfile.TarError, OSError) as error:
            raise CommandError(f"%Error opening flash:/{path} (not a tar file: {error})") from None

    def _untar_table(self, ctx: Context) -> None:
        source, _ = self._join_url(ctx)
        _, archive = self._open_tar(source)
        with archive:
            for count, member in enumerate(_members(archive)):
                if count >= MAX_TAR_MEMBERS:
                    break
                if member.isdir():
                    ctx.write(f"{member.name}/ (directory)\n")
                else:
                    ctx.write(f"{member.name} ({member.size} bytes)\n")

    def _untar(self, ctx: Context) -> None:
        source, destination = self._join_url(ctx)
        folder = self._tar_source(destination)
        _, archive = self._open_tar(source)
        repo = self.host.repo
        total = 0
        with archive:
            for count, member in enumerate(_members(archive)):
                if count >= MAX_TAR_MEMBERS:
                    raise CommandError("%Error: too many files in the archive")
                if member.isdir():
                    continue
                if not member.isfile():
                    ctx.write(f"skipping {member.name} (not a regular file)\n")
                    continue
                total += member.size
                if total > MAX_TAR_BYTES:
                    raise CommandError("%Error: the archive is too large")
                name = member.name.lstrip("./")
                path = f"{folder}/{name}" if folder else name
                stream = archive.extractfile(member)
                if stream is None:
                    continue
                try:
                    repo.write(path, _read_chunks(stream))
                except RepositoryError as error:
                    ctx.write(f"%Error extracting {member.name} ({error})\n")
                    continue
                ctx.write(f"extracting {name} ({member.size} bytes)\n")

    # --- debugging, terminal monitor ----------------------------------------------------

    def _debug_commands(self) -> None:
        c = self.command
        p = PRIVILEGED_LEVEL
        areas = " | ".join(("all", *DEBUG_AREAS))
        area_help = {area: f"Smart Install {area} debugging" for area in DEBUG_AREAS}
        area_help.update({"all": "All Smart Install debugging", "vstack": "Smart Install"})
        c(EXEC, f"debug vstack {{{areas}}}", self._debug, level=p, help=area_help)
        c(EXEC, f"no debug vstack {{{areas}}}", self._debug, level=p, help=area_help)
        c(EXEC, "undebug all", self._undebug, level=p, help={"all": "Disable all debugging"})
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

    def _debug(self, ctx: Context) -> None:
        area = next((a for a in ("all", *DEBUG_AREAS) if a in ctx.keywords), None)
        if area is None:
            raise CommandError("% Incomplete command.")
        debug = self.host.events.debug
        if ctx.negated or ctx.command.syntax.startswith("no "):
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


def view_entry(entry: StoredDownload) -> downloads.DownloadEntry:
    """A download-status row of the database as the views take it."""
    status = {item.value: item for item in downloads.DownloadStatus}
    image = status.get(entry.image.value, downloads.DownloadStatus.NOT_APPLICABLE)
    config = status.get(entry.config.value, downloads.DownloadStatus.NOT_APPLICABLE)
    script = status.get(entry.script.value, downloads.DownloadStatus.NOT_APPLICABLE)
    methods = {item.value: item for item in downloads.DownloadMethod}
    method = methods.get(entry.method.value)
    if method is None:  # on-demand rows: named after what they download
        method = (
            downloads.DownloadMethod.CONFIG_UPGRADE
            if image is downloads.DownloadStatus.NOT_APPLICABLE
            else downloads.DownloadMethod.IMAGE_UPGRADE
        )
    try:
        ip = validate_ipv4(entry.ip) if entry.ip else "0.0.0.0"
    except DomainError:
        ip = "0.0.0.0"
    hostname = "".join(c for c in entry.hostname if c.isprintable())[:63].strip() or "Switch"

    def reason(text: str) -> str:
        return " ".join("".join(c for c in text if c.isprintable()).split())[:200]

    return downloads.DownloadEntry(
        client_ip=ip, client_mac=entry.mac, method=method, image=image, config=config,
        script=script, hostname=hostname, image_fail_reason=reason(entry.image_reason),
        config_fail_reason=reason(entry.config_reason),
        script_fail_reason=reason(entry.script_reason), image_downloaded_at=entry.image_at,
        config_downloaded_at=entry.config_at, script_downloaded_at=entry.script_at,
    )  # fmt: skip


def _read_chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(64 * 1024):
        yield chunk


def _members(archive: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    """Members one at a time (a huge archive is never listed in memory at once)."""
    while True:
        member = archive.next()
        if member is None:
            return
        yield member


def _ranges(numbers: list[int]) -> str:
    spans: list[str] = []
    for number in sorted(set(numbers)):
        if spans and "-" not in spans[-1].split(",")[-1] and int(spans[-1]) == number - 1:
            spans[-1] = f"{spans[-1]}-{number}"
        elif spans and "-" in spans[-1] and int(spans[-1].split("-")[1]) == number - 1:
            spans[-1] = f"{spans[-1].split('-')[0]}-{number}"
        else:
            spans.append(str(number))
    return ",".join(spans)


def _dotted(hexdigits: str) -> str:
    padded = hexdigits + "0" * (-len(hexdigits) % 4)
    return ".".join(padded[i : i + 4] for i in range(0, len(padded), 4))


class _TarSpool(io.RawIOBase):
    """A temporary file the tar is written to, then streamed into the repository."""

    def __init__(self) -> None:
        import tempfile

        super().__init__()
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return self._file.write(data)

    def tell(self) -> int:
        return self._file.tell()

    def chunks(self) -> Iterator[bytes]:
        self._file.flush()
        self._file.seek(0)
        while True:
            chunk = self._file.read(64 * 1024)
            if not chunk:
                return
            yield chunk

    def close(self) -> None:
        self._file.close()
        super().close()


CLIENT_COMMANDS = ("running-config", "tech-support", "version")


def _client_command(ctx: Context) -> str:
    """The client command a ``show vstack client …`` form names."""
    return next((f"show {k}" for k in CLIENT_COMMANDS if k in ctx.keywords), "show version")


def _client_command_word(word: str) -> str | None:
    """``running-config``, ``tech-support`` or ``version`` (or an unambiguous abbreviation)
    typed as the last word of a group form; None for anything else."""
    found = [k for k in CLIENT_COMMANDS if k.startswith(word.lower())] if word else []
    return f"show {found[0]}" if len(found) == 1 else None
