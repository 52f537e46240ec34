"""``show vstack download-status`` and ``show vstack download-status detail``.

The table follows the chapter 3 examples of ``clear vstack`` (the ``show vstack download-status``
example of the command reference lost its spacing in the guide's text): a fixed header, the
rule ``===  =====``, and rows 4, 16, 15, 16, 16 and 16 characters wide. Entries are numbered in
display order, so they renumber after ``clear vstack download-status entry <n>``.

``Total no of entries`` counts the rows shown. (The guide's ``clear vstack`` example prints
one less than its rows; its ``show vstack`` example prints the row count, which we follow.)
"""

from __future__ import annotations

from collections.abc import Sequence

from smartinstall.director.views.common import DISABLED, ENABLED, cell, text
from smartinstall.domain.downloads import DownloadEntry, format_downloaded_at, numbered

DOWNLOAD_HEADER = (
    "No  client-IP      client-MAC      Method          Image-status    Config-status    "
    "Script-status"
)
DOWNLOAD_RULE = "===  ====="
DOWNLOAD_WIDTHS = (4, 16, 15, 16, 16, 16)


def download_row(number: int, entry: DownloadEntry) -> str:
    widths = DOWNLOAD_WIDTHS
    return (
        cell(str(number), widths[0])
        + cell(entry.client_ip, widths[1])
        + cell(entry.client_mac, widths[2])
        + cell(entry.method.value, widths[3])
        + cell(entry.image.value, widths[4])
        + cell(entry.config.value, widths[5])
        + entry.script.value
    )


def show_vstack_download_status(entries: Sequence[DownloadEntry], *, enabled: bool = True) -> str:
    if not enabled:
        return text([DISABLED])
    lines = [ENABLED, f"Total no of entries : {len(entries)}", DOWNLOAD_HEADER, DOWNLOAD_RULE]
    lines.extend(download_row(number, entry) for number, entry in numbered(entries))
    return text(lines)


def show_vstack_download_status_detail(
    entries: Sequence[DownloadEntry], *, enabled: bool = True
) -> str:
    """One block per entry, as the guide's ``show vstack download-status detail`` example."""
    if not enabled:
        return text([DISABLED])
    lines = [ENABLED]
    for number, entry in numbered(entries):
        lines.extend(
            [
                "",
                f"No {number}:",
                f"client-ip: {entry.client_ip}",
                f"client-hostname: {entry.hostname}",
                f"client-mac: {entry.client_mac}",
                f"method: {entry.method.value}",
                f"config-fail-reason: {entry.config_fail_reason}",
                f"image-fail-reason: {entry.image_fail_reason}",
                f"script-fail-reason: {entry.script_fail_reason}",
                f"config downloaded at: {format_downloaded_at(entry.config_downloaded_at)}",
                f"image downloaded at: {format_downloaded_at(entry.image_downloaded_at)}",
                f"script downloaded at: {format_downloaded_at(entry.script_downloaded_at)}",
            ]
        )
    return text(lines)
