"""show vstack download-status [detail] (guide, chapter 3: show vstack and clear vstack)."""

from __future__ import annotations

import datetime as dt

from smartinstall.director.views import (
    show_vstack_download_status,
    show_vstack_download_status_detail,
)
from smartinstall.domain.downloads import DownloadEntry, DownloadMethod, DownloadStatus, clear_entry
from tests.unit.views.guide import example, squeeze

ZT = DownloadMethod.ZERO_TOUCH
IMG = DownloadMethod.IMAGE_UPGRADE
UP = DownloadStatus.UPGRADED
NA = DownloadStatus.NOT_APPLICABLE


def zero_touch(ip: str, mac: str) -> DownloadEntry:
    return DownloadEntry(ip, mac, ZT, UP, UP, UP)


CLEAR_EXAMPLE = [
    zero_touch("10.1.1.4", "0017.9570.c780"),
    zero_touch("10.1.1.6", "0026.985b.bc80"),
    zero_touch("10.1.1.11", "0030.7870.0c30"),
]

# Guide, chapter 3, clear vstack: the show vstack download-status before and after
# "clear vstack download-status entry 2". Character for character, with one difference: the
# guide prints "Total no of entries : 2" above three rows and ": 1" above two; we print the
# number of rows, as the show vstack example of the same chapter does ("3" above three rows).
EXPECTED_BEFORE = """\
SmartInstall: ENABLED
Total no of entries : 3
No  client-IP      client-MAC      Method          Image-status    Config-status    Script-status
===  =====
1   10.1.1.4        0017.9570.c780 zero-touch      UPGRADED        UPGRADED        UPGRADED
2   10.1.1.6        0026.985b.bc80 zero-touch      UPGRADED        UPGRADED        UPGRADED
3   10.1.1.11       0030.7870.0c30 zero-touch      UPGRADED        UPGRADED        UPGRADED
"""
EXPECTED_AFTER = """\
SmartInstall: ENABLED
Total no of entries : 2
No  client-IP      client-MAC      Method          Image-status    Config-status    Script-status
===  =====
1   10.1.1.4        0017.9570.c780 zero-touch      UPGRADED        UPGRADED        UPGRADED
2   10.1.1.11       0030.7870.0c30 zero-touch      UPGRADED        UPGRADED        UPGRADED
"""


def test_download_status_and_renumbering_after_a_clear_match_the_guide() -> None:
    before = show_vstack_download_status(CLEAR_EXAMPLE)
    assert before == EXPECTED_BEFORE
    after = show_vstack_download_status(clear_entry(CLEAR_EXAMPLE, 2))
    assert after == EXPECTED_AFTER
    guide_before = example("Switch# show vstack do", 8)[1:]
    guide_after = example("Switch# show vstack download-status", 7)[1:]
    assert guide_before[1] == "Total no of entries : 2"  # the guide's miscount
    assert guide_after[1] == "Total no of entries : 1"
    assert before.splitlines()[2:] == guide_before[2:]
    assert after.splitlines()[2:] == guide_after[2:]


GUIDE_ENTRIES = [
    DownloadEntry(
        "172.20.249.3",
        "001e.be67.3000",
        IMG,
        UP,
        NA,
        NA,
        image_downloaded_at=dt.datetime(2011, 3, 30, 2, 47, 39, tzinfo=dt.UTC),
    ),
    DownloadEntry(
        "172.20.249.1",
        "0022.5699.c800",
        ZT,
        DownloadStatus.UPGRADING,
        UP,
        UP,
        config_downloaded_at=dt.datetime(2011, 3, 30, 3, 2, 23, tzinfo=dt.UTC),
        script_downloaded_at=dt.datetime(2011, 3, 30, 2, 47, 39, tzinfo=dt.UTC),
    ),
    DownloadEntry("172.20.249.2", "0022.0d26.6300", IMG, DownloadStatus.NOT_STARTED, NA, NA),
]


def test_download_status_with_not_started_and_double_star_cells() -> None:
    # Guide, chapter 3, show vstack: the download-status example with NOT STARTED and "**".
    # Its table lost its spacing in the extraction (tab-separated; the chapter 4 copy keeps
    # spaces but not the same ones): compared with blanks squeezed.
    out = show_vstack_download_status(GUIDE_ENTRIES)
    assert out.splitlines()[4:] == [
        "1   172.20.249.3    001e.be67.3000 image-upgrade   UPGRADED        **              **",
        "2   172.20.249.1    0022.5699.c800 zero-touch      UPGRADING       UPGRADED        "
        "UPGRADED",
        "3   172.20.249.2    0022.0d26.6300 image-upgrade   NOT STARTED     **              **",
    ]
    guide = example("Director# show vstack download-status", 6)
    assert guide[1] == out.splitlines()[1] == "Total no of entries : 3"
    assert squeeze(guide[2:]) == squeeze(out.splitlines()[2:3] + out.splitlines()[4:])


# Guide, chapter 3, show vstack download-status detail, entry 1 (the extraction dropped the
# blank lines and fences around the entries; our layout puts one blank line before each).
EXPECTED_DETAIL_HEAD = """\
SmartInstall: ENABLED

No 1:
client-ip: 172.20.249.3
client-hostname: Switch
client-mac: 001e.be67.3000
method: image-upgrade
config-fail-reason: NA
image-fail-reason: NA
script-fail-reason: NA
config downloaded at: -
image downloaded at: 02:47:39 UTC Mar 30 2011
script downloaded at: -
"""


def test_download_status_detail_matches_the_guide() -> None:
    out = show_vstack_download_status_detail(GUIDE_ENTRIES)
    assert out.startswith(EXPECTED_DETAIL_HEAD)
    guide = example("Director# **show vstack download-status detail**", 35)[1:]
    ours = squeeze(out)
    # The guide's entry 2 has a 13-digit MAC (0022.5699.c8000) and entry 3 the IP 217.20.249.2
    # where its table says 172.20.249.2: misprints; every other line is equal.
    differ = [i for i, (a, b) in enumerate(zip(ours, guide, strict=True)) if a != b]
    assert [guide[i] for i in differ] == ["client-mac: 0022.5699.c8000", "client-ip: 217.20.249.2"]
    assert [ours[i] for i in differ] == ["client-mac: 0022.5699.c800", "client-ip: 172.20.249.2"]


def test_download_status_detail_with_failures() -> None:
    entry = DownloadEntry(
        "10.0.0.9",
        "00:11:22:33:44:55",
        DownloadMethod.CONFIG_UPGRADE,
        NA,
        DownloadStatus.FAILED,
        NA,
        hostname="sw-9",
        config_fail_reason="TFTP: file not found",
        config_downloaded_at=dt.datetime(
            2026, 11, 27, 4, 5, 6, tzinfo=dt.timezone(dt.timedelta(hours=1))
        ),
    )
    lines = show_vstack_download_status_detail([entry]).splitlines()
    assert lines[2:] == [
        "No 1:",
        "client-ip: 10.0.0.9",
        "client-hostname: sw-9",
        "client-mac: 0011.2233.4455",
        "method: config-upgrade",
        "config-fail-reason: TFTP: file not found",
        "image-fail-reason: NA",
        "script-fail-reason: NA",
        "config downloaded at: 03:05:06 UTC Nov 27 2026",
        "image downloaded at: -",
        "script downloaded at: -",
    ]
    row = show_vstack_download_status([entry]).splitlines()[-1]
    assert (
        row
        == "1   10.0.0.9        0011.2233.4455 config-upgrade  **              FAILED          **"
    )


def test_disabled_and_empty() -> None:
    assert show_vstack_download_status(GUIDE_ENTRIES, enabled=False) == "SmartInstall: DISABLED\n"
    assert show_vstack_download_status_detail([], enabled=False) == "SmartInstall: DISABLED\n"
    assert show_vstack_download_status([]).splitlines()[1] == "Total no of entries : 0"
    assert show_vstack_download_status_detail([]) == "SmartInstall: ENABLED\n"
