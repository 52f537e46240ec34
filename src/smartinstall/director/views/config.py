"""``show vstack config`` and ``show vstack join-window configuration``.

The director form follows the command reference of ``show vstack`` (chapter 3), including its
``Vstack start-up management vlan:1000`` without a space. The client form prints the role as
current IOS does, ``Role: Client (SmartInstall enabled)`` or ``(SmartInstall disabled)`` after
``no vstack`` (the guide's "Security Best Practices" example); the chapter 3 example, from an
older release, prints ``Role: Client`` alone. After ``no vstack`` the configuration is still
shown ("shows the Smart Install configuration even though it is not in effect").
"""

from __future__ import annotations

from smartinstall.director.views.common import text
from smartinstall.director.views.proxy import show_vstack_proxy_config
from smartinstall.domain.joinwindow import JoinWindowSettings
from smartinstall.domain.settings import DEFAULT_MANAGEMENT_VLAN, DirectorSettings, Role
from smartinstall.domain.values import format_date, format_hhmm, format_number_list

INDENT = "    "
NO_DIRECTOR_IP = "0.0.0.0"


def _window_lines(window: JoinWindowSettings, open_now: bool | None) -> list[str]:
    """``Window:`` and the schedule lines (indented by the caller)."""
    if window.closed:
        return ["Window: Closed"]
    schedule = window.schedule
    if schedule is None:
        return ["Window: Open (default)"]
    if open_now is None:
        state = "Scheduled"
    else:
        state = "Open (scheduled)" if open_now else "Closed (scheduled)"
    lines = [f"Window: {state}"]
    if schedule.start_date is not None:
        lines.append(f"Start date: {format_date(schedule.start_date)}")
    lines.append(f"Start time: {format_hhmm(schedule.start_time)}")
    if schedule.interval is not None:
        lines.append(f"Interval: {format_hhmm(schedule.interval)}")
    if schedule.end_date is not None:
        lines.append(f"End date: {format_date(schedule.end_date)}")
    lines.append(f"Recurring: {'yes' if schedule.daily else 'no'}")
    return lines


def _mode(window: JoinWindowSettings) -> str:
    return "auto (default)" if window.auto else "manual"


def show_vstack_config(
    settings: DirectorSettings, role: Role, *, window_open: bool | None = None
) -> str:
    """``show vstack config`` for the role the device has (``DirectorSettings.role``)."""
    if settings.proxy is not None and role is Role.DIRECTOR:
        return show_vstack_proxy_config(settings)  # SMI Proxy mode (guide, chapter 4)
    ip = settings.director_ip or NO_DIRECTOR_IP
    if role is Role.CLIENT:
        state = "enabled" if settings.enabled else "disabled"
        return text([f"Role: Client (SmartInstall {state})", f"Vstack Director IP address: {ip}"])
    defaults = settings.groups.default
    vlans = format_number_list(sorted(settings.vlans)) if settings.vlans else "none"
    startup = settings.startup_vlan or DEFAULT_MANAGEMENT_VLAN
    lines = [
        "Role: Director",
        f"Vstack Director IP address: {ip}",
        f"Vstack Mode: {'Basic' if settings.basic else 'none'}",
        f"Vstack default management vlan: {DEFAULT_MANAGEMENT_VLAN}",
        f"Vstack start-up management vlan:{startup}",
        f"Vstack management Vlans: {vlans}",
        f"Vstack Config file: {defaults.config or 'none'}",
        f"Vstack Image file: {defaults.image or 'none'}",
        f"Vstack Script file: {defaults.script or 'none'}",
    ]
    if settings.hostname_prefix:
        lines.append(f"Vstack Hostname Prefix: {settings.hostname_prefix}")
    window = settings.join_window
    lines.append("Join Window Details:")
    lines.extend(INDENT + line for line in _window_lines(window, window_open))
    lines.append(f"{INDENT}Operation Mode: {_mode(window)}")
    backup = settings.backup
    lines.append("Vstack Backup Details:")
    lines.append(f"{INDENT}Mode: {'On (default)' if backup.enabled else 'Off'}")
    repository = f"{backup.repository}" if backup.repository else f"{backup.location} (default)"
    lines.append(f"{INDENT}Repository: {repository}")
    # Not in the guide (Cisco's Smart Install has no authentication): how this director
    # protects the protocol (docs/security.md).
    lines.append("Vstack Security Details:")
    if settings.smi_key:
        lines.append(f"{INDENT}Mode: authenticated (HMAC-SHA256)")
    else:
        lines.append(f"{INDENT}Mode: legacy (unauthenticated)")
    allowed = " ".join(settings.allowed_clients) if settings.allowed_clients else "any"
    lines.append(f"{INDENT}Allowed clients: {allowed}")
    return text(lines)


def show_vstack_join_window_configuration(
    window: JoinWindowSettings, *, window_open: bool | None = None
) -> str:
    """``show vstack join-window configuration``: a blank line, then the details."""
    lines = ["", "Join Window Configuration Details:"]
    lines.extend(INDENT + line for line in _window_lines(window, window_open))
    lines.append(f"{INDENT}Mode: {_mode(window)}")
    if window.schedule is None:
        lines.append(f"{INDENT}No Join Window start/end dates and times configured")
    return text(lines)
