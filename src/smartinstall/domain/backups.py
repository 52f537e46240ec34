"""Client configuration backups and the zero-touch replacement decision.

Guide: "Backing Up the Client Configuration", "Managing Client Configuration Files",
"Replacing a Client Switch" and the ``show vstack status detail`` example
(``flash:/vstack/2960pd-47-001d.71ba.f780.REV2``).

* A backup is stored as ``<hostname>-<mac>.REV2``; the previous REV2 becomes REV1 first.
* When the hostname changes, the next backup maps the client to files with the new hostname
  and the old mapping is removed; on the director's own repository the old files are deleted,
  on a third-party TFTP server they stay (the guide: "the files are not removed"). The old
  REV2 carries over as the new REV1 so one step of history survives the rename.
* A replacement is an inactive client's like-for-like successor: same product ID, connected to
  the same upstream device on the same port. Only one replacement at a time per branch, and only
  where there is one path to the director. Anything else is a new client.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from smartinstall.domain.devices import Device, Health
from smartinstall.domain.errors import DomainError
from smartinstall.domain.interfaces import same_interface
from smartinstall.domain.values import normalize_mac

REVISIONS = (1, 2)


def backup_name(hostname: str, mac: str, revision: int) -> str:
    """``<hostname>-<mac>.REV<n>`` with the MAC in dotted form."""
    if revision not in REVISIONS:
        raise DomainError(f"% Invalid backup revision: {revision}", str(revision))
    if not hostname or "/" in hostname or any(ord(c) < 33 for c in hostname):
        raise DomainError(f"% Invalid hostname for a backup: {hostname!r}", hostname)
    return f"{hostname}-{normalize_mac(mac)}.REV{revision}"


def parse_backup_name(name: str) -> tuple[str, str, int] | None:
    """``(hostname, mac, revision)`` of a backup file name, or None for other files."""
    stem, dot, rev = name.rpartition(".REV")
    if not dot or rev not in ("1", "2") or len(stem) < 16:
        return None
    hostname, dash, mac = stem[:-15], stem[-15], stem[-14:]
    if dash != "-" or not hostname:
        return None
    try:
        return hostname, normalize_mac(mac), int(rev)
    except DomainError:
        return None


class StepKind(Enum):
    MOVE = "move"  # rename (same repository) source -> target, replacing target
    COPY = "copy"  # copy source -> target (third-party repository: no rename)
    DELETE = "delete"
    WRITE = "write"  # write the new configuration to target (atomically)


@dataclass(frozen=True)
class Step:
    kind: StepKind
    target: str
    source: str = ""


@dataclass(frozen=True)
class BackupPlan:
    steps: tuple[Step, ...]
    rev2: str
    rev1: str


def plan_backup(
    hostname: str,
    mac: str,
    existing: Sequence[str],
    previous_hostname: str | None = None,
    local_repository: bool = True,
) -> BackupPlan:
    """The file operations that store a new backup for the client, in order.

    ``existing`` lists the file names now in the repository. Each step leaves a state in which
    a crash loses nothing acknowledged: the new file is written last, after the rotation.
    """
    rev1 = backup_name(hostname, mac, 1)
    rev2 = backup_name(hostname, mac, 2)
    present = set(existing)
    steps: list[Step] = []
    renamed = previous_hostname is not None and previous_hostname != hostname
    if rev2 in present:
        steps.append(Step(StepKind.MOVE, rev1, rev2))
    elif renamed:
        assert previous_hostname is not None
        old2 = backup_name(previous_hostname, mac, 2)
        if old2 in present:
            steps.append(Step(StepKind.MOVE if local_repository else StepKind.COPY, rev1, old2))
    steps.append(Step(StepKind.WRITE, rev2))
    if renamed and local_repository:
        assert previous_hostname is not None
        for revision in REVISIONS:
            old = backup_name(previous_hostname, mac, revision)
            moved = any(s.kind is StepKind.MOVE and s.source == old for s in steps)
            if old in present and not moved:
                steps.append(Step(StepKind.DELETE, old))
    return BackupPlan(tuple(steps), rev2=rev2, rev1=rev1)


# --- zero-touch replacement ----------------------------------------------------------------


class ReplacementKind(Enum):
    REPLACEMENT = "replacement"
    NEW = "new client"


@dataclass(frozen=True)
class NewcomerFacts:
    mac: str
    pid: str
    upstream_mac: str = ""
    upstream_ip: str = ""
    upstream_port: str = ""


@dataclass(frozen=True)
class ReplacementDecision:
    kind: ReplacementKind
    replaced: Device | None
    reason: str


def decide_replacement(
    newcomer: NewcomerFacts,
    known: Sequence[Device],
    replacement_in_progress: bool = False,
    paths_to_director: int = 1,
) -> ReplacementDecision:
    """Is the new switch a replacement of an inactive client, or a new client?"""
    mac = normalize_mac(newcomer.mac)
    if any(d.mac == mac for d in known):
        return ReplacementDecision(
            ReplacementKind.NEW, None, "MAC already in the director database"
        )
    if (
        not newcomer.pid
        or not newcomer.upstream_port
        or not (newcomer.upstream_mac or newcomer.upstream_ip)
    ):
        return ReplacementDecision(
            ReplacementKind.NEW, None, "product ID or upstream port unknown: new client"
        )
    candidates = [
        d
        for d in known
        if d.health is Health.INACTIVE
        and not d.is_director
        and d.pid == newcomer.pid.upper()
        and _same_upstream(d, newcomer)
    ]
    if not candidates:
        return ReplacementDecision(
            ReplacementKind.NEW,
            None,
            "no inactive client with the same product ID on the same upstream port",
        )
    if len(candidates) > 1:
        return ReplacementDecision(
            ReplacementKind.NEW, None, "several inactive clients match: not a unique replacement"
        )
    if replacement_in_progress:
        return ReplacementDecision(
            ReplacementKind.NEW, None, "another replacement is in progress on this branch"
        )
    if paths_to_director != 1:
        return ReplacementDecision(
            ReplacementKind.NEW, None, "more than one path to the director: no replacement"
        )
    old = candidates[0]
    return ReplacementDecision(
        ReplacementKind.REPLACEMENT,
        old,
        f"replaces inactive client {old.number} ({old.mac}): same product ID {old.pid} on "
        f"the same upstream port {old.upstream_port}",
    )


def _same_upstream(device: Device, newcomer: NewcomerFacts) -> bool:
    if newcomer.upstream_mac and device.upstream_mac:
        same_device = normalize_mac(newcomer.upstream_mac) == device.upstream_mac
    else:
        same_device = bool(newcomer.upstream_ip) and newcomer.upstream_ip == device.upstream_ip
    return same_device and same_interface(device.upstream_port, newcomer.upstream_port)


def replacement_config(backup_exists: bool, rev2: str, seed: str | None) -> tuple[str | None, str]:
    """The configuration a replacement receives: the last backup, else the seed (guide:
    "the client attempts another reload and boots with the seed (default) configuration")."""
    if backup_exists:
        return rev2, "last backup of the replaced client"
    return seed, "backup missing: seed configuration"


# --- what a new backup changes that matters for security ------------------------------------

#: configuration lines whose change an operator must hear about: who can log in and with what,
#: how the switch authenticates, who manages it (SNMP), and its Smart Install settings (an
#: attacker's first edit: CVE-2018-0171 tools rewrite ``vstack`` and plant users)
SECURITY_PREFIXES = (
    "enable secret",
    "enable password",
    "username ",
    "aaa ",
    "tacacs",
    "radius",
    "snmp-server community",
    "snmp-server user",
    "vstack",
    "no vstack",
    "crypto key",
    "ip ssh",
    "password ",
    "login",
    "transport input",
)


def _security_lines(text: str) -> set[str]:
    found = set()
    for raw in text.splitlines()[:100_000]:
        line = " ".join(raw.split())
        if line.lower().startswith(SECURITY_PREFIXES):
            found.add(line[:200])
    return found


def security_changes(previous: str, new: str) -> list[str]:
    """The security-relevant lines a new backup adds (``+ …``) or drops (``- …``) against the
    previous one, sorted; secrets are shown by their command only (``+ enable secret …``)."""

    def shown(line: str) -> str:
        words = line.split()
        if line.lower().startswith("snmp-server user") and len(words) > 4:
            return " ".join(words[:4]) + " …"  # its passwords or keys follow the group
        for i, word in enumerate(words):
            if word in ("secret", "password", "key", "community") and i + 1 < len(words):
                return " ".join(words[: i + 1]) + " …"
        return line

    old, now = _security_lines(previous), _security_lines(new)
    added = sorted({shown(line) for line in now - old})
    dropped = sorted({shown(line) for line in old - now})
    return [f"+ {line}" for line in added] + [f"- {line}" for line in dropped]
