"""The director's SNMP agent (pysnmp, on the director's event loop): SNMPv2-MIB ``system`` and
CISCO-SMART-INSTALL-MIB over the director's memory, and the MIB's notifications.

The agent is configured by the ``snmp-server …`` lines (:mod:`smartinstall.domain.snmp`):
communities (v1/v2c, RO or RW), SNMPv3 USM users (authPriv, SHA or SHA-256 with AES-128) in
groups with read and write views, and notification hosts (v2c traps, v3 informs). It reads
what it answers through a callable that returns :class:`~smartinstall.services.snmp_mib.MibInputs`
from the director's in-memory state — never the database — and caches the sorted object list
for up to two seconds, so a walk of a large device table costs one build.

A SET goes to the ``write`` callable (the director's owner of the settings), which refuses it
with a :class:`SetRefused` naming the SNMP error, or applies it as a CLI command would.
"""

from __future__ import annotations

import asyncio
import bisect
import copy
import dataclasses
import errno
import hashlib
import logging
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pysnmp.carrier.asyncio.dgram import udp
from pysnmp.entity import config, engine
from pysnmp.entity.rfc3413 import cmdrsp, context, ntforg
from pysnmp.proto import rfc1902, rfc1905
from pysnmp.smi import error as smi_error
from pysnmp.smi.instrum import AbstractMibInstrumController

from smartinstall.domain.snmp import DEFAULT_VIEW, SnmpSettings, subtree_oid
from smartinstall.ios.config import write_atomic
from smartinstall.services.snmp_mib import (
    SNMP_TRAP_OID,
    SYS_UPTIME,
    MibInputs,
    Oid,
    Value,
    VarBind,
    mib_objects,
)

log = logging.getLogger(__name__)

#: how long one build of the object list answers (a walk is many GETNEXT/GETBULK requests;
#: a build of a 1,000-device table takes about 0.1 s); the director's owner invalidates it at
#: once when devices join or leave and when the settings change
CACHE_SECONDS = 2.0
ALL_VIEW = "_all"  # the view of communities and of groups that name no read view
# No access: a view that excludes everything. pysnmp 7 grants access through a view name
# that has no entries at all (an empty or unknown name), so none may ever be configured.
NO_VIEW = "_none"
BIND_ATTEMPTS = 25  # 0.02 s apart
INFORM_TIMEOUT = 1.5  # seconds; pysnmp's unit is 1/100 s
INFORM_RETRIES = 2

AUTH = {"sha": config.USM_AUTH_HMAC96_SHA, "sha256": config.USM_AUTH_HMAC192_SHA256}
ERRORS: dict[str, type[smi_error.SmiError]] = {
    "notWritable": smi_error.NotWritableError,
    "wrongType": smi_error.WrongTypeError,
    "wrongValue": smi_error.WrongValueError,
    "wrongLength": smi_error.WrongLengthError,
    "inconsistentValue": smi_error.InconsistentValueError,
    "noCreation": smi_error.NoCreationError,
    "commitFailed": smi_error.CommitFailedError,
}


class SetRefused(Exception):
    """A SET the director refuses; ``status`` is the SNMP error (a key of :data:`ERRORS`)."""

    def __init__(self, status: str, reason: str = "") -> None:
        super().__init__(reason or status)
        self.status = status


#: checks (``apply`` False) or applies (``apply`` True) the SETs of one request, all or none
WriteObjects = Callable[[Sequence[VarBind], bool], None]


class DirectorMib(AbstractMibInstrumController):  # type: ignore[misc]
    """The agent's objects: a sorted (OID, value) list built from the director's memory."""

    def __init__(self, read: Callable[[], MibInputs], write: WriteObjects | None = None) -> None:
        self._read = read
        self._write = write
        self._built_at = -CACHE_SECONDS
        self._oids: list[Oid] = []
        self._values: list[Value] = []

    def invalidate(self) -> None:
        self._built_at = -CACHE_SECONDS

    def objects(self) -> tuple[list[Oid], list[Value]]:
        now = time.monotonic()
        if now - self._built_at >= CACHE_SECONDS:
            pairs = mib_objects(self._read())
            self._oids = [oid for oid, _ in pairs]
            self._values = [value for _, value in pairs]
            self._built_at = now
        return self._oids, self._values

    @staticmethod
    def _hidden(view: str, oid: Oid, value: Value, idx: int, ctx: dict[str, Any]) -> bool:
        """Whether the VACM view of the request leaves the object out (raises when the
        requester has no access at all)."""
        check = ctx.get("acFun")
        if check is None:
            return False
        ctx["idx"] = idx
        return bool(check(view, (rfc1902.ObjectName(oid), value), **ctx))

    def read_variables(self, *var_binds: Any, **ctx: Any) -> list[tuple[Any, Any]]:
        oids, values = self.objects()
        answer: list[tuple[Any, Any]] = []
        for idx, (name, _) in enumerate(var_binds):
            oid = tuple(name)
            at = bisect.bisect_left(oids, oid)
            found = at < len(oids) and oids[at] == oid
            if found:
                value = values[at]
            else:
                value = rfc1905.noSuchInstance if _under_known(oid) else rfc1905.noSuchObject
            if self._hidden("read", oid, values[at] if found else None, idx, ctx):
                value = rfc1905.noSuchObject
            answer.append((rfc1902.ObjectName(oid), value))
        return answer

    def read_next_variables(self, *var_binds: Any, **ctx: Any) -> list[tuple[Any, Any]]:
        oids, values = self.objects()
        answer: list[tuple[Any, Any]] = []
        for idx, (name, _) in enumerate(var_binds):
            oid = tuple(name)
            at = bisect.bisect_right(oids, oid)
            while at < len(oids) and self._hidden("read", oids[at], values[at], idx, ctx):
                at += 1
            if at < len(oids):
                answer.append((rfc1902.ObjectName(oids[at]), values[at]))
            else:
                answer.append((rfc1902.ObjectName(oid), rfc1905.endOfMibView))
        return answer

    def write_variables(self, *var_binds: Any, **ctx: Any) -> list[tuple[Any, Any]]:
        binds: list[VarBind] = []
        for idx, (name, value) in enumerate(var_binds):
            oid = tuple(name)
            if self._hidden("write", oid, value, idx, ctx):
                raise smi_error.NoAccessError(name=name, idx=idx)
            binds.append((oid, value))
        if self._write is None:
            raise smi_error.NotWritableError(name=var_binds[0][0], idx=0)
        for apply in (False, True):
            try:
                self._write(binds, apply)
            except SetRefused as refused:
                kind = ERRORS.get(refused.status, smi_error.GenError)
                log.info("SNMP set refused (%s): %s", refused.status, refused)
                raise kind(name=var_binds[0][0], idx=_index_of(refused, len(binds))) from None
            except Exception:
                # a fault of ours: the manager gets genErr, the log the traceback
                log.exception("SNMP set failed")
                raise smi_error.GenError(name=var_binds[0][0], idx=0) from None
        self.invalidate()
        return list(var_binds)


def _index_of(refused: SetRefused, count: int) -> int:
    index = getattr(refused, "index", 0)
    return index if isinstance(index, int) and 0 <= index < count else 0


def _under_known(oid: Oid) -> bool:
    """noSuchInstance under an object the agent implements, noSuchObject elsewhere."""
    return oid[:9] == (1, 3, 6, 1, 4, 1, 9, 9, 725) or oid[:7] == (1, 3, 6, 1, 2, 1, 1)


class GuardedUdpTransport(udp.UdpAsyncioTransport):  # type: ignore[misc]
    """pysnmp's UDP transport, with every datagram handled inside a guard: a packet pysnmp
    cannot decode (some malformed BER raises from pyasn1) is dropped and counted, never a
    traceback per packet in the log."""

    dropped = 0

    def datagram_received(self, datagram: bytes, address: Any) -> None:
        self.loop.call_soon(self._handle, address, datagram)

    def _handle(self, address: Any, datagram: bytes) -> None:
        try:
            self._callback_function(self, address, datagram)
        except Exception as error:
            self.dropped += 1
            if self.dropped & (self.dropped - 1) == 0:  # 1st, 2nd, 4th, 8th …
                log.warning(
                    "SNMP datagram from %s dropped (%s: %s); %d so far",
                    address[0] if address else "?",
                    type(error).__name__,
                    str(error)[:80],
                    self.dropped,
                )


def engine_id(address: str, port: int) -> bytes:
    """A stable snmpEngineID (RFC 3411 format 4, text, under Cisco's enterprise number 9):
    USM keys and managers' caches survive a restart of the director."""
    digest = hashlib.sha256(f"smartinstall {address}:{port}".encode()).hexdigest()[:16]
    return b"\x80\x00\x00\x09\x04" + digest.encode()


@dataclass
class _Agent:
    snmp_engine: engine.SnmpEngine
    originator: ntforg.NotificationOriginator
    targets: list[str]
    responders: list[Any]


#: snmpEngineBoots never goes past this (RFC 3414, 2.2.2: the engine then needs a new key)
MAX_BOOTS = 2_147_483_647
BOOTS_FILE = "engine-boots"


def next_boots(state_dir: Path | None) -> int:
    """This start's snmpEngineBoots: one more than the last, kept in ``state_dir`` (written
    atomically; RFC 3414 USM refuses messages of an engine whose boots went back). Without a
    directory the count starts at 1. Runs off the loop (it fsyncs)."""
    if state_dir is None:
        return 1
    path = state_dir / BOOTS_FILE
    try:
        last = int(path.read_text(encoding="ascii").strip() or 0)
    except FileNotFoundError:
        last = 0
    except (OSError, ValueError) as error:
        log.warning("SNMP engine boots unreadable in %s (%s): counting on from 0", path, error)
        last = 0
    boots = min(max(last, 0) + 1, MAX_BOOTS)
    write_atomic(path, f"{boots}\n".encode("ascii"))
    return boots


def _engine(eid: bytes, state_dir: Path | None) -> engine.SnmpEngine:
    """A pysnmp engine with the director's snmpEngineID and boots. Given an engine ID, pysnmp
    keeps its boots under the machine's temporary directory (one folder per engine ID, shared
    by every process); the director keeps them in its data directory instead."""
    snmp_engine = engine.SnmpEngine()  # no ID given: pysnmp writes nothing of its own
    builder = snmp_engine.get_mib_builder()
    (engine_id_object,) = builder.import_symbols("__SNMP-FRAMEWORK-MIB", "snmpEngineID")
    engine_id_object.syntax = engine_id_object.syntax.clone(rfc1902.OctetString(eid))
    snmp_engine.snmpEngineID = engine_id_object.syntax
    (boots_object,) = builder.import_symbols("__SNMP-FRAMEWORK-MIB", "snmpEngineBoots")
    boots_object.syntax = boots_object.syntax.clone(next_boots(state_dir))
    return snmp_engine


def _configure(
    eid: bytes, settings: SnmpSettings, mib: DirectorMib, state_dir: Path | None = None
) -> _Agent:
    """A pysnmp engine configured for ``settings`` (no transport yet; runs off the loop)."""
    snmp_engine = _engine(eid, state_dir)
    config.add_context(snmp_engine, b"")
    config.add_vacm_view(snmp_engine, ALL_VIEW, "included", (1,), b"")
    config.add_vacm_view(snmp_engine, NO_VIEW, "excluded", (1,), b"")
    names = {DEFAULT_VIEW: ALL_VIEW}
    for view in settings.views:
        config.add_vacm_view(
            snmp_engine, f"v-{view.name}", "included" if view.included else "excluded",
            subtree_oid(view.subtree), b"",
        )  # fmt: skip
        names[view.name] = f"v-{view.name}"
    community_names: dict[str, str] = {}
    for number, community in enumerate(settings.communities.values(), start=1):
        name = community_names[community.name] = f"community-{number}"
        config.add_v1_system(snmp_engine, name, community.name, securityName=name)
        config.add_vacm_group(snmp_engine, name, 1, name)
        config.add_vacm_group(snmp_engine, name, 2, name)
        for model in (1, 2):
            write = ALL_VIEW if community.write else NO_VIEW
            config.add_vacm_access(
                snmp_engine, name, b"", model, "noAuthNoPriv", "exact", ALL_VIEW, write, ALL_VIEW
            )
    for group in settings.groups.values():
        read = names.get(group.read_view or DEFAULT_VIEW, NO_VIEW)
        write = names.get(group.write_view, NO_VIEW) if group.write_view else NO_VIEW
        for level in ("authPriv", "authNoPriv"):
            config.add_vacm_access(
                snmp_engine, f"g-{group.name}", b"", 3, level, "exact", read, write, ALL_VIEW
            )
    for user in settings.users.values():
        config.add_v3_user(
            snmp_engine, user.name, AUTH[user.auth], user.auth_key,
            config.USM_PRIV_CFB128_AES, user.priv_key,
            authKeyType=config.USM_KEY_TYPE_MASTER, privKeyType=config.USM_KEY_TYPE_MASTER,
        )  # fmt: skip
        config.add_vacm_group(snmp_engine, f"g-{user.group}", 3, user.name)
    targets: list[str] = []
    for number, host in enumerate(settings.hosts, start=1):
        target = f"host-{number}"
        if host.version == "2c":
            security = community_names.get(host.name)
            if security is None:
                # a community for notifications only: no access from anywhere
                security = f"trap-{number}"
                config.add_v1_system(
                    snmp_engine, security, host.name, securityName=security,
                    transportTag=b"-notifications-only-",
                )  # fmt: skip
                config.add_vacm_user(snmp_engine, 2, security, "noAuthNoPriv", notifySubTree=(1,))
            config.add_target_parameters(snmp_engine, target, security, "noAuthNoPriv", 1)
            kind = "trap"
        else:
            if host.name not in settings.users:
                log.warning("snmp-server host %s: no snmp-server user %s", host.host, host.name)
                continue
            level = "authPriv" if host.level == "priv" else "authNoPriv"
            config.add_target_parameters(snmp_engine, target, host.name, level, 3)
            kind = "inform"
        config.add_target_address(
            snmp_engine, target, udp.DOMAIN_NAME, (host.host, host.port), target,
            tagList=target.encode(), timeout=int(INFORM_TIMEOUT * 100),
            retryCount=INFORM_RETRIES,
        )  # fmt: skip
        config.add_notification_target(snmp_engine, target, target, target.encode(), kind)
        targets.append(target)
    snmp_context = context.SnmpContext(snmp_engine)
    # the default context answers from the director's objects, not pysnmp's own MIB tree
    snmp_context.unregister_context_name(b"")
    snmp_context.register_context_name(b"", mib)
    responders = [
        cmdrsp.GetCommandResponder(snmp_engine, snmp_context),
        cmdrsp.NextCommandResponder(snmp_engine, snmp_context),
        cmdrsp.BulkCommandResponder(snmp_engine, snmp_context),
        cmdrsp.SetCommandResponder(snmp_engine, snmp_context),
    ]
    return _Agent(snmp_engine, ntforg.NotificationOriginator(), targets, responders)


class SnmpAgent:
    """The director's SNMP agent on ``address``:``port`` (UDP), following ``snmp-server``."""

    def __init__(
        self,
        address: str,
        port: int,
        read: Callable[[], MibInputs],
        write: WriteObjects | None = None,
        state_dir: Path | None = None,
    ) -> None:
        self.address = address
        #: where snmpEngineBoots is kept (the director's ``DATA/snmp``)
        self.state_dir = state_dir
        self.port = port
        self.mib = DirectorMib(read, write)
        self.settings: SnmpSettings | None = None
        self._agent: _Agent | None = None
        self.notifications_sent = 0
        self._started = time.monotonic()  # sysUpTime of the notifications

    @property
    def running(self) -> bool:
        return self._agent is not None

    async def follow(self, settings: SnmpSettings) -> None:
        """Start, reconfigure or stop the agent for ``settings`` (off with no snmp-server
        line); a port that cannot be opened raises OSError and leaves the agent off. The
        notification switch (``enable traps vstack``) is read when sending: it needs no
        restart."""
        wanted = dataclasses.replace(copy.deepcopy(settings), traps_vstack=False)
        if wanted == self.settings and (self._agent is not None) == wanted.active:
            return
        await self.close()
        self.settings = wanted
        if not wanted.active:
            return
        sock = await self._bind()
        try:
            eid = engine_id(self.address, self.port)
            agent = await asyncio.to_thread(_configure, eid, wanted, self.mib, self.state_dir)
            transport = GuardedUdpTransport(loop=asyncio.get_running_loop())
            config.add_transport(
                agent.snmp_engine, udp.DOMAIN_NAME, transport.open_server_mode(sock=sock)
            )
        except Exception:
            sock.close()
            raise
        self._agent = agent
        self.port = sock.getsockname()[1]
        log.info(
            "SNMP agent on %s:%d (%d communities, %d users, %d notification hosts)",
            self.address,
            self.port,
            len(wanted.communities),
            len(wanted.users),
            len(agent.targets),
        )

    async def _bind(self) -> socket.socket:
        """The agent's socket; a reconfiguration binds the port the closing agent held a
        moment ago, whose socket the event loop releases on its next turns."""
        for attempt in range(BIND_ATTEMPTS):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                sock.bind((self.address, self.port))
                sock.setblocking(False)
                return sock
            except OSError as error:
                sock.close()
                if error.errno != errno.EADDRINUSE or attempt == BIND_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.02)
        raise AssertionError("unreachable")

    async def close(self) -> None:
        agent, self._agent = self._agent, None
        if agent is None:
            return
        try:
            agent.snmp_engine.close_dispatcher()
        except Exception:
            log.exception("SNMP agent close failed")
        log.info("SNMP agent on %s:%d closed", self.address, self.port)

    def notify(self, oid: Oid, var_binds: Sequence[VarBind]) -> int:
        """Send a notification to every ``snmp-server host`` (v2c trap, v3 inform); returns
        how many targets it went to. The caller checks ``snmp-server enable traps vstack``."""
        agent = self._agent
        if agent is None:
            return 0
        uptime = int((time.monotonic() - self._started) * 100) % 2**32
        binds = [
            (SYS_UPTIME, rfc1902.TimeTicks(uptime)),
            (SNMP_TRAP_OID, rfc1902.ObjectIdentifier(oid)),
            *var_binds,
        ]
        sent = 0
        for target in agent.targets:
            try:
                agent.originator.send_varbinds(
                    agent.snmp_engine, target, None, b"", binds, _inform_done, target
                )
                sent += 1
            except Exception:
                log.exception("SNMP notification to %s failed", target)
        self.notifications_sent += sent
        return sent


def _inform_done(
    snmp_engine: Any, handle: Any, error: Any, status: Any, index: Any, binds: Any, target: Any
) -> None:
    if error:
        log.warning("SNMP notification to %s not acknowledged: %s", target, error)


__all__ = ["CACHE_SECONDS", "DirectorMib", "SetRefused", "SnmpAgent", "WriteObjects", "engine_id"]
