"""On-demand updates (``vstack download-image`` / ``vstack download-config``).

The grammar (issue text; the guide's own syntax lines disagree)::

    vstack download-image tar <image_url> {<ip> | index <list>} <password> [override]
                          [{issu [allow-reload] [in hh:mm] | reload [in hh:mm]}]
    vstack download-image <imagelist_url> {<ip> | index <list>} <password> [override]
                          [{issu [allow-reload] [in hh:mm] | reload [in hh:mm]}]
    vstack download-image built-in <family> <port> [<chassis>] <password> [override]
                          [issu [allow-reload]] [reload] [in hh:mm]
    vstack download-config <config_url> {<ip> | index <list>} <password> startup
                          [reload [in hh:mm]]
    vstack download-config built-in <family> <port> [<chassis>] <password> startup
                          [reload [in hh:mm]]

The password is ``NONE`` (any case) for clients without one; only legacy (non Smart Install)
clients need it. An index list (and a built-in group) needs every client to share the product
ID and the password of the first one; the others fail with a reason and the rest go on.

A legacy client (guide: "the director can telnet to the client switch and use the archive
download-sw privileged EXEC command"; "For on-demand download on a switch that is not Smart
Install capable, the switch must also have an enable password configured") is driven through
its HTTP exec interface with the password given (:func:`legacy.run_on_demand`): ``archive
download-sw`` of the tar itself (no imagelist: it does not read one), ``copy <config>
startup-config``, then ``reload`` / ``reload in hh:mm`` as asked.

This module chooses the targets, checks them, publishes the imagelist a tar URL needs in the
repository's ``vstack/`` folder, and hands the rest to :meth:`Director.download`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from smartinstall.director import legacy
from smartinstall.director.core import Director, OperationResult
from smartinstall.director.views.groups import builtin_files
from smartinstall.director.views.neighbors import devices_in_builtin_group
from smartinstall.domain import catalog
from smartinstall.domain.artifacts import render_imagelist
from smartinstall.domain.catalog import BuiltinKey, CatalogError
from smartinstall.domain.devices import Device, DeviceType, UpgradeKind
from smartinstall.domain.errors import DomainError
from smartinstall.domain.joinwindow import Operation, Permission, permission
from smartinstall.domain.locations import parse_location

log = logging.getLogger(__name__)

ONDEMAND_DIR = "vstack"


class OnDemandError(ValueError):
    """The request cannot start at all (the message is an IOS ``%`` line)."""


@dataclass(frozen=True)
class OnDemandRequest:
    kind: UpgradeKind  # IMAGE or CONFIG
    url: str | None = None  # tar image or configuration URL; None for a built-in group
    #: ``url`` is an imagelist the clients read as it is (no imagelist is published)
    imagelist: bool = False
    builtin: BuiltinKey | None = None
    ip: str | None = None
    indexes: tuple[int, ...] = ()
    password: str = ""  # "" for NONE
    override: bool = False
    issu: bool = False
    allow_reload: bool = False
    reload_now: bool = False
    reload_at: tuple[int, int] | None = None


def password_of(word: str) -> str:
    """``NONE`` in any case means no password."""
    return "" if word.upper() == "NONE" else word


def _time(word: str) -> tuple[int, int]:
    hour, _, minute = word.partition(":")
    if not (hour.isdigit() and minute.isdigit() and len(minute) == 2 and len(hour) <= 2):
        raise OnDemandError(f"% Invalid time {word} (hh:mm)")
    if not (0 <= int(hour) <= 23 and 0 <= int(minute) <= 59):
        raise OnDemandError(f"% Invalid time {word} (hh:mm)")
    return int(hour), int(minute)


def parse_builtin(kind: UpgradeKind, words: Sequence[str]) -> OnDemandRequest:
    """The words after ``built-in``: ``<family> <port> [<chassis>] <password> …``."""
    words = list(words)
    if len(words) < 3:
        raise OnDemandError("% Incomplete command.")
    family_name = words.pop(0).lower()
    try:
        family = catalog.family(family_name)
    except CatalogError as error:
        raise OnDemandError(str(error)) from None
    port = words.pop(0).lower()
    chassis = words.pop(0).lower() if family.chassis_based and words else None
    try:
        key = catalog.builtin_key(family_name, port, chassis)
    except (CatalogError, DomainError) as error:
        raise OnDemandError(str(error)) from None
    if not words:
        raise OnDemandError("% Incomplete command.")
    password = password_of(words.pop(0))
    flags: dict[str, object] = {}
    lowered = [w.lower() for w in words]
    position = 0
    if kind is UpgradeKind.CONFIG:
        if not lowered or lowered[0] != "startup":
            raise OnDemandError(
                "% Incomplete command."
                if not lowered
                else f"% Invalid input: {words[0]} (expected startup)"
            )
        position = 1
    allowed = (
        ("override", "issu", "allow-reload", "reload", "in")
        if kind is UpgradeKind.IMAGE
        else ("reload", "in")
    )
    while position < len(lowered):
        word = lowered[position]
        if word not in allowed or word in flags:
            raise OnDemandError(f"% Invalid input: {words[position]}")
        if word == "allow-reload" and "issu" not in flags:
            raise OnDemandError("% allow-reload goes after issu")
        if word == "in":
            if position + 1 >= len(words):
                raise OnDemandError("% Incomplete command.")
            flags["in"] = _time(words[position + 1])
            position += 2
            continue
        flags[word] = True
        position += 1
    at = flags.get("in")
    return OnDemandRequest(
        kind, builtin=key, password=password, override=bool(flags.get("override")),
        issu=bool(flags.get("issu")), allow_reload=bool(flags.get("allow-reload")),
        reload_now=bool(flags.get("reload")) and at is None,
        reload_at=at if isinstance(at, tuple) else None,
    )  # fmt: skip


@dataclass
class Selection:
    targets: list[Device] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def select_targets(director: Director, request: OnDemandRequest) -> Selection:
    """The clients a request names, those it cannot go to with the reason why."""
    db = director.state
    found: list[Device] = []
    selection = Selection()
    if request.ip is not None:
        device = db.device_by_ip(request.ip)
        if device is None or device.is_director:
            raise OnDemandError(f"% Client {request.ip} not found in the director database")
        found.append(device)
    elif request.indexes:
        for number in request.indexes:
            device = db.device_by_number(number)
            if device is None or device.is_director:
                selection.refused.append(f"% Client {number}: not in the director database")
                continue
            found.append(device)
    elif request.builtin is not None:
        found = devices_in_builtin_group(db.devices(), request.builtin)
        if not found:
            raise OnDemandError("% No client of this built-in group in the director database")
    reference: Device | None = None
    for device in found:
        name = f"% Client {device.number} ({device.ip or device.mac})"
        if not device.ip:
            selection.refused.append(f"{name}: its IP address is not known")
            continue
        allowed = permission(device.join_state, Operation.ON_DEMAND)
        if allowed is Permission.NOT_ALLOWED:
            selection.refused.append(f"{name}: join window state does not allow an update")
            continue
        legacy_client = device.device_type is DeviceType.NON_SMART_INSTALL
        if legacy_client:
            why = _legacy_refusal(request)
            if why:
                selection.refused.append(f"{name}: {why}")
                continue
        tailored = director.settings.tailored_password
        if not legacy_client and request.password and tailored and request.password != tailored:
            selection.refused.append(f"{name}: password differs from the clients' password")
            continue
        if reference is None:
            reference = device
        elif device.pid != reference.pid:
            selection.refused.append(
                f"{name}: product ID {device.pid or 'unknown'} differs from "
                f"{reference.pid or 'unknown'} of client {reference.number}"
            )
            continue
        selection.targets.append(device)
    return selection


def _legacy_refusal(request: OnDemandRequest) -> str:
    """Why a request cannot go to a non-Smart-Install client ("" when it can)."""
    if not request.password:
        return "a non-Smart-Install client needs its enable password (NONE given)"
    if request.issu:
        return "a non-Smart-Install client cannot upgrade by ISSU"
    if request.imagelist:
        return "a non-Smart-Install client reads no imagelist: give the tar image"
    return ""


def legacy_url(director: Director, request: OnDemandRequest) -> str:
    """What a legacy client fetches: the tar image itself, or the configuration."""
    location = request.url
    if request.builtin is not None:
        files = builtin_files(director.settings.groups, request.builtin)
        location = files.image if request.kind is UpgradeKind.IMAGE else files.config
    if not location:
        raise OnDemandError("% Nothing configured for this built-in group")
    return director.tftp_url(location)


def publish_imagelist(director: Director, images: Sequence[str], label: str) -> str:
    """Write an imagelist for ``images`` in ``flash:vstack/`` and return its URL."""
    try:
        text = render_imagelist(list(images))
    except DomainError as error:
        raise OnDemandError(str(error)) from None
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    path = f"{ONDEMAND_DIR}/imagelist-ondemand-{label}-{digest}.txt"
    # written on a thread; execute() waits for it before any client is told the URL
    director.publish(path, text.encode(), "IMAGELIST_FAILED")
    return director.tftp_url(f"flash:{path}")


async def _published(director: Director, url: str) -> str | None:
    """Wait until a file the director is publishing for ``url`` is on flash:; the error
    line when the write failed, else None."""
    prefix = director.tftp_prefix
    if not url.startswith(prefix):
        return None
    path = url[len(prefix) :]
    pending = director.publication(path)
    if pending is not None and not await asyncio.shield(pending):
        return f"%Error writing {path}"
    return None


def source_url(director: Director, request: OnDemandRequest) -> str:
    """What goes into the SMI message: the imagelist URL (image) or the configuration URL."""
    if request.builtin is not None:
        files = builtin_files(director.settings.groups, request.builtin)
        label = "_".join(
            part for part in (request.builtin.family, request.builtin.port_config,
                              request.builtin.chassis) if part
        )  # fmt: skip
        if request.kind is UpgradeKind.IMAGE:
            if not files.image:
                raise OnDemandError("% No image configured for this built-in group")
            return publish_imagelist(director, [files.image], label)
        if not files.config:
            raise OnDemandError("% No configuration file configured for this built-in group")
        return director.tftp_url(files.config)
    assert request.url is not None
    try:
        parse_location(request.url)
    except DomainError as error:
        raise OnDemandError(str(error)) from None
    if request.kind is UpgradeKind.IMAGE and not request.imagelist:
        return publish_imagelist(director, [request.url], "tar")
    return director.tftp_url(request.url)


def plan(director: Director, request: OnDemandRequest) -> tuple[str, Selection]:
    """Check a request before anything is sent: the URL for the clients and the targets."""
    if not director.is_director:
        raise OnDemandError("% This device is not the director (vstack director and basic)")
    selection = select_targets(director, request)
    if not selection.targets:
        return "", selection
    return source_url(director, request), selection


async def execute(
    director: Director, request: OnDemandRequest, url: str, selection: Selection
) -> str:
    """Send the update to every target (several at once); the lines to print."""
    lines = list(selection.refused)
    failed = await _published(director, url)
    if failed is not None:
        return "".join(line + "\n" for line in [*lines, failed])
    old = [d for d in selection.targets if d.device_type is DeviceType.NON_SMART_INSTALL]
    smi = [d for d in selection.targets if d.device_type is not DeviceType.NON_SMART_INSTALL]
    if old:
        lines.extend(await legacy.run_on_demand(
            director, old, request.kind, legacy_url(director, request), request.password,
            overwrite=request.override,
            reload_now=request.reload_now, reload_at=request.reload_at,
        ))  # fmt: skip
    if smi:
        result: OperationResult = await director.download(
            request.kind, url, smi, request.reload_at, request.reload_now
        )
        lines.extend(
            line if not line.endswith(")") or "unreachable" not in line else f"% {line}"
            for line in result.lines
        )
        director.events.debug_line(
            "download",
            f"on-demand {request.kind.name.lower()} {url}: {result.ok} requested, "
            f"{result.failed + len(selection.refused)} failed "
            f"at {dt.datetime.now(director.tz):%H:%M:%S}",
        )
    return "".join(line + "\n" for line in lines)


async def install_on_hold(director: Director, devices: Sequence[Device]) -> str:
    """``vstack on-hold-clients install``: allow each held client, then push at once (SMI types
    2 and 3) the files its group gives it, as zero touch would have."""
    lines: list[str] = []
    for device in devices:
        lines.extend(await director.install_held(device))
    return "".join(line + "\n" for line in lines)
