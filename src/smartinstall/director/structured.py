"""``show vstack … | json``: the director's show outputs as JSON arrays of objects whose keys
are the guide's column headings in snake_case (``devno``, ``mac_address``, ``product_id`` …),
parsed back by the TextFSM templates the director ships for automation
(``smartinstall/data/textfsm``, the ntc-templates form): the JSON and the text can never
disagree, and a Netmiko user gets the same keys from ``use_textfsm=True``."""

from __future__ import annotations

import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)

TEXTFSM_DIR = Path(__file__).resolve().parents[1] / "data" / "textfsm"
PLATFORM = "cisco_ios"


def structure(command: str, output: str) -> str | None:
    """The rows of ``output`` (what ``command``, in full words, printed) as indented JSON, or
    None when no template parses that command."""
    import textfsm  # type: ignore[import-untyped]
    from textfsm import clitable

    table = clitable.CliTable("index", str(TEXTFSM_DIR))
    try:
        table.ParseCmd(output, {"Command": command, "Platform": PLATFORM})
    except (clitable.CliTableError, textfsm.TextFSMError) as error:
        log.debug("no JSON form of %r: %s", command, error)
        return None
    keys = [heading.lower() for heading in table.header]
    # a List value (a custom group's images, a client's configuration lines) stays an array
    rows = [
        dict(zip(keys, (v if isinstance(v, list) else str(v) for v in row), strict=True))
        for row in table
    ]
    return json.dumps(rows, indent=2) + "\n"


__all__ = ["structure"]
