"""Cisco Open Plug-and-Play (PnP) messages: the XML the PnP agent and the PnP server exchange.

Pure codec: bytes in, frozen dataclasses out, and back; no sockets, no asyncio. XML is built
and parsed with lxml only (never string templates). The facts come from
``../shared/spec/pnp/protocol.md`` (Cisco's PnP XSDs, mirrored in ``../shared/spec/pnp/xsd``)
and chapter 4 of the Smart Install guide ("Configuring SMI Proxy").

Transport (protocol.md §2): the agent sends ``GET /pnp/HELLO`` (no body: there is no HELLO
message to encode), then ``POST /pnp/WORK-REQUEST`` with a work request
(:func:`encode_work_request`). The server answers with one service request
(:func:`decode_request` on the agent side); the agent runs it and posts its service response
to ``/pnp/WORK-RESPONSE``; the server answers that with a bye (:func:`encode_bye`). A server
with nothing to do answers the work request with a backoff request; some answer with an empty
body (:class:`NoWork`).

Every message is one ``<pnp xmlns="urn:cisco:pnp" version="1.0" udi="PID:…,VID:…,SN:…">``
envelope holding one body element in a service namespace: ``<info>`` (work-info: work request
and bye), ``<request>`` (server → agent) or ``<response>`` (agent → server).

Encoding produces XSD-valid XML (checked by :func:`validate` in the tests), with two gaps the
schemas themselves leave: the capability and topology schemas have no ``errorInfo`` element
(and topology requires at least one neighbour), so their *error* forms, which carry an
``errorInfo`` like every other service, cannot validate. Decoding is lenient, as real agents
and servers are (protocol.md §8): element order, letter case of element names and missing
optional blocks are tolerated; namespaces of children are ignored. Decoders bound the input
(:data:`MAX_MESSAGE_SIZE`), refuse DTDs, never resolve entities or touch the network, and raise
nothing but :class:`PnpDecodeError`.

Errors (protocol.md §7): a failed service response has ``success="0"`` and an ``errorInfo``
with ``errorSeverity``, ``errorCode`` (the literal text ``PnP Service Error NNNN``, NNNN from
the service's XSD enumeration) and ``errorMessage``. :class:`PnpError` names the error by its
enum (``XSVC_ERROR_CONFIG_UPGRADE_UNSUPPORTED``) and carries the message string; the codec maps
the enum to the number. The guide's SMI Proxy errors are ready-made below
(:data:`ERROR_UNSUPPORTED_REQUEST`, :data:`ERROR_CONFIG_RUNNING_UNSUPPORTED`,
:data:`ERROR_DEVICE_HARDWARE_INFO_UNSUPPORTED`, :data:`ERROR_DEVICE_FILESYSTEM_INFO_UNSUPPORTED`).
``PNP_ERROR_UNSUPPORTED_REQUEST`` has no number of its own: it is sent with the number of the
service's own ``…_UNSUPPORTED`` code (e.g. 1301 for cli-exec) so that the message stays valid
against that service's schema, and decoded back by its guide string.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, TypeAlias

from lxml import etree

__all__ = [
    "DEFAULT_CALLBACK_SECONDS",
    "ERROR_CODES",
    "ERROR_CONFIG_RUNNING_UNSUPPORTED",
    "ERROR_DEVICE_FILESYSTEM_INFO_UNSUPPORTED",
    "ERROR_DEVICE_HARDWARE_INFO_UNSUPPORTED",
    "ERROR_UNSUPPORTED_REQUEST",
    "HELLO_PATH",
    "MAX_MESSAGE_SIZE",
    "NS_BACKOFF",
    "NS_CAPABILITY",
    "NS_CLI_CONFIG",
    "NS_CLI_EXEC",
    "NS_CONFIG_UPGRADE",
    "NS_DEVICE_INFO",
    "NS_ERROR",
    "NS_FAULT",
    "NS_IMAGE_INSTALL",
    "NS_PNP",
    "NS_TOPOLOGY",
    "NS_WORK_INFO",
    "PNP_ERROR_UNSUPPORTED_REQUEST",
    "SMI_PROXY_CAPABILITIES",
    "SMI_PROXY_CONFIG_RUNNING_UNSUPPORTED",
    "SMI_PROXY_DEVICE_FILESYSTEM_INFO_UNSUPPORTED",
    "SMI_PROXY_DEVICE_HARDWARE_INFO_UNSUPPORTED",
    "SMI_PROXY_SERVICES",
    "SMI_PROXY_UNSUPPORTED_REQUEST",
    "WORK_REQUEST_PATH",
    "WORK_RESPONSE_PATH",
    "XSVC_ERROR_CONFIG_UPGRADE_UNSUPPORTED",
    "XSVC_ERROR_DEVICE_INFO_UNSUPPORTED",
    "BackoffRequest",
    "ByeRequest",
    "CapabilityRequest",
    "ConfigUpgradeRequest",
    "DeviceInfo",
    "DeviceInfoRequest",
    "FileSystem",
    "HardwareInfo",
    "ImageInfo",
    "ImageInstallRequest",
    "NoWork",
    "PnpDecodeError",
    "PnpError",
    "ServiceRequest",
    "ServiceResponse",
    "TopologyNeighbour",
    "TopologyRequest",
    "Udi",
    "UnsupportedRequest",
    "WorkRequest",
    "decode_request",
    "decode_response",
    "decode_work_request",
    "decode_work_request_info",
    "encode_backoff_request",
    "encode_backoff_response",
    "encode_bye",
    "encode_capability_request",
    "encode_capability_response",
    "encode_cli_exec_request",
    "encode_config_upgrade_request",
    "encode_config_upgrade_response",
    "encode_device_info_request",
    "encode_device_info_response",
    "encode_error_response",
    "encode_fault",
    "encode_image_install_request",
    "encode_image_install_response",
    "encode_request",
    "encode_topology_request",
    "encode_topology_response",
    "encode_work_request",
    "error_code_number",
    "schema_file_for",
    "service_name",
    "validate",
]

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

# The guide's enums and strings, verbatim (ch. 4, "Unsupported Services").
PNP_ERROR_UNSUPPORTED_REQUEST = "PNP_ERROR_UNSUPPORTED_REQUEST"
SMI_PROXY_UNSUPPORTED_REQUEST = "SMI PROXY:Not supported service request"
XSVC_ERROR_CONFIG_UPGRADE_UNSUPPORTED = "XSVC_ERROR_CONFIG_UPGRADE_UNSUPPORTED"
SMI_PROXY_CONFIG_RUNNING_UNSUPPORTED = (
    "SMI PROXY: Config upgrade apply to Running Config is not supported"
)
XSVC_ERROR_DEVICE_INFO_UNSUPPORTED = "XSVC_ERROR_DEVICE_INFO_UNSUPPORTED"
SMI_PROXY_DEVICE_HARDWARE_INFO_UNSUPPORTED = "SMI PROXY:Client device hardware info not supported"
SMI_PROXY_DEVICE_FILESYSTEM_INFO_UNSUPPORTED = (
    "SMI PROXY:Client device filesystem info not supported"
)

#: Default one-time backoff when ``callbackAfter`` has no hours/minutes/seconds (XSD comment).
DEFAULT_CALLBACK_SECONDS = 15 * 60

#: Error enum → number, from the comments of the XSD enumerations ("PnP Service Error NNNN")
#: of the services SMI Proxy supports, plus each other service's ``…_UNSUPPORTED`` code.
ERROR_CODES: dict[str, int] = {
    # config-upgrade 1400-1424
    "XSVC_ERROR_CONFIG_UPGRADE_INTERNAL": 1400,
    "XSVC_ERROR_CONFIG_UPGRADE_UNSUPPORTED": 1401,
    "XSVC_APPLY_CFG_REQ_ERROR": 1402,
    "XSVC_APPLY_CFG_HASH_FAILED": 1403,
    "XSVC_APPLY_CFG_COPY_FAILED": 1404,
    "XSVC_APPLY_CFG_FILE_TYPE_FAILED": 1405,
    "XSVC_ERROR_CFG_CONFREG_SET_TO_0x0": 1406,
    "XSVC_ERROR_CFG_STARTUP_CFG_COPY_FAILED": 1407,
    "XSVC_ERROR_CFG_EXT_UNSUPPORTED": 1408,
    "XSVC_ERROR_CFG_NO_SERVICE_DATA": 1409,
    "XSVC_ERROR_CFG_SYNTAX_ERROR": 1410,
    "XSVC_ERROR_CFG_CONFIG_LOCKED": 1411,
    "XSVC_ERROR_CFG_RUNNING_CFG_COPY_FAILED": 1412,
    "XSVC_ERROR_CFG_INVALID_INPUT_DETECTED": 1413,
    "XSVC_ERROR_CFG_BOOT_MANUAL_CONFIGURED": 1414,
    "XSVC_ERROR_CFG_CAN_NOT_RELOAD": 1415,
    "XSVC_ERROR_CFG_INVALID_SRC_CONFIG_FILE": 1416,
    "XSVC_ERROR_CFG_INVALID_STARTUP_ACCESS": 1417,
    "XSVC_ERROR_CFG_INVALID_RUNNING_ACCESS": 1418,
    "XSVC_ERROR_CFG_CANT_START_BACKUP": 1419,
    "XSVC_ERROR_CFG_CANT_UPGRADE_STARTUP_VIA_BACKUP": 1420,
    "XSVC_ERROR_CFG_CANT_UPGRADE_STARTUP_DIRECTLY": 1421,
    "XSVC_ERROR_CFG_CANT_UPGRADE_RUNNING_VIA_BACKUP": 1422,
    "XSVC_ERROR_CFG_CANT_UPGRADE_RUNNING_DIRECTLY": 1423,
    "XSVC_ERROR_CFG_CANT_MALLOC_ACTION_VTY": 1424,
    # device-info 1600-1618
    "XSVC_ERROR_DEVICE_INFO_INTERNAL": 1600,
    "XSVC_ERROR_DEVICE_INFO_UNSUPPORTED": 1601,
    "XSVC_ERROR_DEVICE_INFO_MALLOC": 1602,
    "XSVC_ERROR_DEVICE_HARDWARE_INFO_MALLOC": 1603,
    "XSVC_ERROR_DEVICE_IMAGE_INFO_MALLOC": 1604,
    "XSVC_ERROR_DEVICE_INFO_QUEUE_MALLOC": 1605,
    "XSVC_ERROR_DEVICE_INFO_FILESYS_QUEUE_MALLOC": 1606,
    "XSVC_ERROR_DEVICE_IMAGE_INFO_RETRIEVE": 1607,
    "XSVC_ERROR_DEVICE_HARDWARE_INFO_RETRIEVE": 1608,
    "XSVC_ERROR_DEVICE_FILESYSTEM_INFO_RETRIEVE": 1609,
    "XSVC_ERROR_DEVICE_INFO_RESPONSE_OBJECT_MALLOC": 1610,
    "XSVC_ERROR_DEVICE_INFO_INVALID_REQUEST": 1611,
    "XSVC_ERROR_DEVICE_IMAGE_HW_INFO_RETRIEVE": 1612,
    "XSVC_ERROR_DEVICE_IMAGE_FILESYSTEM_INFO_RETRIEVE": 1613,
    "XSVC_ERROR_DEVICE_FILESYSTEM_HW_INFO_RETRIEVE": 1614,
    "XSVC_ERROR_DEVICE_IMAGE_FILESYSTEM_HW_INFO_RETRIEVE": 1615,
    "XSVC_ERROR_DEVICE_UDI_INFO_MALLOC": 1616,
    "XSVC_ERROR_DEVICE_PROFILE_INFO_MALLOC": 1617,
    "XSVC_ERROR_DEVICE_PROFILE_INFO_RETRIEVE": 1618,
    # image-install 1800-1832 (the XSD names both 1809 and 1810 …RELOAD_INPUT_ERROR)
    "XSVC_ERROR_IMAGE_INSTALL_INTERNAL": 1800,
    "XSVC_ERROR_IMAGE_INSTALL_UNSUPPORTED": 1801,
    "XSVC_ERROR_IMGINSTALL_SRC_NOT_PROVIDED": 1802,
    "XSVC_ERROR_IMGINSTALL_SRC_NOT_FOUND": 1803,
    "XSVC_ERROR_IMGINSTALL_INVALID_EXECUTABLE": 1804,
    "XSVC_ERROR_IMGINSTALL_CONFREG_SET_TO_0x0": 1805,
    "XSVC_ERROR_IMGINSTALL_INVALID_IMAGE_FORMAT": 1806,
    "XSVC_ERROR_IMGINSTALL_UNABLE_TO_PARSE_PATH": 1807,
    "XSVC_ERROR_IMGINSTALL_ADD_DEFAULT_FILENAME_FAILED": 1808,
    "XSVC_ERROR_IMGINSTALL_RELOAD_INPUT_ERROR": 1809,
    "XSVC_ERROR_IMGINSTALL_UNKNOWN_RELOAD_ERROR": 1811,
    "XSVC_ERROR_IMGINSTALL_IMG_SIGNATURE_NOT_PRESENT": 1812,
    "XSVC_ERROR_IMGINSTALL_IMG_SIGNATURE_NOT_VALID": 1813,
    "XSVC_ERROR_IMGINSTALL_IMG_SIGNATURE_ALG_NOT_SUPP": 1814,
    "XSVC_ERROR_IMGINSTALL_IMG_SIGNATURE_GEN_FAILURE": 1815,
    "XSVC_ERROR_IMGINSTALL_IMG_SIGNATURE_VERIFY_FAILED": 1816,
    "XSVC_ERROR_IMGINSTALL_IMG_SIGNATURE_VERIFIED": 1817,
    "XSVC_ERROR_IMGINSTALL_DEST_STAT_FAILED": 1818,
    "XSVC_ERROR_IMGINSTALL_STARTUP_CFG_COPY_FAILED": 1819,
    "XSVC_ERROR_IMGINSTALL_FILE_OPEN_FAILED": 1820,
    "XSVC_ERROR_IMGINSTALL_FILE_WRITE_FAILED": 1821,
    "XSVC_ERROR_IMGINSTALL_CFG_IMG_FAILED": 1822,
    "XSVC_ERROR_IMGINSTALL_SRC_FILE_OPEN_FAILED": 1823,
    "XSVC_ERROR_IMGINSTALL_INVALID_DEST_FS": 1824,
    "XSVC_ERROR_IMGINSTALL_NO_SPACE_ON_DEST_FS": 1825,
    "XSVC_ERROR_IMGINSTALL_INSTALLER_API_FAILED": 1826,
    "XSVC_ERROR_IMGINSTALL_INSTALLER_API_MISSING": 1827,
    "XSVC_ERROR_IMGINSTALL_FS_PREFIX_MALLOC_FAILED": 1828,
    "XSVC_ERROR_IMGINSTALL_IMG_COPY_FAILED": 1829,
    "XSVC_ERROR_IMGINSTALL_COPY_TO_STANDBY_FAILED": 1830,
    "XSVC_ERROR_IMGINSTALL_CANNOT_RUN_ON_STANDBY": 1831,
    "XSVC_ERROR_IMGINSTALL_DEVICE_NOT_IN_VSS_MODE": 1832,
    # backoff 3000-3001
    "XSVC_ERROR_BACKOFF_INTERNAL": 3000,
    "XSVC_ERROR_BACKOFF_UNSUPPORTED": 3001,
    # the other services' "unsupported" codes
    "XSVC_ERROR_CLI_CONFIG_UNSUPPORTED": 1201,
    "XSVC_ERROR_CLI_EXEC_UNSUPPORTED": 1301,
    "XSVC_ERROR_FILE_TRANSFER_UNSUPPORTED": 1701,
    "XSVC_ERROR_LICENSING_UNSUPPORTED": 1901,
    "XSVC_ERROR_RELOAD_UNSUPPORTED": 2401,
    "XSVC_ERROR_SCRIPT_UNSUPPORTED": 2501,
    "XSVC_ERROR_SNMP_UNSUPPORTED": 2601,
    "XSVC_ERROR_SNOOPING_UNSUPPORTED": 2701,
    "XSVC_ERROR_REDIRECTION_UNSUPPORTED": 3103,
    "XSVC_ERROR_CERT_INSTALL_REQ": 3300,
    "XSVC_ERROR_DEVICE_AUTH_REQ": 3402,
    "XSVC_ERROR_EEM_PROXY_UNSUPPORTED": 3601,
    "XSVC_ERROR_SMU_INSTALL_NOT_SUPPORTED": 3701,
}
_CODE_NAMES: dict[int, str] = {}
for _name, _code in ERROR_CODES.items():
    _CODE_NAMES.setdefault(_code, _name)
_CODE_NAMES[1810] = "XSVC_ERROR_IMGINSTALL_RELOAD_INPUT_ERROR"

# Per service namespace: the errorSeverity its XSD allows (None: the errorInfo has no severity
# element) and the code sent for PNP_ERROR_UNSUPPORTED_REQUEST (its "unsupported" code).
_ERROR_SHAPE: dict[str, tuple[str | None, int | None]] = {
    NS_CONFIG_UPGRADE: ("XSVC_ERROR", 1401),
    NS_DEVICE_INFO: ("XSVC_ERROR", 1601),
    NS_IMAGE_INSTALL: ("XSVC_ERROR", 1801),
    NS_BACKOFF: ("ERROR", 3001),
    NS_CLI_CONFIG: (None, 1201),
    NS_CLI_EXEC: (None, 1301),
    "urn:cisco:pnp:file-transfer": ("ERROR", 1701),
    "urn:cisco:pnp:licensing": ("XSVC_WARNING", 1901),
    "urn:cisco:pnp:reload": ("ERROR", 2401),
    "urn:cisco:pnp:script": ("ERROR", 2501),
    "urn:cisco:pnp:snmp": ("XSVC_ERROR", 2601),
    "urn:cisco:pnp:snooping": ("XSVC_ERROR", 2701),
    "urn:cisco:pnp:redirection": ("ERROR", 3103),
    "urn:cisco:pnp:certificate-install": ("XSVC_ERROR", 3300),
    "urn:cisco:pnp:device-auth": ("ERROR", 3402),
    "urn:cisco:pnp:eem-proxy": ("ERROR", 3601),
    "urn:cisco:pnp:smu": ("XSVC_ERROR", 3701),
}

# The guide's strings identify its enums on the way back (PNP_ERROR_UNSUPPORTED_REQUEST has no
# number of its own).
_GUIDE_ENUM_BY_STRING: dict[str, str] = {
    SMI_PROXY_UNSUPPORTED_REQUEST: PNP_ERROR_UNSUPPORTED_REQUEST,
    SMI_PROXY_CONFIG_RUNNING_UNSUPPORTED: XSVC_ERROR_CONFIG_UPGRADE_UNSUPPORTED,
    SMI_PROXY_DEVICE_HARDWARE_INFO_UNSUPPORTED: XSVC_ERROR_DEVICE_INFO_UNSUPPORTED,
    SMI_PROXY_DEVICE_FILESYSTEM_INFO_UNSUPPORTED: XSVC_ERROR_DEVICE_INFO_UNSUPPORTED,
}

_ERROR_CODE_TEXT = re.compile(r"^\s*PnP Service Error (\d{1,6})\s*$")
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


@dataclass(frozen=True)
class PnpError:
    """A service error: the enum name and the message string.

    ``enum`` is the error's enum (``XSVC_ERROR_CONFIG_UPGRADE_UNSUPPORTED``,
    ``PNP_ERROR_UNSUPPORTED_REQUEST`` …); when decoding an error whose number is unknown it is
    the raw ``errorCode`` text. ``string`` is the ``errorMessage``. ``code`` is the number sent
    or received (``None`` when there is none); it does not take part in comparisons.
    ``severity`` overrides the ``errorSeverity`` the service's schema expects.
    """

    enum: str
    string: str
    code: int | None = field(default=None, compare=False)
    severity: str | None = field(default=None, compare=False)


ERROR_UNSUPPORTED_REQUEST = PnpError(PNP_ERROR_UNSUPPORTED_REQUEST, SMI_PROXY_UNSUPPORTED_REQUEST)
ERROR_CONFIG_RUNNING_UNSUPPORTED = PnpError(
    XSVC_ERROR_CONFIG_UPGRADE_UNSUPPORTED, SMI_PROXY_CONFIG_RUNNING_UNSUPPORTED
)
ERROR_DEVICE_HARDWARE_INFO_UNSUPPORTED = PnpError(
    XSVC_ERROR_DEVICE_INFO_UNSUPPORTED, SMI_PROXY_DEVICE_HARDWARE_INFO_UNSUPPORTED
)
ERROR_DEVICE_FILESYSTEM_INFO_UNSUPPORTED = PnpError(
    XSVC_ERROR_DEVICE_INFO_UNSUPPORTED, SMI_PROXY_DEVICE_FILESYSTEM_INFO_UNSUPPORTED
)


def service_name(namespace: str) -> str:
    """``urn:cisco:pnp:config-upgrade`` → ``config-upgrade`` (other strings unchanged)."""
    return namespace[len(_NS_PREFIX) :] if namespace.startswith(_NS_PREFIX) else namespace


def _namespace(service: str) -> str:
    return service if service.startswith("urn:") else _NS_PREFIX + service


def error_code_number(error: PnpError, namespace: str) -> int | None:
    """The number sent for ``error`` in a response of ``namespace``.

    An explicit ``error.code`` wins; then the enum's number; ``PNP_ERROR_UNSUPPORTED_REQUEST``
    takes the service's own "unsupported" number. ``None`` when there is none.
    """
    if error.code is not None:
        return error.code
    if error.enum in ERROR_CODES:
        return ERROR_CODES[error.enum]
    if error.enum == PNP_ERROR_UNSUPPORTED_REQUEST:
        return _ERROR_SHAPE.get(namespace, (None, None))[1]
    m = _ERROR_CODE_TEXT.match(error.enum)
    return int(m.group(1)) if m else None


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


# --- agent → server (what the server decodes) ------------------------------------------------


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


def _error_info(resp: etree._Element, namespace: str, error: PnpError) -> None:
    default_severity, _ = _ERROR_SHAPE.get(namespace, ("XSVC_ERROR", None))
    has_severity = namespace not in (NS_CLI_CONFIG, NS_CLI_EXEC)
    info = _sub(resp, "errorInfo")
    if has_severity:
        _sub(info, "errorSeverity", error.severity or default_severity or "XSVC_ERROR")
    number = error_code_number(error, namespace)
    _sub(info, "errorCode", f"PnP Service Error {number}" if number is not None else error.enum)
    _sub(info, "errorMessage", error.string)


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
            local = _sub(el, "local")
            _sub(local, "interface", n.local_interface)
            _sub(local, "shortInterface", n.local_short_interface)
            _sub(local, "macAddress", n.local_mac)
            remote = _sub(el, "remote")
            _sub(remote, "interface", n.remote_interface)
            _sub(remote, "shortInterface", n.remote_short_interface)
            _sub(remote, "macAddress", n.remote_mac)
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


class _Reload(NamedTuple):
    reload: bool
    delay: int | None = None
    reason: str | None = None
    user: str | None = None
    save_config: bool | None = None


class _Env(NamedTuple):
    udi: str
    sid: str | None


def _reload(body: etree._Element) -> _Reload:
    reload_el = _child(body, "reload")
    if reload_el is not None:
        return _Reload(
            True,
            _int(_text(reload_el, "delayIn"), "delayIn"),
            _text(reload_el, "reason"),
            _text(reload_el, "user"),
            _bool(_text(reload_el, "saveConfig")),
        )
    # <noReload/>, or (leniently, as ianz94's template) neither element: no reload
    return _Reload(False)


def _decode_backoff(body: etree._Element, correlator: str, env: _Env) -> BackoffRequest:
    backoff = _child(body, "backoff")
    if backoff is None:
        raise PnpDecodeError("backoff request without <backoff>")
    reason = _text(backoff, "reason") or ""
    if _child(backoff, "terminate") is not None:
        return BackoffRequest(correlator, reason=reason, terminate=True, udi=env.udi, sid=env.sid)
    minutes = _int(_text(backoff, "defaultMinutes"), "defaultMinutes", 1, 2880)
    if minutes is not None:
        return BackoffRequest(
            correlator, reason=reason, default_minutes=minutes, udi=env.udi, sid=env.sid
        )
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
    return BackoffRequest(
        correlator, reason=reason, callback_after_seconds=seconds, udi=env.udi, sid=env.sid
    )


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
    env = _Env(_attr(root, "udi") or "", _attr(root, "sid"))
    ns = _ns(body)
    kind = _local(body)
    correlator = _attr(body, "correlator")
    if ns == NS_WORK_INFO and kind == "info":
        work = _child(body, "workInfo")
        if work is None or _child(work, "bye") is None:
            raise PnpDecodeError("a work-info message from the server that is not a bye")
        return ByeRequest(correlator or "", session_id=_text(work, "sid"), udi=env.udi, sid=env.sid)
    if kind != "request":
        raise PnpDecodeError(f"expected a service <request>, got <{kind}> in {ns!r}")
    if correlator is None:
        raise PnpDecodeError("request without a correlator")
    if ns == NS_CAPABILITY:
        return CapabilityRequest(correlator, udi=env.udi, sid=env.sid)
    if ns == NS_TOPOLOGY:
        return TopologyRequest(correlator, udi=env.udi, sid=env.sid)
    if ns == NS_DEVICE_INFO:
        di = _child(body, "deviceInfo")
        info_type = _attr(di, "type") if di is not None else None
        return DeviceInfoRequest(correlator, info_type or "all", udi=env.udi, sid=env.sid)
    if ns == NS_CONFIG_UPGRADE:
        config = _child(body, "config")
        copy = _child(config, "copy")
        uri, checksum = _copy_source(copy, "config-upgrade")
        rl = _reload(body)
        apply_to = _text(copy, "applyTo")
        return ConfigUpgradeRequest(
            correlator,
            uri,
            apply_to=apply_to or "startup",
            checksum=checksum,
            details=_attr(config, "details") if config is not None else None,
            abort_on_syntax_fault=_child(copy, "abortOnSyntaxFault") is not None,
            apply_to_given=bool(apply_to),
            reload=rl.reload,
            reload_delay=rl.delay,
            reload_reason=rl.reason,
            reload_user=rl.user,
            save_config=rl.save_config,
            udi=env.udi,
            sid=env.sid,
        )
    if ns == NS_IMAGE_INSTALL:
        copy = _child(_child(body, "image"), "copy")
        uri, checksum = _copy_source(copy, "image-install")
        rl = _reload(body)
        dest = _child(copy, "destination")
        destination = None
        if dest is not None:
            destination = _text(dest, "location") or _text(dest, "uri") or None
        return ImageInstallRequest(
            correlator,
            uri,
            checksum=checksum,
            destination=destination,
            reload=rl.reload,
            reload_delay=rl.delay,
            reload_reason=rl.reason,
            reload_user=rl.user,
            save_config=rl.save_config,
            udi=env.udi,
            sid=env.sid,
        )
    if ns == NS_BACKOFF:
        return _decode_backoff(body, correlator, env)
    if not ns:
        raise PnpDecodeError("request without a service namespace")
    return UnsupportedRequest(ns, correlator, udi=env.udi, sid=env.sid)


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


def _decode_error_info(info: etree._Element) -> PnpError:
    code_text = _text(info, "errorCode") or ""
    message = _text(info, "errorMessage") or ""
    severity = _text(info, "errorSeverity")
    m = _ERROR_CODE_TEXT.match(code_text)
    code = int(m.group(1)) if m else None
    enum = _GUIDE_ENUM_BY_STRING.get(message)
    if enum is None:
        enum = _CODE_NAMES.get(code, code_text) if code is not None else code_text
    return PnpError(enum, message, code=code, severity=severity)


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
                reload=request.reload,
                reload_delay=request.reload_delay,
                reload_reason=request.reload_reason,
                reload_user=request.reload_user,
                save_config=request.save_config,
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
                reload=request.reload,
                reload_delay=request.reload_delay,
                reload_reason=request.reload_reason,
                reload_user=request.reload_user,
                save_config=request.save_config,
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


# --- validation against Cisco's XSDs ----------------------------------------------------------


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
