"""NAPALM's configuration path against a real director over SSH: the ``ios`` driver's
``load_merge_candidate`` / ``load_replace_candidate`` (SCP to ``flash:``), ``compare_config``
(``show archive config incremental-diffs | differences``), ``commit_config`` (``copy …
running-config`` / ``configure replace … force revert trigger error``, then ``write memory``),
``discard_config`` and ``rollback`` (``configure replace flash:rollback_config.txt force``);
and the SCP server with OpenSSH's own ``scp``.

The director is set up as NAPALM's documentation asks of an IOS device: a privilege-15
user, ``ip scp server enable`` and the configuration archive (``archive`` / ``path`` /
``write-memory``). The guide's "Configuring the Director" (chapter 3) gives the ``vstack``
lines the candidates change.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from tests.integration.director_harness import DirectorProcess
from tests.integration.test_cli_ssh import ENABLE, PASSWORD, authorized_key, start_director
from tests.tools import require_program

napalm = pytest.importorskip("napalm")
pytestmark = pytest.mark.timeout(300)

SETUP = """vstack group custom lab-custom mac
 match mac 0050.5603.0002
 image flash:c2960x.tar
ip scp server enable
archive
 path flash:archive
 write-memory
"""


@pytest.fixture(scope="module")
def director(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DirectorProcess]:
    process = start_director(tmp_path_factory.mktemp("napalm") / "director", extra=SETUP)
    yield process
    process.stop()


def driver(director: DirectorProcess, user: str = "oper") -> Any:
    optional = {"port": director.ports["ssh"], "secret": ENABLE, "use_keys": False,
                "allow_agent": False}  # fmt: skip
    ios = napalm.get_network_driver("ios")
    return ios(director.address, user, PASSWORD, timeout=30, optional_args=optional)


def running(dev: Any) -> str:
    """The running configuration without the ``file prompt quiet`` NAPALM adds for its file
    commands (and takes away when it closes)."""
    text = str(dev.get_config(retrieve="running")["running"])
    return text.replace("file prompt quiet\n", "")


def startup(dev: Any) -> str:
    return str(dev.get_config(retrieve="startup")["startup"])


def test_merge_compare_commit_and_rollback(director: DirectorProcess) -> None:
    """The ``vstack hostname-prefix`` line (guide, "Configuring the Director") merged in,
    compared, committed (running and startup), then rolled back."""
    with driver(director) as dev:
        before = running(dev)
        assert "vstack hostname-prefix" not in before
        dev.load_merge_candidate(config="vstack hostname-prefix BRANCH\n")
        assert (director.flash / "merge_config.txt").read_text() == (
            "vstack hostname-prefix BRANCH\n"
        )
        assert dev.compare_config() == "+vstack hostname-prefix BRANCH"
        dev.commit_config()
        assert "vstack hostname-prefix BRANCH" in running(dev)
        assert "vstack hostname-prefix BRANCH" in startup(dev)
        saved = (director.flash / "rollback_config.txt").read_text()
        assert saved.replace("file prompt quiet\n", "").rstrip("\n") == before
        dev.rollback()
        after = running(dev)
        assert "vstack hostname-prefix" not in after
        assert "vstack hostname-prefix" not in startup(dev)
        assert after == before
        # the archive's `write-memory`: each `write memory` (commit, rollback) kept a copy
        archive = dev.cli(["show archive"])["show archive"]
        assert "There are currently 2 archive configurations saved." in archive
        assert "flash:archive-2 <- Most Recent" in archive
        assert "The next archive file will be named flash:archive-3" in archive
    wait_for(lambda: (director.flash / "archive-2").exists())
    assert "vstack hostname-prefix BRANCH" in (director.flash / "archive-1").read_text()
    assert "vstack hostname-prefix" not in (director.flash / "archive-2").read_text()


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_replace_compare_commit_and_rollback(director: DirectorProcess) -> None:
    with driver(director) as dev:
        before = running(dev)
        candidate = before.replace(
            "vstack group custom lab-custom mac\n match mac 0050.5603.0002\n",
            "vstack group custom lab-custom mac\n match mac 0050.5603.0003\n",
        ).replace("\nend", "\nvstack hostname-prefix SITE\nend")
        assert candidate != before
        dev.load_replace_candidate(config=candidate)
        diff = dev.compare_config()
        assert diff.splitlines() == [
            "vstack group custom lab-custom mac",
            " -match mac 0050.5603.0002",
            " +match mac 0050.5603.0003",
            "+vstack hostname-prefix SITE",
        ], diff
        dev.commit_config()
        now = running(dev)
        assert " match mac 0050.5603.0003" in now and "0050.5603.0002" not in now
        assert "vstack hostname-prefix SITE" in now
        assert "vstack hostname-prefix SITE" in startup(dev)
        dev.rollback()
        assert running(dev) == before
        # a replace that takes lines away
        smaller = before.replace(
            "vstack group custom lab-custom mac\n match mac 0050.5603.0002\n"
            " image flash:c2960x.tar\n",
            "",
        )
        dev.load_replace_candidate(config=smaller)
        assert "-vstack group custom lab-custom mac" in dev.compare_config()
        dev.commit_config()
        assert "lab-custom" not in running(dev)
        dev.rollback()
        assert running(dev) == before


def test_discard_config(director: DirectorProcess) -> None:
    with driver(director) as dev:
        before = running(dev)
        dev.load_merge_candidate(config="vstack hostname-prefix DISCARDED\n")
        assert dev.compare_config() == "+vstack hostname-prefix DISCARDED"
        dev.discard_config()
        assert dev.compare_config() == ""
        assert (director.flash / "merge_config.txt").read_bytes() == b""
        assert running(dev) == before
        full = dev.get_config(retrieve="running", full=True)["running"]
        assert full.replace("file prompt quiet\n", "") == before  # `show running-config all`


def test_bad_candidate_lines_raise_the_drivers_errors(director: DirectorProcess) -> None:
    from napalm.base.exceptions import MergeConfigException, ReplaceConfigException

    with driver(director) as dev:
        before = running(dev)
        dev.load_merge_candidate(config="vstack hostname-prefix GOOD\nvstack no-such-thing 1\n")
        with pytest.raises(MergeConfigException, match="Invalid input detected"):
            dev.commit_config()
        assert running(dev) == before  # the driver rolled the good line back
        dev.load_replace_candidate(config=before.replace("\nend", "\nno-such-command here\nend"))
        with pytest.raises(ReplaceConfigException, match="could not be applied"):
            dev.commit_config()
        assert running(dev) == before  # `revert trigger error` put it back


def test_commit_with_a_revert_timer_confirmed_or_rolled_back(director: DirectorProcess) -> None:
    """``commit_config(revert_in=…)``: IOS's Rollback Confirmed Change (``configure terminal
    revert timer`` for a merge, ``configure replace … revert trigger error timer`` for a
    replace), then ``rollback`` (``configure revert now``) or ``confirm_commit``."""
    with driver(director) as dev:
        before = running(dev)
        dev.load_merge_candidate(config="vstack hostname-prefix TIMED\n")
        dev.commit_config(revert_in=300)
        assert dev.has_pending_commit()
        pending = dev._get_pending_commits()
        assert pending["user"] == "oper" and pending["timer"] == "5 min"
        assert "vstack hostname-prefix TIMED" in running(dev)
        dev.rollback()
        assert not dev.has_pending_commit()
        assert running(dev) == before
        dev.load_replace_candidate(
            config=before.replace("\nend", "\nvstack hostname-prefix TIMED\nend")
        )
        dev.commit_config(revert_in=120)
        assert dev.has_pending_commit()
        dev.confirm_commit()
        assert not dev.has_pending_commit()
        assert "vstack hostname-prefix TIMED" in running(dev)
        assert "vstack hostname-prefix TIMED" in startup(dev)
        dev.load_replace_candidate(config=before)
        dev.commit_config()
        assert running(dev) == before


def test_scp_needs_the_server_enabled_and_privilege_15(
    director: DirectorProcess, tmp_path: Path
) -> None:
    """An SCP upload as a privilege-1 user is refused; so is a path out of flash:."""

    async def scp(user: str, command: str) -> tuple[int | None, bytes]:
        async with asyncssh.connect(
            director.address, director.ports["ssh"], username=user, password=PASSWORD,
            known_hosts=None, client_keys=None,
        ) as conn:  # fmt: skip
            result = await conn.run(command, encoding=None, input=b"")
            return result.exit_status, bytes(result.stdout or b"")

    status, out = asyncio.run(scp("admin", "scp -t flash:/x.txt"))
    assert status == 1 and b"privilege level 15 is needed" in out
    for path in ("flash:/../x.txt", "/etc/passwd", "../x.txt", "nvram:x"):
        status, out = asyncio.run(scp("oper", f"scp -t {path}"))
        assert status == 1 and out.startswith(b"\x01scp: "), (path, out)
    assert not (director.flash.parent / "x.txt").exists()


def test_openssh_scp_to_and_from_flash(director: DirectorProcess, tmp_path: Path) -> None:
    """OpenSSH's ``scp -O`` (the SCP protocol, as IOS speaks it) with a public key: a binary
    file up and back unchanged; a path out of flash: refused."""
    require_program("scp")
    private = authorized_key(director, tmp_path)
    source = tmp_path / "seed-2.txt"
    source.write_bytes(os.urandom(300_000))  # every byte value, as an image has them
    common = ["-O", "-i", str(private), "-P", str(director.ports["ssh"]), "-o", "BatchMode=yes",
              "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
              "-o", "IdentitiesOnly=yes"]  # fmt: skip
    put = subprocess.run(
        ["scp", *common, str(source), f"oper@{director.address}:flash:/seed-2.txt"],
        capture_output=True, timeout=60, text=True,
    )  # fmt: skip
    assert put.returncode == 0, put.stderr
    assert (director.flash / "seed-2.txt").read_bytes() == source.read_bytes()
    back = tmp_path / "back.txt"
    get = subprocess.run(
        ["scp", *common, f"oper@{director.address}:flash:/seed-2.txt", str(back)],
        capture_output=True, timeout=60, text=True,
    )  # fmt: skip
    assert get.returncode == 0, get.stderr
    assert back.read_bytes() == source.read_bytes()
    outside = subprocess.run(
        ["scp", *common, str(source), f"oper@{director.address}:/tmp/seed-2.txt"],
        capture_output=True, timeout=60, text=True,
    )  # fmt: skip
    assert outside.returncode != 0
    assert "absolute path outside flash:" in outside.stderr
