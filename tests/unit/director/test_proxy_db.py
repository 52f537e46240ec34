"""The SMI Proxy database on flash (guide, chapter 4, "SMI Proxy Database"): written to
flash:/vstack/smi_pnp_proxy_db.txt after every change, read back at start, never cleared."""

from __future__ import annotations

from pathlib import Path

from smartinstall.director.proxy_db import ProxyDbFile
from smartinstall.domain.proxy import ClientUdi, EntryState

UDI = ClientUdi("WS-C3750E-48TD", "V01", "FDO1152V10R")


async def test_the_database_is_written_and_read_back(tmp_path: Path) -> None:
    db = ProxyDbFile(tmp_path / "flash")
    assert await db.load() == 0
    db.add("001e.f76d.af80", UDI)
    db.set_state("001e.f76d.af80", EntryState.HELLO)
    db.add("0016.4779.b780", ClientUdi("WS-C2960X-48FPS-L", "", "FOC56220001"))
    await db.flush()
    path = tmp_path / "flash" / "vstack" / "smi_pnp_proxy_db.txt"
    assert "001e.f76d.af80 PID:WS-C3750E-48TD,VID:V01,SN:FDO1152V10R HELLO" in path.read_text()
    assert not list(path.parent.glob(".*tmp"))  # written through a renamed temporary file

    again = ProxyDbFile(tmp_path / "flash")
    assert await again.load() == 2
    assert [e.mac for e in again.entries()] == ["001e.f76d.af80", "0016.4779.b780"]
    assert again.database.by_mac("001e.f76d.af80").state is EntryState.HELLO  # type: ignore[union-attr]
    # "If the entry exists, SMI Proxy takes no action"
    entry, added = again.add("001e.f76d.af80", ClientUdi("OTHER", "", "X1"))
    assert not added and entry.udi == UDI


async def test_a_damaged_file_keeps_its_good_lines(tmp_path: Path) -> None:
    path = tmp_path / "flash" / "vstack" / "smi_pnp_proxy_db.txt"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\xff\xfe junk\n001e.f76d.af80 PID:A,VID:,SN:B BACKOFF\n")
    db = ProxyDbFile(tmp_path / "flash")
    assert await db.load() == 1
