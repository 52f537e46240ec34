"""Non-Smart-Install (legacy) clients through a real director process: zero touch without
``vstack tailored-config enable-password`` and on-demand updates with the client's password.

Guide: "Smart Install Clients" ("The director can telnet to the client switch and use the
archive download-sw privileged EXEC command to download software to the switch. The director
must know the client switch password to perform the download."), "SMI Proxy and Tailored
Configuration Files" (the tailored configuration: an enable password, HTTP authentication,
``do telnet <director> 19140``), "Using the CLI for On-Demand Upgrades" / ``vstack
download-image`` and ``vstack download-config`` (``remote_switch_password``: "required only for
switches that are not Smart Install-capable"; NONE "for switches with no password").
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from smartinstall.domain.artifacts import tailored_enable_password
from smartinstall.domain.downloads import DownloadMethod, DownloadStatus
from smartinstall.store.records import DownloadEntry
from smartinstall.switch.machine import State, Switch
from smartinstall.wire import smi_client
from tests.integration.director_harness import ROOT, DirectorProcess, free_port, lab_prefix
from tests.integration.switch_harness import IMAGE, director_config, make_director, make_switch

pytestmark = pytest.mark.timeout(90)

NEW_IMAGE = "c2960x-universalk9-tar.152-7.E10.tar"
PASSWORD = "Site1pass"
# the network's configuration gives the legacy client an enable password and its HTTP server,
# as the guide asks of a switch that is not Smart Install capable for on-demand updates
SEED = f"hostname seed\n!\nenable password {PASSWORD}\nip http server\n!\nend\n"
SECOND = f"hostname second\n!\nenable password {PASSWORD}\nip http server\n!\nend\n"
LEGACY_MAC = "0050.56aa.00d4"
UPGRADED = DownloadStatus.UPGRADED


def console(director: DirectorProcess, lines: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "smartinstall.cli", "console", "--data-dir",
         str(director.data_dir)],
        input=lines, capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    return result.stdout + result.stderr


def latest(director: DirectorProcess, mac: str) -> DownloadEntry | None:
    db = director.database()
    try:
        return db.latest_download(mac)
    finally:
        db.close()


async def until_row(
    director: DirectorProcess, mac: str, check: Callable[[DownloadEntry], bool], timeout: float
) -> DownloadEntry:
    async with asyncio.timeout(timeout):
        while True:
            entry = await asyncio.to_thread(latest, director, mac)
            if entry is not None and check(entry):
                return entry
            await asyncio.sleep(0.1)


async def test_legacy_zero_touch_then_on_demand_image_and_config(tmp_path: Path) -> None:
    prefix = lab_prefix()
    # no vstack tailored-config enable-password: the guide's flow needs none from the operator
    process = make_director(tmp_path, prefix, director_config(prefix, script=False))
    (process.flash / "seed.txt").write_text(SEED)
    (process.flash / "second.txt").write_text(SECOND)
    (process.flash / NEW_IMAGE).write_bytes(os.urandom(60_000))
    process.start()
    neighbor = smi_client.Neighbor(
        local_port="GigabitEthernet1/0/2",
        mac=LEGACY_MAC,
        device_id="old-switch",
        platform="cisco WS-C2960X-24TS-L legacy",
    )
    upstream = make_switch(process, tmp_path, 211, neighbors=(neighbor,))
    old: Switch = make_switch(
        process,
        tmp_path,
        212,
        "WS-C2960X-24TS-L",
        legacy=True,
        http_port=free_port(f"{prefix}.212", socket.SOCK_STREAM),
    )
    assert old.mac == LEGACY_MAC
    upstream.power_on()
    try:
        assert await upstream.wait_for(lambda s: s.state is State.RUNNING and s.boots >= 2, 20)
        old.power_on()
        # zero touch: tailored configuration, trigger, HTTP exec, reload with the seed
        assert await old.wait_for(lambda s: s.state is State.RUNNING and s.boots >= 2, 30), (
            old.console
        )
        await process.await_log(f"legacy client {old.ip} ({LEGACY_MAC}): download and reload done")
        assert old.image == IMAGE
        assert "TAILOR_FAILED" not in process.log()
        tailored = (process.flash / "vstack" / f"tailored-{LEGACY_MAC}.txt").read_text()
        generated = tailored_enable_password(tailored)
        # a password of the director's own for this client, not the guide example's "cisco"
        assert generated and generated != "cisco" and len(generated) >= 16
        entry = await until_row(process, LEGACY_MAC, lambda e: e.finished, 30)
        assert (entry.image, entry.config) == (UPGRADED, UPGRADED)
        assert old.enable_password == PASSWORD  # its own configuration now

        # NONE: a non-Smart-Install client needs its password
        out = await asyncio.to_thread(
            console, process, f"vstack download-image tar flash:{NEW_IMAGE} {old.ip} NONE\n"
        )
        assert "needs its enable password (NONE given)" in out

        # a wrong password: the row fails at once with the reason
        out = await asyncio.to_thread(
            console,
            process,
            f"vstack download-image tar flash:{NEW_IMAGE} {old.ip} wrong-pass reload\n",
        )
        assert f"% {old.ip}: image download failed: enable password refused" in out, out
        entry = await until_row(process, LEGACY_MAC, lambda e: e.finished, 30)
        assert entry.method is DownloadMethod.IMAGE_UPGRADE
        assert entry.image is DownloadStatus.FAILED
        assert "enable password refused" in entry.image_reason and "401" in entry.image_reason
        assert old.image == IMAGE

        # the right password: archive download-sw over HTTP, then the reload
        boots = old.boots
        out = await asyncio.to_thread(
            console,
            process,
            f"vstack download-image tar flash:{NEW_IMAGE} {old.ip} {PASSWORD} override reload\n",
        )
        assert f"{old.ip}: image download requested (non-Smart-Install client, HTTP)" in out, out
        entry = await until_row(process, LEGACY_MAC, lambda e: e.finished, 30)
        assert entry.method is DownloadMethod.IMAGE_UPGRADE
        assert entry.image is UPGRADED, entry.image_reason
        assert await old.wait_for(lambda s: s.state is State.RUNNING and s.boots > boots, 15)
        assert old.image == NEW_IMAGE and old.flash.has_image(NEW_IMAGE)

        # a configuration: copy … startup-config, then the reload
        boots = old.boots
        out = await asyncio.to_thread(
            console,
            process,
            f"vstack download-config flash:second.txt {old.ip} {PASSWORD} startup reload\n",
        )
        assert f"{old.ip}: config download requested (non-Smart-Install client, HTTP)" in out, out
        entry = await until_row(process, LEGACY_MAC, lambda e: e.finished, 30)
        assert entry.method is DownloadMethod.CONFIG_UPGRADE
        assert entry.config is UPGRADED, entry.config_reason
        assert await old.wait_for(lambda s: s.state is State.RUNNING and s.boots > boots, 15)
        assert old.flash.startup_config() == SECOND
        status = await asyncio.to_thread(console, process, "show vstack download-status\n")
        assert "config-upgrade" in status and "image-upgrade" in status
    finally:
        await old.shutdown()
        await upstream.shutdown()
        process.stop()
