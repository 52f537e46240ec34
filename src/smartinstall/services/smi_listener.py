"""Smart Install connections on TCP 4786: what both roles' listeners share.

Every listener bounds what a peer can cost: connections in all and per peer, a per-peer message
rate, a deadline for the first header and for each whole message, and a maximum message size.
Every bad input is logged once, with the peer address (floods from one peer are summarised),
and nothing a peer sends can end the server.

With a key (:class:`~smartinstall.services.smi_security.SmiSecurity`) every message must carry
the HMAC trailer of :mod:`smartinstall.wire.smi_auth`, name this endpoint as its recipient (a
client by its MAC, the director by the address the message was sent to) and carry a counter
above every one accepted from its sender before
(:class:`~smartinstall.services.smi_replay.CounterBook`, kept across restarts); refused
messages are logged as ``%SMI-6-SMI_INVALID_MESSAGE`` in the guide's format.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Final, NoReturn, Self, TypeVar

from smartinstall.services.smi_admission import Admission, LogThrottle, Refusal, Slot, SmiLimits
from smartinstall.services.smi_replay import CounterBook, open_sealed
from smartinstall.services.smi_security import SmiSecurity, _now_ms
from smartinstall.wire import smi_auth
from smartinstall.wire.smi import HEADER_SIZE, Header, Sender, SmiDecodeError, decode_frame
from smartinstall.wire.smi_auth import PeerId, ReplayError, Unsealed

# one logger for the whole service (smi_admission logs under it too)
log = logging.getLogger("smartinstall.services.smi")

SMI_PORT: Final = 4786


# ------------------------------------------------------------------------- plain data out


@dataclass(frozen=True)
class Peer:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


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
