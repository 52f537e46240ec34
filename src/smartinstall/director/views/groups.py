"""``show vstack group built-in …`` and ``show vstack group custom [name] detail``.

Built-in groups (guide, "Configuring a Group for Standalone Catalyst 4500 Series Switch" and
the command reference of ``show vstack``):

* without ``detail``: the ``?``-style list of families (``2960      2960 product family``), of a
  family's port configurations, of the 4500 supervisors or of a supervisor's chassis;
* with ``detail``: one block per group (``-----``, ``Group Name: sup8-e 4506``, the image, the
  configuration and the script, or ``No Image name specified`` / ``No config file name
  specified`` / ``No Script file specified``); a 4500 supervisor without chassis stands for
  every chassis it supports;
* ``configured``: ``*** Only Configured Groups will be shown ***`` and only groups with a file.

Custom groups follow the first ``show vstack group custom detail`` example of chapter 3:
labels padded to 14 characters, matches indented by two spaces.
"""

from __future__ import annotations

from smartinstall.director.views.common import SEPARATOR, text
from smartinstall.domain import catalog
from smartinstall.domain.catalog import BuiltinKey, CatalogError
from smartinstall.domain.groups import CustomGroup, GroupFiles, GroupKind, GroupSettings

CONFIGURED_ONLY = "*** Only Configured Groups will be shown ***"
HELP_WIDTH = 10


def _help_line(name: str, help_text: str) -> str:
    return f"{name:<{HELP_WIDTH - 1}} {help_text}"


def _keys(family: str | None, port_config: str | None, chassis: str | None) -> list[BuiltinKey]:
    """Every concrete group the words select, in ``?`` order."""
    families = [catalog.family(family)] if family is not None else list(catalog.FAMILIES.values())
    keys: list[BuiltinKey] = []
    for fam in families:
        if fam.chassis_based:
            sups = (
                [catalog.supervisor(port_config)]
                if port_config is not None
                else list(catalog.SUPERVISORS.values())
            )
            for sup in sups:
                if chassis is not None and family is not None:
                    key = catalog.builtin_key(fam.name, sup.name, chassis)
                    keys.extend(catalog.keys_matching(key))
                else:
                    keys.extend(BuiltinKey(fam.name, sup.name, c) for c in sup.chassis)
        elif port_config is not None and family is not None:
            keys.append(catalog.builtin_key(fam.name, port_config, chassis))
        else:
            keys.extend(BuiltinKey(fam.name, pc.name) for pc in fam.port_configs)
    return keys


def builtin_files(groups: GroupSettings, key: BuiltinKey) -> GroupFiles:
    """The files of a built-in group: its own, else (4500) those of ``<supervisor> all``."""
    own = groups.builtin.get(key)
    if own is not None and not own.files.empty:
        return own.files
    if key.chassis is not None and key.chassis != catalog.ALL_CHASSIS:
        every = groups.builtin.get(BuiltinKey(key.family, key.port_config, catalog.ALL_CHASSIS))
        if every is not None:
            return every.files
    return own.files if own is not None else GroupFiles()


def builtin_block(key: BuiltinKey, files: GroupFiles) -> list[str]:
    return [
        SEPARATOR,
        f"Group Name: {key.label()}",
        f"Image Name: {files.image}" if files.image else "No Image name specified",
        f"Config file name: {files.config}" if files.config else "No config file name specified",
        f"Script file name: {files.script}" if files.script else "No Script file specified",
    ]


def show_vstack_group_builtin(
    groups: GroupSettings,
    family: str | None = None,
    port_config: str | None = None,
    chassis: str | None = None,
    *,
    detail: bool = False,
    configured: bool = False,
) -> str:
    """``show vstack group built-in [family [port_config [chassis]]] [detail] [configured]``.

    Raises :class:`CatalogError` for a family, port configuration, supervisor or chassis the
    catalogue does not know (the command engine rejects those before).
    """
    if not detail and not configured:
        return text(_help_lines(family, port_config, chassis))
    lines = [CONFIGURED_ONLY] if configured else []
    for key in _keys(family, port_config, chassis):
        files = builtin_files(groups, key)
        if configured and files.empty:
            continue
        lines.extend(builtin_block(key, files))
    return text(lines)


def _help_lines(family: str | None, port_config: str | None, chassis: str | None) -> list[str]:
    if family is None:
        return [_help_line(f.name, f.help) for f in catalog.FAMILIES.values()]
    fam = catalog.family(family)
    if not fam.chassis_based:
        if port_config is None:
            return [_help_line(pc.name, pc.help) for pc in fam.port_configs]
        pc = fam.port_config(port_config)
        return [_help_line(pc.name, pc.help)]
    if port_config is None:
        return [_help_line(s.name, s.help) for s in catalog.SUPERVISORS.values()]
    sup = catalog.supervisor(port_config)
    names = sup.chassis if chassis in (None, catalog.ALL_CHASSIS) else (chassis,)
    lines = []
    for name in names:
        if name not in sup.chassis:
            raise CatalogError(f"% Invalid chassis type '{name}' for supervisor {sup.name}")
        lines.append(_help_line(name, catalog.chassis(name).help))
    return lines


# --- custom groups -------------------------------------------------------------------------

LABEL_WIDTH = 14


def _label(name: str) -> str:
    return f"{name + ':':<{LABEL_WIDTH}}"


def custom_block(group: CustomGroup) -> list[str]:
    files = group.files
    lines = [SEPARATOR, _label("Group Name") + group.name]
    images = [files.image] if files.image else []
    images.extend(files.family_images.values())
    if len(images) == 1:
        lines.append(_label("Image") + images[0])
    else:
        lines.extend(_label(f"Image {n}") + image for n, image in enumerate(images, start=1))
    if files.config:
        lines.append(_label("Config File") + files.config)
    if files.script:
        lines.append(_label("Script File") + files.script)
    if group.kind is GroupKind.CONNECTIVITY:
        lines.append("Connectivity Details (IP Adress:Interface):")
        lines.extend(f"  {h.host}:{h.interface}" for h in group.hosts)
    elif group.kind is GroupKind.PRODUCT_ID:
        lines.extend(_label("Product-ID") + pid for pid in group.product_ids)
    elif group.kind is GroupKind.STACK:
        lines.append("Stack Details (Switch_number:Product-id):")
        lines.extend(
            f"  {m.member}:{m.key.family.upper()} {m.key.port_config.upper()}" for m in group.stack
        )
    elif group.kind is GroupKind.MAC:
        lines.append("MAC Address Details:")
        lines.extend(f"  {mac}" for mac in group.macs)
    return lines


def show_vstack_group_custom(groups: GroupSettings, name: str | None = None) -> str:
    """``show vstack group custom [name] detail``: every custom group, or the one named."""
    if name is not None:
        group = groups.custom.get(name.strip())
        if group is None:
            return text([f"% Group {name.strip()} does not exist"])
        return text(custom_block(group))
    lines: list[str] = []
    for group in groups.custom.values():
        lines.extend(custom_block(group))
    return text(lines)
