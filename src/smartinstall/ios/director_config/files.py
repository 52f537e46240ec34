"""File locations: the image, configuration and post-install script files of the default
files (`vstack image|config|script`) and of the groups (`image|config|script` in a group).

A file location is one word (`flash:x.tar`, `tftp://10.0.0.1/x.tar`) or, as the guide's
syntax lines write it, a location and a file name (`flash: post_install.txt`); both are
saved as one word. The locations the guide lists as visible but unsupported (`ftp:`,
`http:` …) are offered by `?` and refused with a message naming them.
"""

from __future__ import annotations

from smartinstall.domain.groups import BuiltinGroup, CustomGroup, GroupFiles
from smartinstall.domain.locations import parse_location
from smartinstall.ios.director_config.base import domain_errors, text
from smartinstall.ios.engine import CommandError, Context
from smartinstall.ios.types import Arg, Url, Word

LOCATION_HELP = "Location and file (flash:, flash0:, flash1:, bootflash:, usb: or tftp://)"
FILENAME_HELP = "File name, when the location is given apart"
LOCATION = Arg(Url(), LOCATION_HELP)
FILENAME = Arg(Word(pattern=r"[^:\s]+"), FILENAME_HELP)
#: the arguments of a file command: a location and, maybe, a file name given apart
FILE_ARGS = {"location": LOCATION, "filename": FILENAME}

#: the file systems `?` offers for a location: those the director serves, and those the
#: guide says are "visible in the command-line help" but not supported (refused when used)
SUPPORTED_PREFIXES = ("flash:", "flash0:", "flash1:", "bootflash:", "usb:", "tftp:")
UNSUPPORTED_PREFIXES = (
    "ftp:",
    "http:",
    "https:",
    "null:",
    "nvram:",
    "rcp:",
    "scp:",
    "system:",
    "tmpsys:",
)
FILE_NOUNS = {"image": "Image file", "config": "Configuration file", "script": "Post install file"}


def prefix_help(kind: str) -> dict[str, str]:
    """The help of each file system keyword of a `kind` (image, config, script) command."""
    noun = FILE_NOUNS[kind]
    texts = {prefix: f"{noun} on {prefix}" for prefix in SUPPORTED_PREFIXES}
    texts["tftp:"] = f"{noun} on a TFTP server (tftp://server/file)"
    texts.update({prefix: "Not supported" for prefix in UNSUPPORTED_PREFIXES})
    return texts


def prefix_choice() -> str:
    """The file system keywords as a syntax choice: `{ flash: | flash0: | … }`."""
    return "{ " + " | ".join((*SUPPORTED_PREFIXES, *UNSUPPORTED_PREFIXES)) + " }"


def join_location(location: str, filename: str | None) -> str:
    """`flash:` + `x.tar` → `flash:x.tar`; `tftp://1.1.1.1` + `x.tar` → `tftp://1.1.1.1/x.tar`."""
    if filename is None:
        return location
    if location.endswith((":", "/")):
        return location + filename
    if location.lower().startswith("tftp://"):
        return f"{location}/{filename}"
    raise CommandError(
        f"% {location} is a file already; give the file name apart only after a location "
        "such as flash: or tftp://server"
    )


def location_of(ctx: Context) -> str:
    """The location of a file command: one word, or a file system keyword and a file name."""
    given = ctx.args.get("location")
    if given is None:
        given = next(word for word in ctx.keywords if word.endswith(":"))
    location = text(given)
    filename = ctx.args.get("filename")
    return join_location(location, text(filename) if filename is not None else None)


def set_file(files: GroupFiles, kind: str, location: str) -> None:
    """Set the `kind` file of `files`, refusing a location the director cannot serve."""
    with domain_errors():
        parse_location(location, kind)
        files.set(kind, location)


def files_of(ctx: Context) -> GroupFiles:
    """The files of the group the current sub-mode edits."""
    group = ctx.mode_data
    assert isinstance(group, BuiltinGroup | CustomGroup)
    return group.files


__all__ = [
    "FILENAME",
    "FILE_ARGS",
    "FILE_NOUNS",
    "LOCATION",
    "SUPPORTED_PREFIXES",
    "UNSUPPORTED_PREFIXES",
    "files_of",
    "join_location",
    "location_of",
    "prefix_choice",
    "prefix_help",
    "set_file",
]
