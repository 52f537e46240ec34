"""The switch from power-on, with a scripted network: port 4786 opens before DHCP answers
(client mode on), and once a zero touch has said hello its keepalives go on while it downloads
or retries, until its reload."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from smartinstall.switch.machine import Faults, FetchError, State, Switch
from smartinstall.wire import smi_client
from tests.unit.switch.test_machine import IMAGE, ScriptedNet, make, network, up


@dataclass
class UnansweredImage(ScriptedNet):
    """The image download goes unanswered (a server that went away) while ``unanswered``."""

    unanswered: bool = True

    async def fetch(
        self, switch: Switch, host: str, port: int, name: str, sink: Callable[[bytes], None]
    ) -> int:
        if self.unanswered and name == IMAGE:
            self.fetched.append(name)
            raise FetchError(f"{name}: timed out", transient=True)
        return await super().fetch(switch, host, port, name, sink)


def keepalives(net: ScriptedNet) -> list[smi_client.Keepalive]:
    return [m for m in net.sent if isinstance(m, smi_client.Keepalive)]


async def test_port_4786_is_open_before_dhcp_answers(tmp_path: Path) -> None:
    net = network(lease=None)  # DHCP never answers
    switch = make(tmp_path, net)
    switch.power_on()
    try:
        assert await switch.wait_for(lambda s: s.state is State.DHCP and net.listening, 5)
        assert switch.ip == "" and len(net.dhcp_calls) >= 1
    finally:
        await switch.shutdown()
    assert not net.listening


async def test_no_port_before_dhcp_for_a_legacy_switch_or_after_no_vstack(tmp_path: Path) -> None:
    legacy_net = network(lease=None)
    legacy = make(tmp_path / "legacy", legacy_net, legacy=True)
    legacy.power_on()
    disabled_net = network(lease=None)
    disabled = make(tmp_path / "disabled", disabled_net)
    disabled.disable_vstack()  # `no vstack`, saved: it stays so across reloads
    disabled.power_on()
    try:
        assert await legacy.wait_for(lambda s: len(legacy_net.dhcp_calls) >= 2, 5)
        assert await disabled.wait_for(lambda s: len(disabled_net.dhcp_calls) >= 2, 5)
        assert not legacy_net.listening and not disabled_net.listening
    finally:
        await legacy.shutdown()
        await disabled.shutdown()


async def test_keepalives_go_on_while_downloads_are_retried(tmp_path: Path) -> None:
    base = network()
    net = UnansweredImage(base.lease, files=base.files)
    switch = make(tmp_path, net)
    switch.power_on()
    try:
        # hello, then the image goes unanswered: zero touch loops through DHCP, keepalives on
        assert await switch.wait_for(
            lambda s: len(keepalives(net)) >= 3 and net.fetched.count(IMAGE) >= 2, 5
        ), switch.console
        first_keepalive = net.sent.index(keepalives(net)[0])
        assert any(isinstance(m, smi_client.Hello) for m in net.sent[:first_keepalive])
        assert switch.boots == 1 and not switch.flash.has_image(IMAGE)
        assert len(net.dhcp_calls) >= 2
        net.unanswered = False
        await up(switch)
        assert switch.image == IMAGE
    finally:
        await switch.shutdown()


async def test_keepalives_stop_at_the_reload(tmp_path: Path) -> None:
    net = network()
    switch = make(tmp_path, net, faults=Faults(tftp_delay=0.2, never_return=True))
    switch.power_on()
    try:
        # keepalives during the (slow) downloads …
        assert await switch.wait_for(lambda s: len(keepalives(net)) >= 2, 5)
        assert switch.state is State.DOWNLOADING
        # … and none once it reloaded (it never comes back: silent)
        assert await switch.wait_for(lambda s: s.state is State.DEAD, 5)
        sent = len(keepalives(net))
        assert not await switch.wait_for(lambda s: len(keepalives(net)) > sent, 0.3)
        assert not net.listening
    finally:
        await switch.shutdown()
