"""The device list of a branch, read from a topology file (YAML).

The same file describes a lab later; ``explain`` reads only what decisions need::

    director:
      address: 127.20.0.1          # the director's IP (upstream host for its direct clients)
      hostname: Director
      config: startup-config       # the director configuration, relative to this file
      timezone: UTC                # join-window times are wall-clock times in this zone
    switches:
      - name: checkout-1
        pid: WS-C2960X-48FPS-L
        mac: 0050.5601.0001        # optional: generated from the name when missing
        address: 127.20.1.1        # optional
        upstream: {device: director, interface: GigabitEthernet1/0/1}
      - name: backroom-stack
        stack:
          - {member: 1, pid: WS-C3750-24PS-S, mac: 0050.5602.0001}
        upstream: {device: checkout-1, interface: GigabitEthernet1/0/48}
      - name: old-switch
        pid: WS-C2960-24TT-L
        legacy: true               # not Smart Install capable

A switch (or stack member) without a ``mac`` gets one generated from its name: locally
administered (``02`` first octet), the same on every run, so a file can describe a fleet without
inventing addresses; a custom MAC group needs the MACs written out.

Every problem is reported as one line naming the switch and the field.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from smartinstall.domain.devices import StackMember, validate_ipv4, validate_pid
from smartinstall.domain.errors import DomainError
from smartinstall.domain.interfaces import canonical_interface
from smartinstall.domain.values import normalize_mac, validate_hostname

MAX_SWITCHES = 10_000
MAX_FILE_BYTES = 4 * 1024 * 1024


class InventoryError(ValueError):
    """A topology file that cannot be used; the message is one line."""


@dataclass(frozen=True)
class InventorySwitch:
    name: str
    mac: str
    pid: str
    members: tuple[StackMember, ...] = ()
    address: str = ""
    upstream_device: str = ""
    upstream_interface: str = ""
    legacy: bool = False
    hops: int = 1


@dataclass(frozen=True)
class Inventory:
    director_address: str
    director_hostname: str
    config_path: Path | None
    timezone: str
    switches: tuple[InventorySwitch, ...]

    def upstream_ip(self, switch: InventorySwitch) -> str:
        """The IP of the switch's upstream neighbour: the director's, or the upstream switch's."""
        if switch.upstream_device in ("", "director"):
            return self.director_address if switch.upstream_device == "director" else ""
        for other in self.switches:
            if other.name == switch.upstream_device:
                return other.address
        return ""


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InventoryError(f"{where}: expected a mapping")
    return value


def _text(data: dict[str, Any], key: str, where: str, required: bool = False) -> str:
    value = data.get(key)
    if value is None:
        if required:
            raise InventoryError(f"{where}: missing '{key}'")
        return ""
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise InventoryError(f"{where}: '{key}' must be text")
    return str(value)


def load_inventory(path: Path) -> Inventory:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise InventoryError(f"{path}: {error.strerror or error}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise InventoryError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
    return parse_inventory(raw.decode("utf-8", errors="replace"), base=path.parent)


def parse_inventory(text: str, base: Path | None = None) -> Inventory:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "topology"
        raise InventoryError(f"{where}: not valid YAML") from None
    root = _mapping(data, "topology")
    director = _mapping(root.get("director", {}), "director")
    try:
        address = validate_ipv4(_text(director, "address", "director", required=True))
        hostname = validate_hostname(_text(director, "hostname", "director") or "Director")
    except DomainError as error:
        raise InventoryError(f"director: {error}") from None
    config = _text(director, "config", "director")
    config_path = (base or Path(".")) / config if config else None
    timezone = _text(director, "timezone", "director") or "UTC"
    items = root.get("switches", [])
    if not isinstance(items, list):
        raise InventoryError("switches: expected a list")
    if len(items) > MAX_SWITCHES:
        raise InventoryError(f"switches: more than {MAX_SWITCHES}")
    switches = [_switch(item, index) for index, item in enumerate(items, start=1)]
    names = Counter(s.name for s in switches)
    for name, count in names.items():
        if count > 1:
            raise InventoryError(f"switch {name}: name used twice")
    macs = Counter(m for s in switches for m in {s.mac, *(member.mac for member in s.members)})
    for switch in switches:
        for mac in (switch.mac, *(member.mac for member in switch.members)):
            if macs[mac] > 1:
                raise InventoryError(f"switch {switch.name}: MAC {mac} used twice")
    inventory = Inventory(address, hostname, config_path, timezone, tuple(switches))
    return _with_hops(inventory)


def generated_mac(*names: str) -> str:
    """A locally administered unicast MAC derived from a switch's name (and member number):
    stable across runs, ``0200.0000.0000`` to ``02ff.ffff.ffff``."""
    digest = hashlib.sha256("/".join(names).encode()).digest()
    return normalize_mac(bytes([0x02, *digest[:5]]).hex())


def _member(data: dict[str, Any], name: str, where: str) -> StackMember:
    number = _text(data, "member", where, required=True)
    mac = _text(data, "mac", where)
    return StackMember(
        int(number),
        _text(data, "pid", where, required=True),
        normalize_mac(mac) if mac else generated_mac(name, number),
    )


def _switch(item: Any, index: int) -> InventorySwitch:
    data = _mapping(item, f"switch #{index}")
    name = _text(data, "name", f"switch #{index}") or f"switch-{index}"
    where = f"switch {name}"
    try:
        members: tuple[StackMember, ...] = ()
        stack = data.get("stack")
        if stack is not None:
            if not isinstance(stack, list) or not stack:
                raise InventoryError(f"{where}: 'stack' must be a list of members")
            members = tuple(_member(_mapping(m, where), name, where) for m in stack)
        pid = _text(data, "pid", where)
        mac = _text(data, "mac", where)
        if members:
            pid = pid or members[0].pid
            mac = mac or members[0].mac
        mac = normalize_mac(mac) if mac else generated_mac(name)
        pid = validate_pid(pid) if pid else ""
        address = _text(data, "address", where)
        if address:
            address = validate_ipv4(address)
        upstream = data.get("upstream") or {}
        up = _mapping(upstream, f"{where} upstream")
        device = _text(up, "device", where)
        interface = _text(up, "interface", where)
        if interface:
            interface = canonical_interface(interface)
        legacy = bool(data.get("legacy", False))
    except DomainError as error:
        raise InventoryError(f"{where}: {error}") from None
    except ValueError as error:
        raise InventoryError(f"{where}: {error}") from None
    return InventorySwitch(name, mac, pid, members, address, device, interface, legacy)


def _with_hops(inventory: Inventory) -> Inventory:
    by_name = {s.name: s for s in inventory.switches}
    result = []
    for switch in inventory.switches:
        hops, current, seen = 1, switch, {switch.name}
        while current.upstream_device not in ("", "director"):
            parent = by_name.get(current.upstream_device)
            if parent is None:
                raise InventoryError(
                    f"switch {current.name}: upstream device {current.upstream_device} "
                    "is not in the topology"
                )
            if parent.name in seen:
                raise InventoryError(f"switch {switch.name}: upstream loop through {parent.name}")
            seen.add(parent.name)
            hops += 1
            current = parent
        if hops > 7:
            raise InventoryError(f"switch {switch.name}: {hops} hops (at most 7)")
        result.append(
            InventorySwitch(
                switch.name,
                switch.mac,
                switch.pid,
                switch.members,
                switch.address,
                switch.upstream_device,
                switch.upstream_interface,
                switch.legacy,
                hops,
            )
        )
    return Inventory(
        inventory.director_address,
        inventory.director_hostname,
        inventory.config_path,
        inventory.timezone,
        tuple(result),
    )
