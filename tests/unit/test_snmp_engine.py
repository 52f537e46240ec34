"""The SNMP agent's engine: its snmpEngineID and snmpEngineBoots (RFC 3414, 2.2.2) kept in the
director's data directory, not in the machine's temporary directory that every process
shares (docs/snmp.md)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from smartinstall.domain.snmp import SnmpSettings
from smartinstall.services.snmp import BOOTS_FILE, MAX_BOOTS, DirectorMib, _configure, engine_id


def _boots(agent_dir: Path | None, eid: bytes) -> tuple[int, bytes]:
    agent = _configure(eid, SnmpSettings(), DirectorMib(lambda: None), agent_dir)
    builder = agent.snmp_engine.get_mib_builder()
    (boots,) = builder.import_symbols("__SNMP-FRAMEWORK-MIB", "snmpEngineBoots")
    (engine,) = builder.import_symbols("__SNMP-FRAMEWORK-MIB", "snmpEngineID")
    return int(boots.syntax), bytes(engine.syntax)


def test_boots_count_up_across_engines_in_the_data_directory(tmp_path: Path) -> None:
    eid = engine_id("127.3.4.5", 16161)
    state = tmp_path / "snmp"
    assert _boots(state, eid) == (1, eid)
    assert _boots(state, eid) == (2, eid)  # a restart or a reconfiguration: never back
    assert (state / BOOTS_FILE).read_text() == "2\n"
    # pysnmp's own folder for this engine ID is never made
    assert not (Path(tempfile.gettempdir()) / "__pysnmp" / ("0x" + eid.hex())).exists()


def test_a_damaged_or_exhausted_count_goes_on_safely(tmp_path: Path) -> None:
    eid = engine_id("127.3.4.6", 16161)
    (tmp_path / BOOTS_FILE).write_text("not a number\n")
    assert _boots(tmp_path, eid)[0] == 1
    (tmp_path / BOOTS_FILE).write_text(f"{MAX_BOOTS}\n")
    assert _boots(tmp_path, eid)[0] == MAX_BOOTS
    assert _boots(None, eid)[0] == 1  # no directory: counted from 1, nothing written
