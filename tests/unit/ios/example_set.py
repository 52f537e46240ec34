"""A small command set used to exercise the engine: a few director-like commands, a
sub-mode, a banner, a helper address, and a few `show` commands taken from the guide."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from smartinstall.ios import (
    CONFIG,
    EXEC,
    PRIVILEGED_LEVEL,
    VSTACK_GROUP,
    Arg,
    CommandError,
    CommandSet,
    Context,
    Date,
    Engine,
    IndexList,
    IPv4,
    Line,
    MacAddress,
    Mask,
    Number,
    TimeOfDay,
    Url,
    VlanRange,
    Word,
)


@dataclass
class Group:
    name: str
    macs: list[str] = field(default_factory=list)
    image: str | None = None


class ExampleSet(CommandSet):
    name = "example"
    order = 10

    def __init__(self) -> None:
        super().__init__()
        self.add_mode(VSTACK_GROUP)
        self.enabled = False
        self.startup_vlan: int | None = None
        self.vlans: tuple[int, ...] = ()
        self.banner: str | None = None
        self.helpers: list[str] = []
        self.groups: dict[str, Group] = {}
        self.pool: tuple[str, int] | None = None
        self.window: tuple[object, object] | None = None
        self.last_index: tuple[int, ...] = ()
        self.keyword_help.update(
            vstack="Configure vstack parameters",
            show="Show running system information",
            ip="Global IP configuration subcommands",
        )
        c = self.command
        c(CONFIG, "vstack", self._vstack)
        c(CONFIG, "no vstack", self._vstack)
        c(
            CONFIG,
            "vstack startup-vlan <vlan>",
            self._startup_vlan,
            help={"startup-vlan": "Configure vstack startup management vlan"},
            args={"vlan": Arg(Number(1, 4094), "Startup Management Vlan")},
        )
        c(
            CONFIG,
            "vstack vlan <vlans>",
            self._vlans,
            help={"vlan": "Configure vstack management vlan"},
            args={"vlans": Arg(VlanRange(), "VLAN range")},
        )
        c(
            CONFIG,
            "vstack dhcp-localserver <pool>",
            self._pool,
            help={"dhcp-localserver": "Configure vstack dhcp parameters"},
            args={"pool": Arg(Word(), "Pool name")},
        )
        c(
            CONFIG,
            "vstack proxy ip-address <address> startup-vlan <vlan>",
            self._proxy,
            help={
                "proxy": "Configure smi pnp proxy feature",
                "ip-address": "IP address of the proxy",
                "startup-vlan": "Startup vlan",
            },
            args={
                "address": Arg(IPv4(), "IP address"),
                "vlan": Arg(Number(1, 4094), "Startup Management Vlan"),
            },
        )
        c(
            CONFIG,
            "vstack join-window start <date> <time> [end <end-date> <end-time>]",
            self._window,
            help={
                "join-window": "Configure join window",
                "start": "Start of the window",
                "end": "End of the window",
            },
            args={
                "date": Arg(Date(), "date"),
                "time": Arg(TimeOfDay(), "Start time (hh:mm)"),
                "end-date": Arg(Date(), "date"),
                "end-time": Arg(TimeOfDay(), "End time (hh:mm)"),
            },
        )
        c(
            CONFIG,
            "vstack group custom <name> mac",
            self._group,
            help={
                "group": "Configure vstack group",
                "custom": "Custom group",
                "mac": "Match on MAC address",
            },
            args={"name": Arg(Word(), "Group name")},
        )
        c(
            CONFIG,
            "no vstack group custom <name> mac",
            self._group,
            help={
                "group": "Configure vstack group",
                "custom": "Custom group",
                "mac": "Match on MAC address",
            },
            args={"name": Arg(Word(), "Group name")},
        )
        c(
            VSTACK_GROUP,
            "match mac <mac>",
            self._match_mac,
            help={"match": "Match criteria", "mac": "MAC address"},
            args={"mac": Arg(MacAddress(), "MAC address")},
        )
        c(
            VSTACK_GROUP,
            "image <url>",
            self._image,
            help={"image": "Image to assign"},
            args={"url": Arg(Url(), "Image location")},
        )
        c(VSTACK_GROUP, "no image", self._image, help={"image": "Image to assign"})
        c(
            CONFIG,
            "ip helper-address <address>",
            self._helper,
            help={"helper-address": "Specify a destination address for UDP broadcasts"},
            args={"address": Arg(IPv4(), "IP destination address")},
        )
        c(
            CONFIG,
            "no ip helper-address <address>",
            self._helper,
            help={"helper-address": "Specify a destination address for UDP broadcasts"},
            args={"address": Arg(IPv4(), "IP destination address")},
        )
        c(
            CONFIG,
            "ip pool <network> <mask>",
            self._ip_pool,
            help={"pool": "Example address pool"},
            args={
                "network": Arg(IPv4(), "Network number"),
                "mask": Arg(Mask(), "Network mask or prefix length"),
            },
        )
        c(
            CONFIG,
            "banner motd <text>",
            self._banner,
            help={"banner": "Define a login banner", "motd": "Set Message of the Day banner"},
            args={"text": Arg(Line(), "c banner-text c, where 'c' is a delimiting character")},
        )
        show = {
            "config": "View configuration parameters under Vstack mode",
            "download-status": "show the status of config or image download",
            "proxy-db": "show the proxy database",
            "status": "show the status of CDP database",
        }
        for word in show:
            c(
                EXEC,
                f"show vstack {word}",
                self._show,
                output=True,
                level=PRIVILEGED_LEVEL,
                help={**show, "vstack": "Show vstack information"},
            )
        c(
            EXEC,
            "vstack download-image built-in <family> <sup> <chassis> <password> "
            "{issu [allow-reload] [in <time>] | override | reload}",
            self._download,
            level=PRIVILEGED_LEVEL,
            help={
                "download-image": "Download an image",
                "built-in": "Built-in group",
                "issu": "Force ISSU Upgrade",
                "override": "Override the existing image",
                "reload": "Reload the switch",
                "allow-reload": "Allow Reloading the switch if ISSU fails to trigger",
                "in": "Specify time in",
            },
            args={
                "family": Arg(Word(), "Product family"),
                "sup": Arg(Word(), "Supervisor"),
                "chassis": Arg(Word(), "Chassis"),
                "password": Arg(Word(), "password of remote switch or NONE"),
                "time": Arg(TimeOfDay(), "Specify time in (hh:mm)"),
            },
        )
        c(
            EXEC,
            "vstack download-config index <clients> <url>",
            self._index,
            level=PRIVILEGED_LEVEL,
            help={"download-config": "Download a configuration", "index": "Client index list"},
            args={
                "clients": Arg(IndexList(), "Index list, for example 1,3-5,7"),
                "url": Arg(Url(), "Configuration location"),
            },
        )
        # declared from data, as a catalogue of families and supervisors would be
        chassis = {
            "4503": "4503 chassis type",
            "4506": "4506 chassis type",
            "4507r+e": "4507r+e chassis type",
            "4510r+e": "4510r+e chassis type",
        }
        sups = {"sup7-e": "sup7-e supervisor", "sup8-e": "sup8-e supervisor"}
        c(
            EXEC,
            "show vstack group built-in [4500 {"
            + " | ".join(sups)
            + "} [{"
            + " | ".join(chassis)
            + "}]] {detail | summary}",
            self._show_group,
            level=PRIVILEGED_LEVEL,
            output=True,
            help={
                "vstack": "Show vstack information",
                "group": "Show vstack groups",
                "built-in": "Built-in groups",
                "4500": "4500 product family",
                "detail": "Detailed view",
                "summary": "Summary view",
                **sups,
                **chassis,
            },
        )
        c(
            EXEC,
            "show lines <count>",
            self._lines,
            output=True,
            help={"lines": "Print numbered lines"},
            args={"count": Arg(Number(1, 500), "How many")},
        )

    # handlers
    def _vstack(self, ctx: Context) -> None:
        self.enabled = not ctx.negated

    def _startup_vlan(self, ctx: Context) -> None:
        value = ctx.args["vlan"]
        assert isinstance(value, int)
        self.startup_vlan = value

    def _vlans(self, ctx: Context) -> None:
        value = ctx.args["vlans"]
        assert isinstance(value, tuple)
        self.vlans = value

    def _pool(self, ctx: Context) -> None:
        del ctx

    def _proxy(self, ctx: Context) -> None:
        del ctx

    def _window(self, ctx: Context) -> None:
        self.window = (ctx.args["date"], ctx.args["time"])

    def _group(self, ctx: Context) -> None:
        name = ctx.args["name"]
        assert isinstance(name, str)
        if ctx.negated:
            self.groups.pop(name, None)
            return
        group = self.groups.setdefault(name, Group(name))
        ctx.enter(VSTACK_GROUP, group)

    def _match_mac(self, ctx: Context) -> None:
        group = ctx.mode_data
        assert isinstance(group, Group)
        mac = ctx.args["mac"]
        assert isinstance(mac, str)
        if mac not in group.macs:
            group.macs.append(mac)

    def _image(self, ctx: Context) -> None:
        group = ctx.mode_data
        assert isinstance(group, Group)
        if ctx.negated:
            group.image = None
            return
        url = ctx.args["url"]
        assert isinstance(url, str)
        if url.startswith(("ftp:", "http:")):
            raise CommandError(f"% {url.split(':')[0]}: is not a supported location")
        group.image = url

    def _helper(self, ctx: Context) -> None:
        address = ctx.args["address"]
        assert isinstance(address, str)
        if ctx.negated:
            if address in self.helpers:
                self.helpers.remove(address)
        elif address not in self.helpers:
            self.helpers.append(address)

    def _ip_pool(self, ctx: Context) -> None:
        network, mask = ctx.args["network"], ctx.args["mask"]
        assert isinstance(network, str) and isinstance(mask, int)
        self.pool = (network, mask)

    def _banner(self, ctx: Context) -> None:
        text = ctx.args["text"]
        assert isinstance(text, str)
        self.banner = text

    def _show(self, ctx: Context) -> None:
        ctx.write("Role: Director\n")
        ctx.write(f"Vstack start-up management vlan:{self.startup_vlan or 1}\n")

    def _download(self, ctx: Context) -> None:
        ctx.write(f"download {sorted(ctx.args)}\n")

    def _index(self, ctx: Context) -> None:
        clients = ctx.args["clients"]
        assert isinstance(clients, tuple)
        self.last_index = clients

    def _show_group(self, ctx: Context) -> None:
        ctx.write(f"-----\nGroup Name: {ctx.command.syntax.split()[4]}\n")

    def _lines(self, ctx: Context) -> None:
        count = ctx.args["count"]
        assert isinstance(count, int)
        for number in range(1, count + 1):
            ctx.write(f"line {number}\n")

    def render_config(self) -> Sequence[str]:
        lines: list[str] = []
        if self.banner is not None:
            lines.append(f"banner motd {self.banner}")
        if self.enabled:
            lines.append("vstack")
        if self.startup_vlan is not None:
            lines.append(f"vstack startup-vlan {self.startup_vlan}")
        for name in sorted(self.groups):
            group = self.groups[name]
            lines.append(f"vstack group custom {name} mac")
            lines += [f" match mac {mac}" for mac in group.macs]
            if group.image:
                lines.append(f" image {group.image}")
        lines += [f"ip helper-address {address}" for address in self.helpers]
        if self.pool is not None:
            lines.append(f"ip pool {self.pool[0]} /{self.pool[1]}")
        return lines


def make_engine(store: object = None) -> tuple[Engine, ExampleSet]:
    from smartinstall.ios import StartupConfig

    assert store is None or isinstance(store, StartupConfig)
    engine = Engine(hostname="Director", store=store)
    example = ExampleSet()
    engine.add(example)
    return engine, example
