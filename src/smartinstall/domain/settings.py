"""The director's settings: one typed model that the ``vstack …`` commands edit.

``show running-config`` renders it (:meth:`DirectorSettings.render`), the command engine and
the REST API change it through the methods here, and the director reads it. Configuration
rules of the guide that do not need the host live here; whether the host owns the director
address is asked through a callable so the model stays pure.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from smartinstall.domain import catalog
from smartinstall.domain.catalog import BuiltinKey
from smartinstall.domain.devices import validate_ipv4
from smartinstall.domain.errors import DomainError
from smartinstall.domain.fleet import validate_director_id
from smartinstall.domain.groups import (
    BuiltinGroup,
    CustomGroup,
    GroupKind,
    GroupSettings,
    validate_group_name,
)
from smartinstall.domain.http import HttpSettings
from smartinstall.domain.joinwindow import JoinWindowSettings
from smartinstall.domain.locations import parse_repository
from smartinstall.domain.proxy import PNP_TAILORED_CONFIG, PnpProfile, ProxySettings
from smartinstall.domain.snmp import SnmpSettings
from smartinstall.domain.syslog import LoggingHost, SyslogSettings
from smartinstall.domain.values import format_number_list, validate_hostname

DIRECTOR_IP_NOT_CONFIGURED = "Command Rejected: Director IP is not configured"
DIRECTOR_IP_NOT_OWNED = (
    "Command Rejected: The Director IP address does not match a switch IP address."
)
SMART_INSTALL_DISABLED = (
    "Command Rejected: Smart Install is disabled; enter the vstack command to enable it"
)
DEFAULT_REPOSITORY = "flash:/vstack"
DEFAULT_MANAGEMENT_VLAN = 1


class Role(Enum):
    DIRECTOR = "Director"
    CLIENT = "Client"


@dataclass
class DhcpPoolSettings:
    """``vstack dhcp-localserver <pool>`` and its sub-mode commands."""

    name: str
    network: ipaddress.IPv4Network | None = None
    default_router: str | None = None
    file_server: str | None = None

    def set_address_pool(self, network: str, mask: str | None = None) -> None:
        """``address-pool <network> <mask>`` or ``address-pool <network> /<prefix>``."""
        try:
            if mask is None:
                net = ipaddress.IPv4Network(network, strict=False)
            else:
                spec = mask[1:] if mask.startswith("/") else mask
                net = ipaddress.IPv4Network(f"{network}/{spec}", strict=False)
        except ValueError:
            token = mask if mask is not None else network
            raise DomainError(
                f"% Invalid address pool: {network} {mask or ''}".strip(), token
            ) from None
        if net.prefixlen > 30:
            raise DomainError(f"% Address pool too small: {net}", str(net))
        self.network = net

    def render(self) -> list[str]:
        lines = [f"vstack dhcp-localserver {self.name}"]
        if self.network is not None:
            lines.append(f" address-pool {self.network.network_address} {self.network.netmask}")
        if self.default_router:
            lines.append(f" default-router {self.default_router}")
        if self.file_server:
            lines.append(f" file-server {self.file_server}")
        return lines


@dataclass
class BackupSettings:
    enabled: bool = True  # "Client configuration backup is enabled by default."
    repository: str | None = None  # None: flash:/vstack

    @property
    def location(self) -> str:
        return self.repository or DEFAULT_REPOSITORY


@dataclass
class DirectorSettings:
    hostname: str = "Director"
    enabled: bool = True  # "vstack" / "no vstack"
    director_ip: str | None = None
    # ``vstack director-id <name>``: the director's rows in a shared database (domain.fleet)
    director_id: str | None = None
    basic: bool = False
    startup_vlan: int | None = None
    vlans: set[int] = field(default_factory=set)
    groups: GroupSettings = field(default_factory=GroupSettings)
    hostname_prefix: str | None = None
    backup: BackupSettings = field(default_factory=BackupSettings)
    join_window: JoinWindowSettings = field(default_factory=JoinWindowSettings)
    dhcp_pools: dict[str, DhcpPoolSettings] = field(default_factory=dict)
    dhcp_remember: bool = False
    helper_addresses: list[str] = field(default_factory=list)
    # The enable password the tailored configuration gives legacy (non Smart Install) clients,
    # so the director can drive their downloads: ``vstack tailored-config enable-password``,
    # an optional extension. Without it each client gets its own random password, which lasts
    # until its own configuration replaces the tailored one (docs/zero-touch.md, section 6).
    tailored_password: str | None = None
    # Smart Install protocol security: ``vstack authentication key <key>`` and
    # ``vstack allowed-clients <prefix> …`` (see docs/security.md).
    smi_key: str | None = None
    allowed_clients: list[str] = field(default_factory=list)
    # ``logging host <ip> [transport {udp|tcp|tls} [port <n>]] [rfc3164]``, several per address
    logging_hosts: list[LoggingHost] = field(default_factory=list)
    # ``logging trap``, ``logging source-interface``, ``logging tls-ca``
    syslog: SyslogSettings = field(default_factory=SyslogSettings)
    # ``ip http …``: the REST API, dashboard and metrics (smartinstall.domain.http)
    http: HttpSettings = field(default_factory=HttpSettings)
    # ``snmp-server …``: the SNMP agent (CISCO-SMART-INSTALL-MIB) and its trap targets
    snmp: SnmpSettings = field(default_factory=SnmpSettings)
    # ``vstack proxy …`` (SMI Proxy mode, guide chapter 4) and the ``pnp profile …`` it uses
    proxy: ProxySettings | None = None
    pnp_profiles: dict[str, PnpProfile] = field(default_factory=dict)

    # --- the role -------------------------------------------------------------------------

    def set_director(self, ip: str) -> None:
        if not self.enabled:
            raise DomainError(SMART_INSTALL_DISABLED)
        self.director_ip = validate_ipv4(ip)

    def clear_director(self) -> None:
        self.director_ip = None
        self.basic = False

    def enable_basic(self, owns_address: Callable[[str], bool]) -> None:
        """``vstack basic``, with the guide's two rejection messages."""
        if not self.enabled:
            raise DomainError(SMART_INSTALL_DISABLED)
        if self.director_ip is None:
            raise DomainError(DIRECTOR_IP_NOT_CONFIGURED)
        if not owns_address(self.director_ip):
            raise DomainError(DIRECTOR_IP_NOT_OWNED)
        self.basic = True

    def role(self, owns_address: Callable[[str], bool]) -> Role:
        """Director only while Smart Install is on, ``vstack basic`` is set and the host still
        owns the director address ("a vanished address turns it into a client")."""
        if (
            self.enabled
            and self.basic
            and self.director_ip is not None
            and owns_address(self.director_ip)
        ):
            return Role.DIRECTOR
        return Role.CLIENT

    # --- VLANs ----------------------------------------------------------------------------

    @property
    def management_vlan(self) -> int:
        return self.startup_vlan or DEFAULT_MANAGEMENT_VLAN

    def set_startup_vlan(self, vlan: int | None) -> None:
        if vlan is not None and not 1 <= vlan <= 4094:
            raise DomainError(f"% Invalid VLAN: {vlan} (range 1 to 4094)", str(vlan))
        self.startup_vlan = vlan

    # --- groups ---------------------------------------------------------------------------

    def builtin_group(
        self, family: str, port_config: str, chassis: str | None = None
    ) -> BuiltinGroup:
        """``vstack group built-in …``: the group, created when first named."""
        key = catalog.builtin_key(family, port_config, chassis)
        return self.groups.builtin.setdefault(key, BuiltinGroup(key))

    def remove_builtin_group(
        self, family: str, port_config: str, chassis: str | None = None
    ) -> None:
        key = catalog.builtin_key(family, port_config, chassis)
        self.groups.builtin.pop(key, None)

    def custom_group(self, name: str, kind: str | None) -> CustomGroup:
        """``vstack group custom <name> {connectivity|mac|product-id|stack}``."""
        name = validate_group_name(name)
        existing = self.groups.custom.get(name)
        if kind is None:
            if existing is None:
                raise DomainError(f"% Group {name} does not exist; give its type", name)
            return existing
        try:
            group_kind = GroupKind(kind)
        except ValueError:
            raise DomainError(f"% Invalid custom group type: {kind}", kind) from None
        if existing is not None:
            if existing.kind is not group_kind:
                raise DomainError(
                    f"% Group {name} is a {existing.kind.value} group; remove it first", kind
                )
            return existing
        group = CustomGroup(name, group_kind)
        self.groups.custom[name] = group
        return group

    def remove_custom_group(self, name: str) -> None:
        if self.groups.custom.pop(name.strip(), None) is None:
            raise DomainError(f"% Group {name.strip()} does not exist", name)

    # --- other settings -------------------------------------------------------------------

    def set_hostname(self, name: str) -> None:
        self.hostname = validate_hostname(name)

    def set_director_id(self, name: str | None) -> None:
        self.director_id = None if name is None else validate_director_id(name)

    def set_hostname_prefix(self, prefix: str | None) -> None:
        if prefix is not None:
            validate_hostname(prefix)
        self.hostname_prefix = prefix

    def set_backup(self, enabled: bool, repository: str | None = None) -> None:
        if repository is not None:
            parse_repository(repository)
        self.backup = BackupSettings(enabled, repository if enabled else self.backup.repository)

    def dhcp_pool(self, name: str) -> DhcpPoolSettings:
        name = validate_group_name(name)
        return self.dhcp_pools.setdefault(name, DhcpPoolSettings(name))

    def add_helper(self, address: str) -> None:
        ip = validate_ipv4(address)
        if ip not in self.helper_addresses:
            self.helper_addresses.append(ip)

    # --- running-config -------------------------------------------------------------------

    def render(self) -> list[str]:
        """The settings as IOS configuration lines in a stable order.

        ``vstack director`` comes before ``vstack basic`` so that a replay works, and ``no
        vstack`` comes last so that every other line replays while Smart Install is still on.
        """
        lines = [f"hostname {self.hostname}", "!"]
        for pool in self.dhcp_pools.values():
            lines.extend(pool.render())
            lines.append("!")
        if self.dhcp_remember:
            lines.extend(["ip dhcp remember", "!"])
        for helper in self.helper_addresses:
            lines.append(f"ip helper-address {helper}")
        lines.extend(self.syslog.render())
        for target in self.logging_hosts:
            lines.append(target.render())
        lines.extend(self.http.render())
        lines.extend(self.snmp.render())
        if self.director_id:
            lines.append(f"vstack director-id {self.director_id}")
        for profile in self.pnp_profiles.values():
            lines.extend([*profile.render(), "!"])
        # in proxy mode `vstack proxy` stands for the director lines it executes internally
        if self.director_ip and self.proxy is None:
            lines.append(f"vstack director {self.director_ip}")
        if self.basic and self.proxy is None:
            lines.append("vstack basic")
        if self.startup_vlan is not None and self.proxy is None:
            lines.append(f"vstack startup-vlan {self.startup_vlan}")
        if self.vlans:
            lines.append(f"vstack vlan {format_number_list(sorted(self.vlans))}")
        defaults = self.groups.default
        if defaults.image:
            lines.append(f"vstack image {defaults.image}")
        # in proxy mode the tailored configuration is the clients' (`vstack proxy` sets it)
        if defaults.config and not (self.proxy and defaults.config == PNP_TAILORED_CONFIG):
            lines.append(f"vstack config {defaults.config}")
        if defaults.script:
            lines.append(f"vstack script {defaults.script}")
        if self.hostname_prefix:
            lines.append(f"vstack hostname-prefix {self.hostname_prefix}")
        if not self.backup.enabled:
            lines.append("no vstack backup")
        elif self.backup.repository:
            lines.append(f"vstack backup file-server {self.backup.repository}")
        lines.extend(self.join_window.render())
        if self.tailored_password:
            lines.append(f"vstack tailored-config enable-password {self.tailored_password}")
        if self.smi_key:
            lines.append(f"vstack authentication key {self.smi_key}")
        if self.allowed_clients:
            lines.append(f"vstack allowed-clients {' '.join(self.allowed_clients)}")
        for key in sorted(self.groups.builtin):
            lines.extend(self.groups.builtin[key].render())
            lines.append("!")
        for group in self.groups.custom.values():
            lines.extend(group.render())
            lines.append("!")
        if self.proxy is not None:
            lines.append(self.proxy.render(self.startup_vlan))
        if not self.enabled:
            lines.append("no vstack")
        return lines


def builtin_key_text(key: BuiltinKey) -> str:
    return key.label()
