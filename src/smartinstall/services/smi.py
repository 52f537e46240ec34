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
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import inspect
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Final, NoReturn, Self, TypeVar

from smartinstall.services.smi_admission import Admission, LogThrottle, Refusal, Slot, SmiLimits
from smartinstall.services.smi_replay import CounterBook, open_sealed
from smartinstall.wire import smi_auth
from smartinstall.wire.smi import (
    CLIENT_PROBE_REPLY,
    HEADER_SIZE,
    MAX_COMMAND_PAYLOAD,
    PROBE,
    STATUS_REPLY,
    BackupConfig,
    DownloadConfig,
    DownloadImage,
    Execute,
    Header,
    InitDiscovery,
    MessageType,
    Probe,
    ProbeReply,
    Sender,
    SmiDecodeError,
    SmiVersionError,
    decode_command,
    decode_frame,
)
from smartinstall.wire.smi_auth import PeerId, ReplayError, Unsealed
from smartinstall.wire.smi_client import (
    MAX_CLIENT_PAYLOAD,
    Ack,
    ClientMessage,
    decode_client_payload,
    is_client_message_type,
)

log = logging.getLogger(__name__)

SMI_PORT: Final = 4786
#: Message types reserved for our client <-> director messages (docs/protocol.md section 4).
CLIENT_TYPE_RANGE: Final = (0x101, 0x1FF)
DirectorCommand = DownloadImage | DownloadConfig | Execute | BackupConfig | InitDiscovery
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class SmiSecurity:
    """``vstack authentication key <key>`` and ``vstack allowed-clients <prefix> ...``.

    Without a key the protocol is the legacy, Cisco-compatible one. ``allowed_clients`` (when not
    empty) limits which addresses the director accepts client messages from, in either mode.
    ``max_skew`` is the accepted distance, in seconds, between a sender's timestamp and ours.
    """

    key: bytes | None = None
    allowed_clients: tuple[IPNetwork, ...] = ()
    max_skew: float = 60.0
    replay_capacity: int = 100_000

    def __post_init__(self) -> None:
        if self.key is not None and len(self.key) < smi_auth.MIN_KEY_SIZE:
            raise ValueError(
                f"authentication key must be at least {smi_auth.MIN_KEY_SIZE} characters"
            )

    @classmethod
    def from_config(
        cls, key: str | None = None, allowed_clients: Iterable[str] = (), max_skew: float = 60.0
    ) -> SmiSecurity:
        """From the text of the IOS lines (key as typed; prefixes like ``10.1.0.0/16``)."""
        nets = tuple(ipaddress.ip_network(p.strip(), strict=False) for p in allowed_clients)
        return cls(key.encode("utf-8") if key else None, nets, max_skew)

    @property
    def authenticated(self) -> bool:
        return self.key is not None

    @property
    def mode(self) -> str:
        """As ``show vstack config`` reports it."""
        return "authenticated" if self.key is not None else "legacy (unauthenticated)"

    def allows(self, host: str) -> bool:
        if not self.allowed_clients:
            return True
        try:
            addr = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        return any(addr in net for net in self.allowed_clients)


# ------------------------------------------------------------------------- plain data out


@dataclass(frozen=True)
class Peer:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


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


@dataclass(frozen=True)
class InvalidMessage:
    """A message refused for failing authentication (``%SMI-6-SMI_INVALID_MESSAGE``)."""

    peer: Peer
    device: str  # "Director" or "Client": the role the sender claims
    smi_version: int
    msg_type: int
    reason: str

    @property
    def text(self) -> str:
        """The guide's format (chapter "Smart Install System Messages")."""
        return (
            f"%SMI-6-SMI_INVALID_MESSAGE: Received invalid message from {self.device} "
            f"(IP Address : {self.peer.host}), SMI Version : {self.smi_version} "
            f"Message Type : {self.msg_type}"
        )


T = TypeVar("T")
#: the slot of the connection a task serves
_SLOT: ContextVar[Slot | None] = ContextVar("smi_slot", default=None)
DirectorOwner = Callable[[ClientMessageReceived], "Awaitable[Ack | None] | Ack | None"]
ClientOwner = Callable[[CommandReceived], "Awaitable[None] | None"]
InvalidHook = Callable[[InvalidMessage], None]


async def _call(owner: Callable[[T], object], item: T) -> object:
    result = owner(item)
    if inspect.isawaitable(result):
        return await result
    return result


def _device(sender: int) -> str:
    if sender in (Sender.DIRECTOR, Sender.DIRECTOR_V2):
        return "Director"
    if sender == Sender.CLIENT:
        return "Client"
    return "unknown device"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


#: the counter of senders given no book of their own (tools, tests): it follows the clock
_SHARED_COUNTERS = CounterBook()


def seal_message(
    data: bytes,
    security: SmiSecurity,
    *,
    sender: PeerId | None = None,
    recipient: PeerId | None = None,
    counter: int | None = None,
) -> bytes:
    """Add the authentication trailer when a key is configured; legacy bytes otherwise.

    A sealed message names its sender and its recipient and carries the sender's counter."""
    if security.key is None:
        return data
    if sender is None or recipient is None or counter is None:
        raise ValueError("a sealed message names its sender and recipient and has a counter")
    return smi_auth.seal(
        data, security.key, _now_ms(), sender=sender, recipient=recipient, counter=counter
    )


# ------------------------------------------------------------------------------ refusals


class _Refused(Exception):
    """A bad input: ``kind`` names the problem for logs; ``reply`` is sent before closing;
    ``syslog`` is a %SMI-... message logged as is (with ``text`` as its reason)."""

    def __init__(
        self,
        kind: str,
        text: str,
        reply: bytes = b"",
        level: int = logging.WARNING,
        syslog: str | None = None,
    ):
        super().__init__(text)
        self.kind = kind
        self.text = text
        self.reply = reply
        self.level = level
        self.syslog = syslog


class _Quiet(Exception):
    """Close without logging (idle connection that never spoke, peer went away)."""


# ------------------------------------------------------------------------------ base server


class _SmiListener:
    role = "smi"

    def __init__(
        self,
        host: str,
        port: int,
        security: SmiSecurity,
        limits: SmiLimits,
        on_invalid: InvalidHook | None,
        counters: CounterBook | None = None,
        is_known: Callable[[str], bool] | None = None,
    ) -> None:
        self.host = host
        self._port = port
        self.security = security
        self.limits = limits
        self.on_invalid = on_invalid
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._throttle = LogThrottle(limits.log_interval, limits.max_tracked_peers)
        #: connection slots: per source, the director's known clients first (smi_admission)
        self.admission = Admission(limits, is_known)
        # the counters accepted from each sender (and this endpoint's own, to seal with)
        self.counters = (
            CounterBook(capacity=security.replay_capacity) if counters is None else counters
        )
        self.stats: dict[str, int] = {"accepted": 0, "refused": 0, "handled": 0}

    @property
    def port(self) -> int:
        if self._server is not None and self._server.sockets:
            port: int = self._server.sockets[0].getsockname()[1]
            return port
        return self._port

    @property
    def active_connections(self) -> int:
        return self.admission.active

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._on_connect, self.host, self._port, limit=64 * 1024, backlog=512
        )
        log.info(
            "SMI %s listening on %s:%d (%s mode)",
            self.role,
            self.host,
            self.port,
            self.security.mode,
        )

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- connection bookkeeping

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._guarded(reader, writer)
        except asyncio.CancelledError:
            # the server closes (shutdown): the connection ends here; a cancellation left to
            # asyncio's stream callback is logged as an error with a traceback
            writer.transport.abort()
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def _guarded(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            name = writer.get_extra_info("peername")
            peer = Peer(str(name[0]), int(name[1]))
        except Exception:
            writer.transport.abort()
            return
        admitted = self._admit(peer) or self.admission.admit(peer.host, writer.transport.abort)
        if isinstance(admitted, Refusal):
            self.stats["refused"] += 1
            self._throttle.emit(logging.WARNING, peer, admitted.kind, admitted.text)
            writer.transport.abort()  # a client sees its report refused and sends it again
            return
        self.stats["accepted"] += 1
        _SLOT.set(admitted)
        after: Callable[[], Awaitable[None]] | None = None
        try:
            after = await self._serve(reader, writer, peer)
        except _Refused as refused:
            self._throttle.emit(refused.level, peer, refused.kind, refused.text, refused.syslog)
            await self._reply_and_close(reader, writer, refused.reply)
        except (_Quiet, ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            writer.transport.abort()
            raise
        except Exception:
            log.exception("SMI %s: internal error serving %s", self.role, peer)
        finally:
            self.admission.release(admitted)
            if not writer.is_closing():
                writer.close()
        if after is not None:
            try:
                await after()
            except Exception:
                log.exception("SMI %s: owner failed on a message from %s", self.role, peer)

    def _admit(self, peer: Peer) -> Refusal | None:
        """A refusal before any slot is counted (the role's own rules)."""
        return None

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: Peer
    ) -> Callable[[], Awaitable[None]] | None:
        raise NotImplementedError

    # -- reading

    #: the largest payload this role receives (before the authentication trailer)
    max_role_payload: int = 0

    def _max_payload(self) -> int:
        if self.limits.max_payload is not None:
            return self.limits.max_payload
        return self.max_role_payload + smi_auth.AUTH_TRAILER_SIZE

    def _prefix_ok(self, data: bytes) -> bool:
        return True

    async def _read_message(
        self, reader: asyncio.StreamReader, garbage_reply: bytes
    ) -> tuple[Header, bytes]:
        """Read one header + payload: the first byte within ``idle_timeout``, the whole message
        within ``read_timeout`` of its first byte, at most the role's maximum size."""
        buf = b""
        loop = asyncio.get_running_loop()
        slot = _SLOT.get()
        idle = slot.idle_timeout if slot is not None else self.limits.idle_timeout
        deadline = loop.time() + idle
        while len(buf) < HEADER_SIZE:
            try:
                async with asyncio.timeout_at(deadline):
                    chunk = await reader.read(HEADER_SIZE - len(buf))
            except TimeoutError:
                if not buf:
                    raise _Quiet() from None
                raise _Refused(
                    "slow header",
                    f"{len(buf)} of {HEADER_SIZE} header bytes before the deadline",
                    garbage_reply,
                ) from None
            if not chunk:
                if not buf:
                    raise _Quiet()
                raise _Refused(
                    "short message", f"connection ended after {len(buf)} bytes", garbage_reply
                )
            if not buf:
                deadline = loop.time() + self.limits.read_timeout
                if slot is not None:
                    slot.spoke = True
            buf += chunk
            if not self._prefix_ok(buf):
                raise _Refused(
                    "not Smart Install",
                    f"unexpected header bytes {buf.hex()}",
                    garbage_reply,
                    logging.INFO,
                )
        header = Header.decode(buf)
        self._check_header(header, garbage_reply)
        limit = self._max_payload()
        if header.length > limit:
            raise _Refused(
                "oversized message",
                f"length {header.length} exceeds the maximum {limit}",
                garbage_reply,
            )
        try:
            async with asyncio.timeout_at(deadline):
                payload = await reader.readexactly(header.length)
        except TimeoutError:
            raise _Refused(
                "slow message",
                f"payload of {header.length} bytes not complete "
                f"within {self.limits.read_timeout} s",
                garbage_reply,
            ) from None
        except asyncio.IncompleteReadError as exc:
            raise _Refused(
                "truncated message",
                f"length {header.length} but the stream ended "
                f"after {len(exc.partial)} payload bytes",
                garbage_reply,
            ) from None
        return header, payload

    def _check_header(self, header: Header, garbage_reply: bytes) -> None:
        """Refuse a header before reading its payload."""

    async def _reply_and_close(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, reply: bytes
    ) -> None:
        """Send a reply in one write, then let the peer read it before closing: drain what the
        peer still sends (bounded) so the close is a FIN, not a reset that could discard it."""
        with contextlib.suppress(Exception):
            if reply:
                writer.write(reply)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
            async with asyncio.timeout(0.5):
                drained = 0
                while drained < 64 * 1024:
                    chunk = await reader.read(4096)
                    if not chunk:
                        break
                    drained += len(chunk)
        writer.close()

    # -- authentication

    def _authenticate(
        self, header: Header, payload: bytes, peer: Peer, recipient: PeerId | None
    ) -> tuple[Header, bytes, Unsealed | None]:
        """Strip and check the trailer when a key is configured: the MAC, that ``recipient``
        (this endpoint) is the one named, and the timestamp. Returns the inner header and
        payload and what the trailer said (None: not authenticated, legacy mode). The counter
        is checked by :meth:`_accept`, once the message is known to be well formed."""
        key = self.security.key
        if key is None:
            return header, payload, None
        data = header.encode() + payload
        skew = self.security.max_skew * 1000
        try:
            unsealed = open_sealed(data, key, recipient, skew, _now_ms())
        except ReplayError as exc:
            self._invalid(peer, header, exc.reason, replay=True)
        except SmiDecodeError as exc:
            self._invalid(peer, header, exc.reason)
        inner, inner_payload, _ = decode_frame(unsealed.frame, len(unsealed.frame))
        return inner, inner_payload, unsealed

    async def _accept(self, unsealed: Unsealed, peer: Peer, header: Header) -> None:
        """Accept the sender's counter once, durably, before the message is acted on."""
        try:
            await self.counters.accept(unsealed.sender, unsealed.counter)
        except ReplayError as exc:
            self._invalid(peer, header, exc.reason, replay=True)
        except SmiDecodeError as exc:
            self._invalid(peer, header, exc.reason)
        except OSError as exc:
            raise _Refused(
                "counter store", f"counter not recorded ({exc}); message refused", b""
            ) from None

    def _invalid(self, peer: Peer, header: Header, reason: str, replay: bool = False) -> NoReturn:
        event = InvalidMessage(
            peer, _device(header.sender), header.version, header.msg_type, reason
        )
        if self.on_invalid is not None:
            with contextlib.suppress(Exception):
                self.on_invalid(event)
        if replay:  # an authentic message out of place: a capture replayed, or misdirected
            self._throttle.emit(logging.WARNING, peer, "replayed message", reason)
        raise _Refused("invalid message", reason, b"", logging.INFO, syslog=event.text)


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


# --------------------------------------------------------------------------------- probing


class ProbeVerdict(enum.Enum):
    CLIENT = "Smart Install client"
    DIRECTOR = "Smart Install director"
    SMI_STATUS = "Smart Install (status reply to the probe)"
    OTHER = "not Smart Install"
    NO_ANSWER = "no answer"


@dataclass(frozen=True)
class ProbeResult:
    verdict: ProbeVerdict
    reply: bytes

    @property
    def detail(self) -> str:
        if self.verdict is ProbeVerdict.CLIENT:
            return "replied with the 24-byte client reply"
        if self.verdict is ProbeVerdict.DIRECTOR:
            return "accepted the probe and closed without a reply"
        if self.verdict is ProbeVerdict.SMI_STATUS:
            return "replied with the 20-byte status reply"
        if self.verdict is ProbeVerdict.NO_ANSWER:
            return "connection open but no reply before the timeout"
        return f"replied {len(self.reply)} bytes: {self.reply[:32].hex()}"


def classify_probe_reply(reply: bytes, closed: bool) -> ProbeVerdict:
    """Cisco's smi_check rule: the exact 24 bytes mean client, an empty read means director."""
    if reply == CLIENT_PROBE_REPLY:
        return ProbeVerdict.CLIENT
    if not reply:
        return ProbeVerdict.DIRECTOR if closed else ProbeVerdict.NO_ANSWER
    if reply == STATUS_REPLY:
        return ProbeVerdict.SMI_STATUS
    return ProbeVerdict.OTHER


async def probe(host: str, port: int = SMI_PORT, timeout: float = 5.0) -> ProbeResult:
    """Send the public probe and classify the answer. Raises OSError/TimeoutError on connect."""
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(host, port)
    reply = b""
    closed = False
    try:
        writer.write(PROBE)
        await writer.drain()
        try:
            async with asyncio.timeout(timeout):
                while len(reply) < len(CLIENT_PROBE_REPLY) + 1:
                    chunk = await reader.read(64)
                    if not chunk:
                        closed = True
                        break
                    reply += chunk
        except TimeoutError:
            pass
        except ConnectionError:
            closed = True
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    return ProbeResult(classify_probe_reply(reply, closed), reply)


__all__ = [
    "SMI_PORT",
    "ClientMessageReceived",
    "CommandReceived",
    "DirectorCommand",
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
