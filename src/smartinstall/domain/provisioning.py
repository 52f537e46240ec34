"""What the director puts in a joining client's DHCP answer: the zero-touch decision.

Guide: "Adding a Client Switch to the Network", "Zero-Touch Installation", "DHCP and Smart
Install", "Configuration Guidelines and Recommendations" and "Configuring a Client Hostname
Prefix". The director core gathers the facts (from the database, the DHCP request and the
neighbour reports) and calls :func:`decide_offer`; this module decides and explains.

* The options are 125/5 (imagelist file), 125/16 (director IP), 67 (configuration file),
  150 (TFTP server) and 12 (hostname).
* Join state ``d`` (window closed): no Smart Install option at all — "the new switch receives
  the default files from the DHCP server". ``h`` (manual mode): none either, until the operator
  installs the client. ``a``: the client's files.
* "Switches are updated one hop at a time": while a nearer hop is upgrading, a client waits.
* The configuration: a replacement gets the last backup of the switch it replaces (the seed when
  that backup is gone); a client that comes back with zero touch while a backup of it exists
  gets that backup ("If you trigger a zero-touch upgrade with backup enabled and Rev2 … accessible
  on the SMI director, the Rev2 is sent"); an image-only group with backup on boots with the
  backed-up configuration; otherwise the group's configuration.
* A client that is not Smart Install capable first gets the tailored configuration (enable
  password, HTTP, the 19140 trigger); the director then drives its download over HTTP.
* A client whose group waits for its members (it may be a switch stack of a stack group, see
  :mod:`smartinstall.domain.groups`) gets only the director's address (125/16): it says hello,
  which tells its members, and asks again. A switch stack with nothing for it (no stack group
  matches, once its members are known) gets the director's address alone: before its hello it
  may have been answered as a standalone switch, and this answer makes it drop those files
  ("Stackable switches must have the correct configuration present because they do not have a
  default image and configuration").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from smartinstall.domain.artifacts import imagelist_name, render_imagelist
from smartinstall.domain.devices import JoinState
from smartinstall.domain.groups import Assignment
from smartinstall.domain.locations import Location, parse_location
from smartinstall.domain.values import normalize_mac, prefixed_hostname

TAILORED_CONFIG_NAME = "vstack/tailored-{mac}.txt"


class OfferAction(Enum):
    INSTALL = "install"  # Smart Install options in the answer
    HOLD = "hold"  # manual mode: on the hold list, no options
    DENY = "deny"  # join window closed: no options
    WAIT = "wait"  # a nearer hop is still upgrading: no options yet
    NOTHING = "nothing"  # no image or configuration for this client (IMG_CFG_NOT_CONFIGURED)
    IDENTIFY = "identify"  # only the director's address: the client says hello, then asks again


@dataclass(frozen=True)
class ClientContext:
    """The facts about one joining client that the decision needs."""

    mac: str
    join_state: JoinState
    hop: int = 1
    legacy: bool = False  # not Smart Install capable (device type N)
    last_backup: str | None = None  # repository path of this client's REV2, when backup is on
    replacement_backup: str | None = None  # REV2 of the switch this one replaces
    replacing: bool = False
    busy_hops: frozenset[int] = frozenset()  # hops with upgrades in progress
    stack: bool = False  # a switch stack whose members are known


@dataclass(frozen=True)
class Offer:
    action: OfferAction
    assignment: Assignment
    reasons: tuple[str, ...]
    imagelist_file: str | None = None  # option 125 sub-option 5
    imagelist: str | None = None  # the imagelist content the director must publish
    config_file: str | None = None  # option 67
    config_source: str | None = None  # where that file comes from (location or repository)
    tftp_server: str | None = None  # option 150
    director_ip: str | None = None  # option 125 sub-option 16
    hostname: str | None = None  # option 12
    script: str | None = None
    tailored: bool = False
    # where the director writes the imagelist / the tailored configuration when option 150
    # names a third-party TFTP server (``tftp://host[:port]/path``); None: on flash:
    imagelist_url: str | None = None
    tailored_url: str | None = None

    @property
    def has_options(self) -> bool:
        """Smart Install options go in the answer: the files, or the director's address alone
        (:attr:`OfferAction.IDENTIFY`, or NOTHING for a switch stack)."""
        if self.action in (OfferAction.INSTALL, OfferAction.IDENTIFY):
            return True
        return self.action is OfferAction.NOTHING and self.director_ip is not None


def _served_name(location: str) -> tuple[str, str | None]:
    """(file name the client asks for, TFTP server when it is not the director)."""
    parsed = parse_location(location)
    if parsed.local:
        return parsed.path, None
    return parsed.path, parsed.host


def _third_party(images: tuple[str, ...], config: str | None) -> Location | None:
    """The third-party TFTP server the client fetches from (option 150), when the offer's
    files are there: the configuration's server when it is a ``tftp://`` location, else the
    images' server when every image is on one and there is no configuration on flash:."""
    if config and config.startswith("tftp://"):
        return parse_location(config)
    remote = [parse_location(image) for image in images]
    if not remote or any(r.local for r in remote) or config:
        return None
    if len({(r.host, r.port) for r in remote}) != 1:
        return None
    return remote[0]


def _written_there(server: Location, name: str) -> tuple[str, str]:
    """(name in the answer, URL the director writes) of a file the director puts on a
    third-party server: next to the file that named the server (a directory that exists:
    stock TFTP servers cannot make one), or at its root."""
    folder = server.path.rsplit("/", 1)[0] if "/" in server.path else ""
    path = f"{folder}/{name}" if folder else name
    port = "" if server.port == 69 else f":{server.port}"
    return path, f"tftp://{server.host}{port}/{path}"


def decide_offer(
    assignment: Assignment,
    client: ClientContext,
    director_ip: str,
    file_server: str | None = None,
    hostname_prefix: str | None = None,
    backup_enabled: bool = True,
) -> Offer:
    """The DHCP-time decision for one client; see the module notes for the rules."""
    reasons = list(assignment.reasons)
    mac = normalize_mac(client.mac)
    if client.join_state is JoinState.DENIED:
        reasons.append("join window closed: state d, no Smart Install options")
        return Offer(OfferAction.DENY, assignment, tuple(reasons))
    if client.join_state is JoinState.HOLD:
        reasons.append("manual join-window mode: on hold until vstack on-hold-clients install")
        return Offer(OfferAction.HOLD, assignment, tuple(reasons))
    nearer = sorted(h for h in client.busy_hops if h < client.hop)
    if nearer:
        reasons.append(f"hop {nearer[0]} is still upgrading: hop {client.hop} waits")
        return Offer(OfferAction.WAIT, assignment, tuple(reasons))

    config_source: str | None = assignment.config
    if client.replacing:
        if client.replacement_backup:
            config_source = client.replacement_backup
            reasons.append("replacement: last backup of the replaced switch")
        else:
            reasons.append("replacement: backup missing, seed configuration")
    elif backup_enabled and client.last_backup:
        config_source = client.last_backup
        reasons.append("zero touch with a backup of this client: its last backup (REV2)")
    backup = bool(config_source and config_source != assignment.config)
    if assignment.awaiting_hello and not backup:
        reasons.append("the director's address alone, so that it says hello and asks again")
        return Offer(OfferAction.IDENTIFY, assignment, tuple(reasons), director_ip=director_ip)
    if not assignment.ok and not backup:
        reasons.append(assignment.problem)
        if client.stack:
            reasons.append("a stack gets the director's address alone: no earlier answer stands")
            return Offer(OfferAction.NOTHING, assignment, tuple(reasons), director_ip=director_ip)
        return Offer(OfferAction.NOTHING, assignment, tuple(reasons))

    server = file_server or director_ip
    tftp_server: str | None = server
    imagelist_file = imagelist = None
    images = assignment.images
    if images:
        imagelist = render_imagelist(list(images))
        label = f"{assignment.group}-{mac}" if len(images) > 1 else assignment.group
        imagelist_file = f"vstack/{imagelist_name(label)}"
    config_file: str | None = None
    tailored = False
    if client.legacy:
        config_file = TAILORED_CONFIG_NAME.format(mac=mac)
        tailored = True
        reasons.append("not Smart Install capable: tailored configuration first")
    elif config_source:
        if config_source == assignment.config or config_source.startswith("tftp://"):
            config_file, remote = _served_name(config_source)
            if remote:
                tftp_server = remote
        else:
            config_file = config_source  # a repository path served by the director
    # Guide, "Image List File": "When an external TFTP server is used, the director writes
    # the image list file to the TFTP server" (and a legacy client's tailored configuration):
    # the client fetches every file of the answer from the option 150 server.
    imagelist_url = tailored_url = None
    third_party = _third_party(images, None if client.legacy else config_source)
    if third_party is not None:
        tftp_server = third_party.host
        if imagelist_file is not None:
            imagelist_file, imagelist_url = _written_there(
                third_party, imagelist_file.rsplit("/", 1)[-1]
            )
        if tailored and config_file is not None:
            config_file, tailored_url = _written_there(third_party, config_file.rsplit("/", 1)[-1])
        reasons.append(f"files on the third-party TFTP server {third_party.host}")
    hostname = prefixed_hostname(hostname_prefix, mac) if hostname_prefix else None
    return Offer(
        OfferAction.INSTALL,
        assignment,
        tuple(reasons),
        imagelist_file=imagelist_file,
        imagelist=imagelist,
        config_file=config_file,
        config_source=config_source,
        tftp_server=tftp_server,
        director_ip=director_ip,
        hostname=hostname,
        script=assignment.script,
        tailored=tailored,
        imagelist_url=imagelist_url,
        tailored_url=tailored_url,
    )
