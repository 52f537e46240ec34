"""`smartinstall probe` as a separate process against our own listeners (and a non-SMI peer)."""

from __future__ import annotations

import asyncio
import contextlib
import sys

import pytest

from smartinstall.services.smi import SmiClientListener, SmiDirectorServer, SmiSecurity


async def run_probe(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "smartinstall.cli",
        "probe",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(30):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode() + err.decode()


@pytest.mark.parametrize("key", [None, "probe-test-key-01"])
async def test_probe_reports_client_and_director(key: str | None) -> None:
    security = SmiSecurity.from_config(key)
    async with (
        SmiClientListener(lambda e: None, port=0, security=security) as client,
        SmiDirectorServer(lambda e: None, port=0, security=security) as director,
    ):
        code, out = await run_probe("127.0.0.1", "--port", str(client.port), "--timeout", "3")
        assert (code, out) == (
            0,
            f"127.0.0.1:{client.port}: Smart Install client "
            "(replied with the 24-byte client reply)\n",
        )
        code, out = await run_probe("127.0.0.1", "--port", str(director.port), "--timeout", "3")
        assert code == 3 and "Smart Install director" in out


async def test_probe_reports_something_else_and_unreachable() -> None:
    async def banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # as an SSH server: its banner, then the peer's bytes are no SSH version, and it closes
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n")
        await writer.drain()
        with contextlib.suppress(TimeoutError, ConnectionError):
            async with asyncio.timeout(10):
                await reader.read(64)
        writer.close()

    server = await asyncio.start_server(banner, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        code, out = await run_probe("127.0.0.1", "--port", str(port), "--timeout", "2")
        assert code == 1 and "not Smart Install" in out
    finally:
        server.close()
        await server.wait_closed()
    code, out = await run_probe("127.0.0.1", "--port", str(port), "--timeout", "2")
    assert code == 2 and "cannot connect (Connection refused)" in out
