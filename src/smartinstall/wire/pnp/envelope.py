"""The ``<pnp>`` envelope shared by every PnP message: transport paths, service namespaces,
the UDI, decoding limits, :class:`PnpDecodeError` and the lxml helpers that build and parse
(safely: no DTD, no entities, no network, bounded size) every message."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeAlias

from lxml import etree

# --- constants -------------------------------------------------------------------------------

HELLO_PATH = "/pnp/HELLO"
WORK_REQUEST_PATH = "/pnp/WORK-REQUEST"
WORK_RESPONSE_PATH = "/pnp/WORK-RESPONSE"

#: Largest message any decoder accepts (bytes). Real messages are a few KiB.
MAX_MESSAGE_SIZE = 1024 * 1024

NS_PNP = "urn:cisco:pnp"
NS_WORK_INFO = "urn:cisco:pnp:work-info"
NS_CAPABILITY = "urn:cisco:pnp:capability"
NS_DEVICE_INFO = "urn:cisco:pnp:device-info"
NS_CONFIG_UPGRADE = "urn:cisco:pnp:config-upgrade"
NS_IMAGE_INSTALL = "urn:cisco:pnp:image-install"
NS_TOPOLOGY = "urn:cisco:pnp:topology"
NS_BACKOFF = "urn:cisco:pnp:backoff"
NS_CLI_EXEC = "urn:cisco:pnp:cli-exec"
NS_CLI_CONFIG = "urn:cisco:pnp:cli-config"
NS_FAULT = "urn:cisco:pnp:fault"
NS_ERROR = "urn:cisco:pnp:error"

_NS_PREFIX = "urn:cisco:pnp:"

#: The namespaces of the seven services SMI Proxy supports (guide ch. 4 "Unsupported Services":
#: capabilities, config-upgrade, device-info, image-install, topology, backoff, bye — bye is
#: the work-info namespace).
SMI_PROXY_SERVICES = frozenset(
    {
        NS_CAPABILITY,
        NS_CONFIG_UPGRADE,
        NS_DEVICE_INFO,
        NS_IMAGE_INSTALL,
        NS_TOPOLOGY,
        NS_BACKOFF,
        NS_WORK_INFO,
    }
)

#: What an SMI Proxy answers to a capability request (protocol.md §5.1, example 04).
SMI_PROXY_CAPABILITIES: tuple[str, ...] = (
    "cisco:pnp:capabilities",
    "cisco:pnp:config-upgrade",
    "cisco:pnp:device-info",
    "cisco:pnp:image-install",
    "cisco:pnp:topology",
    "cisco:pnp:work-info",
    "cisco:pnp:backoff",
)

_UDI = re.compile(r"^PID:(.*?),VID:(.*?),SN:(.*)$", re.DOTALL)
_MAX_UDI_LEN = 512


# --- basic types -----------------------------------------------------------------------------


class PnpDecodeError(ValueError):
    """A PnP message that cannot be decoded (malformed, too big, or not the expected kind)."""


@dataclass(frozen=True)
class Udi:
    """A Unique Device Identifier: ``PID:<pid>,VID:<vid>,SN:<sn>`` (protocol.md §3).

    The VID may be empty and the PID may contain ``/`` and ``+``.
    """

    pid: str
    vid: str
    sn: str

    @property
    def text(self) -> str:
        """The wire form, e.g. ``PID:WS-C2960X-48FPD-L,VID:V01,SN:FOC1234X0AB``."""
        return f"PID:{self.pid},VID:{self.vid},SN:{self.sn}"

    def __str__(self) -> str:
        return self.text

    @classmethod
    def parse(cls, text: str) -> Udi:
        """Parse the wire form; raises :class:`PnpDecodeError` on anything else.

        Leading/trailing blanks are ignored; PID and SN must not be empty.
        """
        if not isinstance(text, str) or len(text) > _MAX_UDI_LEN:
            raise PnpDecodeError("UDI missing or too long")
        m = _UDI.match(text.strip())
        if m is None:
            raise PnpDecodeError(f"not a UDI (PID:…,VID:…,SN:…): {text[:80]!r}")
        pid, vid, sn = (part.strip() for part in m.groups())
        if not pid or not sn:
            raise PnpDecodeError(f"UDI without PID or SN: {text[:80]!r}")
        return cls(pid, vid, sn)


UdiLike: TypeAlias = Udi | str


def _udi_text(udi: UdiLike) -> str:
    return udi.text if isinstance(udi, Udi) else udi


def service_name(namespace: str) -> str:
    """``urn:cisco:pnp:config-upgrade`` → ``config-upgrade`` (other strings unchanged)."""
    return namespace[len(_NS_PREFIX) :] if namespace.startswith(_NS_PREFIX) else namespace


def _namespace(service: str) -> str:
    return service if service.startswith("urn:") else _NS_PREFIX + service


# --- XML helpers -----------------------------------------------------------------------------


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _parse(data: bytes) -> etree._Element:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise PnpDecodeError("a PnP message must be bytes")
    data = bytes(data)
    if len(data) > MAX_MESSAGE_SIZE:
        raise PnpDecodeError(f"message of {len(data)} bytes exceeds {MAX_MESSAGE_SIZE}")
    if not data.strip():
        raise PnpDecodeError("empty message")
    try:
        root = etree.fromstring(data, parser=_parser())
    except Exception as exc:  # lxml raises several types on bad input
        raise PnpDecodeError(f"not well-formed XML: {exc}") from None
    try:
        doctype = root.getroottree().docinfo.doctype
    except Exception:
        doctype = ""
    if doctype:
        raise PnpDecodeError("a DOCTYPE is not allowed in a PnP message")
    if not isinstance(root.tag, str) or _local(root) != "pnp":
        raise PnpDecodeError("the root element is not <pnp>")
    return root


def _local(el: etree._Element) -> str:
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1] if tag.startswith("{") else tag


def _ns(el: etree._Element) -> str:
    tag = el.tag
    if isinstance(tag, str) and tag.startswith("{"):
        return tag[1:].split("}", 1)[0]
    return ""


def _children(el: etree._Element) -> Iterator[etree._Element]:
    for child in el:
        if isinstance(child.tag, str):
            yield child


def _child(el: etree._Element | None, name: str) -> etree._Element | None:
    if el is None:
        return None
    lname = name.lower()
    for child in _children(el):
        if _local(child).lower() == lname:
            return child
    return None


def _text(el: etree._Element | None, name: str | None = None) -> str | None:
    node = el if name is None else _child(el, name)
    if node is None:
        return None
    return "".join(node.itertext()).strip()


def _int(text: str | None, what: str, lo: int = 0, hi: int = 2**31 - 1) -> int | None:
    if text is None or text == "":
        return None
    t = text.strip()
    if len(t) > 12 or not re.fullmatch(r"[+-]?\d+", t):
        raise PnpDecodeError(f"{what} is not an integer: {t[:20]!r}")
    value = int(t)
    if not lo <= value <= hi:
        raise PnpDecodeError(f"{what} {value} out of range {lo}..{hi}")
    return value


def _bool(text: str | None) -> bool | None:
    if text is None or text == "":
        return None
    t = text.strip().lower()
    if t in ("true", "1", "yes"):
        return True
    if t in ("false", "0", "no"):
        return False
    raise PnpDecodeError(f"not a boolean: {t[:20]!r}")


def _body(root: etree._Element) -> etree._Element:
    kids = list(_children(root))
    if len(kids) != 1:
        raise PnpDecodeError(f"<pnp> holds {len(kids)} body elements, expected one")
    return kids[0]


def _attr(el: etree._Element, name: str) -> str | None:
    value = el.get(name)
    return None if value is None else str(value)


def _envelope(
    udi: UdiLike, sid: str | None = None, extra: dict[str, str] | None = None
) -> etree._Element:
    root = etree.Element(f"{{{NS_PNP}}}pnp", nsmap={None: NS_PNP})
    root.set("version", "1.0")
    root.set("udi", _udi_text(udi))
    if sid is not None:
        root.set("sid", sid)
    for key, value in (extra or {}).items():
        root.set(key, value)
    return root


def _body_el(root: etree._Element, ns: str, kind: str, correlator: str | None) -> etree._Element:
    el = etree.SubElement(root, f"{{{ns}}}{kind}", nsmap={None: ns})
    if correlator is not None:
        el.set("correlator", correlator)
    return el


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    ns = _ns(parent)
    el = etree.SubElement(parent, f"{{{ns}}}{name}" if ns else name)
    if text is not None:
        el.text = text
    return el


def _serialize(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, encoding="utf-8", xml_declaration=False))


def _xml_bool(value: bool) -> str:
    return "true" if value else "false"
