"""docs/runtime.md's port map is generated from the dispatcher and is current."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "gen_runtime_doc.py"


def _script() -> Any:
    spec = importlib.util.spec_from_file_location("gen_runtime_doc", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_port_map_in_docs_runtime_is_current() -> None:
    gen = _script()
    doc = (ROOT / "docs" / "runtime.md").read_text(encoding="utf-8")
    assert gen.render(doc) == doc, "docs/runtime.md is stale: run scripts/gen_runtime_doc.py"


def test_the_port_map_names_every_effect_and_every_step() -> None:
    gen = _script()
    text = gen.generate()
    for name in ("Announce", "FenceWrites", "StopServices", "ProbeVrrp", "StartTimer"):
        assert f"| `{name}` |" in text
    assert "| step `quarantine_divergent` | `galera.quarantine`" in text
