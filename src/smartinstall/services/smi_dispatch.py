"""Smart Install messages received on TCP 4786, dispatched by role.

* :class:`SmiDirectorServer` accepts our client -> director messages (hello, neighbour report,
  keepalive, write memory, upgrade status, backup result), hands each to its owner as a plain
  :class:`ClientMessageReceived`, answers with an :class:`~smartinstall.wire.smi_client.Ack` and
  closes. It answers the public detection probe as a director does: it closes without a word.
  :meth:`SmiDirectorServer.send_command` sends a director command (type 2/3/5/7/8) to a client on
  a fresh connection, as the public tools do.
* :class:`SmiClientListener` is the emulated switch's port 4786: it answers the probe with the
  exact 24 bytes a real client sends, answers anything malformed with the 20-byte status reply,
  and hands valid commands to its owner as :class:`CommandReceived` after closing the connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from smartinstall.services.smi_admission import Refusal, SmiLimits
from smartinstall.services.smi_listener import (
    SMI_PORT,
    InvalidHook,
    Peer,
    _call,
    _Refused,
    _SmiListener,
)
from smartinstall.services.smi_replay import CounterBook
from smartinstall.services.smi_security import SmiSecurity, seal_message
from smartinstall.services.smi_sender import DirectorCommand, send_command
from smartinstall.wire.smi import (
    CLIENT_PROBE_REPLY,
    MAX_COMMAND_PAYLOAD,
    STATUS_REPLY,
    Header,
    MessageType,
    Probe,
    ProbeReply,
    Sender,
    SmiDecodeError,
    SmiVersionError,
    decode_command,
)
from smartinstall.wire.smi_auth import PeerId
from smartinstall.wire.smi_client import (
    MAX_CLIENT_PAYLOAD,
    Ack,
    ClientMessage,
    decode_client_payload,
    is_client_message_type,
)

# one logger for the whole service (smi_admission logs under it too)
log = logging.getLogger("smartinstall.services.smi")

#: Message types reserved for our client <-> director messages (docs/protocol.md section 4).
CLIENT_TYPE_RANGE: Final = (0x101, 0x1FF)


@dataclass(frozen=True)
class ClientMessageReceived:
    """A client -> director message, as the director's owner receives it."""

    message: ClientMessage
    peer: Peer
    authenticated: bool


@dataclass(frozen=True)
class CommandReceived:
    """A director -> client command, as the emulated switch receives it."""

    command: DirectorCommand
    peer: Peer
    authenticated: bool


DirectorOwner = Callable[[ClientMessageReceived], "Awaitable[Ack | None] | Ack | None"]
ClientOwner = Callable[[CommandReceived], "Awaitable[None] | None"]


# -------------------------------------------------------------------------- client listener


_COMMAND_TYPES: Final = frozenset(int(t) for t in MessageType)


class SmiClientListener(_SmiListener):
    """Port 4786 of an emulated client switch."""

    role = "client"
    max_role_payload = MAX_COMMAND_PAYLOAD

    def __init__(
        self,
        owner: ClientOwner,
        host: str = "127.0.0.1",
        port: int = SMI_PORT,
        security: SmiSecurity | None = None,
        limits: SmiLimits | None = None,
        on_invalid: InvalidHook | None = None,
        *,
        identity: str | None = None,
        counters: CounterBook | None = None,
    ) -> None:
        """``identity``: the client's MAC, which a sealed command must name as its recipient
        (without it, authenticated mode refuses every command)."""
        super().__init__(
            host, port, security or SmiSecurity(), limits or SmiLimits(), on_invalid, counters
        )
        self.owner = owner
        self.identity = PeerId.client(identity) if identity else None

    def _prefix_ok(self, data: bytes) -> bool:
        # Commands start 0000000{1,2} 00000001 000000{type}: anything else is answered at once
        # with the status reply (a scanner sees SMI quickly; junk costs nothing).
        for i, b in enumerate(data[:12]):
            if i == 3:
                ok = b in (Sender.DIRECTOR, Sender.DIRECTOR_V2)
            elif i == 7:
                ok = True  # an unknown version still gets a full header read, then the reply
            elif i == 11:
                ok = b in _COMMAND_TYPES
            elif i in (4, 5, 6):
                ok = True
            else:
                ok = b == 0
            if not ok:
                return False
        return True

    def _check_header(self, header: Header, garbage_reply: bytes) -> None:
        if header.version != 1:
            raise _Refused(
                "unsupported version", f"version word {header.version}", garbage_reply, logging.INFO
            )

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: Peer
    ) -> Callable[[], Awaitable[None]] | None:
        header, payload = await self._read_message(reader, STATUS_REPLY)
        if header.msg_type == MessageType.PROBE and not self._sealed(header, payload):
            try:
                probe = Probe.decode_payload(payload)
            except SmiDecodeError as exc:
                raise _Refused("malformed probe", exc.reason, STATUS_REPLY) from None
            log.debug("SMI probe from %s answered", peer)
            await self._reply_and_close(
                reader, writer, ProbeReply(probe.word_a, probe.word_b).encode()
            )
            return None
        inner, inner_payload, unsealed = self._authenticate(header, payload, peer, self.identity)
        try:
            command = decode_command(inner, inner_payload)
        except SmiDecodeError as exc:
            raise _Refused(
                "malformed command", f"type {inner.msg_type}: {exc.reason}", STATUS_REPLY
            ) from None
        authenticated = unsealed is not None
        if unsealed is not None:
            await self._accept(unsealed, peer, inner)
        if isinstance(command, Probe):  # a sealed probe: answer it too
            await self._reply_and_close(reader, writer, CLIENT_PROBE_REPLY)
            return None
        self.stats["handled"] += 1
        log.info(
            "SMI command type %d from %s%s",
            inner.msg_type,
            peer,
            " (authenticated)" if authenticated else "",
        )
        event = CommandReceived(command, peer, authenticated)

        async def deliver() -> None:
            await _call(self.owner, event)

        writer.close()  # a client closes after each message; the owner acts afterwards
        return deliver

    def _sealed(self, header: Header, payload: bytes) -> bool:
        return self.security.key is not None and len(payload) > Probe.PAYLOAD_SIZE


# ------------------------------------------------------------------------- director server


class SmiDirectorServer(_SmiListener):
    """The director's port 4786."""

    role = "director"
    max_role_payload = MAX_CLIENT_PAYLOAD

    def __init__(
        self,
        owner: DirectorOwner,
        host: str = "127.0.0.1",
        port: int = SMI_PORT,
        security: SmiSecurity | None = None,
        limits: SmiLimits | None = None,
        on_invalid: InvalidHook | None = None,
        *,
        counters: CounterBook | None = None,
        is_known: Callable[[str], bool] | None = None,
    ) -> None:
        """``counters``: the director's book (its data directory keeps it across restarts).
        ``is_known``: is this address one the director bound to a client? Those sources keep
        reserved connection slots under a flood (:mod:`smartinstall.services.smi_admission`)."""
        limits = limits or SmiLimits(pressure_idle_timeout=2.0)
        super().__init__(
            host, port, security or SmiSecurity(), limits, on_invalid, counters, is_known
        )
        self.owner = owner

    def _admit(self, peer: Peer) -> Refusal | None:
        if not self.security.allows(peer.host):
            return Refusal("address not allowed", "not in vstack allowed-clients; refused")
        return super()._admit(peer)

    def _prefix_ok(self, data: bytes) -> bool:
        # Clients send 00000004 00000001 0000xxxx; a scanner's probe starts 00000001 00000001.
        head = data[:12]
        for i, b in enumerate(head):
            if i == 3:
                ok = b in (Sender.CLIENT, Sender.DIRECTOR)
            elif i in (7, 10, 11):
                ok = True
            else:
                ok = b == 0
            if not ok:
                return False
        return True

    def _check_header(self, header: Header, garbage_reply: bytes) -> None:
        # Unknown types in our range from a client are read: they are a newer client's messages
        # (logged as SMI_INVALID_MESSAGE once authenticated), not garbage.
        ours = (
            is_client_message_type(header.msg_type)
            or CLIENT_TYPE_RANGE[0] <= header.msg_type <= CLIENT_TYPE_RANGE[1]
        )
        if header.sender != Sender.CLIENT or not ours:
            if (header.sender, header.version, header.msg_type) == (1, 1, MessageType.PROBE):
                # A director answers the public probe by closing without a word (section 1).
                raise _Refused(
                    "probe", "detection probe; closed as a director does", b"", logging.INFO
                )
            raise _Refused(
                "unexpected message",
                f"sender {header.sender} type {header.msg_type:#x} is not a client message",
                b"",
            )
        if header.version != 1:
            raise _Refused("unsupported version", f"version word {header.version}", b"")

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: Peer
    ) -> Callable[[], Awaitable[None]] | None:
        header, payload = await self._read_message(reader, b"")
        local = writer.get_extra_info("sockname")
        # a report names, as its recipient, the director address it was sent to
        here = PeerId.director(str(local[0])) if local else None
        inner, inner_payload, unsealed = self._authenticate(header, payload, peer, here)
        try:
            message = decode_client_payload(inner, inner_payload)
        except SmiVersionError as exc:
            self._invalid(peer, inner, exc.reason)
        except SmiDecodeError as exc:
            raise _Refused(
                "malformed client message", f"type {inner.msg_type:#x}: {exc.reason}"
            ) from None
        if isinstance(message, Ack):
            raise _Refused("unexpected message", "an acknowledgement sent to the director")
        if unsealed is not None:
            mac = getattr(message, "mac", "")
            if mac and unsealed.sender != PeerId.client(mac):
                self._invalid(peer, inner, f"{unsealed.sender} sealed a report for {mac}", True)
            await self._accept(unsealed, peer, inner)
        self.stats["handled"] += 1
        event = ClientMessageReceived(message, peer, unsealed is not None)
        try:
            answer = await _call(self.owner, event)
        except Exception as exc:
            log.exception("SMI director: owner failed on %s from %s", type(message).__name__, peer)
            answer = Ack(
                acked_type=inner.msg_type,
                acked_sequence=message.sequence,
                status=1,
                reason=f"director error: {type(exc).__name__}",
            )
        if not isinstance(answer, Ack):
            answer = Ack(acked_type=inner.msg_type, acked_sequence=message.sequence)
        data = answer.encode()
        if unsealed is not None:  # the answer to that message alone: its counter, its sender
            data = seal_message(
                data,
                self.security,
                sender=unsealed.recipient,
                recipient=unsealed.sender,
                counter=unsealed.counter,
            )
        await self._reply_and_close(reader, writer, data)
        return None

    async def send_command(
        self,
        host: str,
        port: int,
        command: DirectorCommand,
        timeout: float = 5.0,
        *,
        recipient: str | None = None,
    ) -> None:
        """Send one command to a client on a fresh connection, then close (as public tools do).

        Authenticated when a key is configured: ``recipient`` is then the client's MAC. Raises
        ``OSError``/``TimeoutError`` when the client cannot be reached."""
        await send_command(
            host,
            port,
            command,
            self.security,
            timeout,
            recipient=recipient,
            sender=PeerId.director(self.host),
            counters=self.counters,
        )
