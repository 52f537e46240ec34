"""The platform an IOS image is built for, read from its file name.

The network's default product ID comes from here. The guide: "The director searches its
database to determine if the switch belongs to a configured group. If not, the director
determines if the switch matches the Smart Install network default PID" ("Adding a Client Switch
to the Network"); a client outside every group "could use the default image, configuration file,
and post install file if they match the default product ID" ("Using Built-In Groups to
Configure a Mixed Network with Two Switch Types"). The guide does not say where that product ID
comes from; the default image tells it. Cisco names every image after the platform it runs on
(``c2960-lanbase-tar.122-53.SE.tar`` in the guide's own examples, ``c3750e-universalk9-tar…``
for the Catalyst 3750-E and 3750-X, ``cat3k_caa-universalk9…bin`` for the 3850 and 3650), and
an image of one platform does not run on another: the platforms the default image is built for
are the network's default product ID. ``docs/operator-guide.md`` ("The default image and the
network's default product ID") says why this rule and not the first switch that joined.

The platform is the leading word of the file name, before the first ``-`` or ``.``, case
ignored. A name that begins with no platform of this table (an image renamed by its operator,
or a platform this table does not know) tells nothing: :func:`image_families` returns None.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from smartinstall.domain import catalog

# image platform -> the built-in families (smartinstall/data/catalog.yaml) whose switches run it
_PLATFORMS: dict[str, tuple[str, ...]] = {
    "c2918": ("2918",),
    "c2960": ("2960", "2960g", "2960plus"),
    "c2960c405": ("2960c",),
    "c2960c405ex": ("2960cg",),
    "c2960s": ("2960s",),
    "c2960x": ("2960x", "2960xr"),
    "c2975": ("2975",),
    "c3560": ("3560", "3560g"),
    "c3560c405": ("3560c",),
    "c3560c405ex": ("3560cg",),
    "c3560e": ("3560e", "3560x"),
    "c3750": ("3750", "3750g"),
    "c3750e": ("3750e", "3750x"),
    "cat3k_caa": ("3650", "3850"),
    "cat4500e": ("4500", "4500x", "4900"),
    "cat4500es8": ("4500",),
    "ie2000": ("IE2000",),
}
for _families in _PLATFORMS.values():
    for _name in _families:
        catalog.family(_name)  # a family the catalog does not have fails at import

PLATFORMS: Mapping[str, frozenset[str]] = MappingProxyType(
    {platform: frozenset(families) for platform, families in _PLATFORMS.items()}
)

_LEADING_WORD = re.compile(r"[a-z0-9_]+")


def image_name(location: str) -> str:
    """The file name of an image location: ``flash:c2960x-….tar``, ``tftp://host/dir/x.tar``
    or a bare ``x.tar`` give their last path element."""
    text = location.strip()
    for separator in ("/", ":"):
        text = text.rsplit(separator, 1)[-1]
    return text


def image_platform(location: str) -> str | None:
    """The platform word of the image's name when this table knows it (``c2960x``), or None."""
    found = _LEADING_WORD.match(image_name(location).lower())
    if found is None:
        return None
    word = found.group(0)
    return word if word in PLATFORMS else None


def image_families(location: str) -> frozenset[str] | None:
    """The built-in families whose switches run the image, or None when its name does not
    tell. Never raises."""
    platform = image_platform(location) if isinstance(location, str) else None
    return PLATFORMS[platform] if platform is not None else None
