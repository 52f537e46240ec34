"""Crash points: named instants at which the director can be made to die as ``kill -9`` would.

A crash-safety test cannot rely on a timer to kill the director "in the middle of an install":
the instant it hits depends on the machine's load. Instead, the code names its interesting
instants (``crashpoint("image-done")``) and a test starts the director with::

    SMARTINSTALL_CRASH_AT=image-done        # the first time the point is reached
    SMARTINSTALL_CRASH_AT=image-done#3      # the third time

The process then logs one line naming the point and sends itself ``SIGKILL``: nothing is
flushed, closed or committed, exactly as when an operator or the kernel kills it. Without the
variable a crash point costs one comparison.
"""

from __future__ import annotations

import logging
import os
import signal
import threading

log = logging.getLogger(__name__)

ENVIRONMENT = "SMARTINSTALL_CRASH_AT"

# The named instants (tests iterate over them; a name not listed here is refused at start).
POINTS = (
    "dhcp-new-client",  # a new client's entry is in memory, not yet committed (no ACK sent)
    "dhcp-ack-committed",  # the client's records are committed, its ACK not yet sent
    "hello",  # a client's hello is handled (the script may be on its way)
    "image-started",  # the client began reading its imagelist
    "image-transfer",  # the client is reading its image (half of it served)
    "image-done",  # the client reported its image installed; not yet committed or acked
    "image-done-committed",  # the image report is committed, its acknowledgement not sent
    "config-transfer",  # the client is reading its configuration
    "config-done",  # the configuration read ended; the row not yet committed
    "script-sent",  # the post-install script URL was sent to the client
    "backup-upload",  # the client's backup upload has started
    "backup-rotated",  # REV2 became REV1; the new REV2 is not yet in place
    "on-demand-sent",  # an on-demand download command reached the client
)


class _Target:
    def __init__(self, spec: str) -> None:
        name, _, count = spec.strip().partition("#")
        if name not in POINTS:
            raise ValueError(f"{ENVIRONMENT}: unknown crash point {name!r}")
        if count and not (count.isdigit() and int(count) >= 1):
            raise ValueError(f"{ENVIRONMENT}: {count!r} is not a positive count")
        self.name = name
        self.remaining = int(count) if count else 1
        self.lock = threading.Lock()


def _target_from_environment() -> tuple[_Target | None, str]:
    spec = os.environ.get(ENVIRONMENT, "")
    if not spec.strip():
        return None, ""
    try:
        return _Target(spec), ""
    except ValueError as error:
        return None, str(error)


_target, _error = _target_from_environment()


def armed() -> str | None:
    """The crash point this process will die at, if any (the director logs it at start).
    Raises ValueError when the variable names no known point."""
    if _error:
        raise ValueError(_error)
    return _target.name if _target is not None else None


def crashpoint(name: str) -> None:
    """Die here (SIGKILL) when this is the armed point and its count is reached."""
    target = _target
    if target is None or target.name != name:
        return
    with target.lock:
        target.remaining -= 1
        if target.remaining > 0:
            return
    log.critical("crash point %s reached: the process kills itself (SIGKILL)", name)
    for handler in logging.getLogger().handlers + logging.getLogger("smartinstall").handlers:
        handler.flush()
    os.kill(os.getpid(), signal.SIGKILL)
