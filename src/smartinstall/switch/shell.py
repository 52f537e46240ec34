"""The emulated switch's IOS shell (on the project's command engine) and its telnet console.

The switch's configuration text stays the source of truth: the engine renders it (the lines it
has no command for are kept as they are), `hostname`, `vstack director <ip>` and `no vstack`
edit it, and `write memory` saves it through the switch (which then tells the director).
The telnet port is the switch's console: it listens on the switch's own address from power-on,
and typing on it during zero touch aborts the process (``%SMI-6-AUTOINSTALL: aborted``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Sequence
from typing import Any

from smartinstall.domain.artifacts import image_facts
from smartinstall.ios import (
    CONFIG,
    EXEC,
    PRIVILEGED_LEVEL,
    Arg,
    CommandError,
    CommandSet,
    Context,
    Engine,
    IPv4,
    StartupConfig,
)
from smartinstall.ios.editor import LineEditor
from smartinstall.switch.machine import Switch, hostname_of, with_hostname

log = logging.getLogger(__name__)

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
ECHO, SUPPRESS_GO_AHEAD = 1, 3


class _Hostname:
    """The engine's `hostname` edits the switch's configuration text."""

    def __init__(self, switch: Switch) -> None:
        self._switch = switch

    @property
    def hostname(self) -> str:
        return self._switch.hostname

    @hostname.setter
    def hostname(self, value: str) -> None:
        self._switch.running_config = with_hostname(self._switch.running_config, value)


class _Store(StartupConfig):
    """`write memory` through the switch: flash, then the write-memory message."""

    blocking = False  # the switch saves in a task of its own

    def __init__(self, switch: Switch, shell: SwitchCommands) -> None:
        super().__init__(switch.flash.startup_path)
        self.switch = switch
        self.shell = shell

    def write(self, text: str) -> None:
        self.switch.running_config = text
        self.shell.spawn(self.switch.write_memory())


class SwitchCommands(CommandSet):
    name, order = "switch", 90

    def __init__(self, switch: Switch) -> None:
        super().__init__()
        self.switch = switch
        self._tasks: set[asyncio.Task[Any]] = set()
        self.keyword_help.update({
            "show": "Show running system information",
            "version": "System hardware and software status",
            "vstack": "Smart Install configuration",
            "config": "Smart Install configuration",
            "write": "Write running configuration to memory, network, or terminal",
            "erase": "Erase NV memory",
            "reload": "Halt and perform a cold restart",
            "director": "Configure the Smart Install director",
        })  # fmt: skip
        c = self.command
        c(EXEC, "show version", self._version, level=PRIVILEGED_LEVEL, output=True)
        c(EXEC, "show vstack config", self._vstack_config, level=PRIVILEGED_LEVEL, output=True)
        c(EXEC, "write erase", self._erase, level=PRIVILEGED_LEVEL)
        c(EXEC, "reload", self._reload, level=PRIVILEGED_LEVEL)
        address = {"address": Arg(IPv4(), "IP address of the director")}
        c(CONFIG, "vstack director <address>", self._director, args=address)
        c(CONFIG, "no vstack", self._no_vstack)
        c(CONFIG, "vstack", self._vstack)

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def render_config(self) -> Sequence[str]:
        """Every line of the switch's configuration but the hostname and the frame."""
        return [
            line
            for line in self.switch.running_config.splitlines()
            if line.strip() not in ("", "!", "end") and not line.startswith("hostname ")
        ]

    def _version(self, ctx: Context) -> None:
        s = self.switch
        image, version = image_facts(s.image)
        ctx.write(
            f"Cisco IOS Software, {image}, Version {version}, RELEASE SOFTWARE\n"
            f"{s.hostname} uptime is {s.boots} reloads\n"
            f'System image file is "flash:{s.image}"\n\n'
            f"Base ethernet MAC Address       : {s.mac}\n"
            f"Model number                    : {s.config.pid}\n"
            f"System serial number            : {s.config.serial_number}\n"
            "Top Assembly Revision Number    : A0\n"
            f"Version ID                      : {s.config.version_id}\n"
        )
        for member in s.config.members:
            ctx.write(f"Switch {member.number:02d}: {member.pid} {member.mac}\n")

    def _vstack_config(self, ctx: Context) -> None:
        s = self.switch
        state = "enabled" if s.flash_state.vstack_enabled else "disabled"
        ctx.write(
            f"Role: Client (SmartInstall {state})\n"
            f"Vstack Director IP address: {s.director or '0.0.0.0'}\n"
        )

    def _erase(self, ctx: Context) -> None:
        self.switch.write_erase()
        ctx.write(
            "Erasing the nvram filesystem will remove all configuration files! "
            "Continue? [confirm]\n[OK]\nErase of nvram: complete\n"
        )

    def _reload(self, ctx: Context) -> None:
        ctx.write("Proceed with reload? [confirm]\n")
        self.switch.reload()

    def _director(self, ctx: Context) -> None:
        ip = str(ctx.args["address"])
        self._set_line("vstack director", f"vstack director {ip}")
        self.switch.set_director(ip)
        self.spawn(self.switch.vstack_director(ip))

    def _no_vstack(self, ctx: Context) -> None:
        self._set_line("vstack", "no vstack")
        self.switch.disable_vstack()
        self.spawn(self.switch.no_vstack())

    def _vstack(self, ctx: Context) -> None:
        if not self.switch.director:
            raise CommandError("% Configure the director first: vstack director <ip>")
        self._set_line("vstack", None)
        self.spawn(self.switch.vstack_director(self.switch.director))

    def _set_line(self, head: str, line: str | None) -> None:
        """Replace the configuration line(s) starting with ``head`` (or ``no vstack``)."""
        lines = [
            x
            for x in self.switch.running_config.splitlines()
            if not (
                x.startswith(head + " ")
                or x == "no vstack"
                or (head == "vstack" and x.startswith("vstack director") and line is None)
            )
        ]
        if line is not None:
            end = lines.index("end") if "end" in lines else len(lines)
            lines.insert(end, line)
        self.switch.running_config = "\n".join(lines) + "\n"


def make_engine(switch: Switch) -> Engine:
    """The switch's command engine (hostname, write memory and its own commands)."""
    commands = SwitchCommands(switch)
    engine = Engine(
        hostname=hostname_of(switch.running_config) or "Switch",
        store=_Store(switch, commands),
        hostname_holder=_Hostname(switch),
    )
    engine.add(commands)
    return engine


def strip_telnet(data: bytes) -> tuple[bytes, bytes]:
    """(text, replies): telnet commands removed; every DO is refused but ECHO and SGA."""
    out = bytearray()
    replies = bytearray()
    i = 0
    n = len(data)
    while i < n:
        b = data[i]
        if b != IAC:
            out.append(b)
            i += 1
            continue
        if i + 1 >= n:
            break
        cmd = data[i + 1]
        if cmd == IAC:
            out.append(IAC)
            i += 2
        elif cmd in (DO, DONT, WILL, WONT):
            if i + 2 >= n:
                break
            option = data[i + 2]
            if cmd == DO and option not in (ECHO, SUPPRESS_GO_AHEAD):
                replies += bytes((IAC, WONT, option))
            i += 3
        elif cmd == SB:
            end = data.find(bytes((IAC, SE)), i + 2)
            i = n if end < 0 else end + 2
        else:
            i += 2
    return bytes(out), bytes(replies)


class TelnetConsole:
    """The console of one switch over telnet, on its own address."""

    def __init__(self, switch: Switch, port: int, host: str | None = None) -> None:
        self.switch = switch
        self.host = host or switch.config.address
        self.port = port
        self.engine = make_engine(switch)
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, self.host, self.port)
        if self.port == 0:
            self.port = int(self.server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await self.server.wait_closed()
            self.server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = self.engine.session(level=1)
        editor = LineEditor(session)
        try:
            writer.write(bytes((IAC, WILL, ECHO, IAC, WILL, SUPPRESS_GO_AHEAD)))
            writer.write(b"\r\n" + editor.start().encode())
            await writer.drain()
            while not editor.closed:
                data = await reader.read(4096)
                if not data:
                    break
                text, replies = strip_telnet(data)
                if replies:
                    writer.write(replies)
                if text:
                    self.switch.console_keystroke()
                    writer.write(
                        editor.feed_bytes(text.replace(b"\r\n", b"\r").replace(b"\r\x00", b"\r"))
                    )
                await writer.drain()
        except (OSError, ConnectionError):
            pass
        finally:
            writer.close()
