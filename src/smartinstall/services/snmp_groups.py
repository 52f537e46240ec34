"""SETs of the group tables (csiProfileTable, csiMatchTable) through RowStatus, on a copy of
the groups: pure functions, all or nothing. The forms (docs/snmp.md, section 4):

* a new custom group: one request with the profile row at csiProfileNextFreeIndex
  (csiProfileRowStatus createAndGo(4), csiProfileGroupName, optionally csiProfileImageUrl,
  csiProfileImageTwoUrl and csiProfileConfigUrl) and its match rows (csiMatchRowStatus
  createAndGo, csiMatchGroupType and the criterion's columns); the type of the first match row
  is the group's type;
* one more match of an existing custom group: its match row with createAndGo;
* the columns of an existing row (RowStatus left out, or active(1)): a group's name, image,
  second image and configuration (`image …`, `image … family …`, `config …` in the group,
  `vstack group built-in …` for a built-in group), a match's criterion (`no match <old>` then
  `match <new>`, in place);
* csiMatchRowStatus destroy(6): that match goes; csiProfileRowStatus destroy(6): the group goes
  (built-in or custom), and the rows after it move up one index.

The director's groups have no inactive state (a CLI change applies at once), so the columns of
an active row are changed in place rather than through notInService; createAndWait(5) and
notInService(2) are not supported (wrongValue, as RFC 2579 lets an agent answer; the MIB's
compliance asks only createAndGo and destroy). Errors follow RFC 3416's order: notWritable for
columns that are not writable, then wrongType, wrongLength, wrongValue (what the CLI refuses),
noCreation for rows that do not exist, inconsistentValue.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from smartinstall.domain.catalog import CatalogError
from smartinstall.domain.errors import DomainError
from smartinstall.domain.groups import (
    BuiltinGroup,
    CustomGroup,
    GroupFiles,
    GroupKind,
    GroupSettings,
    StackMatch,
    validate_group_name,
)
from smartinstall.domain.platforms import image_families
from smartinstall.domain.settings import DirectorSettings
from smartinstall.domain.values import normalize_mac
from smartinstall.services.snmp_mib import (
    MATCH_ENTRY,
    PROFILE_ENTRY,
    Oid,
    match_rows,
    profile_rows,
)
from smartinstall.services.snmp_set import integer, octets, refused

ACTIVE, CREATE_AND_GO, DESTROY = 1, 4, 6
NON_VOLATILE = 3  # StorageType: every group is saved in startup-config
IPV4 = 1  # InetAddressType
KINDS = {2: GroupKind.MAC, 3: GroupKind.CONNECTIVITY, 4: GroupKind.PRODUCT_ID, 5: GroupKind.STACK}
PROFILE_STATUS, MATCH_STATUS = 7, 11
NAME, IMAGE, IMAGE_TWO, CONFIG = 2, 3, 4, 5

# the writable columns: column → (integer, or the octet string's largest size)
INTEGER, MAC = -1, -2
PROFILE_COLUMNS = {NAME: 64, IMAGE: 255, IMAGE_TWO: 255, CONFIG: 255, 6: INTEGER, 7: INTEGER}
MATCH_COLUMNS = {
    2: INTEGER, 3: MAC, 4: INTEGER, 5: 255, 6: 255, 7: 255, 8: INTEGER, 9: 255, 10: INTEGER,
    11: INTEGER,
}  # fmt: skip
# the values an enumerated column may take: column → (values, what they are)
STATUSES = ((ACTIVE, CREATE_AND_GO, DESTROY), "active(1), createAndGo(4) or destroy(6)")
STORAGE = ((NON_VOLATILE,), "nonVolatile(3): groups are saved in startup-config")
PROFILE_VALUES = {6: STORAGE, 7: STATUSES}
MATCH_VALUES = {
    2: (tuple(KINDS), "mac(2), connectivity(3), product(4) or stack(5)"),
    4: ((IPV4,), "ipv4(1)"),
    10: STORAGE,
    11: STATUSES,
}


@dataclass
class _Row:
    """The columns a request sets in one row: column → (var-bind index, value)."""

    columns: dict[int, tuple[int, Any]] = field(default_factory=dict)

    def first(self) -> int:
        return min(index for index, _ in self.columns.values())

    def at(self, column: int) -> int:
        return self.columns[column][0] if column in self.columns else self.first()

    def text(self, column: int) -> str | None:
        if column not in self.columns:
            return None
        index, value = self.columns[column]
        try:
            return octets(value, index).decode("utf-8").strip()
        except UnicodeDecodeError:
            raise refused("wrongValue", index, "not UTF-8") from None

    def number(self, column: int) -> int | None:
        if column not in self.columns:
            return None
        index, value = self.columns[column]
        return integer(value, index)


def group_oid(oid: Oid) -> bool:
    return oid[: len(PROFILE_ENTRY)] == PROFILE_ENTRY or oid[: len(MATCH_ENTRY)] == MATCH_ENTRY


def _checked(
    index: int, column: int, value: Any, sizes: Mapping[int, int], values: Mapping[int, Any]
) -> None:
    """The checks that need no other value: writable column, type, length, enumeration."""
    size = sizes.get(column)
    if size is None:
        raise refused("notWritable", index)
    if size == INTEGER:
        number = integer(value, index)
        allowed, what = values.get(column, ((), ""))
        if allowed and number not in allowed:
            raise refused("wrongValue", index, what)
    elif size == MAC:
        if len(octets(value, index)) != 6:
            raise refused("wrongLength", index, "csiMatchMacAddress is 6 octets")
    elif len(octets(value, index)) > size:
        raise refused("wrongLength", index, f"at most {size} octets")


def apply_group_sets(
    settings: DirectorSettings, binds: Mapping[int, tuple[Oid, Any]]
) -> GroupSettings:
    """The groups after the SETs ``binds`` (var-bind index → (OID, value)), on a copy."""
    profiles: dict[int, _Row] = {}
    matches: dict[tuple[int, int], _Row] = {}
    for index, (oid, value) in binds.items():
        if oid[: len(PROFILE_ENTRY)] == PROFILE_ENTRY and len(oid) == len(PROFILE_ENTRY) + 2:
            column, at_row = oid[len(PROFILE_ENTRY) :]
            _checked(index, column, value, PROFILE_COLUMNS, PROFILE_VALUES)
            profiles.setdefault(at_row, _Row()).columns[column] = (index, value)
        elif oid[: len(MATCH_ENTRY)] == MATCH_ENTRY and len(oid) == len(MATCH_ENTRY) + 3:
            column, at_row, at_match = oid[len(MATCH_ENTRY) :]
            _checked(index, column, value, MATCH_COLUMNS, MATCH_VALUES)
            matches.setdefault((at_row, at_match), _Row()).columns[column] = (index, value)
        else:
            raise refused("notWritable", index)
    groups = copy.deepcopy(settings.groups)
    rows = {row.index: row for row in profile_rows(settings)}
    # each row's group in the copy (renames in this request leave the row numbers alone)
    targets: dict[int, BuiltinGroup | CustomGroup] = {}
    for number, row in rows.items():
        if row.group is not None:
            targets[number] = groups.custom[row.group.name]
        else:
            targets[number] = next(g for k, g in groups.builtin.items() if k.label() == row.name)
    next_free = len(rows) + 2
    gone: list[int] = []
    for number, profile in sorted(profiles.items()):
        status = profile.number(PROFILE_STATUS)
        at = profile.at(PROFILE_STATUS)
        if status == CREATE_AND_GO:
            if number in rows:
                raise refused("inconsistentValue", at, "the row exists")
            if number != next_free:
                raise refused(
                    "inconsistentValue", at, f"new rows take csiProfileNextFreeIndex ({next_free})"
                )
            own = {m: row for (p, m), row in matches.items() if p == number}
            name, group = _new_group(profile, own, groups)
            groups.custom[name] = group
            for m in own:
                del matches[(number, m)]
        elif number not in rows:
            if status == ACTIVE:
                raise refused("inconsistentValue", at, "no such row: createAndGo(4) makes one")
            raise refused("noCreation", at, "no group at this index")
        elif status == DESTROY:
            gone.append(number)
        else:  # the columns of an existing row (RowStatus active or left out)
            _change_profile(targets[number], profile, groups)
    for (number, position), match in sorted(matches.items(), reverse=True):
        # from the last position down: destroying a match moves the ones after it up
        target = targets.get(number)
        if not isinstance(target, CustomGroup):
            raise refused("noCreation", match.first(), "no custom group at this index")
        _change_match(target, match, position, new=False)
    for number in gone:
        target = targets[number]
        groups.custom = {k: g for k, g in groups.custom.items() if g is not target}
        groups.builtin = {k: g for k, g in groups.builtin.items() if g is not target}
    return groups


def _new_group(
    profile: _Row, matches: Mapping[int, _Row], groups: GroupSettings
) -> tuple[str, CustomGroup]:
    at = profile.columns[PROFILE_STATUS][0]
    name = profile.text(NAME)
    if not name:
        raise refused("inconsistentValue", at, "csiProfileGroupName is needed")
    if not matches:
        raise refused("inconsistentValue", at, "a new group needs its csiMatchTable rows")
    first = matches[min(matches)]
    kind = KINDS.get(first.number(2) or 0)
    if kind is None:
        raise refused("inconsistentValue", first.first(), "csiMatchGroupType is needed")
    try:
        group = CustomGroup(name, kind)
    except DomainError as error:
        raise refused("wrongValue", profile.columns[NAME][0], str(error)) from None
    if name in groups.custom:
        raise refused("inconsistentValue", profile.columns[NAME][0], f"group {name} exists")
    for position, match in sorted(matches.items()):
        if match.number(MATCH_STATUS) != CREATE_AND_GO:
            raise refused("inconsistentValue", match.at(MATCH_STATUS), "createAndGo(4) here")
        _change_match(group, match, position, new=True)
    _set_files(group.files, profile, group)
    return name, group


def _change_profile(
    target: BuiltinGroup | CustomGroup, profile: _Row, groups: GroupSettings
) -> None:
    """The name and files of an existing row, as the CLI changes them."""
    name = profile.text(NAME)
    if isinstance(target, BuiltinGroup):
        if name is not None and name.lower() != target.key.label().lower():
            raise refused(
                "inconsistentValue", profile.at(NAME), "a built-in group's name is its product"
            )
        _set_files(target.files, profile, None)
        return
    _set_files(target.files, profile, target)
    if name is not None and name != target.name:
        try:
            name = validate_group_name(name)
        except DomainError as error:
            raise refused("wrongValue", profile.at(NAME), str(error)) from None
        if name in groups.custom:
            raise refused("inconsistentValue", profile.at(NAME), f"group {name} exists")
        old = target.name
        target.name = name  # in place: the group keeps its row and its precedence
        groups.custom = {(name if k == old else k): g for k, g in groups.custom.items()}


def _set_files(files: GroupFiles, profile: _Row, group: CustomGroup | None) -> None:
    """`image`, `config` (an empty value: `no image`, `no config`) and the second image of a
    mixed stack group (`image … family <family>`)."""
    for column, kind in ((IMAGE, "image"), (CONFIG, "config")):
        location = profile.text(column)
        if location is None:
            continue
        try:
            files.set(kind, location or None)
        except DomainError as error:
            raise refused("wrongValue", profile.at(column), str(error)) from None
    second = profile.text(IMAGE_TWO)
    if second is None:
        return
    at = profile.at(IMAGE_TWO)
    current = next(iter(files.family_images), None)
    if not second:
        if current is not None:
            files.set_family_image(current, None)
        return
    if group is None or group.kind is not GroupKind.STACK:
        raise refused("inconsistentValue", at, "a second image is for a custom stack group")
    family = current
    if family is None:
        members = {line.key.family for line in group.stack}
        fits = sorted((image_families(second) or frozenset()) & members)
        if len(fits) != 1:
            raise refused(
                "inconsistentValue", at,
                "the image's name tells no one product family of the group's members: "
                "use `image <location> family <family>`",
            )  # fmt: skip
        family = fits[0]
    try:
        files.set_family_image(family, second)
    except (DomainError, CatalogError) as error:
        raise refused("wrongValue", at, str(error)) from None


def _criteria(group: CustomGroup) -> list[Any]:
    """The group's matches in csiMatchTable order (one list per group: its kind's)."""
    lists: dict[GroupKind, list[Any]] = {
        GroupKind.MAC: group.macs,
        GroupKind.CONNECTIVITY: group.hosts,
        GroupKind.PRODUCT_ID: group.product_ids,
        GroupKind.STACK: group.stack,
    }
    return lists[group.kind]


def _change_match(group: CustomGroup, match: _Row, position: int, new: bool) -> None:
    status = match.number(MATCH_STATUS)
    at = match.at(MATCH_STATUS)
    criteria = _criteria(group)
    exists = 1 <= position <= len(criteria)
    kind = match.number(2)
    if kind is not None and KINDS.get(kind) is not group.kind:
        raise refused("inconsistentValue", match.at(2), f"a {group.kind.value} group")
    if status == DESTROY:
        if not exists:
            raise refused("noCreation", at, "no such match row")
        del criteria[position - 1]
        return
    if status == CREATE_AND_GO:
        if exists and not new:
            raise refused("inconsistentValue", at, "the match row exists")
        words = _match_words(group.kind, match)
        try:
            group.add_match(words)
        except (DomainError, CatalogError) as error:
            raise refused("wrongValue", at, str(error)) from None
        return
    if not exists:
        if status == ACTIVE:
            raise refused("inconsistentValue", at, "no such row: createAndGo(4) makes one")
        raise refused("noCreation", match.first(), "no such match row")
    _replace_match(group, match, position)


def _replace_match(group: CustomGroup, match: _Row, position: int) -> None:
    """The criterion of an existing match row changed in place: its current columns, with
    those of the request over them, make the new `match` line."""
    current = list(match_rows(group))[position - 1]
    merged = _Row({column: (match.first(), value) for column, value in current})
    merged.columns.update(match.columns)
    probe = CustomGroup(group.name, group.kind)
    words = _match_words(group.kind, merged)
    try:
        probe.add_match(words)
    except (DomainError, CatalogError) as error:
        raise refused("wrongValue", match.first(), str(error)) from None
    entry = _criteria(probe)[0]
    criteria = _criteria(group)
    others = criteria[: position - 1] + criteria[position:]
    if entry in others or (
        isinstance(entry, StackMatch) and any(m.member == entry.member for m in others)
    ):
        raise refused("inconsistentValue", match.first(), "the group has this match already")
    criteria[position - 1] = entry
    if group.kind is GroupKind.STACK:
        group.stack.sort(key=lambda m: m.member)


def _match_words(kind: GroupKind, match: _Row) -> list[str]:
    """The words of the group's `match` command from the row's columns."""
    at = match.first()
    try:
        if kind is GroupKind.MAC:
            index, value = match.columns.get(3, (at, None))
            raw = octets(value, index) if value is not None else b""
            if len(raw) != 6:
                raise refused("inconsistentValue", index, "csiMatchMacAddress is needed")
            return [normalize_mac(raw.hex())]
        if kind is GroupKind.CONNECTIVITY:
            index, value = match.columns.get(5, (at, None))
            raw = octets(value, index) if value is not None else b""
            interface = match.text(6)
            if len(raw) != 4 or not interface:
                raise refused("inconsistentValue", index, "csiMatchHostAddress and Interface")
            return ["host", str(ipaddress.IPv4Address(raw)), "interface", interface]
        if kind is GroupKind.PRODUCT_ID:
            pid = match.text(7)
            if not pid:
                raise refused("inconsistentValue", at, "csiMatchProductId is needed")
            return [pid]
        member = match.number(8)
        family = (match.text(9) or "").split()
        if member is None or len(family) != 2:
            raise refused("inconsistentValue", at, "csiMatchSwitchNum and SwitchProductId")
        return [str(member), *family]
    except (DomainError, CatalogError) as error:
        raise refused("wrongValue", at, str(error)) from None


__all__ = ["apply_group_sets", "group_oid"]
