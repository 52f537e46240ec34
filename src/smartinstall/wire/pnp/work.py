"""The work-info exchange (protocol.md §4): the work request the agent posts to
``/pnp/WORK-REQUEST`` and the bye the server answers a work response with."""

from __future__ import annotations

from dataclasses import dataclass

from smartinstall.wire.pnp.envelope import (
    NS_WORK_INFO,
    PnpDecodeError,
    Udi,
    UdiLike,
    _attr,
    _body,
    _body_el,
    _bool,
    _child,
    _envelope,
    _local,
    _ns,
    _parse,
    _serialize,
    _sub,
    _text,
    _udi_text,
    _xml_bool,
)


@dataclass(frozen=True)
class WorkRequest:
    """A decoded work request (``<info>`` with ``<deviceId>``)."""

    udi: Udi
    correlator: str
    hostname: str | None = None
    auth_required: bool | None = None
    via_proxy: bool | None = None
    mac_address: str | None = None
    sid: str | None = None


# --- agent side: encode -----------------------------------------------------------------------


def encode_work_request(
    udi: UdiLike,
    correlator: str,
    *,
    hostname: str = "Switch",
    auth_required: bool = False,
    via_proxy: bool | None = None,
    mac_address: str | None = None,
    security_advise: str | None = None,
    sid: str | None = None,
) -> bytes:
    """The work request the agent posts to ``/pnp/WORK-REQUEST`` (protocol.md §4.1).

    A proxied Smart Install client is presented with its own UDI and ``via_proxy=True``.
    """
    root = _envelope(udi, sid)
    info = _body_el(root, NS_WORK_INFO, "info", correlator)
    dev = _sub(info, "deviceId")
    _sub(dev, "udi", _udi_text(udi))
    if mac_address is not None:
        _sub(dev, "macAddress", mac_address)
    _sub(dev, "hostname", hostname)
    _sub(dev, "authRequired", _xml_bool(auth_required))
    if via_proxy is not None:
        _sub(dev, "viaProxy", _xml_bool(via_proxy))
    if security_advise is not None:
        _sub(dev, "securityAdvise", security_advise)
    return _serialize(root)


# --- server side: decode ----------------------------------------------------------------------


def decode_work_request_info(data: bytes) -> WorkRequest:
    """Decode a work request with every ``deviceId`` field (lenient about letter case, as
    the NSO simulator sends ``<deviceid>``). The UDI is ``deviceId/udi``, else the
    envelope's."""
    root = _parse(data)
    body = _body(root)
    if _local(body) != "info" or _ns(body) not in (NS_WORK_INFO, ""):
        raise PnpDecodeError("not a work request (<info xmlns='urn:cisco:pnp:work-info'>)")
    correlator = _attr(body, "correlator")
    if not correlator:
        raise PnpDecodeError("work request without a correlator")
    dev = _child(body, "deviceId")
    if dev is None:
        raise PnpDecodeError("work request without <deviceId>")
    udi_text = _text(dev, "udi") or _attr(root, "udi") or ""
    return WorkRequest(
        udi=Udi.parse(udi_text),
        correlator=correlator,
        hostname=_text(dev, "hostname"),
        auth_required=_bool(_text(dev, "authRequired")),
        via_proxy=_bool(_text(dev, "viaProxy")),
        mac_address=_text(dev, "macAddress"),
        sid=_attr(root, "sid"),
    )


def decode_work_request(data: bytes) -> tuple[Udi, str]:
    """``(udi, correlator)`` of a work request; see :func:`decode_work_request_info`."""
    req = decode_work_request_info(data)
    return req.udi, req.correlator


# --- server side: encode ----------------------------------------------------------------------


def encode_bye(udi: UdiLike, correlator: str, *, session_id: str | None = None) -> bytes:
    """The bye a server answers a work response with (protocol.md §4.2)."""
    root = _envelope(udi)
    info = _body_el(root, NS_WORK_INFO, "info", correlator)
    work = _sub(info, "workInfo")
    _sub(work, "bye")
    if session_id is not None:
        _sub(work, "sid", session_id)
    return _serialize(root)
