"""The EXEC-mode commands of the running director: kept for its importers, the commands are
in the package `smartinstall.director.exec` (one module per family of commands)."""

from smartinstall.director.exec import DirectorHost, ExecCommands, TerminalLine
from smartinstall.director.exec.host import CONFIRM, confirmed
from smartinstall.director.exec.show import view_entry

__all__ = ["CONFIRM", "DirectorHost", "ExecCommands", "TerminalLine", "confirmed", "view_entry"]
