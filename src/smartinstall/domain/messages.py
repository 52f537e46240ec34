"""The ``%SMI-…`` system messages of Smart Install.

Every message of the guide's chapter "System Messages" ("Smart Install System Messages"), with
its facility, severity, mnemonic and text.  The text keeps the guide's wording, spacing and
punctuation exactly (``(IP Address :[inet])`` included) because operators grep their logs for
it; the variable fields the guide writes as ``[chars]``, ``[inet]``, ``[enet]``, ``[dec]`` are
named placeholders here (``{ip}``, ``{mac}`` …), in the order they appear.  The explanations
and recommended actions are short summaries of the guide's, worded for this implementation.

A rendered message has the guide's format (chapter "How to Read System Messages")::

    %FACILITY-SEVERITY-MNEMONIC: Message-text

for example ``%SMI-6-SWITCH_ADD: New Device detected by Director with mac address:
0000.FEED.00C0``.  Timestamps and sequence numbers are the logger's business, not this module's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

__all__ = [
    "CATALOG",
    "FACILITY",
    "SEVERITY_NAMES",
    "MessageDef",
    "SystemMessage",
    "field_kinds",
    "parse",
    "render",
]

#: the facility of every Smart Install message
FACILITY: Final = "SMI"

#: Table 5-1 "Message Severity Levels": level → name
SEVERITY_NAMES: Final[Mapping[int, str]] = MappingProxyType(
    {
        0: "emergency",
        1: "alert",
        2: "critical",
        3: "error",
        4: "warning",
        5: "notification",
        6: "informational",
        7: "debugging",
    }
)

#: the guide's variable-field types (Table 5-2 "Variable Fields")
_KINDS: Final = frozenset({"chars", "char", "dec", "hex", "enet", "inet"})


@dataclass(frozen=True)
class MessageDef:
    """One system message definition.

    ``text`` holds the guide's message text with ``{name}`` placeholders, ``fields`` their names
    in order of appearance.
    """

    facility: str
    severity: int
    mnemonic: str
    text: str
    explanation: str
    action: str
    fields: tuple[str, ...]

    @property
    def prefix(self) -> str:
        """``%SMI-6-SWITCH_ADD``."""
        return f"%{self.facility}-{self.severity}-{self.mnemonic}"


_NO_ACTION = "No action is required."
_REPORT = (
    "Copy the message as it appears in the log and report it with the director's version and "
    "configuration."
)
_BACKUP_CHECK = (
    "Check that the client reaches the director and the repository, that backup is on "
    "(show vstack config) and that the repository directory is correct, especially on an "
    "external TFTP server."
)

# (severity, mnemonic, text with {name:kind} fields, explanation, action), in the guide's order.
_DEFINITIONS: Final[tuple[tuple[int, str, str, str, str], ...]] = (
    (
        3,
        "IMAGELIST_FAILED",
        "Default imagelist creation failed.",
        "The director could not create the default image list file: no space left in its file "
        "repository, a write error, or no default image configured.",
        "Free space in the director repository (an image list needs about 100 bytes) and check "
        "that a default image is configured.",
    ),
    (
        3,
        "IMG_CFG_NOT_CONFIGURED",
        "{device:chars} (IP Address :{ip:inet}) : The Director does not have a image list file or "
        "a configuration file configured for this Product-ID",
        "The director has neither an image list nor a configuration for the device, so it cannot "
        "be upgraded. device is the Smart Install device reporting it (client or director; "
        "redundant on the director), ip its address.",
        "Put the device in a built-in group (vstack group built-in) or a custom group (vstack "
        "group custom) and configure an image or a configuration for that group.",
    ),
    (
        3,
        "INTERNAL_ERROR",
        "{error:chars} - {code:dec}",
        "An internal software error occurred on the director. error describes it, code is the "
        "return code.",
        _REPORT,
    ),
    (
        3,
        "NOMEMORY",
        "Smart Install memory allocation failure; could not allocate {table:chars}",
        "The client could not allocate memory for a data table (the MIB tables allocated at "
        "start-up). table names it.",
        _REPORT,
    ),
    (
        3,
        "SMI_CLIENT_BACKUP_FAILURE",
        "Client Device startup configuration backup fail on repository",
        "The client could not back up its startup configuration to the repository (logged by "
        "the client only).",
        _BACKUP_CHECK,
    ),
    (
        3,
        "SMI_DIRECTOR_BACKUP_FAILURE",
        "Client Device ({client_ip:inet}) startup configuration backup fail on repository: "
        "{repository:chars} - reason: {reason:chars}",
        "A client's startup configuration backup to the repository failed (logged by the "
        "director only). client_ip is the client, repository the repository path, reason why.",
        _BACKUP_CHECK,
    ),
    (
        3,
        "TAILOR_FAILED",
        "Legacy switches will not be upgraded",
        "The director could not create the tailored configuration file that non-Smart-Install "
        "(legacy) switches need: no space in its repository or a write error.",
        "Free space in the director repository (a tailored configuration needs about 100 bytes) "
        "and check the director configuration.",
    ),
    (
        3,
        "UPGRD_FAILED",
        "Device (IP address: {ip:inet}) {what:chars} upgrade failed",
        "A client could not upgrade. ip is the client, what is image or config.",
        "Check the director configuration, that the client reaches the TFTP server and that the "
        "image or configuration file exists there under the configured name.",
    ),
    (
        5,
        "DIRECTOR",
        "Director is {status:chars}",
        "The director changed state. status is Enabled or Disabled.",
        _NO_ACTION,
    ),
    (
        6,
        "AUTOINSTALL",
        "{status:chars} AUTOINSTALL",
        "The auto install and Smart Install processes stopped or continued. status is aborted "
        "or continued.",
        _NO_ACTION,
    ),
    (
        6,
        "CLIENT_CONN_FAILED",
        "Device (IP address: {client_ip:inet}) failed to connect to Director (IP address : "
        "{director_ip:inet})",
        "A client could not connect to the director: it does not know the director's address or "
        "cannot reach it. client_ip is the client, director_ip the director.",
        "Check the director address configured on the client (vstack director).",
    ),
    (
        6,
        "INCORRECT_CFG",
        "No image and config configured for this {device_type:chars} {model:chars}",
        "The director has no configuration for the device. device_type is switch, switch-stack "
        "or sku type; for sku type, model is the model number.",
        "Configure a group with a configuration for the device.",
    ),
    (
        6,
        "SMI_CLIENT_BACKUP_SUCCESS",
        "Client Device startup configuration backup successful on repository",
        "The client backed up its startup configuration to the repository (logged by the client "
        "only).",
        _NO_ACTION,
    ),
    (
        6,
        "SMI_DHCP_ERR",
        "Device failed to {action:chars} DHCP {parameter:chars}",
        "The director could not configure or remove a DHCP parameter (pool, subnet, pool "
        "option). action is configure or remove, parameter names it.",
        "Check that the DHCP parameter has a permitted value.",
    ),
    (
        6,
        "SMI_DIRECTOR_BACKUP_SUCCESS",
        "Client Device ({client_ip:inet}) startup configuration backup successful on repository: "
        "{repository:chars}",
        "A client's startup configuration was backed up to the repository (logged by the director "
        "only). client_ip is the client, repository the repository path.",
        _NO_ACTION,
    ),
    (
        6,
        "SMI_INVALID_MESSAGE",
        "Received invalid message from {device:chars} (IP Address : {ip:inet}), SMI Version : "
        "{version:dec} Message Type : {message_type:dec}",
        "A client or director received a message type it does not know, typically from a peer "
        "speaking a newer Smart Install protocol version. device and ip identify the sender, "
        "version its protocol version, message_type the message type.",
        "Run the newest protocol version on the director: a newer director works with older "
        "clients, not the other way around.",
    ),
    (
        6,
        "SMI_JOIN_WINDOW_MESSAGE",
        "SMI Join window {status:chars} on IBD(IP address: {ip:inet})",
        "A join window opened or closed. status is Start or End, ip the director's address.",
        _NO_ACTION,
    ),
    (
        6,
        "SWITCH_ADD",
        "New Device detected by Director with mac address: {mac:enet}",
        "The director detected a new device and added it to its database. mac is its Ethernet "
        "address.",
        _NO_ACTION,
    ),
    (
        6,
        "SWITCH_REMOVE",
        "Device {mac:enet} removed from the Director Database",
        "A device stopped communicating and was removed from the director database; it may have "
        "left the Smart Install network. mac is its Ethernet address.",
        _NO_ACTION,
    ),
    (
        6,
        "SWITCH_REPLACE",
        "Device {old_mac:enet} is being replaced by {new_mac:enet} Device",
        "A device is being replaced by another in the Smart Install network (zero-touch "
        "replacement). old_mac is the replaced device, new_mac the replacement.",
        _NO_ACTION,
    ),
    (
        6,
        "UPGRD_STARTED",
        "Device (IP address: {ip:inet}) {what:chars} upgrade has started",
        "An image or configuration upgrade started on a client. ip is the client, what the name "
        "of the image or configuration file.",
        _NO_ACTION,
    ),
    (
        6,
        "UPGRD_SUCCESS",
        "Device (IP address: {ip:inet}) {what:chars} has upgraded successfully",
        "A client was upgraded with a new image or configuration file. ip is the client, what "
        "the name of the file.",
        _NO_ACTION,
    ),
)

_FIELD = re.compile(r"\{([a-z][a-z0-9_]*):([a-z]+)\}")
_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")


def _build() -> tuple[dict[str, MessageDef], dict[str, Mapping[str, str]]]:
    catalog: dict[str, MessageDef] = {}
    kinds: dict[str, Mapping[str, str]] = {}
    for severity, mnemonic, template, explanation, action in _DEFINITIONS:
        if mnemonic in catalog or not 0 <= severity <= 7:
            raise RuntimeError(f"bad message definition {mnemonic}")
        found = _FIELD.findall(template)
        names = tuple(name for name, _ in found)
        if len(set(names)) != len(names) or any(k not in _KINDS for _, k in found):
            raise RuntimeError(f"bad fields in {mnemonic}")
        text = _FIELD.sub(lambda m: "{" + m.group(1) + "}", template)
        if "{" in _PLACEHOLDER.sub("", text) or "}" in _PLACEHOLDER.sub("", text):
            raise RuntimeError(f"stray brace in {mnemonic}")
        catalog[mnemonic] = MessageDef(
            FACILITY, severity, mnemonic, text, explanation, action, names
        )
        kinds[mnemonic] = MappingProxyType(dict(found))
    return catalog, kinds


_catalog, _kinds = _build()

#: every Smart Install system message, by mnemonic, in the guide's order
CATALOG: Mapping[str, MessageDef] = MappingProxyType(_catalog)


def field_kinds(mnemonic: str) -> Mapping[str, str]:
    """The guide's type of each field of ``mnemonic`` (``{"ip": "inet"}``); KeyError if unknown."""
    return _kinds[mnemonic]


def _value(mnemonic: str, name: str, kind: str, value: object) -> str:
    if kind == "dec":
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(f"{mnemonic}: field {name} must be a decimal integer")
        if isinstance(value, str) and not re.fullmatch(r"-?[0-9]+", value):
            raise ValueError(f"{mnemonic}: field {name} must be a decimal integer")
    text = str(value)
    # A message is one log line: control characters in a value (a client-reported hostname,
    # a file name) are escaped rather than allowed to forge further lines.
    if not text.isprintable():
        text = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
    return text


def render(mnemonic: str, **fields: object) -> str:
    """The message as the guide prints it, with its fields substituted.

    ``render("SWITCH_ADD", mac="0000.FEED.00C0")`` →
    ``"%SMI-6-SWITCH_ADD: New Device detected by Director with mac address: 0000.FEED.00C0"``.
    Raises KeyError for an unknown mnemonic and ValueError for a missing or unknown field or a
    ``[dec]`` field that is not an integer.
    """
    definition = _catalog[mnemonic]
    kinds = _kinds[mnemonic]
    missing = [n for n in definition.fields if n not in fields]
    if missing:
        raise ValueError(f"{mnemonic}: missing field(s) {', '.join(missing)}")
    extra = sorted(set(fields) - set(definition.fields))
    if extra:
        raise ValueError(f"{mnemonic}: unknown field(s) {', '.join(extra)}")
    values = {n: _value(mnemonic, n, kinds[n], fields[n]) for n in definition.fields}
    text = _PLACEHOLDER.sub(lambda m: values[m.group(1)], definition.text)
    return f"{definition.prefix}: {text}"


@dataclass(frozen=True)
class SystemMessage:
    """One occurrence of a system message: the mnemonic and its field values.

    Validated on construction (unknown mnemonic → KeyError, bad fields → ValueError).
    """

    mnemonic: str
    fields: Mapping[str, str]

    def __post_init__(self) -> None:
        frozen = MappingProxyType({str(k): str(v) for k, v in self.fields.items()})
        render(self.mnemonic, **frozen)
        object.__setattr__(self, "fields", frozen)

    def __hash__(self) -> int:
        return hash((self.mnemonic, tuple(sorted(self.fields.items()))))

    @property
    def definition(self) -> MessageDef:
        return _catalog[self.mnemonic]

    @property
    def severity(self) -> int:
        return _catalog[self.mnemonic].severity

    @property
    def facility(self) -> str:
        return _catalog[self.mnemonic].facility

    def text(self) -> str:
        """The rendered message, ``%SMI-6-SWITCH_ADD: …``."""
        return render(self.mnemonic, **self.fields)


_HEADER = re.compile(r"%([A-Z][A-Z0-9_]*)-([0-7])-([A-Z][A-Z0-9_]*): (.*)")
_MAX_LINE = 4096


def _matcher(definition: MessageDef) -> re.Pattern[str]:
    parts = _PLACEHOLDER.split(definition.text)
    pattern = []
    for i, part in enumerate(parts):
        pattern.append(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.*?)")
    return re.compile("".join(pattern))


_MATCHERS: Final = MappingProxyType({m: _matcher(d) for m, d in _catalog.items()})


def parse(line: str) -> SystemMessage | None:
    """Read a rendered message back (anything before the ``%`` is ignored, e.g. a timestamp).

    Returns None for a line that is not a Smart Install message of this catalogue; never
    raises on any string.  Fields are read non-greedily, so a value that contains the text
    following it in the template is split at its first occurrence.
    """
    if not isinstance(line, str) or len(line) > _MAX_LINE:
        return None
    start = line.find("%")
    if start < 0:
        return None
    head = _HEADER.fullmatch(line[start:].rstrip("\r\n"))
    if head is None:
        return None
    facility, severity, mnemonic, text = head.groups()
    definition = _catalog.get(mnemonic)
    if definition is None or facility != definition.facility:
        return None
    if int(severity) != definition.severity:
        return None
    m = _MATCHERS[mnemonic].fullmatch(text)
    if m is None:
        return None
    try:
        return SystemMessage(mnemonic, m.groupdict())
    except ValueError:
        return None
