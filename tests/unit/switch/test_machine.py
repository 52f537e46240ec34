"""The switch state machine with a scripted network: the files a TFTP server would hold, the
DHCP answer a director would give, and a record of every SMI message the switch sends."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from smartinstall.switch.flash import Flash
from smartinstall.switch.machine import (
    DEFAULT_CONFIG,
    Faults,
    FetchError,
    Lease,
    Member,
    SendError,
    State,
    Switch,
    SwitchConfig,
    image_facts,
    reload_delay,
)
from smartinstall.wire import smi_client
from smartinstall.wire.smi import BackupConfig, DownloadConfig, DownloadImage, Execute

pytestmark = pytest.mark.timeout(20)

IMAGE = "c2960x-universalk9-tar.152-7.E9.tar"
Op = smi_client.Operation
St = smi_client.UpgradeState


@dataclass
class ScriptedNet:
    """The other side of the wire, in memory."""

    lease: Lease | None
    files: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (host, name) -> data
    sent: list[smi_client.ClientMessage] = field(default_factory=list)
    uploads: list[tuple[str, bytes]] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)
    dhcp_calls: list[str | None] = field(default_factory=list)
    refresh_lease: Lease | None = None
    director_down: bool = False
    script_on_hello: str | None = None  # the director's type 5 after a zero-touch hello
    script_on_every_hello: bool = False  # … and again after the reload (entry not done yet)
    listening: bool = False
    block: int = 512

    async def dhcp(self, switch: Switch, refresh: str | None = None) -> Lease | None:
        self.dhcp_calls.append(refresh)
        if refresh is not None and self.refresh_lease is not None:
            return self.refresh_lease
        return self.lease

    async def fetch(
        self, switch: Switch, host: str, port: int, name: str, sink: Callable[[bytes], None]
    ) -> int:
        self.fetched.append(name)
        data = self.files.get((host, name))
        if data is None:
            raise FetchError(f"{name}: server error 1: File not found")
        for i in range(0, len(data), self.block):
            sink(data[i : i + self.block])
        return len(data)

    async def upload(self, switch: Switch, url: str, data: bytes) -> None:
        if "refuse" in url:
            raise FetchError("server error 2: Access violation")
        self.uploads.append((url, data))

    async def send(self, switch: Switch, message: smi_client.ClientMessage) -> None:
        if self.director_down:
            raise SendError("cannot reach director")
        self.sent.append(message)
        if (
            isinstance(message, smi_client.Hello)
            and self.script_on_hello
            and (self.script_on_every_hello or not message.has_startup_config)
        ):
            await switch.command(Execute(self.script_on_hello))

    async def listen(self, switch: Switch) -> None:
        self.listening = True

    async def unlisten(self, switch: Switch) -> None:
        self.listening = False

    async def legacy_up(self, switch: Switch, director: str, trigger_port: int) -> None:
        self.sent.append(smi_client.Keepalive(mac=switch.mac))  # marks the trigger

    async def legacy_down(self, switch: Switch) -> None:
        return None

    def statuses(self) -> list[tuple[int, int]]:
        return [
            (m.operation, m.state) for m in self.sent if isinstance(m, smi_client.UpgradeStatus)
        ]


DIRECTOR = "10.0.0.1"
LEASE = Lease(
    "10.0.0.20",
    imagelist="vstack/imagelist-default.txt",
    director=DIRECTOR,
    config="seed.txt",
    tftp_server=DIRECTOR,
    hostname="STORE-01.0020",
)


def network(lease: Lease | None = LEASE, image_size: int = 5000) -> ScriptedNet:
    return ScriptedNet(
        lease,
        files={
            (DIRECTOR, "vstack/imagelist-default.txt"): f"{IMAGE}\n".encode(),
            (DIRECTOR, IMAGE): bytes(image_size),
            (DIRECTOR, "seed.txt"): b"hostname Switch\n!\nend\n",
            (DIRECTOR, "post.txt"): b'"vlan 12" "name TEST" "exit"\n',
        },
    )


def make(tmp_path: Path, net: ScriptedNet, **kw: object) -> Switch:
    config = SwitchConfig(
        pid="WS-C2960X-48FPS-L",
        mac="0050.5601.0020",
        address="10.0.0.250",
        keepalive=0.05,
        dhcp_retry=0.01,
        **kw,
    )  # type: ignore[arg-type]
    return Switch(config, Flash(tmp_path / "flash"), net)


async def up(switch: Switch) -> None:
    switch.power_on()
    assert await switch.wait_for(lambda s: s.state is State.RUNNING and s.boots >= 2, 5), (
        switch.state,
        switch.console,
    )


async def test_zero_touch_installs_and_reloads(tmp_path: Path) -> None:
    net = network()
    switch = make(tmp_path, net)
    await up(switch)
    try:
        assert switch.image == IMAGE and switch.flash.has_image(IMAGE)
        assert switch.ip == "10.0.0.20" and switch.director == DIRECTOR
        # option 12 names a switch whose configuration has no real hostname
        assert switch.hostname == "STORE-01.0020"
        # the image's progress; the configuration's read the director saw itself (a file
        # from another server is reported: test_third_party_tftp.py)
        assert net.statuses() == [(Op.IMAGE, St.STARTED), (Op.IMAGE, St.DONE)]
        hellos = [m for m in net.sent if isinstance(m, smi_client.Hello)]
        assert [h.has_startup_config for h in hellos] == [False, True]
        assert (hellos[1].image, hellos[1].sw_version) == ("C2960X-UNIVERSALK9-M", "15.2(7)E9")
        assert hellos[1].hostname == "STORE-01.0020"
        await asyncio.sleep(0.2)
        assert any(isinstance(m, smi_client.Keepalive) for m in net.sent)
        # the flash survives a power cycle: no DHCP the second time
        await switch.shutdown()
        again = make(tmp_path, net)
        calls = len(net.dhcp_calls)
        again.power_on()
        assert await again.wait_for(lambda s: s.state is State.RUNNING, 5)
        assert len(net.dhcp_calls) == calls and again.image == IMAGE
        await again.shutdown()
    finally:
        await switch.shutdown()


async def test_image_size_is_verified_without_keeping_the_bytes(tmp_path: Path) -> None:
    net = network(image_size=3_000_000)
    switch = make(tmp_path, net)
    await up(switch)
    await switch.shutdown()
    assert switch.bytes_downloaded == 3_000_000
    marker = tmp_path / "flash" / f"{IMAGE}.marker"
    assert marker.read_text() == f"{IMAGE} 3000000\n"
    assert sum(p.stat().st_size for p in (tmp_path / "flash").iterdir()) < 10_000


async def test_missing_image_reports_failure_and_keeps_the_old_image(tmp_path: Path) -> None:
    net = network()
    del net.files[(DIRECTOR, IMAGE)]
    switch = make(tmp_path, net)
    await up(switch)
    await switch.shutdown()
    failed = [
        m for m in net.sent if isinstance(m, smi_client.UpgradeStatus) and m.state == St.FAILED
    ]
    assert len(failed) == 1 and "File not found" in failed[0].reason
    assert switch.image != IMAGE and switch.flash.startup_config() is not None


async def test_missing_configuration_boots_with_the_default(tmp_path: Path) -> None:
    net = network()
    del net.files[(DIRECTOR, "seed.txt")]
    switch = make(tmp_path, net)
    await up(switch)
    await switch.shutdown()
    assert (Op.CONFIG, St.FAILED) in net.statuses()
    startup = switch.flash.startup_config() or ""
    assert startup.startswith("hostname STORE-01.0020")
    assert DEFAULT_CONFIG.split("\n", 2)[2] in startup
    assert switch.image == IMAGE


async def test_stack_takes_one_image_per_member(tmp_path: Path) -> None:
    net = network()
    stack_list = "vstack/imagelist-stk-0050.5601.0020.txt"
    net.refresh_lease = Lease(
        "10.0.0.20",
        imagelist=stack_list,
        director=DIRECTOR,
        config="seed.txt",
        tftp_server=DIRECTOR,
    )
    net.files[(DIRECTOR, stack_list)] = (
        b"a-universalk9-tar.122-55.SE9.tar\nb-ipbase-tar.122-55.SE9.tar\n"
    )
    net.files[(DIRECTOR, "a-universalk9-tar.122-55.SE9.tar")] = b"a" * 700
    net.files[(DIRECTOR, "b-ipbase-tar.122-55.SE9.tar")] = b"b" * 900
    members = tuple(Member(n, "WS-C3750E-24PD-S", f"0050.5601.01{n:02d}") for n in (1, 2, 3))
    switch = make(tmp_path, net, members=members)
    await up(switch)
    await switch.shutdown()
    # after the hello (members known), a second DHCP REQUEST picks the stack's imagelist
    assert net.dhcp_calls == [None, "10.0.0.20"]
    assert switch.flash_state.images == {
        "1": "a-universalk9-tar.122-55.SE9.tar",
        "2": "b-ipbase-tar.122-55.SE9.tar",
        "3": "b-ipbase-tar.122-55.SE9.tar",  # more members than lines: the last line
    }
    hello = next(m for m in net.sent if isinstance(m, smi_client.Hello))
    assert [m.number for m in hello.stack] == [1, 2, 3]


async def test_a_4500_reports_its_supervisor_then_asks_again(tmp_path: Path) -> None:
    net = network()
    switch = make(tmp_path, net, supervisor="WS-X45-SUP7-E", chassis="WS-C4507R+E")
    await up(switch)
    await switch.shutdown()
    assert net.dhcp_calls == [None, "10.0.0.20"]
    hello = next(m for m in net.sent if isinstance(m, smi_client.Hello))
    assert (hello.supervisor, hello.chassis) == ("WS-X45-SUP7-E", "WS-C4507R+E")


async def test_post_install_script_runs_after_the_reload(tmp_path: Path) -> None:
    net = network()
    # the director sends type 5 on the first hello, during zero touch
    net.script_on_hello = f"tftp://{DIRECTOR}/post.txt"
    switch = make(tmp_path, net)
    await up(switch)
    await switch.shutdown()
    assert any("runs after the reload" in line for line in switch.console)
    statuses = net.statuses()
    assert statuses.index((Op.IMAGE, St.DONE)) < statuses.index((Op.SCRIPT, St.DONE))
    assert "vlan 12\n name TEST\nexit" in (switch.flash.startup_config() or "")
    assert not switch.flash_state.pending_script


async def test_a_script_sent_again_after_the_reload_runs_once(tmp_path: Path) -> None:
    net = network()
    net.script_on_hello = f"tftp://{DIRECTOR}/post.txt"
    net.script_on_every_hello = True
    switch = make(tmp_path, net)
    await up(switch)
    await switch.shutdown()
    assert net.statuses().count((Op.SCRIPT, St.DONE)) == 1
    assert (switch.flash.startup_config() or "").count("vlan 12") == 1


async def test_bad_script_reports_failure(tmp_path: Path) -> None:
    net = network()
    net.files[(DIRECTOR, "bad.txt")] = b'"vlan 12" "system mtu 1600"\n'
    switch = make(tmp_path, net)
    await up(switch)
    assert not await switch.run_script(f"tftp://{DIRECTOR}/bad.txt")
    await switch.shutdown()
    failed = [
        m
        for m in net.sent
        if isinstance(m, smi_client.UpgradeStatus)
        and m.operation == Op.SCRIPT
        and m.state == St.FAILED
    ]
    assert failed and "command group" in failed[0].reason


async def test_console_keystroke_aborts_zero_touch_until_write_erase_and_reload(
    tmp_path: Path,
) -> None:
    net = network(lease=None)  # no DHCP answer: zero touch keeps trying
    switch = make(tmp_path, net)
    switch.power_on()
    assert await switch.wait_for(lambda s: len(net.dhcp_calls) >= 2, 5)
    switch.console_keystroke()
    assert switch.state is State.ABORTED
    assert "%SMI-6-AUTOINSTALL: aborted AUTOINSTALL" in switch.console
    calls = len(net.dhcp_calls)
    switch.reload()  # a plain reload does not start zero touch again
    assert await switch.wait_for(lambda s: s.boots >= 2 and s.state is State.ABORTED, 5)
    await asyncio.sleep(0.05)
    assert len(net.dhcp_calls) == calls
    net.lease = LEASE
    switch.write_erase()
    switch.reload()
    assert await switch.wait_for(lambda s: s.state is State.RUNNING and s.image == IMAGE, 5)
    await switch.shutdown()


async def test_write_erase_and_reload_return_to_zero_touch(tmp_path: Path) -> None:
    net = network()
    switch = make(tmp_path, net)
    await up(switch)
    switch.write_erase()
    assert switch.flash.startup_config() is None
    switch.reload()
    assert await switch.wait_for(lambda s: s.boots >= 4 and s.state is State.RUNNING, 5)
    await switch.shutdown()
    assert net.dhcp_calls == [None, None]


async def test_backup_command_uploads_startup_config(tmp_path: Path) -> None:
    net = network()
    switch = make(tmp_path, net)
    await up(switch)
    url = f"tftp://{DIRECTOR}/vstack/x-0050.5601.0020.upload"
    await switch.command(BackupConfig.of(f"copy startup-config {url}"))
    assert net.uploads == [(url, (switch.flash.startup_config() or "").encode())]
    result = [m for m in net.sent if isinstance(m, smi_client.BackupResult)]
    assert result[-1].success
    assert switch.console[-1].startswith("%SMI-6-SMI_CLIENT_BACKUP_SUCCESS")
    await switch.command(BackupConfig.of(f"copy startup-config tftp://{DIRECTOR}/refuse"))
    result = [m for m in net.sent if isinstance(m, smi_client.BackupResult)]
    assert not result[-1].success and "Access violation" in result[-1].reason
    assert switch.console[-1].startswith("%SMI-3-SMI_CLIENT_BACKUP_FAILURE")
    await switch.shutdown()


async def test_write_memory_saves_and_tells_the_director(tmp_path: Path) -> None:
    net = network()
    switch = make(tmp_path, net)
    await up(switch)
    switch.running_config = "hostname changed\n!\nend\n"
    await switch.write_memory()
    await switch.shutdown()
    assert switch.flash.startup_config() == "hostname changed\n!\nend\n"
    wm = [m for m in net.sent if isinstance(m, smi_client.WriteMemory)]
    assert wm and wm[0].hostname == "changed" and wm[0].ip == "10.0.0.20"


async def test_on_demand_image_and_config_with_reload(tmp_path: Path) -> None:
    net = network()
    net.files[(DIRECTOR, "new.txt")] = b"c3560-ipservicesk9-tar.150-2.SE11.tar\n"
    net.files[(DIRECTOR, "c3560-ipservicesk9-tar.150-2.SE11.tar")] = b"x" * 1000
    net.files[(DIRECTOR, "cfg2.txt")] = b"hostname second\n!\nend\n"
    switch = make(tmp_path, net)
    await up(switch)
    await switch.command(DownloadImage.at(f"tftp://{DIRECTOR}/new.txt", 23, 59))
    assert switch.image == "c3560-ipservicesk9-tar.150-2.SE11.tar"
    assert switch.boots == 2  # scheduled in 23 h 59 min, not now
    assert switch.console[-1] == "Reload scheduled in 23 hours and 59 minutes by the director"
    await switch.command(DownloadConfig(f"tftp://{DIRECTOR}/cfg2.txt", reload=1))
    assert await switch.wait_for(lambda s: s.boots >= 3 and s.state is State.RUNNING, 5)
    assert switch.hostname == "second"
    await switch.command(DownloadConfig(f"tftp://{DIRECTOR}/absent.txt"))
    await switch.shutdown()
    assert (Op.CONFIG, St.FAILED) in net.statuses()


async def test_reboot_in_the_middle_of_a_download(tmp_path: Path) -> None:
    net = network(image_size=20_000)
    switch = make(tmp_path, net, faults=Faults(reboot_after_bytes=4096))
    await up(switch)
    await switch.shutdown()
    assert any("power lost" in line for line in switch.console)
    assert net.fetched.count(IMAGE) == 2  # the second boot fetched it again, completely
    assert switch.image == IMAGE and switch.boots >= 3


async def test_never_coming_back(tmp_path: Path) -> None:
    net = network()
    switch = make(tmp_path, net, faults=Faults(never_return=True))
    switch.power_on()
    assert await switch.wait_for(lambda s: s.state is State.DEAD, 5)
    await asyncio.sleep(0.15)
    await switch.shutdown()
    hellos = [m for m in net.sent if isinstance(m, smi_client.Hello)]
    assert len(hellos) == 1 and not any(isinstance(m, smi_client.Keepalive) for m in net.sent)


async def test_director_unreachable_is_logged(tmp_path: Path) -> None:
    net = network()
    net.director_down = True
    switch = make(tmp_path, net)
    await up(switch)
    await switch.shutdown()
    assert (
        "%SMI-6-CLIENT_CONN_FAILED: Device (IP address: 10.0.0.20) failed to connect to "
        "Director (IP address : 10.0.0.1)"
    ) in switch.console


async def test_no_vstack_closes_the_port(tmp_path: Path) -> None:
    net = network()
    switch = make(tmp_path, net)
    await up(switch)
    assert net.listening
    await switch.no_vstack()
    assert not net.listening
    switch.reload()
    assert await switch.wait_for(lambda s: s.boots >= 3 and s.state is State.RUNNING, 5)
    assert not net.listening  # stays off across reloads
    await switch.vstack_director(DIRECTOR)
    assert net.listening
    await switch.shutdown()


async def test_legacy_applies_the_tailored_configuration(tmp_path: Path) -> None:
    tailored = (
        b"!\nenable password s3cret\n!\nip http server\nip http authentication enable\n"
        b"!\ndo telnet 10.0.0.1 19140\n!\nvstack director 10.0.0.1\n!\nend\n"
    )
    lease = Lease(
        "10.0.0.21",
        imagelist="vstack/imagelist-default.txt",
        director=DIRECTOR,
        config="vstack/tailored-0050.5601.0020.txt",
        tftp_server=DIRECTOR,
    )
    net = network(lease)
    net.files[(DIRECTOR, "vstack/tailored-0050.5601.0020.txt")] = tailored
    switch = make(tmp_path, net, legacy=True)
    switch.power_on()
    assert await switch.wait_for(lambda s: s.state is State.LEGACY_WAITING, 5)
    assert switch.enable_password == "s3cret"
    assert not any(isinstance(m, smi_client.Hello) for m in net.sent)  # no SMI from legacy
    out = await switch.exec_command(f"archive download-sw /overwrite tftp://{DIRECTOR}/{IMAGE}")
    assert "All software images installed" in out and switch.image == IMAGE
    out = await switch.exec_command(f"copy tftp://{DIRECTOR}/seed.txt startup-config")
    assert out.startswith("[OK")
    assert (await switch.exec_command("copy tftp://10.0.0.1/none startup-config")).startswith("%")
    await switch.exec_command("reload")
    assert await switch.wait_for(lambda s: s.state is State.RUNNING, 5)
    await switch.shutdown()


def test_image_facts() -> None:
    assert image_facts(IMAGE) == ("C2960X-UNIVERSALK9-M", "15.2(7)E9")
    assert image_facts("tftp://1.2.3.4/x/c3750e-universalk9-tar.122-55.SE9.tar") == (
        "C3750E-UNIVERSALK9-M",
        "12.2(55)SE9",
    )
    assert image_facts("odd.bin") == ("ODD.BIN", "unknown")


def test_reload_in_is_a_delay() -> None:
    # Guide, vstack download-image: "reload in 10:00" — "The switch is set to reload in 10 hours".
    assert reload_delay(10, 0) == 10 * 3600
    assert reload_delay(0, 1) == 60
    assert reload_delay(23, 59) == 23 * 3600 + 59 * 60
    assert reload_delay(0, 0) == 0
    for bad in ((24, 0), (0, 60), (-1, 0)):
        with pytest.raises(ValueError):
            reload_delay(*bad)


def test_flash_state_survives_and_bad_state_is_ignored(tmp_path: Path) -> None:
    flash = Flash(tmp_path / "f")
    state = flash.load_state()
    state.images["1"] = IMAGE
    state.autoinstall_aborted = True
    flash.save_state(state)
    assert Flash(tmp_path / "f").load_state() == state
    (tmp_path / "f" / "state.json").write_text("{not json")
    assert Flash(tmp_path / "f").load_state().images == {}
    (tmp_path / "f" / "state.json").write_text('{"images": 3, "ip": 5, "reloads": -1}')
    loaded = Flash(tmp_path / "f").load_state()
    assert loaded.images == {} and loaded.ip == "" and loaded.reloads == 0
    assert not list((tmp_path / "f").glob(".*.tmp"))


@pytest.mark.parametrize(
    "members",
    [
        tuple(Member(n, "WS-C3750E-24PD-S", f"0050.5601.01{n:02d}") for n in range(1, 11)),
        (Member(1, "A", "0050.5601.0101"), Member(1, "A", "0050.5601.0102")),
        (Member(0, "A", "0050.5601.0101"),),
    ],
)
def test_stack_members_are_one_to_nine(members: tuple[Member, ...]) -> None:
    with pytest.raises(ValueError):
        SwitchConfig(
            pid="WS-C3750E-24PD-S", mac="0050.5601.0101", address="10.0.0.9", members=members
        )


async def test_reboot_fault_during_an_on_demand_download(tmp_path: Path) -> None:
    net = network()
    net.files[(DIRECTOR, "new.txt")] = b"c3560-ipservicesk9-tar.150-2.SE11.tar\n"
    net.files[(DIRECTOR, "c3560-ipservicesk9-tar.150-2.SE11.tar")] = b"x" * 10_000
    switch = make(tmp_path, net, faults=Faults(reboot_after_bytes=100_000))
    await up(switch)  # the zero-touch image (5000 bytes) stayed under the limit
    switch.config = replace(switch.config, faults=Faults(reboot_after_bytes=2048))
    await switch.command(DownloadImage.now(f"tftp://{DIRECTOR}/new.txt"))
    assert await switch.wait_for(lambda s: s.boots >= 3 and s.state is State.RUNNING, 5)
    assert switch.image == IMAGE  # the power loss left the old image
    assert any("power lost" in line for line in switch.console)
    await switch.shutdown()
