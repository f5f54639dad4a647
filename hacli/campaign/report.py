"""``hacore campaign report DIR``: what a campaign did and found, as HTML and JSON.

Everything is computed from the output directory alone (the shard records and
the failures), so a report can be written while a campaign runs, after it was
killed, or on another machine. The JSON carries the figures; the HTML shows
them: schedules per configuration, schedules/minute per worker, the table
cells exercised (and the rules never hit), each distinct failure with its
timeline picture and reproducer, and the progress over time.
"""

from __future__ import annotations

import json
import os
from html import escape
from typing import Any

from hacli.campaign.failures import FailureBook
from hacli.campaign.store import CampaignStore, write_atomic
from sims.coverage import table_cells


def summarize(store: CampaignStore) -> dict[str, Any]:
    records = store.shard_records()
    book = FailureBook(store)
    configs: dict[str, dict[str, Any]] = {}
    workers: dict[str, dict[str, Any]] = {}
    hits: dict[tuple[str, str, str], int] = {}
    for r in records:
        c = configs.setdefault(
            r["config"],
            {"config": r["config"], "settings": r["spec"]["config"], "shards": 0},
        )
        c["shards"] += 1
        c["schedules"] = c.get("schedules", 0) + r["schedules"]
        c["failing_shards"] = c.get("failing_shards", 0) + (1 if r["failure"] else 0)
        w = workers.setdefault(r["worker"], {"worker": r["worker"], "shards": 0})
        w["shards"] += 1
        w["schedules"] = w.get("schedules", 0) + r["schedules"]
        w["busy_s"] = w.get("busy_s", 0.0) + r["wall_s"]
        for role, kind, rule, count in r["cells"]:
            hits[(role, kind, rule)] = hits.get((role, kind, rule), 0) + count
    for w in workers.values():
        w["busy_s"] = round(w["busy_s"], 3)
        w["schedules_per_minute"] = (
            round(w["schedules"] / w["busy_s"] * 60, 1) if w["busy_s"] else 0
        )
    universe = table_cells()
    known = set(universe)
    timeline = sorted(records, key=lambda r: r["finished"])
    first = min((r["started"] for r in records), default=0.0)
    progress = []
    schedules = 0
    failing = 0
    for i, r in enumerate(timeline, 1):
        schedules += r["schedules"]
        failing += 1 if r["failure"] else 0
        progress.append(
            {
                "t_s": round(r["finished"] - first, 3),
                "shards": i,
                "schedules": schedules,
                "failing_shards": failing,
            }
        )
    return {
        "shards": len(records),
        "schedules": schedules,
        "configurations": list(configs.values()),
        "workers": sorted(workers.values(), key=lambda w: str(w["worker"])),
        "coverage": {
            "cells": len(universe),
            "cells_hit": sum(1 for cell in universe if cell in hits),
            "hit": [[*cell, hits[cell]] for cell in universe if cell in hits],
            "never_hit": [list(cell) for cell in universe if cell not in hits],
            # Cells recorded by shards that the current table no longer has (it changed).
            "not_in_table": [[*cell, n] for cell, n in sorted(hits.items()) if cell not in known],
        },
        "failures": list(book.cases.values()),
        "progress": progress,
    }


def _progress_svg(points: list[dict[str, Any]], width: int = 640, height: int = 200) -> str:
    """Cumulative schedules over the campaign's time, by hand (no dependency)."""
    left, bottom, top, right = 60, 30, 10, 10
    if not points:
        return "<p>No shard has finished yet.</p>"
    t_max = max(1e-9, points[-1]["t_s"])
    s_max = max(1, points[-1]["schedules"])

    def xy(t: float, s: int) -> tuple[float, float]:
        x = left + t / t_max * (width - left - right)
        y = height - bottom - s / s_max * (height - top - bottom)
        return round(x, 1), round(y, 1)

    line = " ".join("{},{}".format(*xy(p["t_s"], p["schedules"])) for p in points)
    marks = []
    previous = 0
    for p in points:
        if p["failing_shards"] > previous:  # a shard that found a failure: a red dot
            x, y = xy(p["t_s"], p["schedules"])
            marks.append(f'<circle cx="{x}" cy="{y}" r="3" fill="#d7301f"/>')
        previous = p["failing_shards"]
    fails = "".join(marks)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' font-family="sans-serif" font-size="11">'
        f'<polyline fill="none" stroke="#3182bd" stroke-width="2"'
        f' points="{left},{height - bottom} {line}"/>'
        f"{fails}"
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}"'
        ' stroke="#000"/>'
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="#000"/>'
        f'<text x="{left}" y="{height - 8}">0 s</text>'
        f'<text x="{width - right}" y="{height - 8}" text-anchor="end">{t_max:.0f} s</text>'
        f'<text x="{left - 4}" y="{top + 10}" text-anchor="end">{s_max}</text>'
        f'<text x="{left - 4}" y="{height - bottom}" text-anchor="end">0</text>'
        "</svg>"
    )


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def render_html(summary: dict[str, Any], store: CampaignStore) -> str:
    cov = summary["coverage"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>hacore campaign report</title>',
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}"
        "code{background:#f4f4f4;padding:2px}</style></head><body>",
        "<h1>hacore campaign report</h1>",
        f"<p>{summary['shards']} shards, {summary['schedules']} schedules,"
        f" {len(summary['failures'])} distinct failures;"
        f" table coverage {cov['cells_hit']} of {cov['cells']} cells.</p>",
        "<h2>Failures</h2>",
    ]
    if not summary["failures"]:
        parts.append("<p>None found.</p>")
    for case in summary["failures"]:
        parts.append(
            f"<h3>{escape(', '.join(case['invariants']))} ({len(case['occurrences'])}"
            f" occurrences; first in {escape(case['config'])})</h3>"
            f"<p>Reproducer: <code>{escape(case['command'])}</code>"
            f" — replay {'reproduces it' if case['reproduced'] else 'did NOT reproduce it'}"
            f"{'' if case['reproduced'] is not None else ' (not replayed)'}.</p>"
            f"<p>Node logs: <code>{escape(os.path.join('failures', case['key'], 'logs.sqlite'))}"
            "</code> (<code>hacore log show</code>)</p>"
        )
        if case["timeline"]:
            path = os.path.join(store.failures_dir, case["key"], case["timeline"])
            try:
                with open(path, encoding="utf-8") as fh:
                    parts.append(fh.read())
            except OSError:
                parts.append("<p>(timeline picture missing)</p>")
        parts.append(
            _table(
                ["shard", "configuration", "worker", "replay"],
                [
                    [o["shard"].rsplit("--", 1)[-1], o["config"], o["worker"], o["command"]]
                    for o in case["occurrences"]
                ],
            )
        )
    parts.append("<h2>Schedules per configuration</h2>")
    parts.append(
        _table(
            ["configuration", "shards", "schedules", "failing shards"],
            [
                [c["config"], c["shards"], c["schedules"], c["failing_shards"]]
                for c in summary["configurations"]
            ],
        )
    )
    parts.append("<h2>Workers</h2>")
    parts.append(
        _table(
            ["worker", "shards", "schedules", "busy s", "schedules/minute"],
            [
                [w["worker"], w["shards"], w["schedules"], w["busy_s"], w["schedules_per_minute"]]
                for w in summary["workers"]
            ],
        )
    )
    parts.append("<h2>Progress over time</h2>")
    parts.append(
        "<p>Schedules run (up) against the time since the first shard started (across);"
        " a red dot: a shard that found a failure.</p>"
    )
    parts.append(_progress_svg(summary["progress"]))
    parts.append(
        f"<h2>Table coverage: {cov['cells_hit']} of {cov['cells']} (role, input, rule) cells</h2>"
    )
    parts.append("<h3>Rules never hit</h3>")
    parts.append(_table(["role", "input kind", "rule"], cov["never_hit"]))
    if cov["not_in_table"]:
        parts.append("<h3>Recorded cells the current table no longer has</h3>")
        parts.append(_table(["role", "input kind", "rule", "decisions"], cov["not_in_table"]))
    parts.append("<h3>Rules hit</h3>")
    parts.append(_table(["role", "input kind", "rule", "decisions"], cov["hit"]))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_report(store: CampaignStore) -> tuple[str, str]:
    summary = summarize(store)
    html_path = os.path.join(store.out, "report.html")
    json_path = os.path.join(store.out, "report.json")
    write_atomic(json_path, json.dumps(summary, sort_keys=True, indent=1))
    write_atomic(html_path, render_html(summary, store))
    return html_path, json_path
