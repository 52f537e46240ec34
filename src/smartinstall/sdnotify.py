"""The systemd readiness protocol (``sd_notify``) without a dependency.

Under ``Type=notify`` systemd names a datagram socket in ``NOTIFY_SOCKET``: a path, or an
abstract name written with a leading ``@``. The director sends ``READY=1`` there once it
serves, ``RELOADING=1``/``READY=1`` around a reload and ``STOPPING=1`` when it begins to stop.
Without ``NOTIFY_SOCKET`` (a shell, a container) nothing is sent. A failure to send is logged
and never stops the director: readiness is a courtesy to the service manager.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping

log = logging.getLogger(__name__)

ENVIRONMENT = "NOTIFY_SOCKET"
READY = "READY=1"
STOPPING = "STOPPING=1"
RELOADING = "RELOADING=1"


def socket_address(name: str) -> str | bytes:
    """The address to send to: a path as it is, ``@name`` as the abstract name ``\\0name``."""
    if name.startswith("@"):
        return b"\0" + name[1:].encode()
    return name


def notify(*states: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``states`` (``KEY=value`` lines) to the service manager. True when sent; False
    when there is no manager to tell (``NOTIFY_SOCKET`` unset) or sending failed (logged)."""
    name = (os.environ if environ is None else environ).get(ENVIRONMENT, "")
    if not name or not states:
        return False
    message = "\n".join(states).encode()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.setblocking(False)  # never hold the event loop up
            sock.sendto(message, socket_address(name))
    except OSError as error:
        log.warning("cannot notify the service manager at %s: %s", name, error)
        return False
    return True


def reloading(environ: Mapping[str, str] | None = None) -> bool:
    """``RELOADING=1`` with the monotonic time systemd asks for (``Type=notify-reload``)."""
    now = f"MONOTONIC_USEC={time.monotonic_ns() // 1000}"
    return notify(RELOADING, now, environ=environ)
