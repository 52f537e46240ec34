"""show vstack config and show vstack join-window configuration (guide, chapter 3)."""

from __future__ import annotations

import datetime as dt

from smartinstall.director.views import show_vstack_config, show_vstack_join_window_configuration
from smartinstall.domain.joinwindow import JoinWindowSettings, Schedule
from smartinstall.domain.settings import DirectorSettings, Role
from tests.unit.views.guide import example


def guide_director() -> DirectorSettings:
    settings = DirectorSettings()
    settings.set_director("1.1.1.163")
    settings.enable_basic(lambda ip: True)
    settings.set_startup_vlan(1000)
    settings.groups.default.set("config", "tftp://1.1.1.100/default-config.txt")
    # The guide's image name is cut at the page edge; we feed it as printed.
    settings.groups.default.set("image", "tftp://1.1.1.100/c3750e-universalk9-tar.122-")
    settings.groups.default.set("script", "tftp://1.1.1.100/post-install.txt")
    return settings


# Guide, chapter 3, show vstack: "example output from the show vstack config command on a
# director". Character for character, including "vlan:1000" without a space.
EXPECTED_DIRECTOR = """\
Role: Director
Vstack Director IP address: 1.1.1.163
Vstack Mode: Basic
Vstack default management vlan: 1
Vstack start-up management vlan:1000
Vstack management Vlans: none
Vstack Config file: tftp://1.1.1.100/default-config.txt
Vstack Image file: tftp://1.1.1.100/c3750e-universalk9-tar.122-
Vstack Script file: tftp://1.1.1.100/post-install.txt
Join Window Details:
    Window: Open (default)
    Operation Mode: auto (default)
Vstack Backup Details:
    Mode: On (default)
    Repository: flash:/vstack (default)
"""


SECURITY_LEGACY = [
    "Vstack Security Details:",
    "    Mode: legacy (unauthenticated)",
    "    Allowed clients: any",
]


def test_director_form_matches_the_guide() -> None:
    # The guide's lines, then our security section (Cisco's Smart Install has none).
    out = show_vstack_config(guide_director(), Role.DIRECTOR)
    lines = out.splitlines()
    assert lines[-3:] == SECURITY_LEGACY
    guide_part = "\n".join(lines[:-3]) + "\n"
    assert guide_part == EXPECTED_DIRECTOR
    assert lines[:-3] == example("Director# show vstack config", 16, occurrence=2)[1:]


def test_director_form_reports_the_security_mode() -> None:
    settings = guide_director()
    settings.smi_key = "branch-secret-0123456"
    settings.allowed_clients = ["10.10.10.0/24"]
    lines = show_vstack_config(settings, Role.DIRECTOR).splitlines()
    assert lines[-3:] == [
        "Vstack Security Details:",
        "    Mode: authenticated (HMAC-SHA256)",
        "    Allowed clients: 10.10.10.0/24",
    ]


def test_client_forms() -> None:
    # The chapter 3 example prints "Role: Client" (an older release); current IOS adds whether
    # Smart Install is enabled, as the guide's "Security Best Practices" example shows for a
    # disabled client ("Role: Client (SmartInstall disabled)", "... address: 0.0.0.0").
    settings = DirectorSettings()
    settings.set_director("1.1.1.163")
    assert show_vstack_config(settings, Role.CLIENT) == (
        "Role: Client (SmartInstall enabled)\nVstack Director IP address: 1.1.1.163\n"
    )
    assert example("Director# show vstack config", 3)[1:] == [
        "Role: Client",
        "Vstack Director IP address: 1.1.1.163",
    ]
    disabled = DirectorSettings(enabled=False)
    out = show_vstack_config(disabled, Role.CLIENT)
    assert out.splitlines() == example("switch# show vstack config", 3)[1:]


def test_config_after_no_vstack_on_a_director_still_shows_the_configuration() -> None:
    settings = guide_director()
    settings.enabled = False
    role = settings.role(lambda ip: True)
    assert role is Role.CLIENT
    assert show_vstack_config(settings, role) == (
        "Role: Client (SmartInstall disabled)\nVstack Director IP address: 1.1.1.163\n"
    )
    # Rendered as a director, the whole configuration is still there (not in effect).
    assert "Vstack start-up management vlan:1000" in show_vstack_config(settings, Role.DIRECTOR)


def test_director_form_with_our_settings() -> None:
    settings = guide_director()
    settings.vlans = {10, 11, 12, 20}
    settings.set_hostname_prefix("Cisco")
    settings.set_backup(True, "tftp://10.0.0.5/backups")
    settings.join_window = JoinWindowSettings(
        Schedule(dt.time(6, 30), dt.date(2009, 7, 4), dt.timedelta(hours=1), dt.date(2009, 7, 10)),
        auto=False,
    )
    lines = show_vstack_config(settings, Role.DIRECTOR, window_open=False).splitlines()
    assert lines[5] == "Vstack management Vlans: 10-12,20"
    assert lines[9:] == [
        "Vstack Hostname Prefix: Cisco",
        "Join Window Details:",
        "    Window: Closed (scheduled)",
        "    Start date: 04 Jul 2009",
        "    Start time: 06:30",
        "    Interval: 01:00",
        "    End date: 10 Jul 2009",
        "    Recurring: no",
        "    Operation Mode: manual",
        "Vstack Backup Details:",
        "    Mode: On (default)",
        "    Repository: tftp://10.0.0.5/backups",
        *SECURITY_LEGACY,
    ]
    settings.set_backup(False)
    settings.join_window = JoinWindowSettings(closed=True)
    lines = show_vstack_config(settings, Role.DIRECTOR).splitlines()
    assert "    Window: Closed" in lines
    assert "    Mode: Off" in lines


# Guide, chapter 3: "example output from the show vstack join-window configuration command"
# (the first of the two; the second lost its indentation in the extraction).
EXPECTED_JOIN_WINDOW = """
Join Window Configuration Details:
    Window: Open (default)
    Mode: auto (default)
    No Join Window start/end dates and times configured
"""


def test_join_window_configuration_matches_the_guide() -> None:
    out = show_vstack_join_window_configuration(JoinWindowSettings())
    assert out == EXPECTED_JOIN_WINDOW
    guide = example("Director# show vstack join-window configuration", 5)[1:]
    assert out.splitlines()[1:] == guide


def test_join_window_with_a_daily_schedule() -> None:
    window = JoinWindowSettings(Schedule(dt.time(22, 0), interval=dt.timedelta(hours=2)))
    assert show_vstack_join_window_configuration(window, window_open=True).splitlines() == [
        "",
        "Join Window Configuration Details:",
        "    Window: Open (scheduled)",
        "    Start time: 22:00",
        "    Interval: 02:00",
        "    Recurring: yes",
        "    Mode: auto (default)",
    ]
    assert "    Window: Scheduled" in show_vstack_join_window_configuration(window).splitlines()
