"""Dependencies point down (docs/architecture.md, "Layers"): checked on the source itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.source import parse_source

SRC = Path(__file__).resolve().parents[2] / "src" / "smartinstall"
SHARED = {"hostaddr", "crashpoints"}  # small top-level helpers any layer may use
RULES: dict[str, set[str]] = {
    "domain": {"domain"},
    "wire": {"wire", "domain"},
    "store": {"store", "domain"},
    "services": {"services", "wire", "domain", "store", "ios"},
    "switch": {"switch", "wire", "domain", "ios", "services"},
}
CORE = {
    "state", "state_tables", "state_devices", "state_records", "base", "backups", "tracking",
    "provisioning", "holds", "recovery", "core", "facts", "tasks", "monitor", "internals",
}  # fmt: skip


def allowed_for(path: Path) -> set[str] | None:
    parts = path.relative_to(SRC).parts
    if len(parts) < 2:
        return None
    if parts[0] == "director" and len(parts) == 2 and path.stem in CORE:
        return {"director", "domain", "store"}
    return RULES.get(parts[0])


def imported_layers(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            if name.startswith("smartinstall."):
                found.append((node.lineno, name.split(".")[1]))
    return found


@pytest.mark.parametrize(
    "path", sorted(p.relative_to(SRC).as_posix() for p in SRC.rglob("*.py")), ids=str
)
def test_each_layer_imports_only_what_is_below_it(path: str) -> None:
    allowed = allowed_for(SRC / path)
    if allowed is None:
        return
    tree = parse_source((SRC / path).read_text(), path)
    wrong = [(line, layer) for line, layer in imported_layers(tree)
             if layer not in allowed | SHARED]  # fmt: skip
    assert wrong == [], f"{path} imports from layers above it: {wrong}"


def test_the_check_sees_an_upward_import() -> None:
    tree = parse_source(
        "from smartinstall.director.core import Director\nimport smartinstall.wire.smi\n"
    )
    assert imported_layers(tree) == [(1, "director"), (2, "wire")]
    assert "director" not in (allowed_for(SRC / "domain" / "devices.py") or set())


def test_a_broken_parser_is_replaced_by_a_fresh_interpreter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*_args: object, **_kwargs: object) -> ast.Module:
        raise SystemError("AST constructor recursion depth mismatch (before=111, after=162)")

    monkeypatch.setattr(ast, "parse", broken)
    tree = parse_source("from smartinstall.domain import values\n", "x.py")
    assert imported_layers(tree) == [(1, "domain")]
