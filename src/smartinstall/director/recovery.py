"""Installs interrupted by a director restart: resumed, re-driven or reconciled.

When the director stops (``kill -9``, power loss, an upgrade of the host) while clients
install, the download-status rows it committed are the installs under way. At the next start
every unfinished row is *interrupted*, and the director sees each one through:

* **zero touch** — the client's downloads failed while the director was away; it asks DHCP
  again and starts over (IOS loops until it installs), and the same row follows it to the end.
  A failure it reports meanwhile is the director's absence, not the install's: the row stays
  open for the retry. A client that comes up with a configuration before its row closed (its
  last report was lost) is reconciled from its hello: the image it runs and the configuration
  it has complete the row;
* **on demand** — the director asks again: on the client's first hello or keepalive, and
  after a failure it reports (at most :data:`REDRIVE_LIMIT` times), it sends the command the
  row remembers (``DownloadEntry.request``);
* **a client that is not Smart Install capable** — it triggers the director once, when it
  applies its tailored configuration; its zero-touch row remembers the HTTP port it named
  (``… legacy-trigger <port>``), and a restarted director drives it again at start. An
  on-demand download of such a client was driven with the operator's password, which is not
  kept: its row ends at start, saying to give the command again;
* **a client that does not return** — after the resume window (:data:`RESUME_PERIODS`
  keepalive periods, at least :data:`RESUME_MINIMUM`) without a word from it, its unfinished
  columns fail with the reason, so that no row stays ``UPGRADING`` and no later hop waits.

Any install stalls the same way when its client goes (unplugged mid-download, a reload that
never comes back): a row with no word from its client — no TFTP progress, report, hello,
keepalive or DHCP — for :data:`STUCK_PERIODS` keepalive periods (at least
:data:`STUCK_MINIMUM`: a reload of a large switch takes minutes) fails its open columns with
the reason. A row that a later download of the same client supersedes ends at once.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from smartinstall.director.facts import CommandRequest, HelloFacts, UpgradeReport, what
from smartinstall.director.holds import Holds
from smartinstall.domain.artifacts import runs_image
from smartinstall.domain.devices import Device, UpgradeKind
from smartinstall.domain.downloads import DownloadMethod, DownloadStatus
from smartinstall.domain.groups import ClientFacts, resolve
from smartinstall.domain.values import normalize_mac
from smartinstall.store.records import DownloadEntry

log = logging.getLogger(__name__)

#: a legacy client's zero-touch row: ``… legacy-trigger <http port>`` once its trigger came in
LEGACY_TRIGGER = "legacy-trigger"


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


RESUME_PERIODS = 10  # keepalive periods a client has to come back after a restart
RESUME_MINIMUM = dt.timedelta(minutes=5)
REDRIVE_LIMIT = 3  # on-demand commands sent again per interrupted row
STUCK_PERIODS = 30  # keepalive periods without a word before an open row is stuck
STUCK_MINIMUM = dt.timedelta(minutes=30)
STUCK_CHECK = dt.timedelta(seconds=10)  # how often open rows are looked at
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
INTERRUPTED = "interrupted by a director restart"

_COMMANDS = {"download-image", "download-config"}


def request_text(request: CommandRequest) -> str:
    """What an on-demand row remembers of its command: ``download-image <url> [reload [in
    hh:mm]]``."""
    words = [request.kind, request.url]
    if request.reload_at is not None:
        words += ["reload", "in", f"{request.reload_at[0]:02d}:{request.reload_at[1]:02d}"]
    elif request.reload_now:
        words.append("reload")
    return " ".join(words)


def request_of(text: str, host: str, port: int) -> CommandRequest | None:
    """The command of :func:`request_text` again, to ``host:port``; None when unreadable."""
    words = text.split()
    if len(words) < 2 or words[0] not in _COMMANDS:
        return None
    kind, url, rest = words[0], words[1], words[2:]
    if not rest:
        return CommandRequest(host, port, kind, url=url)
    if rest == ["reload"]:
        return CommandRequest(host, port, kind, url=url, reload_now=True)
    if len(rest) == 3 and rest[:2] == ["reload", "in"]:
        hours, _, minutes = rest[2].partition(":")
        if hours.isdigit() and minutes.isdigit():
            return CommandRequest(host, port, kind, url=url, reload_at=(int(hours), int(minutes)))
    return None


@dataclass
class Interrupted:
    """An unfinished row found at start."""

    mac: str
    last_heard: dt.datetime  # the restart, then the client's latest word
    redrives: int = 0
    redriven_this_visit: bool = False
    last_failure: str = ""


def _trigger_port(request: str) -> int | None:
    """The HTTP port in a row's ``… legacy-trigger <port>``, if any."""
    words = request.split()
    if LEGACY_TRIGGER not in words:
        return None
    after = words[words.index(LEGACY_TRIGGER) + 1 :][:1]
    if not after or not after[0].isdigit() or not 0 < int(after[0]) < 65536:
        return None
    return int(after[0])


class Recovery(Holds):
    """The part of the core that sees interrupted installs through (module docstring)."""

    _interrupted: dict[int, Interrupted]
    _heard: dict[str, dt.datetime]
    _next_stuck_check: dt.datetime | None

    def _init_part(self) -> None:
        super()._init_part()
        self._interrupted = {}
        self._heard = {}  # mac -> its latest TFTP progress (rows and records carry the rest)
        self._next_stuck_check = None

    @property
    def stuck_after(self) -> dt.timedelta:
        return max(STUCK_MINIMUM, dt.timedelta(seconds=self.keepalive_period * STUCK_PERIODS))

    def tftp_progress(self, peer_ip: str) -> None:
        """A client's transfer goes on (every MiB): its install is not stuck."""
        device = self.state.device_by_ip(peer_ip)
        if device is not None:
            if len(self._heard) >= 10_000:
                self._heard.clear()
            self._heard[device.mac] = self.now()

    def expire_stuck(self, now: dt.datetime | None = None) -> list[DownloadEntry]:
        """Open rows whose clients said nothing for :attr:`stuck_after`: their open columns
        fail with the reason (the row no longer blocks farther hops)."""
        now = now or self.now()
        window = self.stuck_after
        ended = []
        for entry in self.state.downloads():
            if entry.finished or entry.id in self._interrupted:
                continue
            record = self.state.device_record(entry.mac)
            last = max(
                _aware(entry.updated_at),
                self._heard.get(entry.mac, _EPOCH),
                _aware(record.last_keepalive) if record and record.last_keepalive else _EPOCH,
            )
            if now - last < window:
                continue
            reason = f"no word from the client for {window}: the install stopped"
            self._end_open_row(entry, reason)
            ended.append(entry)
        return ended

    def supersede(self, mac: str, by: str) -> DownloadEntry | None:
        """A new download of ``mac`` starts: its open row, if any, ends ("superseded")."""
        latest = self.state.latest_download(mac)
        if latest is None or latest.finished:
            return None
        self._interrupted.pop(latest.id, None)
        self._end_open_row(latest, f"superseded by a later {by} download")
        return latest

    @property
    def resume_window(self) -> dt.timedelta:
        return max(RESUME_MINIMUM, dt.timedelta(seconds=self.keepalive_period * RESUME_PERIODS))

    def recover_interrupted(self) -> list[DownloadEntry]:
        """At start, once the state is loaded: every unfinished row is an install the last
        run left under way; follow each to its end."""
        now = self.now()
        found = [e for e in self.state.downloads() if not e.finished]
        for entry in found:
            self._interrupted[entry.id] = Interrupted(entry.mac, now)
            columns = ", ".join(
                f"{k.value} {entry.status(k).value}"
                for k in UpgradeKind
                if not entry.status(k).finished
            )
            self.events.debug_line(
                "director-db", f"download {entry.number} of {entry.mac} {INTERRUPTED}: {columns}"
            )
        if found:
            log.info(
                "%d install(s) under way when the director stopped: resumed when the clients "
                "return (within %d s), else failed",
                len(found),
                int(self.resume_window.total_seconds()),
            )
        self._end_legacy_on_demand(found)
        return found

    def legacy_triggered(self, mac: str, http_port: int) -> None:
        """A non-Smart-Install client's trigger came in (``do telnet <director> 19140``): its
        zero-touch row remembers the HTTP port, so a restarted director can drive it again
        (the client triggers once, when it applies the tailored configuration)."""
        entry = self.state.latest_download(normalize_mac(mac))
        if entry is None or entry.finished or entry.method is not DownloadMethod.ZERO_TOUCH:
            return
        base = entry.request.partition(LEGACY_TRIGGER)[0].strip()
        request = f"{base} {LEGACY_TRIGGER} {http_port}".strip()
        if request != entry.request:
            self.state.set_download_client(entry.id, request=request[:255])

    def legacy_http_port(self, mac: str) -> int | None:
        """The HTTP port a legacy client's trigger named, as its latest row with one recorded
        it (a director restarted since still reaches an emulated client's own port)."""
        mac = normalize_mac(mac)
        for entry in reversed(self.state.downloads()):
            if entry.mac == mac and LEGACY_TRIGGER in entry.request.split():
                port = _trigger_port(entry.request)
                if port is not None:
                    return port
        return None

    def legacy_to_drive_again(self) -> list[tuple[str, int]]:
        """The non-Smart-Install clients whose zero touch the last run was driving: (address,
        HTTP port) for each, to drive again at start."""
        found = []
        for entry_id in self._interrupted:
            entry = self.state.download(entry_id)
            if entry is None or entry.finished or entry.method is not DownloadMethod.ZERO_TOUCH:
                continue
            port = _trigger_port(entry.request)
            device = self.state.device_by_mac(entry.mac)
            if device is not None and device.ip and port is not None:
                found.append((device.ip, port))
        return found

    def _end_legacy_on_demand(self, found: list[DownloadEntry]) -> None:
        """An on-demand download of a non-Smart-Install client is driven with the password the
        operator typed, which is not kept: the last run's cannot be driven again. Its open
        columns end now, saying so, instead of waiting for the resume window."""
        for entry in found:
            if entry.method is DownloadMethod.ZERO_TOUCH or not entry.request.startswith("legacy "):
                continue
            self._interrupted.pop(entry.id, None)
            self._end_open_row(
                entry,
                f"{INTERRUPTED} while it drove this non-Smart-Install client; its password is "
                "not kept: give the command again",
            )

    def interrupted_count(self) -> int:
        """Interrupted installs still open (``show vstack internal``)."""
        for entry_id in list(self._interrupted):
            entry = self.state.download(entry_id)
            if entry is None or entry.finished:
                del self._interrupted[entry_id]
        return len(self._interrupted)

    # --- the client's words ---------------------------------------------------------------

    def _interrupted_row(self, mac: str) -> tuple[DownloadEntry, Interrupted] | None:
        if not self._interrupted:
            return None
        entry = self.state.latest_download(mac)
        if entry is None:
            return None
        mark = self._interrupted.get(entry.id)
        if mark is None:
            return None
        if entry.finished:
            del self._interrupted[entry.id]
            return None
        mark.last_heard = self.now()
        return entry, mark

    def client_hello(self, hello: HelloFacts) -> Device:
        device = super().client_hello(hello)
        found = self._interrupted_row(device.mac)
        if found is not None:
            entry, mark = found
            mark.redriven_this_visit = False  # a reload: the client is back, ask again
            if entry.method is DownloadMethod.ZERO_TOUCH:
                if hello.has_startup_config:
                    self._reconcile(device, entry)
            else:
                self._redrive(device, entry, mark)
        return device

    def client_keepalive(self, mac: str, ip: str = "") -> None:
        super().client_keepalive(mac, ip)
        found = self._interrupted_row(normalize_mac(mac))
        if found is None:
            return
        entry, mark = found
        device = self.state.device_by_mac(entry.mac)
        if device is not None and entry.method is not DownloadMethod.ZERO_TOUCH:
            self._redrive(device, entry, mark)

    def client_upgrade(self, report: UpgradeReport) -> None:
        found = self._interrupted_row(normalize_mac(report.mac))
        if found is None or report.state != "failed":
            super().client_upgrade(report)
            return
        entry, mark = found
        mark.last_failure = report.reason or "client failed"
        device = self.state.device_by_mac(entry.mac)
        if device is None:
            return
        if entry.method is DownloadMethod.ZERO_TOUCH:
            # the director was away: the client retries its zero touch and this row follows it
            self.events.debug_line(
                "director-db",
                f"{entry.mac}: {what(report.kind)} failed ({mark.last_failure}) during the "
                "restart; waiting for the client's retry",
            )
            return
        mark.redriven_this_visit = False
        if not self._redrive(device, entry, mark):
            super().client_upgrade(report)

    def tftp_transfer(
        self, peer_ip: str, path: str, is_read: bool, done: bool, error: str | None
    ) -> None:
        if self._interrupted:
            device = self.state.device_by_ip(peer_ip)
            if device is not None:
                self._interrupted_row(device.mac)  # heard from: the window starts again
        super().tftp_transfer(peer_ip, path, is_read, done, error)

    def dhcp_bound(self, mac: str, ip: str, hostname: str = "") -> bool:
        moved = super().dhcp_bound(mac, ip, hostname)
        self._interrupted_row(mac)
        return moved

    # --- seeing them through --------------------------------------------------------------

    def _reconcile(self, device: Device, entry: DownloadEntry) -> None:
        """A zero-touch client up with a configuration: its install ended while the director
        was away. What it runs decides the open columns."""
        assignment = resolve(self.settings.groups, ClientFacts.of_device(device))
        if not entry.image.finished:
            if any(runs_image(device.image, device.version, i) for i in assignment.images):
                self._upgrade_done(device, entry.id, UpgradeKind.IMAGE)
            else:
                running = f"{device.image} {device.version}".strip() or "another image"
                self._upgrade_failed(
                    device,
                    entry.id,
                    UpgradeKind.IMAGE,
                    f"{INTERRUPTED}; the client came up running {running}",
                )
        if not entry.config.finished:
            self._upgrade_done(device, entry.id, UpgradeKind.CONFIG)
        current = self.state.download(entry.id)
        if current is not None and current.script is DownloadStatus.UPGRADING:
            # the script was under way: the client runs it again (its lines are idempotent
            # configuration commands)
            self.state.update_download(entry.id, UpgradeKind.SCRIPT, DownloadStatus.NOT_STARTED)
            self._offer_script(device)

    def _redrive(self, device: Device, entry: DownloadEntry, mark: Interrupted) -> bool:
        """Send an interrupted on-demand command again; False when it cannot be."""
        if mark.redriven_this_visit:
            return True
        request = request_of(entry.request, device.ip, self._client_port(device.mac))
        if request is None or not device.ip or mark.redrives >= REDRIVE_LIMIT:
            return False
        mark.redrives += 1
        mark.redriven_this_visit = True
        log.info(
            "%s of %s %s: sent again (%d of %d)",
            request.kind,
            device.mac,
            INTERRUPTED,
            mark.redrives,
            REDRIVE_LIMIT,
        )
        self._spawn("re-drive", self._send_again(entry.id, request))
        return True

    async def _send_again(self, entry_id: int, request: CommandRequest) -> None:
        try:
            await self._send(request)
        except (OSError, TimeoutError) as error:
            entry = self.state.download(entry_id)
            if entry is None or entry.finished:
                return
            mark = self._interrupted.get(entry_id)
            if mark is not None:
                mark.redriven_this_visit = False  # the next keepalive tries again
                mark.last_failure = f"unreachable ({error})"

    def expire_interrupted(self, now: dt.datetime | None = None) -> list[DownloadEntry]:
        """Rows whose clients said nothing for the resume window: their open columns fail."""
        if not self._interrupted:
            return []
        now = now or self.now()
        window = self.resume_window
        ended = []
        for entry_id, mark in list(self._interrupted.items()):
            entry = self.state.download(entry_id)
            if entry is None or entry.finished:
                del self._interrupted[entry_id]
                continue
            if now - mark.last_heard < window:
                continue
            del self._interrupted[entry_id]
            reason = f"{INTERRUPTED}; the client did not return within {window}"
            if mark.last_failure:
                reason = f"{mark.last_failure} ({reason})"
            self._end_open_row(entry, reason)
            ended.append(entry)
        return ended

    def tick(self) -> None:
        super().tick()
        if not self.is_director:
            return
        self.expire_interrupted()
        now = self.now()
        if self._next_stuck_check is None or now >= self._next_stuck_check:
            self._next_stuck_check = now + STUCK_CHECK
            self.expire_stuck(now)
