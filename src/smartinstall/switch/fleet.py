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
    """``count`` switches of ``pid`` with addresses from ``first_address`` upwards.

    A fleet spread over several processes gives each process every ``stride``-th switch of
    the whole, from number ``first_index`` on: switch k of this part is number
    ``first_index + k * stride`` of the whole (its address ``first_address`` + that number,
    its MAC ``mac(number + 1)``), so the parts never collide.
    """

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
    first_index: int = 0
    stride: int = 1

    def numbers(self) -> Iterator[int]:
        """The numbers in the whole fleet of this part's switches."""
        for k in range(self.count):
            yield self.first_index + k * self.stride

    def addresses(self) -> Iterator[str]:
        start = ipaddress.IPv4Address(self.first_address)
        for number in self.numbers():
            yield str(start + number)

    def mac(self, index: int) -> str:
        raw = (self.mac_prefix.replace(".", "") + f"{index:06x}")[:12]
        return f"{raw[0:4]}.{raw[4:8]}.{raw[8:12]}"


class Fleet:
    def __init__(self, spec: FleetSpec) -> None:
        if not 0 < spec.count <= 0xFFFFFF:
            raise ValueError("fleet size out of range")
        if spec.first_index < 0 or spec.stride < 1:
            raise ValueError("first_index must be 0 or more and stride 1 or more")
        if spec.first_index + (spec.count - 1) * spec.stride + 1 > 0xFFFFFF:
            raise ValueError("fleet numbers out of range")
        self.spec = spec
        self.switches: list[Switch] = []
        for number, address in zip(spec.numbers(), spec.addresses(), strict=True):
            config = SwitchConfig(
                pid=spec.pid, mac=spec.mac(number + 1), address=address,
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
        """Image bytes the switches wrote to flash."""
        return sum(s.bytes_downloaded for s in self.switches)

    def tftp_bytes(self) -> int:
        """Every byte the switches received by TFTP (images, imagelists, configurations)."""
        return sum(s.io.tftp_bytes for s in self.switches if isinstance(s.io, NetIo))

    async def shutdown(self) -> None:
        for switch in self.switches:
            with contextlib.suppress(Exception):
                await switch.shutdown()
