"""Per-device plans of the lab PnP server (``DIR/plans.yaml``) and the walk through them.

Pure logic apart from :func:`load_plans` (reads the YAML file) and :func:`file_md5` (hashes a
file; callers run it off the event loop). The format is documented in ``docs/pnp-server.md``::

    defaults:                      # optional
      backoff_seconds: 60          # callbackAfter answered when there is nothing to do
      when_done: backoff           # or: terminate (backoff <terminate/> once the plan is done)
      file_base_url: http://127.0.0.1:8080/pnp-server/files   # default: where the agent
                                                             # reached this server
      reload_delay: 0              # delayIn of image-install / config-upgrade reloads
    devices:
      - udi: "PID:WS-C2960X-48FPD-L,VID:V01,SN:FOC1234X0AB"   # match by exact UDI, or
        serial: FOC1234X0AB        # by serial number (with pid: too, if given), or
        pid: WS-C2960X-48FPD-L     # by PID alone
        image: images/c2960x-universalk9-tar.152-7.E8.tar     # under DIR, or a URL
        image_md5: 5660cb647e66fa22de8698a5acb7a8ed            # optional (files: computed)
        config: configs/FOC1234X0AB.cfg                       # under DIR, or a URL
        steps:                     # optional: replaces the default walk
          - capability
          - {service: device-info, type: hardware}
          - {service: config-upgrade, apply_to: running}
          - {service: cli-exec, command: show version}
      - default: true              # optional: the plan of any device not listed

The default walk is capability → device-info (all) → image-install (when the plan has an
image) → config-upgrade to startup (when it has a config) → topology. Every work response is
answered with a bye; a work request with nothing left to do gets a backoff.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from smartinstall.wire import pnp

PLANS_FILE = "plans.yaml"
SUPPORTED_STEPS = ("capability", "device-info", "image-install", "config-upgrade", "topology")
DEFAULT_WALK = ("capability", "device-info", "image-install", "config-upgrade", "topology")
_DEVICE_INFO_TYPES = ("image", "hardware", "filesystem", "udi", "profile", "all")
_STEP_KEYS = {
    "capability": set(),
    "topology": set(),
    "device-info": {"type"},
    "image-install": {"image", "image_md5", "reload", "reload_delay", "destination"},
    "config-upgrade": {"config", "apply_to", "reload", "reload_delay", "checksum"},
    "backoff": {"callback_after_seconds", "default_minutes", "terminate", "reason"},
    "cli-exec": {"command"},
}
_DEVICE_KEYS = {"udi", "serial", "pid", "image", "image_md5", "config", "steps", "default"}
_DEFAULT_KEYS = {"backoff_seconds", "when_done", "file_base_url", "reload_delay"}


class PlanError(ValueError):
    """``plans.yaml`` is not valid; the message says where."""


@dataclass(frozen=True)
class Step:
    """One service request to send: ``service`` (short name, e.g. ``config-upgrade``) and its
    parameters from the plan."""

    service: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def namespace(self) -> str:
        return f"urn:cisco:pnp:{self.service}"


@dataclass(frozen=True)
class DevicePlan:
    """The plan of one device (or of the default entry)."""

    udi: str | None = None
    serial: str | None = None
    pid: str | None = None
    image: str | None = None
    image_md5: str | None = None
    config: str | None = None
    steps: tuple[Step, ...] | None = None  # None: the default walk
    default: bool = False

    def walk(self) -> tuple[Step, ...]:
        """The steps to send, in order."""
        if self.steps is not None:
            return self.steps
        out = []
        for name in DEFAULT_WALK:
            if name == "image-install" and not self.image:
                continue
            if name == "config-upgrade" and not self.config:
                continue
            out.append(Step(name, {"type": "all"} if name == "device-info" else {}))
        return tuple(out)

    def matches(self, udi: pnp.Udi) -> int:
        """How well this plan matches ``udi`` (0: not at all; higher wins)."""
        if self.udi is not None:
            return 4 if self.udi == udi.text else 0
        if self.serial is not None:
            if self.serial != udi.sn:
                return 0
            if self.pid is not None and self.pid != udi.pid:
                return 0
            return 3
        if self.pid is not None:
            return 2 if self.pid == udi.pid else 0
        return 1 if self.default else 0


@dataclass(frozen=True)
class Plans:
    """Every device plan and the defaults."""

    devices: tuple[DevicePlan, ...] = ()
    backoff_seconds: int = 60
    when_done: str = "backoff"
    file_base_url: str | None = None
    reload_delay: int = 0

    def plan_for(self, udi: pnp.Udi) -> DevicePlan | None:
        best, score = None, 0
        for plan in self.devices:
            s = plan.matches(udi)
            if s > score:
                best, score = plan, s
        return best

    def local_files(self) -> list[str]:
        """Relative paths of the image and config files the plans name (not URLs)."""
        out = []
        for plan in self.devices:
            for ref in (plan.image, plan.config):
                if ref and not is_url(ref):
                    out.append(ref)
            for step in plan.steps or ():
                for key in ("image", "config"):
                    ref = step.params.get(key)
                    if isinstance(ref, str) and not is_url(ref):
                        out.append(ref)
        return out


def is_url(ref: str) -> bool:
    return "://" in ref


def _str(value: Any, where: str) -> str:
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise PlanError(f"{where}: expected a string, got {value!r}")
    return str(value)


def _step(raw: Any, where: str) -> Step:
    if isinstance(raw, str):
        raw = {"service": raw}
    if not isinstance(raw, Mapping) or "service" not in raw:
        raise PlanError(f"{where}: a step is a service name or a mapping with 'service'")
    service = _str(raw["service"], where)
    if not service or "/" in service or ":" in service or " " in service:
        raise PlanError(f"{where}: bad service name {service!r}")
    params = {str(k): v for k, v in raw.items() if k != "service"}
    known = _STEP_KEYS.get(service)
    if known is not None and set(params) - known:
        raise PlanError(f"{where}: unknown keys {sorted(set(params) - known)} for {service}")
    if service == "device-info" and params.get("type", "all") not in _DEVICE_INFO_TYPES:
        raise PlanError(f"{where}: device-info type must be one of {_DEVICE_INFO_TYPES}")
    if service == "config-upgrade" and params.get("apply_to", "startup") not in (
        "startup",
        "running",
    ):
        raise PlanError(f"{where}: apply_to must be startup or running")
    if service == "backoff":
        chosen: list[str] = [
            k for k in ("callback_after_seconds", "default_minutes") if k in params
        ]
        if params.get("terminate"):
            chosen.append("terminate")
        if len(chosen) > 1:
            raise PlanError(f"{where}: backoff takes one of callback/default_minutes/terminate")
    return Step(service, params)


def _device(raw: Any, where: str) -> DevicePlan:
    if not isinstance(raw, Mapping):
        raise PlanError(f"{where}: a device plan is a mapping")
    unknown = set(raw) - _DEVICE_KEYS
    if unknown:
        raise PlanError(f"{where}: unknown keys {sorted(unknown)}")
    udi = raw.get("udi")
    if udi is not None:
        try:
            udi = pnp.Udi.parse(_str(udi, where)).text
        except pnp.PnpDecodeError as exc:
            raise PlanError(f"{where}: {exc}") from None
    default = bool(raw.get("default", False))
    if udi is None and raw.get("serial") is None and raw.get("pid") is None and not default:
        raise PlanError(f"{where}: give udi, serial, pid or default: true")
    steps = None
    if raw.get("steps") is not None:
        if not isinstance(raw["steps"], Sequence) or isinstance(raw["steps"], str):
            raise PlanError(f"{where}: steps is a list")
        steps = tuple(_step(s, f"{where}, step {i + 1}") for i, s in enumerate(raw["steps"]))

    def opt(key: str) -> str | None:
        return None if raw.get(key) is None else _str(raw[key], f"{where}: {key}")

    plan = DevicePlan(
        udi=udi,
        serial=opt("serial"),
        pid=opt("pid"),
        image=opt("image"),
        image_md5=opt("image_md5"),
        config=opt("config"),
        steps=steps,
        default=default,
    )
    for step in plan.walk():
        if step.service == "image-install" and not (step.params.get("image") or plan.image):
            raise PlanError(f"{where}: image-install step without an image")
        if step.service == "config-upgrade" and not (step.params.get("config") or plan.config):
            raise PlanError(f"{where}: config-upgrade step without a config")
    for ref in (plan.image, plan.config):
        if ref and not is_url(ref):
            check_relative(ref, where)
    return plan


def check_relative(ref: str, where: str = "plans") -> None:
    path = Path(ref)
    if path.is_absolute() or ".." in path.parts or not ref.strip():
        raise PlanError(f"{where}: {ref!r} must be a path inside the data directory or a URL")


def parse_plans(raw: Any) -> Plans:
    """Plans from the parsed YAML (a mapping with ``defaults`` and ``devices``)."""
    if raw is None:
        return Plans()
    if not isinstance(raw, Mapping):
        raise PlanError("plans.yaml: the top level is a mapping (defaults:, devices:)")
    unknown = set(raw) - {"defaults", "devices"}
    if unknown:
        raise PlanError(f"plans.yaml: unknown keys {sorted(unknown)}")
    defaults = raw.get("defaults") or {}
    if not isinstance(defaults, Mapping) or set(defaults) - _DEFAULT_KEYS:
        raise PlanError(f"plans.yaml: defaults takes {sorted(_DEFAULT_KEYS)}")
    devices = raw.get("devices") or []
    if not isinstance(devices, Sequence) or isinstance(devices, str):
        raise PlanError("plans.yaml: devices is a list")
    try:
        backoff = int(defaults.get("backoff_seconds", 60))
        reload_delay = int(defaults.get("reload_delay", 0))
    except (TypeError, ValueError):
        raise PlanError("plans.yaml: backoff_seconds and reload_delay are integers") from None
    if not 0 <= backoff <= 47 * 3600 + 59 * 60 + 59:
        raise PlanError("plans.yaml: backoff_seconds must be 0..172799")
    when_done = str(defaults.get("when_done", "backoff"))
    if when_done not in ("backoff", "terminate"):
        raise PlanError("plans.yaml: when_done is backoff or terminate")
    base = defaults.get("file_base_url")
    return Plans(
        devices=tuple(_device(d, f"plans.yaml: device {i + 1}") for i, d in enumerate(devices)),
        backoff_seconds=backoff,
        when_done=when_done,
        file_base_url=None if base is None else str(base).rstrip("/"),
        reload_delay=reload_delay,
    )


def load_plans(path: Path) -> Plans:
    """Read ``plans.yaml`` (blocking); a missing file means no plans (everyone backs off)."""
    if not path.exists():
        return Plans()
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise PlanError(f"{path}: not valid YAML: {exc}") from None
    return parse_plans(raw)


def file_md5(path: Path) -> str:
    """MD5 (hex) of a file, as PnP servers send in ``checksum`` (blocking)."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
