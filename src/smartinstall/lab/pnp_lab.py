"""The lab's PnP server, for a director in SMI Proxy mode (guide, chapter 4): the topology's
``pnp_server:`` section, and the server the lab runs from it (:func:`smartinstall.pnp.server.
serve_pnp`, in the lab's process)::

    pnp_server:
      address: 127.22.0.9          # on 127.0.0.0/8, like everything of the lab
      port: 8080                   # the director's `pnp profile` names the same
      directory: pnp-server/       # copied into the server's data directory (configs, plans)
      images:                      # generated there with this size, as lab: images
        images/c2960x-universalk9-tar.152-7.E10.tar: 512KiB
      files:                       # written there
        configs/access-1.cfg: "hostname ACCESS-1\\n"
      plans:                       # plans.yaml (docs/pnp-server.md), inline
        devices: [...]

A switch's row of the lab's table is done once the server has walked its plan to the end (its
UDI's serial number is the switch's).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from smartinstall.domain.devices import Device
from smartinstall.domain.proxy import PROXY_DB_NAME
from smartinstall.explain.inventory import InventoryError
from smartinstall.lab.file_servers import (
    check_lab_address,
    copy_tree,
    served_files,
    write_files,
)

PNP_SERVER_DIR = "pnp-server"


class PnpLabError(InventoryError):
    """The topology's ``pnp_server:`` section is not valid (one line)."""


@dataclass(frozen=True)
class PnpServerSpec:
    address: str
    port: int
    plans: dict[str, Any]
    images: tuple[tuple[str, int], ...] = ()
    files: tuple[tuple[str, str], ...] = ()
    directory: Path | None = None


def parse_pnp_server(
    raw: Any, base: Path, parse_size: Any, inside: Any, taken: set[str]
) -> PnpServerSpec | None:
    """The ``pnp_server:`` section (None when absent). ``parse_size`` and ``inside`` are the
    topology's own checks of sizes and file names."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise PnpLabError("pnp_server: expected a mapping")
    where = "pnp_server"
    address = str(raw.get("address", ""))
    check_lab_address(address, where, taken, PnpLabError)
    port = raw.get("port")
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port < 65536:
        raise PnpLabError(f"{where}: port {port!r} is not a port number")
    plans = raw.get("plans") or {}
    if not isinstance(plans, dict):
        raise PnpLabError(f"{where}: 'plans' must be a mapping (the plans.yaml text)")
    images, files, directory = served_files(raw, where, base, parse_size, inside, PnpLabError)
    return PnpServerSpec(address, port, plans, images, files, directory)


class LabPnpServer:
    """The PnP server of a lab: its data directory under the lab's, started before the
    director and stopped after it."""

    def __init__(self, spec: PnpServerSpec, data_dir: Path, xsd_dir: Path | None = None) -> None:
        self.spec = spec
        self.data_dir = data_dir
        self.xsd_dir = xsd_dir
        self.handle: Any = None

    def prepare(self) -> None:
        """The data directory: the copied directory, the generated images, the files and
        plans.yaml (blocking; before the loop serves anything)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.spec.directory is not None:
            copy_tree(self.spec.directory, self.data_dir)
        write_files(self.data_dir, self.spec.images, self.spec.files)
        (self.data_dir / "plans.yaml").write_text(yaml.safe_dump(self.spec.plans))

    async def start(self) -> None:
        from smartinstall.pnp.server import serve_pnp

        self.handle = await serve_pnp(
            self.spec.address, self.spec.port, self.data_dir, xsd_dir=self.xsd_dir
        )

    async def stop(self) -> None:
        handle, self.handle = self.handle, None
        if handle is not None:
            await handle.stop()

    def plan_done(self, serial: str) -> bool:
        """Has the server walked the plan of the device with this serial number to its end?"""
        if self.handle is None:
            return False
        for udi, progress in self.handle.server.progress.items():
            if udi.endswith(f",SN:{serial}") and progress.done:
                return True
        return False

    def remove(self) -> None:
        shutil.rmtree(self.data_dir, ignore_errors=True)


def show_proxy_db(data_dir: Path, devices: Sequence[Device]) -> str:
    """``show vstack proxy-db`` as the director shows it, from its database file on flash and
    its device records (blocking: a file read)."""
    from smartinstall.director.proxy_db import read_database
    from smartinstall.director.views.proxy import ProxyClient, show_vstack_proxy_db

    database = read_database(data_dir / "flash" / PROXY_DB_NAME)
    by_mac = {device.mac: device for device in devices}
    clients = []
    for entry in database.entries.values():
        device = by_mac.get(entry.mac)
        if device is None:
            clients.append(ProxyClient(entry))
        else:
            name = device.hostname or "Switch"
            clients.append(ProxyClient(entry, device.ip, name, device.health.value))
    return show_vstack_proxy_db(clients, enabled=True)


__all__ = [
    "PNP_SERVER_DIR",
    "LabPnpServer",
    "PnpLabError",
    "PnpServerSpec",
    "parse_pnp_server",
    "show_proxy_db",
]
