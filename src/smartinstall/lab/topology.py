"""A lab topology: the branch file that ``smartinstall explain`` reads, plus what a lab needs.

The director and switch entries are those of :mod:`smartinstall.explain.inventory` (explain keeps
reading the same file); the lab adds optional keys that explain ignores::

    lab:
      flash: flash/                 # files copied onto the director's flash: (configs, scripts)
      images:                       # images generated on flash: with this size (bytes, or
        c2960x-universalk9-tar.152-7.E9.tar: 2MiB      # "512KiB"/"2MiB"), so no Cisco image
      clock: "10:00"                # the director's wall clock reads this hour (join window)
      keepalive: 5                  # seconds between switch keepalives
      timeout: 110                  # default for `smartinstall lab --timeout`
      auth_key: s3cret              # key the switches seal SMI messages with (authenticated mode)
    switches:
      - name: checkout-1
        ...
        faults:                     # optional, per switch
          reboot_after_bytes: 100000
          never_return: true
          tftp_delay: 0.5
          tftp_loss: 0.05
          auth_key: wrong           # or "" for none
        version_id: V02             # optional: the VID its show version prints (default V01)

A switch without an ``address`` gets the next free one of the director's DHCP pool (a switch
without a ``mac`` gets a generated one, see :mod:`smartinstall.explain.inventory`).

A switch whose upstream is another switch is reported by that switch as a CDP neighbour on the
upstream interface (a legacy one with ``legacy`` in its platform text), and its DHCP requests
carry option 82 (circuit id = that interface, remote id = the upstream MAC), as a relay would.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from dataclasses import dataclass, field
from dataclasses import replace as dc_replace
from pathlib import Path
from typing import Any

import yaml

from smartinstall.explain.inventory import (
    Inventory,
    InventoryError,
    InventorySwitch,
    parse_inventory,
)
from smartinstall.ios.director_commands import replay_director_config
from smartinstall.lab.file_servers import FileServerSpec, check_lab_address, served_files
from smartinstall.lab.pnp_lab import PnpServerSpec, parse_pnp_server

MAX_IMAGE_BYTES = 1 << 30
_VERSION_ID = re.compile(r"[A-Za-z0-9]{1,8}")
_SIZE = re.compile(r"^\s*(\d+)\s*(KiB|MiB|K|M|)\s*$", re.IGNORECASE)


class TopologyError(InventoryError):
    """A topology the lab cannot run; the message is one line."""


@dataclass(frozen=True)
class SwitchFaults:
    reboot_after_bytes: int | None = None
    never_return: bool = False
    tftp_delay: float = 0.0
    tftp_loss: float = 0.0
    auth_key: str | None = None  # None: the lab's key


@dataclass(frozen=True)
class LabSwitch:
    spec: InventorySwitch
    faults: SwitchFaults = field(default_factory=SwitchFaults)
    version_id: str = "V01"  # the "Version ID" its show version prints (the VID of its UDI)

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class LabTopology:
    inventory: Inventory
    switches: tuple[LabSwitch, ...]
    director_config: str
    flash_dir: Path | None = None
    images: tuple[tuple[str, int], ...] = ()
    files: tuple[tuple[str, str], ...] = ()  # (name, text) written on flash:
    clock: str | None = None  # "HH:MM" pinned wall-clock hour of the director
    keepalive: float = 5.0
    timeout: float = 300.0
    auth_key: str | None = None
    tftp_port: int | None = None  # the one TFTP port of the lab's servers (None: picked free)
    snmp_port: int | None = None  # the director's SNMP agent (None: picked free)
    file_servers: tuple[FileServerSpec, ...] = ()  # third-party TFTP servers
    pnp_server: PnpServerSpec | None = None  # SMI Proxy mode: the PnP server (lab/pnp_lab.py)

    def switch(self, name: str) -> LabSwitch:
        for item in self.switches:
            if item.name == name:
                return item
        raise KeyError(name)

    def by_name(self) -> dict[str, InventorySwitch]:
        return {s.name: s.spec for s in self.switches}


def parse_size(value: object, where: str) -> int:
    if isinstance(value, bool):
        raise TopologyError(f"{where}: size must be a number of bytes")
    if isinstance(value, int):
        size = value
    else:
        match = _SIZE.match(str(value))
        if not match:
            raise TopologyError(f"{where}: size {value!r} is not bytes, KiB or MiB")
        unit = match[2].lower()
        size = int(match[1]) * {"": 1, "k": 1024, "kib": 1024, "m": 1 << 20, "mib": 1 << 20}[unit]
    if not 0 <= size <= MAX_IMAGE_BYTES:
        raise TopologyError(f"{where}: size out of range (0 to 1 GiB)")
    return size


def _number(data: dict[str, Any], key: str, where: str, default: float) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise TopologyError(f"{where}: '{key}' must be a non-negative number")
    return float(value)


def _faults(data: Any, where: str) -> SwitchFaults:
    if data is None:
        return SwitchFaults()
    if not isinstance(data, dict):
        raise TopologyError(f"{where}: 'faults' must be a mapping")
    reboot = data.get("reboot_after_bytes")
    if reboot is not None:
        reboot = parse_size(reboot, where)
    key = data.get("auth_key")
    loss = _number(data, "tftp_loss", where, 0.0)
    if loss >= 1:
        raise TopologyError(f"{where}: 'tftp_loss' must be below 1")
    return SwitchFaults(
        reboot_after_bytes=reboot,
        never_return=bool(data.get("never_return", False)),
        tftp_delay=_number(data, "tftp_delay", where, 0.0),
        tftp_loss=loss,
        auth_key=None if key is None else str(key),
    )


def _version_id(data: dict[str, Any], where: str) -> str:
    """A switch's ``version_id`` (default V01): letters and digits, as a Catalyst's VID."""
    value = data.get("version_id", "V01")
    if not isinstance(value, str) or not _VERSION_ID.fullmatch(value):
        raise TopologyError(f"{where}: 'version_id' must be letters and digits (e.g. V02)")
    return value


def parse_topology(text: str, base: Path | None = None) -> LabTopology:
    inventory = parse_inventory(text, base)
    root = yaml.safe_load(text)
    lab = root.get("lab") or {}
    if not isinstance(lab, dict):
        raise TopologyError("lab: expected a mapping")
    if inventory.config_path is None:
        raise TopologyError("director: missing 'config' (the director's startup-config)")
    try:
        director_config = inventory.config_path.read_text()
    except OSError as error:
        raise TopologyError(
            f"director: config {inventory.config_path}: {error.strerror or error}"
        ) from None
    raw_switches = {
        str(item.get("name", "")): item
        for item in root.get("switches") or []
        if isinstance(item, dict)
    }
    switches = tuple(
        LabSwitch(
            spec,
            _faults(raw_switches.get(spec.name, {}).get("faults"), f"switch {spec.name}"),
            _version_id(raw_switches.get(spec.name, {}), f"switch {spec.name}"),
        )
        for spec in inventory.switches
    )
    if any(not item.spec.address for item in switches):
        inventory = _with_addresses(inventory, director_config)
        specs = {spec.name: spec for spec in inventory.switches}
        switches = tuple(dc_replace(item, spec=specs[item.name]) for item in switches)
    addresses = [s.spec.address for s in switches]
    for address in addresses:
        if addresses.count(address) > 1:
            raise TopologyError(f"address {address} used twice")
        if not address.startswith("127."):
            raise TopologyError(f"address {address}: the lab runs on 127.0.0.0/8 only")
    if not inventory.director_address.startswith("127."):
        raise TopologyError("director: the lab runs on 127.0.0.0/8 only")
    flash = lab.get("flash")
    flash_dir = (base or Path(".")) / str(flash) if flash else None
    images_raw = lab.get("images") or {}
    if not isinstance(images_raw, dict):
        raise TopologyError("lab: 'images' must map file names to sizes")
    images = tuple((str(k), parse_size(v, f"lab: image {k}")) for k, v in images_raw.items())
    files_raw = lab.get("files") or {}
    if not isinstance(files_raw, dict):
        raise TopologyError("lab: 'files' must map file names to their text")
    files = tuple((str(k), str(v)) for k, v in files_raw.items())
    for name, _ in (*images, *files):
        _inside(name, "lab", "flash:")
    taken = {inventory.director_address, *addresses}
    file_servers = _file_servers(lab.get("file_servers"), taken, base or Path("."))
    pnp_server = parse_pnp_server(
        root.get("pnp_server"), base or Path("."), parse_size, _inside, taken
    )
    tftp_port = lab.get("tftp_port")
    if tftp_port is not None and (
        not isinstance(tftp_port, int) or isinstance(tftp_port, bool) or not 1 <= tftp_port < 65536
    ):
        raise TopologyError(f"lab: tftp_port {tftp_port!r} is not a port number")
    snmp_port = lab.get("snmp_port")
    if snmp_port is not None and (
        not isinstance(snmp_port, int) or isinstance(snmp_port, bool) or not 1 <= snmp_port < 65536
    ):
        raise TopologyError(f"lab: snmp_port {snmp_port!r} is not a port number")
    if file_servers and tftp_port is None:
        # options 67/150 carry no port: the switches reach every server on the one port
        raise TopologyError("lab: file_servers need a tftp_port (the one port of every server)")
    clock = lab.get("clock")
    if clock is not None:
        clock = str(clock)
        if not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", clock):
            raise TopologyError(f"lab: clock {clock!r} is not HH:MM")
    key = lab.get("auth_key")
    return LabTopology(
        inventory=inventory,
        switches=switches,
        director_config=director_config,
        flash_dir=flash_dir,
        images=images,
        files=files,
        clock=clock,
        keepalive=_number(lab, "keepalive", "lab", 5.0) or 5.0,
        timeout=_number(lab, "timeout", "lab", 300.0) or 300.0,
        auth_key=None if key is None else str(key),
        tftp_port=tftp_port,
        snmp_port=snmp_port,
        file_servers=file_servers,
        pnp_server=pnp_server,
    )


def _inside(name: str, where: str, root: str) -> None:
    if not name or name.startswith("/") or ".." in Path(name).parts:
        raise TopologyError(f"{where}: {name}: a file name inside {root}")


def _file_servers(raw: Any, taken: set[str], base: Path) -> tuple[FileServerSpec, ...]:
    """``lab: file_servers``: a list of {address, directory (copied there, relative to the
    topology), images: {name: size} (generated there), files: {name: text}}."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise TopologyError("lab: 'file_servers' must be a list")
    servers = []
    for item in raw:
        if not isinstance(item, dict) or not item.get("address"):
            raise TopologyError("lab: each file server needs an 'address'")
        address = str(item["address"])
        where = f"lab: file server {address}"
        check_lab_address(address, where, taken, TopologyError)
        taken.add(address)
        images, files, directory = served_files(
            item, where, base, parse_size, _inside, TopologyError
        )
        servers.append(FileServerSpec(address, images, files, directory))
    return tuple(servers)


def _with_addresses(inventory: Inventory, director_config: str) -> Inventory:
    """Give every switch without an ``address`` the next free address of the director's DHCP
    pool (the pool holding the director's address, else the first with an address-pool): the
    director's own address, default routers, file servers and the addresses the file names are
    never given out."""
    settings = replay_director_config(director_config, lambda address: True).settings
    director = ipaddress.IPv4Address(inventory.director_address)
    pools = [p for p in settings.dhcp_pools.values() if p.network is not None]
    pool = next((p for p in pools if p.network and director in p.network), None)
    pool = pool or (pools[0] if pools else None)
    first = next(s for s in inventory.switches if not s.address)
    if pool is None or pool.network is None:
        raise TopologyError(
            f"switch {first.name}: no 'address', and the director's configuration has no "
            "vstack dhcp-localserver address-pool to take one from"
        )
    taken = {inventory.director_address, *(s.address for s in inventory.switches if s.address)}
    taken |= {a for p in pools for a in (p.default_router, p.file_server) if a}
    free = (str(host) for host in pool.network.hosts() if str(host) not in taken)
    switches = []
    for spec in inventory.switches:
        if not spec.address:
            address = next(free, None)
            if address is None:
                raise TopologyError(
                    f"switch {spec.name}: no free address left in pool {pool.network}"
                )
            spec = dc_replace(spec, address=address)
        switches.append(spec)
    return dc_replace(inventory, switches=tuple(switches))


def load_topology(path: Path) -> LabTopology:
    try:
        text = path.read_text(errors="replace")
    except OSError as error:
        raise TopologyError(f"{path}: {error.strerror or error}") from None
    return parse_topology(text, base=path.parent)


def pinned_zone(clock: str, now: dt.datetime | None = None) -> str:
    """A fixed-offset IANA zone (``Etc/GMT-5`` is UTC+5) in which the wall clock now reads the
    hour of ``clock`` (minutes run as they are): the lab's way to pin the director's clock so a
    join window is open (or closed) whatever the hour the lab runs at."""
    hour = int(clock.split(":")[0])
    utc = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    offset = (hour - utc.hour) % 24
    if offset > 14:
        offset -= 24
    if offset == 0:
        return "Etc/UTC"
    return f"Etc/GMT-{offset}" if offset > 0 else f"Etc/GMT+{-offset}"
