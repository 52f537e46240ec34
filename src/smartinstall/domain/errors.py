"""The one error type of the domain: a one-line, IOS-style message naming the bad token."""

from __future__ import annotations


class DomainError(ValueError):
    """A value the guide does not allow.

    ``str(error)`` is one line meant for the operator, and ``token`` is the offending piece of
    input (so a command engine can put its caret under it).
    """

    def __init__(self, message: str, token: str = "") -> None:
        message = one_line(message)
        super().__init__(message)
        self.message = message
        self.token = token

    def __str__(self) -> str:
        return self.message


MAX_MESSAGE = 200


def one_line(text: str) -> str:
    """Printable, one line, bounded: operator input may hold anything."""
    cleaned = "".join(c if c.isprintable() else f"\\x{ord(c) & 0xFF:02x}" for c in text)
    return cleaned if len(cleaned) <= MAX_MESSAGE else cleaned[: MAX_MESSAGE - 3] + "..."
