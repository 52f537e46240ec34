"""The director's SNMP configuration: the ``snmp-server …`` lines of its running configuration.

``snmp-server community``, ``user``, ``group``, ``view``, ``host`` and ``enable traps vstack``
edit one :class:`SnmpSettings`; ``show running-config`` renders it and a replay of the
rendered lines gives the same settings. With no ``snmp-server`` line the agent is off
(:attr:`SnmpSettings.active`). The agent itself is ``services/snmp.py``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from smartinstall.domain.devices import validate_ipv4
from smartinstall.domain.errors import DomainError

#: the longest community, user, group or view name (IOS allows 32 characters for views)
MAX_NAME = 32
#: the shortest USM password net-snmp and RFC 3414 key localisation accept
MIN_PASSWORD = 8
MAX_PASSWORD = 64
MAX_ENTRIES = 64  # of each kind: every input is bounded
AUTH_PROTOCOLS = ("sha", "sha256")
KEY_SIZES = {"sha": 20, "sha256": 32}  # octets of a key Ku (the hash's size)
KEY_EXPANSION = 1_048_576  # octets of repeated password hashed into a key (RFC 3414 A.2)
#: named subtrees `snmp-server view` accepts besides dotted numbers
NAMED_SUBTREES = {
    "iso": "1",
    "internet": "1.3.6.1",
    "mib-2": "1.3.6.1.2.1",
    "system": "1.3.6.1.2.1.1",
    "cisco": "1.3.6.1.4.1.9",
    "ciscoSmartInstallMIB": "1.3.6.1.4.1.9.9.725",
}
#: the read view of a community or a group that names none (IOS's `v1default`: everything)
DEFAULT_VIEW = "iso"


def validate_name(text: str, what: str) -> str:
    name = text.strip()
    if not name or len(name) > MAX_NAME or not name.isprintable() or " " in name:
        raise DomainError(f"% Invalid {what}: {name[:40] or repr(text)}", text)
    return name


def validate_password(text: str) -> str:
    if not MIN_PASSWORD <= len(text) <= MAX_PASSWORD or not text.isprintable():
        raise DomainError(f"% Invalid password: {MIN_PASSWORD} to {MAX_PASSWORD} characters", text)
    return text


def subtree_oid(text: str) -> tuple[int, ...]:
    """A view's subtree as numbers: ``1.3.6.1.4.1.9.9.725`` or a name of :data:`NAMED_SUBTREES`."""
    dotted = NAMED_SUBTREES.get(text, text).strip(".")
    parts = dotted.split(".")
    if not 1 <= len(parts) <= 64 or not all(p.isascii() and p.isdigit() for p in parts):
        raise DomainError(f"% Invalid OID: {text[:40]}", text)
    numbers = tuple(int(p) for p in parts)
    if any(n >= 2**32 for n in numbers):
        raise DomainError(f"% Invalid OID: {text[:40]}", text)
    return numbers


@dataclass(frozen=True)
class SnmpCommunity:
    """``snmp-server community <name> [RO|RW] [acl]`` (the ACL is kept and rendered only)."""

    name: str
    write: bool = False
    acl: str | None = None

    def render(self) -> str:
        acl = f" {self.acl}" if self.acl else ""
        return f"snmp-server community {self.name} {'RW' if self.write else 'RO'}{acl}"


@dataclass(frozen=True)
class SnmpView:
    """``snmp-server view <name> <subtree> {included|excluded}``."""

    name: str
    subtree: str
    included: bool = True

    @property
    def oid(self) -> tuple[int, ...]:
        return subtree_oid(self.subtree)

    def render(self) -> str:
        kind = "included" if self.included else "excluded"
        return f"snmp-server view {self.name} {self.subtree} {kind}"


@dataclass(frozen=True)
class SnmpGroup:
    """``snmp-server group <name> v3 priv [read <view>] [write <view>]``."""

    name: str
    read_view: str | None = None
    write_view: str | None = None

    def render(self) -> str:
        words = [f"snmp-server group {self.name} v3 priv"]
        if self.read_view:
            words.append(f"read {self.read_view}")
        if self.write_view:
            words.append(f"write {self.write_view}")
        return " ".join(words)


def password_to_key(password: str, auth: str) -> bytes:
    """A USM user's key Ku (RFC 3414 A.2, RFC 7860 for SHA-256): the password repeated to one
    mebibyte, hashed with the authentication protocol's hash (the privacy key too, as RFC 3826
    says). The agent localises it to its engine ID; the password itself is not kept."""
    data = validate_password(password).encode()
    expanded = (data * (KEY_EXPANSION // len(data) + 1))[:KEY_EXPANSION]
    return (hashlib.sha256 if auth == "sha256" else hashlib.sha1)(expanded).digest()


def parse_key(text: str, auth: str) -> bytes:
    """A key as ``show running-config`` gives it: hex octets, ``:`` between them or not."""
    digits = text.replace(":", "")
    size = KEY_SIZES.get(auth, 0)
    try:
        key = bytes.fromhex(digits)
    except ValueError:
        key = b""
    if len(key) != size or len(digits) != 2 * size:
        raise DomainError(f"% Invalid key: {size} octets in hex expected for {auth}", text)
    return key


def render_key(key: bytes) -> str:
    return ":".join(f"{octet:02X}" for octet in key)


@dataclass(frozen=True)
class SnmpUser:
    """``snmp-server user <name> <group> v3 [encrypted] auth {sha|sha256} <password|key> priv
    aes 128 <password|key>``. The passwords become their keys (:func:`password_to_key`) as the
    line is taken, and the running configuration keeps the keys, with ``encrypted``: a
    configuration file, an archive or a backup never holds an SNMP password."""

    name: str
    group: str
    auth: str
    auth_key: bytes
    priv_key: bytes

    def __post_init__(self) -> None:
        if self.auth not in AUTH_PROTOCOLS:
            raise DomainError(f"% Invalid authentication protocol: {self.auth}", self.auth)
        size = KEY_SIZES[self.auth]
        if len(self.auth_key) != size or len(self.priv_key) != size:
            raise DomainError(f"% Invalid key: {size} octets expected for {self.auth}", self.auth)

    @classmethod
    def from_passwords(
        cls, name: str, group: str, auth: str, auth_password: str, priv_password: str
    ) -> SnmpUser:
        if auth not in AUTH_PROTOCOLS:
            raise DomainError(f"% Invalid authentication protocol: {auth}", auth)
        return cls(
            name, group, auth, password_to_key(auth_password, auth),
            password_to_key(priv_password, auth),
        )  # fmt: skip

    def render(self) -> str:
        return (
            f"snmp-server user {self.name} {self.group} v3 encrypted auth {self.auth} "
            f"{render_key(self.auth_key)} priv aes 128 {render_key(self.priv_key)}"
        )


@dataclass(frozen=True)
class SnmpHost:
    """``snmp-server host <ip> [version {2c|3 {auth|priv}}] <community|user> [udp-port N]``:
    v2c targets get traps, v3 targets informs."""

    host: str
    name: str
    version: str = "2c"
    level: str = "priv"  # v3 only: auth or priv
    port: int = 162

    def __post_init__(self) -> None:
        object.__setattr__(self, "host", validate_ipv4(self.host))
        if self.version not in ("2c", "3"):
            raise DomainError(f"% Invalid version: {self.version}", self.version)
        if self.level not in ("auth", "priv"):
            raise DomainError(f"% Invalid security level: {self.level}", self.level)
        if not 1 <= self.port <= 65535:
            raise DomainError(f"% Invalid port: {self.port}", str(self.port))

    def render(self) -> str:
        version = " version 3 " + self.level if self.version == "3" else " version 2c"
        port = f" udp-port {self.port}" if self.port != 162 else ""
        return f"snmp-server host {self.host}{version} {self.name}{port}"


@dataclass
class SnmpSettings:
    communities: dict[str, SnmpCommunity] = field(default_factory=dict)
    users: dict[str, SnmpUser] = field(default_factory=dict)
    groups: dict[str, SnmpGroup] = field(default_factory=dict)
    views: list[SnmpView] = field(default_factory=list)
    hosts: list[SnmpHost] = field(default_factory=list)
    traps_vstack: bool = False  # snmp-server enable traps vstack

    @property
    def active(self) -> bool:
        """Whether any ``snmp-server`` line is configured: with none the agent is off."""
        return bool(
            self.communities
            or self.users
            or self.groups
            or self.views
            or self.hosts
            or self.traps_vstack
        )

    def _room(self, table: object, key: object) -> None:
        assert isinstance(table, dict | list)
        if key not in table and len(table) >= MAX_ENTRIES:
            raise DomainError(f"% At most {MAX_ENTRIES} entries of this kind")

    def set_community(self, community: SnmpCommunity) -> None:
        self._room(self.communities, community.name)
        self.communities[community.name] = community

    def set_user(self, user: SnmpUser) -> None:
        self._room(self.users, user.name)
        self.users[user.name] = user

    def set_group(self, group: SnmpGroup) -> None:
        self._room(self.groups, group.name)
        self.groups[group.name] = group

    def set_view(self, view: SnmpView) -> None:
        kept = [v for v in self.views if (v.name, v.subtree) != (view.name, view.subtree)]
        if len(kept) >= MAX_ENTRIES:
            raise DomainError(f"% At most {MAX_ENTRIES} views")
        self.views = [*kept, view]

    def remove_view(self, name: str, subtree: str | None) -> None:
        self.views = [
            v for v in self.views if not (v.name == name and subtree in (None, v.subtree))
        ]

    def set_host(self, host: SnmpHost) -> None:
        kept = [h for h in self.hosts if (h.host, h.port) != (host.host, host.port)]
        if len(kept) >= MAX_ENTRIES:
            raise DomainError(f"% At most {MAX_ENTRIES} hosts")
        self.hosts = [*kept, host]

    def remove_host(self, host: str, port: int | None = None) -> None:
        self.hosts = [h for h in self.hosts if not (h.host == host and port in (None, h.port))]

    def view_names(self) -> set[str]:
        return {v.name for v in self.views}

    def render(self) -> list[str]:
        """The lines in replay order: views and groups before the users that name them."""
        lines = [v.render() for v in self.views]
        lines.extend(c.render() for c in self.communities.values())
        lines.extend(g.render() for g in self.groups.values())
        lines.extend(u.render() for u in self.users.values())
        if self.traps_vstack:
            lines.append("snmp-server enable traps vstack")
        lines.extend(h.render() for h in self.hosts)
        return lines


__all__ = [
    "AUTH_PROTOCOLS",
    "DEFAULT_VIEW",
    "MIN_PASSWORD",
    "NAMED_SUBTREES",
    "SnmpCommunity",
    "SnmpGroup",
    "SnmpHost",
    "SnmpSettings",
    "SnmpUser",
    "SnmpView",
    "subtree_oid",
    "validate_name",
    "validate_password",
]
