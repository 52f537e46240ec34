"""The web dashboard in a real browser: headless Chromium driven by Selenium (Debian's chromium
and chromium-driver, installed by scripts/install-test-tools). The device table shows the
director's clients, a client that joins appears without a reload (Server-Sent Events), and the
device page's button starts an on-demand upgrade that the client receives."""

from __future__ import annotations

import asyncio
import base64
import socket
import time
from collections.abc import Iterator

import pytest

from smartinstall.wire.smi import DownloadImage
from tests.integration.director_harness import (
    DirectorProcess,
    director_preamble,
    free_port,
    lab_prefix,
)
from tests.integration.test_http_api import ADMIN, IMAGE, PID, joined
from tests.tools import require_program

pytestmark = [pytest.mark.needs_tool, pytest.mark.timeout(120)]

webdriver = pytest.importorskip("selenium.webdriver")


@pytest.fixture(scope="module")
def director(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DirectorProcess]:
    prefix = lab_prefix()
    address = f"{prefix}.1"
    http_port = free_port(address, socket.SOCK_STREAM)
    config = (
        director_preamble(prefix)
        + f"""vstack config flash:seed.txt
username {ADMIN[0]} privilege 15 secret {ADMIN[1]}
"""
    )
    process = DirectorProcess(tmp_path_factory.mktemp("web") / "director", prefix, config)
    process.ports["http"] = http_port
    process.extra_args = ["--http-port", str(http_port)]
    (process.flash / "seed.txt").write_text("hostname seed\n!\nend\n")
    (process.flash / IMAGE).write_bytes(b"\0" * 10_000)
    process.start()
    process.wait_for_log("HTTP server on")
    yield process
    process.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    chromium = require_program("chromium")
    driver_path = require_program("chromedriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--no-proxy-server"):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    credentials = base64.b64encode(":".join(ADMIN).encode()).decode()
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd(
        "Network.setExtraHTTPHeaders", {"headers": {"Authorization": f"Basic {credentials}"}}
    )
    yield driver
    driver.quit()


def rows(driver: object) -> list[str]:
    """The table's rows as text, read in one go (the page may redraw the table meanwhile)."""
    script = (
        "return Array.from(document.querySelectorAll('#devices tbody tr'))"
        ".map(function (row) { return row.innerText; });"
    )
    texts: list[str] = driver.execute_script(script)  # type: ignore[attr-defined]
    return texts


async def until(check: object, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("the dashboard did not change in time")
        await asyncio.sleep(0.05)


async def test_device_table_updates_without_reload(
    director: DirectorProcess, browser: object
) -> None:
    url = f"http://{director.address}:{director.ports['http']}/"
    await asyncio.to_thread(browser.get, url)  # type: ignore[attr-defined]
    assert any("Director" in row for row in rows(browser))
    await until(lambda: browser.find_element("id", "live").text == "live")  # type: ignore[attr-defined]
    browser.execute_script("window.notReloaded = true;")  # type: ignore[attr-defined]
    client = await joined(director, "0050.5620.0001")
    try:
        # the entry appears, then its address and status follow as the client says hello
        await until(lambda: any(client.mac in row for row in rows(browser)))
        await until(lambda: any(client.mac in r and client.ip in r for r in rows(browser)))
        row = next(r for r in rows(browser) if client.mac in r)
        assert PID in row
        assert browser.execute_script("return window.notReloaded === true;")  # type: ignore[attr-defined]
    finally:
        await client.close()


async def test_upgrade_button_on_the_device_page(
    director: DirectorProcess, browser: object
) -> None:
    client = await joined(director, "0050.5620.0002")
    try:
        url = f"http://{director.address}:{director.ports['http']}/devices/{client.mac}"
        await asyncio.to_thread(browser.get, url)  # type: ignore[attr-defined]
        form = browser.find_element("id", "upgrade")  # type: ignore[attr-defined]
        form.find_element("name", "url").send_keys(f"flash:{IMAGE}")
        form.find_element("css selector", "button").click()
        output = browser.find_element("id", "operation")  # type: ignore[attr-defined]
        await until(lambda: output.text.startswith("done"))
        assert f"{client.ip}: image download requested" in output.text
        await until(lambda: any(isinstance(c.command, DownloadImage) for c in client.commands))
    finally:
        await client.close()
