"""``show vstack status``, ``show vstack status detail`` and ``show vstack host <ip>``.

Layouts follow the command reference of ``show vstack`` in chapter 3 of the guide. The PDF
extraction of the guide lost part of the column alignment; the column widths here are those of
the rows of the first ``show vstack status`` example of that chapter (DevNo 7, MAC Address 18,
Product-ID 19, IP_addr 18, Hostname 18), and the header line is printed as that example prints
it (IOS prints the header as a fixed string, which is why it does not line up with the rows).

A stack is one device with several members: it has one row per member, every row with the
device number ("all the IBC stack members will have different entries but they will all have
the same device number", IOS XE 3.6.0E and later).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from smartinstall.director.views.common import (
    DISABLED,
    ENABLED,
    LEGEND,
    RULE,
    SEPARATOR,
    UNKNOWN,
    cell,
    known,
    text,
)
from smartinstall.director.views.neighbors import neighbor_table
from smartinstall.domain.devices import Device
from smartinstall.domain.values import normalize_mac

STATUS_HEADER = (
    "DevNo  MAC Address      Product-ID          IP_addr            Hostname           Status"
)
STATUS_WIDTHS = (7, 18, 19, 18, 18)
NOT_FOUND = "Not Found"  # guide: "Serial : Not Found"
NOT_APPLICABLE = "not applicable"  # guide: the Supervisor of platforms without supervisors


@dataclass(frozen=True)
class DeviceDetail:
    """What ``show vstack status detail`` shows beyond :class:`Device`: the backup state.

    ``backup_file`` empty means no backup was done ("Backup done : no", "none" below it).
    ``replace_type`` is the ``Switch replace type`` line of current releases (``Same Switch``).
    """

    backup_file: str = ""
    backup_client_name: str = ""
    checksum: str = ""
    replace_type: str = ""


def status_rows(device: Device) -> list[str]:
    """The rows of one device in the Director Database table (one per stack member)."""
    members = [(m.mac, m.pid) for m in device.members] or [(device.mac, device.pid)]
    widths = STATUS_WIDTHS
    rows = []
    for mac, pid in members:
        rows.append(
            cell(str(device.number), widths[0])
            + cell(mac, widths[1])
            + cell(known(pid), widths[2])
            + cell(known(device.ip), widths[3])
            + cell(known(device.hostname), widths[4])
            + device.status()
        )
    return rows


def show_vstack_status(devices: Sequence[Device], *, enabled: bool = True) -> str:
    """``show vstack status``: the legend and the director database, in device-number order."""
    if not enabled:
        return text([DISABLED])
    lines = [ENABLED, *LEGEND, "Director Database:", STATUS_HEADER, RULE]
    for device in sorted(devices, key=lambda d: d.number):
        lines.extend(status_rows(device))
    return text(lines)


def _label(name: str) -> str:
    return f"{name:<16}: "


def detail_block(device: Device, detail: DeviceDetail | None = None) -> list[str]:
    """The lines of one entry of ``show vstack status detail`` (one per stack member)."""
    info = detail or DeviceDetail()
    members = [(m.mac, m.pid) for m in device.members] or [(device.mac, device.pid)]
    current = bool(device.supervisor) or device.smi_version is not None
    lines: list[str] = []
    for mac, pid in members:
        lines.append(SEPARATOR)
        lines.append(_label("Device Num") + str(device.number))
        lines.append(_label("Device ID") + known(device.hostname))
        lines.append(_label("MAC Address") + mac)
        # "IP Addr" and "(N-1)HOP Entry" are one space short in every example of the guide.
        lines.append("IP Addr        : " + known(device.ip))
        lines.append(_label("Hop value") + (UNKNOWN if device.hop is None else str(device.hop)))
        lines.append(_label("Serial") + known(device.serial, NOT_FOUND))
        lines.append(_label("Product-ID") + known(pid))
        if current:
            lines.append(_label("Supervisor") + known(device.supervisor, NOT_APPLICABLE))
        lines.append(_label("Version") + known(device.version, NOT_FOUND))
        lines.append(_label("Image") + known(device.image, NOT_FOUND))
        lines.append(_label("Entry Role") + ("Entry" if device.is_director else "IBC Entry"))
        upstream = "Already Root" if device.is_director else known(device.upstream_mac)
        lines.append("(N-1)HOP Entry : " + upstream)
        lines.append(_label("Backup done") + ("Yes" if info.backup_file else "no"))
        lines.append("Latest backup file: " + (info.backup_file or "none"))
        lines.append(
            "Latest backup client name: "
            + (info.backup_client_name or ("none" if not info.backup_file else ""))
        )
        lines.append(_label("File checksum") + (info.checksum or "none"))
        if current:
            lines.append("Switch replace type: " + known(info.replace_type, NOT_APPLICABLE))
            version = UNKNOWN if device.smi_version is None else str(device.smi_version)
            lines.append(_label("SMI Version") + version)
        lines.append(_label("Status") + device.status())
        if current and device.capability:
            lines.append(_label("Capability") + device.capability)
    return [line.rstrip() for line in lines]


def show_vstack_status_detail(
    devices: Sequence[Device],
    details: Mapping[str, DeviceDetail] | None = None,
    *,
    enabled: bool = True,
) -> str:
    """``show vstack status detail``; ``details`` maps a device's MAC address to its backup
    state (any MAC form)."""
    if not enabled:
        return text([DISABLED])
    by_mac = {normalize_mac(mac): info for mac, info in (details or {}).items()}
    lines = [ENABLED]
    for device in sorted(devices, key=lambda d: d.number):
        lines.extend(detail_block(device, by_mac.get(device.mac)))
    return text(lines)


def show_vstack_host(device: Device | None, ip: str, *, enabled: bool = True) -> str:
    """``show vstack host <ip>``: the client's status row and its neighbours."""
    if not enabled:
        return text([DISABLED])
    if device is None:
        return text([f"% No client with IP address {ip} in the director database"])
    lines = ["Host Info :", *LEGEND, STATUS_HEADER, RULE, *status_rows(device), ""]
    lines.append("Neighbor Info:")
    lines.extend(neighbor_table(device.neighbors))
    return text(lines)
