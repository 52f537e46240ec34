"""``configure replace`` takes IOS's configuration lock: while it runs, the other terminals'
configuration commands get ``Configuration mode is locked by process …``, and ``nolock``
leaves the configuration open. The replace's own passes, a replay and the engine's merges
are never held back."""

from __future__ import annotations

import asyncio
import os
from types import SimpleNamespace

import pytest

from smartinstall.director.eventlog import EventLog
from smartinstall.director.http_bridge import DirectorHttpBridge
from smartinstall.director.state import DirectorState
from smartinstall.director.terminals import build_engine
from smartinstall.domain.settings import DirectorSettings
from smartinstall.ios import Engine, Session, StartupConfig
from smartinstall.services.http.host import CommandRejected
from tests.unit.director.test_archive_commands import run
from tests.unit.director.test_exec_commands import Host, host  # noqa: F401

pytestmark = pytest.mark.timeout(120)

LOCKED = (
    f"Configuration mode is locked by process '{os.getpid()}' user 'console' from "
    "terminal '0'. Please try later.\n"
)


def two_terminals(host: Host) -> tuple[Engine, Session, Session]:  # noqa: F811
    engine, _, _, _ = build_engine(host, StartupConfig.in_directory(host.data_dir))
    return engine, engine.session(level=15), engine.session(level=15)


async def replace_started(engine: Engine, session: Session, line: str) -> asyncio.Task[str]:
    """``line`` typed in ``session``; its work running until it holds the lock (or ends)."""
    assert session.run(line) == ""
    task = asyncio.ensure_future(session.settle())
    while engine.config_lock is None and not task.done():
        await asyncio.sleep(0)
    return task


def test_the_other_terminals_are_locked_out_until_the_replace_ends(host: Host) -> None:  # noqa: F811
    engine, first, second = two_terminals(host)
    candidate = engine.running_config().replace("\nend", "\nvstack hostname-prefix SITE\nend")
    (host.repo.root / "candidate.txt").write_text(candidate)
    (host.repo.root / "merge.txt").write_text("vstack hostname-prefix MERGED\n")

    async def scenario() -> None:
        await run(second, "configure terminal")
        task = await replace_started(engine, first, "configure replace flash:candidate.txt force")
        assert engine.config_lock is not None and not task.done()
        # already in configuration mode: each configuration command is refused; `end` leaves
        assert second.run("vstack hostname-prefix OTHER") == LOCKED
        assert second.run("do show running-config | include hostname-prefix") == ""
        assert second.run("end") == ""
        assert second.run("configure terminal") == LOCKED
        assert second.run("configure replace flash:candidate.txt force") == LOCKED
        assert second.run("copy flash:merge.txt running-config") == LOCKED
        assert (await task).rstrip().endswith("Rollback Done")
        assert engine.config_lock is None
        assert "vstack hostname-prefix SITE" in engine.running_config()
        # released: the other terminal configures again
        await run(second, "configure terminal", "vstack hostname-prefix OTHER", "end")
        assert "vstack hostname-prefix OTHER" in engine.running_config()

    asyncio.run(scenario())


def test_nolock_leaves_the_configuration_open(host: Host) -> None:  # noqa: F811
    engine, first, second = two_terminals(host)
    (host.repo.root / "candidate.txt").write_text(engine.running_config())

    async def scenario() -> None:
        assert first.run("configure replace flash:candidate.txt nolock force") == ""
        task = asyncio.ensure_future(first.settle())
        await asyncio.sleep(0)
        assert engine.config_lock is None
        assert second.run("configure terminal").startswith("Enter configuration commands")
        assert second.run("end") == ""
        assert (await task).rstrip().endswith("Rollback Done")

    asyncio.run(scenario())


def test_a_replace_that_fails_releases_the_lock(host: Host) -> None:  # noqa: F811
    engine, first, second = two_terminals(host)

    async def scenario() -> None:
        out = await run(first, "configure replace flash:missing.txt force")
        assert "%Error opening flash:missing.txt" in out
        assert engine.config_lock is None
        assert second.run("configure terminal").startswith("Enter configuration commands")

    asyncio.run(scenario())


def test_the_rest_api_gets_the_lock_message(host: Host) -> None:  # noqa: F811
    """The REST API's configuration changes go through the same engine: refused alike."""
    engine, first, _ = two_terminals(host)
    (host.repo.root / "candidate.txt").write_text(engine.running_config())
    daemon = SimpleNamespace(
        data_dir=host.data_dir,
        state=DirectorState(),
        settings=DirectorSettings(),
        events=EventLog(),
        terminals=SimpleNamespace(engine=engine),
        director=SimpleNamespace(add_settings_listener=lambda listener: None),
    )
    bridge = DirectorHttpBridge(daemon)  # type: ignore[arg-type]

    async def scenario() -> None:
        task = await replace_started(engine, first, "configure replace flash:candidate.txt force")
        with pytest.raises(CommandRejected) as refused:
            await bridge.configure(["vstack hostname-prefix API"])
        assert refused.value.message == LOCKED.rstrip("\n")
        assert refused.value.applied == 0
        await task
        assert await bridge.configure(["vstack hostname-prefix API"]) == ""
        assert "vstack hostname-prefix API" in engine.running_config()

    asyncio.run(scenario())
