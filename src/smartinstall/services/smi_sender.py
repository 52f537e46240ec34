"""Smart Install messages sent: the director's commands and the emulated switch's reports.

* :func:`send_command` sends a director command (type 2/3/5/7/8) to a client on a fresh
  connection, as the public tools do.
* :class:`SmiClientSender` sends the emulated switch's messages to its director, one
  connection per message, and checks the director's acknowledgement.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from smartinstall.services.smi_listener import SMI_PORT
from smartinstall.services.smi_replay import CounterBook, open_sealed
from smartinstall.services.smi_security import _SHARED_COUNTERS, SmiSecurity, _now_ms, seal_message
from smartinstall.wire.smi import (
    HEADER_SIZE,
    STATUS_REPLY,
    BackupConfig,
    DownloadConfig,
    DownloadImage,
    Execute,
    Header,
    InitDiscovery,
    SmiDecodeError,
    decode_frame,
)
from smartinstall.wire.smi_auth import PeerId, ReplayError
from smartinstall.wire.smi_client import Ack, ClientMessage, decode_client_payload

# one logger for the whole service (smi_admission logs under it too)
log = logging.getLogger("smartinstall.services.smi")

DirectorCommand = DownloadImage | DownloadConfig | Execute | BackupConfig | InitDiscovery


async def send_command(
    host: str,
    port: int,
    command: DirectorCommand,
    security: SmiSecurity | None = None,
    timeout: float = 5.0,
    *,
    recipient: str | None = None,
    sender: PeerId | None = None,
    counters: CounterBook | None = None,
) -> None:
    """Send a director command on its own connection; wait (bounded) for the client to close.

    With a key the command is sealed for ``recipient`` (the client's MAC) alone, from ``sender``
    (default: the address the connection leaves from), with the next counter of ``counters``.
    """
    security = security or SmiSecurity()
    target = PeerId.client(recipient) if recipient else None
    if security.key is not None and target is None:
        raise ValueError("an authenticated command names its recipient (the client's MAC)")
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(host, port)
    try:
        data = command.encode()
        if target is not None and security.key is not None:
            me = sender or PeerId.director(str(writer.get_extra_info("sockname")[0]))
            counter = await (_SHARED_COUNTERS if counters is None else counters).next_counter()
            data = seal_message(data, security, sender=me, recipient=target, counter=counter)
        writer.write(data)
        await writer.drain()
        with contextlib.suppress(TimeoutError, ConnectionError):
            async with asyncio.timeout(timeout):
                # A client sends nothing back to a command (or the 20-byte status reply to one
                # it cannot parse); wait for its close so the command is known to be read.
                reply = await reader.read(64)
                if reply == STATUS_REPLY:
                    log.warning(
                        "SMI client %s:%d refused command type %d (status reply)",
                        host,
                        port,
                        command.MSG_TYPE,
                    )
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


# --------------------------------------------------------------------------- client sender


class SmiSendError(Exception):
    """The director did not take a message (unreachable, refused, or a bad answer).

    ``transient``: no answer came (the director unreachable, or busy and refusing connections
    under a flood); the same message is worth sending again. A bad answer is not."""

    def __init__(self, message: str, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass
class SmiClientSender:
    """Sends an emulated switch's messages to its director, one connection per message."""

    director_host: str
    director_port: int = SMI_PORT
    security: SmiSecurity = field(default_factory=SmiSecurity)
    timeout: float = 5.0
    local_host: str | None = None  # source address (each emulated switch has its own)
    counters: CounterBook | None = None  # the switch's book; None: one for the whole process
    identity: str | None = None  # the sender's MAC; None: the message's own MAC

    async def send(self, message: ClientMessage) -> Ack:
        me: PeerId | None = None
        if self.security.key is not None:
            mac = self.identity or getattr(message, "mac", "")
            if not mac:
                raise SmiSendError("an authenticated message names its sender: no MAC", False)
            me = PeerId.client(mac)
        local = (self.local_host, 0) if self.local_host else None
        try:
            async with asyncio.timeout(self.timeout):
                reader, writer = await asyncio.open_connection(
                    self.director_host, self.director_port, local_addr=local
                )
        except (OSError, TimeoutError) as exc:
            raise SmiSendError(
                f"cannot reach director {self.director_host}:{self.director_port}: {exc}"
            ) from exc
        director: PeerId | None = None
        counter = 0
        try:
            data = message.encode()
            if me is not None:  # sealed for the director address this connection reached
                director = PeerId.director(str(writer.get_extra_info("peername")[0]))
                try:
                    book = _SHARED_COUNTERS if self.counters is None else self.counters
                    counter = await book.next_counter()
                except OSError as exc:
                    raise SmiSendError(f"no counter to seal with: {exc}", False) from exc
                data = seal_message(
                    data, self.security, sender=me, recipient=director, counter=counter
                )
            writer.write(data)
            await writer.drain()
            async with asyncio.timeout(self.timeout):
                head = await reader.readexactly(HEADER_SIZE)
                header = Header.decode(head)
                if header.length > 64 * 1024:
                    raise SmiSendError("director answer too large", False)
                payload = await reader.readexactly(header.length)
        except asyncio.IncompleteReadError as exc:
            raise SmiSendError("director closed without an acknowledgement") from exc
        except (OSError, TimeoutError) as exc:
            raise SmiSendError(f"no acknowledgement from the director: {exc!r}") from exc
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        if self.security.key is not None and director is not None:
            skew = self.security.max_skew * 1000
            try:  # the answer to this message: from the director reached, with its counter
                unsealed = open_sealed(
                    head + payload, self.security.key, me, skew, _now_ms(), (director, counter)
                )
            except ReplayError as exc:
                raise SmiSendError(
                    f"acknowledgement not for this message: {exc.reason}", False
                ) from exc
            except SmiDecodeError as exc:
                raise SmiSendError(
                    f"acknowledgement not authenticated: {exc.reason}", False
                ) from exc
            header, payload, _ = decode_frame(unsealed.frame, len(unsealed.frame))
        try:
            ack = decode_client_payload(header, payload)
        except SmiDecodeError as exc:
            raise SmiSendError(f"bad acknowledgement: {exc.reason}", False) from exc
        if (
            not isinstance(ack, Ack)
            or ack.acked_sequence != message.sequence
            or ack.acked_type != message.MSG_TYPE
        ):
            raise SmiSendError("acknowledgement does not match the message sent", False)
        return ack
