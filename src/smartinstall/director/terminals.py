"""The running director's command line: one engine, three front ends.

`DirectorTerminals(daemon)` builds the engine the operator's terminals share — the generic
commands, the EXEC commands (`ExecCommands`), the access lines (`CliAccess`) and every set of
`CLI_COMMAND_SETS` (the director's configuration commands plug in there) — replays
``startup-config`` through it, and starts:

* the SSH server when ``--ssh-port`` or ``ip ssh server port N`` gives a port (the option wins),
* the telnet server when ``--telnet-port`` or ``ip telnet server port N`` gives one,
* the local console socket ``DATA/cli.sock`` (mode 0600) for ``smartinstall console``.

Failed and successful logins (``%SEC_LOGIN-…``) go where the ``%SMI`` messages go: the log,
``show logging`` and the ``logging host`` syslog servers.

Lines of ``startup-config`` that none of the engine's sets takes (the ``vstack …`` lines until
the configuration command set is added) are kept verbatim and written back by ``write
memory``, so saving from the CLI never loses configuration.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from smartinstall.director.exec.archive import archive_set_of
from smartinstall.director.exec_commands import DirectorHost, ExecCommands
from smartinstall.director.structured import structure
from smartinstall.domain.settings import DirectorSettings
from smartinstall.ios import CommandSet, Engine, StartupConfig
from smartinstall.ios.director_commands import DirectorCommands
from smartinstall.services.cli_auth import CliAccess
from smartinstall.services.cli_local import LocalConsoleServer
from smartinstall.services.cli_scp import ScpServer
from smartinstall.services.cli_ssh import SshCliServer
from smartinstall.services.cli_telnet import TelnetCliServer
from smartinstall.services.cli_terminal import TerminalHub

log = logging.getLogger(__name__)

#: extra command sets of the director's engine, as "module:factory" (the factory takes the
#: engine and the daemon and returns the CommandSet)
CLI_COMMAND_SETS: tuple[str, ...] = (
    "smartinstall.director.terminals:director_config_set",
    "smartinstall.director.exec.archive:archive_command_set",  # archive, configure replace, copy
)


def director_config_set(engine: Engine, host: DirectorHost) -> CommandSet:
    """The director's configuration commands, editing the settings the director core owns and
    telling it after each change (the daemon then applies what changed: role, DHCP pools,
    syslog hosts, Smart Install security)."""
    del engine
    director = host.director
    return DirectorCommands(
        director, now=director.now, show_commands=False, on_change=director.settings_changed
    )


SOCKET_NAME = "cli.sock"
SSH_DIR = "ssh"


class _HostnameOf:
    """The hostname the prompt shows: the daemon's current settings (replaced on SIGHUP)."""

    def __init__(self, host: DirectorHost) -> None:
        self._host = host

    @property
    def hostname(self) -> str:
        return self._host.settings.hostname

    @hostname.setter
    def hostname(self, name: str) -> None:
        self._host.settings.hostname = name
        self._host.events.hostname = name  # syslog messages carry the new name too
        self._host.director.settings_changed()


class PreservedLines(CommandSet):
    """Configuration lines no set of the engine takes, kept for ``write memory``."""

    name = "preserved"
    order = 1000

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def render_config(self) -> Sequence[str]:
        return list(self.lines)


def build_engine(
    host: DirectorHost, store: StartupConfig | None, extra: Sequence[str] = CLI_COMMAND_SETS
) -> tuple[Engine, CliAccess, ExecCommands, PreservedLines]:
    access = CliAccess()
    engine = Engine(
        hostname="Director",
        store=store,
        enable_check=access.check_enable,
        hostname_holder=_HostnameOf(host),
    )
    engine.add(access)
    exec_set = ExecCommands(host)
    engine.add(exec_set)
    for spec in extra:
        module_name, _, attribute = spec.partition(":")
        factory: Callable[..., CommandSet] = getattr(
            importlib.import_module(module_name), attribute
        )
        engine.add(factory(engine, host))
    preserved = PreservedLines()
    engine.add(preserved)
    engine.structurer = structure  # `show vstack … | json`
    return engine, access, exec_set, preserved


class DirectorTerminals:
    def __init__(
        self,
        host: DirectorHost,
        *,
        address: str,
        ssh_port: int | None = None,
        telnet_port: int | None = None,
    ) -> None:
        self.host = host
        self.address = address
        store = StartupConfig.in_directory(host.data_dir)
        self.engine, self.access, self.exec_set, self.preserved = build_engine(host, store)
        self._load(store)
        self.hub = TerminalHub(self.engine, self.access, lines=self.exec_set)
        self.hub.guard.on_message = self._login_message
        self.ssh_port = ssh_port if ssh_port is not None else self.access.ssh_port
        self.telnet_port = telnet_port if telnet_port is not None else self.access.telnet_port
        self.ssh: SshCliServer | None = None
        self.telnet: TelnetCliServer | None = None
        self.local: LocalConsoleServer | None = None

    def _login_message(self, severity: int, mnemonic: str, text: str) -> None:
        """A ``%SEC_LOGIN`` line (already in the Python log): into ``show logging`` and to
        every syslog host that ``logging trap`` lets it reach, as the event log does for ``%SMI``
        lines."""
        self.host.events.record(severity, mnemonic, text)

    def _load(self, store: StartupConfig) -> None:
        try:
            text = store.read()
        except (OSError, ValueError) as error:
            log.error("startup-config not read by the CLI: %s", error)
            return
        if text is None:
            return
        # One path for the configuration: the running settings are rebuilt by this replay,
        # into fresh settings the director core owns from now on.
        self.host.director.replace_settings(DirectorSettings())
        report = self.engine.replay(text, str(store.path))
        rejected = {error.line_number for error in report.errors}
        for number, line in enumerate(text.splitlines(), start=1):
            if number in rejected:
                self.preserved.lines.append(line.rstrip())

    def reload(self) -> None:
        """SIGHUP: read the access lines of ``startup-config`` again (users, secrets, limits,
        banner; new ports need a restart) and the lines kept for ``write memory``."""
        self.access.reset()
        archive = archive_set_of(self.engine)
        if archive is not None:
            archive.reset()  # archive, file prompt, ip scp server: as startup-config says
        self.preserved.lines.clear()
        self._load(StartupConfig.in_directory(self.host.data_dir))

    @property
    def socket_path(self) -> Path:
        return self.host.data_dir / SOCKET_NAME

    async def start(self) -> None:
        key_dir = self.host.data_dir / SSH_DIR
        archive = archive_set_of(self.engine)
        if archive is not None:  # the archive files earlier runs wrote (listed in a thread)
            await archive.refresh()
        if self.ssh_port is not None:
            scp = None if archive is None else ScpServer(self.host.repo, archive.scp_allowed)
            self.ssh = SshCliServer(self.hub, self.address, self.ssh_port, key_dir, scp)
            await self.ssh.start()
            self.ssh_port = self.ssh.port
        if self.telnet_port is not None:
            self.telnet = TelnetCliServer(self.hub, self.address, self.telnet_port)
            await self.telnet.start()
            self.telnet_port = self.telnet.port
        self.local = LocalConsoleServer(self.hub, self.socket_path)
        try:
            await self.local.start()
        except OSError as error:
            log.error("local console socket %s: %s", self.socket_path, error)
            self.local = None

    async def stop(self) -> None:
        for server in (self.ssh, self.telnet, self.local):
            if server is not None:
                await server.close()
        self.ssh = self.telnet = self.local = None

    def status(self) -> dict[str, Any]:
        return {
            "ssh": self.ssh_port,
            "telnet": self.telnet_port,
            "console": str(self.socket_path) if self.local else None,
        }
