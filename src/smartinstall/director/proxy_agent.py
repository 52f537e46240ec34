"""The PnP agent inside the SMI Proxy (guide, "How SMI Proxy and PnP Agent Communicate"): it
speaks the PnP protocol over HTTP or HTTPS to the PnP server of the proxy's profile, on behalf of
each Smart Install client, with the client's own UDI.

One :class:`ClientAgent` per client:

* the device-came-up notification: a work request as soon as the client is in the proxy
  database (and again whenever it comes back after a reload);
* the server's answer is one service request, carried out by the proxy on the client
  (:class:`ClientServices`) and answered on ``/pnp/WORK-RESPONSE``; the server's bye then
  brings the next work request at once ("When the SMI Proxy receives the work information bye
  request from PnP Server, it immediately sends the work request");
* a backoff request starts the backoff timer (one-time ``callbackAfter``, a new default
  interval, or ``terminate``), after which the next work request goes;
* services other than the seven of the guide get ``PNP_ERROR_UNSUPPORTED_REQUEST``, "SMI
  PROXY:Not supported service request".

:class:`PnpHttpClient` is the transport: one request per connection (``Connection: close``),
bounded replies, and for HTTPS the server's certificate checked against the CA file of the
profile (or the system's CAs) and its address.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from smartinstall.domain.proxy import ClientUdi, EntryState, PnpServerAddress, PnpTransport
from smartinstall.wire import pnp

log = logging.getLogger(__name__)

MAX_HEADER = 16 * 1024
USER_AGENT = "smartinstall-smi-proxy"


class PnpTransportError(Exception):
    """The PnP server could not be reached or answered with an HTTP error."""


@dataclass(frozen=True)
class AgentTimers:
    """The agent's waits, in seconds: ``retry`` between work requests when the server gives no
    work and no backoff (the PnP agent's 30 s default), ``error_retry`` after the server could
    not be reached, ``timeout`` of one HTTP exchange."""

    retry: float = 30.0
    error_retry: float = 60.0
    timeout: float = 30.0


def tls_context(server: PnpServerAddress, flash: Path) -> ssl.SSLContext:
    """The client context of an HTTPS profile: certificates verified, the address checked
    (the certificate must name the server's IP address), CAs from ``remotecert`` on flash: or
    the system's."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if server.remotecert:
        name = server.remotecert.split(":", 1)[-1].lstrip("/")
        path = (flash / name).resolve()
        if flash.resolve() not in path.parents:
            raise PnpTransportError(f"remotecert {server.remotecert}: not a file on flash:")
        context.load_verify_locations(cafile=str(path))
    return context


class PnpHttpClient:
    """POST PnP messages to one PnP server (``GET /pnp/HELLO`` too)."""

    def __init__(
        self, server: PnpServerAddress, ssl_context: ssl.SSLContext | None, timeout: float
    ) -> None:
        self.server = server
        self.ssl_context = ssl_context
        self.timeout = timeout
        if server.transport is PnpTransport.HTTPS and ssl_context is None:
            raise PnpTransportError("an https transport needs a TLS context")

    async def request(self, method: str, path: str, body: bytes = b"") -> bytes:
        """One HTTP exchange; the reply body (bounded by the codec's message size)."""
        host, port = self.server.address, self.server.port
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: {USER_AGENT}\r\n"
            f"Connection: close\r\nContent-Length: {len(body)}\r\n"
        )
        if body:
            head += "Content-Type: text/xml; charset=utf-8\r\n"
        try:
            async with asyncio.timeout(self.timeout):
                reader, writer = await asyncio.open_connection(
                    host,
                    port,
                    ssl=self.ssl_context,
                    server_hostname=host if self.ssl_context is not None else None,
                )
                try:
                    writer.write(head.encode() + b"\r\n" + body)
                    await writer.drain()
                    return await read_reply(reader)
                finally:
                    writer.close()
                    with contextlib.suppress(Exception):
                        await writer.wait_closed()
        except ssl.SSLError as error:
            raise PnpTransportError(f"TLS with {host}:{port}: {error.reason or error}") from None
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as error:
            text = str(error) or type(error).__name__
            raise PnpTransportError(f"{self.server.base_url}{path}: {text}") from None

    async def hello(self) -> None:
        await self.request("GET", pnp.HELLO_PATH)

    async def work_request(self, message: bytes) -> bytes:
        return await self.request("POST", pnp.WORK_REQUEST_PATH, message)

    async def work_response(self, message: bytes) -> bytes:
        return await self.request("POST", pnp.WORK_RESPONSE_PATH, message)


async def read_reply(reader: asyncio.StreamReader) -> bytes:
    """The body of an HTTP reply (status 200), bounded; PnpTransportError for anything else
    (never another exception for what the peer sends)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        raise PnpTransportError("reply header too large") from None
    except asyncio.IncompleteReadError:
        raise PnpTransportError("reply ended before its header did") from None
    if len(head) > MAX_HEADER:
        raise PnpTransportError("reply header too large")
    lines = head.decode("latin-1").split("\r\n")
    status = lines[0].split()
    if len(status) < 2 or not (status[1].isascii() and status[1].isdigit()):
        raise PnpTransportError(f"not an HTTP reply: {lines[0][:60]!r}")
    code = int(status[1][:6])
    length: int | None = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        value = value.strip()
        if name.strip().lower() == "content-length" and value.isascii() and value.isdigit():
            length = int(value[:12])
    if length is not None and length > pnp.MAX_MESSAGE_SIZE:
        raise PnpTransportError("reply larger than a PnP message may be")
    if length is not None:
        try:
            body = await reader.readexactly(length)
        except asyncio.IncompleteReadError:
            raise PnpTransportError("reply shorter than its Content-Length") from None
    else:
        data = bytearray()
        while chunk := await reader.read(65536):
            data += chunk
            if len(data) > pnp.MAX_MESSAGE_SIZE:
                raise PnpTransportError("reply larger than a PnP message may be")
        body = bytes(data)
    if code != 200:
        raise PnpTransportError(f"HTTP {code} {' '.join(status[2:])}".strip()[:80])
    return body


class ClientServices(Protocol):
    """What the proxy does on one Smart Install client for the PnP server's requests; each
    returns the response message to post (built with :mod:`smartinstall.wire.pnp`)."""

    async def image_install(self, request: pnp.ImageInstallRequest) -> bytes: ...

    async def config_upgrade(self, request: pnp.ConfigUpgradeRequest) -> bytes: ...

    def device_info(self, request: pnp.DeviceInfoRequest) -> bytes: ...

    def topology(self, request: pnp.TopologyRequest) -> bytes: ...


#: a coroutine the agent waits on: the client is active (ready for work)
WaitActive = Callable[[], Awaitable[object]]
#: told of every state the entry goes through
OnState = Callable[[EntryState], None]
#: told of every message sent: (path, message), for `debug vstack smi-proxy` and tests
OnSent = Callable[[str, bytes], None]


class ClientAgent:
    """The PnP exchanges of one proxied client, until stopped or terminated."""

    def __init__(
        self,
        udi: ClientUdi,
        mac: str,
        hostname: Callable[[], str],
        client: PnpHttpClient,
        services: ClientServices,
        wait_active: WaitActive,
        on_state: OnState,
        timers: AgentTimers,
        on_sent: OnSent | None = None,
    ) -> None:
        self.udi = pnp.Udi(udi.pid, udi.vid, udi.sn)
        self.mac = mac
        self.hostname = hostname
        self.client = client
        self.services = services
        self.wait_active = wait_active
        self.on_state = on_state
        self.timers = timers
        self.on_sent = on_sent
        self.interval = timers.retry  # a backoff's defaultMinutes changes it for good
        self.sid: str | None = None
        self._sequence = 0
        self._token = secrets.token_hex(4).upper()
        self.came_up = asyncio.Event()  # the client came up again: ask for work at once

    def correlator(self) -> str:
        self._sequence += 1
        return f"CiscoPnP-1.0-{self._sequence}-{self._token}"

    def _sent(self, path: str, message: bytes) -> None:
        if self.on_sent is not None:
            self.on_sent(path, message)

    async def run(self) -> None:
        """Work requests until the server terminates the exchanges (or the task is
        cancelled): each answer carried out, each bye followed by the next work request."""
        first = True
        while True:
            await self.wait_active()
            self.on_state(EntryState.HELLO if first else EntryState.WORKING)
            first = False
            try:
                wait = await self.exchange()
            except PnpTransportError as error:
                log.warning("SMI proxy %s: PnP server: %s", self.udi, error)
                self.on_state(EntryState.FAILED)
                wait = self.timers.error_retry
            if wait is None:
                self.on_state(EntryState.TERMINATED)
                log.info("SMI proxy %s: the PnP server ended the exchanges", self.udi)
                return
            if wait > 0:
                self.on_state(EntryState.BACKOFF)
                self.came_up.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.came_up.wait(), wait)

    async def exchange(self) -> float | None:
        """One work request and what follows it; the seconds to wait before the next work
        request (0: at once), None when the server terminated the exchanges."""
        correlator = self.correlator()
        message = pnp.encode_work_request(
            self.udi,
            correlator,
            hostname=self.hostname() or "Switch",
            via_proxy=True,
            mac_address=self.mac,
            sid=self.sid,
        )
        self._sent(pnp.WORK_REQUEST_PATH, message)
        reply = await self.client.work_request(message)
        try:
            request = pnp.decode_request(reply) if reply.strip() else pnp.NoWork()
        except pnp.PnpDecodeError as error:
            log.warning("SMI proxy %s: PnP request not understood: %s", self.udi, error)
            fault = pnp.encode_fault(self.udi)
            self._sent(pnp.WORK_RESPONSE_PATH, fault)
            await self.client.work_response(fault)
            return self.interval
        if request.sid:
            self.sid = request.sid
        if isinstance(request, pnp.NoWork):
            return self.interval
        if isinstance(request, pnp.ByeRequest):
            # a bye instead of work: nothing to do now (the bye that answers a work response
            # is the one that brings the next work request at once, below)
            if request.session_id:
                self.sid = request.session_id
            return self.interval
        log.info("SMI proxy %s: %s request", self.udi, type(request).__name__)
        wait = 0.0
        if isinstance(request, pnp.BackoffRequest):
            wait_or_none = self._backoff(request)
            response = pnp.encode_backoff_response(self.udi, request.correlator, sid=self.sid)
        else:
            self.on_state(EntryState.WORKING)
            response = await self._carry_out(request)
        self._sent(pnp.WORK_RESPONSE_PATH, response)
        bye = await self.client.work_response(response)
        with contextlib.suppress(pnp.PnpDecodeError):
            answer = pnp.decode_request(bye) if bye.strip() else None
            if isinstance(answer, pnp.ByeRequest) and answer.session_id:
                self.sid = answer.session_id
        if isinstance(request, pnp.BackoffRequest):
            return wait_or_none
        return wait

    def _backoff(self, request: pnp.BackoffRequest) -> float | None:
        if request.terminate:
            return None
        if request.default_minutes is not None:
            self.interval = float(request.default_minutes * 60)
            return self.interval
        seconds = request.callback_after_seconds
        return float(pnp.DEFAULT_CALLBACK_SECONDS if seconds is None else seconds)

    async def _carry_out(self, request: pnp.ServiceRequest) -> bytes:
        """The response to one service request (the seven of the guide; any other gets
        PNP_ERROR_UNSUPPORTED_REQUEST)."""
        udi, sid = self.udi, self.sid
        if isinstance(request, pnp.CapabilityRequest):
            return pnp.encode_capability_response(udi, request.correlator, sid=sid)
        if isinstance(request, pnp.DeviceInfoRequest):
            return self.services.device_info(request)
        if isinstance(request, pnp.TopologyRequest):
            return self.services.topology(request)
        if isinstance(request, pnp.ConfigUpgradeRequest):
            if request.apply_to.lower() != "startup":
                # "SMI supports only copying the configuration upgrade to the startup
                # configuration on proxied SMI clients"
                return pnp.encode_config_upgrade_response(
                    udi, request.correlator, error=pnp.ERROR_CONFIG_RUNNING_UNSUPPORTED, sid=sid
                )
            return await self.services.config_upgrade(request)
        if isinstance(request, pnp.ImageInstallRequest):
            return await self.services.image_install(request)
        namespace = getattr(request, "namespace", pnp.NS_WORK_INFO)
        return pnp.encode_error_response(
            udi, namespace, request.correlator, pnp.ERROR_UNSUPPORTED_REQUEST, sid=sid
        )


__all__ = [
    "AgentTimers",
    "ClientAgent",
    "ClientServices",
    "PnpHttpClient",
    "PnpTransportError",
    "read_reply",
    "tls_context",
]
