"""`hacore simulate --json` carries what the text shows, and docs/simulator-json.md
describes exactly the keys it prints."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from hacli.main import main

DOC = Path(__file__).parent.parent / "docs" / "simulator-json.md"
MAPS = ("invariants", "invariant_messages")  # objects keyed by invariant name
TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (float, int),
    "bool": (bool,),
    "str": (str,),
    "list": (list,),
    "float or null": (float, int, type(None)),
}


def documented() -> dict[str, str]:
    rows = re.findall(r"^\| `([^`]+)` \| ([^|]+?) \|", DOC.read_text(encoding="utf-8"), re.M)
    return dict(rows)


def flatten(obj: dict[str, Any], prefix: str = "") -> dict[str, list[Any]]:
    """Dotted keys to their values; list-of-object keys as ``a[].b``, maps as ``a{}``."""
    out: dict[str, list[Any]] = {}
    for key, value in obj.items():
        name = prefix + key
        if not prefix and key in MAPS:
            out.setdefault(name + "{}", []).extend(value.values())
        elif isinstance(value, dict):
            for k, v in flatten(value, name + ".").items():
                out.setdefault(k, []).extend(v)
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for item in value:
                for k, v in flatten(item, name + "[].").items():
                    out.setdefault(k, []).extend(v)
        else:
            out.setdefault(name, []).append(value)
    return out


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main(["simulate", *argv, "--json"])
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return code, data


RUNS = [
    ("partition-heal",),
    ("active-crash", "--nodes", "3", "--witness"),
    ("partition-heal", "--duration", "55s"),  # cut short: an invariant fails
]


@pytest.mark.parametrize("argv", RUNS, ids=lambda a: " ".join(a))
def test_every_printed_key_is_documented_with_its_type_and_every_documented_key_printed(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    _code, data = run_json(capsys, *argv)
    doc = documented()
    printed = flatten(data)
    assert set(printed) == set(doc), set(printed) ^ set(doc)
    for key, values in printed.items():
        allowed = TYPES[doc[key]]
        for value in values:
            assert isinstance(value, allowed) and not (
                isinstance(value, bool) and bool not in allowed
            ), (key, value)


def test_json_says_what_the_text_says(capsys: pytest.CaptureFixture[str]) -> None:
    code_text = main(["simulate", "partition-heal", "--duration", "55s"])
    text = capsys.readouterr().out
    code_json, data = run_json(capsys, "partition-heal", "--duration", "55s")
    assert code_text == code_json == 1 and data["ok"] is False
    for line in data["violations"]:
        assert line in text
    for name, ok in data["invariants"].items():
        assert f"{'ok  ' if ok else 'FAIL'}  {name}" in text
        assert bool(data["invariant_messages"][name]) is (not ok)
    assert f"VIP held by {', '.join(data['vip_holders'])}" in text
    for n in data["final"]:
        assert f"{n['name']} {n['epoch']}" in text.split("epochs: ", 1)[1]
    for row in data["status"]["nodes"]:
        assert re.search(rf"\| {row['name']} +\| {row['role']} +\| {row['status']} ", text)
    shown = [
        line.split(None, 3) for line in text.splitlines() if re.match(r" +\d+\.\d{3} s  ", line)
    ]
    events = {(f"{e['at_s']:.3f}", e["node"], e["what"]) for e in data["timeline"]}
    assert shown and all((at, node, what) in events for at, _s, node, what in shown)
    assert f"downtime {data['downtime_s']:.3f} s" in text
    assert f"split-brain {data['split_brain_s']:.3f} s" in text
    assert f"{data['writes_acked']} acknowledged, {data['writes_lost']} lost" in text
    assert data["replay"] in text


def test_json_final_roles_match_the_run(capsys: pytest.CaptureFixture[str]) -> None:
    _code, data = run_json(capsys, "active-crash")
    roles = {n["name"]: n["role"] for n in data["final"]}
    assert sorted(roles.values()) == ["active", "standby"]
    active = next(n for n in data["final"] if n["role"] == "active")
    assert data["vip_holders"] == [active["name"]] and active["writable"]
    kinds = [f["kind"] for f in data["faults"]]
    assert kinds == ["crash", "restart"]


def test_compare_policies_json_has_the_documented_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "partition-heal", "--compare-policies", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    section = DOC.read_text(encoding="utf-8").split("## `--compare-policies --json`", 1)[1]
    top, rows = section.split("and `rows`", 1)
    assert set(data) == {*re.findall(r"`(\w+)`", top), "rows"}
    documented_row = set(re.findall(r"`(\w+)`", rows)) - {"none"}
    for row in data["rows"]:
        assert set(row) == documented_row, set(row) ^ documented_row
