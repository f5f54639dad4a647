"""The SVG timeline's structure and the policy comparison table."""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from realdaemon import require_root_tools

from hacli.main import main
from hacore.roles import Mode, Policy
from hacore.timefmt import seconds
from sims.compare import compare_policies
from sims.report import replay_command, svg_timeline
from sims.run import make_simulation

SVG = "{http://www.w3.org/2000/svg}"


def test_timeline_svg_has_a_row_per_node_roles_epochs_and_partition_shading() -> None:
    result = make_simulation("partition-heal", 1).run()
    root = ET.fromstring(svg_timeline(result))
    assert root.tag == f"{SVG}svg"
    spans = root.findall(f".//{SVG}g[@class='spans']/{SVG}rect")
    assert {s.get("data-node") for s in spans} == {"n1", "n2"}
    roles_by_node = {
        node: {s.get("data-role") for s in spans if s.get("data-node") == node}
        for node in ("n1", "n2")
    }
    assert "active" in roles_by_node["n1"] and "active" in roles_by_node["n2"]  # split-brain
    labels = {t.text for t in root.findall(f".//{SVG}text[@class='node']")}
    assert labels == {"n1", "n2"}
    marks = [t.text for t in root.findall(f".//{SVG}g[@class='marks']/{SVG}text")]
    assert "partition halves: n1 | n2" in marks and "heal" in marks
    assert len(root.findall(f".//{SVG}line[@class='epoch']")) >= 2
    width = float(root.get("width") or 0)
    for rect in spans:
        x, w = float(rect.get("x") or 0), float(rect.get("width") or 0)
        assert 0 <= x and x + w <= width + 0.01


def test_timeline_svg_shades_a_crash(tmp_path: Path) -> None:
    out = tmp_path / "t.svg"
    assert main(["simulate", "active-crash", "--timeline", str(out), "--json"]) == 0
    root = ET.parse(out).getroot()
    roles = {r.get("data-role") for r in root.iter(f"{SVG}rect") if r.get("data-role")}
    assert "down" in roles


def test_compare_policies_runs_one_schedule_under_every_policy_and_mode() -> None:
    rows = compare_policies("partition-heal", 1).rows
    assert {(r["policy"], r["mode"]) for r in rows} == {
        (str(p), str(m)) for p in Policy for m in Mode
    }
    assert all(r["ok"] for r in rows)
    safety = [r for r in rows if r["mode"] == str(Mode.SAFETY_FIRST)]
    assert all(r["split_brain_s"] == 0 for r in safety)
    avail = [r for r in rows if r["mode"] == str(Mode.AVAILABILITY_FIRST)]
    assert all(r["split_brain_s"] > 0 for r in avail)


def test_compare_policies_names_the_winner_and_the_split_brain_verdict() -> None:
    rows = {(r["policy"], r["mode"]): r for r in compare_policies("partition-heal", 1).rows}
    for (policy, mode), row in rows.items():
        single = make_simulation("partition-heal", 1, policy=Policy(policy), mode=Mode(mode)).run()
        actives = [n.name for n in single.nodes_end if n.role == "active"]
        assert row["winner"] == (actives[0] if len(actives) == 1 else None)
    avail = rows[("highest-epoch", "availability-first")]
    assert avail["split_brain"] == f"resolved: {avail['winner']} won (policy)"
    assert rows[("manual", "availability-first")]["split_brain"].endswith("won (operator)")
    assert rows[("vrrp-winner", "safety-first")]["split_brain"] == "none"


def test_compare_policies_rows_match_single_runs_with_the_same_flags(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["partition-heal", "--witness", "--nodes", "3", "--duration", "70s"]
    assert main(["simulate", *argv, "--compare-policies", "--json"]) in (0, 1)
    doc = json.loads(capsys.readouterr().out)
    assert (doc["nodes"], doc["witness"], doc["duration_s"]) == (3, True, 70.0)
    for row in doc["rows"]:
        main(["simulate", *argv, "--policy", row["policy"], "--mode", row["mode"], "--json"])
        single = json.loads(capsys.readouterr().out)
        assert row["sim_s"] == single["sim_seconds"] == 70.0
        for key in ("downtime_s", "split_brain_s", "writes_acked", "writes_lost"):
            assert row[key] == single[key], (row["policy"], row["mode"], key)


def test_compare_policies_writes_one_timeline_and_log_per_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    svg, db = tmp_path / "run.svg", tmp_path / "run.sqlite"
    code = main(
        [
            "simulate",
            "partition-heal",
            "--compare-policies",
            "--timeline",
            str(svg),
            "--log",
            str(db),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    for p in Policy:
        for m in Mode:
            row_svg = tmp_path / f"run-{p}-{m}.svg"
            row_db = tmp_path / f"run-{p}-{m}.sqlite"
            assert ET.parse(row_svg).getroot().tag == f"{SVG}svg"
            assert f"timeline of {p} {m}: {row_svg}" in out
            assert main(["log", "verify", str(row_db)]) == 0
    assert not svg.exists() and not db.exists()


@pytest.mark.parametrize("flag", [["--policy", "manual"], ["--mode", "safety-first"]])
def test_compare_policies_refuses_a_flag_it_cannot_honour(
    flag: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", "partition-heal", "--compare-policies", *flag]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "cannot go with --compare-policies" in captured.err


def test_cli_compare_policies_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "partition-heal", "--compare-policies"]) == 0
    out = capsys.readouterr().out
    assert "downtime s" in out and "quarantined" in out
    assert "winner" in out and "split-brain verdict" in out
    assert out.count("vrrp-winner") == 2


def test_cli_fuzz_json_and_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fuzz", "--examples", "5", "--json", "--seed", "2"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["found"] is False and data["examples"] >= 5
    assert main(["fuzz", "--examples", "0"]) == 2


def test_timeline_html_is_an_html_page_embedding_the_svg(tmp_path: Path) -> None:
    out = tmp_path / "t.html"
    assert main(["simulate", "partition-heal", "--timeline", str(out), "--json"]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "<html" in text and "<body>" in text and text.rstrip().endswith("</html>")
    svg = text[text.index("<svg") : text.index("</svg>") + len("</svg>")]
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.findall(f".//{SVG}g[@class='spans']/{SVG}rect")
    summary = text[: text.index("<svg")]
    result = make_simulation("partition-heal", 1).run()
    for fact in ("partition-heal", "vrrp-winner", "availability-first", "<th>seed</th><td>1<"):
        assert fact in summary, fact
    assert f"downtime {seconds(result.downtime_us)}" in summary
    assert f"split-brain {seconds(result.split_brain_us)}" in summary
    for name in result.invariants:
        assert f"ok {name}" in summary
    assert escape(replay_command(result)) in summary
    events = text[text.index("</svg>") :]
    assert all(escape(what) in events for _t, _n, what in result.timeline)


def _bad_paths(tmp_path: Path) -> dict[str, str]:
    a_file = tmp_path / "plain"
    a_file.write_text("x")
    (tmp_path / "adir.svg").mkdir()
    (tmp_path / "adir.db").mkdir()
    return {
        "missing-dir": "/nonexistent/dir/x",
        "parent-is-a-file": str(a_file / "x"),
        "is-a-directory": str(tmp_path / "adir"),
    }


@pytest.mark.parametrize("case", ["missing-dir", "parent-is-a-file", "is-a-directory"])
def test_cli_timeline_to_an_unwritable_place_exits_two_before_running(
    tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _bad_paths(tmp_path)[case] + ".svg"
    assert main(["simulate", "partition-heal", "--timeline", path]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # refused before the run
    assert f"--timeline {path}: cannot write it" in captured.err
    assert "Traceback" not in captured.err


@pytest.mark.parametrize("name", ["t.png", "t.svgz", "t", "t.htm"])
def test_cli_timeline_with_another_extension_exits_two(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / name
    assert main(["simulate", "partition-heal", "--timeline", str(path)]) == 2
    assert "must end in .svg or .html" in capsys.readouterr().err
    assert not path.exists()


@pytest.mark.parametrize("case", ["missing-dir", "parent-is-a-file", "is-a-directory"])
def test_cli_log_to_an_unwritable_place_exits_two_before_running(
    tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _bad_paths(tmp_path)[case] + ".db"
    assert main(["simulate", "partition-heal", "--log", path, "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"--log {path}: cannot write it" in captured.err
    assert "Traceback" not in captured.err


def test_cli_log_into_a_file_that_is_not_a_store_exits_two(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.db"
    path.write_text("not a database\n" * 100)
    assert main(["simulate", "partition-heal", "--log", str(path), "--json"]) == 2
    assert f"--log {path}: cannot write it" in capsys.readouterr().err


def test_cli_timeline_into_a_read_only_directory_exits_two(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    locked = tmp_path / "ro"
    locked.mkdir(mode=0o500)
    immutable = os.geteuid() == 0  # root ignores modes: make the directory immutable
    if immutable:
        require_root_tools("chattr")
        subprocess.run(["chattr", "+i", str(locked)], check=True)  # noqa: S603
    try:
        assert main(["simulate", "partition-heal", "--timeline", str(locked / "t.svg")]) == 2
        assert "is not writable" in capsys.readouterr().err
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(locked)], check=True)  # noqa: S603


def test_timeline_svg_axis_has_regular_labelled_ticks_in_seconds() -> None:
    result = make_simulation("partition-heal", 1).run()
    root = ET.fromstring(svg_timeline(result))
    labels = [t.text or "" for t in root.findall(f".//{SVG}text[@class='tick']")]
    assert all(re.fullmatch(r"\d+ s", label) for label in labels), labels
    values = [int(label.removesuffix(" s")) for label in labels]
    assert values[0] == 0 and len(values) >= 5
    steps = {b - a for a, b in itertools.pairwise(values)}
    assert len(steps) == 1  # regular
    assert values[-1] <= result.sim_us / 1e6 < values[-1] + steps.pop()


@pytest.mark.parametrize(
    ("end_us", "step_s"), [(126_129_370, 15), (30_000_000, 5), (9_000_000, 1), (600_000_000, 60)]
)
def test_timeline_tick_step_is_round(end_us: int, step_s: int) -> None:
    from sims.timeline import tick_step

    assert tick_step(end_us) == step_s * 1_000_000
