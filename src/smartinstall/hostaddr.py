"""Whether an IPv4 address belongs to this host: it does when the host can bind it.

That makes every address of 127.0.0.0/8 the host's, so labs and tests can run a director on
127.20.0.1 without configuring an interface.
"""

from __future__ import annotations

import socket


def host_owns_address(address: str) -> bool:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((address, 0))
    except OSError:
        return False
    return True
