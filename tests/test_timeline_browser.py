"""The timeline picture as a person sees it: rendered by a real browser.

Chromium renders three pictures in one page (one launch, about a second):
the reference pair through a partition (split-brain, heal), the pair under
the manual policy (frozen lane), and three nodes and a witness in a run cut
short so an invariant fails (violation mark, no heal line). For each, every text's rendered box must
lie inside the canvas and touch no other text, no text is smaller than 9 px,
and the elements the picture promises are there.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from browser import measure_svgs, require_browser

from hacore.roles import Policy
from hacore.timefmt import seconds
from sims.result import RunResult
from sims.run import make_simulation
from sims.timeline import natural_key, svg_timeline


def _runs() -> dict[str, RunResult]:
    return {
        "pair": make_simulation("partition-heal", 1).run(),
        "manual": make_simulation("partition-heal", 1, policy=Policy.MANUAL).run(),
        "cut-short": make_simulation(
            "partition-heal", 1, nodes=3, witness=True, duration_us=30_000_000
        ).run(),
    }


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[RunResult, Any]]:
    require_browser()
    runs = _runs()
    found = measure_svgs(
        {k: svg_timeline(r) for k, r in runs.items()}, tmp_path_factory.mktemp("browser")
    )
    return {k: (runs[k], found[k]) for k in runs}


CASES = ["pair", "manual", "cut-short"]


def _overlap(a: dict[str, float], b: dict[str, float], slack: float = 0.5) -> bool:
    return (
        a["x"] + slack < b["x"] + b["w"]
        and b["x"] + slack < a["x"] + a["w"]
        and a["y"] + slack < b["y"] + b["h"]
        and b["y"] + slack < a["y"] + a["h"]
    )


@pytest.mark.parametrize("case", CASES)
def test_every_text_is_inside_the_canvas_legible_and_alone(
    rendered: dict[str, tuple[RunResult, Any]], case: str
) -> None:
    _result, page = rendered[case]
    texts = page["texts"]
    assert len(texts) > 20
    for t in texts:
        assert t["w"] > 0 and t["h"] > 0, t
        assert t["x"] >= -0.5 and t["y"] >= -0.5, t
        assert t["x"] + t["w"] <= page["width"] + 0.5, t
        assert t["y"] + t["h"] <= page["height"] + 0.5, t
        assert t["size"] >= 9, t
    clashes = [
        (a["text"], b["text"]) for a, b in itertools.combinations(texts, 2) if _overlap(a, b)
    ]
    assert clashes == []


@pytest.mark.parametrize("case", CASES)
def test_the_lanes_and_marks_are_there(
    rendered: dict[str, tuple[RunResult, Any]], case: str
) -> None:
    result, page = rendered[case]
    classes = page["classes"]
    texts = page["texts"]
    assert classes.get("span", 0) >= len(result.params.config().nodes)
    assert classes.get("tick", 0) >= 5
    assert classes.get("lane-vip", 0) >= 1
    assert classes.get("lane-writable", 0) >= 1
    kept = sum(1 for w in result.writes if w[3] == "kept")
    assert classes.get("write-kept", 0) == kept > 0
    nodes = [t["text"] for t in sorted(texts, key=lambda t: t["y"]) if t["cls"] == "node"]
    assert nodes == sorted(nodes, key=natural_key)
    assert len(nodes) == result.params.nodes + (1 if result.params.witness else 0)
    marks = {t["text"] for t in texts if t["cls"].startswith("mark")}
    heals = [f for f in result.faults if f[1] == "heal"]
    assert classes.get("heal", 0) == 2 * len(heals)  # the guide line and its label
    for _at, _kind, label in result.faults:
        assert label in marks
    assert any(label.startswith("partition halves: ") for label in marks)


def test_split_brain_band_is_labelled_with_its_duration(
    rendered: dict[str, tuple[RunResult, Any]],
) -> None:
    result, page = rendered["pair"]
    bands = [(s, e) for n, lane, s, e in result.lanes if n == "*" and lane == "split-brain"]
    assert bands and page["classes"].get("split-brain", 0) >= len(bands)
    marks = {t["text"] for t in page["texts"]}
    for start, end in bands:
        assert f"split-brain {seconds(end - start)}" in marks


def test_frozen_lane_under_the_manual_policy(rendered: dict[str, tuple[RunResult, Any]]) -> None:
    result, page = rendered["manual"]
    frozen = [x for x in result.lanes if x[1] == "frozen"]
    assert frozen and page["classes"].get("lane-frozen", 0) == len(frozen)
    assert "frozen" in {t["text"] for t in page["texts"] if t["cls"] == "lane"}


def test_violation_is_marked_with_the_invariant_name(
    rendered: dict[str, tuple[RunResult, Any]],
) -> None:
    result, page = rendered["cut-short"]
    assert not result.ok
    failed = [name for name, ok in result.invariants.items() if not ok]
    marks = {t["text"] for t in page["texts"] if "violation" in t["cls"]}
    for name in failed:
        assert f"violated: {name}" in marks
    assert "heal" not in page["classes"]  # no heal happened: no heal line


def test_docs_png_exists() -> None:
    png = Path(__file__).parent.parent / "docs" / "img" / "timeline-partition-heal.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
