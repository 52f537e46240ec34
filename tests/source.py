"""Reading the project's own source as syntax trees, for the tests that check its layering.

CPython 3.11 can leave ``ast.parse`` failing with ``SystemError: AST constructor recursion
depth mismatch`` for the rest of a process once a RecursionError happened inside the AST
machinery (python/cpython#106905); the parse then runs again in a fresh interpreter.
"""

from __future__ import annotations

import ast
import pickle
import subprocess
import sys
from pathlib import Path

_FRESH = (
    "import ast, pickle, sys; "
    "sys.stdout.buffer.write(pickle.dumps(ast.parse(sys.stdin.read(), sys.argv[1])))"
)


def parse_source(text: str, name: str = "<source>") -> ast.Module:
    try:
        return ast.parse(text, name)
    except SystemError:
        done = subprocess.run(
            [sys.executable, "-c", _FRESH, name],
            input=text.encode(),
            capture_output=True,
            check=True,
            timeout=60,
        )
        tree = pickle.loads(done.stdout)
        assert isinstance(tree, ast.Module)
        return tree


def parse_file(path: Path, name: str | None = None) -> ast.Module:
    return parse_source(path.read_text(), name or str(path))
