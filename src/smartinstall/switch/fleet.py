"""Many emulated switches on one event loop (the lab and the fleet benchmark build on it).

Each switch gets its own loopback address (its relay address for DHCP), MAC and flash
directory; all share the director's endpoints. Nothing here starts a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from smartinstall.switch.flash import Flash
from smartinstall.switch.machine import Faults, State, Switch, SwitchConfig
from smartinstall.switch.netio import NetConfig, NetIo


@dataclass(frozen=True)
class FleetSpec:
    """``count`` switches of ``pid`` with addresses from ``first_address`` upwards."""

    count: int
    pid: str
    first_address: str
    flash_root: Path
    net: NetConfig
    director_port: int = 4786
    tftp_port: int = 69
    keepalive: float = 60.0
    dhcp_retry: float = 2.0
    mac_prefix: str = "0050.57"
    faults: Faults = field(default_factory=Faults)

    def addresses(self) -> Iterator[str]:
        start = ipaddress.IPv4Address(self.first_address)
        for i in range(self.count):
            yield str(start + i)

    def mac(self, index: int) -> str:
        raw = (self.mac_prefix.replace(".", "") + f"{index:06x}")[:12]
        return f"{raw[0:4]}.{raw[4:8]}.{raw[8:12]}"


class Fleet:
    def __init__(self, spec: FleetSpec) -> None:
        if not 0 < spec.count <= 0xFFFFFF:
            raise ValueError("fleet size out of range")
        self.spec = spec
        self.switches: list[Switch] = []
        for index, address in enumerate(spec.addresses()):
            config = SwitchConfig(
                pid=spec.pid, mac=spec.mac(index + 1), address=address,
                director_port=spec.director_port, tftp_port=spec.tftp_port,
                keepalive=spec.keepalive, dhcp_retry=spec.dhcp_retry, faults=spec.faults,
            )  # fmt: skip
            flash = Flash(spec.flash_root / config.mac.replace(".", ""))
            self.switches.append(Switch(config, flash, NetIo(replace(spec.net))))

    def power_on(self) -> None:
        for switch in self.switches:
            switch.power_on()

    async def wait_until_up(self, timeout: float) -> bool:
        """True once every switch runs its installed configuration (after its reload)."""
        try:
            async with asyncio.timeout(timeout):
                while not all(self._up(s) for s in self.switches):
                    await asyncio.sleep(0.1)
        except TimeoutError:
            return False
        return True

    @staticmethod
    def _up(switch: Switch) -> bool:
        return switch.state is State.RUNNING and switch.boots >= 2

    def states(self) -> Counter[str]:
        return Counter(s.state.value for s in self.switches)

    def bytes_downloaded(self) -> int:
        return sum(s.bytes_downloaded for s in self.switches)

    async def shutdown(self) -> None:
        for switch in self.switches:
            with contextlib.suppress(Exception):
                await switch.shutdown()
