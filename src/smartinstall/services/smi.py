"""Smart Install on TCP 4786: the director's server and the emulated client's listener/sender.

* :class:`SmiDirectorServer` accepts our client -> director messages (hello, neighbour report,
  keepalive, write memory, upgrade status, backup result), hands each to its owner as a plain
  :class:`ClientMessageReceived`, answers with an :class:`~smartinstall.wire.smi_client.Ack` and
  closes. It answers the public detection probe as a director does: it closes without a word.
  :meth:`SmiDirectorServer.send_command` sends a director command (type 2/3/5/7/8) to a client on
  a fresh connection, as the public tools do.
* :class:`SmiClientListener` is the emulated switch's port 4786: it answers the probe with the
  exact 24 bytes a real client sends, answers anything malformed with the 20-byte status reply,
  and hands valid commands to its owner as :class:`CommandReceived` after closing the connection.
* :class:`SmiClientSender` sends the emulated switch's messages to its director.

Every listener bounds what a peer can cost: connections in all and per peer, a per-peer message
rate, a deadline for the first header and for each whole message, and a maximum message size.
Every bad input is logged once, with the peer address (floods from one peer are summarised),
and nothing a peer sends can end the server.

With a key (:class:`SmiSecurity`) every message must carry the HMAC trailer of
:mod:`smartinstall.wire.smi_auth`, name this endpoint as its recipient (a client by its MAC, the
director by the address the message was sent to) and carry a counter above every one accepted
from its sender before (:class:`~smartinstall.services.smi_replay.CounterBook`, kept across
restarts); refused messages are logged as ``%SMI-6-SMI_INVALID_MESSAGE`` in the guide's format.

The service is split by idea: :mod:`~smartinstall.services.smi_security` (the key and sealing),
:mod:`~smartinstall.services.smi_listener` (connection handling both roles share),
:mod:`~smartinstall.services.smi_dispatch` (each role's handling of what it receives),
:mod:`~smartinstall.services.smi_sender` (what is sent) and
:mod:`~smartinstall.services.smi_probe` (the detection probe); this module gathers them.
"""

from __future__ import annotations

from smartinstall.services.smi_admission import SmiLimits
from smartinstall.services.smi_dispatch import (
    CLIENT_TYPE_RANGE,
    ClientMessageReceived,
    ClientOwner,
    CommandReceived,
    DirectorOwner,
    SmiClientListener,
    SmiDirectorServer,
)
from smartinstall.services.smi_listener import SMI_PORT, InvalidHook, InvalidMessage, Peer
from smartinstall.services.smi_probe import (
    ProbeResult,
    ProbeVerdict,
    classify_probe_reply,
    probe,
)
from smartinstall.services.smi_security import IPNetwork, SmiSecurity, seal_message
from smartinstall.services.smi_sender import (
    DirectorCommand,
    SmiClientSender,
    SmiSendError,
    send_command,
)

__all__ = [
    "CLIENT_TYPE_RANGE",
    "SMI_PORT",
    "ClientMessageReceived",
    "ClientOwner",
    "CommandReceived",
    "DirectorCommand",
    "DirectorOwner",
    "IPNetwork",
    "InvalidHook",
    "InvalidMessage",
    "Peer",
    "ProbeResult",
    "ProbeVerdict",
    "SmiClientListener",
    "SmiClientSender",
    "SmiDirectorServer",
    "SmiLimits",
    "SmiSecurity",
    "SmiSendError",
    "classify_probe_reply",
    "probe",
    "seal_message",
    "send_command",
]
