"""Emulated switches (real sockets on loopback) against a real director process."""

from __future__ import annotations

import os
from pathlib import Path

from smartinstall.switch.flash import Flash
from smartinstall.switch.link import Impairment
from smartinstall.switch.machine import Faults, Member, Switch, SwitchConfig
from smartinstall.switch.netio import NetConfig, NetIo
from smartinstall.wire import smi_client
from tests.integration.director_harness import DirectorProcess

IMAGE = "c2960x-universalk9-tar.152-7.E9.tar"
PID = "WS-C2960X-48FPS-L"


def director_config(prefix: str, extra: str = "", script: bool = True) -> str:
    return f"""hostname Director
vstack dhcp-localserver lab
 address-pool {prefix}.0 255.255.255.0
 default-router {prefix}.1
 file-server {prefix}.1
ip dhcp remember
vstack director {prefix}.1
vstack basic
vstack image flash:{IMAGE}
vstack config flash:seed.txt
{"vstack script flash:post.txt" if script else ""}
vstack hostname-prefix STORE
{extra}"""


def make_director(
    base: Path, prefix: str, config: str, keepalive: float = 1.0, image_size: int = 200_000
) -> DirectorProcess:
    process = DirectorProcess(base / "director", prefix, config, keepalive=keepalive)
    (process.flash / IMAGE).write_bytes(os.urandom(image_size))
    seed = "hostname seed\n!\ninterface Vlan1\n ip address dhcp\n!\nend\n"
    (process.flash / "seed.txt").write_text(seed)
    (process.flash / "post.txt").write_text('"vlan 12" "name TEST" "exit"\n')
    return process


def make_switch(
    director: DirectorProcess,
    base: Path,
    host: int,
    pid: str = PID,
    *,
    members: tuple[Member, ...] = (),
    legacy: bool = False,
    neighbors: tuple[smi_client.Neighbor, ...] = (),
    faults: Faults | None = None,
    keepalive: float = 0.5,
    smi_key: str | None = None,
    http_port: int = 80,
    tftp_link: Impairment | None = None,
    tftp_windowsize: int | None = None,
) -> Switch:
    """Switch number ``host`` of the lab: address prefix.<host>, MAC 0050.56aa.00<host>."""
    mac = f"0050.56aa.{host:04x}"
    config = SwitchConfig(
        pid=pid, mac=mac, address=f"{director.prefix}.{host}", members=members, legacy=legacy,
        neighbors=neighbors, director_port=director.ports["smi"],
        tftp_port=director.ports["tftp"], keepalive=keepalive, dhcp_retry=0.5,
        faults=faults or Faults(),
    )  # fmt: skip
    net = NetConfig(
        dhcp_server=(director.address, director.ports["dhcp"]),
        relay_port=director.ports["relay"], smi_port=director.ports["client_smi"],
        smi_key=smi_key, http_port=http_port, tftp_timeout=0.5,
        tftp_link=tftp_link or Impairment(), tftp_windowsize=tftp_windowsize,
    )  # fmt: skip
    return Switch(config, Flash(base / f"flash-{host}"), NetIo(net))
