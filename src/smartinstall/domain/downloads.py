"""The download-status table of the director (``show vstack download-status [detail]``).

One :class:`DownloadEntry` per client download (zero-touch or on demand), with the status of
its image, configuration and post-install script, the reasons of a failure and when each file
was downloaded. The vocabulary is the guide's (command reference of ``show vstack``):

* statuses: ``NOT STARTED``, ``UPGRADING``, ``UPGRADED``, ``FAILED``, and ``**`` for a file
  the download does not include (an image-only upgrade shows ``**`` for config and script);
* methods: ``zero-touch`` and ``image-upgrade`` as the guide prints them, and
  ``config-upgrade`` for ``vstack download-config`` (the guide shows no example of that one).

Entries carry no number: the table numbers them in display order, so that after ``clear vstack
download-status entry <n>`` the remaining entries renumber (the guide's example: entry 3 becomes
2 after entry 2 is cleared).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from smartinstall.domain.devices import validate_ipv4
from smartinstall.domain.errors import DomainError
from smartinstall.domain.values import MONTHS, normalize_mac

NO_REASON = "NA"  # a fail-reason cell without failure ("config-fail-reason: NA")
NOT_DOWNLOADED = "-"  # a downloaded-at cell of a file not (yet) downloaded
HOSTNAME_MAX = 63
REASON_MAX = 200


class DownloadStatus(Enum):
    NOT_STARTED = "NOT STARTED"
    UPGRADING = "UPGRADING"
    UPGRADED = "UPGRADED"
    FAILED = "FAILED"
    NOT_APPLICABLE = "**"

    @property
    def finished(self) -> bool:
        """Nothing more will happen to this column."""
        return self not in (DownloadStatus.NOT_STARTED, DownloadStatus.UPGRADING)

    @classmethod
    def parse(cls, text: str) -> DownloadStatus:
        word = " ".join(text.split())
        for status in cls:
            if status.value == word:
                return status
        raise DomainError(f"% Invalid download status: {word[:40] or repr(text)}", text)


class DownloadMethod(Enum):
    ZERO_TOUCH = "zero-touch"
    IMAGE_UPGRADE = "image-upgrade"
    CONFIG_UPGRADE = "config-upgrade"
    ON_DEMAND = "on-demand"

    @classmethod
    def parse(cls, text: str) -> DownloadMethod:
        word = text.strip()
        for method in cls:
            if method.value == word:
                return method
        raise DomainError(f"% Invalid download method: {word[:40] or repr(text)}", text)


def format_downloaded_at(moment: dt.datetime | None) -> str:
    """``02:47:39 UTC Mar 30 2011`` as the detail view prints it; ``-`` when not downloaded.

    The time is printed in UTC whatever the zone of ``moment``; a naive time counts as UTC.
    """
    if moment is None:
        return NOT_DOWNLOADED
    if moment.tzinfo is not None and moment.utcoffset() is not None:
        moment = moment.astimezone(dt.UTC)
    month = MONTHS[moment.month - 1][:3].capitalize()
    return f"{moment:%H:%M:%S} UTC {month} {moment.day} {moment.year}"


def parse_downloaded_at(text: str) -> dt.datetime | None:
    """The inverse of :func:`format_downloaded_at` (UTC-aware), ``None`` for ``-``."""
    word = " ".join(text.split())
    if word == NOT_DOWNLOADED:
        return None
    try:
        value = dt.datetime.strptime(word, "%H:%M:%S UTC %b %d %Y")
    except ValueError:
        raise DomainError(f"% Invalid download time: {word[:40] or repr(text)}", text) from None
    return value.replace(tzinfo=dt.UTC)


def _one_line(text: str, limit: int, what: str) -> str:
    value = " ".join(text.split())
    if len(value) > limit or not value.isprintable():
        raise DomainError(f"% Invalid {what}: {value[:40]!r}", text)
    return value


@dataclass(frozen=True)
class DownloadEntry:
    """One row of the download-status table."""

    client_ip: str
    client_mac: str
    method: DownloadMethod
    image: DownloadStatus = DownloadStatus.NOT_STARTED
    config: DownloadStatus = DownloadStatus.NOT_APPLICABLE
    script: DownloadStatus = DownloadStatus.NOT_APPLICABLE
    hostname: str = "Switch"
    image_fail_reason: str = NO_REASON
    config_fail_reason: str = NO_REASON
    script_fail_reason: str = NO_REASON
    image_downloaded_at: dt.datetime | None = None
    config_downloaded_at: dt.datetime | None = None
    script_downloaded_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "client_ip", validate_ipv4(self.client_ip))
        object.__setattr__(self, "client_mac", normalize_mac(self.client_mac))
        object.__setattr__(self, "hostname", _one_line(self.hostname, HOSTNAME_MAX, "hostname"))
        for name in ("image_fail_reason", "config_fail_reason", "script_fail_reason"):
            reason = _one_line(getattr(self, name), REASON_MAX, "fail reason") or NO_REASON
            object.__setattr__(self, name, reason)
        if not self.hostname:
            raise DomainError("% Invalid hostname: empty")

    @property
    def finished(self) -> bool:
        """No file is waiting or downloading any more."""
        pending = (DownloadStatus.NOT_STARTED, DownloadStatus.UPGRADING)
        return all(s not in pending for s in (self.image, self.config, self.script))


def numbered(entries: Sequence[DownloadEntry]) -> list[tuple[int, DownloadEntry]]:
    """The entries with the numbers the table shows: 1, 2, … in display order."""
    return list(enumerate(entries, start=1))


def clear_entry(entries: Sequence[DownloadEntry], number: int) -> tuple[DownloadEntry, ...]:
    """``clear vstack download-status entry <number>``: the table without that entry.

    The entries after it move up one number.
    """
    if not 1 <= number <= len(entries):
        raise DomainError(
            f"% Invalid entry: {number} (the table has {len(entries)} entries)", str(number)
        )
    return tuple(e for i, e in numbered(entries) if i != number)
