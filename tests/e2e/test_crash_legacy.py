"""kill -9 of the director while it drives a client that is not Smart Install capable (guide:
"Client switches that are not Smart Install capable"), then a restart: the zero touch is driven
again, an on-demand download ends saying why (the operator's password is not kept)."""

from __future__ import annotations

from pathlib import Path

import pytest

from smartinstall.domain.devices import UpgradeKind
from smartinstall.domain.downloads import DownloadStatus
from smartinstall.lab.runner import DirectorRunner, Lab
from tests.e2e.lab_kit import (
    IMAGE,
    director_config,
    lab_prefix,
    make_lab,
    switch,
    topology,
    until_upgraded,
)
from tests.e2e.test_crash import IMAGE_SIZE, armed_restart, console, died_at

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]


LEGACY_IMAGE = "c2960-lanbasek9-tar.122-55.SE12.tar"
LEGACY_GROUP = f"""vstack group built-in 2960 24
 image flash:{LEGACY_IMAGE}
 config flash:old.txt
!
"""


def legacy_lab(tmp_path: Path, point: str) -> Lab:
    """A non-Smart-Install 2960 (driven over its HTTP exec interface) behind a Smart Install
    switch, and its group; the director armed to die at ``point``."""
    (tmp_path / point).mkdir(parents=True, exist_ok=True)
    prefix = lab_prefix()
    topo = topology(
        tmp_path / point, prefix, director_config(prefix, LEGACY_GROUP),
        [
            # the director learns the client is not Smart Install capable from the neighbour
            # report of the switch it hangs off
            switch("access", 29, prefix),
            switch("old", 30, prefix, pid="WS-C2960-24TT-L", legacy=True,
                   upstream={"device": "access", "interface": "GigabitEthernet1/0/2"}),
        ],
        images={IMAGE: 20_000, LEGACY_IMAGE: IMAGE_SIZE},
        # its own configuration keeps the HTTP exec interface on (for on-demand downloads)
        files={"old.txt": "hostname OLD\n!\nenable password OldPass1\nip http server\n!\nend\n"},
    )  # fmt: skip
    lab = make_lab(tmp_path / point, topo)
    assert isinstance(lab.director, DirectorRunner)
    lab.director.env = {"SMARTINSTALL_CRASH_AT": point}
    return lab


async def test_kill_9_while_a_legacy_client_is_driven_then_restart(tmp_path: Path) -> None:
    # Guide, "Client switches that are not Smart Install capable": the client triggers the
    # director once (do telnet <director> 19140, in its tailored configuration) and the director
    # drives its download. Killed half way through the image, the restarted director drives it
    # again from the row (which remembers the client's HTTP port): the install completes.
    async with legacy_lab(tmp_path, "image-transfer") as lab:
        await died_at(lab, "image-transfer")
        await until_upgraded(lab, timeout=90)
        old = lab.switch("old")
        (row,) = [e for e in lab.database().downloads() if e.mac == old.mac]
        assert (row.image, row.config) == (DownloadStatus.UPGRADED, DownloadStatus.UPGRADED)
        assert "legacy-trigger" in row.request
        assert await old.wait_for(lambda s: s.image == LEGACY_IMAGE, 30)
        log = lab.director.log()
        assert "its zero touch was under way; driven again" in log
        assert "Traceback" not in log


async def test_a_legacy_on_demand_download_cut_by_a_restart_ends_at_once(tmp_path: Path) -> None:
    # The operator's password for a non-Smart-Install client is not kept: a restarted
    # director cannot drive the download again, and the row says so at once instead of
    # waiting for the client (which never reports) for the resume window.
    lab = legacy_lab(tmp_path, "image-transfer")
    assert isinstance(lab.director, DirectorRunner)
    lab.director.env = {}
    async with lab:
        await until_upgraded(lab, timeout=60)
        old = lab.switch("old")
        await armed_restart(lab, "image-transfer")
        done = await console(
            lab, f"vstack download-image tar flash:{LEGACY_IMAGE} {old.ip} OldPass1"
        )
        await died_at(lab, "image-transfer", f"console: {done.stdout!r} {done.stderr!r}")

        def ended() -> bool:
            rows = [e for e in lab.database().downloads() if e.mac == old.mac]
            return len(rows) == 2 and rows[-1].image is DownloadStatus.FAILED

        assert await lab.wait_until(ended, 30), lab.show_download_status()
        row = lab.database().downloads()[-1]
        assert "password is not kept: give the command again" in row.reason(UpgradeKind.IMAGE)
