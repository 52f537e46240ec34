"""A small reader of the director's ``vstack …`` configuration lines.

It turns IOS text into :class:`DirectorSettings` for ``smartinstall explain`` and reports every
line it cannot take with its line number; nothing is dropped silently. The full command engine
(``smartinstall.ios``) supersedes it for the interactive CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from smartinstall.domain.catalog import CatalogError
from smartinstall.domain.errors import DomainError
from smartinstall.domain.groups import CustomGroup, GroupFiles
from smartinstall.domain.joinwindow import JoinWindowSettings, parse_schedule
from smartinstall.domain.settings import DhcpPoolSettings, DirectorSettings, LoggingHost
from smartinstall.domain.values import parse_vlan_range

MAX_LINE = 1024


@dataclass
class ReadResult:
    settings: DirectorSettings
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (line no, line, message)


def _words(line: str) -> list[str]:
    return line.split()


def _match(word: str, keyword: str, minimum: int = 1) -> bool:
    """IOS abbreviation of one keyword (at least ``minimum`` characters)."""
    return len(word) >= minimum and keyword.startswith(word.lower())


class _Reader:
    def __init__(self, owns_address: Callable[[str], bool]) -> None:
        self.settings = DirectorSettings()
        self.owns_address = owns_address
        self.files: GroupFiles | None = None  # group sub-mode
        self.custom: CustomGroup | None = None
        self.pool: DhcpPoolSettings | None = None

    def line(self, text: str) -> None:
        words = _words(text)
        if not words or words[0].startswith("!"):
            return
        if self.files is not None and self._group_line(words):
            return
        if self.pool is not None and self._pool_line(words):
            return
        self.files = self.custom = self.pool = None
        self._global_line(words)

    def _group_line(self, words: list[str]) -> bool:
        files = self.files
        assert files is not None
        negate = words[0].lower() == "no"
        args = words[1:] if negate else words
        if not args:
            return False
        head = args[0].lower()
        if head in ("exit", "end"):
            self.files = self.custom = None
            return True
        if head in ("image", "config", "script"):
            if negate:
                if head == "image" and len(args) >= 4 and args[2].lower() == "family":
                    files.set_family_image(args[3], None)
                else:
                    files.set(head, None)
                return True
            if len(args) == 4 and head == "image" and args[2].lower() == "family":
                files.set_family_image(args[3], args[1])
                return True
            if len(args) != 2:
                raise DomainError(f"% Usage: {head} <location>")
            files.set(head, args[1])
            return True
        if head == "match":
            if self.custom is None:
                raise DomainError("% match is for custom groups")
            if negate:
                self.custom.remove_match(args[1:])
            else:
                self.custom.add_match(args[1:])
            return True
        return False

    def _pool_line(self, words: list[str]) -> bool:
        pool = self.pool
        assert pool is not None
        negate = words[0].lower() == "no"
        args = words[1:] if negate else words
        if not args:
            return False
        head = args[0].lower()
        if head in ("exit", "end"):
            self.pool = None
            return True
        if head == "address-pool":
            if negate:
                pool.network = None
            elif len(args) == 3:
                pool.set_address_pool(args[1], args[2])
            elif len(args) == 2:
                pool.set_address_pool(args[1])
            else:
                raise DomainError("% Usage: address-pool <network> <mask|/prefix>")
            return True
        if head in ("default-router", "file-server"):
            value = None if negate else (args[1] if len(args) == 2 else None)
            if not negate and value is None:
                raise DomainError(f"% Usage: {head} <ip_address>")
            from smartinstall.domain.devices import validate_ipv4

            checked = validate_ipv4(value) if value else None
            if head == "default-router":
                pool.default_router = checked
            else:
                pool.file_server = checked
            return True
        return False

    def _global_line(self, words: list[str]) -> None:
        s = self.settings
        negate = words[0].lower() == "no"
        args = words[1:] if negate else words
        if not args:
            raise DomainError("% Incomplete command.")
        head = args[0].lower()
        rest = args[1:]
        if head in ("end", "exit"):
            return
        if head == "hostname":
            if negate:
                s.hostname = "Director"
            elif len(rest) == 1:
                s.set_hostname(rest[0])
            else:
                raise DomainError("% Usage: hostname <name>")
            return
        if head == "ip":
            self._ip_line(negate, rest)
            return
        if head == "logging" and rest and rest[0].lower() == "host":
            target = LoggingHost.parse(rest[1:])
            s.logging_hosts = [t for t in s.logging_hosts if t.host != target.host]
            if not negate:
                s.logging_hosts.append(target)
            return
        if head != "vstack":
            raise DomainError(f"% Not a director configuration line: {words[0]}", words[0])
        if not rest:
            s.enabled = not negate
            return
        sub = rest[0].lower()
        value = rest[1:]
        if _match(sub, "director", 3):
            if negate:
                s.clear_director()
            elif len(value) == 1:
                s.set_director(value[0])
            else:
                raise DomainError("% Usage: vstack director <ip_address>")
        elif _match(sub, "basic", 2):
            if negate:
                s.basic = False
            else:
                s.enable_basic(self.owns_address)
        elif _match(sub, "startup-vlan", 2):
            if negate:
                s.set_startup_vlan(None)
            elif len(value) == 1 and value[0].isascii() and value[0].isdigit():
                s.set_startup_vlan(int(value[0]))
            else:
                raise DomainError("% Usage: vstack startup-vlan <vlan>")
        elif _match(sub, "vlan", 2):
            vlans = set(parse_vlan_range(" ".join(value))) if value else set()
            s.vlans = (s.vlans - vlans if vlans else set()) if negate else s.vlans | vlans
        elif sub in ("image", "config", "script"):
            if negate:
                s.groups.default.set(sub, None)
            elif len(value) == 1:
                s.groups.default.set(sub, value[0])
            else:
                raise DomainError(f"% Usage: vstack {sub} <location>")
        elif _match(sub, "hostname-prefix", 2):
            s.set_hostname_prefix(None if negate else (value[0] if len(value) == 1 else ""))
        elif _match(sub, "backup", 2):
            if negate:
                s.set_backup(False)
            elif not value:
                s.set_backup(True, s.backup.repository)
            elif len(value) == 2 and value[0].lower() == "file-server":
                s.set_backup(True, value[1])
            else:
                raise DomainError("% Usage: vstack backup [file-server <url>]")
        elif _match(sub, "join-window", 2):
            self._join_window(negate, value)
        elif _match(sub, "dhcp-localserver", 2):
            if len(value) != 1:
                raise DomainError("% Usage: vstack dhcp-localserver <pool>")
            if negate:
                s.dhcp_pools.pop(value[0], None)
            else:
                self.pool = s.dhcp_pool(value[0])
        elif _match(sub, "group", 1):
            self._group(negate, value)
        elif _match(sub, "tailored-config", 2):
            if len(value) == 2 and value[0].lower() == "enable-password" and not negate:
                s.tailored_password = value[1]
            elif negate:
                s.tailored_password = None
            else:
                raise DomainError("% Usage: vstack tailored-config enable-password <password>")
        elif _match(sub, "authentication", 2):
            if negate:
                s.smi_key = None
            elif len(value) == 2 and value[0].lower() == "key" and len(value[1]) >= 16:
                s.smi_key = value[1]
            else:
                raise DomainError(
                    "% Usage: vstack authentication key <key of 16 or more characters>"
                )
        elif _match(sub, "allowed-clients", 2):
            if negate:
                s.allowed_clients = []
            else:
                import ipaddress

                try:
                    nets = [str(ipaddress.IPv4Network(v, strict=False)) for v in value]
                except ValueError:
                    raise DomainError(f"% Invalid prefix list: {' '.join(value)}") from None
                if not nets:
                    raise DomainError("% Usage: vstack allowed-clients <prefix> ...")
                s.allowed_clients = nets
        else:
            raise DomainError(f"% Unknown vstack command: {rest[0]}", rest[0])

    def _ip_line(self, negate: bool, rest: list[str]) -> None:
        s = self.settings
        if len(rest) >= 2 and rest[0].lower() == "dhcp" and rest[1].lower() == "remember":
            s.dhcp_remember = not negate
        elif rest and rest[0].lower() in ("helper-address", "helper") and len(rest) == 2:
            if negate:
                s.helper_addresses = [a for a in s.helper_addresses if a != rest[1]]
            else:
                s.add_helper(rest[1])
        else:
            raise DomainError(f"% Not a director configuration line: ip {' '.join(rest)}")

    def _join_window(self, negate: bool, value: list[str]) -> None:
        s = self.settings
        jw = s.join_window
        if not value:
            raise DomainError("% Incomplete command.")
        head = value[0].lower()
        if _match(head, "start", 1):
            schedule = None if negate else parse_schedule(value[1:])
            s.join_window = JoinWindowSettings(schedule, jw.closed, jw.auto)
        elif _match(head, "close", 1):
            s.join_window = JoinWindowSettings(jw.schedule, not negate, jw.auto)
        elif _match(head, "mode", 1):
            if not negate and (len(value) != 2 or not _match(value[1], "auto")):
                raise DomainError("% Usage: vstack join-window mode auto")
            s.join_window = JoinWindowSettings(jw.schedule, jw.closed, not negate)
        else:
            raise DomainError(f"% Unknown join-window command: {value[0]}", value[0])

    def _group(self, negate: bool, value: list[str]) -> None:
        s = self.settings
        if not value:
            raise DomainError("% Incomplete command.")
        kind = value[0].lower()
        if _match(kind, "built-in", 1):
            if len(value) not in (3, 4):
                raise DomainError("% Usage: vstack group built-in <family> <port_config> [chassis]")
            chassis = value[3] if len(value) == 4 else None
            if negate:
                s.remove_builtin_group(value[1], value[2], chassis)
            else:
                self.files = s.builtin_group(value[1], value[2], chassis).files
        elif _match(kind, "custom", 1):
            if negate:
                if len(value) < 2:
                    raise DomainError("% Usage: no vstack group custom <name>")
                s.remove_custom_group(value[1])
                return
            if len(value) not in (2, 3):
                raise DomainError(
                    "% Usage: vstack group custom <name> {connectivity|mac|product-id|stack}"
                )
            group = s.custom_group(value[1], value[2].lower() if len(value) == 3 else None)
            self.custom = group
            self.files = group.files
        else:
            raise DomainError(f"% Unknown group type: {value[0]}", value[0])


def read_config(text: str, owns_address: Callable[[str], bool]) -> ReadResult:
    """Replay configuration text; every rejected line is reported with its number."""
    reader = _Reader(owns_address)
    result = ReadResult(reader.settings)
    for number, line in enumerate(text.splitlines(), start=1):
        if len(line) > MAX_LINE:
            result.errors.append((number, line[:60], "% Line too long"))
            continue
        try:
            reader.line(line)
        except (DomainError, CatalogError) as error:
            result.errors.append((number, line.strip(), str(error)))
    return result
