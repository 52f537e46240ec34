"""SMI Proxy waits for a client's reload before it answers the PnP server (guide, chapter 4,
"Unsupported Services": image-install and config-upgrade are carried out through Smart Install;
"How SMI Proxy and PnP Agent Communicate": the next service request must find the client up).

The evidence of the reload is the client's hello after its download ended (a Smart Install
client says hello once per boot); a keepalive that slips in before the reload is not. A client
that never comes back gets the schema's reload error within a bounded time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from smartinstall.director.core import Director
from smartinstall.director.facts import HelloFacts
from smartinstall.director.proxy_services import (
    RELOAD_ERROR,
    Reload,
    ReloadWatch,
    ServiceFailed,
    ServiceTimers,
    SmartInstallServices,
)
from smartinstall.domain.artifacts import image_facts
from smartinstall.domain.devices import Device, UpgradeKind
from smartinstall.domain.proxy import ClientUdi
from smartinstall.wire import pnp
from tests.unit.director.director_host import make_director

MAC = "0050.5622.0003"
OLD_IMAGE = "c2960x-universalk9-tar.152-7.E9.tar"
NEW_IMAGE = "c2960x-universalk9-tar.152-7.E10.tar"
NEW_URI = f"flash:vstack/pnp/{NEW_IMAGE}"
ENDED = dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.UTC)
UDI = ClientUdi("WS-C2960X-24PS-L", "V01", "FOC56220003")


class Clock:
    """A monotonic clock the test turns."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def running(tar: str) -> Device:
    image, version = image_facts(tar)
    return Device(1, MAC, ip="127.0.0.3", image=image, version=version)


def test_a_keepalive_before_the_reload_is_no_evidence() -> None:
    """No hello since the download ended: waiting, whatever the keepalives say, until the
    limit; then not back, with the reason the PnP server is told."""
    clock = Clock()
    watch = ReloadWatch(ENDED, 600.0, None, clock)
    before = ENDED - dt.timedelta(seconds=30)  # the hello of the boot before the download
    assert watch.verdict(None, running(OLD_IMAGE)) is Reload.WAITING
    assert watch.verdict(before, running(OLD_IMAGE)) is Reload.WAITING
    clock.now += 599.9
    assert watch.verdict(before, running(OLD_IMAGE)) is Reload.WAITING
    clock.now += 0.1
    assert watch.verdict(before, running(OLD_IMAGE)) is Reload.NOT_BACK
    assert watch.reason == "client not back 600 s after its reload (no hello since)"


def test_a_hello_after_the_download_is_the_client_back() -> None:
    clock = Clock()
    watch = ReloadWatch(ENDED, 600.0, None, clock)  # a config-upgrade: any image will do
    assert watch.verdict(ENDED + dt.timedelta(seconds=40), running(OLD_IMAGE)) is Reload.BACK
    assert watch.verdict(ENDED, None) is Reload.BACK  # the same instant: hello came after


def test_after_an_image_install_the_hello_must_report_the_new_image() -> None:
    clock = Clock()
    watch = ReloadWatch(ENDED, 300.0, NEW_URI, clock)
    hello = ENDED + dt.timedelta(seconds=45)
    assert watch.verdict(hello, running(OLD_IMAGE)) is Reload.WAITING
    assert watch.verdict(hello, None) is Reload.WAITING
    assert watch.verdict(hello, running(NEW_IMAGE)) is Reload.BACK
    clock.now += 300
    old = running(OLD_IMAGE)
    assert watch.verdict(hello, old) is Reload.NOT_BACK
    assert watch.reason == f"client reloaded but runs {old.image} {old.version}, not {NEW_URI}"
    # the new image reported at the very end still counts
    assert watch.verdict(hello, running(NEW_IMAGE)) is Reload.BACK


def test_the_reload_errors_are_the_schemas() -> None:
    """The enums of pnp_image_install_body.xsd (1811) and pnp_config_upgrade_body.xsd (1415)."""
    image = pnp.PnpError(RELOAD_ERROR[UpgradeKind.IMAGE], "x")
    config = pnp.PnpError(RELOAD_ERROR[UpgradeKind.CONFIG], "x")
    assert pnp.error_code_number(image, pnp.NS_IMAGE_INSTALL) == 1811
    assert pnp.error_code_number(config, pnp.NS_CONFIG_UPGRADE) == 1415


@pytest.fixture
def director(tmp_path: Path) -> Director:
    return make_director(tmp_path)


def hello(director: Director, tar: str) -> None:
    image, version = image_facts(tar)
    director.client_hello(
        HelloFacts(MAC, ip="127.0.0.3", pid=UDI.pid, image=image, version=version)
    )


def services(director: Director, tmp_path: Path, reload: float) -> SmartInstallServices:
    return SmartInstallServices(director, tmp_path, MAC, UDI, ServiceTimers(reload=reload))


def test_the_director_keeps_each_clients_last_hello(director: Director) -> None:
    assert director.last_hello(MAC) is None
    hello(director, OLD_IMAGE)
    said = director.last_hello(MAC)
    assert said is not None and said.tzinfo is not None
    director.client_keepalive(MAC, "127.0.0.3")
    assert director.last_hello("00:50:56:22:00:03") == said  # keepalives leave it as it was


async def test_the_service_waits_for_the_hello_with_the_new_image(
    director: Director, tmp_path: Path
) -> None:
    hello(director, OLD_IMAGE)
    ended = director.now()
    service = services(director, tmp_path, 30.0)
    waiting = asyncio.create_task(service._back_after_reload(UpgradeKind.IMAGE, NEW_URI, ended))
    await asyncio.sleep(0.3)
    director.client_keepalive(MAC, "127.0.0.3")  # before the reload: still waiting
    await asyncio.sleep(0.3)
    assert not waiting.done()
    hello(director, NEW_IMAGE)  # the boot after the reload
    await asyncio.wait_for(waiting, 5)


async def test_a_client_that_never_comes_back_gets_the_reload_error(
    director: Director, tmp_path: Path
) -> None:
    hello(director, OLD_IMAGE)
    ended = director.now()
    service = services(director, tmp_path, 0.5)
    director.client_keepalive(MAC, "127.0.0.3")
    with pytest.raises(ServiceFailed) as failed:
        await asyncio.wait_for(service._back_after_reload(UpgradeKind.IMAGE, NEW_URI, ended), 10)
    assert failed.value.error.enum == "XSVC_ERROR_IMGINSTALL_UNKNOWN_RELOAD_ERROR"
    assert failed.value.error.string.startswith("SMI PROXY: client not back 0.5 s")
    response = pnp.encode_image_install_response(
        pnp.Udi(UDI.pid, UDI.vid, UDI.sn), "CiscoPnP-1.0-7-AB12CD34", error=failed.value.error
    )
    decoded = pnp.decode_response(response)
    assert decoded.success is False and decoded.error is not None
    assert decoded.error.code == 1811
