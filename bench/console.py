"""The director's local console (DATA_DIR/cli.sock, see smartinstall.services.cli_local), piped
mode: the lines are sent, the output read to the end. What `smartinstall console --data-dir DIR`
does with standard input from a pipe, without starting a Python process per command."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from pathlib import Path

SOCKET_NAME = "cli.sock"
HEADER = b"SMARTINSTALL-CONSOLE 1 pipe\n"


@dataclass
class ConsoleRun:
    output: str  # prompts, echoed lines and outputs, without the final status marker
    seconds: float  # from connecting to the end of the output
    failed_lines: int | None  # the director's count of rejected lines (None: no marker)


async def run_console(data_dir: Path, lines: list[str], timeout: float = 30.0) -> ConsoleRun:
    """Run `lines` on the director's console; raises OSError or TimeoutError."""
    start = time.perf_counter()
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_unix_connection(str(data_dir / SOCKET_NAME))
        try:
            writer.write(HEADER + "".join(f"{line}\n" for line in lines).encode())
            await writer.drain()
            writer.write_eof()
            data = await reader.read()
        finally:
            writer.close()
    seconds = time.perf_counter() - start
    failed = None
    marker = data.rfind(b"\x00")
    if marker >= 0:
        tail = data[marker + 1 :].strip()
        failed = int(tail) if tail.isdigit() else None
        data = data[:marker]
    return ConsoleRun(data.decode("utf-8", "replace"), seconds, failed)


_FIELDS = {
    "p50": r"p50\s*[=:]?\s*([0-9]+(?:\.[0-9]+)?)",
    "p99": r"p99\s*[=:]?\s*([0-9]+(?:\.[0-9]+)?)",
    "max": r"max\s*[=:]?\s*([0-9]+(?:\.[0-9]+)?)",
    "samples": r"samples\s*[=:]?\s*([0-9]+)",
}


def parse_loop_lag(output: str) -> dict[str, float] | None:
    """The ``Event loop lag`` line of ``show vstack internal`` (milliseconds since the
    director started): {"p50", "p99", "max", "samples"}, or None when there is none. Of
    several such lines, the one that says ``since start`` (else the first) counts."""
    lines = [line for line in output.splitlines() if line.strip().startswith("Event loop lag")]
    lines.sort(key=lambda line: "since start" not in line)
    for line in lines:
        found: dict[str, float] = {}
        for key, pattern in _FIELDS.items():
            match = re.search(pattern, line)
            if match is None:
                break
            found[key] = float(match.group(1))
        else:
            return found
    return None


_MAC = re.compile(r"\b[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}\b", re.IGNORECASE)


def count_device_rows(output: str) -> int:
    """Rows of ``show vstack status`` (each names its device's MAC)."""
    return sum(1 for line in output.splitlines() if _MAC.search(line))
