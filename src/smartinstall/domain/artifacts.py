"""Files the director generates and reads: the imagelist, the tailored configuration for
clients that are not Smart Install capable, and post-install scripts.

Guide: "Image List File", "SMI Proxy and Tailored Configuration Files" and "Support for
Post-install Operations".
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from smartinstall.domain.devices import validate_ipv4
from smartinstall.domain.errors import DomainError
from smartinstall.domain.locations import parse_location

# --- imagelist ------------------------------------------------------------------------------


def imagelist_entry(image: str) -> str:
    """One imagelist line: a file on the director's flash by its name (the client fetches it
    from the director's TFTP server), a file elsewhere by its full ``tftp://`` URL."""
    location = parse_location(image, "image")
    return location.path if location.local else location.text


def render_imagelist(images: Sequence[str]) -> str:
    """The imagelist file: one image per line; a stack lists one per member in member order."""
    if not images:
        raise DomainError("% No image to put in the imagelist")
    for image in images:
        name = parse_location(image, "image").filename.lower()
        if not name.endswith((".tar", ".bin")):
            raise DomainError(f"% Image must be a .tar (or .bin) file: {image}", image)
    return "".join(f"{imagelist_entry(image)}\n" for image in images)


def parse_imagelist(text: str) -> list[str]:
    """The client's reading of an imagelist: non-empty lines, at most nine (stack members)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise DomainError("% Empty imagelist")
    if len(lines) > 9:
        raise DomainError("% Imagelist has more than nine images")
    return lines


def imagelist_name(group_label: str) -> str:
    """A stable imagelist file name for a group: ``imagelist-<group>.txt``."""
    slug = re.sub(r"[^A-Za-z0-9._+-]+", "_", group_label.strip()) or "default"
    return f"imagelist-{slug}.txt"


# --- tailored configuration -----------------------------------------------------------------

TRIGGER_PORT = 19140  # the director listens here for the client's "do telnet" trigger


@dataclass(frozen=True)
class TailoredConfig:
    director_ip: str
    enable_password: str
    username: str = ""

    def render(self) -> str:
        """The tailored configuration of the guide's example, with our director and password.

        It gives the legacy client an enable password and HTTP authentication so the director
        can drive ``archive download-sw`` over HTTP, makes the client call the director on TCP
        19140 once it boots, and points it to the director.
        """
        ip = validate_ipv4(self.director_ip)
        if not self.enable_password or any(c.isspace() for c in self.enable_password):
            raise DomainError("% Tailored configuration needs an enable password without spaces")
        lines = ["!", "version 12.2", "!", f"enable password {self.enable_password}", "!"]
        if self.username:
            lines.extend([f"username {self.username}", "!"])
        lines.extend(
            [
                "ip http server",
                "ip http authentication enable",
                "!",
                f"do telnet {ip} {TRIGGER_PORT}",
                "!",
                f"vstack director {ip}",
                "!",
                "end",
                "!",
            ]
        )
        return "\n".join(lines) + "\n"


_PASSWORD_KEY = secrets.token_bytes(32)  # new with each director process


def client_enable_password(mac: str) -> str:
    """The enable password of one client's tailored configuration when the operator set none
    (``vstack tailored-config enable-password``). The guide's example gives every legacy
    client ``cisco``; this one is random (a key of this process and the MAC: the same for
    every answer to the client while the director runs), known to the director only, and
    lasts until the client's own configuration replaces the tailored one. The director
    reads it back from the tailored file it wrote, so a restart does not lose it."""
    digest = hmac.new(_PASSWORD_KEY, mac.lower().encode(), hashlib.sha256).hexdigest()
    return "smi" + digest[:20]


def tailored_enable_password(text: str) -> str | None:
    """The enable password a tailored configuration gives (its ``enable password`` line)."""
    for line in text.splitlines():
        words = line.split()
        if len(words) == 3 and words[:2] == ["enable", "password"]:
            return words[2]
    return None


# --- post-install scripts -------------------------------------------------------------------

MAX_COMMANDS_PER_LINE = 20
MAX_SCRIPT_LINES = 1000
MAX_COMMAND_LENGTH = 255

# The command groups a post-install script may hold, and what may follow the head command on
# the same line (its sub-commands).
_VLAN_SUBCOMMANDS = ("name", "state", "shutdown", "mtu", "remote-span", "exit", "no", "end")


@dataclass(frozen=True)
class ScriptLine:
    number: int
    commands: tuple[str, ...]
    group: str  # "system mtu", "vlan", "sdm", "vtp"


def _group_of(command: str) -> str | None:
    words = command.lower().split()
    if len(words) >= 2 and words[0] == "system" and words[1] == "mtu":
        return "system mtu"
    if words and words[0] in ("vlan", "sdm", "vtp"):
        return words[0]
    return None


def parse_post_install(text: str) -> list[ScriptLine]:
    """Parse a post-install script as the guide describes it.

    Only commands in double quotes run; everything else on a line is ignored. A line holds at
    most 20 commands, all of one related group (``"vlan 123" "name VLAN" "exit"``); two
    distinct commands on one line (``"vlan 123" "system mtu 1600"``) are an error. Supported
    are ``system mtu``, ``vlan`` (with its sub-commands), ``sdm`` and ``vtp``. An unterminated
    quote or more than 20 commands is an error naming the line.
    """
    lines = text.splitlines()
    if len(lines) > MAX_SCRIPT_LINES:
        raise DomainError(f"% Post-install script longer than {MAX_SCRIPT_LINES} lines")
    result: list[ScriptLine] = []
    for number, line in enumerate(lines, start=1):
        if line.count('"') % 2:
            raise DomainError(f"% Post-install script line {number}: unterminated quote", line)
        commands = [c.strip() for c in re.findall(r'"([^"]*)"', line)]
        commands = [c for c in commands if c]
        if not commands:
            continue
        if len(commands) > MAX_COMMANDS_PER_LINE:
            raise DomainError(
                f"% Post-install script line {number}: {len(commands)} commands "
                f"(at most {MAX_COMMANDS_PER_LINE})",
                line,
            )
        for command in commands:
            if len(command) > MAX_COMMAND_LENGTH or any(ord(c) < 32 for c in command):
                raise DomainError(f"% Post-install script line {number}: invalid command", line)
        group = _group_of(commands[0])
        if group is None:
            raise DomainError(
                f'% Post-install script line {number}: unsupported command "{commands[0]}" '
                "(system mtu, vlan, sdm and vtp are supported)",
                commands[0],
            )
        for command in commands[1:]:
            first = command.lower().split()[0]
            related = first in _VLAN_SUBCOMMANDS if group == "vlan" else _group_of(command) == group
            if not related:
                raise DomainError(
                    f'% Post-install script line {number}: "{command}" is not part of the '
                    f'"{commands[0]}" command group; put it on its own line',
                    command,
                )
        result.append(ScriptLine(number, tuple(commands), group))
    return result


# --- what a switch running an image reports -----------------------------------------------

_TAR = re.compile(
    r"^(?P<plat>[a-z0-9]+)-(?P<feat>[a-z0-9_]+)-(?:tar|mz)\.(?P<ver>\d{3,4})-(?P<build>\d+)"
    r"\.(?P<tail>[A-Za-z0-9]+)\.(?:tar|bin)$",
    re.IGNORECASE,
)


def image_facts(name: str) -> tuple[str, str]:
    """(image, version) a switch running ``name`` reports: ``c2960x-universalk9-tar.152-7.E9.tar``
    → (``C2960X-UNIVERSALK9-M``, ``15.2(7)E9``). Unknown names are reported as they are."""
    base = PurePosixPath(name.split("://", 1)[-1]).name
    match = _TAR.match(base)
    if not match:
        return base.upper(), "unknown"
    ver = match["ver"]
    version = f"{ver[:2]}.{ver[2:]}({match['build']}){match['tail']}"
    return f"{match['plat']}-{match['feat']}-M".upper(), version


def runs_image(reported_image: str, reported_version: str, location: str) -> bool:
    """Does a client that reports (``image``, ``version``) in its hello run the image file
    ``location`` (a tar or bin name, any URL form)? Unknown names never match."""
    image, version = image_facts(location.split(":", 1)[-1] if "://" not in location else location)
    if version == "unknown":
        return False
    return image == reported_image.upper() and version == reported_version
