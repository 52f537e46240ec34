"""Server → agent service requests (capability, config-upgrade, device-info, image-install,
topology, backoff, bye, and any other service as :class:`UnsupportedRequest`): the typed
requests, :func:`decode_request` (agent side) and the ``encode_*_request`` functions (server
side)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias, TypedDict

from lxml import etree

from smartinstall.wire.pnp.envelope import (
    NS_BACKOFF,
    NS_CAPABILITY,
    NS_CLI_EXEC,
    NS_CONFIG_UPGRADE,
    NS_DEVICE_INFO,
    NS_IMAGE_INSTALL,
    NS_TOPOLOGY,
    NS_WORK_INFO,
    PnpDecodeError,
    UdiLike,
    _attr,
    _body,
    _body_el,
    _bool,
    _child,
    _envelope,
    _int,
    _local,
    _ns,
    _parse,
    _serialize,
    _sub,
    _text,
    _xml_bool,
    service_name,
)
from smartinstall.wire.pnp.work import encode_bye

#: Default one-time backoff when ``callbackAfter`` has no hours/minutes/seconds (XSD comment).
DEFAULT_CALLBACK_SECONDS = 15 * 60


# --- server → agent requests (what the agent decodes) ---------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Envelope:
    """Fields from the ``<pnp>`` envelope, common to every request (keyword-only)."""

    udi: str = ""  # the envelope's udi attribute: whom the request is for
    sid: str | None = None  # session id set by the server


@dataclass(frozen=True)
class CapabilityRequest(_Envelope):
    """``urn:cisco:pnp:capability`` request: which services does the agent support?"""

    correlator: str


@dataclass(frozen=True)
class ConfigUpgradeRequest(_Envelope):
    """``urn:cisco:pnp:config-upgrade`` request: copy a configuration file to the device.

    ``apply_to`` is ``startup``, ``running`` or ``AP``; when the request has no ``applyTo``
    (common server templates omit it) it is ``startup`` and ``apply_to_given`` is False.
    ``reload`` is True for ``<reload>``; ``reload_delay`` is its ``delayIn`` in seconds.
    """

    correlator: str
    source_uri: str
    apply_to: str = "startup"
    checksum: str | None = None
    reload: bool = True
    reload_delay: int | None = None
    reload_reason: str | None = None
    reload_user: str | None = None
    save_config: bool | None = None
    details: str | None = None
    abort_on_syntax_fault: bool = True
    apply_to_given: bool = True


@dataclass(frozen=True)
class DeviceInfoRequest(_Envelope):
    """``urn:cisco:pnp:device-info`` request; ``info_type`` is one of ``image``,
    ``hardware``, ``filesystem``, ``udi``, ``profile``, ``all`` (kept as sent)."""

    correlator: str
    info_type: str = "all"


@dataclass(frozen=True)
class ImageInstallRequest(_Envelope):
    """``urn:cisco:pnp:image-install`` request: copy (and boot) a new image.

    ``checksum`` is the MD5 the servers send (hex), ``destination`` e.g. ``flash:``.
    ``reload`` False means ``<noReload/>`` (or, leniently, neither element).
    """

    correlator: str
    image_uri: str
    checksum: str | None = None
    destination: str | None = None
    reload: bool = True
    reload_delay: int | None = None
    reload_reason: str | None = None
    reload_user: str | None = None
    save_config: bool | None = None


@dataclass(frozen=True)
class TopologyRequest(_Envelope):
    """``urn:cisco:pnp:topology`` request: the device's CDP neighbours."""

    correlator: str


@dataclass(frozen=True)
class BackoffRequest(_Envelope):
    """``urn:cisco:pnp:backoff`` request. Exactly one of: ``callback_after_seconds`` (one-time
    wait; 900 when the server gave no time), ``default_minutes`` (new polling interval for
    good), ``terminate`` (remove the profile)."""

    correlator: str
    reason: str = ""
    callback_after_seconds: int | None = None
    default_minutes: int | None = None
    terminate: bool = False


@dataclass(frozen=True)
class ByeRequest(_Envelope):
    """The server's bye (work-info ``<workInfo><bye/>``): transaction over, ask for more work."""

    correlator: str
    session_id: str | None = None


@dataclass(frozen=True)
class NoWork(_Envelope):
    """The server answered with an empty body: nothing to do now (poll again later)."""

    correlator: str = ""


@dataclass(frozen=True)
class UnsupportedRequest(_Envelope):
    """A request in any other service namespace (cli-exec, reload, …). Answer it with
    :func:`encode_error_response` and :data:`ERROR_UNSUPPORTED_REQUEST`."""

    namespace: str
    correlator: str

    @property
    def service(self) -> str:
        return service_name(self.namespace)


ServiceRequest: TypeAlias = (
    CapabilityRequest
    | ConfigUpgradeRequest
    | DeviceInfoRequest
    | ImageInstallRequest
    | TopologyRequest
    | BackoffRequest
    | ByeRequest
    | NoWork
    | UnsupportedRequest
)


# --- agent side: decode -----------------------------------------------------------------------


def _copy_source(copy: etree._Element | None, what: str) -> tuple[str, str | None]:
    source = _child(copy, "source")
    uri = _text(source, "location")
    if uri is None:
        uri = _text(source, "uri")
    if not uri:
        raise PnpDecodeError(f"{what} request without a source location")
    checksum = _text(source, "checksum") or None
    return uri, checksum


class _Reload(TypedDict):
    """The reload fields that config-upgrade and image-install share, named as in their
    requests and ``encode_*_request`` functions."""

    reload: bool
    reload_delay: int | None
    reload_reason: str | None
    reload_user: str | None
    save_config: bool | None


class _Env(TypedDict):
    """The :class:`_Envelope` fields."""

    udi: str
    sid: str | None


def _reload(body: etree._Element) -> _Reload:
    reload_el = _child(body, "reload")
    if reload_el is not None:
        return _Reload(
            reload=True,
            reload_delay=_int(_text(reload_el, "delayIn"), "delayIn"),
            reload_reason=_text(reload_el, "reason"),
            reload_user=_text(reload_el, "user"),
            save_config=_bool(_text(reload_el, "saveConfig")),
        )
    # <noReload/>, or (leniently, as ianz94's template) neither element: no reload
    return _Reload(
        reload=False, reload_delay=None, reload_reason=None, reload_user=None, save_config=None
    )


def _reload_of(request: ConfigUpgradeRequest | ImageInstallRequest) -> _Reload:
    return _Reload(
        reload=request.reload,
        reload_delay=request.reload_delay,
        reload_reason=request.reload_reason,
        reload_user=request.reload_user,
        save_config=request.save_config,
    )


def _decode_backoff(body: etree._Element, correlator: str, env: _Env) -> BackoffRequest:
    backoff = _child(body, "backoff")
    if backoff is None:
        raise PnpDecodeError("backoff request without <backoff>")
    reason = _text(backoff, "reason") or ""
    if _child(backoff, "terminate") is not None:
        return BackoffRequest(correlator, reason=reason, terminate=True, **env)
    minutes = _int(_text(backoff, "defaultMinutes"), "defaultMinutes", 1, 2880)
    if minutes is not None:
        return BackoffRequest(correlator, reason=reason, default_minutes=minutes, **env)
    cb = _child(backoff, "callbackAfter")
    if cb is None:
        raise PnpDecodeError("backoff without callbackAfter, defaultMinutes or terminate")
    h = _int(_text(cb, "hours"), "hours", 0, 10_000)
    m = _int(_text(cb, "minutes"), "minutes", 0, 10_000)
    s = _int(_text(cb, "seconds"), "seconds", 0, 1_000_000)
    if h is None and m is None and s is None:
        seconds = DEFAULT_CALLBACK_SECONDS
    else:
        seconds = (h or 0) * 3600 + (m or 0) * 60 + (s or 0)
    return BackoffRequest(correlator, reason=reason, callback_after_seconds=seconds, **env)


def decode_request(data: bytes) -> ServiceRequest:
    """Decode the server's answer to a work request (or to a work response).

    Empty body → :class:`NoWork`; a work-info bye → :class:`ByeRequest`; a request in one of
    the supported namespaces → its typed request; any other service namespace →
    :class:`UnsupportedRequest`. Raises :class:`PnpDecodeError` on anything else.
    """
    if isinstance(data, (bytes, bytearray, memoryview)) and not bytes(data).strip():
        return NoWork()
    root = _parse(data)
    body = _body(root)
    env = _Env(udi=_attr(root, "udi") or "", sid=_attr(root, "sid"))
    ns = _ns(body)
    kind = _local(body)
    correlator = _attr(body, "correlator")
    if ns == NS_WORK_INFO and kind == "info":
        work = _child(body, "workInfo")
        if work is None or _child(work, "bye") is None:
            raise PnpDecodeError("a work-info message from the server that is not a bye")
        return ByeRequest(correlator or "", session_id=_text(work, "sid"), **env)
    if kind != "request":
        raise PnpDecodeError(f"expected a service <request>, got <{kind}> in {ns!r}")
    if correlator is None:
        raise PnpDecodeError("request without a correlator")
    if ns == NS_CAPABILITY:
        return CapabilityRequest(correlator, **env)
    if ns == NS_TOPOLOGY:
        return TopologyRequest(correlator, **env)
    if ns == NS_DEVICE_INFO:
        di = _child(body, "deviceInfo")
        info_type = _attr(di, "type") if di is not None else None
        return DeviceInfoRequest(correlator, info_type or "all", **env)
    if ns == NS_CONFIG_UPGRADE:
        config = _child(body, "config")
        copy = _child(config, "copy")
        uri, checksum = _copy_source(copy, "config-upgrade")
        apply_to = _text(copy, "applyTo")
        return ConfigUpgradeRequest(
            correlator,
            uri,
            apply_to=apply_to or "startup",
            checksum=checksum,
            details=_attr(config, "details") if config is not None else None,
            abort_on_syntax_fault=_child(copy, "abortOnSyntaxFault") is not None,
            apply_to_given=bool(apply_to),
            **_reload(body),
            **env,
        )
    if ns == NS_IMAGE_INSTALL:
        copy = _child(_child(body, "image"), "copy")
        uri, checksum = _copy_source(copy, "image-install")
        dest = _child(copy, "destination")
        destination = None
        if dest is not None:
            destination = _text(dest, "location") or _text(dest, "uri") or None
        return ImageInstallRequest(
            correlator,
            uri,
            checksum=checksum,
            destination=destination,
            **_reload(body),
            **env,
        )
    if ns == NS_BACKOFF:
        return _decode_backoff(body, correlator, env)
    if not ns:
        raise PnpDecodeError("request without a service namespace")
    return UnsupportedRequest(ns, correlator, **env)


# --- server side: encode ----------------------------------------------------------------------


def _request(
    udi: UdiLike, ns: str, correlator: str, sid: str | None, extra: dict[str, str] | None = None
) -> tuple[etree._Element, etree._Element]:
    root = _envelope(udi, sid, extra)
    return root, _body_el(root, ns, "request", correlator)


def encode_capability_request(udi: UdiLike, correlator: str, *, sid: str | None = None) -> bytes:
    """Capability request (empty body)."""
    root, _ = _request(udi, NS_CAPABILITY, correlator, sid)
    return _serialize(root)


def encode_topology_request(udi: UdiLike, correlator: str, *, sid: str | None = None) -> bytes:
    """Topology request (empty body)."""
    root, _ = _request(udi, NS_TOPOLOGY, correlator, sid)
    return _serialize(root)


def encode_device_info_request(
    udi: UdiLike, correlator: str, info_type: str = "all", *, sid: str | None = None
) -> bytes:
    """Device-info request; ``info_type`` image|hardware|filesystem|udi|profile|all."""
    root, req = _request(udi, NS_DEVICE_INFO, correlator, sid)
    _sub(req, "deviceInfo").set("type", info_type)
    return _serialize(root)


def _reload_el(
    req: etree._Element,
    reload: bool,
    delay: int | None,
    reason: str | None,
    user: str | None,
    save_config: bool | None,
) -> None:
    if not reload:
        _sub(req, "noReload")
        return
    el = _sub(req, "reload")
    if reason is not None:
        _sub(el, "reason", reason)
    if delay is not None:
        _sub(el, "delayIn", str(int(delay)))
    if user is not None:
        _sub(el, "user", user)
    if save_config is not None:
        _sub(el, "saveConfig", _xml_bool(save_config))


def _source(copy: etree._Element, uri: str, checksum: str | None) -> None:
    source = _sub(copy, "source")
    _sub(source, "location", uri)
    if checksum is not None:
        _sub(source, "checksum", checksum)


def encode_config_upgrade_request(
    udi: UdiLike,
    correlator: str,
    source_uri: str,
    *,
    apply_to: str | None = "startup",
    checksum: str | None = None,
    reload: bool = True,
    reload_delay: int | None = 0,
    reload_reason: str | None = "pnp config upgrade",
    reload_user: str | None = "pnp",
    save_config: bool | None = False,
    details: str | None = "all",
    abort_on_syntax_fault: bool = True,
    sid: str | None = None,
) -> bytes:
    """Config-upgrade request in the full XSD form (``apply_to=None`` omits ``applyTo``, as
    many real servers do)."""
    root, req = _request(udi, NS_CONFIG_UPGRADE, correlator, sid)
    config = _sub(req, "config")
    if details is not None:
        config.set("details", details)
    copy = _sub(config, "copy")
    _source(copy, source_uri, checksum)
    if apply_to is not None:
        _sub(copy, "applyTo", apply_to)
    if abort_on_syntax_fault:
        _sub(copy, "abortOnSyntaxFault")
    _reload_el(req, reload, reload_delay, reload_reason, reload_user, save_config)
    return _serialize(root)


def encode_image_install_request(
    udi: UdiLike,
    correlator: str,
    image_uri: str,
    *,
    checksum: str | None = None,
    destination: str | None = "flash:",
    reload: bool = True,
    reload_delay: int | None = 0,
    reload_reason: str | None = "pnp image install",
    reload_user: str | None = "pnp",
    save_config: bool | None = False,
    sid: str | None = None,
) -> bytes:
    """Image-install request; ``checksum`` is the image's MD5 in hex."""
    root, req = _request(udi, NS_IMAGE_INSTALL, correlator, sid)
    copy = _sub(_sub(req, "image"), "copy")
    _source(copy, image_uri, checksum)
    if destination is not None:
        _sub(_sub(copy, "destination"), "location", destination)
    _reload_el(req, reload, reload_delay, reload_reason, reload_user, save_config)
    return _serialize(root)


def encode_backoff_request(
    udi: UdiLike,
    correlator: str,
    reason: str = "no work available",
    *,
    callback_after_seconds: int | None = None,
    default_minutes: int | None = None,
    terminate: bool = False,
    sid: str | None = None,
) -> bytes:
    """Backoff request; exactly one of ``callback_after_seconds`` (0..172799),
    ``default_minutes`` (1..2880) or ``terminate``. Raises ValueError otherwise."""
    chosen = sum([callback_after_seconds is not None, default_minutes is not None, terminate])
    if chosen != 1:
        raise ValueError("backoff needs exactly one of callback/default minutes/terminate")
    root, req = _request(udi, NS_BACKOFF, correlator, sid)
    backoff = _sub(req, "backoff")
    _sub(backoff, "reason", reason)
    if terminate:
        _sub(backoff, "terminate")
    elif default_minutes is not None:
        if not 1 <= default_minutes <= 2880:
            raise ValueError("defaultMinutes must be 1..2880")
        _sub(backoff, "defaultMinutes", str(default_minutes))
    else:
        assert callback_after_seconds is not None
        if not 0 <= callback_after_seconds <= 47 * 3600 + 59 * 60 + 59:
            raise ValueError("callbackAfter must be 0..47:59:59")
        cb = _sub(backoff, "callbackAfter")
        hours, rest = divmod(callback_after_seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        _sub(cb, "hours", str(hours))
        _sub(cb, "minutes", str(minutes))
        _sub(cb, "seconds", str(seconds))
    return _serialize(root)


def encode_cli_exec_request(
    udi: UdiLike,
    correlator: str,
    command: str = "show version",
    *,
    sid: str | None = None,
) -> bytes:
    """A cli-exec request (a service SMI Proxy does not support; for tests)."""
    root, req = _request(udi, NS_CLI_EXEC, correlator, sid)
    _sub(_sub(req, "execCLI"), "cmd", command)
    return _serialize(root)


def encode_request(request: ServiceRequest, udi: UdiLike | None = None) -> bytes:
    """Encode any :data:`ServiceRequest` (``udi`` defaults to the request's own).

    :class:`UnsupportedRequest` becomes an empty-bodied request in its namespace (cli-exec gets
    a ``show version`` command so that it validates); :class:`NoWork` an empty body.
    """
    who: UdiLike = udi if udi is not None else request.udi
    sid = request.sid
    match request:
        case NoWork():
            return b""
        case CapabilityRequest():
            return encode_capability_request(who, request.correlator, sid=sid)
        case TopologyRequest():
            return encode_topology_request(who, request.correlator, sid=sid)
        case DeviceInfoRequest():
            return encode_device_info_request(who, request.correlator, request.info_type, sid=sid)
        case ConfigUpgradeRequest():
            return encode_config_upgrade_request(
                who,
                request.correlator,
                request.source_uri,
                apply_to=request.apply_to if request.apply_to_given else None,
                checksum=request.checksum,
                **_reload_of(request),
                details=request.details,
                abort_on_syntax_fault=request.abort_on_syntax_fault,
                sid=sid,
            )
        case ImageInstallRequest():
            return encode_image_install_request(
                who,
                request.correlator,
                request.image_uri,
                checksum=request.checksum,
                destination=request.destination,
                **_reload_of(request),
                sid=sid,
            )
        case BackoffRequest():
            return encode_backoff_request(
                who,
                request.correlator,
                request.reason,
                callback_after_seconds=request.callback_after_seconds,
                default_minutes=request.default_minutes,
                terminate=request.terminate,
                sid=sid,
            )
        case ByeRequest():
            return encode_bye(who, request.correlator, session_id=request.session_id)
        case UnsupportedRequest():
            if request.namespace == NS_CLI_EXEC:
                return encode_cli_exec_request(who, request.correlator, sid=sid)
            root, _ = _request(who, request.namespace, request.correlator, sid)
            return _serialize(root)
    raise TypeError(f"not a PnP service request: {request!r}")
