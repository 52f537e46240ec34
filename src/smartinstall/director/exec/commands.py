"""`ExecCommands`: the director's EXEC set, assembled from one family of commands per module.

`ExecCommands(host)` is a `CommandSet` for the engine the director's terminals share (SSH,
telnet, the local console). `host` is the running director: anything with the attributes of
:class:`DirectorHost` (``DirectorDaemon`` has them). The configuration commands are another
set; both go into one `Engine`.

Terminal transports register each session with :meth:`ExecCommands.attach` so that ``show
users`` lists it and ``terminal monitor`` can show log lines above its prompt.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from smartinstall.director.exec.clear import ClearCommands
from smartinstall.director.exec.clients import ClientCommands
from smartinstall.director.exec.debug import DebugCommands
from smartinstall.director.exec.dhcp import DhcpCommands
from smartinstall.director.exec.downloads import DownloadCommands
from smartinstall.director.exec.files import FileCommands
from smartinstall.director.exec.host import DirectorHost, Family, Lines, TerminalLine
from smartinstall.director.exec.host_info import HostInfoCommands
from smartinstall.director.exec.host_protocols import HostProtocolCommands
from smartinstall.director.exec.neighbors import NeighborCommands
from smartinstall.director.exec.onhold import OnHoldCommands
from smartinstall.director.exec.proxy import ProxyDbCommands
from smartinstall.director.exec.show import ShowCommands
from smartinstall.director.exec.system import SystemCommands
from smartinstall.director.exec.tar import TarCommands
from smartinstall.ios import CommandSet, Session

#: the families of the set, declared in this order
FAMILIES: tuple[type[Family], ...] = (
    ShowCommands,  # show vstack status | download-status | host | neighbors | group | …
    ProxyDbCommands,  # show vstack proxy-db [detail] (SMI Proxy mode)
    ClientCommands,  # show vstack client …, vstack attach
    SystemCommands,  # show version | clock | users
    HostInfoCommands,  # show privilege | inventory | ip interface brief | interfaces | hosts …
    NeighborCommands,  # show arp | ip arp | cdp neighbors [detail]
    HostProtocolCommands,  # show ipv6 interface | lldp | cdp
    DebugCommands,  # debug, undebug, show debugging | logging, terminal monitor
    DhcpCommands,  # show dhcp server, show ip dhcp pool | binding
    DownloadCommands,  # vstack download-image | download-config
    OnHoldCommands,  # vstack on-hold-clients, vstack join-window-status
    ClearCommands,  # clear vstack director-db | download-list | download-status
    TarCommands,  # vstack tar | untar | untar/table
    FileCommands,  # dir, delete, copy
)

KEYWORD_HELP = {
    "show": "Show running system information",
    "vstack": "Smart Install commands",
    "clear": "Reset functions",
    "debug": "Debugging functions (see also 'undebug')",
    "undebug": "Disable debugging functions (see also 'debug')",
    "terminal": "Set terminal line parameters",
    "ip": "IP information",
    "dhcp": "Dynamic Host Configuration Protocol",
    "no": "Negate a command or set its defaults",
}


class ExecCommands(CommandSet):
    name = "director-exec"
    order = 90

    def __init__(self, host: DirectorHost) -> None:
        super().__init__()
        self.host = host
        self.lines: Lines = {}
        self.keyword_help.update(KEYWORD_HELP)
        self.families = tuple(family(self, host, self.lines) for family in FAMILIES)

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
