"""Who may use the director's terminals (SSH, telnet), and how they are set up.

Configuration lines (global configuration mode; `show running-config` renders them):

    username NAME [privilege <0-15>] secret [0] PASSWORD   the password is hashed at once
    username NAME [privilege <0-15>] secret 9 HASH         a Cisco type 9 (scrypt) hash
    no username NAME
    enable secret [0] PASSWORD | enable secret 9 HASH      the `enable` password
    no enable secret
    ip ssh server port <1-65535>        start the SSH server on this port
    ip telnet server port <1-65535>     start the telnet server on this port
    ip cli session-limit <1-64>         terminal sessions at once (default 16)
    ip cli idle-timeout <0-1440>        minutes without input before a session ends (10; 0: never)
    ip cli login-timeout <1-300>        seconds a connection has to log in (30)
    ip cli login-slots <2-256>          connections logging in at once, SSH and telnet (32)
    banner login LINE                   shown before the login (first character = delimiter)

Secrets are stored only as Cisco type 9 hashes (scrypt, N=16384, r=1, p=1, a 14-character
salt, Cisco's base64 alphabet) — the same hashes IOS writes, so a line can be copied between a
switch and the director. With no `username` configured every login is refused. How logins
are slowed down and how connections still logging in share their slots: `cli_guard`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from smartinstall.ios import CONFIG, Arg, CommandError, CommandSet, Context, Line, Number, Word
from smartinstall.ios.archive_config import without_archive_lines
from smartinstall.services.cli_guard import DEFAULT_LOGIN_SLOTS, DEFAULT_LOGIN_TIMEOUT
from smartinstall.services.cli_guard import LoginGuard as LoginGuard

log = logging.getLogger(__name__)

_STD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_CISCO = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_TO_CISCO = str.maketrans(_STD, _CISCO)
SALT_LENGTH = 14
MAX_SECRET = 127
DEFAULT_SESSION_LIMIT = 16
DEFAULT_IDLE_MINUTES = 10


def _scrypt(password: str, salt: str) -> str:
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt.encode("ascii"), n=16384, r=1, p=1, dklen=32
    )
    return base64.b64encode(digest).decode("ascii").rstrip("=").translate(_TO_CISCO)


def hash_secret(password: str, salt: str | None = None) -> str:
    """A Cisco type 9 hash: ``$9$<salt>$<scrypt>``."""
    if salt is None:
        salt = "".join(secrets.choice(_CISCO) for _ in range(SALT_LENGTH))
    return f"$9${salt}${_scrypt(password, salt)}"


def valid_hash(text: str) -> bool:
    parts = text.split("$")
    return (
        len(parts) == 4
        and parts[0] == ""
        and parts[1] == "9"
        and len(parts[2]) == SALT_LENGTH
        and len(parts[3]) == 43
        and all(c in _CISCO for c in parts[2] + parts[3])
    )


def verify_secret(password: str, stored: str) -> bool:
    if not valid_hash(stored) or len(password) > MAX_SECRET:
        return False
    salt = stored.split("$")[2]
    return hmac.compare_digest(hash_secret(password, salt), stored)


@dataclass
class User:
    name: str
    secret: str  # type 9 hash
    privilege: int = 1


class CliAccess(CommandSet):
    """Users, the enable secret and the terminal servers' settings."""

    name = "cli-access"
    order = 5

    def __init__(self) -> None:
        super().__init__()
        self.users: dict[str, User] = {}
        self.enable_secret: str | None = None
        self.ssh_port: int | None = None
        self.telnet_port: int | None = None
        self.session_limit = DEFAULT_SESSION_LIMIT
        self.idle_minutes = DEFAULT_IDLE_MINUTES
        self.login_timeout = DEFAULT_LOGIN_TIMEOUT
        self.login_slots = DEFAULT_LOGIN_SLOTS
        self.banner = ""
        self.keyword_help.update({
            "username": "Establish User Name Authentication",
            "enable": "Modify enable password parameters",
            "secret": "Specify the secret for the user",
            "privilege": "Set user privilege level",
            "0": "Specifies an UNENCRYPTED secret will follow",
            "9": "Specifies a SCRYPT HASHED secret will follow",
            "ip": "Global IP configuration subcommands",
            "ssh": "Configure ssh options",
            "telnet": "Configure telnet options",
            "server": "Configure the server",
            "port": "TCP port to listen on",
            "cli": "Command line sessions",
            "session-limit": "Terminal sessions at once",
            "idle-timeout": "Minutes without input before a session ends (0: never)",
            "login-timeout": "Seconds a connection has to log in",
            "login-slots": "Connections logging in at once (SSH and telnet)",
            "banner": "Define a login banner",
            "login": "Set login banner",
        })  # fmt: skip
        name = {"name": Arg(Word("WORD", r"[A-Za-z0-9_.@-]+", 64), "User name")}
        plain = {
            **name,
            "password": Arg(Word("LINE", max_len=MAX_SECRET), "The UNENCRYPTED (cleartext) secret"),
            "level": Arg(Number(0, 15), "User privilege level"),
        }
        hashed = {
            **name,
            "hash": Arg(Word("WORD", max_len=128), "The SCRYPT hashed secret"),
            "level": Arg(Number(0, 15), "User privilege level"),
        }
        c = self.command
        c(
            CONFIG,
            "username <name> [privilege <level>] secret [0] <password>",
            self._user,
            args=plain,
        )
        c(CONFIG, "username <name> [privilege <level>] secret 9 <hash>", self._user, args=hashed)
        c(CONFIG, "no username <name>", self._no_user, args=name)
        c(CONFIG, "enable secret [0] <password>", self._enable, args=plain)
        c(CONFIG, "enable secret 9 <hash>", self._enable, args=hashed)
        c(CONFIG, "no enable secret", self._no_enable)
        port = {"port_number": Arg(Number(1, 65535), "Port number")}
        c(CONFIG, "ip ssh server port <port_number>", self._ssh_port, args=port)
        c(CONFIG, "no ip ssh server port [<port_number>]", self._ssh_port, args=port)
        c(CONFIG, "ip telnet server port <port_number>", self._telnet_port, args=port)
        c(CONFIG, "no ip telnet server port [<port_number>]", self._telnet_port, args=port)
        c(
            CONFIG,
            "ip cli session-limit <sessions>",
            self._limit,
            args={"sessions": Arg(Number(1, 64), "Sessions")},
        )
        c(CONFIG, "no ip cli session-limit", self._limit)
        c(
            CONFIG,
            "ip cli idle-timeout <minutes>",
            self._idle,
            args={"minutes": Arg(Number(0, 1440), "Minutes")},
        )
        c(CONFIG, "no ip cli idle-timeout", self._idle)
        c(
            CONFIG,
            "ip cli login-timeout <seconds>",
            self._login_timeout,
            args={"seconds": Arg(Number(1, 300), "Seconds")},
        )
        c(CONFIG, "no ip cli login-timeout", self._login_timeout)
        c(
            CONFIG,
            "ip cli login-slots <slots>",
            self._login_slots,
            args={"slots": Arg(Number(2, 256), "Connections")},
        )
        c(CONFIG, "no ip cli login-slots", self._login_slots)
        c(
            CONFIG,
            "banner login <text>",
            self._banner,
            args={
                "text": Arg(
                    Line(max_len=1024), "c banner-text c, where 'c' is a delimiting character"
                )
            },
        )
        c(CONFIG, "no banner login", self._banner)

    def reset(self) -> None:
        """Back to no users, no enable secret and default settings (before a new replay)."""
        self.users.clear()
        self.enable_secret = None
        self.ssh_port = self.telnet_port = None
        self.session_limit = DEFAULT_SESSION_LIMIT
        self.idle_minutes = DEFAULT_IDLE_MINUTES
        self.login_timeout = DEFAULT_LOGIN_TIMEOUT
        self.login_slots = DEFAULT_LOGIN_SLOTS
        self.banner = ""

    # --- handlers ------------------------------------------------------------------------------

    @staticmethod
    def _secret(ctx: Context) -> str:
        if "hash" in ctx.args:
            text = str(ctx.args["hash"])
            if not valid_hash(text):
                raise CommandError("% Invalid SCRYPT secret (expected $9$<salt>$<hash>)")
            return text
        return hash_secret(str(ctx.args["password"]))

    def _user(self, ctx: Context) -> None:
        name = str(ctx.args["name"])
        level = ctx.args.get("level")
        self.users[name] = User(
            name, self._secret(ctx), int(str(level)) if level is not None else 1
        )

    def _no_user(self, ctx: Context) -> None:
        self.users.pop(str(ctx.args["name"]), None)

    def _enable(self, ctx: Context) -> None:
        self.enable_secret = self._secret(ctx)

    def _no_enable(self, ctx: Context) -> None:
        self.enable_secret = None

    def _ssh_port(self, ctx: Context) -> None:
        self.ssh_port = None if ctx.negated else int(str(ctx.args["port_number"]))

    def _telnet_port(self, ctx: Context) -> None:
        self.telnet_port = None if ctx.negated else int(str(ctx.args["port_number"]))

    def _limit(self, ctx: Context) -> None:
        self.session_limit = (
            DEFAULT_SESSION_LIMIT if ctx.negated else int(str(ctx.args["sessions"]))
        )

    def _idle(self, ctx: Context) -> None:
        self.idle_minutes = DEFAULT_IDLE_MINUTES if ctx.negated else int(str(ctx.args["minutes"]))

    def _login_timeout(self, ctx: Context) -> None:
        self.login_timeout = DEFAULT_LOGIN_TIMEOUT if ctx.negated else int(str(ctx.args["seconds"]))

    def _login_slots(self, ctx: Context) -> None:
        self.login_slots = DEFAULT_LOGIN_SLOTS if ctx.negated else int(str(ctx.args["slots"]))

    def _banner(self, ctx: Context) -> None:
        if ctx.negated:
            self.banner = ""
            return
        text = str(ctx.args["text"]).strip()
        delimiter = text[0]
        end = text.find(delimiter, 1)
        if end < 0:
            raise CommandError(f"% The banner must end with its delimiter {delimiter}")
        self.banner = text[1:end]

    def render_config(self) -> Sequence[str]:
        lines = []
        if self.enable_secret:
            lines.append(f"enable secret 9 {self.enable_secret}")
        for user in self.users.values():
            level = f" privilege {user.privilege}" if user.privilege != 1 else ""
            lines.append(f"username {user.name}{level} secret 9 {user.secret}")
        if self.ssh_port is not None:
            lines.append(f"ip ssh server port {self.ssh_port}")
        if self.telnet_port is not None:
            lines.append(f"ip telnet server port {self.telnet_port}")
        if self.session_limit != DEFAULT_SESSION_LIMIT:
            lines.append(f"ip cli session-limit {self.session_limit}")
        if self.idle_minutes != DEFAULT_IDLE_MINUTES:
            lines.append(f"ip cli idle-timeout {self.idle_minutes}")
        if self.login_timeout != DEFAULT_LOGIN_TIMEOUT:
            lines.append(f"ip cli login-timeout {self.login_timeout}")
        if self.login_slots != DEFAULT_LOGIN_SLOTS:
            lines.append(f"ip cli login-slots {self.login_slots}")
        if self.banner:
            delimiter = next(c for c in "^#%&@~" if c not in self.banner)
            lines.append(f"banner login {delimiter}{self.banner}{delimiter}")
        return lines

    # --- checks -------------------------------------------------------------------------------

    def check_user(self, name: str, password: str) -> User | None:
        """The user when name and password match (the same work whether the name exists)."""
        user = self.users.get(name)
        stored = user.secret if user is not None else _DUMMY
        ok = verify_secret(password, stored)
        return user if ok and user is not None else None

    def check_enable(self, password: str) -> bool:
        if self.enable_secret is None:
            return False
        return verify_secret(password, self.enable_secret)

    @property
    def idle_seconds(self) -> float | None:
        return self.idle_minutes * 60.0 if self.idle_minutes else None


_DUMMY = hash_secret("unused", "AAAAAAAAAAAAAA")


_ACCESS_PREFIXES = (
    ("username",),
    ("enable", "secret"),
    ("ip", "ssh", "server"),
    ("ip", "telnet", "server"),
    ("ip", "cli"),
    ("banner", "login"),
)


def is_access_line(line: str) -> bool:
    """A configuration line `CliAccess` owns (with or without `no`)."""
    words = line.strip().lower().split()
    if words[:1] == ["no"]:
        words = words[1:]
    return any(tuple(words[: len(prefix)]) == prefix for prefix in _ACCESS_PREFIXES)


def without_terminal_lines(text: str) -> str:
    """``text`` with the lines the director's terminals own made comments, line for line: the
    access lines (`CliAccess`) and the archive and file lines (`ArchiveConfig`). What a replay
    of a director configuration for the director's settings alone reads (the director's
    start, ``smartinstall explain``), so that those lines are not reported as rejected."""
    lines = ("!" if is_access_line(line) else line for line in text.splitlines())
    return without_archive_lines("\n".join(lines))
