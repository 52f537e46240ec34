"""The public Smart Install detection probe (Cisco's smi_check): who answers on TCP 4786.

A client answers the probe with the exact 24-byte reply, a director closes without a word, and
an endpoint that cannot parse it may send the 20-byte status reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from dataclasses import dataclass

from smartinstall.services.smi_listener import SMI_PORT
from smartinstall.wire.smi import CLIENT_PROBE_REPLY, PROBE, STATUS_REPLY

# --------------------------------------------------------------------------------- probing


class ProbeVerdict(enum.Enum):
    CLIENT = "Smart Install client"
    DIRECTOR = "Smart Install director"
    SMI_STATUS = "Smart Install (status reply to the probe)"
    OTHER = "not Smart Install"
    NO_ANSWER = "no answer"


@dataclass(frozen=True)
class ProbeResult:
    verdict: ProbeVerdict
    reply: bytes

    @property
    def detail(self) -> str:
        if self.verdict is ProbeVerdict.CLIENT:
            return "replied with the 24-byte client reply"
        if self.verdict is ProbeVerdict.DIRECTOR:
            return "accepted the probe and closed without a reply"
        if self.verdict is ProbeVerdict.SMI_STATUS:
            return "replied with the 20-byte status reply"
        if self.verdict is ProbeVerdict.NO_ANSWER:
            return "connection open but no reply before the timeout"
        return f"replied {len(self.reply)} bytes: {self.reply[:32].hex()}"


def classify_probe_reply(reply: bytes, closed: bool) -> ProbeVerdict:
    """Cisco's smi_check rule: the exact 24 bytes mean client, an empty read means director."""
    if reply == CLIENT_PROBE_REPLY:
        return ProbeVerdict.CLIENT
    if not reply:
        return ProbeVerdict.DIRECTOR if closed else ProbeVerdict.NO_ANSWER
    if reply == STATUS_REPLY:
        return ProbeVerdict.SMI_STATUS
    return ProbeVerdict.OTHER


async def probe(host: str, port: int = SMI_PORT, timeout: float = 5.0) -> ProbeResult:
    """Send the public probe and classify the answer. Raises OSError/TimeoutError on connect."""
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(host, port)
    reply = b""
    closed = False
    try:
        writer.write(PROBE)
        await writer.drain()
        try:
            async with asyncio.timeout(timeout):
                while len(reply) < len(CLIENT_PROBE_REPLY) + 1:
                    chunk = await reader.read(64)
                    if not chunk:
                        closed = True
                        break
                    reply += chunk
        except TimeoutError:
            pass
        except ConnectionError:
            closed = True
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    return ProbeResult(classify_probe_reply(reply, closed), reply)
