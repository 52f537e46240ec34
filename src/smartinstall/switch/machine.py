"""The emulated Smart Install client: a state machine in plain code, its I/O behind
:class:`SwitchIo` (real sockets in :mod:`smartinstall.switch.netio`, scripted in the unit tests).

One switch is a handful of coroutines on the caller's event loop (boot, keepalives, a scheduled
reload) — no thread — so thousands run in one process.

Boot: with a startup-config the switch comes up with it (hello, neighbour report, keepalives);
without one it runs zero touch: DHCP, options 125/5 (imagelist), 125/16 (director), 67
(configuration), 150 (TFTP server) and 12 (hostname), TFTP downloads reported with upgrade
status messages, "install" (the running image and the startup-config change on flash) and a
reload, which is a fresh run of the boot sequence. A legacy switch (not Smart Install capable)
applies the tailored configuration it gets in option 67, offers the HTTP exec interface and
calls the director on TCP 19140 (``do telnet <director> 19140``); the director then drives
``archive download-sw``, the configuration copy and ``reload`` over HTTP.

:class:`Switch` is the power-on, boot, zero touch and reload of the state machine; its other
parts, each a base class: :mod:`~smartinstall.switch.core` (identity, state, hello),
:mod:`~smartinstall.switch.reports` (the SMI client side: port 4786, reports, keepalives,
backups), :mod:`~smartinstall.switch.downloads` (TFTP downloads, install),
:mod:`~smartinstall.switch.legacy` (the legacy HTTP exec interface) and
:mod:`~smartinstall.switch.smi_commands` (the director's commands); the facts they share are in
:mod:`~smartinstall.switch.facts` and are importable from here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import replace

from smartinstall.domain.artifacts import image_facts
from smartinstall.switch.facts import (
    DEFAULT_CONFIG,
    FACTORY_IMAGE,
    REPORT_ATTEMPTS,
    REPORT_RESEND_FIRST,
    Cancellable,
    Faults,
    FetchError,
    Lease,
    Member,
    Operation,
    SendError,
    State,
    SwitchConfig,
    SwitchIo,
    Timer,
    UpgradeState,
    _Rebooted,
    hostname_of,
    loop_timer,
    reload_delay,
    split_tftp_url,
    with_hostname,
)
from smartinstall.switch.smi_commands import DirectorCommands

__all__ = [
    "DEFAULT_CONFIG",
    "FACTORY_IMAGE",
    "REPORT_ATTEMPTS",
    "REPORT_RESEND_FIRST",
    "Cancellable",
    "Faults",
    "FetchError",
    "Lease",
    "Member",
    "Operation",
    "SendError",
    "State",
    "Switch",
    "SwitchConfig",
    "SwitchIo",
    "Timer",
    "UpgradeState",
    "hostname_of",
    "image_facts",
    "loop_timer",
    "reload_delay",
    "split_tftp_url",
    "with_hostname",
]

log = logging.getLogger(__name__)

# --- the switch --------------------------------------------------------------------------


class Switch(DirectorCommands):
    """One emulated switch. Drive it with :meth:`power_on`; console actions are methods."""

    # --- lifecycle -----------------------------------------------------------------------

    def power_on(self) -> asyncio.Task[None]:
        """Start the boot sequence in the background; returns its task."""
        self._boot_task = asyncio.get_running_loop().create_task(self._boot_guarded())
        return self._boot_task

    async def shutdown(self) -> None:
        """Power off: every task stops, the ports close."""
        await self._stop_activity()
        if self._boot_task is not None and self._boot_task is not asyncio.current_task():
            self._boot_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._boot_task
        self._set_state(State.OFF)

    async def _stop_activity(self) -> None:
        if self._reload_handle is not None:
            self._reload_handle.cancel()
            self._reload_handle = None
        current = asyncio.current_task()
        tasks = [t for t in (*self._commands, self._keepalive_task) if t and t is not current]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._keepalive_task = None
        if self.listening:
            await self.io.unlisten(self)
            self.listening = False
        if self.config.legacy:
            await self.io.legacy_down(self)

    def reload(self) -> None:
        """``reload``: the boot sequence again, with what is on flash."""
        self.note("Reload requested")
        loop = asyncio.get_running_loop()
        old = self._boot_task

        async def again() -> None:
            await self._stop_activity()
            if old is not None and old is not asyncio.current_task() and not old.done():
                old.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await old
            await self._boot_guarded()

        self._boot_task = loop.create_task(again())

    async def _boot_guarded(self) -> None:
        try:
            await self._boot()
        except _Rebooted:
            self.note("System restarted (power lost during a download)")
            self.reload()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("switch %s: boot failed", self.mac)
            self._set_state(State.DEAD)

    async def _boot(self) -> None:
        self.boots += 1
        self._script_this_boot = ""
        self._set_state(State.BOOTING)
        self.flash_state = self.flash.load_state()
        self.flash_state.reloads += 1
        self.flash.save_state(self.flash_state)
        self.director = self.flash_state.director
        self.ip = self.flash_state.ip
        startup = self.flash.startup_config()
        if self.config.faults.never_return and self.boots > 1:
            self.note("switch does not come back after its reload (fault)")
            self._set_state(State.DEAD)
            return
        if not self.config.legacy and self.flash_state.vstack_enabled:
            try:
                await self._listen()  # client mode on: port 4786 from power-on, before DHCP
            except OSError as error:
                self.note(f"port 4786 not open before DHCP: {error}")
        if startup is not None:
            await self._come_up(startup)
            return
        if self.flash_state.autoinstall_aborted:
            self.running_config = DEFAULT_CONFIG
            self._set_state(State.ABORTED)
            return
        await self._zero_touch_run()

    # --- up with a configuration ----------------------------------------------------------

    async def _come_up(self, startup: str) -> None:
        """Up with a configuration: port 4786 open and hello said before RUNNING is set."""
        self.running_config = startup
        self._zero_touch = False
        self._apply_lines(startup, save=False)
        http = any(line.split() == ["ip", "http", "server"] for line in startup.splitlines())
        if self.config.legacy and self.enable_password and self.ip and http:
            # its own configuration offers the HTTP exec interface: on-demand updates
            await self.io.legacy_up(self, "", 0)
        active = not self.config.legacy and self.flash_state.vstack_enabled and bool(self.ip)
        if not active:
            self._set_state(State.RUNNING)
            return
        script = self.flash_state.pending_script
        self._script_this_boot = script  # the director may send it again on this hello
        await self._listen()
        if self.director:
            # a hello the director did not take is said again with the next keepalives
            self._hello_taken = await self._say_hello()
        self._set_state(State.RUNNING)
        if self.director:
            if script:
                self.flash_state.pending_script = ""
                self.flash.save_state(self.flash_state)
                await self.run_script(script)
            self._keepalive_task = asyncio.get_running_loop().create_task(self._keepalives())

    # --- zero touch ------------------------------------------------------------------------

    async def _zero_touch_run(self) -> None:
        """Zero touch until it installs. A download the server did not answer (the director
        restarting, a link down) installs nothing: the switch asks DHCP again and starts over,
        as IOS does ("the client can go into an infinite loop"); only a file the server
        refuses is given up (a missing configuration: the default one)."""
        attempt = 1
        while not await self._zero_touch_once():
            attempt += 1
            self.note(
                f"zero touch did not complete: attempt {attempt} in {self.config.dhcp_retry:g}s"
            )
            await asyncio.sleep(self.config.dhcp_retry)

    async def _zero_touch_once(self) -> bool:
        """One zero touch; False when a download went unanswered and nothing was installed."""
        self._zero_touch = True
        self._unanswered = False
        self.running_config = DEFAULT_CONFIG
        lease = None
        while lease is None or not (lease.smart_install or lease.config):
            self._set_state(State.DHCP)
            lease = await self.io.dhcp(self)
            if lease is not None and not (lease.smart_install or lease.config):
                self.ip = lease.ip  # an address, but nothing to install (yet)
                self._set_state(State.WAITING)
            if lease is None or not (lease.smart_install or lease.config):
                await asyncio.sleep(self.config.dhcp_retry)
        self.lease = lease
        self.ip = lease.ip
        if self.config.legacy:
            await self._legacy_zero_touch(lease)
            return True
        if lease.director:
            self.director = lease.director
            await self._listen()
            self._hello_taken = await self._say_hello()
            # known to the director: keepalives while it downloads or retries, so it is not
            # marked Inactive mid-download; they stop at the reload
            self._keep_alive()
            if self.config.is_stack or self.config.supervisor:
                # The director learnt the members (or the 4500 supervisor) from the hello: ask
                # again for the stack's imagelist (one image per member) or the chassis' group.
                again = await self.io.dhcp(self, refresh=lease.ip)
                if again is not None and again.smart_install:
                    lease = again
                    self.lease = again
        self._set_state(State.DOWNLOADING)
        server = lease.tftp_server or lease.director or ""
        images: dict[str, str] = {}
        if lease.imagelist:
            images = await self._download_images(server, self.config.tftp_port, lease.imagelist)
        config_text = None
        if lease.config and not self._unanswered:
            config_text = await self._download_config(server, self.config.tftp_port, lease.config)
            if config_text is not None and self._locate(server, 0, lease.config)[0] != (
                self.director
            ):
                # the director sees the read of a file it serves; from another server (a
                # third-party TFTP server) only this report tells it
                await self.report(Operation.CONFIG, UpgradeState.DONE, file=lease.config)
        if self._unanswered:
            return False
        if config_text is None:
            config_text = DEFAULT_CONFIG
        if lease.hostname and hostname_of(config_text) in (None, "Switch"):
            config_text = with_hostname(config_text, lease.hostname)
        self._install(images, config_text)
        self.reload()
        return True

    # --- console ---------------------------------------------------------------------------

    def console_keystroke(self) -> None:
        """Someone typed on the console: during zero touch the process stops for good."""
        if not self._zero_touch or self.state in (State.RUNNING, State.ABORTED):
            return
        self.message("AUTOINSTALL", status="aborted")
        self.flash_state.autoinstall_aborted = True
        self.flash.save_state(self.flash_state)
        boot = self._boot_task
        if boot is not None and boot is not asyncio.current_task():
            boot.cancel()
        self._set_state(State.ABORTED)

    def write_erase(self) -> None:
        """``write erase``: no startup-config (and zero touch again at the next reload)."""
        self.flash.erase_startup()
        self.flash_state = replace(
            self.flash_state,
            autoinstall_aborted=False,
            ip="",
            director="",
            pending_script="",
            vstack_enabled=True,
        )
        self.flash.save_state(self.flash_state)

    async def wait_for(self, predicate: Callable[[Switch], bool], timeout: float) -> bool:
        """Wait until ``predicate(self)`` holds (tests, the lab)."""
        try:
            async with asyncio.timeout(timeout):
                while not predicate(self):
                    # state changes wake us at once; anything else is seen within 50 ms
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.changed.wait(), 0.05)
        except TimeoutError:
            return False
        return True
