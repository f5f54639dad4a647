"""The project's process rules, held by a test so that no change slips past them.

* never a shell: no ``shell=True``, no ``os.system`` / ``os.popen``;
* never kill by name (the pgrep-style killers: the names are spelled in
  pieces below, so that this file does not trip the same check in the
  project's hooks);
* every child process starts in its own session (``start_new_session=True``),
  so that it can be stopped by PID with its whole group and never takes a
  signal meant for the test runner.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TREES = ("hacore", "adapters", "sims", "tests", "benchmarks", "scripts")
THIS = Path(__file__).resolve()


def python_files() -> list[Path]:
    return sorted(p for tree in TREES for p in (ROOT / tree).rglob("*.py") if p != THIS)


_KILL_BY_NAME = ("p" + "kill", "kill" + "all")
FORBIDDEN = {
    "shell=True": re.compile(r"shell\s*=\s*True"),
    "os.system": re.compile(r"\bos\.(system|popen)\("),
    "kill by name": re.compile(r"\b(" + "|".join(_KILL_BY_NAME) + r")\b"),
}


@pytest.mark.parametrize("rule", sorted(FORBIDDEN))
def test_no_python_file_breaks_the_rule(rule: str) -> None:
    pattern = FORBIDDEN[rule]
    hits = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in python_files()
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not hits, f"{rule}: {hits}"


def _popen_calls_without_session(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name != "Popen":
            continue
        keywords = {k.arg: k.value for k in node.keywords}
        value = keywords.get("start_new_session")
        if not (isinstance(value, ast.Constant) and value.value is True):
            lines.append(node.lineno)
    return lines


def test_every_popen_starts_a_new_session() -> None:
    missing = [
        f"{p.relative_to(ROOT)}:{line}"
        for p in python_files()
        for line in _popen_calls_without_session(ast.parse(p.read_text(encoding="utf-8")))
    ]
    assert not missing, f"Popen without start_new_session=True: {missing}"


def test_the_checks_catch_what_they_look_for() -> None:
    bad = "import subprocess\nsubprocess.Popen(['x'])\nsubprocess.run('x', shell=True)\n"
    assert _popen_calls_without_session(ast.parse(bad)) == [2]
    assert FORBIDDEN["shell=True"].search(bad)
    assert FORBIDDEN["kill by name"].search(f"argv = ['{_KILL_BY_NAME[0]}', 'x']")
    assert not FORBIDDEN["kill by name"].search("skill = 1")
