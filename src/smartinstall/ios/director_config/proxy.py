"""SMI Proxy mode (guide, chapter 4, "Enabling Proxy on the Device" and "SMI Proxy CLI
Commands"): `vstack proxy {ip-address <ip> | interface <name>} [startup-vlan <vlan>]
[pnp-profile <name>]`, its `no` form, and the PnP profile it is associated with
(`pnp profile <name>`, mode `config-pnp-init`, `transport {http | https} ipv4 <ip> port <n>`,
as IOS configures its PnP agent).

`vstack proxy` runs the guide's internal steps: the director address (`vstack director`, which
must be one of this host's addresses), `vstack basic`, `vstack` and `vstack startup-vlan` (VLAN 1
when not given). From then on the director's own configuration commands are not accessible
("SMI Director and SMI Proxy are mutually exclusive"): `vstack director`, `vstack basic`,
`vstack join-window`, `vstack backup`, and with them the default files, groups and hostname
prefix that only a director hands out, are refused, and `vstack ?` lists what the guide lists
(`dhcp-localserver`, `proxy`, `startup-vlan`, `vlan`); `show vstack ?` lists `config`,
`download-status`, `proxy-db` and `status`. `no vstack proxy` turns the proxy and its internal
director off.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

from smartinstall import hostaddr
from smartinstall.domain.errors import DomainError
from smartinstall.domain.proxy import (
    DEFAULT_PNP_PROFILE,
    PNP_TAILORED_CONFIG,
    PnpProfile,
    PnpServerAddress,
    PnpTransport,
    ProxySettings,
    validate_profile_name,
)
from smartinstall.domain.settings import DEFAULT_MANAGEMENT_VLAN, DIRECTOR_IP_NOT_OWNED
from smartinstall.ios.director_config.base import DirectorCommandsBase, domain_errors, text
from smartinstall.ios.engine import CommandError, Context, Engine
from smartinstall.ios.tree import CONFIG, EXEC, Handler, Mode, Node
from smartinstall.ios.types import Arg, IPv4, Number, Word

PNP_PROFILE_MODE = Mode(
    "config-pnp-init",
    exit_help="Exit from pnp-init config mode",
    help_header="PnP profile configuration commands",
)
PROXY_ENABLED = "Command Rejected: SMI Proxy is enabled; enter no vstack proxy first"
#: the director's configuration commands proxy mode refuses (`vstack <word> …`, `no` too)
DIRECTOR_ONLY = (
    "director", "basic", "join-window", "backup",  # the guide's list
    "image", "config", "script", "group", "hostname-prefix",  # what only a director hands out
)  # fmt: skip
#: what `vstack ?` lists in proxy mode (guide, "Enabling Proxy on the Device")
PROXY_VSTACK_WORDS = frozenset({"dhcp-localserver", "proxy", "startup-vlan", "vlan"})
#: what `show vstack ?` lists in proxy mode (guide, command reference of `show vstack`)
PROXY_SHOW_WORDS = frozenset({"config", "download-status", "proxy-db", "status"})

PROFILE = Arg(Word(pattern=r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}", max_len=63), "Profile name")
InterfaceAddress = Callable[[str], "str | None"]


class ProxyCommands(DirectorCommandsBase):
    """`vstack proxy …`, `pnp profile …` and the gate that keeps director commands out of
    proxy mode."""

    #: the IPv4 address of a host interface (`vstack proxy interface <name>`); replaceable
    interface_address: InterfaceAddress = staticmethod(hostaddr.interface_address)

    # --- declarations --------------------------------------------------------------------

    def _declare_proxy(self) -> None:
        self.add_mode(PNP_PROFILE_MODE)
        c = self.command
        help_ = {
            "proxy": "Configure smi pnp proxy feature",
            "ip-address": "IP address of the SMI proxy (one of this device's addresses)",
            "interface": "Interface whose IP address the SMI proxy uses",
            "startup-vlan": "Configure vstack startup management vlan",
            "pnp-profile": "PnP profile the SMI proxy is associated with",
        }
        args = {
            "ip": Arg(IPv4(), "SMI proxy IP address"),
            "ifname": Arg(Word(pattern=r"[A-Za-z][A-Za-z0-9_.:/-]{0,31}", max_len=32),
                          "Interface name, such as vlan or eth0"),
            "unit": Arg(Number(0, 4094), "Interface number"),
            "vlan": Arg(Number(1, 4094), "Startup Management Vlan"),
            "profile": PROFILE,
        }  # fmt: skip
        tail = "{ip-address <ip> | interface <ifname> [<unit>]} [startup-vlan <vlan>] " + (
            "[pnp-profile <profile>]"
        )
        c(CONFIG, f"vstack proxy {tail}", self._proxy, help=help_, args=args)
        c(CONFIG, f"no vstack proxy [{tail}]", self._proxy, help=help_, args=args)
        pnp_help = {
            "pnp": "Configure PnP agent",
            "profile": "Configure a PnP profile",
        }
        c(CONFIG, "pnp profile <name>", self._profile, help=pnp_help,
          args={"name": PROFILE}, notify=False)  # fmt: skip
        c(CONFIG, "no pnp profile <name>", self._profile, help=pnp_help, args={"name": PROFILE})
        transport_help = {
            "transport": "The transport to the PnP server",
            "http": "Use the HTTP transport",
            "https": "Use the HTTPS transport (the server's certificate is checked)",
            "ipv4": "The PnP server's IPv4 address",
            "port": "The PnP server's port",
            "remotecert": "CA certificates on flash: the server's certificate chains to",
        }
        transport_args = {
            "address": Arg(IPv4(), "IPv4 address of the PnP server"),
            "port": Arg(Number(1, 65535), "Port number"),
            "cafile": Arg(Word(max_len=255), "File on flash:, such as flash:pnp-ca.pem"),
        }
        c(PNP_PROFILE_MODE, "transport http ipv4 <address> port <port>", self._transport,
          help=transport_help, args=transport_args)  # fmt: skip
        c(PNP_PROFILE_MODE, "transport https ipv4 <address> port <port> [remotecert <cafile>]",
          self._transport, help=transport_help, args=transport_args)  # fmt: skip
        c(PNP_PROFILE_MODE, "no transport", self._transport, help=transport_help)

    # --- the gate ------------------------------------------------------------------------

    def guard(self, mode_name: str, syntax: str, handler: Handler) -> Handler:
        """The director's configuration commands are refused in proxy mode; after every
        configuration command of the set, `?` lists what the mode has."""
        if mode_name == EXEC.name:
            return handler
        words = syntax.split()
        if words[:1] == ["no"]:
            words = words[1:]
        refused = (
            mode_name == CONFIG.name
            and len(words) >= 2
            and words[0] == "vstack"
            and words[1] in DIRECTOR_ONLY
        )

        def run(ctx: Context) -> None:
            try:
                if refused and self.settings.proxy is not None:
                    raise CommandError(PROXY_ENABLED)
                handler(ctx)
            finally:
                sync_proxy_visibility(ctx.engine, self.settings.proxy is not None)

        return run

    # --- handlers ------------------------------------------------------------------------

    def _proxy(self, ctx: Context) -> None:
        settings = self.settings
        if ctx.negated:
            if settings.proxy is not None:
                settings.proxy = None
                settings.clear_director()
                if settings.groups.default.config == PNP_TAILORED_CONFIG:
                    settings.groups.default.set("config", None)
            return
        interface = None
        ip_arg = ctx.args.get("ip")
        if ip_arg is not None:
            ip = text(ip_arg)
        else:
            interface = text(ctx.args["ifname"])
            unit = ctx.args.get("unit")
            if unit is not None:
                interface = f"{interface}{unit}"
            found = self.interface_address(interface)
            if found is None:
                raise CommandError(f"% Interface {interface} has no IPv4 address")
            ip = found
        if not self.owns_address(ip):
            raise CommandError(DIRECTOR_IP_NOT_OWNED)
        profile = text(ctx.args.get("profile") or DEFAULT_PNP_PROFILE)
        vlan = ctx.args.get("vlan")
        # the internal steps: vstack, vstack director, vstack basic, vstack startup-vlan
        with domain_errors():
            validate_profile_name(profile)
            settings.enabled = True
            settings.set_director(ip)
            settings.basic = True
            if isinstance(vlan, int):
                settings.set_startup_vlan(vlan)
            elif settings.startup_vlan is None:
                settings.set_startup_vlan(DEFAULT_MANAGEMENT_VLAN)
        settings.proxy = ProxySettings(
            ip=None if interface else ip, interface=interface, profile=profile
        )
        # "a director device supports and treats all clients as older devices": every client
        # gets the tailored configuration client_cfg_pnp.txt at zero touch
        settings.groups.default.set("config", PNP_TAILORED_CONFIG)

    def _profile(self, ctx: Context) -> None:
        settings = self.settings
        name = text(ctx.args["name"])
        if ctx.negated:
            if settings.pnp_profiles.pop(name, None) is None:
                raise CommandError(f"% PnP profile {name} does not exist")
            return
        created = name not in settings.pnp_profiles
        profile = settings.pnp_profiles.setdefault(name, PnpProfile(name))
        ctx.enter(PNP_PROFILE_MODE, profile)
        if created:
            self.changed()

    def _transport(self, ctx: Context) -> None:
        profile = ctx.mode_data
        assert isinstance(profile, PnpProfile)
        if ctx.negated:
            profile.server = None
            return
        transport = PnpTransport.HTTPS if "https" in ctx.keywords else PnpTransport.HTTP
        port = ctx.args["port"]
        assert isinstance(port, int)
        cafile = ctx.args.get("cafile")
        try:
            profile.server = PnpServerAddress(
                transport,
                text(ctx.args["address"]),
                port,
                None if cafile is None else text(cafile),
            )
        except DomainError as error:
            raise CommandError(str(error)) from None


# --- what `?` lists ---------------------------------------------------------------------------

#: the nodes proxy mode hid in each engine, with the hidden flag each had before
_hidden_by_proxy: weakref.WeakKeyDictionary[Engine, list[tuple[Node, bool]]] = (
    weakref.WeakKeyDictionary()
)


def _child(node: Node | None, word: str) -> Node | None:
    return None if node is None else node.keyword(word)


def sync_proxy_visibility(engine: Engine, proxy_on: bool) -> None:
    """Hide from `?` what proxy mode does not list (`vstack ?`, `no vstack ?`, `show vstack
    ?`), or show it again once proxy mode is off."""
    key = engine
    if not proxy_on:
        for node, hidden in _hidden_by_proxy.pop(key, []):
            node.hidden = hidden
        return
    if key in _hidden_by_proxy:
        return
    config = engine.roots.get(CONFIG.name)
    exec_root = engine.roots.get(EXEC.name)
    places = (
        (_child(config, "vstack"), PROXY_VSTACK_WORDS),
        (_child(_child(config, "no"), "vstack"), PROXY_VSTACK_WORDS),
        (_child(_child(exec_root, "show"), "vstack"), PROXY_SHOW_WORDS),
    )
    changed: list[tuple[Node, bool]] = []
    for parent, keep in places:
        if parent is None:
            continue
        for child in parent.children:
            if child.kind == "keyword" and child.word not in keep and not child.hidden:
                changed.append((child, child.hidden))
                child.hidden = True
    _hidden_by_proxy[key] = changed


__all__ = [
    "DIRECTOR_ONLY",
    "PNP_PROFILE_MODE",
    "PROXY_ENABLED",
    "PROXY_SHOW_WORDS",
    "PROXY_VSTACK_WORDS",
    "ProxyCommands",
    "sync_proxy_visibility",
]
