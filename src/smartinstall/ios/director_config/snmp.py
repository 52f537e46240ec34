"""The director's SNMP agent configuration, in IOS words: `snmp-server community`, `snmp-server
user`, `snmp-server group`, `snmp-server view`, `snmp-server host`, `snmp-server enable traps
vstack`, their `no` forms, and `no snmp-server` (the agent off). The lines edit the settings'
`snmp` part (`smartinstall.domain.snmp`); the director's SNMP agent follows them."""

from __future__ import annotations

from smartinstall.domain.snmp import (
    SnmpCommunity,
    SnmpGroup,
    SnmpHost,
    SnmpSettings,
    SnmpUser,
    SnmpView,
    parse_key,
    subtree_oid,
    validate_name,
)
from smartinstall.ios.director_config.base import DirectorCommandsBase, domain_errors, said, text
from smartinstall.ios.engine import CommandError, Context
from smartinstall.ios.tree import CONFIG
from smartinstall.ios.types import Arg, IPv4, Line, Number, Word

SNMP_HELP = {
    "snmp-server": "Modify SNMP engine parameters",
    "community": "Enable SNMP; set community string and access privs",
    "RO": "Read-only access with this community string",
    "RW": "Read-write access with this community string",
    "user": "Define a user who can access the SNMP engine",
    "group": "Define a User Security Model group",
    "view": "Define an SNMP MIB view",
    "host": "Specify hosts to receive SNMP notifications",
    "enable": "Enable SNMP Traps or Informs",
    "traps": "Enable SNMP Traps",
    "vstack": "Enable SNMP smart install traps",
    "v3": "group using the User Security Model (SNMPv3)",
    "encrypted": "specifying passwords as MD5 or SHA digests",
    "auth": "authentication parameters for the user",
    "sha": "Use HMAC SHA algorithm for authentication",
    "sha256": "Use HMAC SHA256 algorithm for authentication",
    "priv": "encryption parameters for the user",
    "aes": "Use AES algorithm for encryption",
    "128": "Use 128 bit AES algorithm for encryption",
    "read": "specify a read view for the group",
    "write": "specify a write view for the group",
    "included": "MIB family is included in the view",
    "excluded": "MIB family is excluded from the view",
    "version": "SNMP version to use for notification messages",
    "2c": "Use SNMPv2c",
    "3": "Use SNMPv3",
    "udp-port": "The notification host's UDP port number (default port 162)",
}


class SnmpCommands(DirectorCommandsBase):
    """`snmp-server …`: the director's SNMP agent and notification targets."""

    def _declare_snmp(self) -> None:
        c = self.command
        h = SNMP_HELP
        name = Word(max_len=32)
        args = {
            "community": Arg(name, "SNMP community string"),
            "acl": Arg(Word(max_len=64), "Std IP accesslist allowing access with this string"),
            "user": Arg(name, "Name of the user"),
            "group": Arg(name, "Group to which the user belongs"),
            "authpw": Arg(Word(max_len=64), "authentication password for user"),
            "privpw": Arg(Word(max_len=64), "privacy password for user"),
            "authkey": Arg(Word(max_len=96), "authentication key for user (hex octets)"),
            "privkey": Arg(Word(max_len=96), "privacy key for user (hex octets)"),
            "readview": Arg(name, "View name"),
            "writeview": Arg(name, "View name"),
            "view": Arg(name, "Name of the view"),
            "subtree": Arg(Word(max_len=200), "MIB view family name or OID"),
            "host": Arg(IPv4(), "IP address of SNMP notification host"),
            "target": Arg(name, "SNMPv2c community string or SNMPv3 user name"),
            "port": Arg(Number(1, 65535), "The notification host's UDP port number"),
            "ignored": Arg(Line(), "The rest of the line"),
        }
        c(CONFIG, "snmp-server community <community> [{ RO | RW } [<acl>]]", self._community,
          help=h, args=args)  # fmt: skip
        c(CONFIG, "no snmp-server community <community> [<ignored>]", self._community,
          help=h, args=args)  # fmt: skip
        c(CONFIG, "snmp-server user <user> <group> v3 auth { sha | sha256 } <authpw> "
          "priv aes 128 <privpw>", self._user, help=h, args=args)  # fmt: skip
        c(CONFIG, "snmp-server user <user> <group> v3 encrypted auth { sha | sha256 } <authkey> "
          "priv aes 128 <privkey>", self._user, help=h, args=args)  # fmt: skip
        c(CONFIG, "no snmp-server user <user> [<ignored>]", self._user, help=h, args=args)
        c(CONFIG, "snmp-server group <group> v3 priv [read <readview>] [write <writeview>]",
          self._group, help=h, args=args)  # fmt: skip
        c(CONFIG, "no snmp-server group <group> [<ignored>]", self._group, help=h, args=args)
        c(CONFIG, "snmp-server view <view> <subtree> { included | excluded }", self._view,
          help=h, args=args)  # fmt: skip
        c(CONFIG, "no snmp-server view <view> [<subtree> [{ included | excluded }]]",
          self._view, help=h, args=args)  # fmt: skip
        c(CONFIG, "snmp-server host <host> [version { 2c | 3 { auth | priv } }] <target> "
          "[udp-port <port>] [vstack]", self._host, help=h, args=args)  # fmt: skip
        c(CONFIG, "no snmp-server host <host> [<ignored>]", self._host, help=h, args=args)
        c(CONFIG, "snmp-server enable traps vstack", self._traps, help=h)
        c(CONFIG, "no snmp-server enable traps [vstack]", self._traps, help=h)
        c(CONFIG, "no snmp-server", self._off, help=h)

    @property
    def snmp(self) -> SnmpSettings:
        return self.settings.snmp

    # --- handlers ------------------------------------------------------------------------

    def _community(self, ctx: Context) -> None:
        with domain_errors():
            name = validate_name(text(ctx.args["community"]), "community")
        if ctx.negated:
            self.snmp.communities.pop(name, None)
            return
        acl = ctx.args.get("acl")
        with domain_errors():
            self.snmp.set_community(
                SnmpCommunity(name, said(ctx, "rw"), text(acl) if acl is not None else None)
            )

    def _user(self, ctx: Context) -> None:
        with domain_errors():
            name = validate_name(text(ctx.args["user"]), "user name")
        if ctx.negated:
            self.snmp.users.pop(name, None)
            return
        with domain_errors():
            group = validate_name(text(ctx.args["group"]), "group name")
            auth = "sha256" if said(ctx, "sha256") else "sha"
            if said(ctx, "encrypted"):
                auth_key = parse_key(text(ctx.args["authkey"]), auth)
                user = SnmpUser(
                    name, group, auth, auth_key, parse_key(text(ctx.args["privkey"]), auth)
                )
            else:
                user = SnmpUser.from_passwords(
                    name, group, auth, text(ctx.args["authpw"]), text(ctx.args["privpw"])
                )
            self.snmp.set_user(user)

    def _group(self, ctx: Context) -> None:
        with domain_errors():
            name = validate_name(text(ctx.args["group"]), "group name")
        if ctx.negated:
            self.snmp.groups.pop(name, None)
            return
        read = ctx.args.get("readview")
        write = ctx.args.get("writeview")
        with domain_errors():
            self.snmp.set_group(
                SnmpGroup(
                    name,
                    validate_name(text(read), "view name") if read is not None else None,
                    validate_name(text(write), "view name") if write is not None else None,
                )
            )

    def _view(self, ctx: Context) -> None:
        with domain_errors():
            name = validate_name(text(ctx.args["view"]), "view name")
        subtree = ctx.args.get("subtree")
        if ctx.negated:
            self.snmp.remove_view(name, text(subtree) if subtree is not None else None)
            return
        with domain_errors():
            subtree_oid(text(subtree))
            self.snmp.set_view(SnmpView(name, text(subtree), not said(ctx, "excluded")))

    def _host(self, ctx: Context) -> None:
        host = text(ctx.args["host"])
        if ctx.negated:
            self.snmp.remove_host(host)
            return
        port = ctx.args.get("port", 162)
        assert isinstance(port, int)
        version = "3" if said(ctx, "3") else "2c"
        level = "auth" if said(ctx, "auth") else "priv"
        with domain_errors():
            target = validate_name(text(ctx.args["target"]), "community or user")
            if target in ("version", "udp-port"):
                raise CommandError("% Incomplete command.")
            self.snmp.set_host(SnmpHost(host, target, version, level, port))

    def _traps(self, ctx: Context) -> None:
        self.snmp.traps_vstack = not ctx.negated

    def _off(self, ctx: Context) -> None:
        self.settings.snmp = SnmpSettings()


__all__ = ["SNMP_HELP", "SnmpCommands"]
