"""The emulated switch's identity and state: what every part of the state machine shares
(its configuration, flash, I/O and the state it is in), its console messages and its hello."""

from __future__ import annotations

import asyncio
import logging

from smartinstall.domain.artifacts import image_facts
from smartinstall.domain.messages import render
from smartinstall.switch.facts import (
    FACTORY_IMAGE,
    Cancellable,
    Lease,
    State,
    SwitchConfig,
    SwitchIo,
    Timer,
    hostname_of,
    loop_timer,
)
from smartinstall.switch.flash import Flash, FlashState
from smartinstall.wire import smi_client

log = logging.getLogger("smartinstall.switch.machine")


class SwitchCore:
    """The state of one emulated switch (:class:`smartinstall.switch.machine.Switch`)."""

    def __init__(self, config: SwitchConfig, flash: Flash, io: SwitchIo) -> None:
        self.config = config
        self.flash = flash
        self.io = io
        self.state = State.OFF
        self.flash_state = FlashState()
        self.ip = ""
        self.director = ""
        self.lease: Lease | None = None
        self.running_config = ""
        self.console: list[str] = []  # system messages and notes, as the console shows them
        self.sequence = 0
        self.listening = False
        self.enable_password = ""
        self.bytes_downloaded = 0
        self.boots = 0
        self._boot_task: asyncio.Task[None] | None = None
        self._keepalive_task: asyncio.Task[None] | None = None
        self._reload_handle: Cancellable | None = None
        # the clock of a "reload in hh:mm": tests put one they turn themselves here, so a
        # reload minutes or hours away is not waited for
        self.reload_timer: Timer = loop_timer
        self._rebooted_once = False
        self._zero_touch = False
        self._unanswered = False  # a download of this zero touch went unanswered
        self._hello_taken = False  # the director took this boot's hello
        self._script_this_boot = ""
        self._commands: set[asyncio.Task[None]] = set()
        self.changed = asyncio.Event()

    # --- identity ------------------------------------------------------------------------

    @property
    def mac(self) -> str:
        return self.config.mac

    @property
    def image(self) -> str:
        return self.flash_state.images.get("1", FACTORY_IMAGE)

    @property
    def hostname(self) -> str:
        return hostname_of(self.running_config) or "Switch"

    def note(self, text: str) -> None:
        self.console.append(text)
        log.info("switch %s: %s", self.mac, text)
        self._changed()

    def message(self, mnemonic: str, **fields: object) -> None:
        self.note(render(mnemonic, **fields))

    def _changed(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()

    def _set_state(self, state: State) -> None:
        if state is not self.state:
            log.debug("switch %s: %s -> %s", self.mac, self.state.value, state.value)
            self.state = state
            self._changed()

    def hello(self) -> smi_client.Hello:
        image, version = image_facts(self.image)
        stack = (
            tuple(
                smi_client.StackMember(number=m.number, pid=m.pid, mac=m.mac, serial=m.serial)
                for m in self.config.members
            )
            if self.config.is_stack
            else ()
        )
        return smi_client.Hello(
            sequence=self._next(), mac=self.mac, pid=self.config.pid,
            serial=self.config.serial_number, sw_version=version, image=image,
            hostname=self.hostname, ip=self.ip, stack=stack,
            supervisor=self.config.supervisor, chassis=self.config.chassis,
            has_startup_config=self.flash.startup_config() is not None,
        )  # fmt: skip

    def _next(self) -> int:
        self.sequence = (self.sequence + 1) & 0xFFFFFFFF
        return self.sequence

    def reload(self) -> None:
        """``reload``: the boot sequence again; the switch's own
        (:meth:`smartinstall.switch.machine.Switch.reload`) runs it."""
        raise NotImplementedError

    def _later_reload(self, delay: float, timer: Timer = loop_timer) -> None:
        if self._reload_handle is not None:
            self._reload_handle.cancel()
        self._reload_handle = timer(delay, self.reload)
