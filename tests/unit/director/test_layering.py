"""The director's state has one owner (DESIGN, "The director's core"): only the core's parts
change it; views, commands, services and the lab read it. Checked on the source itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from smartinstall.director.state import DirectorState
from tests.source import parse_source

SRC = Path(__file__).resolve().parents[3] / "src" / "smartinstall"
OWNER_MODULES = (
    "state", "state_tables", "state_devices", "state_records",
    "base", "backups", "tracking", "provisioning", "holds", "recovery", "core",
)  # fmt: skip
OWNER = {f"director/{name}.py" for name in OWNER_MODULES}
# the daemon loads the state at start and hands its changes to the store writer
SET_UP = {"director/daemon.py": {"restore", "set_sink"}}
READS = {
    "device_by_mac", "device_by_number", "device_by_ip", "reporters_of", "devices_with_health",
    "hops_of", "devices", "device_records", "device_record", "stale_devices", "downloads",
    "unfinished_download_macs", "download", "latest_download", "latest_backup", "backups",
    "pending_backups", "has_pending_backup", "replacements", "replacement_of",
    "replacement_in_progress", "get_state",
    "watch", "next_change",  # a reader hears of changes; it changes nothing
}  # fmt: skip
PUBLIC = {name for name in dir(DirectorState) if not name.startswith("_")}
CHANGES = PUBLIC - READS


def _receiver(node: ast.expr) -> str:
    return ast.unparse(node)


def state_changes(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, call) of every changing method called on something named ``…state``."""
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in CHANGES
            and _receiver(node.func.value).split(".")[-1] == "state"
        ):
            found.append((node.lineno, f"{_receiver(node.func.value)}.{node.func.attr}"))
    return found


def test_the_changing_methods_are_known() -> None:
    # every public method is either a read or a change; a new method must be sorted here
    assert "upsert_device" in CHANGES and "add_download" in CHANGES and "set_sink" in CHANGES
    assert not READS & CHANGES
    assert READS <= PUBLIC
    assert all(callable(getattr(DirectorState, name)) for name in PUBLIC)


@pytest.mark.parametrize(
    "path", sorted(p.relative_to(SRC).as_posix() for p in SRC.rglob("*.py")), ids=str
)
def test_only_the_core_changes_the_state(path: str) -> None:
    if path in OWNER:
        return
    tree = parse_source((SRC / path).read_text(), path)
    allowed = SET_UP.get(path, set())
    wrong = [
        (line, call) for line, call in state_changes(tree) if call.split(".")[-1] not in allowed
    ]
    assert wrong == [], f"{path} changes the director state outside its owner: {wrong}"


def test_the_check_finds_a_change_outside_the_owner() -> None:
    sample = parse_source(
        "def f(host):\n"
        "    host.state.clear_all()\n"
        "    self.host.state.devices()\n"
        "    director.clear_downloads()\n"
    )
    assert state_changes(sample) == [(2, "host.state.clear_all")]
