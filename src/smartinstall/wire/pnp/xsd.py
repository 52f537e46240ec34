"""Validation of PnP messages against Cisco's PnP XSDs (``../shared/spec/pnp/xsd``)."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from lxml import etree

from smartinstall.wire.pnp.envelope import (
    _NS_PREFIX,
    NS_ERROR,
    NS_FAULT,
    NS_WORK_INFO,
    PnpDecodeError,
    _body,
    _child,
    _ns,
    _parse,
    service_name,
)


def schema_file_for(xml: bytes) -> str | None:
    """The ``*_svc.xsd`` file name that describes this message (``None``: no schema, e.g. a
    fault). Raises :class:`PnpDecodeError` when the message does not parse."""
    root = _parse(xml)
    body = _body(root)
    ns = _ns(body)
    if ns == NS_WORK_INFO:
        return (
            "pnp_device_id_svc.xsd"
            if _child(body, "deviceId") is not None
            else ("pnp_work_info_svc.xsd")
        )
    if not ns.startswith(_NS_PREFIX) or ns in (NS_FAULT, NS_ERROR):
        return None
    name = service_name(ns).replace("-", "_")
    if not re.fullmatch(r"[a-z_]{1,40}", name):
        return None
    return f"pnp_{name}_svc.xsd"


@functools.lru_cache(maxsize=64)
def _schema(path: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(path))


def validate(xml: bytes, xsd_dir: Path) -> list[str]:
    """Validate a message against the matching Cisco schema in ``xsd_dir``.

    Returns the list of errors (empty when valid). A message that does not parse, or whose
    namespace has no schema file there, is reported as an error too.
    """
    try:
        name = schema_file_for(xml)
        root = _parse(xml)
    except PnpDecodeError as exc:
        return [str(exc)]
    if name is None:
        return [f"no XSD for namespace {_ns(_body(root))!r}"]
    path = Path(xsd_dir) / name
    if not path.is_file():
        return [f"no XSD file {path}"]
    schema = _schema(str(path.resolve()))
    if schema.validate(root):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]
