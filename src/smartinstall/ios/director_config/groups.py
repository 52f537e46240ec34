"""Groups (guide, chapter 2, "Configuring Built-in Groups" and "Configuring Custom Groups"):
`vstack group built-in …` and `vstack group custom <name> {connectivity | mac | product-id |
stack}`, and the group configuration mode (`Director(config-vstack-group)#`): `image`,
`config`, `script`, and in custom groups `match …` as the group's type allows. A stack group
also takes `image <location> family <family>`, the image of the members of one product family
of a mixed stack (the other members take the group's `image`).

A built-in group is configured in `VSTACK_GROUP`. Custom groups share its prompt but each type
has its own mode, so that `match` offers what the group's type takes ("The available keyword
depends on the type of custom group defined") and a built-in group offers no `match` at all
(the guide's `Director(config-vstack-group)#?` example).
"""

from __future__ import annotations

from functools import partial

from smartinstall.domain import catalog
from smartinstall.domain.errors import DomainError
from smartinstall.domain.groups import CustomGroup, GroupKind
from smartinstall.ios.director_config.base import DirectorCommandsBase, domain_errors, text
from smartinstall.ios.director_config.files import (
    FILE_ARGS,
    files_of,
    location_of,
    prefix_choice,
    prefix_help,
    set_file,
)
from smartinstall.ios.engine import Context
from smartinstall.ios.tree import CONFIG, VSTACK_GROUP, Mode
from smartinstall.ios.types import Arg, IPv4, Line, MacAddress, Number, Word


def _group_mode(kind: GroupKind) -> Mode:
    return Mode(
        f"{VSTACK_GROUP.name}-{kind.value}",
        exit_help=VSTACK_GROUP.exit_help,
        prompt_name=VSTACK_GROUP.name,
        help_header=VSTACK_GROUP.help_header,
    )


BUILTIN_GROUP_MODE = VSTACK_GROUP
CUSTOM_GROUP_MODES: dict[GroupKind, Mode] = {
    kind: _group_mode(kind)
    for kind in (GroupKind.CONNECTIVITY, GroupKind.MAC, GroupKind.PRODUCT_ID, GroupKind.STACK)
}
GROUP_MODES: tuple[Mode, ...] = (BUILTIN_GROUP_MODE, *CUSTOM_GROUP_MODES.values())

GROUP_NAME = Arg(Word(pattern=r"[A-Za-z0-9_.-]{1,31}", max_len=31), "Name of the custom group")
FILE_KINDS = {
    "image": "The image file for the group",
    "config": "The config file for the group",
    "script": "The script file for the group",
}
_GROUP_HELP = {
    "group": "Configure vstack groups",
    "built-in": "Configure a built-in group",
    "custom": "Configure a custom group",
}


def _stack_families() -> list[catalog.Family]:
    """Families a stack member or a mixed stack image may name (not the chassis-based 4500)."""
    return [f for f in catalog.FAMILIES.values() if not f.chassis_based]


class GroupCommands(DirectorCommandsBase):
    """Built-in and custom groups, their files and their `match` lines."""

    # --- declarations --------------------------------------------------------------------

    def _declare_groups(self) -> None:
        self._declare_builtin_groups()
        self._declare_custom_groups()
        self._declare_group_files()
        self._declare_matches()

    def _declare_builtin_groups(self) -> None:
        c = self.command
        for family in catalog.FAMILIES.values():
            if family.chassis_based:
                for sup in catalog.SUPERVISORS.values():
                    chassis_names = [*sup.chassis, catalog.ALL_CHASSIS]
                    for name in chassis_names:
                        chassis_help = (
                            catalog.ALL_CHASSIS_HELP
                            if name == catalog.ALL_CHASSIS
                            else catalog.CHASSIS[name].help
                        )
                        words = f"{family.name} {sup.name} {name}"
                        help_ = {
                            **_GROUP_HELP,
                            family.name: family.help,
                            sup.name: sup.help,
                            name: chassis_help,
                        }
                        handler = partial(
                            self._builtin, family=family.name, port_config=sup.name, chassis=name
                        )
                        c(
                            CONFIG,
                            f"vstack group built-in {words}",
                            handler,
                            help=help_,
                            notify=False,
                        )
                        c(CONFIG, f"no vstack group built-in {words}", handler, help=help_)
                continue
            for pc in family.port_configs:
                help_ = {**_GROUP_HELP, family.name: family.help, pc.name: pc.help}
                handler = partial(
                    self._builtin, family=family.name, port_config=pc.name, chassis=None
                )
                words = f"{family.name} {pc.name}"
                c(CONFIG, f"vstack group built-in {words}", handler, help=help_, notify=False)
                c(CONFIG, f"no vstack group built-in {words}", handler, help=help_)

    def _declare_custom_groups(self) -> None:
        c = self.command
        kind_help = {
            "connectivity": "Match the clients by their upstream neighbour and port",
            "mac": "Match the clients by MAC address",
            "product-id": "Match the clients by product ID",
            "stack": "Match the clients by stack member and product family",
        }
        group_name = {"name": GROUP_NAME}
        for kind in CUSTOM_GROUP_MODES:
            help_ = {**_GROUP_HELP, kind.value: kind_help[kind.value]}
            c(
                CONFIG,
                f"vstack group custom <name> {kind.value}",
                partial(self._custom, kind=kind.value),
                help=help_,
                args=group_name,
                notify=False,
            )
            c(
                CONFIG,
                f"no vstack group custom <name> {kind.value}",
                partial(self._custom, kind=kind.value),
                help=help_,
                args=group_name,
            )
        c(
            CONFIG,
            "vstack group custom <name>",
            partial(self._custom, kind=None),
            help=_GROUP_HELP,
            args=group_name,
            notify=False,
        )
        c(
            CONFIG,
            "no vstack group custom <name>",
            partial(self._custom, kind=None),
            help=_GROUP_HELP,
            args=group_name,
        )

    def _declare_group_files(self) -> None:
        c = self.command
        for mode in GROUP_MODES:
            for kind, help_text in FILE_KINDS.items():
                handler = partial(self._group_file, kind=kind)
                c(
                    mode,
                    f"{kind} {prefix_choice()} [<filename>]",
                    handler,
                    help={kind: help_text, **prefix_help(kind)},
                    args=FILE_ARGS,
                )
                c(
                    mode,
                    f"{kind} <location> [<filename>]",
                    handler,
                    help={kind: help_text},
                    args=FILE_ARGS,
                    hidden=True,
                )
                c(
                    mode,
                    f"no {kind} [<location> [<filename>]]",
                    handler,
                    help={kind: help_text},
                    args=FILE_ARGS,
                )
        stack = CUSTOM_GROUP_MODES[GroupKind.STACK]
        for family in _stack_families():
            help_ = {
                "image": FILE_KINDS["image"],
                "family": "The image for the members of one product family (mixed stack)",
                family.name: family.help,
            }
            handler = partial(self._family_image, family=family.name)
            c(
                stack,
                f"image <location> [<filename>] family {family.name}",
                handler,
                help=help_,
                args=FILE_ARGS,
            )
            c(
                stack,
                f"no image [<location> [<filename>]] family {family.name}",
                handler,
                help=help_,
                args=FILE_ARGS,
            )

    def _declare_matches(self) -> None:
        c = self.command
        match_help = {"match": "Identify the clients of the group"}
        connectivity = CUSTOM_GROUP_MODES[GroupKind.CONNECTIVITY]
        host_help = {
            **match_help,
            "host": "Upstream neighbour of the clients",
            "interface": "Port of the upstream neighbour the clients are connected to",
        }
        host_args = {
            "host": Arg(IPv4(), "IP address of the upstream neighbour"),
            "interface": Arg(Line(), "Full interface name, such as GigabitEthernet1/0/3"),
        }
        for negated in ("", "no "):
            c(
                connectivity,
                f"{negated}match host <host> interface <interface>",
                self._match_host,
                help=host_help,
                args=host_args,
            )
        mac_mode = CUSTOM_GROUP_MODES[GroupKind.MAC]
        mac_help = {**match_help, "mac": "MAC address of a client"}
        mac = {"mac": Arg(MacAddress(), "MAC address of the client")}
        for negated in ("", "no "):
            c(mac_mode, f"{negated}match mac <mac>", self._match_mac, help=mac_help, args=mac)
            c(
                mac_mode,
                f"{negated}match <mac>",
                self._match_mac,
                help=mac_help,
                args=mac,
                hidden=True,
            )
        pid_mode = CUSTOM_GROUP_MODES[GroupKind.PRODUCT_ID]
        pid = {"pid": Arg(Word(max_len=64), "Product ID, such as WS-C2960-48TC-L")}
        for negated in ("", "no "):
            c(pid_mode, f"{negated}match <pid>", self._match_pid, help=match_help, args=pid)
        stack = CUSTOM_GROUP_MODES[GroupKind.STACK]
        member = {"member": Arg(Number(1, 9), "Switch number in the stack")}
        for family in _stack_families():
            for pc in family.port_configs:
                help_ = {**match_help, family.name: family.help, pc.name: pc.help}
                handler = partial(self._match_stack, family=family.name, port_config=pc.name)
                for negated in ("", "no "):
                    c(
                        stack,
                        f"{negated}match <member> {family.name} {pc.name}",
                        handler,
                        help=help_,
                        args=member,
                    )
        for mode in CUSTOM_GROUP_MODES.values():
            c(mode, "no match", self._match_clear, help=match_help)

    # --- handlers: global configuration --------------------------------------------------

    def _builtin(self, ctx: Context, family: str, port_config: str, chassis: str | None) -> None:
        settings = self.settings
        if ctx.negated:
            with domain_errors():
                settings.remove_builtin_group(family, port_config, chassis)
            return
        before = len(settings.groups.builtin)
        with domain_errors():
            group = settings.builtin_group(family, port_config, chassis)
        ctx.enter(BUILTIN_GROUP_MODE, group)
        if len(settings.groups.builtin) != before:  # entering an existing group changes nothing
            self.changed()

    def _custom(self, ctx: Context, kind: str | None) -> None:
        settings = self.settings
        name = text(ctx.args["name"])
        with domain_errors():
            if ctx.negated:
                existing = settings.groups.custom.get(name)
                if kind is not None and existing is not None and existing.kind.value != kind:
                    raise DomainError(f"% Group {name} is a {existing.kind.value} group", kind)
                settings.remove_custom_group(name)
                return
            before = len(settings.groups.custom)
            group = settings.custom_group(name, kind)
        ctx.enter(CUSTOM_GROUP_MODES[group.kind], group)
        if len(settings.groups.custom) != before:  # entering an existing group changes nothing
            self.changed()

    # --- handlers: group configuration ---------------------------------------------------

    def _group_file(self, ctx: Context, kind: str) -> None:
        files = files_of(ctx)
        if ctx.negated:
            files.set(kind, None)
            return
        set_file(files, kind, location_of(ctx))

    def _family_image(self, ctx: Context, family: str) -> None:
        files = files_of(ctx)
        location = None if ctx.negated else location_of(ctx)
        with domain_errors():
            files.set_family_image(family, location)

    def _match_host(self, ctx: Context) -> None:
        self._match(ctx, ["host", text(ctx.args["host"]), "interface", text(ctx.args["interface"])])

    def _match_mac(self, ctx: Context) -> None:
        self._match(ctx, ["mac", text(ctx.args["mac"])])

    def _match_pid(self, ctx: Context) -> None:
        self._match(ctx, [text(ctx.args["pid"])])

    def _match_stack(self, ctx: Context, family: str, port_config: str) -> None:
        self._match(ctx, [str(ctx.args["member"]), family, port_config])

    def _match_clear(self, ctx: Context) -> None:
        group = ctx.mode_data
        assert isinstance(group, CustomGroup)
        group.remove_match([])

    @staticmethod
    def _match(ctx: Context, words: list[str]) -> None:
        group = ctx.mode_data
        assert isinstance(group, CustomGroup)
        with domain_errors():
            if ctx.negated:
                group.remove_match(words)
            else:
                group.add_match(words)


__all__ = [
    "BUILTIN_GROUP_MODE",
    "CUSTOM_GROUP_MODES",
    "FILE_KINDS",
    "GROUP_MODES",
    "GroupCommands",
]
