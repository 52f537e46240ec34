"""The IOS-style command engine shared by the director and the emulated switch.

Declare commands in a `CommandSet`, add the set to an `Engine`, and drive a `Session`
with text lines (`Session.run`) or a `LineEditor` with keystrokes.
"""

from smartinstall.ios.config import StartupConfig, write_atomic
from smartinstall.ios.engine import (
    CommandError,
    Context,
    Engine,
    Outcome,
    ReplayError,
    ReplayReport,
    Session,
)
from smartinstall.ios.tree import (
    CONFIG,
    EXEC,
    PRIVILEGED_LEVEL,
    USER_LEVEL,
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
    IndexList,
    IPv4,
    Line,
    MacAddress,
    Mask,
    Number,
    RangeList,
    TimeOfDay,
    Url,
    VlanRange,
    Word,
)

__all__ = [
    "CONFIG",
    "EXEC",
    "PRIVILEGED_LEVEL",
    "USER_LEVEL",
    "VSTACK_DHCP",
    "VSTACK_GROUP",
    "Arg",
    "ArgError",
    "ArgType",
    "CommandError",
    "CommandSet",
    "Context",
    "Date",
    "Engine",
    "IPv4",
    "IndexList",
    "Line",
    "MacAddress",
    "Mask",
    "Mode",
    "Number",
    "Outcome",
    "RangeList",
    "ReplayError",
    "ReplayReport",
    "Session",
    "StartupConfig",
    "TimeOfDay",
    "Url",
    "VlanRange",
    "Word",
    "write_atomic",
]
