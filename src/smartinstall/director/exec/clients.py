"""The clients' command lines: ``show vstack client …`` and ``vstack attach`` (guide,
"Connecting to a Client Switch" and "Establishing a Remote Client Session"). The director logs
in to a client's command line over telnet with the client's enable password."""

from __future__ import annotations

from smartinstall.director.exec.host import Family
from smartinstall.director.exec.show import VSTACK
from smartinstall.director.views.neighbors import (
    devices_in_builtin_group,
    devices_in_custom_group,
    select_devices,
)
from smartinstall.domain import catalog
from smartinstall.domain.catalog import CatalogError
from smartinstall.domain.devices import Device, validate_ipv4
from smartinstall.domain.errors import DomainError
from smartinstall.ios import EXEC, PRIVILEGED_LEVEL, Arg, CommandError, Context, Line, Word
from smartinstall.ios.types import Suggested

CLIENT_COMMANDS = ("running-config", "tech-support", "version")


class ClientCommands(Family):
    """``show vstack client {<n> | <ip> | all | group …} <password> {running-config |
    tech-support | version}`` and ``vstack attach {<index> | <ip>}``."""

    def declare(self) -> None:
        c = self.command
        vstack = VSTACK
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

    def _client_telnet_port(self) -> int:
        return int(getattr(self.host, "client_telnet_port", 23))

    def _show_client(self, ctx: Context) -> None:
        """``show vstack client {n|ip|all} <password> {running-config|tech-support|version}``:
        the director logs in to each client's command line (telnet, enable password) and shows
        the command's output, one client after the other."""
        selector = str(ctx.args["selector"])
        devices = [
            d for d in select_devices(self.host.state.devices(), selector) if not d.is_director
        ]
        if not devices:
            raise CommandError(f"% No client {selector} in the director database")
        self._run_on_clients(ctx, devices, str(ctx.args["password"]), client_command(ctx))

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
        command = client_command_word(words[-1])
        if command is None:
            raise CommandError(usage)
        group = [w.lower() for w in words[:-2]]
        try:
            key = catalog.builtin_key(group[0], group[1], group[2] if len(group) > 2 else None)
        except (CatalogError, DomainError) as error:
            raise CommandError(str(error)) from None
        devices = devices_in_builtin_group(self.host.state.devices(), key)
        if not devices:
            raise CommandError("% No client of this built-in group in the director database")
        self._run_on_clients(ctx, devices, words[-2], command)

    def _show_client_custom(self, ctx: Context) -> None:
        """``show vstack client group custom <name> <password> {…}``: every client the custom
        group provisions (the group the precedence rule gives it)."""
        name = str(ctx.args["name"])
        if name not in self.settings.groups.custom:
            raise CommandError(f"% Custom group {name} is not configured")
        devices = devices_in_custom_group(self.host.state.devices(), self.settings.groups, name)
        if not devices:
            raise CommandError(f"% No client of custom group {name} in the director database")
        self._run_on_clients(ctx, devices, str(ctx.args["password"]), client_command(ctx))

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
        for device in self.host.state.devices():
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
            device = self.host.state.device_by_number(int(target))
            if device is None or device.is_director or not device.ip:
                raise CommandError(f"% Client {target} not found or without an IP address")
            host = device.ip
        else:
            try:
                host = validate_ipv4(target)
            except DomainError:
                raise CommandError(f"% Invalid client index or IP address: {target}") from None
        ctx.session.attach = (host, self._client_telnet_port())


def client_command(ctx: Context) -> str:
    """The client command a ``show vstack client …`` form names."""
    return next((f"show {k}" for k in CLIENT_COMMANDS if k in ctx.keywords), "show version")


def client_command_word(word: str) -> str | None:
    """``running-config``, ``tech-support`` or ``version`` (or an unambiguous abbreviation)
    typed as the last word of a group form; None for anything else."""
    found = [k for k in CLIENT_COMMANDS if k.startswith(word.lower())] if word else []
    return f"show {found[0]}" if len(found) == 1 else None
