"""Argument types shared by the sub-commands."""

from __future__ import annotations

import argparse


def port(text: str) -> int:
    """A TCP or UDP port number, 1 to 65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {text}")
    return value
