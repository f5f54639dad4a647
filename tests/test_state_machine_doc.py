"""docs/state-machine.md is exactly what the generator produces from the table now."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from hacore import actions, guards
from hacore import inputs as inp
from hacore.roles import Role
from hacore.table import TABLE, Rule

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "gen_state_machine_doc.py"


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_state_machine_doc", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


GEN = load_generator()


def test_checked_in_state_machine_doc_matches_the_generator() -> None:
    doc = ROOT / "docs" / "state-machine.md"
    assert doc.read_text(encoding="utf-8") == GEN.render(), (
        "docs/state-machine.md is stale: run scripts/gen_state_machine_doc.py"
    )


def test_check_mode_fails_on_a_stale_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = tmp_path / "state-machine.md"
    stale.write_text("old\n", encoding="utf-8")
    monkeypatch.setattr(GEN, "DOC", stale)
    assert GEN.main(["--check"]) == 1
    assert GEN.main([]) == 0
    assert GEN.main(["--check"]) == 0


def test_the_doc_has_one_mermaid_diagram_per_role_and_an_overview() -> None:
    text = GEN.render()
    assert text.count("```mermaid") == len(Role) + 1
    assert "stateDiagram-v2" in text


def test_the_doc_changes_when_the_table_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    before = GEN.render()
    patched = {role: dict(cells) for role, cells in TABLE.items()}
    patched[Role.FAULT][inp.OperatorCommand] = (
        Rule(guards.always, Role.STANDBY, actions.leave_fault),
    )
    monkeypatch.setattr(GEN, "TABLE", patched)
    assert GEN.render() != before


def test_every_role_change_in_the_table_is_an_edge_of_the_overview() -> None:
    text = GEN.render()
    overview = text.split("## Every rule")[0]
    for role, cells in TABLE.items():
        for rules in cells.values():
            for rule in rules:
                if rule.target is not None and rule.target is not role:
                    assert f"{role} --> {rule.target}:" in overview
