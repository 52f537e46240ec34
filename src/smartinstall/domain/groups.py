"""Default, built-in and custom groups, and the precedence rule that picks a client's files.

Guide: "Smart Install Groups", "Using Custom Groups …" and the command reference of
``vstack group custom``. The rule:

1. Custom groups before built-in groups before the default (``vstack image|config|script``).
2. Among custom groups: MAC > connectivity > stack > product-id. This is the order of the
   command reference ("Among custom groups, a group matched by MAC address takes precedence over
   other matches. A connectivity match takes precedence over one matched by product ID or stack,
   and a stack match takes precedence over product ID") and of every section of chapter 2; the
   overview's one-line list ("stack group, MAC address, connectivity, and product ID") disagrees
   and is not followed.
3. A switch stack is provisioned only through a stack group ("A client switch in a stack can be
   updated only when it belongs to a custom stack group. It cannot belong to the default
   group"). Connectivity and product-id groups hold only standalone switches.
4. Among groups of one kind, the first configured wins (configuration order), as IOS walks its
   list.
5. The default image, configuration and script go only to a standalone switch of the network's
   default product ID ("If not, the director determines if the switch matches the Smart Install
   network default PID", "Adding a Client Switch to the Network"; "could use the default image,
   configuration file, and post install file if they match the default product ID", "Using
   Built-In Groups …"). That product ID is the platform the default image is built for, read
   from its name (:mod:`smartinstall.domain.platforms`). A client of another product ID gets
   nothing (``%SMI-3-IMG_CFG_NOT_CONFIGURED``). When either side is unknown — a default without
   an image, an image whose name does not tell its platform, a client whose product ID the
   director does not know yet (type P) — nothing says they differ and the default is offered;
   the reasons say so.
6. A switch stack never gets the default ("Stackable switches must have the correct
   configuration present because they do not have a default image and configuration"). Before
   a client has said hello its members (and a Catalyst 4500's supervisor) are unknown: a client
   that would get nothing as a standalone switch while a stack group (or a 4500 built-in group)
   may take it is *awaiting its hello* (:attr:`Assignment.awaiting_hello`): the director gives
   it only its own address so that it says hello, and decides when it asks again.

The result is an :class:`Assignment` with the files, the group that matched and the reasons.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from smartinstall.domain import catalog
from smartinstall.domain.catalog import BuiltinKey, CatalogError
from smartinstall.domain.devices import (
    Device,
    DeviceType,
    StackMember,
    validate_ipv4,
    validate_pid,
)
from smartinstall.domain.errors import DomainError
from smartinstall.domain.interfaces import canonical_interface, same_interface
from smartinstall.domain.locations import parse_location
from smartinstall.domain.platforms import image_families, image_name
from smartinstall.domain.values import normalize_mac


class GroupKind(Enum):
    MAC = "mac"
    CONNECTIVITY = "connectivity"
    STACK = "stack"
    PRODUCT_ID = "product-id"
    BUILTIN = "built-in"
    DEFAULT = "default"


CUSTOM_KINDS = (GroupKind.MAC, GroupKind.CONNECTIVITY, GroupKind.STACK, GroupKind.PRODUCT_ID)
GROUP_NAME_MAX = 31


@dataclass
class GroupFiles:
    """Image, configuration and post-install script of a group (or of the default).

    ``family_images`` holds the extra images of a mixed stack group: the image for members of
    one product family (``image <url> family <family>``); members of other families take
    ``image``.
    """

    image: str | None = None
    config: str | None = None
    script: str | None = None
    family_images: dict[str, str] = field(default_factory=dict)

    def set(self, kind: str, location: str | None) -> None:
        if location is not None:
            parse_location(location, kind)
        if kind == "image":
            self.image = location
        elif kind == "config":
            self.config = location
        elif kind == "script":
            self.script = location
        else:
            raise DomainError(f"% Invalid file kind: {kind}", kind)

    def set_family_image(self, family: str, location: str | None) -> None:
        catalog.family(family)
        if location is None:
            self.family_images.pop(family, None)
        else:
            parse_location(location, "image")
            self.family_images[family] = location

    @property
    def empty(self) -> bool:
        return not (self.image or self.config or self.script or self.family_images)

    def render(self, prefix: str = "") -> list[str]:
        lines = []
        if self.image:
            lines.append(f"{prefix}image {self.image}")
        for family, image in self.family_images.items():
            lines.append(f"{prefix}image {image} family {family}")
        if self.config:
            lines.append(f"{prefix}config {self.config}")
        if self.script:
            lines.append(f"{prefix}script {self.script}")
        return lines


@dataclass
class BuiltinGroup:
    key: BuiltinKey
    files: GroupFiles = field(default_factory=GroupFiles)

    def render(self) -> list[str]:
        words = ["vstack group built-in", self.key.family, self.key.port_config]
        if self.key.chassis:
            words.append(self.key.chassis)
        return [" ".join(words), *self.files.render(" ")]


@dataclass(frozen=True)
class ConnectivityMatch:
    """``match host <ip> interface <name>``: the upstream neighbour and its port."""

    host: str
    interface: str

    @staticmethod
    def of(host: str, interface: str) -> ConnectivityMatch:
        return ConnectivityMatch(validate_ipv4(host), canonical_interface(interface))


@dataclass(frozen=True)
class StackMatch:
    """``match <switch_number> <product_family> <port_config>``."""

    member: int
    key: BuiltinKey

    @staticmethod
    def of(member: int, family: str, port_config: str) -> StackMatch:
        if not 1 <= member <= 9:
            raise DomainError(f"% Invalid switch number: {member} (range 1 to 9)", str(member))
        return StackMatch(member, catalog.builtin_key(family, port_config))


@dataclass
class CustomGroup:
    name: str
    kind: GroupKind
    files: GroupFiles = field(default_factory=GroupFiles)
    macs: list[str] = field(default_factory=list)
    hosts: list[ConnectivityMatch] = field(default_factory=list)
    stack: list[StackMatch] = field(default_factory=list)
    product_ids: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.name = validate_group_name(self.name)
        if self.kind not in CUSTOM_KINDS:
            raise DomainError(f"% Invalid custom group type: {self.kind.value}", self.kind.value)

    def add_match(self, words: Sequence[str]) -> None:
        """Apply ``match …`` (the words after ``match``) for this group's kind."""
        if self.kind is GroupKind.MAC:
            args = list(words)
            if args and args[0].lower() == "mac":
                args = args[1:]
            if len(args) != 1:
                raise DomainError("% Usage: match mac <mac_address>")
            mac = normalize_mac(args[0])
            if mac not in self.macs:
                self.macs.append(mac)
        elif self.kind is GroupKind.CONNECTIVITY:
            args = list(words)
            if len(args) < 4 or args[0].lower() != "host" or args[2].lower() != "interface":
                raise DomainError("% Usage: match host <ip_address> interface <name>")
            entry = ConnectivityMatch.of(args[1], " ".join(args[3:]))
            if entry not in self.hosts:
                self.hosts.append(entry)
        elif self.kind is GroupKind.STACK:
            if len(words) != 3 or not words[0].isascii() or not words[0].isdigit():
                raise DomainError("% Usage: match <switch_number> <product_family> <port_config>")
            stack_entry = StackMatch.of(int(words[0]), words[1], words[2])
            self.stack = [m for m in self.stack if m.member != stack_entry.member]
            self.stack.append(stack_entry)
            self.stack.sort(key=lambda m: m.member)
        elif self.kind is GroupKind.PRODUCT_ID:
            if len(words) != 1:
                raise DomainError("% Usage: match <product-id>")
            pid = validate_pid(words[0])
            if pid not in self.product_ids:
                self.product_ids.append(pid)

    def remove_match(self, words: Sequence[str]) -> None:
        """``no match …``; with no words every match of the group goes."""
        if not words:
            self.macs.clear()
            self.hosts.clear()
            self.stack.clear()
            self.product_ids.clear()
            return
        probe = CustomGroup(self.name, self.kind)
        probe.add_match(words)
        self.macs = [m for m in self.macs if m not in probe.macs]
        self.hosts = [h for h in self.hosts if h not in probe.hosts]
        self.stack = [s for s in self.stack if s not in probe.stack]
        self.product_ids = [p for p in self.product_ids if p not in probe.product_ids]

    def match_lines(self) -> list[str]:
        if self.kind is GroupKind.MAC:
            return [f"match mac {mac}" for mac in self.macs]
        if self.kind is GroupKind.CONNECTIVITY:
            return [f"match host {h.host} interface {h.interface}" for h in self.hosts]
        if self.kind is GroupKind.STACK:
            return [f"match {m.member} {m.key.family} {m.key.port_config}" for m in self.stack]
        return [f"match {pid}" for pid in self.product_ids]

    def render(self) -> list[str]:
        head = f"vstack group custom {self.name} {self.kind.value}"
        body = [f" {line}" for line in self.match_lines()] + self.files.render(" ")
        return [head, *body]


def validate_group_name(text: str) -> str:
    name = text.strip()
    if not name or len(name) > GROUP_NAME_MAX or not all(c.isalnum() or c in "-_." for c in name):
        raise DomainError(f"% Invalid group name: {name[:40] or repr(text)}", text)
    return name


@dataclass
class GroupSettings:
    default: GroupFiles = field(default_factory=GroupFiles)
    builtin: dict[BuiltinKey, BuiltinGroup] = field(default_factory=dict)
    custom: dict[str, CustomGroup] = field(default_factory=dict)


# --- the client as the rule sees it --------------------------------------------------------


@dataclass(frozen=True)
class ClientFacts:
    """What the director knows of a client when it decides: from DHCP, CDP and SMI reports."""

    mac: str
    pid: str = ""
    upstream_ip: str = ""
    upstream_interface: str = ""
    members: tuple[StackMember, ...] = ()
    supervisor: str = ""
    # False until the client has said what it is (its SMI hello): a switch stack is not told
    # from a standalone switch by its DHCP request, nor a 4500's supervisor
    identified: bool = True

    @property
    def is_stack(self) -> bool:
        return len(self.members) > 1

    @staticmethod
    def of_device(device: Device) -> ClientFacts:
        """What the director database knows of a client, as the rule sees it."""
        return ClientFacts(
            mac=device.mac,
            pid=device.pid,
            upstream_ip=device.upstream_ip,
            upstream_interface=device.upstream_port,
            members=device.members,
            supervisor=device.supervisor,
            identified=bool(device.members) or device.device_type is not DeviceType.PENDING,
        )


@dataclass(frozen=True)
class Assignment:
    """Which files a client gets and why."""

    kind: GroupKind | None
    group: str  # "default", "3750 24poe", "sup8-e 4506", or the custom group's name
    image: str | None = None
    member_images: tuple[tuple[int, str], ...] = ()  # stacks: one image per member
    config: str | None = None
    script: str | None = None
    reasons: tuple[str, ...] = ()
    problem: str = ""  # why nothing can be installed; empty when the assignment is usable
    mnemonic: str = ""  # the %SMI message for the problem, e.g. IMG_CFG_NOT_CONFIGURED
    # undecided until the client says hello: it may be a stack of a stack group (or a 4500)
    awaiting_hello: bool = False

    @property
    def ok(self) -> bool:
        return not self.problem

    @property
    def images(self) -> tuple[str, ...]:
        """The imagelist content: the image, or one per stack member in member order."""
        if self.member_images:
            return tuple(image for _, image in self.member_images)
        return (self.image,) if self.image else ()


def _client_key(pid: str, supervisor: str = "") -> BuiltinKey | None:
    try:
        return catalog.builtin_key_for_pid(pid, supervisor or None)
    except CatalogError:
        return None


def resolve(groups: GroupSettings, client: ClientFacts) -> Assignment:
    """Apply the precedence rule of the guide to one client."""
    reasons: list[str] = []
    mac = normalize_mac(client.mac)

    for group in _custom_of(groups, GroupKind.MAC):
        if mac in group.macs:
            reasons.append(f"MAC {mac} is listed in custom group {group.name} (mac)")
            return _finish(GroupKind.MAC, group.name, group.files, client, reasons)

    if client.is_stack:
        reasons.append(f"stack of {len(client.members)} members: only custom stack groups apply")
        for group in _custom_of(groups, GroupKind.STACK):
            why = _stack_matches(group, client)
            if why:
                reasons.append(why)
                return _finish(GroupKind.STACK, group.name, group.files, client, reasons)
        reasons.append("no custom stack group matches every member")
        return Assignment(
            None,
            "",
            reasons=tuple(reasons),
            problem="a switch stack is upgraded only through a custom stack group",
            mnemonic="IMG_CFG_NOT_CONFIGURED",
        )

    assignment = _standalone(groups, client, reasons)
    if assignment.ok or client.identified:
        return assignment
    return _awaiting_hello(groups, client, assignment)


def _standalone(groups: GroupSettings, client: ClientFacts, reasons: list[str]) -> Assignment:
    """Connectivity, product-id and built-in groups, then the default: a standalone switch."""
    if client.upstream_ip and client.upstream_interface:
        for group in _custom_of(groups, GroupKind.CONNECTIVITY):
            for entry in group.hosts:
                if entry.host == client.upstream_ip and same_interface(
                    entry.interface, client.upstream_interface
                ):
                    reasons.append(
                        f"upstream neighbour {entry.host} port {entry.interface} matches "
                        f"custom group {group.name} (connectivity)"
                    )
                    return _finish(GroupKind.CONNECTIVITY, group.name, group.files, client, reasons)

    key = _client_key(client.pid, client.supervisor) if client.pid else None
    if client.members:
        # A one-member "stack" is a standalone switch; the stack rules need two or more.
        for group in _custom_of(groups, GroupKind.STACK):
            why = _stack_matches(group, client)
            if why:
                reasons.append(why)
                return _finish(GroupKind.STACK, group.name, group.files, client, reasons)

    pid = client.pid.upper()
    if pid:
        for group in _custom_of(groups, GroupKind.PRODUCT_ID):
            if pid in group.product_ids:
                reasons.append(f"product ID {pid} matches custom group {group.name} (product-id)")
                return _finish(GroupKind.PRODUCT_ID, group.name, group.files, client, reasons)

    if key is not None:
        builtin = _builtin_for(groups, key)
        if builtin is not None:
            reasons.append(
                f"product ID {pid} is in built-in group {key.label()}"
                + (f" (configured as {builtin.key.label()})" if builtin.key != key else "")
            )
            return _finish(GroupKind.BUILTIN, builtin.key.label(), builtin.files, client, reasons)
        reasons.append(f"product ID {pid} belongs to built-in group {key.label()}, not configured")
    elif pid:
        reasons.append(f"product ID {pid} is in no built-in group")
    else:
        reasons.append("product ID unknown (device type P)")

    return _default(groups, client, reasons)


def default_families(groups: GroupSettings) -> frozenset[str] | None:
    """The network's default product ID as product families: the platforms the default image
    is built for; None when the default tells none (no default image, or a name that does not
    say its platform)."""
    image = groups.default.image
    return image_families(image) if image else None


def families_label(families: frozenset[str]) -> str:
    """Product families as the reasons name them: ``2960x/2960xr``."""
    return "/".join(sorted(families, key=str.lower))


def _default(groups: GroupSettings, client: ClientFacts, reasons: list[str]) -> Assignment:
    """The default group for a standalone switch that matches no group: only for the
    network's default product ID (rule 5 of the module notes)."""
    files = groups.default
    if files.empty:
        reasons.append("no group matches and no default image or configuration is configured")
        return _finish(GroupKind.DEFAULT, "default", files, client, reasons)
    families = default_families(groups)
    pid = client.pid.upper()
    apply = "the default image and configuration apply"
    if families is None:
        why = (
            "the default has no image"
            if not files.image
            else f"the name of the default image {image_name(files.image)} does not say its "
            "platform"
        )
        reasons.append(
            f"no group matches; {why}, so no default product ID tells this switch apart: {apply}"
        )
        return _finish(GroupKind.DEFAULT, "default", files, client, reasons)
    label = families_label(families)
    source = f"the platform of the default image {image_name(files.image or '')}"
    if not pid:
        reasons.append(
            "no group matches; the product ID is not known yet, so nothing tells it from the "
            f"network's default product ID ({label}, {source}): {apply}"
        )
        return _finish(GroupKind.DEFAULT, "default", files, client, reasons)
    family = catalog.family_for_pid(pid)
    named = f"product ID {pid} ({f'family {family}' if family else 'no known family'})"
    if family in families:
        reasons.append(
            f"no group matches; {named} is the network's default product ID ({label}, "
            f"{source}): {apply}"
        )
        return _finish(GroupKind.DEFAULT, "default", files, client, reasons)
    reasons.append(
        f"no group matches, and {named} is not the network's default product ID ({label}, "
        f"{source}): the default is not for it"
    )
    return Assignment(
        None,
        "",
        reasons=tuple(reasons),
        problem=(
            f"no group for product ID {pid}, and the default image and configuration are for "
            f"the network's default product ID ({label})"
        ),
        mnemonic="IMG_CFG_NOT_CONFIGURED",
    )


def _awaiting_hello(
    groups: GroupSettings, client: ClientFacts, standalone: Assignment
) -> Assignment:
    """A client that has not said hello, with nothing for it as a standalone switch: when a
    group may take it once its hello tells its members or its supervisor — a stack group with a
    line of its product family, a built-in group of its Catalyst 4500 chassis family, any of
    them when its product ID is unknown — the decision waits for that hello (rule 6)."""
    family = catalog.family_for_pid(client.pid) if client.pid else None
    if client.pid and family is None:
        return standalone  # a product ID of no known family matches no stack or chassis group
    waits = [
        f"a switch stack of custom group {group.name} (stack)"
        for group in _custom_of(groups, GroupKind.STACK)
        if not group.files.empty
        and (family is None or any(line.key.family == family for line in group.stack))
    ]
    if not client.supervisor and family in (None, catalog.CHASSIS_BASED_FAMILY):
        waits += [
            f"a chassis of built-in group {builtin.key.label()} once its supervisor is known"
            for builtin in groups.builtin.values()
            if not builtin.files.empty and builtin.key.family == catalog.CHASSIS_BASED_FAMILY
        ]
    if not waits:
        return standalone
    return Assignment(
        None,
        "",
        reasons=(
            *standalone.reasons,
            f"it has not said hello yet, and it may be {' or '.join(waits)}",
        ),
        problem="not identified yet: the director decides once the client has said hello",
        awaiting_hello=True,
    )


def _custom_of(groups: GroupSettings, kind: GroupKind) -> list[CustomGroup]:
    return [g for g in groups.custom.values() if g.kind is kind]


def _builtin_for(groups: GroupSettings, key: BuiltinKey) -> BuiltinGroup | None:
    exact = groups.builtin.get(key)
    if exact is not None and not exact.files.empty:
        return exact
    for configured in groups.builtin.values():
        if configured.files.empty or configured.key == key:
            continue
        if key in catalog.keys_matching(configured.key):
            return configured
    return None


def _stack_matches(group: CustomGroup, client: ClientFacts) -> str:
    """Why the stack matches the group, or ``""``.

    Every member must be matched by the line with its number and its product family and port
    configuration. A homogeneous stack (all members one built-in type) needs no line per
    member: one line with that type covers them all, as the guide allows since 12.2(58)SE.
    """
    if not group.stack:
        return ""
    keys: dict[int, BuiltinKey | None] = {m.number: _client_key(m.pid) for m in client.members}
    by_member = {m.member: m.key for m in group.stack}
    if all(keys[n] is not None and by_member.get(n) == keys[n] for n in keys):
        return f"every stack member matches custom group {group.name} (stack)"
    distinct = set(keys.values())
    if len(distinct) == 1 and None not in distinct:
        only = next(iter(distinct))
        if any(m.key == only for m in group.stack):
            assert only is not None
            return f"homogeneous stack of {only.label()} matches custom group {group.name} (stack)"
    return ""


def _finish(
    kind: GroupKind,
    name: str,
    files: GroupFiles,
    client: ClientFacts,
    reasons: list[str],
) -> Assignment:
    member_images: list[tuple[int, str]] = []
    problem = ""
    mnemonic = ""
    if client.is_stack or (kind is GroupKind.STACK and client.members):
        for member in client.members:
            key = _client_key(member.pid)
            family = key.family if key else ""
            image = files.family_images.get(family) or files.image
            if image:
                member_images.append((member.number, image))
            elif files.image or files.family_images:
                problem = f"no image for stack member {member.number} ({member.pid})"
                mnemonic = "IMAGELIST_FAILED"
    has_image = bool(files.image or member_images)
    if not has_image and not files.config:
        if files.script:
            problem = "a post-install script alone is not an upgrade: configure an image or config"
        else:
            problem = f"no image or configuration configured for {name}"
        mnemonic = "IMG_CFG_NOT_CONFIGURED"
    return Assignment(
        kind=kind,
        group=name,
        image=files.image if not member_images else None,
        member_images=tuple(member_images),
        config=files.config,
        script=files.script,
        reasons=tuple(reasons),
        problem=problem,
        mnemonic=mnemonic,
    )
