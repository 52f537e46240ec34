"""Whether an IPv4 address belongs to this host: it does when the host can bind it.

That makes every address of 127.0.0.0/8 the host's, so labs and tests can run a director on
127.20.0.1 without configuring an interface.

A bind that fails for want of resources (out of file descriptors, EMFILE; the system's
table full, ENFILE; no buffers or memory) says nothing about the address: the check is
tried once more on a descriptor kept in reserve for it, and if that fails too the last
answer for the address stands. An overloaded host never "loses" its address (which would
turn a director into a client). Such failures are logged once, then once a minute with a
count.
"""

from __future__ import annotations

import errno
import fcntl
import ipaddress
import logging
import os
import socket
import struct
import threading
import time

_RESOURCE_ERRORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_LOG_EVERY = 60.0  # seconds between two warnings about checks that could not be made

log = logging.getLogger(__name__)
_lock = threading.Lock()
_known: dict[str, bool] = {}  # the last answer per address
_spare: int | None = None  # a descriptor given up for the check when none is left
_unsure = 0  # checks that could not be made since the last warning
_warned = -_LOG_EVERY


def host_owns_address(address: str) -> bool:
    with _lock:
        _keep_spare()
        try:
            answer: bool | None = _can_bind(address)
        except OSError as exc:
            answer = _with_spare(address, exc)
        if answer is None:  # never known: not claimed until it can be checked
            return False
        _known[address] = answer
        return answer


def _can_bind(address: str) -> bool:
    """True if `address` can be bound; False if not; OSError for a lack of resources."""
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    except OSError as exc:
        if exc.errno in _RESOURCE_ERRORS:
            raise
        return False
    with sock:
        try:
            sock.bind((address, 0))
        except OSError as exc:
            if exc.errno in _RESOURCE_ERRORS:
                raise
            return False
    return True


def _keep_spare() -> None:
    global _spare
    if _spare is None:
        try:
            _spare = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            _spare = None


def _with_spare(address: str, exc: OSError) -> bool | None:
    """The check again on the reserved descriptor; else the last answer (a lack of
    resources is an overload, not a lost address), None if there is none."""
    global _spare
    if _spare is not None:
        os.close(_spare)
        _spare = None
        try:
            return _can_bind(address)
        except OSError:
            pass
        finally:
            _keep_spare()
    answer = _known.get(address)
    _warn(address, exc, answer)
    return answer


def _warn(address: str, exc: OSError, answer: bool | None) -> None:
    global _unsure, _warned
    _unsure += 1
    now = time.monotonic()
    if now - _warned < _LOG_EVERY:
        return
    kept = "none yet: not claimed" if answer is None else ("yes" if answer else "no")
    since = f"; {_unsure} checks could not be made since the last warning" if _unsure > 1 else ""
    log.warning(
        "cannot tell whether this host owns %s (%s): the last answer stands (%s)%s",
        address,
        exc.strerror or exc,
        kept,
        since,
    )
    _unsure = 0
    _warned = now


SIOCGIFADDR = 0x8915  # <linux/sockios.h>: an interface's IPv4 address


def interface_address(name: str) -> str | None:
    """The IPv4 address of the host's interface `name` (the case of the name does not matter
    when only one interface has it), or None when there is no such interface or it has no
    IPv4 address."""
    try:
        names = [n for _, n in socket.if_nameindex()]
    except OSError:
        names = []
    if name not in names:
        folded = [n for n in names if n.lower() == name.lower()]
        if len(folded) != 1:
            return None
        name = folded[0]
    request = struct.pack("256s", name.encode()[:15])
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            reply = fcntl.ioctl(sock.fileno(), SIOCGIFADDR, request)
    except OSError:
        return None
    return socket.inet_ntoa(reply[20:24])


def source_address(name_or_address: str) -> str | None:
    """``logging source-interface``: an IPv4 address the host can bind, or the address of the
    interface so named; None when it is neither."""
    try:
        address = str(ipaddress.IPv4Address(name_or_address))
    except ValueError:
        return interface_address(name_or_address)
    return address if host_owns_address(address) else None
