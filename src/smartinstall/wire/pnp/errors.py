"""PnP service errors (protocol.md §7, guide ch. 4 "Unsupported Services"): the guide's SMI
Proxy enums and strings, the XSD error numbers, :class:`PnpError` and the ``errorInfo`` block
of a failed service response (encoded and decoded)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from smartinstall.wire.pnp.envelope import (
    NS_BACKOFF,
    NS_CLI_CONFIG,
    NS_CLI_EXEC,
    NS_CONFIG_UPGRADE,
    NS_DEVICE_INFO,
    NS_IMAGE_INSTALL,
    _sub,
    _text,
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


# number of its own).
_GUIDE_ENUM_BY_STRING: dict[str, str] = {
    SMI_PROXY_UNSUPPORTED_REQUEST: PNP_ERROR_UNSUPPORTED_REQUEST,
    SMI_PROXY_CONFIG_RUNNING_UNSUPPORTED: XSVC_ERROR_CONFIG_UPGRADE_UNSUPPORTED,
    SMI_PROXY_DEVICE_HARDWARE_INFO_UNSUPPORTED: XSVC_ERROR_DEVICE_INFO_UNSUPPORTED,
    SMI_PROXY_DEVICE_FILESYSTEM_INFO_UNSUPPORTED: XSVC_ERROR_DEVICE_INFO_UNSUPPORTED,
}

_ERROR_CODE_TEXT = re.compile(r"^\s*PnP Service Error (\d{1,6})\s*$")


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


def _error_info(resp: etree._Element, namespace: str, error: PnpError) -> None:
    default_severity, _ = _ERROR_SHAPE.get(namespace, ("XSVC_ERROR", None))
    has_severity = namespace not in (NS_CLI_CONFIG, NS_CLI_EXEC)
    info = _sub(resp, "errorInfo")
    if has_severity:
        _sub(info, "errorSeverity", error.severity or default_severity or "XSVC_ERROR")
    number = error_code_number(error, namespace)
    _sub(info, "errorCode", f"PnP Service Error {number}" if number is not None else error.enum)
    _sub(info, "errorMessage", error.string)


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
