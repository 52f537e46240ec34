"""The director's configuration language: every `vstack …` configuration command of the guide.

One `DirectorCommands` set edits one `DirectorSettings` object (the typed model of
`smartinstall.domain.settings`); its running-configuration lines are the model's own
`render()`, so `show running-config`, `write memory` and a replay of the saved text agree.

Commands (guide, chapter 3, and the configuration examples of chapter 2):

* global configuration: `vstack`, `vstack director`, `vstack basic`, `vstack startup-vlan`,
  `vstack vlan`, `vstack image|config|script`, `vstack hostname-prefix`, `vstack backup
  [file-server …]`, `vstack join-window start|close|mode auto`, `vstack dhcp-localserver`,
  `vstack group built-in …`, `vstack group custom …`, `vstack tailored-config
  enable-password`, `vstack authentication key`, `vstack allowed-clients`, `ip dhcp
  remember`, `ip helper-address` (`ip helper`), `logging host`, and their `no` forms;
* group configuration (`Director(config-vstack-group)#`): `image`, `config`, `script`, and
  in custom groups `match …` as the group's type allows; a stack group also takes
  `image <location> family <family>`, the image of the members of one product family of a
  mixed stack (the other members take the group's `image`);
* DHCP pool configuration (`Director(config-vstack-dhcp)#`): `address-pool`,
  `default-router`, `file-server`;
* privileged EXEC: `show vstack config`.

A file location is one word (`flash:x.tar`, `tftp://10.0.0.1/x.tar`) or, as the guide's
syntax lines write it, a location and a file name (`flash: post_install.txt`); both are
saved as one word. The locations the guide lists as visible but unsupported (`ftp:`,
`http:` …) are refused with a message naming them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial

from smartinstall import hostaddr
from smartinstall.director.views import show_vstack_config
from smartinstall.domain import catalog
from smartinstall.domain.catalog import CatalogError
from smartinstall.domain.devices import validate_ipv4
from smartinstall.domain.errors import DomainError
from smartinstall.domain.groups import BuiltinGroup, CustomGroup, GroupFiles, GroupKind
from smartinstall.domain.joinwindow import (
    MAX_INTERVAL,
    JoinWindowSettings,
    Schedule,
    is_open,
)
from smartinstall.domain.locations import parse_location
from smartinstall.domain.settings import (
    BackupSettings,
    DhcpPoolSettings,
    DirectorSettings,
    LoggingHost,
)
from smartinstall.domain.values import MONTHS, YEAR_RANGE, parse_duration, parse_vlan_range
from smartinstall.ios.config import MAX_CONFIG_BYTES
from smartinstall.ios.engine import CommandError, Context, Engine, ReplayReport
from smartinstall.ios.tree import (
    CONFIG,
    EXEC,
    PRIVILEGED_LEVEL,
    VSTACK_DHCP,
    VSTACK_GROUP,
    CommandSet,
    Mode,
)
from smartinstall.ios.types import (
    Arg,
    ArgError,
    ArgType,
    Date,
    IPv4,
    Line,
    MacAddress,
    Mask,
    Number,
    RangeList,
    TimeOfDay,
    Url,
    Word,
)

OwnsAddress = Callable[[str], bool]

DEFAULT_HOSTNAME = "Director"

# --- modes -----------------------------------------------------------------------------------
# A built-in group is configured in VSTACK_GROUP. Custom groups share its prompt but each type
# has its own mode, so that `match` offers what the group's type takes ("The available keyword
# depends on the type of custom group defined") and a built-in group offers no `match` at all
# (the guide's `Director(config-vstack-group)#?` example).


def _group_mode(kind: GroupKind) -> Mode:
    return Mode(
        f"{VSTACK_GROUP.name}-{kind.value}",
        exit_help=VSTACK_GROUP.exit_help,
        prompt_name=VSTACK_GROUP.name,
        help_header=VSTACK_GROUP.help_header,
    )


BUILTIN_GROUP_MODE = VSTACK_GROUP
CUSTOM_GROUP_MODES: dict[GroupKind, Mode] = {
    kind: _group_mode(kind)
    for kind in (GroupKind.CONNECTIVITY, GroupKind.MAC, GroupKind.PRODUCT_ID, GroupKind.STACK)
}
DHCP_MODE = VSTACK_DHCP
GROUP_MODES: tuple[Mode, ...] = (BUILTIN_GROUP_MODE, *CUSTOM_GROUP_MODES.values())

# --- argument types --------------------------------------------------------------------------


class Interval(ArgType):
    """The join window's `interval`: hh:mm, more than 00:00 and at most 24:00."""

    label = "hh:mm"

    def parse(self, token: str) -> object:
        try:
            return parse_duration(token, MAX_INTERVAL)
        except DomainError as error:
            raise ArgError(str(error)) from None

    def partial(self, token: str) -> int:
        for end in range(len(token), 0, -1):
            head = token[:end]
            for tail in ("", "0", ":00", "0:00", ":0", "1", ":01", "0:01"):
                try:
                    self.parse(head + tail)
                except ArgError:
                    continue
                return end
        return 0


class CalendarDate(Date):
    """`DD MONTH YYYY`, whose impossible days (`31 Feb 2010`) the command names in its
    message instead of a bare caret: the value is (day, month, year), checked by `_date`."""

    def combine(self, values: Sequence[object]) -> object:
        return tuple(values)


class NumberListText(RangeList):
    """A number list kept as text (`10-12,100`, `1-3, 4`): the command checks the values, so
    a bad one (`5-3`, `5000`) is answered with a message naming it."""

    def __init__(self, label: str = "WORD", max_len: int = 1024) -> None:
        super().__init__(0, 0, label)
        self.max_len = max_len

    def parse(self, token: str) -> object:
        if not token or len(token) > self.max_len or not re.fullmatch(r"[0-9,\- ]+", token):
            raise ArgError("not a number list")
        return token


LOCATION_HELP = "Location and file (flash:, flash0:, flash1:, bootflash:, usb: or tftp://)"
FILENAME_HELP = "File name, when the location is given apart"
_LOCATION = Arg(Url(), LOCATION_HELP)
_FILENAME = Arg(Word(pattern=r"[^:\s]+"), FILENAME_HELP)
_GROUP_NAME = Arg(Word(pattern=r"[A-Za-z0-9_.-]{1,31}", max_len=31), "Name of the custom group")
_POOL_NAME = Arg(Word(pattern=r"[A-Za-z0-9_.-]{1,31}", max_len=31), "Name of the DHCP pool")

#: the file systems `?` offers for a location: those the director serves, and those the
#: guide says are "visible in the command-line help" but not supported (refused when used)
SUPPORTED_PREFIXES = ("flash:", "flash0:", "flash1:", "bootflash:", "usb:", "tftp:")
UNSUPPORTED_PREFIXES = (
    "ftp:",
    "http:",
    "https:",
    "null:",
    "nvram:",
    "rcp:",
    "scp:",
    "system:",
    "tmpsys:",
)
FILE_NOUNS = {"image": "Image file", "config": "Configuration file", "script": "Post install file"}


def _prefix_help(kind: str) -> dict[str, str]:
    noun = FILE_NOUNS[kind]
    texts = {prefix: f"{noun} on {prefix}" for prefix in SUPPORTED_PREFIXES}
    texts["tftp:"] = f"{noun} on a TFTP server (tftp://server/file)"
    texts.update({prefix: "Not supported" for prefix in UNSUPPORTED_PREFIXES})
    return texts


def _prefix_choice() -> str:
    return "{ " + " | ".join((*SUPPORTED_PREFIXES, *UNSUPPORTED_PREFIXES)) + " }"


#: `vstack backup file-server ?` as the guide prints it
BACKUP_REPOSITORIES = ("flash:", "ftp:", "http:", "https:", "rcp:", "scp:", "tftp:")
MAX_ALLOWED_CLIENTS = 64
MIN_KEY_LENGTH = 16

FILE_KINDS = {
    "image": "The image file for the group",
    "config": "The config file for the group",
    "script": "The script file for the group",
}
DEFAULT_FILE_HELP = {
    "image": "Configure the default image file for the clients",
    "config": "Configure the default configuration file for the clients",
    "script": "Configure the default post install file for the clients",
}


def _stack_families() -> list[catalog.Family]:
    """Families a stack member or a mixed stack image may name (not the chassis-based 4500)."""
    return [f for f in catalog.FAMILIES.values() if not f.chassis_based]


def join_location(location: str, filename: str | None) -> str:
    """`flash:` + `x.tar` → `flash:x.tar`; `tftp://1.1.1.1` + `x.tar` → `tftp://1.1.1.1/x.tar`."""
    if filename is None:
        return location
    if location.endswith((":", "/")):
        return location + filename
    if location.lower().startswith("tftp://"):
        return f"{location}/{filename}"
    raise CommandError(
        f"% {location} is a file already; give the file name apart only after a location "
        "such as flash: or tftp://server"
    )


class DirectorCommands(CommandSet):
    """The director's configuration commands, editing `settings`."""

    name = "director"
    order = 10

    def __init__(
        self,
        settings: DirectorSettings | None = None,
        owns_address: OwnsAddress | None = None,
        now: Callable[[], dt.datetime] | None = None,
        *,
        show_commands: bool = True,
    ) -> None:
        """`owns_address` answers whether this host owns an address (default: whether it
        can bind it); `now` gives the director's time zone-aware local time, with which
        `show vstack config` says whether the join window is open (without it: Scheduled)."""
        super().__init__()
        self.settings = settings if settings is not None else DirectorSettings()
        self._owns_address = owns_address
        self._now = now
        for mode in (*GROUP_MODES, DHCP_MODE):
            self.add_mode(mode)
        self.keyword_help.update(
            vstack="Configure vstack parameters",
            ip="Global IP configuration subcommands",
            logging="Modify message logging facilities",
            show="Show running system information",
        )
        self._declare_global()
        self._declare_groups()
        self._declare_dhcp()
        if show_commands:  # the running director's EXEC set has its own show commands
            self._declare_show()

    def owns_address(self, address: str) -> bool:
        check = self._owns_address or hostaddr.host_owns_address
        return check(address)

    # --- declarations --------------------------------------------------------------------

    def _declare_global(self) -> None:
        c = self.command
        c(CONFIG, "vstack", self._vstack)
        c(CONFIG, "no vstack", self._vstack)
        director_help = {"director": "Configure the IP address of the vstack director"}
        ip = {"address": Arg(IPv4(), "IP address of the director")}
        c(CONFIG, "vstack director <address>", self._director, help=director_help, args=ip)
        c(CONFIG, "no vstack director [<address>]", self._director, help=director_help, args=ip)
        basic_help = {"basic": "Enable this device as the vstack director"}
        c(CONFIG, "vstack basic", self._basic, help=basic_help)
        c(CONFIG, "no vstack basic", self._basic, help=basic_help)
        vlan_help = {"startup-vlan": "Configure vstack startup management vlan"}
        vlan = {"vlan": Arg(Number(1, 4094), "Startup Management Vlan")}
        c(CONFIG, "vstack startup-vlan <vlan>", self._startup_vlan, help=vlan_help, args=vlan)
        c(CONFIG, "no vstack startup-vlan [<vlan>]", self._startup_vlan, help=vlan_help, args=vlan)
        vlans_help = {"vlan": "Configure vstack management vlan"}
        vlans = {"vlans": Arg(NumberListText(), "VLAN IDs to snoop, such as 10-12,100,200")}
        c(CONFIG, "vstack vlan <vlans>", self._vlans, help=vlans_help, args=vlans)
        c(CONFIG, "no vstack vlan [<vlans>]", self._vlans, help=vlans_help, args=vlans)
        files = {"location": _LOCATION, "filename": _FILENAME}
        for kind, text in DEFAULT_FILE_HELP.items():
            handler = partial(self._default_file, kind=kind)
            # `?` lists the file systems, as IOS does; a whole location is one word
            c(
                CONFIG,
                f"vstack {kind} {_prefix_choice()} [<filename>]",
                handler,
                help={kind: text, **_prefix_help(kind)},
                args=files,
            )
            c(
                CONFIG,
                f"vstack {kind} <location> [<filename>]",
                handler,
                help={kind: text},
                args=files,
                hidden=True,
            )
            c(
                CONFIG,
                f"no vstack {kind} [<location> [<filename>]]",
                handler,
                help={kind: text},
                args=files,
            )
        prefix_help = {"hostname-prefix": "Configure the hostname prefix of the clients"}
        prefix = {"prefix": Arg(Word(max_len=63), "Prefix of the client hostnames")}
        c(
            CONFIG,
            "vstack hostname-prefix <prefix>",
            self._hostname_prefix,
            help=prefix_help,
            args=prefix,
        )
        c(
            CONFIG,
            "no vstack hostname-prefix [<prefix>]",
            self._hostname_prefix,
            help=prefix_help,
            args=prefix,
        )
        self._declare_backup()
        self._declare_join_window()
        pool_help = {"dhcp-localserver": "Configure vstack dhcp parameters"}
        pool = {"pool": _POOL_NAME}
        c(CONFIG, "vstack dhcp-localserver <pool>", self._dhcp_pool, help=pool_help, args=pool)
        c(CONFIG, "no vstack dhcp-localserver <pool>", self._dhcp_pool, help=pool_help, args=pool)
        tailored_help = {
            "tailored-config": "Configure the tailored configuration of non Smart Install clients",
            "enable-password": "Enable password the tailored configuration gives the clients",
        }
        password = {"password": Arg(Word(max_len=128), "The enable password")}
        c(
            CONFIG,
            "vstack tailored-config enable-password <password>",
            self._tailored,
            help=tailored_help,
            args=password,
        )
        c(
            CONFIG,
            "no vstack tailored-config [enable-password [<password>]]",
            self._tailored,
            help=tailored_help,
            args=password,
        )
        auth_help = {
            "authentication": "Configure the authentication of Smart Install messages",
            "key": "Key shared by the director and its clients",
        }
        key = {"key": Arg(Word(max_len=256), f"The key ({MIN_KEY_LENGTH} characters or more)")}
        c(CONFIG, "vstack authentication key <key>", self._authentication, help=auth_help, args=key)
        c(
            CONFIG,
            "no vstack authentication [key [<key>]]",
            self._authentication,
            help=auth_help,
            args=key,
        )
        allowed_help = {"allowed-clients": "Configure the addresses clients may join from"}
        allowed = {"prefixes": Arg(Line(), "Prefixes, such as 10.1.0.0/16 10.2.0.0/16")}
        c(
            CONFIG,
            "vstack allowed-clients <prefixes>",
            self._allowed_clients,
            help=allowed_help,
            args=allowed,
        )
        c(
            CONFIG,
            "no vstack allowed-clients [<prefixes>]",
            self._allowed_clients,
            help=allowed_help,
            args=allowed,
        )
        remember_help = {
            "dhcp": "Configure DHCP server and relay parameters",
            "remember": "Remember the IP bindings of the clients across reloads",
        }
        c(CONFIG, "ip dhcp remember", self._remember, help=remember_help)
        c(CONFIG, "no ip dhcp remember", self._remember, help=remember_help)
        helper_help = {"helper-address": "Specify a destination address for UDP broadcasts"}
        helper = {"address": Arg(IPv4(), "IP destination address")}
        c(CONFIG, "ip helper-address <address>", self._helper, help=helper_help, args=helper)
        c(CONFIG, "no ip helper-address [<address>]", self._helper, help=helper_help, args=helper)
        self._declare_logging()

    def _declare_backup(self) -> None:
        c = self.command
        backup_help = {
            "backup": "Configure the backup of client configurations",
            "file-server": "Repository of the backups",
        }
        c(CONFIG, "vstack backup", self._backup, help=backup_help)
        c(CONFIG, "no vstack backup", self._backup, help=backup_help)
        c(CONFIG, "no vstack backup file-server", self._backup, help=backup_help)
        for repository in BACKUP_REPOSITORIES:
            c(
                CONFIG,
                f"vstack backup file-server {repository}",
                partial(self._backup, repository=repository),
                help={**backup_help, repository: f"Repository using {repository}"},
            )
        # any other location is typed as one word (tftp://server/dir, usb:backups); it is
        # not listed by `?`, which shows the guide's list of repositories
        c(
            CONFIG,
            "vstack backup file-server <url>",
            self._backup,
            help=backup_help,
            args={"url": Arg(Url(), "Repository location")},
            hidden=True,
        )

    def _declare_join_window(self) -> None:
        c = self.command
        help_ = {
            "join-window": "Configure the vstack join window",
            "start": "Configure when the join window opens",
            "end": "Configure the date the join window ends",
            "recurring": "Open the join window every day at the start time",
            "close": "Close the join window",
            "mode": "Configure the join window mode",
            "auto": "Upgrade joining clients automatically (no: hold them)",
        }
        first, last = YEAR_RANGE
        args = {
            "date": Arg(CalendarDate(first, last), "Day of the month"),
            "time": Arg(TimeOfDay(), "Start time (hh:mm)"),
            "interval": Arg(Interval(), "How long the window stays open (hh:mm, up to 24:00)"),
            "end": Arg(CalendarDate(first, last), "Day of the month"),
            "ignored": Arg(Line(), "The rest of the start command"),
        }
        c(
            CONFIG,
            "vstack join-window start [<date>] <time> [<interval>] [end <end>] [recurring]",
            self._join_start,
            help=help_,
            args=args,
        )
        c(
            CONFIG,
            "no vstack join-window start [<ignored>]",
            self._join_start,
            help=help_,
            args=args,
        )
        c(CONFIG, "vstack join-window close", self._join_close, help=help_)
        c(CONFIG, "no vstack join-window close", self._join_close, help=help_)
        c(CONFIG, "vstack join-window mode auto", self._join_mode, help=help_)
        c(CONFIG, "no vstack join-window mode [auto]", self._join_mode, help=help_)

    def _declare_logging(self) -> None:
        c = self.command
        help_ = {
            "host": "Set syslog server IP address and parameters",
            "transport": "Specify the transport protocol (default=UDP)",
            "udp": "UDP transport",
            "tcp": "TCP transport",
            "port": "Specify the port",
            "rfc3164": "Send messages in the RFC 3164 format",
        }
        args = {
            "host": Arg(IPv4(), "IP address of the syslog server"),
            "port": Arg(Number(1, 65535), "Port number"),
        }
        for negated in ("", "no "):
            c(
                CONFIG,
                f"{negated}logging host <host> [rfc3164]",
                partial(self._logging, transport="udp"),
                help=help_,
                args=args,
            )
            for transport in ("udp", "tcp"):
                c(
                    CONFIG,
                    f"{negated}logging host <host> transport {transport} [port <port>] [rfc3164]",
                    partial(self._logging, transport=transport),
                    help=help_,
                    args=args,
                )

    def _declare_groups(self) -> None:
        c = self.command
        group_help = {
            "group": "Configure vstack groups",
            "built-in": "Configure a built-in group",
            "custom": "Configure a custom group",
        }
        for family in catalog.FAMILIES.values():
            if family.chassis_based:
                for sup in catalog.SUPERVISORS.values():
                    chassis_names = [*sup.chassis, catalog.ALL_CHASSIS]
                    for name in chassis_names:
                        text = (
                            catalog.ALL_CHASSIS_HELP
                            if name == catalog.ALL_CHASSIS
                            else catalog.CHASSIS[name].help
                        )
                        words = f"{family.name} {sup.name} {name}"
                        help_ = {
                            **group_help,
                            family.name: family.help,
                            sup.name: sup.help,
                            name: text,
                        }
                        handler = partial(
                            self._builtin, family=family.name, port_config=sup.name, chassis=name
                        )
                        c(CONFIG, f"vstack group built-in {words}", handler, help=help_)
                        c(CONFIG, f"no vstack group built-in {words}", handler, help=help_)
                continue
            for pc in family.port_configs:
                help_ = {**group_help, family.name: family.help, pc.name: pc.help}
                handler = partial(
                    self._builtin, family=family.name, port_config=pc.name, chassis=None
                )
                c(CONFIG, f"vstack group built-in {family.name} {pc.name}", handler, help=help_)
                c(CONFIG, f"no vstack group built-in {family.name} {pc.name}", handler, help=help_)
        kind_help = {
            "connectivity": "Match the clients by their upstream neighbour and port",
            "mac": "Match the clients by MAC address",
            "product-id": "Match the clients by product ID",
            "stack": "Match the clients by stack member and product family",
        }
        group_name = {"name": _GROUP_NAME}
        for kind in CUSTOM_GROUP_MODES:
            help_ = {**group_help, kind.value: kind_help[kind.value]}
            c(
                CONFIG,
                f"vstack group custom <name> {kind.value}",
                partial(self._custom, kind=kind.value),
                help=help_,
                args=group_name,
            )
            c(
                CONFIG,
                f"no vstack group custom <name> {kind.value}",
                partial(self._custom, kind=kind.value),
                help=help_,
                args=group_name,
            )
        c(
            CONFIG,
            "vstack group custom <name>",
            partial(self._custom, kind=None),
            help=group_help,
            args=group_name,
        )
        c(
            CONFIG,
            "no vstack group custom <name>",
            partial(self._custom, kind=None),
            help=group_help,
            args=group_name,
        )
        self._declare_group_files()
        self._declare_matches()

    def _declare_group_files(self) -> None:
        c = self.command
        files = {"location": _LOCATION, "filename": _FILENAME}
        for mode in GROUP_MODES:
            for kind, text in FILE_KINDS.items():
                handler = partial(self._group_file, kind=kind)
                c(
                    mode,
                    f"{kind} {_prefix_choice()} [<filename>]",
                    handler,
                    help={kind: text, **_prefix_help(kind)},
                    args=files,
                )
                c(
                    mode,
                    f"{kind} <location> [<filename>]",
                    handler,
                    help={kind: text},
                    args=files,
                    hidden=True,
                )
                c(
                    mode,
                    f"no {kind} [<location> [<filename>]]",
                    handler,
                    help={kind: text},
                    args=files,
                )
        stack = CUSTOM_GROUP_MODES[GroupKind.STACK]
        for family in _stack_families():
            help_ = {
                "image": FILE_KINDS["image"],
                "family": "The image for the members of one product family (mixed stack)",
                family.name: family.help,
            }
            handler = partial(self._family_image, family=family.name)
            c(
                stack,
                f"image <location> [<filename>] family {family.name}",
                handler,
                help=help_,
                args=files,
            )
            c(
                stack,
                f"no image [<location> [<filename>]] family {family.name}",
                handler,
                help=help_,
                args=files,
            )

    def _declare_matches(self) -> None:
        c = self.command
        match_help = {"match": "Identify the clients of the group"}
        connectivity = CUSTOM_GROUP_MODES[GroupKind.CONNECTIVITY]
        host_help = {
            **match_help,
            "host": "Upstream neighbour of the clients",
            "interface": "Port of the upstream neighbour the clients are connected to",
        }
        host_args = {
            "host": Arg(IPv4(), "IP address of the upstream neighbour"),
            "interface": Arg(Line(), "Full interface name, such as GigabitEthernet1/0/3"),
        }
        for negated in ("", "no "):
            c(
                connectivity,
                f"{negated}match host <host> interface <interface>",
                self._match_host,
                help=host_help,
                args=host_args,
            )
        mac_mode = CUSTOM_GROUP_MODES[GroupKind.MAC]
        mac_help = {**match_help, "mac": "MAC address of a client"}
        mac = {"mac": Arg(MacAddress(), "MAC address of the client")}
        for negated in ("", "no "):
            c(mac_mode, f"{negated}match mac <mac>", self._match_mac, help=mac_help, args=mac)
            c(
                mac_mode,
                f"{negated}match <mac>",
                self._match_mac,
                help=mac_help,
                args=mac,
                hidden=True,
            )
        pid_mode = CUSTOM_GROUP_MODES[GroupKind.PRODUCT_ID]
        pid = {"pid": Arg(Word(max_len=64), "Product ID, such as WS-C2960-48TC-L")}
        for negated in ("", "no "):
            c(pid_mode, f"{negated}match <pid>", self._match_pid, help=match_help, args=pid)
        stack = CUSTOM_GROUP_MODES[GroupKind.STACK]
        member = {"member": Arg(Number(1, 9), "Switch number in the stack")}
        for family in _stack_families():
            for pc in family.port_configs:
                help_ = {**match_help, family.name: family.help, pc.name: pc.help}
                handler = partial(self._match_stack, family=family.name, port_config=pc.name)
                for negated in ("", "no "):
                    c(
                        stack,
                        f"{negated}match <member> {family.name} {pc.name}",
                        handler,
                        help=help_,
                        args=member,
                    )
        for mode in CUSTOM_GROUP_MODES.values():
            c(mode, "no match", self._match_clear, help=match_help)

    def _declare_dhcp(self) -> None:
        c = self.command
        help_ = {
            "address-pool": "Configure the network and mask of the pool",
            "default-router": "Configure the default router of the clients",
            "file-server": "Configure the TFTP server of the clients",
        }
        pool = {
            "network": Arg(IPv4(), "Network number of the pool"),
            "mask": Arg(Mask(), "Network mask or prefix length"),
        }
        c(DHCP_MODE, "address-pool <network> <mask>", self._address_pool, help=help_, args=pool)
        c(
            DHCP_MODE,
            "no address-pool [<network> [<mask>]]",
            self._address_pool,
            help=help_,
            args=pool,
        )
        router = {"address": Arg(IPv4(), "IP address of the default router")}
        c(DHCP_MODE, "default-router <address>", self._default_router, help=help_, args=router)
        c(DHCP_MODE, "no default-router [<address>]", self._default_router, help=help_, args=router)
        server = {"address": Arg(IPv4(), "IP address of the TFTP server")}
        c(DHCP_MODE, "file-server <address>", self._file_server, help=help_, args=server)
        c(DHCP_MODE, "no file-server [<address>]", self._file_server, help=help_, args=server)

    def _declare_show(self) -> None:
        self.command(
            EXEC,
            "show vstack config",
            self._show_config,
            level=PRIVILEGED_LEVEL,
            output=True,
            help={
                "vstack": "Show Smart Install information",
                "config": "View configuration parameters under Vstack mode",
            },
        )

    # --- running configuration -----------------------------------------------------------

    def render_config(self) -> Sequence[str]:
        """`DirectorSettings.render()` without the hostname, which the engine renders."""
        lines = self.settings.render()
        if lines[:1] == [f"hostname {self.settings.hostname}"]:
            lines = lines[1:]
        while lines and lines[0] == "!":
            lines = lines[1:]
        while lines and lines[-1] == "!":
            lines = lines[:-1]
        return lines

    # --- handlers: global ----------------------------------------------------------------

    def _vstack(self, ctx: Context) -> None:
        self.settings.enabled = not ctx.negated

    def _director(self, ctx: Context) -> None:
        if ctx.negated:
            self.settings.clear_director()
            return
        with _domain():
            self.settings.set_director(_text(ctx.args["address"]))

    def _basic(self, ctx: Context) -> None:
        if ctx.negated:
            self.settings.basic = False
            return
        with _domain():
            self.settings.enable_basic(self.owns_address)

    def _startup_vlan(self, ctx: Context) -> None:
        if ctx.negated:
            self.settings.set_startup_vlan(None)
            return
        value = ctx.args["vlan"]
        assert isinstance(value, int)
        with _domain():
            self.settings.set_startup_vlan(value)

    def _vlans(self, ctx: Context) -> None:
        text = ctx.args.get("vlans")
        if text is None:
            self.settings.vlans = set()
            return
        with _domain():
            values = set(parse_vlan_range(_text(text)))
        if ctx.negated:
            self.settings.vlans -= values
        else:
            self.settings.vlans |= values

    def _default_file(self, ctx: Context, kind: str) -> None:
        files = self.settings.groups.default
        if ctx.negated:
            files.set(kind, None)
            return
        _set_file(files, kind, _location(ctx))

    def _hostname_prefix(self, ctx: Context) -> None:
        if ctx.negated:
            self.settings.set_hostname_prefix(None)
            return
        with _domain():
            self.settings.set_hostname_prefix(_text(ctx.args["prefix"]))

    def _backup(self, ctx: Context, repository: str | None = None) -> None:
        settings = self.settings
        if ctx.negated:
            if _said(ctx, "file-server"):
                settings.backup = BackupSettings(settings.backup.enabled, None)
            else:
                settings.set_backup(False)
            return
        location = repository if repository is not None else ctx.args.get("url")
        with _domain():
            if location is None:
                settings.set_backup(True, settings.backup.repository)
            else:
                settings.set_backup(True, _text(location))

    def _join_start(self, ctx: Context) -> None:
        window = self.settings.join_window
        if ctx.negated:
            self.settings.join_window = JoinWindowSettings(None, window.closed, window.auto)
            return
        args = ctx.args
        time = args["time"]
        assert isinstance(time, dt.time)
        start = _date(args.get("date"))
        end = _date(args.get("end"))
        interval = args.get("interval")
        assert interval is None or isinstance(interval, dt.timedelta)
        recurring = _said(ctx, "recurring")
        with _domain():
            schedule = Schedule(time, start, interval, end, recurring)
        self.settings.join_window = JoinWindowSettings(schedule, window.closed, window.auto)

    def _join_close(self, ctx: Context) -> None:
        window = self.settings.join_window
        self.settings.join_window = JoinWindowSettings(
            window.schedule, not ctx.negated, window.auto
        )

    def _join_mode(self, ctx: Context) -> None:
        window = self.settings.join_window
        self.settings.join_window = JoinWindowSettings(
            window.schedule, window.closed, not ctx.negated
        )

    def _dhcp_pool(self, ctx: Context) -> None:
        name = _text(ctx.args["pool"])
        if ctx.negated:
            if self.settings.dhcp_pools.pop(name, None) is None:
                raise CommandError(f"% DHCP pool {name} does not exist")
            return
        with _domain():
            pool = self.settings.dhcp_pool(name)
        ctx.enter(DHCP_MODE, pool)

    def _tailored(self, ctx: Context) -> None:
        self.settings.tailored_password = None if ctx.negated else _text(ctx.args["password"])

    def _authentication(self, ctx: Context) -> None:
        if ctx.negated:
            self.settings.smi_key = None
            return
        key = _text(ctx.args["key"])
        if len(key) < MIN_KEY_LENGTH:
            raise CommandError(
                f"% The authentication key needs {MIN_KEY_LENGTH} characters or more"
            )
        self.settings.smi_key = key

    def _allowed_clients(self, ctx: Context) -> None:
        if ctx.negated:
            self.settings.allowed_clients = []
            return
        words = _text(ctx.args["prefixes"]).split()
        if len(words) > MAX_ALLOWED_CLIENTS:
            raise CommandError(f"% At most {MAX_ALLOWED_CLIENTS} prefixes")
        networks: list[str] = []
        for word in words:
            try:
                network = str(ipaddress.IPv4Network(word, strict=False))
            except ValueError:
                raise CommandError(f"% Invalid prefix: {word[:40]}") from None
            if network not in networks:
                networks.append(network)
        self.settings.allowed_clients = networks

    def _remember(self, ctx: Context) -> None:
        self.settings.dhcp_remember = not ctx.negated

    def _helper(self, ctx: Context) -> None:
        address = ctx.args.get("address")
        if not ctx.negated:
            with _domain():
                self.settings.add_helper(_text(address))
            return
        if address is None:
            self.settings.helper_addresses = []
        else:
            self.settings.helper_addresses = [
                a for a in self.settings.helper_addresses if a != address
            ]

    def _logging(self, ctx: Context, transport: str) -> None:
        host = _text(ctx.args["host"])
        hosts = [t for t in self.settings.logging_hosts if t.host != host]
        if not ctx.negated:
            port = ctx.args.get("port", 514)
            assert isinstance(port, int)
            with _domain():
                hosts.append(LoggingHost(host, transport, port, _said(ctx, "rfc3164")))
        self.settings.logging_hosts = hosts

    # --- handlers: groups ----------------------------------------------------------------

    def _builtin(self, ctx: Context, family: str, port_config: str, chassis: str | None) -> None:
        if ctx.negated:
            with _domain():
                self.settings.remove_builtin_group(family, port_config, chassis)
            return
        with _domain():
            group = self.settings.builtin_group(family, port_config, chassis)
        ctx.enter(BUILTIN_GROUP_MODE, group)

    def _custom(self, ctx: Context, kind: str | None) -> None:
        name = _text(ctx.args["name"])
        with _domain():
            if ctx.negated:
                existing = self.settings.groups.custom.get(name)
                if kind is not None and existing is not None and existing.kind.value != kind:
                    raise DomainError(f"% Group {name} is a {existing.kind.value} group", kind)
                self.settings.remove_custom_group(name)
                return
            group = self.settings.custom_group(name, kind)
        ctx.enter(CUSTOM_GROUP_MODES[group.kind], group)

    def _group_file(self, ctx: Context, kind: str) -> None:
        files = _files_of(ctx)
        if ctx.negated:
            files.set(kind, None)
            return
        _set_file(files, kind, _location(ctx))

    def _family_image(self, ctx: Context, family: str) -> None:
        files = _files_of(ctx)
        location = None if ctx.negated else _location(ctx)
        with _domain():
            files.set_family_image(family, location)

    def _match_host(self, ctx: Context) -> None:
        self._match(
            ctx, ["host", _text(ctx.args["host"]), "interface", _text(ctx.args["interface"])]
        )

    def _match_mac(self, ctx: Context) -> None:
        self._match(ctx, ["mac", _text(ctx.args["mac"])])

    def _match_pid(self, ctx: Context) -> None:
        self._match(ctx, [_text(ctx.args["pid"])])

    def _match_stack(self, ctx: Context, family: str, port_config: str) -> None:
        self._match(ctx, [str(ctx.args["member"]), family, port_config])

    def _match_clear(self, ctx: Context) -> None:
        group = ctx.mode_data
        assert isinstance(group, CustomGroup)
        group.remove_match([])

    @staticmethod
    def _match(ctx: Context, words: list[str]) -> None:
        group = ctx.mode_data
        assert isinstance(group, CustomGroup)
        with _domain():
            if ctx.negated:
                group.remove_match(words)
            else:
                group.add_match(words)

    # --- handlers: DHCP pool -------------------------------------------------------------

    def _address_pool(self, ctx: Context) -> None:
        pool = ctx.mode_data
        assert isinstance(pool, DhcpPoolSettings)
        if ctx.negated:
            pool.network = None
            return
        prefix = ctx.args["mask"]
        with _domain():
            pool.set_address_pool(_text(ctx.args["network"]), f"/{prefix}")

    def _default_router(self, ctx: Context) -> None:
        pool = ctx.mode_data
        assert isinstance(pool, DhcpPoolSettings)
        pool.default_router = None if ctx.negated else validate_ipv4(_text(ctx.args["address"]))

    def _file_server(self, ctx: Context) -> None:
        pool = ctx.mode_data
        assert isinstance(pool, DhcpPoolSettings)
        pool.file_server = None if ctx.negated else validate_ipv4(_text(ctx.args["address"]))

    # --- handlers: show ------------------------------------------------------------------

    def _show_config(self, ctx: Context) -> None:
        role = self.settings.role(self.owns_address)
        window_open = None
        if self._now is not None:
            moment = self._now()
            if moment.tzinfo is not None:
                window_open = is_open(self.settings.join_window, moment, moment.tzinfo)
        ctx.write(show_vstack_config(self.settings, role, window_open=window_open))


# --- helpers ---------------------------------------------------------------------------------


@contextlib.contextmanager
def _domain() -> Iterator[None]:
    """Turns the domain's one-line errors into the command's own message."""
    try:
        yield
    except (DomainError, CatalogError) as error:
        raise CommandError(str(error)) from error


def _text(value: object) -> str:
    assert isinstance(value, str)
    return value


def _said(ctx: Context, keyword: str) -> bool:
    """Whether the line contained `keyword` (the engine passes only arguments)."""
    return keyword in ctx.keywords


def _date(value: object) -> dt.date | None:
    if value is None:
        return None
    assert isinstance(value, tuple)
    day, month, year = value
    try:
        return dt.date(year, month, day)
    except ValueError:
        name = MONTHS[month - 1][:3].capitalize()
        raise CommandError(f"% Invalid date: {day:02d} {name} {year}") from None


def _location(ctx: Context) -> str:
    """The location of a file command: one word, or a file system keyword and a file name."""
    given = ctx.args.get("location")
    if given is None:
        given = next(word for word in ctx.keywords if word.endswith(":"))
    location = _text(given)
    filename = ctx.args.get("filename")
    return join_location(location, _text(filename) if filename is not None else None)


def _set_file(files: GroupFiles, kind: str, location: str) -> None:
    with _domain():
        parse_location(location, kind)
        files.set(kind, location)


def _files_of(ctx: Context) -> GroupFiles:
    group = ctx.mode_data
    assert isinstance(group, BuiltinGroup | CustomGroup)
    return group.files


# --- plugging in -----------------------------------------------------------------------------


def director_command_set(
    engine: Engine,
    owns_address: OwnsAddress | None = None,
    settings: DirectorSettings | None = None,
) -> DirectorCommands:
    """The factory `smartinstall shell` lists in COMMAND_SETS: the director's commands, with
    the engine's `hostname` command editing the settings' hostname. The caller adds the set."""
    commands = DirectorCommands(settings, owns_address)
    if settings is None:
        commands.settings.hostname = engine.hostname
    engine.system.holder = commands.settings
    return commands


@dataclass
class DirectorConfig:
    """A director configuration replayed through the engine."""

    settings: DirectorSettings
    report: ReplayReport
    errors: list[tuple[int, str, str]] = field(default_factory=list)


def replay_director_config(
    text: str, owns_address: OwnsAddress | None = None, source: str = "startup-config"
) -> DirectorConfig:
    """Replay IOS configuration text into fresh settings; every rejected line is reported
    as (line number, line, message), the message naming the caret's column when there is
    one. Never raises on any text."""
    engine = Engine(hostname=DEFAULT_HOSTNAME)
    commands = engine.add(director_command_set(engine, owns_address))
    assert isinstance(commands, DirectorCommands)
    if len(text.encode("utf-8", errors="replace")) > MAX_CONFIG_BYTES:
        report = ReplayReport(source)
        return DirectorConfig(
            commands.settings,
            report,
            [(0, "", f"% configuration is larger than {MAX_CONFIG_BYTES} bytes")],
        )
    report = engine.replay(text, source)
    errors = []
    for failure in report.errors:
        message = failure.message
        if failure.column is not None:
            message += f" (column {failure.column})"
        errors.append((failure.line_number, failure.line.strip(), message))
    return DirectorConfig(commands.settings, report, errors)


__all__ = [
    "BUILTIN_GROUP_MODE",
    "CUSTOM_GROUP_MODES",
    "DHCP_MODE",
    "DirectorCommands",
    "DirectorConfig",
    "Interval",
    "NumberListText",
    "director_command_set",
    "join_location",
    "replay_director_config",
]
