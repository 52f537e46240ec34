"""IOS's configuration lock: while ``configure replace`` (without ``nolock``) applies a
configuration, the other terminals' configuration commands are refused with

    Configuration mode is locked by process '<n>' user '<name>' from terminal '<n>'. Please
    try later.

so that no change lands between the replace's steps. Refused while the lock is held by another
session: every configuration command (``end`` and ``exit`` still leave), the ``configure …``
commands (``do configure …`` too), and the commands that call `check_unlocked` themselves
(``copy … running-config``). The sessions the engine uses to apply a configuration for a
command that was let through (`Session.applies_config`: the replace's own passes, a merge, a
replay) are never held back. The lock is the engine's (`Engine.config_lock`);
`config_locked` takes it for the duration of a piece of work.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from smartinstall.ios.engine import CommandError
from smartinstall.ios.tree import EXEC

if TYPE_CHECKING:
    from smartinstall.ios.engine import Session

#: the lines a locked-out session may still type in a configuration mode
_STILL_ALLOWED = ("end", "exit")


@dataclass
class ConfigLock:
    holder: Session
    process: int
    user: str
    terminal: int

    def refusal(self) -> str:
        return (
            f"Configuration mode is locked by process '{self.process}' user '{self.user}' "
            f"from terminal '{self.terminal}'. Please try later."
        )

    def holds_back(self, session: Session, mode: str, keywords: Sequence[str]) -> bool:
        """Whether ``session`` may not run now a command of ``mode`` with these keywords (an
        EXEC command typed after ``do`` is of EXEC)."""
        if session is self.holder or session.applies_config:
            return False
        if mode == EXEC.name:
            return keywords[:1] == ("configure",)
        return keywords[:1] not in [(word,) for word in _STILL_ALLOWED]


def check_unlocked(session: Session) -> None:
    """Refuse (`CommandError`) a change of the running configuration by ``session`` while
    another session holds the lock."""
    lock = session.engine.config_lock
    if lock is not None and session is not lock.holder and not session.applies_config:
        raise CommandError(lock.refusal())


@asynccontextmanager
async def config_locked(
    session: Session, *, process: int, user: str, terminal: int
) -> AsyncIterator[None]:
    """The engine's configuration lock held by ``session`` for the block (refused with IOS's
    message when another session holds it; a session already holding it keeps it)."""
    engine = session.engine
    check_unlocked(session)
    if engine.config_lock is not None:
        yield
        return
    engine.config_lock = ConfigLock(session, process, user, terminal)
    try:
        yield
    finally:
        engine.config_lock = None


__all__ = ["ConfigLock", "check_unlocked", "config_locked"]
