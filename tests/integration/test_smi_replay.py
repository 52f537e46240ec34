"""Replays in authenticated mode, against the real director process and emulated switches on
loopback: a sealed command captured on its way to sw1 is refused by sw2 (it names sw1) and by
sw1 itself, then and after each of its reloads; a sealed report captured on its way to the
director is refused by it, then and after a restart (a kill -9). Meanwhile the honest path keeps
working: both switches' reports are taken and their backups made, before and after the reloads
and the restart.

Threat: docs/security.md, section 4 ("Replay"); the attacker is on-path (A3): it reads the
traffic between sw1 and the director, and sends what it read from an address of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from smartinstall.services.smi import SmiDirectorServer, SmiSecurity, seal_message
from smartinstall.switch.machine import State, Switch
from smartinstall.wire.smi import Header, MessageType
from smartinstall.wire.smi_auth import PeerId
from smartinstall.wire.smi_client import ClientMessageType, Hello
from tests.integration.director_harness import DirectorProcess, lab_prefix
from tests.integration.switch_harness import director_config, make_director, make_switch

pytestmark = pytest.mark.timeout(90)

KEY = "replay-key-0123456789"


@dataclass
class Tap:
    """An on-path attacker's tap: relays each connection made to ``listen`` on to ``target``
    (from the same source address, so the receiver sees the true sender) and keeps every
    message the connecting side sent — SMI sends one message per connection."""

    listen: tuple[str, int]
    target: tuple[str, int]
    captured: list[bytes] = field(default_factory=list)
    server: asyncio.Server | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def __aenter__(self) -> Tap:
        self.server = await asyncio.start_server(self._relay, *self.listen)
        self.listen = (self.listen[0], self.server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.server is not None:
            self.server.close()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        source = writer.get_extra_info("peername")[0]
        sent = bytearray()
        try:
            async with asyncio.timeout(10):
                up_reader, up_writer = await asyncio.open_connection(
                    *self.target, local_addr=(source, 0)
                )

                async def pump(
                    src: asyncio.StreamReader, dst: asyncio.StreamWriter, keep: bytearray | None
                ) -> None:
                    with contextlib.suppress(ConnectionError):
                        while chunk := await src.read(65536):
                            if keep is not None:
                                keep += chunk
                            dst.write(chunk)
                            await dst.drain()
                        if dst.can_write_eof():
                            dst.write_eof()

                await asyncio.gather(pump(reader, up_writer, sent), pump(up_reader, writer, None))
                up_writer.close()
        except (OSError, TimeoutError):
            pass
        finally:
            writer.close()
            if sent:
                self.captured.append(bytes(sent))
            self.tasks.discard(task)

    def of_type(self, msg_type: int) -> list[bytes]:
        return [m for m in self.captured if len(m) >= 16 and Header.decode(m).msg_type == msg_type]


async def replay(target: tuple[str, int], data: bytes, source: str) -> bytes:
    """Send captured bytes from the attacker's address; what came back before the close."""
    reader, writer = await asyncio.open_connection(*target, local_addr=(source, 0))
    try:
        writer.write(data)
        await writer.drain()
        reply = b""
        async with asyncio.timeout(10):
            while chunk := await reader.read(4096):
                reply += chunk
        return reply
    finally:
        writer.close()


async def until(check: object, timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():  # type: ignore[operator]
            await asyncio.sleep(0.02)


async def running(switch: Switch, boots: int, timeout: float = 20.0) -> None:
    ok = await switch.wait_for(lambda s: s.state is State.RUNNING and s.boots >= boots, timeout)
    assert ok, f"{switch.mac} is {switch.state.value} after {switch.boots} boots: {switch.console}"


@dataclass
class Attack:
    """Replays every captured message again and again, until stopped, from its own address."""

    source: str
    targets: list[tuple[tuple[str, int], bytes]]
    replies: list[bytes] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        while not self.stop.is_set():
            for target, data in self.targets:
                with contextlib.suppress(OSError, TimeoutError):
                    self.replies.append(await replay(target, data, self.source))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.05):
                    await self.stop.wait()


@pytest.fixture
async def director(tmp_path: Path) -> AsyncIterator[DirectorProcess]:
    prefix = lab_prefix()
    extra = f"vstack authentication key {KEY}\n"
    process = make_director(tmp_path, prefix, director_config(prefix, extra, script=False))
    process.start()
    yield process
    process.stop()


def backups_of(director: DirectorProcess, switch: Switch) -> int:
    return director.log().count(f"SMI_DIRECTOR_BACKUP_SUCCESS: Client Device ({switch.ip})")


async def honest_backup(director: DirectorProcess, switch: Switch) -> None:
    """The honest path: ``write memory`` on the switch (a sealed report the director must
    take), then the director's backup (a sealed command the switch must take)."""
    before = backups_of(director, switch)
    switch.running_config = switch.running_config.replace("end\n", f"! {time.time_ns()}\nend\n")
    await switch.write_memory()
    await until(lambda: backups_of(director, switch) > before)
    assert switch.flash_state.smi_seen, "the director's counter is kept on flash"


async def test_captured_command_and_report_are_refused_everywhere_and_later(
    director: DirectorProcess, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="smartinstall.services.smi")
    prefix = director.prefix
    attacker = f"{prefix}.66"
    sw1 = make_switch(director, tmp_path, 21, smi_key=KEY)
    sw2 = make_switch(director, tmp_path, 22, smi_key=KEY)
    smi = (director.address, director.ports["smi"])
    client_port = director.ports["client_smi"]
    # sw1's traffic both ways passes the attacker's taps: its reports to the director, and the
    # director's commands to it (its own port 4786 moves behind the tap)
    async with contextlib.AsyncExitStack() as stack:
        reports = await stack.enter_async_context(Tap((director.address, 0), smi))
        sw1.config = replace(sw1.config, director_port=reports.listen[1])
        sw1.io.net.smi_port = client_port + 1  # type: ignore[attr-defined]
        stack.push_async_callback(sw1.shutdown)
        stack.push_async_callback(sw2.shutdown)
        sw1.power_on()
        sw2.power_on()
        assert await sw1.wait_for(lambda s: bool(s.ip), 15), sw1.console
        commands = await stack.enter_async_context(
            Tap((sw1.ip, client_port), (sw1.ip, client_port + 1))
        )
        await running(sw1, 2)
        await running(sw2, 2)
        await honest_backup(director, sw1)
        await honest_backup(director, sw2)
        await until(lambda: commands.of_type(MessageType.BACKUP_CONFIG))
        await until(lambda: reports.of_type(ClientMessageType.WRITE_MEMORY))
        command = commands.of_type(MessageType.BACKUP_CONFIG)[0]
        report = reports.of_type(ClientMessageType.WRITE_MEMORY)[0]
        to_sw1 = (sw1.ip, client_port + 1)
        to_sw2 = (sw2.ip, client_port)
        attack = Attack(attacker, [(to_sw2, command), (to_sw1, command), (smi, report)])
        flood = asyncio.get_running_loop().create_task(attack.run())
        try:
            # while the attack goes on: honest reports and commands, two reloads of sw1, and a
            # restart of the director killed with SIGKILL
            await honest_backup(director, sw2)
            for reloads in (1, 2):
                sw1.reload()
                await running(sw1, 2 + reloads)
                await honest_backup(director, sw1)
                await until(lambda n=reloads: len(attack.replies) > 12 * n)
            director.stop(signal.SIGKILL)
            await asyncio.to_thread(director.start)
            await honest_backup(director, sw1)
            await honest_backup(director, sw2)
            sent = len(attack.replies)
            await until(lambda: len(attack.replies) > sent + 12)
        finally:
            attack.stop.set()
            await flood
    # nothing replayed was taken: no acknowledgement from the director, no command acted on
    assert attack.replies and all(reply == b"" for reply in attack.replies)
    lines = [r.getMessage() for r in caplog.records]
    assert not [
        line for line in lines if re.search(rf"SMI command type \d+ from {attacker}:", line)
    ]
    # each refusal said why: another recipient (sw2), a counter already passed (sw1, before
    # and after each reload)
    refusals = [line for line in lines if line.startswith(f"SMI replayed message from {attacker}")]
    assert any(f"for client {sw1.mac}, not for client {sw2.mac}" in line for line in refusals)
    passed = [line for line in refusals if "was already passed" in line]
    assert len(passed) >= 3, refusals  # one listener of sw1 per boot: three boots attacked
    # the director refused the report, before and after its restart, and said why
    log = director.log()
    invalid = f"%SMI-6-SMI_INVALID_MESSAGE: Received invalid message from Client (IP Address : {attacker})"
    assert log.count(invalid) >= 2
    assert f"from {attacker}" in log and f"client {sw1.mac} was already passed" in log
    assert (director.data_dir / "smi-counters").stat().st_size > 0


async def test_a_report_for_one_director_is_refused_by_another() -> None:
    """Two directors sharing the key: a report sealed for one is refused by the other."""
    security = SmiSecurity.from_config(KEY)
    taken: list[object] = []
    refused: list[object] = []
    hello = Hello(sequence=1, mac="0050.56aa.0031", pid="WS-C2960X-48FPS-L", ip="127.0.0.5")
    async with (
        SmiDirectorServer(taken.append, "127.0.0.1", 0, security) as first,
        SmiDirectorServer(
            taken.append, "127.0.0.2", 0, security, on_invalid=refused.append
        ) as second,
    ):
        sealed = seal_message(
            hello.encode(),
            security,
            sender=PeerId.client(hello.mac),
            recipient=PeerId.director("127.0.0.1"),
            counter=time.time_ns(),
        )
        assert await replay(("127.0.0.1", first.port), sealed, "127.0.0.5") != b""
        assert await replay(("127.0.0.2", second.port), sealed, "127.0.0.5") == b""
        assert len(taken) == 1 and len(refused) == 1
        assert "not for director 127.0.0.2" in refused[0].reason  # type: ignore[attr-defined]
