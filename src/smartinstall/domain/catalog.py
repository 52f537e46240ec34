"""Built-in groups of Smart Install: product families, port configurations, 4500 supervisors.

The director places a client that matches no custom group in the *built-in group* of its
product family and port configuration (``vstack group built-in 3750 24poe``); a Catalyst 4500
is placed by supervisor and chassis instead (``vstack group built-in 4500 sup8-e 4506``),
"because PoE and port number are capabilities of the line card and not the chassis" (guide,
"Configuring a Group for Standalone Catalyst 4500 Series Switch").  The tables live in the
package data file ``smartinstall/data/catalog.yaml``; this module loads and validates it at
import, and exposes it read-only.

Sources in the guide: the families and their help text are the output of
``vstack group built-in ?``; the supervisors come from ``vstack group built-in 4500 ?``; the
chassis of each supervisor from Table 2-1 of Appendix B, except the Supervisor Engine 8-E, for
which the guide's CLI examples (``... 4500 sup8-e ?`` lists 4503, 4506, 4507r+e, 4510r+e)
disagree with Table 2-1 (4503, 4506, 4507R+E, 4507R-E): the CLI is followed, as a director
accepts what its CLI offers.  Port configurations come from Table 2-2 and the examples
``3560 24``, ``3560 8poe``, ``3750 24poe``, ``2960 24`` and ``2960xr 24-2sfp-il``.

Mapping a product ID to its built-in group
------------------------------------------
:func:`builtin_key_for_pid` applies this rule (the case of the input is ignored, surrounding
blanks are dropped):

1. *Table 2-2 SKU IDs* (``3560_48_POE``, ``2960_24_8_POE``, ``3560E_12_10gig``): the part before
   the first ``_`` names the family; the other ``_``-separated parts, lower-cased and joined
   with ``-``, are the port configuration, a ``POE`` part being glued to the part before it
   (``3560_48_POE`` → ``3560 48poe``, ``2960_8_POE_PD`` → ``2960 8poe-pd``,
   ``2960_24_LL_nouplink`` → ``2960 24-ll-nouplink``).  A final ``gig`` part names the Gigabit
   variant of the family (``2960_24_gig`` → ``2960g 24``).
2. *Catalyst 4500 chassis* (``WS-C4507R-E`` …): family ``4500``; the group is
   ``<supervisor> <chassis>``, the supervisor being the one the client reports
   (``WS-X45-SUP7-E`` or the keyword ``sup7-e``).  Without a supervisor, or with one that does
   not support the chassis, there is no built-in group.
3. *Fixed product IDs* (the Catalyst 4900 family: ``WS-C4900M``, ``WS-C4948``,
   ``WS-C4948-10GE``, ``WS-C4948E``): one port configuration each.
4. Otherwise the longest *product-ID prefix* of a family names the family (``WS-C2960-``,
   ``WS-C2960X-``, ``WS-C2960S-F`` for 2960s-fe, ``WS-C2960+`` for 2960plus, ``IE-2000-``,
   ``NME-``, ``SM-ES3-`` …; a model written without ``WS-C`` as in Table 2-2, ``2960X-24PD-L``,
   is read as ``WS-C2960X-24PD-L``).  What follows the prefix is read per family:

   * *ports* families: ``<count><type letters>[-<uplink/option>…][-<license>]``, as in
     ``WS-C2960-48TC-S``, ``WS-C3750E-24PD``, ``WS-C2960X-24PS-L``, ``WS-C3560CG-8PC-S``.  The
     port configuration is the port count (leading zeros dropped) followed by

     - ``poe`` when the type letters begin with ``P``, ``PD``, ``PC``, ``PS``, ``LP`` or ``FP``
       (PoE / PoE+, lite or full), ``upoe`` for ``U`` (UPOE); ``T`` (copper: ``TC``, ``TS``,
       ``TD``, ``TT``) adds nothing;
     - a family's own type codes from the data file (``kinds``): e.g. ``LT``/``LC`` → ``-8poe``
       (24 ports, 8 of them PoE), ``S`` → ``sfp`` on 3750g/3750x/3850, ``F`` → ``poe`` on 3850
       (full PoE+), ``D`` → ``-10gig`` on 3560e (12 port 10 gig);
     - for the 2960x and 2960xr only, whose Table 2-2 rows differ by uplinks and license, the
       uplink letters after the type (``D`` → ``-2sfp``, two SFP+; ``S`` → ``-4sfp``, four SFP,
       but two on LAN Lite) and the license (``-L`` → ``-lb``, ``-LL`` → ``-ll``,
       ``-I`` → ``-il``): ``WS-C2960XR-24TD-I`` → ``2960xr 24-2sfp-il``, the guide's example;
     - for the 2960 and 2960plus, a LAN Lite license ``-S`` adds ``-ll`` (Table 2-2 lists the
       LAN Lite SKUs apart); ``WS-C2960-24-S`` (no type letters) is ``24-ll-nouplink``;
     - a model whose name ends in ``PD`` (``WS-C2960PD-8TT-L``, ``WS-C3560CPD-8PT-S``) is a
       PoE-powered switch: ``<count>poe-pd`` (Table 2-2 "8 port POE PD switch").

     Uplink letters and licenses of other families do not change the group
     (``WS-C3560E-24TD-S`` → ``3560e 24``).
   * *code* families (IE2000, IE3000, IE3010): the industrial models mix FE/GE, SFP/combo and
     partial PoE in ways a count cannot say, so the port configuration is the model code in
     lower case without its license suffix: ``IE-3000-8TC`` → ``IE3000 8tc``,
     ``IE-2000-16PTC-G-E`` → ``IE2000 16ptc-g``, ``IE-3010-16S-8PC`` → ``IE3010 16s-8pc``.

   The result must be one of the family's port configurations; if it is not, or the product ID
   does not parse, there is no built-in group (``None``) and the client falls to the default
   group.  :func:`family_for_pid` applies steps 1–4 but only names the family.

Everything here is pure; only :func:`_load` reads the package data, once, at import.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any, Final

import yaml

__all__ = [
    "ALL_CHASSIS",
    "ALL_CHASSIS_HELP",
    "CHASSIS",
    "CHASSIS_BASED_FAMILY",
    "FAMILIES",
    "SUPERVISORS",
    "BuiltinKey",
    "CatalogError",
    "Chassis",
    "Family",
    "PortConfig",
    "Supervisor",
    "builtin_key",
    "builtin_key_for_pid",
    "chassis",
    "family",
    "family_for_pid",
    "keys_matching",
    "supervisor",
    "supervisor_for",
]


class CatalogError(ValueError):
    """A family, port configuration, supervisor or chassis the catalogue does not know.

    The message is one line, IOS-like, and names the offending token.
    """


@dataclass(frozen=True)
class PortConfig:
    """A port configuration keyword of a family (``24poe``) and its ``?`` help text."""

    name: str
    help: str


@dataclass(frozen=True)
class Family:
    """A built-in product family (``vstack group built-in ?``)."""

    name: str
    help: str
    port_configs: tuple[PortConfig, ...]
    #: True for the Catalyst 4500: its "port configuration" position holds the supervisor,
    #: followed by a chassis type (or ``all``).
    chassis_based: bool

    def port_config(self, name: str) -> PortConfig:
        """The port configuration ``name`` (exact keyword); :class:`CatalogError` otherwise."""
        for pc in self.port_configs:
            if pc.name == name:
                return pc
        raise CatalogError(
            f"% Invalid port configuration {_quote(name)} for product family {self.name}"
        )


@dataclass(frozen=True)
class Supervisor:
    """A Catalyst 4500 supervisor engine (``vstack group built-in 4500 ?``)."""

    name: str
    help: str
    part_numbers: tuple[str, ...]
    #: chassis keywords this supervisor supports, in ``?`` order (``all`` not included)
    chassis: tuple[str, ...]


@dataclass(frozen=True)
class Chassis:
    """A Catalyst 4500 chassis type (``4507r+e``), its help text and product ID."""

    name: str
    help: str
    pid: str


@dataclass(frozen=True, order=True)
class BuiltinKey:
    """Identifies one built-in group.

    ``family`` + ``port_config`` for every family but the 4500; for the 4500, ``port_config``
    is the supervisor and ``chassis`` the chassis type or ``all``.  Build it with
    :func:`builtin_key`, which validates.
    """

    family: str
    port_config: str
    chassis: str | None = None

    def label(self) -> str:
        """The group name as ``show vstack group built-in`` prints it.

        ``sup8-e 4506`` for a 4500 (guide: "Group Name: sup8-e 4506"), ``3750 24poe`` otherwise.
        """
        if self.chassis is not None:
            return f"{self.port_config} {self.chassis}"
        return f"{self.family} {self.port_config}"


#: the family whose groups are keyed by supervisor and chassis
CHASSIS_BASED_FAMILY: Final = "4500"
#: the chassis keyword meaning every chassis the supervisor supports
ALL_CHASSIS: Final = "all"

_KEYWORD = re.compile(r"[0-9A-Za-z][0-9A-Za-z+._-]*")
_PID = re.compile(r"[0-9A-Z][0-9A-Z+_-]*")
_MAX_TOKEN_SHOWN = 40


def _quote(token: object) -> str:
    """A token for an error message: quoted, one line, bounded in length."""
    text = str(token)
    if len(text) > _MAX_TOKEN_SHOWN:
        text = text[:_MAX_TOKEN_SHOWN] + "..."
    if text.isprintable():
        return f"'{text}'"
    return ascii(text)


# --------------------------------------------------------------------------------------------
# Loading and validating the package data
# --------------------------------------------------------------------------------------------


class _DataError(Exception):
    """The packaged catalogue is malformed (a bug in the package, not a user error)."""


@dataclass(frozen=True)
class _PidRule:
    style: str  # "ports" | "code" | "fixed" | "chassis"
    prefixes: tuple[str, ...]
    fixed: Mapping[str, str]
    licenses: Mapping[str, str] | None
    uplinks: Mapping[str, str] | None
    kinds: Mapping[str, str]


_STYLES: Final = frozenset({"ports", "code", "fixed", "chassis"})
_FAMILY_KEYS: Final = frozenset(
    {
        "help",
        "pid_prefixes",
        "pid_style",
        "pid_fixed",
        "licenses",
        "uplinks",
        "kinds",
        "sku_ids",
        "port_configs",
    }
)


def _str(value: object, where: str) -> str:
    if not isinstance(value, str) or not value or not value.isprintable():
        raise _DataError(f"{where}: expected a non-empty one-line string, got {value!r}")
    return value


def _keyword(value: object, where: str) -> str:
    text = _str(value, where)
    if not _KEYWORD.fullmatch(text):
        raise _DataError(f"{where}: {text!r} is not a CLI keyword")
    return text


def _map(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _DataError(f"{where}: expected a mapping, got {type(value).__name__}")
    for key in value:
        if not isinstance(key, str):
            raise _DataError(f"{where}: key {key!r} is not a string")
    return value


def _str_map(value: object, where: str, *, empty_values: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, val in _map(value, where).items():
        if not isinstance(val, str) or (not empty_values and not val):
            raise _DataError(f"{where}.{key}: expected a string, got {val!r}")
        out[key] = val
    return out


def _str_list(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise _DataError(f"{where}: expected a non-empty list")
    items = tuple(_str(v, f"{where}[{i}]") for i, v in enumerate(value))
    if len(set(items)) != len(items):
        raise _DataError(f"{where}: duplicate entries")
    return items


def _parse(
    doc: object,
) -> tuple[dict[str, Family], dict[str, _PidRule], dict[str, Supervisor], dict[str, Chassis], str]:
    root = _map(doc, "catalog")
    unknown = set(root) - {"families", "chassis", "supervisors", "all_chassis_help"}
    if unknown:
        raise _DataError(f"catalog: unknown keys {sorted(unknown)}")

    chassis_types: dict[str, Chassis] = {}
    for name, raw in _map(root.get("chassis"), "chassis").items():
        entry = _map(raw, f"chassis.{name}")
        if set(entry) != {"help", "pid"}:
            raise _DataError(f"chassis.{name}: expected keys help, pid")
        pid = _str(entry["pid"], f"chassis.{name}.pid")
        if not _PID.fullmatch(pid):
            raise _DataError(f"chassis.{name}.pid: {pid!r} is not a product ID")
        chassis_types[_keyword(name, "chassis")] = Chassis(
            name, _str(entry["help"], f"chassis.{name}.help"), pid
        )
    if ALL_CHASSIS in chassis_types:
        raise _DataError(f"chassis: {ALL_CHASSIS!r} is reserved")

    supervisors: dict[str, Supervisor] = {}
    for name, raw in _map(root.get("supervisors"), "supervisors").items():
        where = f"supervisors.{name}"
        entry = _map(raw, where)
        if set(entry) != {"help", "part_numbers", "chassis"}:
            raise _DataError(f"{where}: expected keys help, part_numbers, chassis")
        supported = _str_list(entry["chassis"], f"{where}.chassis")
        for c in supported:
            if c not in chassis_types:
                raise _DataError(f"{where}.chassis: unknown chassis {c!r}")
        parts = _str_list(entry["part_numbers"], f"{where}.part_numbers")
        for p in parts:
            if not _PID.fullmatch(p):
                raise _DataError(f"{where}.part_numbers: {p!r} is not a part number")
        supervisors[_keyword(name, "supervisors")] = Supervisor(
            name, _str(entry["help"], f"{where}.help"), parts, supported
        )
    if not supervisors:
        raise _DataError("supervisors: empty")

    families: dict[str, Family] = {}
    rules: dict[str, _PidRule] = {}
    for name, raw in _map(root.get("families"), "families").items():
        where = f"families.{name}"
        entry = _map(raw, where)
        unknown = set(entry) - _FAMILY_KEYS
        if unknown:
            raise _DataError(f"{where}: unknown keys {sorted(unknown)}")
        style = _str(entry.get("pid_style"), f"{where}.pid_style")
        if style not in _STYLES:
            raise _DataError(f"{where}.pid_style: {style!r} not one of {sorted(_STYLES)}")
        pcs = _str_map(entry.get("port_configs"), f"{where}.port_configs", empty_values=False)
        port_configs = tuple(
            PortConfig(_keyword(k, f"{where}.port_configs"), _str(v, f"{where}.{k}"))
            for k, v in pcs.items()
        )
        chassis_based = style == "chassis"
        if chassis_based != (name == CHASSIS_BASED_FAMILY):
            raise _DataError(f"{where}: only family {CHASSIS_BASED_FAMILY} is chassis-based")
        if chassis_based == bool(port_configs):
            raise _DataError(f"{where}: port configurations iff not chassis-based")
        prefixes: tuple[str, ...] = ()
        if style in ("ports", "code"):
            prefixes = _str_list(entry.get("pid_prefixes"), f"{where}.pid_prefixes")
            for p in prefixes:
                if not _PID.fullmatch(p):
                    raise _DataError(f"{where}.pid_prefixes: {p!r} is not a PID prefix")
        elif "pid_prefixes" in entry:
            raise _DataError(f"{where}: pid_prefixes only with pid_style ports or code")
        fixed: dict[str, str] = {}
        if style == "fixed":
            fixed = _str_map(entry.get("pid_fixed"), f"{where}.pid_fixed", empty_values=False)
            if not fixed:
                raise _DataError(f"{where}.pid_fixed: empty")
        elif "pid_fixed" in entry:
            raise _DataError(f"{where}: pid_fixed only with pid_style fixed")
        if style != "ports" and {"licenses", "uplinks", "kinds"} & set(entry):
            raise _DataError(f"{where}: licenses/uplinks/kinds only with pid_style ports")
        licenses = (
            _str_map(entry["licenses"], f"{where}.licenses", empty_values=True)
            if "licenses" in entry
            else None
        )
        uplinks = (
            _str_map(entry["uplinks"], f"{where}.uplinks", empty_values=True)
            if "uplinks" in entry
            else None
        )
        kinds = _str_map(entry.get("kinds", {}), f"{where}.kinds", empty_values=True)
        fam = Family(
            _keyword(name, "families"),
            _str(entry.get("help"), f"{where}.help"),
            port_configs,
            chassis_based,
        )
        if len({pc.name for pc in port_configs}) != len(port_configs):
            raise _DataError(f"{where}: duplicate port configurations")
        sku_ids = _str_map(entry.get("sku_ids", {}), f"{where}.sku_ids", empty_values=False)
        for pid, pc_name in (fixed | sku_ids).items():
            if pc_name not in pcs:
                raise _DataError(f"{where}.{pid}: unknown port config {pc_name!r}")
            if not _PID.fullmatch(pid):
                raise _DataError(f"{where}.{pid}: not a product ID")
        families[name] = fam
        rules[name] = _PidRule(
            style,
            prefixes,
            MappingProxyType(fixed | {k.upper(): v for k, v in sku_ids.items()}),
            MappingProxyType(licenses) if licenses is not None else None,
            MappingProxyType(uplinks) if uplinks is not None else None,
            MappingProxyType(kinds),
        )
    if CHASSIS_BASED_FAMILY not in families:
        raise _DataError(f"families: {CHASSIS_BASED_FAMILY} missing")
    lowered = [f.lower() for f in families]
    if len(set(lowered)) != len(lowered):
        raise _DataError("families: names differ only in case")
    all_fixed = [p for r in rules.values() for p in r.fixed]
    if len(set(all_fixed)) != len(all_fixed):
        raise _DataError("families: a fixed product ID belongs to two families")
    all_prefixes = [p for r in rules.values() for p in r.prefixes]
    if len(set(all_prefixes)) != len(all_prefixes):
        raise _DataError("families: a PID prefix belongs to two families")
    all_help = _str(root.get("all_chassis_help"), "all_chassis_help")
    return families, rules, supervisors, chassis_types, all_help


def _load() -> tuple[
    dict[str, Family], dict[str, _PidRule], dict[str, Supervisor], dict[str, Chassis], str
]:
    text = (resources.files("smartinstall") / "data" / "catalog.yaml").read_text("utf-8")
    try:
        return _parse(yaml.safe_load(text))
    except _DataError as exc:
        raise _DataError(f"smartinstall/data/catalog.yaml: {exc}") from None


_families, _RULES, _supervisors, _chassis, _ALL_HELP = _load()

#: every built-in product family, in the order of ``vstack group built-in ?``
FAMILIES: Mapping[str, Family] = MappingProxyType(_families)
#: the Catalyst 4500 supervisors, in the order of ``vstack group built-in 4500 ?``
SUPERVISORS: Mapping[str, Supervisor] = MappingProxyType(_supervisors)
#: the Catalyst 4500 chassis types
CHASSIS: Mapping[str, Chassis] = MappingProxyType(_chassis)
#: help text of ``all`` after a supervisor ("Configure all Chassis for this Sup")
ALL_CHASSIS_HELP: Final = _ALL_HELP

_SUPERVISOR_BY_PART: Final = MappingProxyType(
    {p.upper(): s for s in _supervisors.values() for p in s.part_numbers}
)
_CHASSIS_BY_PID: Final = MappingProxyType({c.pid: c.name for c in _chassis.values()})
_FIXED_PIDS: Final = MappingProxyType(
    {pid: (name, pc) for name, r in _RULES.items() for pid, pc in r.fixed.items()}
)
_FAMILY_BY_LOWER: Final = MappingProxyType({name.lower(): name for name in _families})
# (prefix, family), longest prefix first, so WS-C2960S-F wins over WS-C2960S-
_PREFIXES: Final = tuple(
    sorted(
        ((p, name) for name, r in _RULES.items() for p in r.prefixes),
        key=lambda item: (-len(item[0]), item[0]),
    )
)


# --------------------------------------------------------------------------------------------
# Lookups and validation
# --------------------------------------------------------------------------------------------


def family(name: str) -> Family:
    """The family of exact keyword ``name``; :class:`CatalogError` otherwise."""
    found = _families.get(name) if isinstance(name, str) else None
    if found is None:
        raise CatalogError(f"% Invalid product family {_quote(name)}")
    return found


def supervisor(name: str) -> Supervisor:
    """The 4500 supervisor of keyword ``name``; :class:`CatalogError` otherwise."""
    found = _supervisors.get(name) if isinstance(name, str) else None
    if found is None:
        raise CatalogError(
            f"% Invalid supervisor {_quote(name)} for product family {CHASSIS_BASED_FAMILY}"
        )
    return found


def chassis(name: str) -> Chassis:
    """The 4500 chassis type of keyword ``name``; :class:`CatalogError` otherwise."""
    found = _chassis.get(name) if isinstance(name, str) else None
    if found is None:
        raise CatalogError(f"% Invalid chassis type {_quote(name)}")
    return found


def builtin_key(family: str, port_config: str, chassis: str | None = None) -> BuiltinKey:
    """A validated :class:`BuiltinKey`, as ``vstack group built-in`` accepts it.

    For the 4500, ``port_config`` is the supervisor and ``chassis`` is required: one of the
    chassis the supervisor supports, or ``all``.  Other families take no chassis.
    """
    fam = _family_for_key(family)
    if not fam.chassis_based:
        fam.port_config(port_config)
        if chassis is not None:
            raise CatalogError(
                f"% Invalid input {_quote(chassis)}: product family {fam.name} "
                "takes no chassis type"
            )
        return BuiltinKey(fam.name, port_config)
    sup = supervisor(port_config)
    if chassis is None:
        raise CatalogError(
            f"% Incomplete command: supervisor {sup.name} needs a chassis type or {ALL_CHASSIS}"
        )
    if chassis != ALL_CHASSIS and chassis not in sup.chassis:
        raise CatalogError(f"% Invalid chassis type {_quote(chassis)} for supervisor {sup.name}")
    return BuiltinKey(fam.name, sup.name, chassis)


def _family_for_key(name: str) -> Family:
    # builtin_key's parameter `family` shadows the function of that name
    return family(name)


def keys_matching(key: BuiltinKey) -> list[BuiltinKey]:
    """The concrete groups ``key`` stands for.

    ``all`` after a 4500 supervisor expands to one key per chassis that supervisor supports
    (guide: ``show vstack group built-in 4500 sup8-e detail`` lists sup8-e 4503, 4506,
    4507r+e, 4510r+e); any other valid key stands for itself.  Raises :class:`CatalogError`
    for a key that :func:`builtin_key` would reject.
    """
    valid = builtin_key(key.family, key.port_config, key.chassis)
    if valid.chassis == ALL_CHASSIS:
        sup = _supervisors[valid.port_config]
        return [BuiltinKey(valid.family, sup.name, c) for c in sup.chassis]
    return [valid]


# --------------------------------------------------------------------------------------------
# Product ID → built-in group (the rule is documented in the module docstring)
# --------------------------------------------------------------------------------------------

_SKU_ID = re.compile(r"([0-9A-Z]+)_([0-9A-Z_]+)")
_PORTS = re.compile(r"0*([0-9]{1,3})([A-Z+]*)(?:-([0-9A-Z+-]+))?")
_MAX_PID = 64


def _normalise_pid(pid: object) -> str | None:
    if not isinstance(pid, str):
        return None
    text = pid.strip().upper()
    if not text or len(text) > _MAX_PID or not _PID.fullmatch(text):
        return None
    return text


def _from_sku_id(text: str) -> tuple[str, str] | None:
    """Table 2-2's SKU ID form: ``3560_48_POE`` → (``3560``, ``48poe``)."""
    m = _SKU_ID.fullmatch(text)
    if m is None:
        return None
    tokens = m.group(2).split("_")
    fam_token = m.group(1).lower()
    if tokens[-1] == "GIG" and len(tokens) > 1:
        fam_token += "g"
        tokens = tokens[:-1]
    name = _FAMILY_BY_LOWER.get(fam_token)
    if name is None:
        return None
    parts: list[str] = []
    for tok in tokens:
        if not tok:
            return None
        if tok == "POE" and parts:
            parts[-1] += "poe"
        else:
            parts.append(tok.lower())
    return name, "-".join(parts)


def _power(kind: str) -> tuple[str, str] | None:
    """Generic type letters → (suffix, remaining uplink letters)."""
    for letters, suffix in (("FP", "poe"), ("LP", "poe"), ("P", "poe"), ("U", "upoe"), ("T", "")):
        if kind.startswith(letters):
            return suffix, kind[len(letters) :]
    if kind == "":
        return "", ""
    return None


def _ports_config(rule: _PidRule, prefix: str, rest: str) -> str | None:
    m = _PORTS.fullmatch(rest)
    if m is None:
        return None
    count, kind, tail = m.group(1), m.group(2), m.group(3)
    license_ = tail.rsplit("-", 1)[-1] if tail else ""
    lic_suffix = ""
    if rule.licenses is not None:
        if license_ not in rule.licenses and license_ != "":
            return None
        lic_suffix = rule.licenses.get(license_, "")
    whole = rule.kinds.get(f"{kind}@{license_}")
    if whole is not None:
        return f"{count}{whole}"
    if kind in rule.kinds:
        body = rule.kinds[kind]
    else:
        power = _power(kind)
        if power is None:
            return None
        body, uplink = power
        if rule.uplinks is not None:
            up = rule.uplinks.get(f"{uplink}@{license_}", rule.uplinks.get(uplink))
            if up is None:
                return None
            body += up
    if prefix.rstrip("-+").endswith("PD"):
        body = "poe-pd"
    return f"{count}{body}{lic_suffix}"


def _code_config(rest: str) -> str | None:
    tokens = rest.split("-")
    if any(not t for t in tokens) or not tokens[0][:1].isdigit():
        return None
    last = tokens[-1]
    if len(tokens) > 1 and not last[:1].isdigit() and last != "G":
        tokens = tokens[:-1]  # the license: L, B, E, N, X, NX (L1 in the guide's table)
    return "-".join(tokens).lower()


def _classify(pid: str) -> tuple[str, str | None] | None:
    """(family, port config or chassis or None if unparsable) for a normalised product ID."""
    if pid in _FIXED_PIDS:
        return _FIXED_PIDS[pid]
    if pid in _CHASSIS_BY_PID:
        return CHASSIS_BASED_FAMILY, _CHASSIS_BY_PID[pid]
    if "_" in pid:
        return _from_sku_id(pid)
    candidates = [pid]
    if pid[:1].isdigit() and not pid.startswith("1783-"):
        candidates.append("WS-C" + pid)  # Table 2-2 writes 2960X-24PD-L for WS-C2960X-24PD-L
    for text in candidates:
        for prefix, name in _PREFIXES:
            if text.startswith(prefix) and len(text) > len(prefix):
                rule = _RULES[name]
                rest = text[len(prefix) :]
                if rule.style == "code":
                    return name, _code_config(rest)
                return name, _ports_config(rule, prefix, rest)
    return None


def supervisor_for(value: str | None) -> Supervisor | None:
    """The supervisor a 4500 client reports, by part number or keyword, or None.

    ``WS-X45-SUP7-E`` → sup7-e, ``WS-X45-SUP6L-E`` → sup61-e, ``sup8-e`` → sup8-e; the case of
    the input and surrounding blanks are ignored.  Never raises on any string.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text in _supervisors:
        return _supervisors[text]
    if text.lower() in _supervisors:
        return _supervisors[text.lower()]
    return _SUPERVISOR_BY_PART.get(text.upper())


def family_for_pid(pid: str) -> str | None:
    """The built-in family of a product ID (``WS-C3750E-24PD`` → ``3750e``), or None."""
    text = _normalise_pid(pid)
    if text is None:
        return None
    found = _classify(text)
    return found[0] if found is not None else None


def builtin_key_for_pid(pid: str, supervisor: str | None = None) -> BuiltinKey | None:
    """The built-in group of a client with product ID ``pid``, or None when it has none.

    ``supervisor`` matters only for a Catalyst 4500 chassis: the supervisor the client reports,
    as part number (``WS-X45-SUP7-E``) or keyword (``sup7-e``).  The rule is described in the
    module docstring.  Never raises on any string.
    """
    text = _normalise_pid(pid)
    if text is None:
        return None
    found = _classify(text)
    if found is None:
        return None
    name, detail = found
    if detail is None:
        return None
    fam = _families[name]
    if fam.chassis_based:
        sup = supervisor_for(supervisor)
        if sup is None or detail not in sup.chassis:
            return None
        return BuiltinKey(name, sup.name, detail)
    if all(pc.name != detail for pc in fam.port_configs):
        return None
    return BuiltinKey(name, detail)
