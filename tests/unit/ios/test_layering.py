"""`smartinstall.ios` (the IOS-style command engine and its command sets) knows nothing of the
layers above it: no module under src/smartinstall/ios imports the director, the services, the
store, the emulated switch or the lab. What those layers must give a command set (the
director's `show vstack config` renderer, the owner of the settings) is injected."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import smartinstall.ios
from tests.source import parse_source

IOS = Path(smartinstall.ios.__file__).resolve().parent
FORBIDDEN = (
    "smartinstall.director",
    "smartinstall.services",
    "smartinstall.store",
    "smartinstall.switch",
    "smartinstall.lab",
)


def _package_of(path: Path) -> str:
    """The package against which a module's relative imports resolve (its own package, for
    an `__init__.py` too)."""
    return ".".join(path.relative_to(IOS.parent.parent).parts[:-1])


def imported_names(source: str, package: str) -> list[tuple[int, str]]:
    """Every module a source imports, as (line, dotted name): `import a.b`, `from a import b`
    (as `a` and `a.b`), relative imports resolved against `package`, and
    `importlib.import_module("a.b")` / `__import__("a.b")` with a literal name."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(parse_source(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parents = package.split(".")
                anchor = parents[: len(parents) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call) and node.args:
            function = node.func
            name = function.attr if isinstance(function, ast.Attribute) else None
            if isinstance(function, ast.Name):
                name = function.id
            first = node.args[0]
            if (
                name in ("import_module", "__import__")
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                found.append((node.lineno, first.value))
    return found


def forbidden(name: str) -> bool:
    return any(name == layer or name.startswith(layer + ".") for layer in FORBIDDEN)


def violations(source: str, package: str) -> list[tuple[int, str]]:
    return [(line, name) for line, name in imported_names(source, package) if forbidden(name)]


def test_no_module_of_ios_imports_a_layer_above_it() -> None:
    modules = sorted(IOS.rglob("*.py"))
    assert IOS / "director_commands.py" in modules
    assert IOS / "director_config" / "commands.py" in modules
    found = {
        str(path.relative_to(IOS)): bad
        for path in modules
        if (bad := violations(path.read_text(encoding="utf-8"), _package_of(path)))
    }
    assert found == {}


@pytest.mark.parametrize(
    "source",
    [
        "from smartinstall.director.views import show_vstack_config",
        "import smartinstall.services.cli_ssh",
        "from smartinstall import store",
        "from smartinstall import switch as sw",
        "import smartinstall.lab.runner as runner",
        "from ...director import views",
        "from ... import services",
        "import importlib\nimportlib.import_module('smartinstall.store.database')",
        "def f():\n    from smartinstall.director.terminals import SOCKET_NAME\n",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import smartinstall.director\n",
    ],
)
def test_the_check_finds_an_upward_import(source: str) -> None:
    assert violations(source, "smartinstall.ios.director_config") != []


@pytest.mark.parametrize(
    "source",
    [
        "from smartinstall.domain.settings import DirectorSettings",
        "from smartinstall.ios.engine import Engine",
        "from . import base",
        "from .. import engine",
        "import smartinstall.directory_helpers",  # a name that only starts like a layer
    ],
)
def test_the_check_lets_the_lower_layers_through(source: str) -> None:
    assert violations(source, "smartinstall.ios.director_config") == []


def test_importing_the_director_commands_loads_no_layer_above() -> None:
    # the static check above, at run time: what the import really loads
    code = (
        "import sys, smartinstall.ios.director_commands, smartinstall.ios.editor\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert "smartinstall.ios.director_config.commands" in loaded
    assert [name for name in loaded if forbidden(name)] == []
