"""The guide's scenarios end to end: a lab (the director process and emulated switches on
loopback) driven to the end and checked through the director's own ``show vstack status`` and
``show vstack download-status`` and its database (guide, chapter 2: "Configuring the Director
for zero-touch installation", "Smart Install groups", "Join window", "multi-hop").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from smartinstall.domain.devices import DeviceType
from tests.e2e.lab_kit import (
    IMAGE,
    UPGRADED,
    director_config,
    download_line,
    entry,
    group_file,
    lab_prefix,
    make_lab,
    status_line,
    switch,
    topology,
    until_upgraded,
)

pytestmark = pytest.mark.timeout(120)


async def test_single_switch_type_default_image_config_script_and_hostname_prefix(
    tmp_path: Path,
) -> None:
    # Guide: "Zero-touch installation of switches of one type" with the default image and
    # configuration, a post-install script and `vstack hostname-prefix`.
    prefix = lab_prefix()
    config = director_config(prefix, "vstack script flash:post.txt\nvstack hostname-prefix SHOP\n")
    switches = [switch(f"sw{n}", 10 + n, prefix) for n in range(3)]
    async with make_lab(tmp_path, topology(tmp_path, prefix, config, switches)) as lab:
        await until_upgraded(lab)
        for n in range(3):
            name = f"sw{n}"
            sw = lab.switch(name)
            assert sw.image == IMAGE and sw.ip == f"{prefix}.{10 + n}"
            assert "vlan 99" in (sw.flash.startup_config() or "")  # the script ran
            row = status_line(lab, name).split()
            mac_tail = sw.mac.replace(".", "")[-6:]
            assert row[4] == f"SHOP-{mac_tail[:2]}.{mac_tail[2:]}", row
            assert row[5:] == ["S", "A", "a", "I", "C", "P"], row
            assert download_line(lab, name).split()[3:] == [
                "zero-touch",
                "UPGRADED",
                "UPGRADED",
                "UPGRADED",
            ]


async def test_mixed_types_in_built_in_groups(tmp_path: Path) -> None:
    # Guide: "Zero-touch installation of switches of different types" (built-in groups).
    prefix = lab_prefix()
    images = {
        IMAGE: 64_000,
        "c3560-ipbasek9-tar.122-55.SE12.tar": 48_000,
        "c2960-lanbasek9-tar.122-55.SE12.tar": 32_000,
    }
    body = """vstack group built-in 3560 24
 image flash:c3560-ipbasek9-tar.122-55.SE12.tar
 config flash:g3560.txt
!
vstack group built-in 2960 24
 image flash:c2960-lanbasek9-tar.122-55.SE12.tar
 config flash:g2960.txt
!
"""
    files = {"g3560.txt": group_file("g3560"), "g2960.txt": group_file("g2960")}
    switches = [
        switch("x", 20, prefix),
        switch("a3560", 21, prefix, pid="WS-C3560-24TS-S"),
        switch("a2960", 22, prefix, pid="WS-C2960-24TT-L"),
    ]
    topo = topology(
        tmp_path, prefix, director_config(prefix, body), switches, images=images, files=files
    )
    async with make_lab(tmp_path, topo) as lab:
        await until_upgraded(lab)
        assert lab.switch("a3560").image == "c3560-ipbasek9-tar.122-55.SE12.tar"
        assert lab.switch("a2960").image == "c2960-lanbasek9-tar.122-55.SE12.tar"
        assert lab.switch("x").image == IMAGE
        assert lab.switch("a3560").bytes_downloaded == 48_000
        assert status_line(lab, "a3560").split()[4] == "G3560"
        assert status_line(lab, "a2960").split()[4] == "G2960"
        assert "WS-C3560-24TS-S" in status_line(lab, "a3560")


async def test_custom_groups_each_kind_and_their_precedence(tmp_path: Path) -> None:
    # Guide: custom groups by MAC, connectivity, stack and product ID; MAC > connectivity >
    # stack > product ID > built-in > default.
    prefix = lab_prefix()
    body = f"""vstack group custom bypid product-id
 match {switch("x", 1, prefix)["pid"]}
 image flash:{IMAGE}
 config flash:bypid.txt
!
vstack group custom bymac mac
 match mac 0050.56e0.001f
 image flash:{IMAGE}
 config flash:bymac.txt
!
vstack group custom byport connectivity
 match host {prefix}.30 interface GigabitEthernet1/0/7
 image flash:{IMAGE}
 config flash:byport.txt
!
vstack group custom macwins connectivity
 match host {prefix}.30 interface GigabitEthernet1/0/8
 image flash:{IMAGE}
 config flash:byport.txt
!
vstack group custom bystack stack
 match 1 3750 24poe
 match 2 3750 24poe
 image flash:c3750-ipbasek9-tar.122-55.SE12.tar
 config flash:bystack.txt
!
"""
    files = {f"{n}.txt": group_file(n) for n in ("bypid", "bymac", "byport", "bystack")}
    images = {IMAGE: 40_000, "c3750-ipbasek9-tar.122-55.SE12.tar": 30_000}
    up = {"device": "root", "interface": "GigabitEthernet1/0/7"}
    switches = [
        switch("root", 30, prefix),  # product-id group
        switch("mac", 31, prefix, upstream={"device": "root", "interface": "GigabitEthernet1/0/8"}),
        switch("port", 32, prefix, upstream=up),  # connectivity beats product-id
        {
            "name": "stk",
            "address": f"{prefix}.33",
            "stack": [
                {"member": 1, "pid": "WS-C3750-24PS-S", "mac": "0050.56e0.0121"},
                {"member": 2, "pid": "WS-C3750-24PS-S", "mac": "0050.56e0.0122"},
            ],
            "upstream": {"device": "director", "interface": "GigabitEthernet1/0/9"},
        },
    ]
    topo = topology(
        tmp_path, prefix, director_config(prefix, body), switches, images=images, files=files
    )
    async with make_lab(tmp_path, topo) as lab:
        await until_upgraded(lab)
        # MAC 0050.56e0.001f is "mac" (host 31): MAC beats its connectivity match (port 8)
        assert status_line(lab, "mac").split()[4] == "BYMAC"
        assert status_line(lab, "port").split()[4] == "BYPORT"
        assert status_line(lab, "root").split()[4] == "BYPID"
        assert status_line(lab, "stk").split()[4] == "BYSTACK"
        assert lab.switch("stk").flash_state.images == {
            "1": "c3750-ipbasek9-tar.122-55.SE12.tar",
            "2": "c3750-ipbasek9-tar.122-55.SE12.tar",
        }


async def test_join_window_closed_denies_the_switch(tmp_path: Path) -> None:
    # Guide: "Join window": outside it the director sends no Smart Install options (state d).
    prefix = lab_prefix()
    config = director_config(prefix, "vstack join-window start 05:00 01:00 recurring\n")
    topo = topology(tmp_path, prefix, config, [switch("late", 40, prefix)], clock="02:00")
    async with make_lab(tmp_path, topo) as lab:
        db = lab.database()
        await lab.wait_until(lambda: db.device_by_mac(lab.switch("late").mac) is not None, 20)
        await lab.wait_until(lambda: lab.switch("late").state.value == "waiting", 20)
        row = status_line(lab, "late").split()
        assert row[-3:] == ["P", "A", "d"] or row[-2:] == ["A", "d"], row
        assert entry(lab, "late") is None
        assert lab.switch("late").bytes_downloaded == 0


async def test_multi_hop_upgrades_nearer_hops_first(tmp_path: Path) -> None:
    # Guide: "the director upgrades the hop-1 clients first, then hop 2 …": all switches
    # power on at once; the one behind waits for the nearer hop to finish.
    prefix = lab_prefix()
    config = director_config(prefix)
    switches = [
        switch("near", 50, prefix),
        switch(
            "far", 51, prefix, upstream={"device": "near", "interface": "GigabitEthernet1/0/48"}
        ),
    ]
    topo = topology(tmp_path, prefix, config, switches, images={IMAGE: 400_000})
    lab = make_lab(tmp_path, topo)
    try:
        await lab.start(staged=False)
        await until_upgraded(lab, timeout=60)
        near, far = entry(lab, "near"), entry(lab, "far")
        assert near is not None and far is not None
        log = lab.director.log()
        near_done = log.index(f"(IP address: {prefix}.50) config has upgraded successfully")
        far_started = log.index(f"(IP address: {prefix}.51) image upgrade has started")
        assert near_done < far_started
        device = lab.database().device_by_mac(lab.switch("far").mac)
        assert device is not None and device.hop == 2
        assert device.upstream_mac == lab.switch("near").mac
    finally:
        await lab.stop()


async def test_a_chain_of_seven_hops_is_provisioned_hop_by_hop(tmp_path: Path) -> None:
    # Guide: a Smart Install network reaches clients up to seven hops from the director. Each
    # switch hangs off the one before; the director's database gives every one its hop and its
    # upstream switch (MAC, address, port).
    prefix = lab_prefix()
    switches = [switch("hop1", 70, prefix)]
    for n in range(2, 8):
        switches.append(
            switch(
                f"hop{n}",
                69 + n,
                prefix,
                upstream={"device": f"hop{n - 1}", "interface": "GigabitEthernet1/0/48"},
            )
        )
    topo = topology(tmp_path, prefix, director_config(prefix), switches)
    async with make_lab(tmp_path, topo) as lab:
        await until_upgraded(lab, timeout=90)
        db = lab.database()
        for n in range(1, 8):
            device = db.device_by_mac(lab.switch(f"hop{n}").mac)
            assert device is not None and device.hop == n, (n, device)
            if n > 1:
                upstream = lab.switch(f"hop{n - 1}")
                assert (device.upstream_mac, device.upstream_ip, device.upstream_port) == (
                    upstream.mac,
                    upstream.ip,
                    "GigabitEthernet1/0/48",
                ), n


async def test_stack_of_three_gets_one_image_per_member(tmp_path: Path) -> None:
    prefix = lab_prefix()
    body = """vstack group custom backroom stack
 match 1 3750 24poe
 match 2 3750 24poe
 match 3 3750 24poe
 image flash:c3750-ipbasek9-tar.122-55.SE12.tar
 config flash:stack.txt
!
"""
    members = [
        {"member": n, "pid": "WS-C3750-24PS-S", "mac": f"0050.56e0.03{n:02x}"} for n in (1, 2, 3)
    ]
    switches = [
        {
            "name": "stack",
            "address": f"{prefix}.60",
            "stack": members,
            "upstream": {"device": "director", "interface": "Gi1/0/5"},
        }
    ]
    topo = topology(
        tmp_path,
        prefix,
        director_config(prefix, body),
        switches,
        images={"c3750-ipbasek9-tar.122-55.SE12.tar": 80_000},
        files={"stack.txt": group_file("stack")},
    )
    async with make_lab(tmp_path, topo) as lab:
        await until_upgraded(lab)
        rows = [line for line in lab.show_status().splitlines() if "0050.56e0.03" in line]
        assert len(rows) == 3 and all(r.split()[4] == "STACK" for r in rows)
        assert set(lab.switch("stack").flash_state.images) == {"1", "2", "3"}
        assert download_line(lab, "stack").split()[4:6] == ["UPGRADED", "UPGRADED"]


async def test_legacy_client_behind_a_smart_install_switch(tmp_path: Path) -> None:
    # Guide: "non-Smart-Install-capable clients": tailored configuration, then the director
    # drives the download with the enable password.
    prefix = lab_prefix()
    body = """vstack tailored-config enable-password OldPass1
vstack group built-in 2960 24
 image flash:c2960-lanbasek9-tar.122-55.SE12.tar
 config flash:old.txt
!
"""
    switches = [
        switch("access", 70, prefix),
        switch(
            "old",
            71,
            prefix,
            pid="WS-C2960-24TT-L",
            legacy=True,
            upstream={"device": "access", "interface": "GigabitEthernet1/0/2"},
        ),
    ]
    topo = topology(
        tmp_path,
        prefix,
        director_config(prefix, body),
        switches,
        images={IMAGE: 40_000, "c2960-lanbasek9-tar.122-55.SE12.tar": 30_000},
        files={"old.txt": group_file("old")},
    )
    async with make_lab(tmp_path, topo) as lab:
        await until_upgraded(lab)
        old = lab.switch("old")
        assert old.image == "c2960-lanbasek9-tar.122-55.SE12.tar"
        assert old.enable_password == "OldPass1"
        assert status_line(lab, "old").split()[5:] == ["N", "A", "a", "I", "C"]
        device = lab.database().device_by_mac(old.mac)
        assert device is not None and device.device_type is DeviceType.NON_SMART_INSTALL
        e = entry(lab, "old")
        assert e is not None and (e.image, e.config) == (UPGRADED, UPGRADED)
