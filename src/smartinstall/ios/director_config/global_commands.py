"""Global configuration commands of the director (guide, chapter 3): `vstack`, `vstack
director`, `vstack basic`, `vstack startup-vlan`, `vstack vlan`, the default files
(`vstack image|config|script`), `vstack hostname-prefix`, `vstack backup [file-server …]`,
`vstack tailored-config enable-password`, `vstack authentication key`, `vstack
allowed-clients`, `ip dhcp remember`, `ip helper-address` (`ip helper`), and their `no`
forms; the `logging` lines come from `syslog.SyslogCommands`."""

from __future__ import annotations

import ipaddress
from functools import partial

from smartinstall.domain.settings import BackupSettings
from smartinstall.domain.values import parse_vlan_range
from smartinstall.ios.director_config.base import domain_errors, said, text
from smartinstall.ios.director_config.files import (
    FILE_ARGS,
    location_of,
    prefix_choice,
    prefix_help,
    set_file,
)
from smartinstall.ios.director_config.syslog import SyslogCommands
from smartinstall.ios.director_config.types import NumberListText
from smartinstall.ios.engine import CommandError, Context
from smartinstall.ios.tree import CONFIG
from smartinstall.ios.types import Arg, IPv4, Line, Number, Url, Word

#: `vstack backup file-server ?` as the guide prints it
BACKUP_REPOSITORIES = ("flash:", "ftp:", "http:", "https:", "rcp:", "scp:", "tftp:")
MAX_ALLOWED_CLIENTS = 64
MIN_KEY_LENGTH = 16

DEFAULT_FILE_HELP = {
    "image": "Configure the default image file for the clients",
    "config": "Configure the default configuration file for the clients",
    "script": "Configure the default post install file for the clients",
}


class GlobalCommands(SyslogCommands):
    """The director's global configuration commands (all but the join window, the groups and
    the DHCP pools)."""

    # --- declarations --------------------------------------------------------------------

    def _declare_global(self) -> None:
        self._declare_role()
        self._declare_default_files()
        self._declare_backup()
        self._declare_security()
        self._declare_ip()
        self._declare_logging()

    def _declare_role(self) -> None:
        c = self.command
        c(CONFIG, "vstack", self._vstack)
        c(CONFIG, "no vstack", self._vstack)
        director_help = {"director": "Configure the IP address of the vstack director"}
        ip = {"address": Arg(IPv4(), "IP address of the director")}
        c(CONFIG, "vstack director <address>", self._director, help=director_help, args=ip)
        c(CONFIG, "no vstack director [<address>]", self._director, help=director_help, args=ip)
        id_help = {"director-id": "Configure the id of this director in a shared database"}
        name = {"name": Arg(Word(max_len=63), "Director id (letters, digits, . _ -)")}
        c(CONFIG, "vstack director-id <name>", self._director_id, help=id_help, args=name)
        c(CONFIG, "no vstack director-id [<name>]", self._director_id, help=id_help, args=name)
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

    def _declare_default_files(self) -> None:
        c = self.command
        for kind, help_text in DEFAULT_FILE_HELP.items():
            handler = partial(self._default_file, kind=kind)
            # `?` lists the file systems, as IOS does; a whole location is one word
            c(
                CONFIG,
                f"vstack {kind} {prefix_choice()} [<filename>]",
                handler,
                help={kind: help_text, **prefix_help(kind)},
                args=FILE_ARGS,
            )
            c(
                CONFIG,
                f"vstack {kind} <location> [<filename>]",
                handler,
                help={kind: help_text},
                args=FILE_ARGS,
                hidden=True,
            )
            c(
                CONFIG,
                f"no vstack {kind} [<location> [<filename>]]",
                handler,
                help={kind: help_text},
                args=FILE_ARGS,
            )
        prefix_help_ = {"hostname-prefix": "Configure the hostname prefix of the clients"}
        prefix = {"prefix": Arg(Word(max_len=63), "Prefix of the client hostnames")}
        c(
            CONFIG,
            "vstack hostname-prefix <prefix>",
            self._hostname_prefix,
            help=prefix_help_,
            args=prefix,
        )
        c(
            CONFIG,
            "no vstack hostname-prefix [<prefix>]",
            self._hostname_prefix,
            help=prefix_help_,
            args=prefix,
        )

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

    def _declare_security(self) -> None:
        c = self.command
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

    def _declare_ip(self) -> None:
        c = self.command
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

    # --- handlers ------------------------------------------------------------------------

    def _vstack(self, ctx: Context) -> None:
        self.settings.enabled = not ctx.negated

    def _director(self, ctx: Context) -> None:
        if ctx.negated:
            self.settings.clear_director()
            return
        with domain_errors():
            self.settings.set_director(text(ctx.args["address"]))

    def _basic(self, ctx: Context) -> None:
        if ctx.negated:
            self.settings.basic = False
            return
        with domain_errors():
            self.settings.enable_basic(self.owns_address)

    def _startup_vlan(self, ctx: Context) -> None:
        if ctx.negated:
            self.settings.set_startup_vlan(None)
            return
        value = ctx.args["vlan"]
        assert isinstance(value, int)
        with domain_errors():
            self.settings.set_startup_vlan(value)

    def _vlans(self, ctx: Context) -> None:
        settings = self.settings
        given = ctx.args.get("vlans")
        if given is None:
            settings.vlans = set()
            return
        with domain_errors():
            values = set(parse_vlan_range(text(given)))
        if ctx.negated:
            settings.vlans -= values
        else:
            settings.vlans |= values

    def _default_file(self, ctx: Context, kind: str) -> None:
        files = self.settings.groups.default
        if ctx.negated:
            files.set(kind, None)
            return
        set_file(files, kind, location_of(ctx))

    def _director_id(self, ctx: Context) -> None:
        # the id the director runs under changes at its next start (docs/scale-out.md)
        if ctx.negated:
            self.settings.set_director_id(None)
            return
        with domain_errors():
            self.settings.set_director_id(text(ctx.args["name"]))

    def _hostname_prefix(self, ctx: Context) -> None:
        if ctx.negated:
            self.settings.set_hostname_prefix(None)
            return
        with domain_errors():
            self.settings.set_hostname_prefix(text(ctx.args["prefix"]))

    def _backup(self, ctx: Context, repository: str | None = None) -> None:
        settings = self.settings
        if ctx.negated:
            if said(ctx, "file-server"):
                settings.backup = BackupSettings(settings.backup.enabled, None)
            else:
                settings.set_backup(False)
            return
        location = repository if repository is not None else ctx.args.get("url")
        with domain_errors():
            if location is None:
                settings.set_backup(True, settings.backup.repository)
            else:
                settings.set_backup(True, text(location))

    def _tailored(self, ctx: Context) -> None:
        self.settings.tailored_password = None if ctx.negated else text(ctx.args["password"])

    def _authentication(self, ctx: Context) -> None:
        if ctx.negated:
            self.settings.smi_key = None
            return
        key = text(ctx.args["key"])
        if len(key) < MIN_KEY_LENGTH:
            raise CommandError(
                f"% The authentication key needs {MIN_KEY_LENGTH} characters or more"
            )
        self.settings.smi_key = key

    def _allowed_clients(self, ctx: Context) -> None:
        if ctx.negated:
            self.settings.allowed_clients = []
            return
        words = text(ctx.args["prefixes"]).split()
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
        settings = self.settings
        address = ctx.args.get("address")
        if not ctx.negated:
            with domain_errors():
                settings.add_helper(text(address))
            return
        if address is None:
            settings.helper_addresses = []
        else:
            settings.helper_addresses = [a for a in settings.helper_addresses if a != address]


__all__ = ["BACKUP_REPOSITORIES", "MAX_ALLOWED_CLIENTS", "MIN_KEY_LENGTH", "GlobalCommands"]
