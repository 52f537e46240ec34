"""Interface names in canonical form, so ``Gi1/0/3`` equals ``GigabitEthernet 1/0/3``.

Connectivity groups (``match host <ip> interface <name>``) and zero-touch replacement compare
the upstream port of a client; the guide asks for the full name in the command, while CDP
reports and operators use the short ones (``Gig 1/0/19`` in ``show vstack neighbors``).
Names that are no Ethernet-like interface (the guide's own example ``interface finance``)
are kept as they are, compared without case and spaces.
"""

from __future__ import annotations

import re

from smartinstall.domain.errors import DomainError

# Full names, and the abbreviations IOS itself prints or accepts for each.
_FULL_NAMES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Ethernet", ("e", "et", "eth")),
    ("FastEthernet", ("f", "fa", "fas", "fast")),
    ("GigabitEthernet", ("g", "gi", "gig", "gige")),
    ("TwoGigabitEthernet", ("tw", "two", "twogig")),
    ("FiveGigabitEthernet", ("fi", "five", "fivegig")),
    ("TenGigabitEthernet", ("te", "ten", "tengig", "tengige")),
    ("TwentyFiveGigE", ("twe", "twentyfive", "twentyfivegig")),
    ("FortyGigabitEthernet", ("fo", "for", "forty", "fortygig")),
    ("HundredGigE", ("hu", "hun", "hundred", "hundredgig")),
    ("AppGigabitEthernet", ("ap", "app", "appgig")),
    ("Port-channel", ("po", "port", "portchannel")),
    ("Vlan", ("vl", "vlan")),
    ("Loopback", ("lo", "loop")),
)

_SHORT_NAMES = {
    "Ethernet": "Eth",
    "FastEthernet": "Fas",
    "GigabitEthernet": "Gig",
    "TwoGigabitEthernet": "Two",
    "FiveGigabitEthernet": "Fiv",
    "TenGigabitEthernet": "Ten",
    "TwentyFiveGigE": "Twe",
    "FortyGigabitEthernet": "For",
    "HundredGigE": "Hun",
    "AppGigabitEthernet": "App",
    "Port-channel": "Po",
    "Vlan": "Vl",
    "Loopback": "Lo",
}

_NAME_RE = re.compile(r"([A-Za-z][A-Za-z-]*)\s*([0-9]+(?:/[0-9]+){0,3}(?:\.[0-9]+)?)")
MAX_INTERFACE_LENGTH = 64


def _full_type(word: str) -> str | None:
    lowered = word.lower().replace("-", "")
    for full, shorts in _FULL_NAMES:
        if lowered == full.lower().replace("-", "") or lowered in shorts:
            return full
    candidates = [
        full for full, _ in _FULL_NAMES if full.lower().replace("-", "").startswith(lowered)
    ]
    return candidates[0] if len(candidates) == 1 else None


def canonical_interface(name: str) -> str:
    """``GigabitEthernet1/0/3`` for ``Gi1/0/3``, ``gig 1/0/3`` or ``GigabitEthernet 1/0/3``."""
    text = name.strip()
    if not text or len(text) > MAX_INTERFACE_LENGTH or any(ord(c) < 32 for c in text):
        raise DomainError(f"% Invalid interface name: {text[:40] or repr(name)}", name)
    match = _NAME_RE.fullmatch(text)
    if match:
        full = _full_type(match.group(1))
        if full is not None:
            return f"{full}{match.group(2)}"
    return re.sub(r"\s+", "", text)


def short_interface(name: str) -> str:
    """The short form of ``show vstack neighbors``: ``Gig 1/0/19``."""
    canonical = canonical_interface(name)
    match = _NAME_RE.fullmatch(canonical)
    if match and match.group(1) in _SHORT_NAMES:
        return f"{_SHORT_NAMES[match.group(1)]} {match.group(2)}"
    return canonical


def same_interface(left: str, right: str) -> bool:
    """True when both name the same interface (case and spacing ignored for other names)."""
    try:
        return canonical_interface(left).lower() == canonical_interface(right).lower()
    except DomainError:
        return False
