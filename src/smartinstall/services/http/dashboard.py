"""The web dashboard: the device table at ``/`` (kept current by the events stream), a page per
device (``/devices/{key}``: neighbours, stack members, upgrade history, backups with a diff, a
button for an on-demand image upgrade), the topology (``/topology``: the hop tree, director →
clients by upstream neighbour), and the join window and groups (``/settings``). Rendered on
the server (Jinja2) with a few lines of JavaScript; no build step, no CDN."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATES = Path(__file__).with_name("templates")

_environment = Environment(
    loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"])
)


@dataclass
class TreeNode:
    device: dict[str, Any]
    children: list[TreeNode] = field(default_factory=list)


def hop_tree(devices: list[dict[str, Any]]) -> list[TreeNode]:
    """Each client under the entry whose MAC is its upstream neighbour's; roots are the
    director and clients whose upstream is not in the table. A cycle in reported neighbours
    cannot hide a client: every entry appears exactly once."""
    nodes = {d["mac"]: TreeNode(d) for d in devices}
    roots: list[TreeNode] = []
    placed: set[str] = set()

    def ancestors_include(mac: str, candidate: str) -> bool:
        seen = set()
        while candidate and candidate not in seen:
            if candidate == mac:
                return True
            seen.add(candidate)
            parent = nodes.get(candidate)
            candidate = parent.device["upstream"]["mac"] if parent else ""
        return False

    ordered = sorted(devices, key=lambda d: (not d["is_director"], d["hop"] or 0, d["number"]))
    for device in ordered:
        mac = device["mac"]
        upstream = device["upstream"]["mac"]
        parent = nodes.get(upstream) if upstream and upstream != mac else None
        if parent is None or device["is_director"] or ancestors_include(mac, upstream):
            roots.append(nodes[mac])
        else:
            parent.children.append(nodes[mac])
        placed.add(mac)
    director = [r for r in roots if r.device["is_director"]]
    if director:  # clients with no known upstream hang under the director
        others = [r for r in roots if not r.device["is_director"]]
        director[0].children.extend(others)
        roots = director
    return roots


def _render(name: str, **values: Any) -> str:
    return _environment.get_template(name).render(**values)


def render_dashboard(hostname: str, devices: list[dict[str, Any]], user: str) -> str:
    return _render("dashboard.html", hostname=hostname, devices=devices, user=user)


def render_device(hostname: str, device: dict[str, Any], user: str, diff: str | None = None) -> str:
    values: dict[str, Any] = {"hostname": hostname, "d": device, "user": user}
    if diff is not None:
        values["diff"] = diff
    return _render("device.html", **values)


def render_topology(hostname: str, devices: list[dict[str, Any]], user: str) -> str:
    return _render("topology.html", hostname=hostname, roots=hop_tree(devices), user=user)


def render_settings(
    hostname: str, join_window: dict[str, Any], groups: dict[str, Any], user: str
) -> str:
    return _render("settings.html", hostname=hostname, window=join_window, groups=groups, user=user)


__all__ = [
    "TreeNode",
    "hop_tree",
    "render_dashboard",
    "render_device",
    "render_settings",
    "render_topology",
]
