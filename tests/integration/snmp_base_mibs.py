"""Stand-ins for the IETF base modules SNMPv2-SMI, SNMPv2-TC and SNMPv2-CONF, for net-snmp
hosts without them (Debian keeps the IETF MIB texts in non-free snmp-mibs-downloader).

They define only what CISCO-SMART-INSTALL-MIB and its Cisco imports need from the base modules:
the OID registrations down to ``enterprises`` and the textual conventions the MIB uses, with
their standard syntaxes and display hints. They are written to a temporary folder put before
``../shared/spec/mibs`` on the MIB path; when the real modules are installed, those are used.
"""

from __future__ import annotations

from pathlib import Path

SNMPV2_SMI = """\
SNMPv2-SMI DEFINITIONS ::= BEGIN
org            OBJECT IDENTIFIER ::= { iso 3 }
dod            OBJECT IDENTIFIER ::= { org 6 }
internet       OBJECT IDENTIFIER ::= { dod 1 }
directory      OBJECT IDENTIFIER ::= { internet 1 }
mgmt           OBJECT IDENTIFIER ::= { internet 2 }
mib-2          OBJECT IDENTIFIER ::= { mgmt 1 }
transmission   OBJECT IDENTIFIER ::= { mib-2 10 }
experimental   OBJECT IDENTIFIER ::= { internet 3 }
private        OBJECT IDENTIFIER ::= { internet 4 }
enterprises    OBJECT IDENTIFIER ::= { private 1 }
security       OBJECT IDENTIFIER ::= { internet 5 }
snmpV2         OBJECT IDENTIFIER ::= { internet 6 }
snmpDomains    OBJECT IDENTIFIER ::= { snmpV2 1 }
snmpProxys     OBJECT IDENTIFIER ::= { snmpV2 2 }
snmpModules    OBJECT IDENTIFIER ::= { snmpV2 3 }
END
"""

SNMPV2_TC = """\
SNMPv2-TC DEFINITIONS ::= BEGIN
IMPORTS TimeTicks FROM SNMPv2-SMI;
DisplayString ::= TEXTUAL-CONVENTION
    DISPLAY-HINT "255a"
    STATUS       current
    DESCRIPTION  "text"
    SYNTAX       OCTET STRING (SIZE (0..255))
MacAddress ::= TEXTUAL-CONVENTION
    DISPLAY-HINT "1x:"
    STATUS       current
    DESCRIPTION  "MAC"
    SYNTAX       OCTET STRING (SIZE (6))
TruthValue ::= TEXTUAL-CONVENTION
    STATUS       current
    DESCRIPTION  "bool"
    SYNTAX       INTEGER { true(1), false(2) }
RowStatus ::= TEXTUAL-CONVENTION
    STATUS       current
    DESCRIPTION  "row"
    SYNTAX       INTEGER { active(1), notInService(2), notReady(3), createAndGo(4), createAndWait(5), destroy(6) }
DateAndTime ::= TEXTUAL-CONVENTION
    DISPLAY-HINT "2d-1d-1d,1d:1d:1d.1d,1a1d:1d"
    STATUS       current
    DESCRIPTION  "time"
    SYNTAX       OCTET STRING (SIZE (8 | 11))
StorageType ::= TEXTUAL-CONVENTION
    STATUS       current
    DESCRIPTION  "storage"
    SYNTAX       INTEGER { other(1), volatile(2), nonVolatile(3), permanent(4), readOnly(5) }
END
"""

SNMPV2_CONF = """\
SNMPv2-CONF DEFINITIONS ::= BEGIN
END
"""


def write_base_mibs(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (
        ("SNMPv2-SMI", SNMPV2_SMI),
        ("SNMPv2-TC", SNMPV2_TC),
        ("SNMPv2-CONF", SNMPV2_CONF),
    ):
        (folder / f"{name}.txt").write_text(text)
    return folder
