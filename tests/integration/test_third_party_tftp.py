"""A third-party TFTP server holds the images and configurations (guide: "Third-Party, Non-Cisco
IOS Device as the TFTP Server", "Image List File"): the director writes the imagelist there,
names it in option 125/5 and the server in option 150, and the switch installs from it. The
server is tftp-hpa's in.tftpd on its own loopback address and the TFTP port the switches use
(options 67 and 150 carry no port); stock tftp-hpa cannot make directories, so the imagelist
goes next to the image, in a directory that exists."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from smartinstall.domain.downloads import DownloadStatus
from smartinstall.switch.machine import State, Switch
from tests.integration.director_harness import DirectorProcess, lab_prefix
from tests.integration.switch_harness import IMAGE, make_switch
from tests.tools import require_program

pytestmark = pytest.mark.timeout(60)

SEED = "hostname third\n!\ninterface Vlan1\n ip address dhcp\n!\nend\n"


def _config(prefix: str, server: str) -> str:
    return f"""hostname Director
vstack dhcp-localserver lab
 address-pool {prefix}.0 255.255.255.0
 default-router {prefix}.1
 file-server {prefix}.1
ip dhcp remember
vstack director {prefix}.1
vstack basic
vstack image {server}/images/{IMAGE}
vstack config {server}/images/seed.txt
"""


def _server_root(base: Path) -> Path:
    root = base / "tftproot"
    (root / "images").mkdir(parents=True)
    (root / "images" / IMAGE).write_bytes(b"\x5a" * 150_000)
    (root / "images" / "seed.txt").write_text(SEED)
    return root


@contextmanager
def _tftpd(root: Path, address: str, port: int, create: bool) -> Iterator[None]:
    tftpd = require_program("in.tftpd")
    command = [tftpd, "--foreground", "--listen", "--address", f"{address}:{port}", "--secure"]
    if create:
        command += ["--create"]
    command += ["--user", "root", str(root)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        server.terminate()
        server.wait(timeout=10)


def _downloads(director: DirectorProcess) -> list[Any]:
    db = director.database()
    try:
        return list(db.downloads())
    finally:
        db.close()


async def _until(check: Callable[[], bool], timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.05)


async def _running(switch: Switch, timeout: float = 20.0) -> None:
    ok = await switch.wait_for(lambda s: s.state is State.RUNNING and s.boots >= 2, timeout)
    assert ok, f"{switch.mac} is {switch.state.value}: {switch.console}"


async def test_switch_installs_from_a_third_party_tftp_server(tmp_path: Path) -> None:
    prefix = lab_prefix()
    root = _server_root(tmp_path)
    director = DirectorProcess(tmp_path / "director", prefix, "")
    port = director.ports["tftp"]  # the switches' TFTP port, on the server's own address
    server = f"tftp://{prefix}.200:{port}"
    director.config = _config(prefix, server)
    (director.data_dir / "startup-config").write_text(director.config)
    with _tftpd(root, f"{prefix}.200", port, create=True):
        director.start()
        switch = make_switch(director, tmp_path, 31)
        switch.power_on()
        try:
            await _running(switch)
            # the director wrote the imagelist next to the image; the switch read it there
            written = root / "images" / "imagelist-default.txt"
            assert written.read_text() == f"{server}/images/{IMAGE}\n"
            assert not (director.flash / "vstack" / "imagelist-default.txt").exists()
            assert switch.lease is not None
            assert switch.lease.imagelist == "images/imagelist-default.txt"
            assert switch.lease.tftp_server == f"{prefix}.200"
            assert switch.image == IMAGE and switch.hostname == "third"

            # the row follows the switch's reports: the reads are the third-party server's
            # to see, the image and the configuration columns end UPGRADED all the same
            def upgraded() -> bool:
                rows = _downloads(director)
                return len(rows) == 1 and (rows[0].image, rows[0].config) == (
                    DownloadStatus.UPGRADED,
                    DownloadStatus.UPGRADED,
                )

            await _until(upgraded)
            log = director.log()
            assert "%SMI-3-IMAGELIST_FAILED" not in log
        finally:
            await switch.shutdown()
            director.stop()


async def test_a_server_refusing_writes_fails_the_row_until_an_imagelist_is_copied(
    tmp_path: Path,
) -> None:
    # tftp-hpa without --create refuses to write a file that does not exist: the director says
    # %SMI-3-IMAGELIST_FAILED once, the row's image column says why and the ACK is held back
    # (the client asks again). Once the operator copies an imagelist there by hand, the
    # upgrade proceeds ("The upgrade process is initialized even when the imagelist file is
    # copied manually").
    prefix = lab_prefix()
    root = _server_root(tmp_path)
    director = DirectorProcess(tmp_path / "director", prefix, "")
    port = director.ports["tftp"]
    server = f"tftp://{prefix}.200:{port}"
    director.config = _config(prefix, server)
    (director.data_dir / "startup-config").write_text(director.config)
    with _tftpd(root, f"{prefix}.200", port, create=False):
        director.start()
        switch = make_switch(director, tmp_path, 32)
        switch.power_on()
        try:
            await director.await_log("%SMI-3-IMAGELIST_FAILED: Default imagelist creation failed")

            def failed() -> bool:
                rows = _downloads(director)
                return len(rows) == 1 and rows[0].image is DownloadStatus.FAILED

            await _until(failed)
            (row,) = _downloads(director)
            url = f"{server}/images/imagelist-default.txt"
            assert row.image_reason.startswith(f"{url} not written: ")
            assert switch.state is not State.RUNNING and switch.boots == 1
            # the switch goes on asking; the failure is said once
            await director.await_log("DHCP ACK to")
            # the operator copies the imagelist by hand (read-only: the server still refuses
            # the director's write)
            manual = root / "images" / "imagelist-default.txt"
            manual.write_text(f"{server}/images/{IMAGE}\n")
            manual.chmod(0o644)
            await _running(switch)
            assert switch.image == IMAGE
            log = director.log()
            assert log.count("%SMI-3-IMAGELIST_FAILED") == 1
            assert f"{url} not written" in log and "the copy on the server is used" in log
            assert "%SMI-3-IMAGELIST_FAILED" not in log.split("the copy on the server is used")[1]
            assert manual.read_text() == f"{server}/images/{IMAGE}\n"

            def upgraded() -> bool:
                rows = _downloads(director)
                return rows[-1].image is DownloadStatus.UPGRADED

            await _until(upgraded)
        finally:
            await switch.shutdown()
            director.stop()
