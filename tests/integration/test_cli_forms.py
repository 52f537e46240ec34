"""Command forms of the guide's reference on a real director process, driven from outside
through its local console (``smartinstall console --data-dir`` with piped input): ``vstack
attach`` with piped lines, ``vstack download-image tar … issu`` and the imagelist form, index
lists past 255, ``undebug vstack <area>``, abbreviations settled by the rest of the line, and
tar/untar on every file system of the director."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from smartinstall.switch.shell import TelnetConsole
from smartinstall.wire.smi import DownloadImage
from tests.integration.director_harness import (
    ROOT,
    DirectorProcess,
    ScriptedClient,
    free_port,
    lab_prefix,
)
from tests.integration.test_cli_exec import joined, received
from tests.unit.switch.test_machine import make, network

pytestmark = pytest.mark.timeout(90)

PID = "WS-C2960X-48FPS-L"
IMAGE = "c2960x-universalk9-tar.152-7.E9.tar"


class AttachingDirector(DirectorProcess):
    """The harness's director, told where its clients' telnet consoles listen."""

    telnet_port: int = 0

    def start(self) -> None:
        starts = self.log().count("director ready")
        command = [
            sys.executable, "-m", "smartinstall.cli", "director",
            "--data-dir", str(self.data_dir), "--address", self.address,
            "--dhcp-port", str(self.ports["dhcp"]), "--dhcp-relay-port", str(self.ports["relay"]),
            "--tftp-port", str(self.ports["tftp"]), "--smi-port", str(self.ports["smi"]),
            "--client-smi-port", str(self.ports["client_smi"]),
            "--client-telnet-port", str(self.telnet_port),
            "--keepalive", str(self.keepalive), "--log-file", str(self.log_file),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.wait_for_log("director ready", timeout=20, count=starts + 1)


@pytest.fixture(scope="module")
def director(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AttachingDirector]:
    prefix = lab_prefix()
    config = f"""hostname Director
vstack dhcp-localserver lab
 address-pool {prefix}.0 255.255.255.0
 default-router {prefix}.1
 file-server {prefix}.1
vstack director {prefix}.1
vstack basic
vstack config flash:seed.txt
"""
    process = AttachingDirector(tmp_path_factory.mktemp("forms") / "director", prefix, config)
    process.telnet_port = free_port(f"{prefix}.1", socket.SOCK_STREAM)
    (process.flash / "seed.txt").write_text("hostname seed\n!\nend\n")
    (process.flash / IMAGE).write_bytes(os.urandom(20_000))
    process.start()
    yield process
    process.stop()


async def console(director: DirectorProcess, lines: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "smartinstall.cli", "console", "--data-dir",
         str(director.data_dir)],
        input=lines, capture_output=True, text=True, timeout=60, cwd=ROOT, check=False,
    )  # fmt: skip


@pytest.fixture
async def switch_console(
    director: AttachingDirector, tmp_path: Path
) -> AsyncIterator[tuple[ScriptedClient, TelnetConsole]]:
    """A joined client whose address has an emulated switch's telnet console on it."""
    client = await joined(director, "0050.5604.0001", PID)
    switch = make(tmp_path / "sw", network(lease=None))
    server = TelnetConsole(switch, director.telnet_port, host=client.ip)
    await server.start()
    try:
        yield client, server
    finally:
        await server.close()
        await switch.shutdown()
        await client.close()


async def test_piped_lines_after_vstack_attach_go_to_the_client(
    director: AttachingDirector, switch_console: tuple[ScriptedClient, TelnetConsole]
) -> None:
    # Guide, vstack attach: "Use this command to connect to the client user interface from the
    # director. This command is a wrapper for the telnet command." Piped, the lines after it
    # are typed on the client until it ends the session; the rest go to the director again.
    client, _ = switch_console
    status = await console(director, "show vstack status | include 0050.5604.0001\n")
    number = status.stdout.splitlines()[1].split()[0]
    for target in (number, client.ip):
        result = await console(
            director,
            f"vstack attach {target}\nenable\nshow vstack config\nexit\nshow vstack config\n",
        )
        out = result.stdout
        assert result.returncode == 0, out + result.stderr
        assert f"Director#vstack attach {target}\nTrying {client.ip} ... Open\n" in out, out
        attached, _, after = out.partition(f"[Connection to {client.ip} closed by foreign host]")
        assert "Role: Client (SmartInstall enabled)" in attached  # the switch answered
        assert "Director#enable" not in out and "Director#exit" not in out
        assert after.strip().startswith("Director#show vstack config\nRole: Director"), out


async def test_input_that_ends_while_attached_closes_the_connection(
    director: AttachingDirector, switch_console: tuple[ScriptedClient, TelnetConsole]
) -> None:
    client, _ = switch_console
    result = await console(director, f"vstack attach {client.ip}\nenable\nshow vstack config\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Switch#show vstack config\nRole: Client" in result.stdout, result.stdout
    assert result.stdout.endswith("Switch#\n")  # the input ended: the connection is closed
    assert "closed by foreign host" not in result.stdout
    # a client that is not there: the guide's telnet answer, then the director goes on
    result = await console(director, "vstack attach 250\nshow vstack config\n")
    assert "% Client 250 not found" in result.stdout
    assert "Director#show vstack config\nRole: Director" in result.stdout


async def test_tar_issu_and_imagelist_forms_reach_the_client(director: AttachingDirector) -> None:
    # Guide, "On-demand upgrade with ISSU": `vstack download-image tar bootflash:….tar 1.1.1.3
    # NONE ?` lists issu, override, reload; `… NONE issu ?` lists allow-reload, in, <cr>.
    client = await joined(director, "0050.5604.0002", PID)
    try:
        help_out = await console(
            director,
            f"vstack download-image tar flash:{IMAGE} {client.ip} NONE ?\n"
            f"vstack download-image tar flash:{IMAGE} {client.ip} NONE issu ?\n",
        )
        assert "  issu      Force ISSU Upgrade\n  override  Override the existing image\n" in (
            help_out.stdout
        )
        assert "  allow-reload  Allow Reloading the switch if ISSU fails\n" in help_out.stdout
        result = await console(
            director,
            f"vstack download-image tar flash:{IMAGE} {client.ip} NONE issu allow-reload\n",
        )
        assert result.returncode == 0, result.stdout
        assert f"{client.ip}: image download requested" in result.stdout
        command = await received(client, DownloadImage)
        assert command.imagelist_url.endswith(".txt")

        # Guide, vstack download-image (note: releases before 12.2(55)SE): `vstack
        # download-image {imagelist_file URL ip_address | …} remote_switch_password
        # [override] reload [in time]` — the imagelist is sent to the client as it is.
        (director.flash / "my-imagelist.txt").write_text(f"{IMAGE}\n")
        client.commands.clear()
        result = await console(
            director,
            f"vstack download-image flash:my-imagelist.txt {client.ip} NONE reload in 23:30\n"
            f"vstack download-image flash:nosuch.txt {client.ip} NONE\n",
        )
        assert result.returncode == 1  # the missing imagelist
        assert "%Error opening flash:nosuch.txt (No such file or directory)" in result.stdout
        command = await received(client, DownloadImage)
        assert command.imagelist_url.endswith("/my-imagelist.txt")
        assert (command.reload_hour, command.reload_minute) == (23, 30)
    finally:
        await client.close()


async def test_index_lists_past_255_and_the_guides_bounded_forms(
    director: AttachingDirector,
) -> None:
    # Guide, vstack download-image / vstack join-window-status index: "index name … for
    # example 1,3-5,7,9-11" (no upper bound); clear vstack: "The index number range is from 1
    # to 255"; vstack on-hold-clients: "The client ID range is 0 to 255".
    result = await console(
        director,
        f"vstack download-image tar flash:{IMAGE} index 254-300 NONE\n"
        "vstack join-window-status index 300 allowed\n\n"
        "clear vstack director-db entry 300\n"
        "vstack on-hold-clients remove client-id 256\n",
    )
    out = result.stdout
    assert "% Client 300: not in the director database" in out
    assert "Join window state of client(s) 300 will change to allowed" in out
    assert out.count("% Invalid input detected at '^' marker.") == 2, out
    line = "Director#clear vstack director-db entry 300"
    assert f"{line}\n{' ' * (len(line) - 1)}^\n" in out  # the caret under 300's last digit


async def test_undebug_abbreviations_and_tar_on_every_file_system(
    director: AttachingDirector,
) -> None:
    # Guide, debug vstack: "The undebug vstack command is the same as the no debug vstack
    # command." IOS takes an abbreviation the rest of the line settles (`de vstack …` can
    # only be debug); `de` alone fits debug and delete.
    (director.flash / "cfgs").mkdir()
    (director.flash / "cfgs" / "c3750-0000.0040.4080.REV1").write_text("hostname a\n")
    result = await console(
        director,
        "de vstack download\nshow debugging\nundebug vstack download\nshow debugging\nde\n"
        # Guide, vstack tar: "vstack tar flash: archive.tar flash mytar"; untar and
        # untar/table on the director's other file systems too
        "vstack tar bootflash: forms.tar flash cfgs\nvstack untar/table usb:forms.tar\n"
        "vstack untar flash1:forms.tar flash0:unpacked\ndir usb:unpacked\n",
    )
    out = result.stdout
    assert result.returncode == 1  # the ambiguous `de`
    assert "Director#de vstack download\nSmart Install download debugging is on\n" in out
    assert "Director#undebug vstack download\nSmart Install download debugging is off\n" in out
    assert "Director#show debugging\nDirector#de\n" in out
    assert 'Director#de\n% Ambiguous command:  "de"\n' in out
    assert (
        "Director#vstack untar/table usb:forms.tar\nc3750-0000.0040.4080.REV1 (11 bytes)\n" in out
    )
    assert "Directory of usb:/unpacked/" in out
    assert (director.flash / "unpacked" / "c3750-0000.0040.4080.REV1").read_text() == (
        "hostname a\n"
    )
