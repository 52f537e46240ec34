"""Agent → server service responses: the payload types (device-info, topology), the
``encode_*_response`` functions and :func:`encode_fault` (agent side) and
:func:`decode_response` into a :class:`ServiceResponse` (server side)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lxml import etree

from smartinstall.wire.pnp.envelope import (
    NS_BACKOFF,
    NS_CAPABILITY,
    NS_CONFIG_UPGRADE,
    NS_DEVICE_INFO,
    NS_ERROR,
    NS_FAULT,
    NS_IMAGE_INSTALL,
    NS_TOPOLOGY,
    SMI_PROXY_CAPABILITIES,
    PnpDecodeError,
    Udi,
    UdiLike,
    _attr,
    _body,
    _body_el,
    _bool,
    _child,
    _children,
    _envelope,
    _int,
    _local,
    _namespace,
    _ns,
    _parse,
    _serialize,
    _sub,
    _text,
    _xml_bool,
    service_name,
)
from smartinstall.wire.pnp.errors import PnpError, _decode_error_info, _error_info

# --- payload types ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FileSystem:
    """One ``fileSystemList/fileSystem`` (device-info). The XSD enumerates name
    ``bootflash|nvram`` and type ``flash|nvram``; real 2K/3K switches say ``flash``, which
    decodes fine but does not validate."""

    name: str
    type: str
    size: int
    freespace: int
    readable: bool = True
    writable: bool = True


@dataclass(frozen=True)
class HardwareInfo:
    """``hardwareInfo`` (device-info); every child is optional."""

    hostname: str | None = None
    vendor: str | None = None
    platform_name: str | None = None
    processor_type: str | None = None
    hw_revision: str | None = None
    main_mem_size: int | None = None
    io_mem_size: int | None = None
    board_id: int | None = None
    board_rework_id: str | None = None
    processor_rev: str | None = None
    midplane_version: str | None = None
    location: str | None = None


@dataclass(frozen=True)
class ImageInfo:
    """``imageInfo`` (device-info); the XSD requires every child, so empty strings are sent
    for what is unknown."""

    version_string: str
    image_file: str
    image_hash: str = ""
    return_to_rom_reason: str = ""
    boot_variable: str = ""
    boot_ldr_variable: str = ""
    config_variable: str = ""
    config_reg: str = ""
    config_reg_next: str = ""


@dataclass(frozen=True)
class DeviceInfo:
    """The body of a successful device-info response.

    ``udi`` is the primary chassis; ``members`` the stacked-switch ``(slot, udi)`` pairs.
    """

    udi: str | None = None
    members: tuple[tuple[int, str], ...] = ()
    filesystems: tuple[FileSystem, ...] = ()
    hardware: HardwareInfo | None = None
    image: ImageInfo | None = None


@dataclass(frozen=True)
class TopologyNeighbour:
    """One topology ``element``: the local port and the CDP neighbour seen on it."""

    local_interface: str
    local_short_interface: str
    local_mac: str
    remote_interface: str
    remote_short_interface: str
    remote_mac: str
    device_name: str
    platform: str
    version: str


# --- agent → server (what the server decodes) ------------------------------------------------


@dataclass(frozen=True)
class ServiceResponse:
    """A decoded service response posted to WORK-RESPONSE.

    ``error`` is set when ``success`` is False (from ``errorInfo``, or from a fault).
    A protocol-level fault has namespace :data:`NS_FAULT` and an empty correlator.
    ``capabilities``, ``device_info`` and ``topology`` carry the parsed body of those
    services' successful responses.
    """

    udi: Udi
    namespace: str
    correlator: str
    success: bool
    error: PnpError | None = None
    capabilities: tuple[str, ...] = ()
    device_info: DeviceInfo | None = None
    topology: tuple[TopologyNeighbour, ...] = ()
    service_log: str | None = None

    @property
    def service(self) -> str:
        return service_name(self.namespace)

    @property
    def fault(self) -> bool:
        return self.namespace == NS_FAULT


# --- agent side: encode -----------------------------------------------------------------------


def _response(
    udi: UdiLike, namespace: str, correlator: str, error: PnpError | None, sid: str | None
) -> tuple[etree._Element, etree._Element]:
    root = _envelope(udi, sid)
    resp = _body_el(root, namespace, "response", correlator)
    resp.set("success", "0" if error is not None else "1")
    if error is not None:
        _error_info(resp, namespace, error)
    return root, resp


def encode_error_response(
    udi: UdiLike, namespace: str, correlator: str, error: PnpError, *, sid: str | None = None
) -> bytes:
    """A failed response (``success="0"`` + ``errorInfo``) in any service namespace, e.g.
    the answer to an :class:`UnsupportedRequest` with :data:`ERROR_UNSUPPORTED_REQUEST`.
    ``namespace`` may be the full URN or the short service name (``cli-exec``)."""
    root, _ = _response(udi, _namespace(namespace), correlator, error, sid)
    return _serialize(root)


def encode_capability_response(
    udi: UdiLike,
    correlator: str,
    capabilities: Iterable[str] = SMI_PROXY_CAPABILITIES,
    *,
    features: Iterable[str] = (),
    error: PnpError | None = None,
    sid: str | None = None,
) -> bytes:
    """Capability response listing the supported services (default: SMI Proxy's seven).

    The error form carries an ``errorInfo``, which the capability XSD does not define.
    """
    root, resp = _response(udi, NS_CAPABILITY, correlator, error, sid)
    if error is None:
        caps = list(capabilities)
        if caps:
            block = _sub(resp, "supportedCapabilities")
            for cap in caps:
                _sub(block, "capability", cap)
        feats = list(features)
        if feats:
            block = _sub(resp, "supportedFeatures")
            for feat in feats:
                _sub(block, "feature", feat)
    return _serialize(root)


def encode_config_upgrade_response(
    udi: UdiLike,
    correlator: str,
    *,
    error: PnpError | None = None,
    service_log: str | None = None,
    sid: str | None = None,
) -> bytes:
    """Config-upgrade response; for apply-to-running on a proxied client pass
    ``error=ERROR_CONFIG_RUNNING_UNSUPPORTED``."""
    root, resp = _response(udi, NS_CONFIG_UPGRADE, correlator, error, sid)
    if service_log is not None:
        _sub(resp, "serviceLog", service_log)
    return _serialize(root)


def _hw_children(hw: HardwareInfo) -> list[tuple[str, str | None]]:
    def s(v: int | None) -> str | None:
        return None if v is None else str(v)

    return [
        ("hostname", hw.hostname),
        ("vendor", hw.vendor),
        ("platformName", hw.platform_name),
        ("processorType", hw.processor_type),
        ("hwRevision", hw.hw_revision),
        ("mainMemSize", s(hw.main_mem_size)),
        ("ioMemSize", s(hw.io_mem_size)),
        ("boardId", s(hw.board_id)),
        ("boardReworkId", hw.board_rework_id),
        ("processorRev", hw.processor_rev),
        ("midplaneVersion", hw.midplane_version),
        ("location", hw.location),
    ]


def _image_children(img: ImageInfo) -> list[tuple[str, str]]:
    return [
        ("versionString", img.version_string),
        ("imageFile", img.image_file),
        ("imageHash", img.image_hash),
        ("returnToRomReason", img.return_to_rom_reason),
        ("bootVariable", img.boot_variable),
        ("bootLdrVariable", img.boot_ldr_variable),
        ("configVariable", img.config_variable),
        ("configReg", img.config_reg),
        ("configRegNext", img.config_reg_next),
    ]


def encode_device_info_response(
    udi: UdiLike,
    correlator: str,
    info: DeviceInfo | None = None,
    *,
    error: PnpError | None = None,
    sid: str | None = None,
) -> bytes:
    """Device-info response: the blocks of ``info`` that are set, in XSD order
    (fileSystemList, udi, hardwareInfo, imageInfo), or ``errorInfo`` when ``error`` is given
    (for a proxied client: :data:`ERROR_DEVICE_HARDWARE_INFO_UNSUPPORTED` /
    :data:`ERROR_DEVICE_FILESYSTEM_INFO_UNSUPPORTED`)."""
    root, resp = _response(udi, NS_DEVICE_INFO, correlator, error, sid)
    if error is None and info is not None:
        if info.filesystems:
            fsl = _sub(resp, "fileSystemList")
            for fs in info.filesystems:
                el = _sub(fsl, "fileSystem")
                el.set("name", fs.name)
                el.set("type", fs.type)
                el.set("readable", _xml_bool(fs.readable))
                el.set("writable", _xml_bool(fs.writable))
                el.set("size", str(fs.size))
                el.set("freespace", str(fs.freespace))
        if info.udi is not None:
            u = _sub(resp, "udi")
            _sub(u, "primary-chassis", info.udi)
            if info.members:
                stack = _sub(u, "stacked-switch")
                for slot, member in info.members:
                    _sub(stack, "member-udi", member).set("slot", str(slot))
        if info.hardware is not None:
            hw = _sub(resp, "hardwareInfo")
            for name, value in _hw_children(info.hardware):
                if value is not None:
                    _sub(hw, name, value)
        if info.image is not None:
            im = _sub(resp, "imageInfo")
            for name, text in _image_children(info.image):
                _sub(im, name, text)
    return _serialize(root)


def encode_image_install_response(
    udi: UdiLike, correlator: str, *, error: PnpError | None = None, sid: str | None = None
) -> bytes:
    """Image-install response (success, or e.g. 1816 checksum / 1829 copy failure)."""
    root, _ = _response(udi, NS_IMAGE_INSTALL, correlator, error, sid)
    return _serialize(root)


def _link_end(
    element: etree._Element, tag: str, interface: str, short_interface: str, mac: str
) -> etree._Element:
    """One end (``local`` or ``remote``) of a topology ``element``."""
    end = _sub(element, tag)
    _sub(end, "interface", interface)
    _sub(end, "shortInterface", short_interface)
    _sub(end, "macAddress", mac)
    return end


def encode_topology_response(
    udi: UdiLike,
    correlator: str,
    neighbours: Sequence[TopologyNeighbour] = (),
    *,
    error: PnpError | None = None,
    sid: str | None = None,
) -> bytes:
    """Topology response listing CDP neighbours. The XSD requires at least one neighbour and
    has no ``errorInfo``: an empty list or an error produces a message that does not validate
    (``success="0"`` + ``errorInfo`` for an error, as for every other service)."""
    root, resp = _response(udi, NS_TOPOLOGY, correlator, error, sid)
    if error is None:
        topo = _sub(resp, "topology")
        for n in neighbours:
            el = _sub(topo, "element")
            _link_end(el, "local", n.local_interface, n.local_short_interface, n.local_mac)
            remote = _link_end(
                el, "remote", n.remote_interface, n.remote_short_interface, n.remote_mac
            )
            _sub(remote, "deviceName", n.device_name)
            _sub(remote, "platform", n.platform)
            _sub(remote, "version", n.version)
    return _serialize(root)


def encode_backoff_response(
    udi: UdiLike, correlator: str, *, error: PnpError | None = None, sid: str | None = None
) -> bytes:
    """Backoff acknowledgement (its errors use severity ``ERROR``, codes 3000/3001)."""
    root, _ = _response(udi, NS_BACKOFF, correlator, error, sid)
    return _serialize(root)


def encode_fault(
    udi: UdiLike,
    faultstring: str = "An unknown XML tag has been received",
    *,
    faultcode: str = "XSVC:Client",
    details: str = "struct",
) -> bytes:
    """The protocol-level fault an agent posts when it cannot parse a request (protocol.md
    §7b; no correlator, no XSD)."""
    root = _envelope(udi)
    resp = _body_el(root, NS_FAULT, "response", None)
    fault = _sub(resp, "fault")
    _sub(fault, "faultcode", faultcode)
    _sub(fault, "faultstring", faultstring)
    detail = _sub(fault, "detail")
    err = etree.SubElement(detail, f"{{{NS_ERROR}}}error", nsmap={"XSVC-ERR": NS_ERROR})
    etree.SubElement(err, f"{{{NS_ERROR}}}details").text = details
    return _serialize(root)


# --- server side: decode ----------------------------------------------------------------------


def _decode_device_info(resp: etree._Element) -> DeviceInfo:
    filesystems = []
    fsl = _child(resp, "fileSystemList")
    for fs in _children(fsl) if fsl is not None else ():
        filesystems.append(
            FileSystem(
                name=_attr(fs, "name") or "",
                type=_attr(fs, "type") or "",
                size=_int(_attr(fs, "size"), "size", 0, 2**63) or 0,
                freespace=_int(_attr(fs, "freespace"), "freespace", 0, 2**63) or 0,
                readable=bool(_bool(_attr(fs, "readable"))),
                writable=bool(_bool(_attr(fs, "writable"))),
            )
        )
    udi_el = _child(resp, "udi")
    udi = _text(udi_el, "primary-chassis") if udi_el is not None else None
    members: list[tuple[int, str]] = []
    stack = _child(udi_el, "stacked-switch")
    if stack is not None:
        for m in _children(stack):
            members.append((_int(_attr(m, "slot"), "slot", 0, 10_000) or 0, _text(m) or ""))
    hw_el = _child(resp, "hardwareInfo")
    hardware = None
    if hw_el is not None:
        hardware = HardwareInfo(
            hostname=_text(hw_el, "hostname"),
            vendor=_text(hw_el, "vendor"),
            platform_name=_text(hw_el, "platformName"),
            processor_type=_text(hw_el, "processorType"),
            hw_revision=_text(hw_el, "hwRevision"),
            main_mem_size=_int(_text(hw_el, "mainMemSize"), "mainMemSize", 0, 2**63),
            io_mem_size=_int(_text(hw_el, "ioMemSize"), "ioMemSize", 0, 2**63),
            board_id=_int(_text(hw_el, "boardId"), "boardId", 0, 2**63),
            board_rework_id=_text(hw_el, "boardReworkId"),
            processor_rev=_text(hw_el, "processorRev"),
            midplane_version=_text(hw_el, "midplaneVersion"),
            location=_text(hw_el, "location"),
        )
    im_el = _child(resp, "imageInfo")
    image = None
    if im_el is not None:
        image = ImageInfo(
            version_string=_text(im_el, "versionString") or "",
            image_file=_text(im_el, "imageFile") or "",
            image_hash=_text(im_el, "imageHash") or "",
            return_to_rom_reason=_text(im_el, "returnToRomReason") or "",
            boot_variable=_text(im_el, "bootVariable") or "",
            boot_ldr_variable=_text(im_el, "bootLdrVariable") or "",
            config_variable=_text(im_el, "configVariable") or "",
            config_reg=_text(im_el, "configReg") or "",
            config_reg_next=_text(im_el, "configRegNext") or "",
        )
    return DeviceInfo(
        udi=udi,
        members=tuple(members),
        filesystems=tuple(filesystems),
        hardware=hardware,
        image=image,
    )


def _decode_topology(resp: etree._Element) -> tuple[TopologyNeighbour, ...]:
    topo = _child(resp, "topology")
    if topo is None:
        return ()
    out = []
    for el in _children(topo):
        local, remote = _child(el, "local"), _child(el, "remote")
        out.append(
            TopologyNeighbour(
                local_interface=_text(local, "interface") or "",
                local_short_interface=_text(local, "shortInterface") or "",
                local_mac=_text(local, "macAddress") or "",
                remote_interface=_text(remote, "interface") or "",
                remote_short_interface=_text(remote, "shortInterface") or "",
                remote_mac=_text(remote, "macAddress") or "",
                device_name=_text(remote, "deviceName") or "",
                platform=_text(remote, "platform") or "",
                version=_text(remote, "version") or "",
            )
        )
    return tuple(out)


def decode_response(data: bytes) -> ServiceResponse:
    """Decode a service response (or an agent fault) posted to WORK-RESPONSE."""
    root = _parse(data)
    udi = Udi.parse(_attr(root, "udi") or "")
    body = _body(root)
    if _local(body) != "response":
        raise PnpDecodeError(f"expected a <response>, got <{_local(body)}>")
    ns = _ns(body)
    if not ns:
        raise PnpDecodeError("response without a service namespace")
    if ns == NS_FAULT:
        fault = _child(body, "fault")
        detail = _text(_child(fault, "detail")) if fault is not None else None
        return ServiceResponse(
            udi,
            ns,
            _attr(body, "correlator") or "",
            False,
            PnpError(
                _text(fault, "faultcode") or "fault",
                _text(fault, "faultstring") or (detail or ""),
            ),
        )
    correlator = _attr(body, "correlator")
    if correlator is None:
        raise PnpDecodeError("response without a correlator")
    success_text = (_attr(body, "success") or "").strip()
    if success_text not in ("0", "1"):
        raise PnpDecodeError(f"response success={success_text[:10]!r}, expected 0 or 1")
    success = success_text == "1"
    info = _child(body, "errorInfo")
    if info is None:
        info = _child(_child(body, "execLog"), "errorInfo")
    error = _decode_error_info(info) if info is not None else None
    if not success and error is None:
        error = PnpError("", "")
    capabilities: tuple[str, ...] = ()
    device_info = None
    topology: tuple[TopologyNeighbour, ...] = ()
    if success and ns == NS_CAPABILITY:
        caps = _child(body, "supportedCapabilities")
        capabilities = tuple(_text(c) or "" for c in _children(caps)) if caps is not None else ()
    if success and ns == NS_DEVICE_INFO:
        device_info = _decode_device_info(body)
    if success and ns == NS_TOPOLOGY:
        topology = _decode_topology(body)
    return ServiceResponse(
        udi,
        ns,
        correlator,
        success,
        error if not success else None,
        capabilities=capabilities,
        device_info=device_info,
        topology=topology,
        service_log=_text(body, "serviceLog"),
    )
