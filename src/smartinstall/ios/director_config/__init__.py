"""The director's configuration language: every `vstack …` configuration command of the guide.

One `DirectorCommands` set edits one `DirectorSettings` object (the typed model of
`smartinstall.domain.settings`), read through its owner's holder on every command; its
running-configuration lines are the model's own `render()`, so `show running-config`,
`write memory` and a replay of the saved text agree.

The package, one concern a module (guide, chapter 3, and the configuration examples of
chapter 2):

* `global_commands`: `vstack`, `vstack director`, `vstack basic`, `vstack startup-vlan`,
  `vstack vlan`, `vstack image|config|script`, `vstack hostname-prefix`, `vstack backup
  [file-server …]`, `vstack tailored-config enable-password`, `vstack authentication key`,
  `vstack allowed-clients`, `ip dhcp remember`, `ip helper-address` (`ip helper`), `logging
  host`, and their `no` forms;
* `join_window`: `vstack join-window start|close|mode auto`;
* `groups`: `vstack group built-in …`, `vstack group custom …` and the group configuration
  mode (`Director(config-vstack-group)#`): `image`, `config`, `script`, `match …`;
* `dhcp_pool`: `vstack dhcp-localserver` and the DHCP pool configuration mode
  (`Director(config-vstack-dhcp)#`): `address-pool`, `default-router`, `file-server`;
* `snmp`: `snmp-server community|user|group|view|host`, `snmp-server enable traps vstack`
  (the director's SNMP agent, `services/snmp.py`);
* `files`: the file locations of the default and group files; `types`: argument types;
* `base`: the settings holder, change notification and helpers every part shares;
* `commands`: `DirectorCommands`, the parts combined, and privileged EXEC `show vstack
  config`, whose output the caller renders (this package imports nothing of the director);
* `replay`: `director_command_set` (the factory that plugs the set into an engine) and
  `replay_director_config`.
"""

from smartinstall.ios.director_config.base import (
    DirectorCommandsBase,
    OnChange,
    OwnsAddress,
    SettingsHolder,
    ShowConfig,
)
from smartinstall.ios.director_config.commands import DirectorCommands
from smartinstall.ios.director_config.dhcp_pool import DHCP_MODE
from smartinstall.ios.director_config.files import join_location
from smartinstall.ios.director_config.groups import (
    BUILTIN_GROUP_MODE,
    CUSTOM_GROUP_MODES,
    GROUP_MODES,
)
from smartinstall.ios.director_config.replay import (
    DEFAULT_HOSTNAME,
    DirectorConfig,
    director_command_set,
    replay_director_config,
)
from smartinstall.ios.director_config.types import CalendarDate, Interval, NumberListText

__all__ = [
    "BUILTIN_GROUP_MODE",
    "CUSTOM_GROUP_MODES",
    "DEFAULT_HOSTNAME",
    "DHCP_MODE",
    "GROUP_MODES",
    "CalendarDate",
    "DirectorCommands",
    "DirectorCommandsBase",
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
