"""The core imports nothing outside the standard library: hacore alone has no dependencies."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parent.parent / "hacore"
MODULES = sorted(CORE.rglob("*.py"))


def foreign_imports(source: str) -> list[str]:
    """Top-level names imported by ``source`` that are neither stdlib nor hacore."""
    allowed = set(sys.stdlib_module_names) | {"hacore", "__future__"}
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level > 0:  # relative: inside hacore
                continue
            names = [node.module or ""]
        for name in names:
            top = name.split(".")[0]
            if top not in allowed:
                found.append(name)
    return found


def test_the_core_has_modules_to_check() -> None:
    assert len(MODULES) >= 10


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_core_module_imports_only_the_standard_library(path: Path) -> None:
    assert foreign_imports(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "source",
    [
        "import attrs",
        "from transitions import Machine",
        "import hypothesis.strategies as st",
        "def f():\n    import adapters.cli\n",
        "try:\n    import yaml\nexcept ImportError:\n    pass\n",
    ],
)
def test_the_checker_catches_foreign_imports(source: str) -> None:
    assert foreign_imports(source) != []


def test_the_checker_accepts_stdlib_and_core_imports() -> None:
    source = "import json\nfrom hacore import codec\nfrom . import x\nimport os.path\n"
    assert foreign_imports(source) == []
