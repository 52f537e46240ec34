"""The director's command set and the owner of its settings: the settings are read through a
holder on every command (so a replaced object is seen at once), every accepted configuration
command tells the owner once (`on_change`), and `show vstack config` is rendered by what the
composition root injects (`show_config`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from smartinstall.commands import shell
from smartinstall.domain.settings import DirectorSettings, Role
from smartinstall.ios import PRIVILEGED_LEVEL, Engine, Session
from smartinstall.ios.director_commands import (
    DirectorCommands,
    SettingsHolder,
    ShowConfig,
    director_command_set,
    replay_director_config,
)

OWNED = {"1.1.1.20"}


@dataclass
class Owner:
    """What the director core is to the commands: it holds the settings and counts changes."""

    settings: DirectorSettings = field(default_factory=DirectorSettings)
    changes: int = 0

    def changed(self) -> None:
        self.changes += 1


def configuring(
    owner: Owner, show_config: ShowConfig | None = None, show_commands: bool = True
) -> tuple[Engine, DirectorCommands, Session]:
    engine = Engine(hostname="Director")
    holder: SettingsHolder = owner
    commands = DirectorCommands(
        holder,
        OWNED.__contains__,
        on_change=owner.changed,
        show_config=show_config,
        show_commands=show_commands,
    )
    engine.add(commands)
    session = engine.session(PRIVILEGED_LEVEL)
    session.run("configure terminal")
    return engine, commands, session


# --- the holder --------------------------------------------------------------------------------


def test_commands_edit_the_settings_the_holder_has_now() -> None:
    owner = Owner()
    engine, commands, session = configuring(owner)
    assert session.run("vstack director 1.1.1.20") == ""
    first = owner.settings
    assert first.director_ip == "1.1.1.20"
    # the owner swaps in another object (a SIGHUP replay): the next command edits that one
    owner.settings = DirectorSettings()
    assert commands.settings is owner.settings
    assert session.run("vstack director 1.1.1.30") == ""
    assert owner.settings.director_ip == "1.1.1.30"
    assert first.director_ip == "1.1.1.20"
    # and the running configuration is the new object's
    assert "vstack director 1.1.1.30\n" in engine.running_config()
    assert "1.1.1.20" not in engine.running_config()


def test_a_plain_settings_object_or_none_still_works() -> None:
    settings = DirectorSettings()
    commands = DirectorCommands(settings)
    assert commands.settings is settings
    engine = Engine(hostname="Director")
    engine.add(commands)
    session = engine.session(PRIVILEGED_LEVEL)
    session.run("configure terminal")
    assert session.run("vstack startup-vlan 7") == ""
    assert settings.startup_vlan == 7
    fresh = DirectorCommands()
    assert fresh.settings == DirectorSettings()
    assert fresh.settings is fresh.settings  # one object, not a new one per read


# --- on_change ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "vstack director 1.1.1.20",
        "no vstack",
        "vstack startup-vlan 10",
        "vstack vlan 10-12,100",
        "vstack image flash:x.tar",
        "vstack script flash: post.txt",
        "vstack hostname-prefix edge",
        "vstack backup file-server tftp://10.0.0.9/backups",
        "vstack join-window start 05:00 16:00 recurring",
        "vstack join-window close",
        "no vstack join-window mode auto",
        "vstack tailored-config enable-password secret",
        "vstack authentication key 0123456789abcdef",
        "vstack allowed-clients 10.1.0.0/16",
        "ip dhcp remember",
        "ip helper-address 10.0.0.5",
        "logging host 10.0.0.7 transport tcp port 6514",
        "no vstack group built-in 3750 24poe",
    ],
)
def test_a_global_command_tells_the_owner_once(line: str) -> None:
    owner = Owner()
    _, _, session = configuring(owner)
    before = owner.settings.render()
    outcome = session.execute(line)
    assert outcome.ok, outcome.output
    assert owner.changes == 1
    if not line.startswith("no vstack group"):  # removing a group that is not there
        assert owner.settings.render() != before


def test_group_and_pool_commands_tell_the_owner_and_entering_only_when_it_creates() -> None:
    owner = Owner()
    _, _, session = configuring(owner)
    expected = [
        ("vstack group built-in 3750 24poe", 1),  # created
        ("image flash:c3750.tar", 2),
        ("config flash: c3750.txt", 3),
        ("exit", 3),
        ("vstack group built-in 3750 24poe", 3),  # exists: nothing new
        ("no image", 4),
        ("vstack group custom g1 mac", 5),  # created
        ("match mac 0023.34ca.c180", 6),
        ("vstack group custom g1", 6),  # exists
        ("vstack group custom g1 mac", 6),  # exists
        ("no match mac 0023.34ca.c180", 7),
        ("vstack group custom s1 stack", 8),
        ("match 1 3750 24poe", 9),
        ("image flash:c3750.tar family 3750", 10),
        ("vstack dhcp-localserver pool1", 11),  # created
        ("address-pool 10.0.0.0 255.255.255.0", 12),
        ("default-router 10.0.0.1", 13),
        ("file-server 10.0.0.2", 14),
        ("exit", 14),
        ("vstack dhcp-localserver pool1", 14),  # exists
        ("no file-server", 15),
        ("end", 15),
        ("configure terminal", 15),
        ("no vstack dhcp-localserver pool1", 16),
        ("no vstack group custom g1", 17),
        ("hostname other", 17),  # the engine's own command, not this set's
    ]
    for line, count in expected:
        outcome = session.execute(line)
        assert outcome.ok, (line, outcome.output)
        assert owner.changes == count, line


@pytest.mark.parametrize(
    "line",
    [
        "vstack startup-vlan 4095",  # bad argument: the parser refuses it
        "vstack directr 1.1.1.20",  # unknown keyword
        "vstack director",  # incomplete
        "vstack basic",  # DomainError: no director address
        "vstack authentication key short",  # CommandError of the handler
        "vstack allowed-clients 10.300.0.0/8",
        "vstack vlan 5-3",
        "vstack image ftp:x.tar",
        "vstack join-window start 31 Feb 2010 10:00",
        "vstack group custom nosuch",
        "no vstack group custom nosuch",
        "no vstack dhcp-localserver nosuch",
        "vstack dhcp-localserver bad/name",
    ],
)
def test_a_rejected_command_does_not_tell_the_owner(line: str) -> None:
    owner = Owner()
    _, _, session = configuring(owner)
    before = owner.settings.render()
    outcome = session.execute(line)
    assert not outcome.ok, outcome.output
    assert owner.changes == 0
    assert owner.settings.render() == before


def test_a_rejected_sub_mode_command_does_not_tell_the_owner() -> None:
    owner = Owner()
    _, _, session = configuring(owner)
    session.run("vstack group custom g1 stack")
    session.run("vstack group custom g2 mac")
    session.run("vstack dhcp-localserver pool1")
    assert owner.changes == 3
    assert not session.execute("address-pool 10.0.0.0 /31").ok  # too small
    session.run("vstack group custom g1")
    assert not session.execute("match 1 4500 sup8-e").ok
    session.run("vstack group custom g2")
    assert not session.execute("match mac 0023.34ca.c18g").ok
    assert owner.changes == 3


def test_the_disabled_director_refuses_and_does_not_tell() -> None:
    owner = Owner()
    _, _, session = configuring(owner)
    assert session.execute("no vstack").ok
    assert owner.changes == 1
    outcome = session.execute("vstack director 1.1.1.20")  # Smart Install is disabled
    assert not outcome.ok and outcome.output.startswith("Command Rejected")
    assert owner.changes == 1


def test_show_commands_do_not_tell_the_owner() -> None:
    owner = Owner()
    _, _, session = configuring(owner, show_config=shell.render_show_vstack_config)
    session.run("vstack director 1.1.1.20")
    assert owner.changes == 1
    for line in (
        "do show vstack config",
        "do show running-config",
        "do show vstack config | include Role",
        "end",
        "show vstack config",
        "show running-config",
    ):
        outcome = session.execute(line)
        assert outcome.ok, (line, outcome.output)
    assert owner.changes == 1


def test_a_failing_command_between_two_accepted_ones() -> None:
    # each accepted command is told once, the refused one in between not at all
    owner = Owner()
    _, _, session = configuring(owner)
    for line in ("vstack director 1.1.1.20", "vstack basic", "vstack startup-vlan 0"):
        session.execute(line)
    assert owner.changes == 2
    assert owner.settings.basic


# --- show vstack config ------------------------------------------------------------------------


def test_show_vstack_config_is_the_injected_renderer() -> None:
    calls: list[tuple[DirectorSettings, Role, bool | None]] = []

    def render(settings: DirectorSettings, role: Role, window_open: bool | None) -> str:
        calls.append((settings, role, window_open))
        return f"rendered {role.value}\n"

    owner = Owner()
    _, _, session = configuring(owner, show_config=render)
    session.run("vstack director 1.1.1.20")
    session.run("vstack basic")
    assert session.run("do show vstack config") == "rendered Director\n"
    assert calls == [(owner.settings, Role.DIRECTOR, None)]


NO_SHOW = " " * len("Director#show ") + "^\n% Invalid input detected at '^' marker.\n\n"


@pytest.mark.parametrize("given", [False, True])
def test_without_a_renderer_or_with_show_commands_off_there_is_no_show(given: bool) -> None:
    renderer = shell.render_show_vstack_config if given else None
    _, _, session = configuring(Owner(), show_config=renderer, show_commands=not given)
    session.run("end")
    assert session.run("show vstack config") == NO_SHOW


def test_the_shell_composes_the_show_command_from_the_director_view(tmp_path: Path) -> None:
    assert "smartinstall.ios" not in shell.COMMAND_SETS[0].partition(":")[0]
    engine = shell.build_engine(tmp_path / "startup-config")
    session = engine.session(PRIVILEGED_LEVEL)
    assert session.run("show vstack config") == (
        "Role: Client (SmartInstall enabled)\nVstack Director IP address: 0.0.0.0\n"
    )
    session.run("configure terminal")
    session.run("hostname edge")  # the engine's hostname is the settings' hostname
    commands = next(s for s in engine.sets if isinstance(s, DirectorCommands))
    assert commands.settings.hostname == "edge"


def test_the_factory_and_the_replay_need_no_renderer() -> None:
    engine = Engine(hostname="Director")
    commands = engine.add(director_command_set(engine, OWNED.__contains__))
    assert isinstance(commands, DirectorCommands)
    assert engine.session(PRIVILEGED_LEVEL).run("show vstack config") == NO_SHOW
    replayed = replay_director_config(
        "vstack director 1.1.1.20\nvstack basic\n", OWNED.__contains__
    )
    assert replayed.errors == []
    assert replayed.settings.basic
