"""The explanation ``smartinstall explain`` prints: one block per device, plain text."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from smartinstall.domain.devices import JoinState
from smartinstall.domain.groups import (
    Assignment,
    ClientFacts,
    GroupSettings,
    default_families,
    families_label,
    resolve,
)
from smartinstall.domain.interfaces import short_interface
from smartinstall.domain.joinwindow import is_open, joining_state, next_change
from smartinstall.domain.platforms import image_name
from smartinstall.domain.settings import DirectorSettings, Role
from smartinstall.domain.values import prefixed_hostname
from smartinstall.explain.inventory import Inventory, InventorySwitch


@dataclass(frozen=True)
class DeviceExplanation:
    switch: InventorySwitch
    assignment: Assignment
    join_state: JoinState
    hostname: str
    upstream_ip: str


def explain_devices(
    settings: DirectorSettings, inventory: Inventory, at: dt.datetime, tz: dt.tzinfo
) -> list[DeviceExplanation]:
    result = []
    state = joining_state(settings.join_window, at, tz)
    for switch in inventory.switches:
        upstream_ip = inventory.upstream_ip(switch)
        facts = ClientFacts(
            mac=switch.mac,
            pid=switch.pid,
            upstream_ip=upstream_ip,
            upstream_interface=switch.upstream_interface,
            members=switch.members,
        )
        assignment = resolve(settings.groups, facts)
        hostname = (
            prefixed_hostname(settings.hostname_prefix, switch.mac)
            if settings.hostname_prefix
            else switch.name
        )
        result.append(DeviceExplanation(switch, assignment, state, hostname, upstream_ip))
    return result


def group_label(assignment: Assignment) -> str:
    """The group a client matched as explain names it: ``default (default)``, ``backroom
    (stack)``, or ``none`` when it matched nothing (the lab's table shows the same)."""
    kind = f" ({assignment.kind.value})" if assignment.kind else ""
    return f"{assignment.group or 'none'}{kind}"


def describe_default_product(groups: GroupSettings) -> str:
    """The network's default product ID and where it comes from, in one line."""
    files = groups.default
    families = default_families(groups)
    if files.empty:
        return "none (no default image, configuration or script)"
    if not files.image:
        return (
            "not told (the default has no image): the default configuration goes to every "
            "standalone switch that matches no group"
        )
    if families is None:
        return (
            f"not told (the name of the default image {image_name(files.image)} does not say "
            "its platform): the default goes to every standalone switch that matches no group"
        )
    return (
        f"{families_label(families)} (the platform of the default image {image_name(files.image)})"
    )


def _when(moment: dt.datetime | None, tz: dt.tzinfo) -> str:
    if moment is None:
        return ""
    return moment.astimezone(tz).strftime("%a %d %b %Y %H:%M %Z").strip()


def render_report(
    settings: DirectorSettings,
    inventory: Inventory,
    at: dt.datetime,
    tz: dt.tzinfo,
    owns_address: Callable[[str], bool],
    config_errors: list[tuple[int, str, str]] | None = None,
) -> str:
    out: list[str] = []
    role = settings.role(owns_address)
    out.append(
        f"Director {settings.hostname}: {role.value}, director IP {settings.director_ip or 'none'}"
    )
    if not settings.enabled:
        out.append("  Smart Install is disabled (no vstack): nothing is offered to any client")
    elif role is not Role.DIRECTOR:
        out.append("  not the director (vstack basic missing or the host does not own the IP)")
    for number, line, message in config_errors or []:
        out.append(f"  configuration line {number} rejected: {line}  ->  {message}")
    window_open = is_open(settings.join_window, at, tz)
    change = next_change(settings.join_window, at, tz)
    mode = "auto" if settings.join_window.auto else "manual (hold)"
    window = "open" if window_open else "closed"
    if settings.join_window.schedule is None and not settings.join_window.closed:
        window += " (no join window configured)"
    line = f"Join window at {_when(at, tz)}: {window}, mode {mode}"
    if change is not None:
        line += f"; {'closes' if window_open else 'opens'} {_when(change, tz)}"
    out.append(line)
    out.append(f"Network default product ID: {describe_default_product(settings.groups)}")
    out.append("")
    explanations = explain_devices(settings, inventory, at, tz)
    for item in explanations:
        out.extend(_device_block(settings, item, role))
        out.append("")
    ready = sum(
        1
        for e in explanations
        if e.assignment.ok and e.join_state is JoinState.ALLOWED and role is Role.DIRECTOR
    )
    out.append(f"{len(explanations)} devices: {ready} would be installed now with zero touch")
    return "\n".join(out) + "\n"


def _device_block(settings: DirectorSettings, item: DeviceExplanation, role: Role) -> list[str]:
    switch, a = item.switch, item.assignment
    kind = "stack of " + str(len(switch.members)) if switch.members else "standalone"
    legacy = ", not Smart Install capable (N)" if switch.legacy else ""
    head = f"{switch.name}  {switch.pid or 'unknown PID'}  {switch.mac}  {kind}{legacy}"
    lines = [head]
    upstream = switch.upstream_device or "unknown"
    port = short_interface(switch.upstream_interface) if switch.upstream_interface else "?"
    ip = f" ({item.upstream_ip})" if item.upstream_ip else ""
    lines.append(f"  upstream : {upstream}{ip} port {port}, hop {switch.hops}")
    for member in switch.members:
        lines.append(f"  member {member.number} : {member.pid} {member.mac}")
    lines.append(f"  group    : {group_label(a)}")
    for reason in a.reasons:
        lines.append(f"  why      : {reason}")
    if a.member_images:
        for number, image in a.member_images:
            lines.append(f"  image    : member {number}: {image}")
    else:
        lines.append(f"  image    : {a.image or '-'}")
    config = a.config or "-"
    if switch.legacy and settings.director_ip:
        config += "  (first the tailored configuration: enable password, HTTP, vstack director)"
    lines.append(f"  config   : {config}")
    lines.append(f"  script   : {a.script or '-'}")
    lines.append(f"  hostname : {item.hostname}")
    if not a.ok:
        lines.append(f"  result   : nothing to install: {a.problem} (%SMI-3-{a.mnemonic})")
    elif role is not Role.DIRECTOR:
        lines.append("  result   : not offered: this host is not the director")
    elif item.join_state is JoinState.ALLOWED:
        order = f" after hop {switch.hops - 1} is done" if switch.hops > 1 else ""
        lines.append(f"  result   : would join now (state a) and be installed{order}")
    elif item.join_state is JoinState.HOLD:
        lines.append(
            "  result   : would be put on hold (state h) until vstack on-hold-clients install"
        )
    else:
        lines.append("  result   : denied now (state d): the join window is closed")
    return lines
