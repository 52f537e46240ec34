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
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Protocol

from smartinstall.domain.artifacts import image_facts, parse_imagelist, parse_post_install
from smartinstall.domain.errors import DomainError
from smartinstall.domain.messages import render
from smartinstall.switch.flash import Flash, FlashState
from smartinstall.wire import smi_client
from smartinstall.wire.smi import BackupConfig, DownloadConfig, DownloadImage, Execute

log = logging.getLogger(__name__)

Operation = smi_client.Operation
UpgradeState = smi_client.UpgradeState

DEFAULT_CONFIG = "!\nhostname Switch\n!\nend\n"
FACTORY_IMAGE = "factory-universalk9-mz.122-55.SE.bin"


class State(enum.Enum):
    OFF = "off"
    BOOTING = "booting"
    DHCP = "dhcp"
    DOWNLOADING = "downloading"
    INSTALLING = "installing"
    RUNNING = "running"  # up with a configuration
    WAITING = "waiting"  # zero touch: an address but no Smart Install options yet
    ABORTED = "aborted"  # someone typed on the console during zero touch
    LEGACY_WAITING = "legacy-waiting"  # tailored configuration applied, director to drive
    DEAD = "dead"  # fault: never comes back


class FetchError(Exception):
    """A TFTP download that failed (missing file, timeout, size mismatch). ``transient``: the
    server did not answer or went away (a later try may succeed), as opposed to a refusal."""

    def __init__(self, message: str, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class SendError(Exception):
    """The director did not take a message. ``transient``: no answer came (unreachable, or
    busy refusing connections under a flood), so the message is sent again; a refusal in an
    acknowledgement is not."""

    def __init__(self, message: str, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


#: a report the director did not answer is sent again after 0.25 s, 0.5 s, 1 s ... (doubling),
#: as long as the waits add up to at most one keepalive period and REPORT_ATTEMPTS in all
REPORT_RESEND_FIRST = 0.25
REPORT_ATTEMPTS = 6


# --- facts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lease:
    """A DHCP answer as the switch reads it."""

    ip: str
    imagelist: str | None = None  # 125/5
    director: str | None = None  # 125/16
    config: str | None = None  # 67
    tftp_server: str | None = None  # 150
    hostname: str | None = None  # 12

    @property
    def smart_install(self) -> bool:
        return self.director is not None or self.imagelist is not None


@dataclass(frozen=True)
class Member:
    number: int
    pid: str
    mac: str
    serial: str = ""


@dataclass(frozen=True)
class Faults:
    """Failures to play. ``reboot_after_bytes``: the first image download reboots the switch
    after that many bytes; ``never_return``: after the install reload it stays silent (no
    hello, no keepalives); ``tftp_delay``: seconds before each download (a slow server/link)."""

    reboot_after_bytes: int | None = None
    never_return: bool = False
    tftp_delay: float = 0.0


@dataclass(frozen=True)
class SwitchConfig:
    pid: str
    mac: str
    address: str  # the switch's own loopback address before DHCP (its relay/giaddr address)
    serial: str = ""
    version_id: str = "V01"  # the "Version ID" of show version (the VID of the UDI)
    legacy: bool = False
    members: tuple[Member, ...] = ()  # a stack: members 1-9 (member 1 is this switch)
    supervisor: str = ""  # Catalyst 4500
    chassis: str = ""
    neighbors: tuple[smi_client.Neighbor, ...] = ()  # CDP table it reports
    upstream_port: str = ""  # option 82 circuit id
    upstream_mac: str = ""  # option 82 remote id
    director_port: int = 4786
    tftp_port: int = 69  # port of the option 150 server
    keepalive: float = 60.0
    dhcp_retry: float = 5.0
    faults: Faults = field(default_factory=Faults)

    def __post_init__(self) -> None:
        if len(self.members) > 9:
            raise ValueError("a stack has at most nine members")
        numbers = [m.number for m in self.members]
        if any(not 1 <= n <= 9 for n in numbers) or len(set(numbers)) != len(numbers):
            raise ValueError("stack member numbers are 1-9, each once")
        if self.keepalive <= 0 or self.dhcp_retry <= 0:
            raise ValueError("keepalive and DHCP retry periods must be positive")

    @property
    def is_stack(self) -> bool:
        return len(self.members) > 1

    @property
    def serial_number(self) -> str:
        return self.serial or f"FOC{self.mac.replace('.', '')[-8:].upper()}"


class SwitchIo(Protocol):
    """Everything a switch does on the network."""

    async def dhcp(self, switch: Switch, refresh: str | None = None) -> Lease | None:
        """DISCOVER/REQUEST (or only REQUEST for ``refresh``, an address already leased)."""

    async def fetch(
        self, switch: Switch, host: str, port: int, name: str, sink: Callable[[bytes], None]
    ) -> int:
        """Download ``name`` from ``host:port``, handing each block to ``sink``; the size.
        Raises FetchError."""

    async def upload(self, switch: Switch, url: str, data: bytes) -> None:
        """TFTP write from the switch's own address. Raises FetchError."""

    async def send(self, switch: Switch, message: smi_client.ClientMessage) -> None:
        """One message to the director. Raises SendError."""

    async def listen(self, switch: Switch) -> None:
        """Open port 4786 on the switch's address (commands go to ``switch.command``)."""

    async def unlisten(self, switch: Switch) -> None: ...

    async def legacy_up(self, switch: Switch, director: str, trigger_port: int) -> None:
        """Legacy: offer the HTTP exec interface and call the director's trigger port (no
        call when ``trigger_port`` is 0: a configuration of its own with ``ip http server``)."""

    async def legacy_down(self, switch: Switch) -> None: ...


# --- helpers -----------------------------------------------------------------------------


def hostname_of(config: str) -> str | None:
    for line in config.splitlines():
        words = line.split()
        if len(words) == 2 and words[0] == "hostname":
            return words[1]
    return None


def with_hostname(config: str, hostname: str) -> str:
    lines = [line for line in config.splitlines() if not line.startswith("hostname ")]
    return "\n".join([f"hostname {hostname}", *lines]) + "\n"


def split_tftp_url(url: str) -> tuple[str, int, str]:
    from smartinstall.services.tftp_client import parse_tftp_url

    try:
        return parse_tftp_url(url)
    except ValueError as error:
        raise FetchError(str(error)) from None


class Cancellable(Protocol):
    def cancel(self) -> None: ...


#: Runs a callback after a delay in seconds: the loop's ``call_later`` by default.
Timer = Callable[[float, Callable[[], None]], Cancellable]


def loop_timer(delay: float, callback: Callable[[], None]) -> Cancellable:
    return asyncio.get_running_loop().call_later(delay, callback)


def reload_delay(hours: int, minutes: int) -> float:
    """Seconds until a ``reload in hh:mm``: a delay, as IOS's ``reload in`` and the guide's
    example ("vstack download-image built-in 2960 24 mypassword reload in 10:00" — "The switch
    is set to reload in 10 hours"); 00:00 is now (SIET's "reload time 00:00")."""
    if not (0 <= hours <= 23 and 0 <= minutes <= 59):
        raise ValueError(f"reload in {hours}:{minutes} is not a valid hh:mm")
    return float(hours * 3600 + minutes * 60)


class _Rebooted(Exception):
    """Fault: the switch lost power in the middle of a download."""


# --- the switch --------------------------------------------------------------------------


class Switch:
    """One emulated switch. Drive it with :meth:`power_on`; console actions are methods."""

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

    async def _listen(self) -> None:
        """Open port 4786 (the I/O moves it to the leased address when that one differs)."""
        await self.io.listen(self)
        self.listening = True

    def _keep_alive(self) -> None:
        """Keepalives from now until the reload (or ``no vstack``), if not running yet."""
        if self._keepalive_task is None or self._keepalive_task.done():
            self._keepalive_task = asyncio.get_running_loop().create_task(self._keepalives())

    async def _say_hello(self) -> bool:
        if not await self.send(self.hello()):
            return False
        if self.config.neighbors:
            await self.send(
                smi_client.NeighborReport(
                    sequence=self._next(), mac=self.mac, neighbors=self.config.neighbors
                )
            )
        return True

    async def send(self, message: smi_client.ClientMessage) -> bool:
        """One report (hello, keepalive, upgrade status, backup result, write memory); one the
        director did not answer (a flood refused it, a restart) is sent again with backoff."""
        delay, waited = REPORT_RESEND_FIRST, 0.0
        for attempt in range(1, REPORT_ATTEMPTS + 1):
            try:
                await self.io.send(self, message)
            except SendError as error:
                again = error.transient and attempt < REPORT_ATTEMPTS
                if again and waited + delay <= self.config.keepalive:
                    log.debug("switch %s: %s; sent again in %g s", self.mac, error, delay)
                    await asyncio.sleep(delay)
                    waited, delay = waited + delay, delay * 2
                    continue
                log.info("switch %s: %s (%d attempts)", self.mac, error, attempt)
                if self.ip and self.director:
                    self.message("CLIENT_CONN_FAILED", client_ip=self.ip, director_ip=self.director)
                return False
            return True
        return False

    async def _keepalives(self) -> None:
        period = self.config.keepalive
        uptime = 0.0
        while True:
            await asyncio.sleep(period)
            uptime += period
            if not self._hello_taken:
                self._hello_taken = await self._say_hello()
                continue
            await self.send(
                smi_client.Keepalive(
                    sequence=self._next(), mac=self.mac, ip=self.ip, uptime=int(uptime)
                )
            )

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

    def _install(self, images: dict[str, str], config_text: str | None) -> None:
        self._set_state(State.INSTALLING)
        self.flash_state.images.update(images)
        self.flash_state.ip = self.ip
        self.flash_state.director = self.director
        self.flash.save_state(self.flash_state)
        if config_text is not None:
            self.flash.save_startup(config_text)
        self.note(f"installed image {self.image}" + (" and configuration" if config_text else ""))

    async def _fetch_text(self, host: str, port: int, name: str, limit: int = 1 << 20) -> str:
        chunks: list[bytes] = []
        size = 0

        def sink(data: bytes) -> None:
            nonlocal size
            size += len(data)
            if size > limit:
                raise FetchError(f"{name} is larger than {limit} bytes")
            chunks.append(data)

        await self._delay()
        await self.io.fetch(self, host, port, name, sink)
        return b"".join(chunks).decode("utf-8", errors="replace")

    async def _delay(self) -> None:
        if self.config.faults.tftp_delay > 0:
            await asyncio.sleep(self.config.faults.tftp_delay)

    def _locate(self, host: str, port: int, entry: str) -> tuple[str, int, str]:
        if entry.lower().startswith("tftp://"):
            return split_tftp_url(entry)
        return host, port, entry.split(":", 1)[-1].lstrip("/") if ":" in entry else entry

    async def _download_images(self, host: str, port: int, imagelist: str) -> dict[str, str]:
        """The imagelist and its images; {member: image} of those verified, {} on failure."""
        await self.report(Operation.IMAGE, UpgradeState.STARTED, file=imagelist)
        try:
            where = self._locate(host, port, imagelist)
            names = parse_imagelist(await self._fetch_text(*where))
        except (FetchError, DomainError) as error:
            self._unanswered |= isinstance(error, FetchError) and error.transient
            await self.report(
                Operation.IMAGE, UpgradeState.FAILED, file=imagelist, reason=f"imagelist: {error}"
            )
            return {}
        numbers = [m.number for m in self.config.members] if self.config.is_stack else [1]
        chosen = {str(n): names[min(i, len(names) - 1)] for i, n in enumerate(numbers)}
        done: dict[str, str] = {}
        fetched: dict[str, int] = {}
        for member, name in chosen.items():
            try:
                if name not in fetched:
                    fetched[name] = await self._download_image(host, port, name)
            except FetchError as error:
                self._unanswered |= error.transient
                await self.report(
                    Operation.IMAGE, UpgradeState.FAILED, file=name, reason=str(error)
                )
                return {}
            done[member] = PurePosixPath(name.split("://", 1)[-1]).name
        await self.report(
            Operation.IMAGE,
            UpgradeState.DONE,
            file=",".join(chosen.values()),
            bytes_done=sum(fetched.values()),
            bytes_total=sum(fetched.values()),
        )
        return done

    async def _download_image(self, host: str, port: int, entry: str) -> int:
        where = self._locate(host, port, entry)
        size = 0
        limit = self.config.faults.reboot_after_bytes
        reboot = limit is not None and not self._rebooted_once

        def sink(data: bytes) -> None:
            nonlocal size
            size += len(data)
            self.bytes_downloaded += len(data)
            if reboot and limit is not None and size >= limit:
                self._rebooted_once = True
                raise _Rebooted()

        await self._delay()
        total = await self.io.fetch(self, *where, sink)
        if total != size:
            raise FetchError(f"{entry}: {size} bytes written, {total} transferred")
        self.flash.record_image(where[2], size)
        return size

    async def _download_config(self, host: str, port: int, name: str) -> str | None:
        try:
            return await self._fetch_text(*self._locate(host, port, name))
        except FetchError as error:
            # "If the configuration it is sent is missing it reloads with the default one."
            self._unanswered |= error.transient
            await self.report(Operation.CONFIG, UpgradeState.FAILED, file=name, reason=str(error))
            return None

    async def report(
        self,
        operation: int,
        state: int,
        file: str = "",
        reason: str = "",
        bytes_done: int = 0,
        bytes_total: int = 0,
    ) -> None:
        if self.config.legacy or not self.director:
            return
        await self.send(smi_client.UpgradeStatus(
            sequence=self._next(), mac=self.mac, operation=operation, state=state,
            file=file[:200], reason=reason[:200], bytes_done=bytes_done, bytes_total=bytes_total,
        ))  # fmt: skip

    # --- legacy ----------------------------------------------------------------------------

    async def _legacy_zero_touch(self, lease: Lease) -> None:
        server = lease.tftp_server or ""
        text = await self._download_config(server, self.config.tftp_port, lease.config or "")
        if text is None:
            self._set_state(State.WAITING)
            return
        self.running_config = text
        trigger = self._apply_lines(text, save=False)
        self._set_state(State.LEGACY_WAITING)
        if trigger is not None:
            await self.io.legacy_up(self, trigger[0], trigger[1])

    def _apply_lines(self, text: str, save: bool) -> tuple[str, int] | None:
        """Apply what the emulation understands of a configuration; the ``do telnet`` trigger."""
        trigger = None
        for line in text.splitlines():
            words = line.split()
            if len(words) >= 3 and words[:2] == ["enable", "password"]:
                self.enable_password = words[-1]
            elif len(words) == 3 and words[:2] == ["vstack", "director"]:
                self.director = words[2]
            elif len(words) == 4 and words[:2] == ["do", "telnet"] and words[3].isdigit():
                trigger = (words[2], int(words[3]))
            elif words == ["no", "vstack"]:
                self.flash_state.vstack_enabled = False
        if save:
            self.flash.save_state(self.flash_state)
        return trigger

    async def exec_command(self, command: str) -> str:
        """A privileged EXEC command (the HTTP exec interface of a legacy switch)."""
        words = command.split()
        if words[:2] == ["archive", "download-sw"]:
            url = next((w for w in words[2:] if not w.startswith("/")), "")
            try:
                host, port, name = split_tftp_url(url)
                size = await self._download_image(host, port, url)
            except FetchError as error:
                return f"%Error opening {url} ({error})\n"
            self._install({"1": PurePosixPath(name).name}, None)
            if "/reload" in words:
                self._later_reload(0.2)
            return (
                f"examining image...\nInstalling {name} ({size} bytes)\n"
                "All software images installed.\n"
            )
        if len(words) == 3 and words[0] == "copy" and words[2] == "startup-config":
            try:
                host, port, name = split_tftp_url(words[1])
                text = await self._fetch_text(host, port, name)
            except FetchError as error:
                return f"%Error opening {words[1]} ({error})\n"
            self.flash.save_startup(text)
            return f"[OK - {len(text)} bytes]\n"
        if words == ["reload"]:
            self._later_reload(0.2)
            return "Proceed with reload? [confirm]\n"
        if len(words) == 3 and words[:2] == ["reload", "in"]:
            hours, _, minutes = words[2].partition(":")
            try:
                delay = reload_delay(int(hours), int(minutes))
            except ValueError:
                return f"% Invalid input detected: {command}\n"
            self._later_reload(delay or 0.2, self.reload_timer if delay else loop_timer)
            self.note(f"Reload scheduled in {int(hours)} hours and {int(minutes)} minutes")
            return f"Reload scheduled in {int(hours)} hours and {int(minutes)} minutes\n"
        if words[:2] == ["show", "version"]:
            image, version = image_facts(self.image)
            return (
                f"Cisco IOS Software, {image}, Version {version}\n"
                f'System image file is "flash:{self.image}"\n'
                f"Model number : {self.config.pid}\n"
                f"Version ID : {self.config.version_id}\n"
            )
        if words in (["write", "memory"], ["write"]):
            await self.write_memory()
            return "[OK]\n"
        return f"% Invalid input detected: {command}\n"

    def _later_reload(self, delay: float, timer: Timer = loop_timer) -> None:
        if self._reload_handle is not None:
            self._reload_handle.cancel()
        self._reload_handle = timer(delay, self.reload)

    # --- director commands -----------------------------------------------------------------

    def submit(self, command: object) -> None:
        """Run a director command in the switch's own task (the listener returns at once;
        a reload or power-off cancels what is still running)."""
        task = asyncio.get_running_loop().create_task(self.command(command))
        self._commands.add(task)
        task.add_done_callback(self._command_done)

    def _command_done(self, task: asyncio.Task[None]) -> None:
        self._commands.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("switch %s: command failed", self.mac, exc_info=task.exception())

    async def command(self, command: object) -> None:
        """A command the director sent to port 4786 (types 2, 3, 5 and 8)."""
        try:
            await self._command(command)
        except _Rebooted:
            self.note("System restarted (power lost during a download)")
            self.reload()

    async def _command(self, command: object) -> None:
        if not self.director and isinstance(command, (DownloadImage, DownloadConfig)):
            # a switch the director pushes to before telling it its address (a held client
            # installed from the hold list, its port open from power-on): the director is the
            # one whose files it is sent to fetch; its reports go there
            url = (
                command.imagelist_url if isinstance(command, DownloadImage) else command.config_url
            )
            with contextlib.suppress(FetchError):
                self.director = split_tftp_url(url)[0]
        if isinstance(command, DownloadImage):
            await self._on_download_image(command)
        elif isinstance(command, DownloadConfig):
            await self._on_download_config(command)
        elif isinstance(command, Execute):
            url = command.script_url
            if url and url == self._script_this_boot:
                return  # already run (or about to run) since this boot
            if self._zero_touch or self.state is not State.RUNNING:
                self.flash_state.pending_script = url
                self.flash.save_state(self.flash_state)
                self.note(f"post-install script {url} runs after the reload")
            else:
                self._script_this_boot = url
                await self.run_script(url)
        elif isinstance(command, BackupConfig):
            await self._on_backup(command)

    def _schedule_reload(self, after: tuple[int, int] | None) -> None:
        """Reload in hh:mm (see :func:`reload_delay`); None and 00:00 mean now."""
        delay = reload_delay(*after) if after is not None else 0.0
        if not delay:
            self._later_reload(0.05)
            return
        hours, minutes = after or (0, 0)
        self.note(f"Reload scheduled in {hours} hours and {minutes} minutes by the director")
        self._later_reload(delay, self.reload_timer)

    async def _on_download_image(self, command: DownloadImage) -> None:
        try:
            host, port, _ = split_tftp_url(command.imagelist_url)
        except FetchError as error:
            await self.report(Operation.IMAGE, UpgradeState.FAILED, reason=str(error))
            return
        images = await self._download_images(host, port, command.imagelist_url)
        if not images:
            return
        self._install(images, None)
        if command.reload_now or command.reload_scheduled:
            self._schedule_reload(command.reload_at)

    async def _on_download_config(self, command: DownloadConfig) -> None:
        await self.report(Operation.CONFIG, UpgradeState.STARTED, file=command.config_url)
        try:
            text = await self._fetch_text(*split_tftp_url(command.config_url))
        except FetchError as error:
            await self.report(
                Operation.CONFIG, UpgradeState.FAILED, file=command.config_url, reason=str(error)
            )
            return
        self.flash.save_startup(text)
        self.note(f"configuration {command.config_url} saved to startup-config")
        if command.reload:
            self._schedule_reload(command.reload_at)

    async def run_script(self, url: str) -> bool:
        await self.report(Operation.SCRIPT, UpgradeState.STARTED, file=url)
        try:
            lines = parse_post_install(await self._fetch_text(*split_tftp_url(url)))
        except (FetchError, DomainError) as error:
            if self._script_this_boot == url:
                self._script_this_boot = ""  # the director may send it again: run it then
            await self.report(Operation.SCRIPT, UpgradeState.FAILED, file=url, reason=str(error))
            return False
        added: list[str] = []
        for line in lines:
            added.extend(
                command if i == 0 or command == "exit" else f" {command}"
                for i, command in enumerate(line.commands)
            )
        self.running_config = self.running_config.replace("\nend\n", "\n").rstrip("\n")
        self.running_config += "\n" + "\n".join(added) + "\nend\n"
        self.flash.save_startup(self.running_config)
        self.note(f"post-install script applied: {len(lines)} line(s)")
        await self.report(Operation.SCRIPT, UpgradeState.DONE, file=url)
        return True

    async def _on_backup(self, command: BackupConfig) -> None:
        for line in command.active_commands:
            words = line.split()
            if len(words) != 3 or words[0] != "copy" or "startup-config" not in words[1]:
                self.note(f"backup command ignored: {line}")
                continue
            url = words[2]
            startup = self.flash.startup_config()
            reason = ""
            if startup is None:
                reason = "no startup-config"
            else:
                try:
                    await self.io.upload(self, url, startup.encode())
                except FetchError as error:
                    reason = str(error)
            if reason:
                self.message("SMI_CLIENT_BACKUP_FAILURE")
            else:
                self.message("SMI_CLIENT_BACKUP_SUCCESS")
            await self.send(
                smi_client.BackupResult(
                    sequence=self._next(),
                    mac=self.mac,
                    success=not reason,
                    file=url[:200],
                    reason=reason[:200],
                )
            )

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

    async def write_memory(self) -> None:
        self.flash.save_startup(self.running_config)
        self.flash_state.ip = self.ip
        self.flash_state.director = self.director
        self.flash.save_state(self.flash_state)
        if self.director and not self.config.legacy and self.flash_state.vstack_enabled:
            await self.send(
                smi_client.WriteMemory(
                    sequence=self._next(), mac=self.mac, hostname=self.hostname, ip=self.ip
                )
            )

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

    def disable_vstack(self) -> None:
        """The part of ``no vstack`` that takes effect at once (the port closes after)."""
        self.flash_state.vstack_enabled = False
        self.flash.save_state(self.flash_state)

    def set_director(self, ip: str) -> None:
        """The part of ``vstack director <ip>`` that takes effect at once."""
        self.director = ip
        self.flash_state.director = ip
        self.flash_state.vstack_enabled = True
        self.flash.save_state(self.flash_state)

    async def no_vstack(self) -> None:
        """``no vstack``: the client stops being a Smart Install client; port 4786 closes."""
        self.disable_vstack()
        if self._keepalive_task is not None:
            self._keepalive_task.cancel()
            self._keepalive_task = None
        if self.listening:
            await self.io.unlisten(self)
            self.listening = False

    async def vstack_director(self, ip: str) -> None:
        self.set_director(ip)
        if self.state is State.RUNNING and self.ip:
            await self._listen()
            await self._say_hello()
            if self._keepalive_task is None:
                self._keepalive_task = asyncio.get_running_loop().create_task(self._keepalives())

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
