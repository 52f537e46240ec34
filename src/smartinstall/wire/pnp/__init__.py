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

The codec is split by message kind; every name is importable from this package:

* :mod:`.envelope` — transport paths, namespaces, :class:`Udi`, :data:`MAX_MESSAGE_SIZE`,
  :class:`PnpDecodeError` and the safe lxml parser/builder helpers;
* :mod:`.errors` — :class:`PnpError`, the guide's SMI Proxy errors, the XSD error numbers and
  the ``errorInfo`` block;
* :mod:`.work` — the work request and the bye (work-info);
* :mod:`.requests` — server → agent service requests (:func:`decode_request`,
  ``encode_*_request``);
* :mod:`.responses` — agent → server service responses (``encode_*_response``,
  :func:`decode_response`);
* :mod:`.xsd` — validation against Cisco's XSDs (:func:`validate`).
"""

from smartinstall.wire.pnp.envelope import (
    HELLO_PATH,
    MAX_MESSAGE_SIZE,
    NS_BACKOFF,
    NS_CAPABILITY,
    NS_CLI_CONFIG,
    NS_CLI_EXEC,
    NS_CONFIG_UPGRADE,
    NS_DEVICE_INFO,
    NS_ERROR,
    NS_FAULT,
    NS_IMAGE_INSTALL,
    NS_PNP,
    NS_TOPOLOGY,
    NS_WORK_INFO,
    SMI_PROXY_CAPABILITIES,
    SMI_PROXY_SERVICES,
    WORK_REQUEST_PATH,
    WORK_RESPONSE_PATH,
    PnpDecodeError,
    Udi,
    service_name,
)
from smartinstall.wire.pnp.envelope import (
    UdiLike as UdiLike,
)
from smartinstall.wire.pnp.errors import (
    ERROR_CODES,
    ERROR_CONFIG_RUNNING_UNSUPPORTED,
    ERROR_DEVICE_FILESYSTEM_INFO_UNSUPPORTED,
    ERROR_DEVICE_HARDWARE_INFO_UNSUPPORTED,
    ERROR_UNSUPPORTED_REQUEST,
    PNP_ERROR_UNSUPPORTED_REQUEST,
    SMI_PROXY_CONFIG_RUNNING_UNSUPPORTED,
    SMI_PROXY_DEVICE_FILESYSTEM_INFO_UNSUPPORTED,
    SMI_PROXY_DEVICE_HARDWARE_INFO_UNSUPPORTED,
    SMI_PROXY_UNSUPPORTED_REQUEST,
    XSVC_ERROR_CONFIG_UPGRADE_UNSUPPORTED,
    XSVC_ERROR_DEVICE_INFO_UNSUPPORTED,
    PnpError,
    error_code_number,
)
from smartinstall.wire.pnp.requests import (
    DEFAULT_CALLBACK_SECONDS,
    BackoffRequest,
    ByeRequest,
    CapabilityRequest,
    ConfigUpgradeRequest,
    DeviceInfoRequest,
    ImageInstallRequest,
    NoWork,
    ServiceRequest,
    TopologyRequest,
    UnsupportedRequest,
    decode_request,
    encode_backoff_request,
    encode_capability_request,
    encode_cli_exec_request,
    encode_config_upgrade_request,
    encode_device_info_request,
    encode_image_install_request,
    encode_request,
    encode_topology_request,
)
from smartinstall.wire.pnp.responses import (
    DeviceInfo,
    FileSystem,
    HardwareInfo,
    ImageInfo,
    ServiceResponse,
    TopologyNeighbour,
    decode_response,
    encode_backoff_response,
    encode_capability_response,
    encode_config_upgrade_response,
    encode_device_info_response,
    encode_error_response,
    encode_fault,
    encode_image_install_response,
    encode_topology_response,
)
from smartinstall.wire.pnp.work import (
    WorkRequest,
    decode_work_request,
    decode_work_request_info,
    encode_bye,
    encode_work_request,
)
from smartinstall.wire.pnp.xsd import (
    schema_file_for,
    validate,
)

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
