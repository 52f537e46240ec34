"""The `smartinstall explain` report on a mixed network: the default only for the network's
default product ID, no default for a stack, a connectivity group on the director's own port.

Guide: "Adding a Client Switch to the Network" (the Smart Install network default PID), "Using
Built-In Groups to Configure a Mixed Network with Two Switch Types" ("if they match the default
product ID"), "Download Management for Non-Smart Install Clients" ("Stackable switches must have
the correct configuration present because they do not have a default image and
configuration"), the command reference of ``vstack group custom`` (a connectivity match takes
precedence over one matched by product ID) and ``%SMI-3-IMG_CFG_NOT_CONFIGURED``.
"""

from __future__ import annotations

import datetime as dt

from smartinstall.explain.inventory import parse_inventory
from smartinstall.explain.report import render_report
from smartinstall.ios.director_commands import replay_director_config

CONFIG = """hostname Director
vstack director 127.20.0.1
vstack basic
vstack image flash:c2960x-universalk9-tar.152-7.E9.tar
vstack config flash:seed.txt
vstack group custom byport connectivity
 match host 127.20.0.1 interface GigabitEthernet1/0/9
 config flash:byport.txt
vstack group custom bypid product-id
 match WS-C2960X-24PS-L
 config flash:bypid.txt
"""

TOPOLOGY = """director: {address: 127.20.0.1}
switches:
  - {name: till, pid: WS-C2960X-48FPS-L, mac: 0050.5601.0001,
     upstream: {device: director, interface: Gi1/0/1}}
  - {name: core3850, pid: WS-C3850-24P-L, mac: 0050.5601.0002,
     upstream: {device: director, interface: Gi1/0/2}}
  - {name: office3560, pid: WS-C3560-24TS-S, mac: 0050.5601.0003,
     upstream: {device: director, interface: Gi1/0/3}}
  - name: stack3750
    upstream: {device: director, interface: Gi1/0/4}
    stack:
      - {member: 1, pid: WS-C3750-24PS-S, mac: 0050.5603.0001}
      - {member: 2, pid: WS-C3750-24PS-S, mac: 0050.5603.0002}
  - {name: porter, pid: WS-C2960X-24PS-L, mac: 0050.5601.0009,
     upstream: {device: director, interface: GigabitEthernet1/0/9}}
"""


def report() -> dict[str, str]:
    settings = replay_director_config(CONFIG, lambda _ip: True, "startup-config").settings
    inventory = parse_inventory(TOPOLOGY)
    at = dt.datetime(2026, 11, 27, 10, 0, tzinfo=dt.UTC)
    text = render_report(settings, inventory, at, dt.UTC, lambda _ip: True)
    blocks = {block.split()[0]: block for block in text.split("\n\n") if block.strip()}
    blocks["head"] = text.split("\n\n")[0]
    blocks["tail"] = text.strip().splitlines()[-1]
    return blocks


def test_the_network_default_product_id_is_shown() -> None:
    assert (
        "Network default product ID: 2960x/2960xr (the platform of the default image "
        "c2960x-universalk9-tar.152-7.E9.tar)" in report()["head"]
    )


def test_default_product_gets_the_default() -> None:
    till = report()["till"]
    assert "group    : default (default)" in till
    assert "image    : flash:c2960x-universalk9-tar.152-7.E9.tar" in till


def test_other_products_get_nothing_and_why() -> None:
    blocks = report()
    for name, pid in (("core3850", "WS-C3850-24P-L"), ("office3560", "WS-C3560-24TS-S")):
        block = blocks[name]
        assert "group    : none" in block
        assert "image    : -" in block
        assert f"{pid} (family {pid[4:8]}) is not the network's default product ID" in block
        assert "result   : nothing to install" in block
        assert "(%SMI-3-IMG_CFG_NOT_CONFIGURED)" in block


def test_a_stack_without_a_stack_group_gets_nothing() -> None:
    block = report()["stack3750"]
    assert "group    : none" in block
    assert "a switch stack is upgraded only through a custom stack group" in block
    assert "(%SMI-3-IMG_CFG_NOT_CONFIGURED)" in block


def test_connectivity_on_the_director_port_beats_the_product_id_group() -> None:
    block = report()["porter"]
    assert "group    : byport (connectivity)" in block
    assert "config   : flash:byport.txt" in block
    assert report()["tail"] == "5 devices: 2 would be installed now with zero touch"
