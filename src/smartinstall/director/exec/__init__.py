"""The EXEC-mode commands of the running director (guide, chapters 2 and 3), one family of
commands per module, assembled into one `CommandSet` by `ExecCommands` (``commands.py``):

* ``host.py``: `DirectorHost` (what the commands read and drive), `TerminalLine`, `Family`
  (the typed base of a family), ``[confirm]`` answers, `finish_in_thread`;
* ``show.py``: ``show vstack status | download-status | host | neighbors | group | config |
  join-window configuration | internal``;
* ``clients.py``: ``show vstack client …`` and ``vstack attach`` (the clients' command lines);
* ``system.py``: ``show version | clock | users``;
* ``host_info.py``: ``show privilege | inventory | ip interface brief | interfaces | hosts |
  memory statistics | processes cpu`` (the host, read by ``host_probe.py`` in a thread);
* ``neighbors.py``: ``show arp | ip arp | cdp neighbors [detail]`` (the director's view);
* ``host_protocols.py``: ``show ipv6 interface | lldp | cdp`` (the host's IPv6, the neighbour
  protocols the director runs);
* ``debug.py``: ``debug``, ``undebug``, ``show debugging | logging``, ``terminal monitor``;
* ``dhcp.py``: ``show dhcp server``, ``show ip dhcp pool | binding``;
* ``downloads.py``: ``vstack download-image | download-config`` (on-demand updates);
* ``onhold.py``: ``vstack on-hold-clients install | remove``, ``vstack join-window-status``;
* ``clear.py``: ``clear vstack director-db | download-list | download-status``;
* ``tar.py``: ``vstack tar | untar | untar/table``;
* ``files.py``: ``dir``, ``delete``, ``copy tftp://… flash:``.

Commands read the director's state and change it only through the director core; disk work
beyond a stat or one directory listing runs in a thread, never on the event loop.
"""

from smartinstall.director.exec.commands import ExecCommands
from smartinstall.director.exec.host import DirectorHost, TerminalLine

__all__ = ["DirectorHost", "ExecCommands", "TerminalLine"]
