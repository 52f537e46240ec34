"""The director's configuration language, kept importable under its first name: the commands
live in the package `smartinstall.ios.director_config`, one concern a module (global commands,
join window, groups, DHCP pools, replay); this module re-exports its public names."""

from smartinstall.ios.director_config import (
    BUILTIN_GROUP_MODE,
    CUSTOM_GROUP_MODES,
    DEFAULT_HOSTNAME,
    DHCP_MODE,
    GROUP_MODES,
    CalendarDate,
    DirectorCommands,
    DirectorConfig,
    Interval,
    NumberListText,
    OnChange,
    OwnsAddress,
    SettingsHolder,
    ShowConfig,
    director_command_set,
    join_location,
    replay_director_config,
)

__all__ = [
    "BUILTIN_GROUP_MODE",
    "CUSTOM_GROUP_MODES",
    "DEFAULT_HOSTNAME",
    "DHCP_MODE",
    "GROUP_MODES",
    "CalendarDate",
    "DirectorCommands",
    "DirectorConfig",
    "Interval",
    "NumberListText",
    "OnChange",
    "OwnsAddress",
    "SettingsHolder",
    "ShowConfig",
    "director_command_set",
    "join_location",
    "replay_director_config",
]
