"""SMI Proxy's pure parts (guide, chapter 4 "Configuring SMI Proxy": "SMI Proxy and Tailored
Configuration Files", "SMI Proxy Database"): the UDI read from a client's ``show version``, the
proxy database and its file."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartinstall.domain.errors import DomainError
from smartinstall.domain.proxy import (
    DB_HEADER,
    ClientUdi,
    EntryState,
    PnpServerAddress,
    PnpTransport,
    ProxyDatabase,
    ProxySettings,
    parse_proxy_db,
    parse_show_version,
    render_proxy_db,
)

# a Catalyst 3750-X's show version (its tail), as the reverse telnet reads it
SHOW_VERSION = """\
Cisco IOS Software, C3750E Software (C3750E-UNIVERSALK9-M), Version 12.2(55)SE, RELEASE SOFTWARE
ROM: Bootstrap program is C3750E boot loader
Switch uptime is 2 minutes

Base ethernet MAC Address       : 00:1E:F7:6D:AF:80
Motherboard assembly number     : 73-11473-05
Model revision number           : A0
Model number                    : WS-C3750X-24
System serial number            : FDO1613R2TA
Top Assembly Part Number        : 800-31329-03
Version ID                      : V02
"""


def test_the_udi_comes_from_show_version() -> None:
    """ "to acquire the PID, VID, and SN of each client, SMI Proxy follows the reverse telnet
    mechanism"; the UDI is the one of the guide's debug example."""
    udi = parse_show_version(SHOW_VERSION)
    assert udi == ClientUdi("WS-C3750X-24", "V02", "FDO1613R2TA")
    assert str(udi) == "PID:WS-C3750X-24,VID:V02,SN:FDO1613R2TA"


def test_a_switch_without_version_id_has_an_empty_vid() -> None:
    text = "Model number : WS-C2960X-48FPS-L\nSystem serial number : FOC0050E0000A\n"
    assert str(parse_show_version(text)) == "PID:WS-C2960X-48FPS-L,VID:,SN:FOC0050E0000A"


@pytest.mark.parametrize(
    "text",
    ["", "Model number : WS-C2960\n", "System serial number : FOC1\n", "Model number : a b\n"],
)
def test_show_version_without_pid_or_serial_gives_no_udi(text: str) -> None:
    assert parse_show_version(text) is None


@given(st.text(max_size=2000))
def test_show_version_parsing_never_raises(text: str) -> None:
    parse_show_version(text)


def test_the_udi_round_trips_and_refuses_nonsense() -> None:
    udi = ClientUdi.parse("PID:WS-C3750E-48TD,VID:V01,SN:FDO1152V10R")
    assert udi == ClientUdi("WS-C3750E-48TD", "V01", "FDO1152V10R")
    for bad in ("PID:,VID:,SN:X", "PID:A,VID:B", "PID:A B,VID:,SN:C", "x" * 300):
        with pytest.raises(DomainError):
            ClientUdi.parse(bad)


def test_an_entry_is_added_once_and_never_removed() -> None:
    """ "Before creating the entry, SMI Proxy searches for the entry in the database. If the
    entry is missing, SMI Proxy adds it ... If the entry exists, SMI Proxy takes no action.\""""
    db = ProxyDatabase()
    udi = ClientUdi("WS-C3750E-48TD", "V01", "FDO1152V10R")
    entry, added = db.add("001e.f76d.af80", udi)
    assert added and entry.state is EntryState.NO_STATE
    again, added = db.add("00:1E:F7:6D:AF:80", ClientUdi("OTHER", "", "X1"))
    assert not added and again.udi == udi
    assert db.set_state("001e.f76d.af80", EntryState.HELLO)
    assert not db.set_state("001e.f76d.af80", EntryState.HELLO)
    assert db.by_udi(str(udi)) is not None and len(db) == 1


def test_the_database_file_round_trips() -> None:
    """ "This file is created locally under flash:/vstack ... with the name
    smi_pnp_proxy_db.txt ... the device retrieves the database from the file.\""""
    db = ProxyDatabase()
    db.add("001e.f76d.af80", ClientUdi("WS-C3750E-48TD", "V01", "FDO1152V10R"))
    db.add("0050.56e0.0002", ClientUdi("WS-C2960X-48FPS-L", "", "FOC0050E0002"))
    db.set_state("0050.56e0.0002", EntryState.BACKOFF)
    text = render_proxy_db(db)
    assert text.splitlines() == [
        DB_HEADER,
        "001e.f76d.af80 PID:WS-C3750E-48TD,VID:V01,SN:FDO1152V10R NO STATE",
        "0050.56e0.0002 PID:WS-C2960X-48FPS-L,VID:,SN:FOC0050E0002 BACKOFF",
    ]
    back, skipped = parse_proxy_db(text)
    assert skipped == [] and back.entries == db.entries


def test_bad_lines_of_the_file_are_skipped() -> None:
    text = "001e.f76d.af80 PID:A,VID:,SN:B HELLO\nnonsense\n0016.4779.b780 PID:C,VID:,SN:D ODD\n"
    db, skipped = parse_proxy_db(text)
    assert list(db.entries) == ["001e.f76d.af80"]
    assert len(skipped) == 2 and skipped[0].startswith("line 2")


@given(st.text(max_size=3000))
def test_database_parsing_never_raises(text: str) -> None:
    parse_proxy_db(text)


def test_proxy_and_profile_lines() -> None:
    """The running-config lines of the guide's examples; pnp-zero-touch is the default."""
    assert ProxySettings(ip="4.1.1.1").render(1) == "vstack proxy ip-address 4.1.1.1 startup-vlan 1"
    assert (
        ProxySettings(interface="vlan1", profile="branch").render(None)
        == "vstack proxy interface vlan1 pnp-profile branch"
    )
    server = PnpServerAddress(PnpTransport.HTTPS, "10.1.1.1", 443, "flash:pnp-ca.pem")
    assert server.render() == " transport https ipv4 10.1.1.1 port 443 remotecert flash:pnp-ca.pem"
    with pytest.raises(DomainError):
        PnpServerAddress(PnpTransport.HTTP, "10.1.1.1", 80, "flash:ca.pem")
