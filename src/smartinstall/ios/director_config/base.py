"""What every part of the director's command set shares: whose settings the commands edit, who
is told when they changed, and the helpers that turn domain errors into IOS messages.

The settings are read through a *holder* on every command (`DirectorCommandsBase.settings`),
so an owner that swaps in a new `DirectorSettings` object (a SIGHUP replay) is seen at once.
Every configuration command of the set that completes without error calls `on_change` once;
a rejected command (a `CommandError`, which the domain's errors become) never does.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Protocol

from smartinstall import hostaddr
from smartinstall.domain.catalog import CatalogError
from smartinstall.domain.errors import DomainError
from smartinstall.domain.settings import DirectorSettings, Role
from smartinstall.ios.engine import CommandError, Context
from smartinstall.ios.tree import EXEC, USER_LEVEL, CommandSet, Handler, Mode
from smartinstall.ios.types import Arg

#: answers whether this host owns an address
OwnsAddress = Callable[[str], bool]
#: renders `show vstack config`: (settings, role, whether the join window is open or None)
ShowConfig = Callable[[DirectorSettings, Role, bool | None], str]
#: told after a configuration command changed the settings
OnChange = Callable[[], None]


class SettingsHolder(Protocol):
    """Anything whose `settings` attribute is the director's current settings (the director
    core owns them and may replace the object; the commands read it on every command)."""

    @property
    def settings(self) -> DirectorSettings: ...


class _Held:
    """The holder of a plain settings object given to the command set."""

    def __init__(self, settings: DirectorSettings) -> None:
        self.settings = settings


class DirectorCommandsBase(CommandSet):
    """The state of the director's command set; its parts (global commands, join window,
    groups, DHCP pools) are mixins of this class, combined by `DirectorCommands`."""

    name = "director"
    order = 10

    def __init__(
        self,
        settings: DirectorSettings | SettingsHolder | None = None,
        owns_address: OwnsAddress | None = None,
        on_change: OnChange | None = None,
    ) -> None:
        super().__init__()
        if settings is None:
            settings = DirectorSettings()
        self._holder: SettingsHolder = (
            _Held(settings) if isinstance(settings, DirectorSettings) else settings
        )
        self._owns_address = owns_address
        self._on_change = on_change

    @property
    def settings(self) -> DirectorSettings:
        """The settings the commands edit: the holder's, read anew on every access."""
        return self._holder.settings

    def owns_address(self, address: str) -> bool:
        check = self._owns_address or hostaddr.host_owns_address
        return check(address)

    # --- change notification -------------------------------------------------------------

    def changed(self) -> None:
        """Tell the owner of the settings that a command changed them."""
        if self._on_change is not None:
            self._on_change()

    def command(
        self,
        mode: Mode | str,
        syntax: str,
        handler: Handler | None = None,
        *,
        help: Mapping[str, str] | None = None,
        args: Mapping[str, Arg] | None = None,
        level: int = USER_LEVEL,
        output: bool = False,
        hidden: bool = False,
        notify: bool = True,
    ) -> Callable[[Handler], Handler]:
        """`CommandSet.command`; a configuration command (any mode but EXEC) calls `changed()`
        after its handler returns without error, unless `notify` is False (the commands that
        enter a sub-mode call `changed()` themselves, only when they created something)."""
        register = super().command(
            mode, syntax, help=help, args=args, level=level, output=output, hidden=hidden
        )
        mode_name = mode.name if isinstance(mode, Mode) else mode
        wrap = notify and mode_name != EXEC.name

        def declare(function: Handler) -> Handler:
            handler = self._notifying(function) if wrap else function
            register(self.guard(mode_name, syntax, handler))
            return function

        if handler is not None:
            declare(handler)
        return declare

    def guard(self, mode_name: str, syntax: str, handler: Handler) -> Handler:
        """The handler the engine runs for a declared command (the proxy's part refuses the
        director's own commands in proxy mode)."""
        return handler

    def _notifying(self, handler: Handler) -> Handler:
        @functools.wraps(handler)
        def run(ctx: Context) -> None:
            handler(ctx)  # a CommandError passes through: the command was rejected
            self.changed()

        return run

    # --- running configuration -----------------------------------------------------------

    def render_config(self) -> Sequence[str]:
        """`DirectorSettings.render()` without the hostname, which the engine renders."""
        settings = self.settings
        lines = settings.render()
        if lines[:1] == [f"hostname {settings.hostname}"]:
            lines = lines[1:]
        while lines and lines[0] == "!":
            lines = lines[1:]
        while lines and lines[-1] == "!":
            lines = lines[:-1]
        return lines


# --- helpers of the handlers -----------------------------------------------------------------


@contextlib.contextmanager
def domain_errors() -> Iterator[None]:
    """Turns the domain's one-line errors into the command's own message."""
    try:
        yield
    except (DomainError, CatalogError) as error:
        raise CommandError(str(error)) from error


def text(value: object) -> str:
    """An argument the syntax guarantees to be text."""
    assert isinstance(value, str)
    return value


def said(ctx: Context, keyword: str) -> bool:
    """Whether the line contained `keyword` (the engine passes only arguments)."""
    return keyword in ctx.keywords


__all__ = [
    "DirectorCommandsBase",
    "OnChange",
    "OwnsAddress",
    "SettingsHolder",
    "ShowConfig",
    "domain_errors",
    "said",
    "text",
]
