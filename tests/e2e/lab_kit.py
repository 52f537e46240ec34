"""Build small lab topologies for the end-to-end scenarios: each test gets its own /24 of
127.0.0.0/8, a director configuration, generated images and configuration files."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import yaml

from smartinstall.domain.downloads import DownloadStatus
from smartinstall.lab.runner import Lab
from smartinstall.lab.topology import LabTopology, parse_topology
from smartinstall.store.records import DownloadEntry

PID = "WS-C2960X-48FPS-L"
IMAGE = "c2960x-universalk9-tar.152-7.E9.tar"
IMAGE_SIZE = 96 * 1024
UPGRADED = DownloadStatus.UPGRADED

# Configuration files on the director's flash: each names its group by its hostname, except
# the default one, which leaves the hostname to `vstack hostname-prefix`.
FILES = {
    "default.txt": "vlan 10\n name DEFAULT\n!\ninterface Vlan1\n ip address dhcp\n!\nend\n",
    "post.txt": '"vlan 99" "name POST" "exit"\n',
}


def lab_prefix() -> str:
    return f"127.{random.randint(30, 250)}.{random.randint(1, 250)}"


def director_config(prefix: str, body: str = "", *, default: bool = True) -> str:
    lines = [
        "hostname Director",
        "vstack dhcp-localserver lab",
        f" address-pool {prefix}.0 255.255.255.0",
        f" default-router {prefix}.1",
        f" file-server {prefix}.1",
        "!",
        "ip dhcp remember",
        f"vstack director {prefix}.1",
        "vstack basic",
    ]
    if default:
        lines += [f"vstack image flash:{IMAGE}", "vstack config flash:default.txt"]
    return "\n".join(lines) + "\n" + body


def group_file(name: str) -> str:
    return f"hostname {name.upper()}\n!\ninterface Vlan1\n ip address dhcp\n!\nend\n"


def switch(name: str, host: int, prefix: str, pid: str = PID, **extra: Any) -> dict[str, Any]:
    """A switch entry: address prefix.<host>, MAC 0050.56e0.<host>, upstream the director."""
    entry: dict[str, Any] = {
        "name": name, "pid": pid, "mac": f"0050.56e0.{host:04x}", "address": f"{prefix}.{host}",
        "upstream": {"device": "director", "interface": f"GigabitEthernet1/0/{host % 48 + 1}"},
    }  # fmt: skip
    entry.update(extra)
    return entry


def topology(
    tmp_path: Path,
    prefix: str,
    config: str,
    switches: list[dict[str, Any]],
    *,
    images: dict[str, int] | None = None,
    files: dict[str, str] | None = None,
    **lab: Any,
) -> LabTopology:
    (tmp_path / "startup-config").write_text(config)
    data: dict[str, Any] = {
        "director": {
            "address": f"{prefix}.1",
            "hostname": "Director",
            "config": "startup-config",
            "timezone": "UTC",
        },
        "switches": switches,
        "lab": {
            "images": images or {IMAGE: IMAGE_SIZE},
            "files": {**FILES, **(files or {})},
            "clock": "10:00",
            "keepalive": 2,
            **lab,
        },
    }
    return parse_topology(yaml.safe_dump(data, sort_keys=False), base=tmp_path)


def make_lab(tmp_path: Path, topo: LabTopology) -> Lab:
    return Lab(topo, tmp_path / "lab", dhcp_retry=0.5)


def entry(lab: Lab, name: str) -> DownloadEntry | None:
    return lab.latest_download(lab.switch(name).mac)


def status_line(lab: Lab, name: str) -> str:
    """The row of ``show vstack status`` for that switch (its first row for a stack)."""
    mac = lab.switch(name).mac
    for line in lab.show_status().splitlines():
        if mac in line:
            return line
    raise AssertionError(f"{name} ({mac}) not in show vstack status:\n{lab.show_status()}")


def download_line(lab: Lab, name: str) -> str:
    mac = lab.switch(name).mac
    for line in lab.show_download_status().splitlines():
        if mac in line:
            return line
    raise AssertionError(
        f"{name} not in show vstack download-status:\n{lab.show_download_status()}"
    )


async def until_upgraded(lab: Lab, timeout: float = 40.0) -> None:
    ok = await lab.wait_until(lab.all_upgraded, timeout)
    if not ok:
        from smartinstall.lab.runner import render_table

        raise AssertionError(
            render_table(lab.rows(), 0)
            + lab.show_status()
            + lab.show_download_status()
            + lab.director.log()[-3000:]
        )
