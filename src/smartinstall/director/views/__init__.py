"""The ``show vstack …`` outputs of the director, as pure functions of domain data.

Each function returns the whole output as ``\\n``-terminated lines, laid out like the examples
of the guide. TextFSM templates that parse these outputs ship in ``smartinstall/data/textfsm``.
"""

from smartinstall.director.views.config import (
    show_vstack_config,
    show_vstack_join_window_configuration,
)
from smartinstall.director.views.downloads import (
    show_vstack_download_status,
    show_vstack_download_status_detail,
)
from smartinstall.director.views.groups import show_vstack_group_builtin, show_vstack_group_custom
from smartinstall.director.views.neighbors import (
    devices_in_builtin_group,
    devices_in_custom_group,
    select_devices,
    show_vstack_neighbors,
)
from smartinstall.director.views.status import (
    DeviceDetail,
    show_vstack_host,
    show_vstack_status,
    show_vstack_status_detail,
)

__all__ = [
    "DeviceDetail",
    "devices_in_builtin_group",
    "devices_in_custom_group",
    "select_devices",
    "show_vstack_config",
    "show_vstack_download_status",
    "show_vstack_download_status_detail",
    "show_vstack_group_builtin",
    "show_vstack_group_custom",
    "show_vstack_host",
    "show_vstack_join_window_configuration",
    "show_vstack_neighbors",
    "show_vstack_status",
    "show_vstack_status_detail",
]
