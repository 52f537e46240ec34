"""The director's legacy driver against an emulated legacy switch's HTTP exec interface: the
19140 trigger, the port hint, a wrong enable password and a failing download."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from smartinstall.director.legacy import (
    LegacyError,
    LegacyPlan,
    LegacyTriggerServer,
    http_exec,
)
from smartinstall.services.tftp import TftpServer, TftpServerConfig
from smartinstall.switch.flash import Flash
from smartinstall.switch.machine import State, Switch, SwitchConfig
from smartinstall.switch.netio import NetConfig, NetIo
from tests.integration.director_harness import free_port, lab_prefix
from tests.integration.tftp_helpers import RecordingHook

pytestmark = pytest.mark.timeout(30)

IMAGE = "c2960-lanbasek9-tar.150-2.SE11.tar"


@dataclass
class Recorder:
    password: str
    image_url: str
    config_url: str | None
    events: list[tuple[str, ...]] = field(default_factory=list)
    finished: asyncio.Event = field(default_factory=asyncio.Event)

    async def plan(self, ip: str, http_port: int) -> LegacyPlan | None:
        self.events.append(("plan", ip, str(http_port)))
        return LegacyPlan(
            ip, "0050.56cc.0001", self.password, self.image_url, self.config_url, http_port
        )

    def progress(self, plan: LegacyPlan, step: str) -> None:
        self.events.append(("progress", step))

    def done(self, plan: LegacyPlan) -> None:
        self.events.append(("done",))
        self.finished.set()

    def failed(self, plan: LegacyPlan, step: str, reason: str) -> None:
        self.events.append(("failed", step, reason))
        self.finished.set()


async def _legacy_switch(tmp_path: Path, prefix: str, tftp_port: int) -> Switch:
    """A legacy switch that already applied its tailored configuration."""
    ip = f"{prefix}.40"
    net = NetConfig(
        dhcp_server=(f"{prefix}.1", 9), relay_port=9, http_port=free_port(ip, socket.SOCK_STREAM)
    )
    switch = Switch(
        SwitchConfig("WS-C2960-24TT-L", "0050.56cc.0001", ip, legacy=True, tftp_port=tftp_port),
        Flash(tmp_path / "flash"),
        NetIo(net),
    )
    switch.ip = ip
    switch.enable_password = "s3cret"
    switch.state = State.LEGACY_WAITING
    return switch


async def test_trigger_drives_the_download_and_reports(tmp_path: Path) -> None:
    prefix = lab_prefix()
    root = tmp_path / "root"
    root.mkdir()
    (root / IMAGE).write_bytes(b"i" * 50_000)
    (root / "cfg.txt").write_text("hostname legacy\nend\n")
    config = TftpServerConfig(root=root, host=f"{prefix}.1", port=0)
    async with TftpServer(config, RecordingHook()) as tftp:
        port = tftp.address[1]
        base = f"tftp://{prefix}.1:{port}"
        recorder = Recorder("s3cret", f"{base}/{IMAGE}", f"{base}/cfg.txt")
        trigger = LegacyTriggerServer(f"{prefix}.1", recorder, recorder, port=0)
        await trigger.start()
        switch = await _legacy_switch(tmp_path, prefix, port)
        try:
            await switch.io.legacy_up(switch, f"{prefix}.1", trigger.port)  # do telnet …
            async with asyncio.timeout(15):
                await recorder.finished.wait()
            assert recorder.events == [
                ("plan", switch.ip, str(switch.io.net.http_port)),  # type: ignore[attr-defined]
                ("progress", "image"),
                ("progress", "config"),
                ("progress", "reload"),
                ("done",),
            ]
            assert await switch.wait_for(lambda s: s.state is State.RUNNING, 5)
            assert switch.image == IMAGE
            assert switch.flash.startup_config() == "hostname legacy\nend\n"
        finally:
            await switch.shutdown()
            await trigger.close()


async def test_wrong_password_and_missing_image_are_failures(tmp_path: Path) -> None:
    prefix = lab_prefix()
    root = tmp_path / "root"
    root.mkdir()
    config = TftpServerConfig(root=root, host=f"{prefix}.1", port=0)
    async with TftpServer(config, RecordingHook()) as tftp:
        port = tftp.address[1]
        switch = await _legacy_switch(tmp_path, prefix, port)
        http_port = switch.io.net.http_port  # type: ignore[attr-defined]
        recorder = Recorder("wrong", f"tftp://{prefix}.1:{port}/{IMAGE}", None)
        trigger = LegacyTriggerServer(f"{prefix}.1", recorder, recorder, port=0)
        await trigger.start()
        try:
            await switch.io.legacy_up(switch, f"{prefix}.1", trigger.port)
            async with asyncio.timeout(10):
                await recorder.finished.wait()
            assert recorder.events[-1][:2] == ("failed", "image")
            assert "401" in recorder.events[-1][2]
            # the right password, but the image is not on the server
            with pytest.raises(LegacyError, match="%Error opening"):
                await http_exec(
                    switch.ip,
                    http_port,
                    "s3cret",
                    f"archive download-sw /overwrite tftp://{prefix}.1:{port}/{IMAGE}",
                    timeout=10,
                )
            assert "Model number : WS-C2960-24TT-L" in await http_exec(
                switch.ip, http_port, "s3cret", "show version"
            )
        finally:
            await switch.shutdown()
            await trigger.close()


def test_plan_steps() -> None:
    plan = LegacyPlan("10.0.0.5", "0050.56cc.0001", "pw", "tftp://d/i.tar", "tftp://d/c.txt")
    assert [c for _, c in plan.steps()] == [
        "archive download-sw /overwrite tftp://d/i.tar",
        "copy tftp://d/c.txt startup-config",
        "reload",
    ]
    image_only = LegacyPlan("10.0.0.5", "m", "pw", "tftp://d/i.tar")
    assert image_only.steps() == [
        ("image", "archive download-sw /overwrite /reload tftp://d/i.tar")
    ]
    # on-demand: what the operator asked (override, reload, reload in hh:mm)
    asked = LegacyPlan("10.0.0.5", "m", "pw", "tftp://d/i.tar", overwrite=False, reload=False)
    assert asked.steps() == [("image", "archive download-sw tftp://d/i.tar")]
    later = LegacyPlan("10.0.0.5", "m", "pw", None, "tftp://d/c.txt", reload_in=(6, 30))
    assert [c for _, c in later.steps()] == [
        "copy tftp://d/c.txt startup-config",
        "reload in 06:30",
    ]
