"""What a run prints: status table, short timeline, verdicts, JSON and the HTML page.

The text and the JSON say the same things (the JSON's schema is in
docs/simulator-json.md and checked by tests/test_sim_json.py); every time is
shown in the one format of :mod:`hacore.timefmt`. The picture itself is
:mod:`sims.timeline`.
"""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import escape

from hacore.status import render_table, verdict
from hacore.timefmt import seconds
from sims.faults import schedule_text
from sims.result import RunResult
from sims.timeline import svg_timeline

__all__ = [
    "dumps",
    "html_timeline",
    "json_report",
    "replay_command",
    "short_timeline",
    "svg_timeline",
    "text_report",
]

JSON_SCHEMA_VERSION = 1


def replay_command(result: RunResult) -> str:
    p = result.params
    parts = ["hacore simulate", result.scenario if result.scenario != "custom" else "custom"]
    parts += ["--seed", str(result.seed), "--nodes", str(p.nodes)]
    parts += ["--policy", str(p.policy), "--mode", str(p.mode)]
    if p.witness:
        parts.append("--witness")
    parts += ["--schedule", f"'{schedule_text(result.schedule)}'"]
    return " ".join(parts)


def short_timeline(result: RunResult, limit: int = 30) -> list[str]:
    lines = [f"{seconds(t):>12}  {node:<8} {what}" for t, node, what in result.timeline]
    if len(lines) > limit:
        skipped = len(lines) - limit
        lines = [*lines[: limit // 2], f"{'':>12}  ... {skipped} more ...", *lines[-limit // 2 :]]
    return lines


def converged_text(result: RunResult) -> str:
    if result.converged_after_us is None:
        return "never"
    return f"{seconds(result.converged_after_us)} after the last heal"


def violation_lines(result: RunResult) -> list[str]:
    return list(result.violations)


def figure_lines(result: RunResult) -> list[str]:
    return [
        f"downtime {seconds(result.downtime_us)},"
        f" split-brain {seconds(result.split_brain_us)}, converged {converged_text(result)}",
        f"writes: {result.writes_acked} acknowledged, {result.writes_lost} lost,"
        f" {result.writes_quarantined} quarantined; k8s objects: {result.k8s_writes} written,"
        f" {result.k8s_lost} lost to litestream lag",
        f"{result.events} events, {seconds(result.sim_us)} simulated in"
        f" {result.wall_s:.3f} s wall-clock",
    ]


def nodes_line(result: RunResult) -> str:
    vip = ", ".join(result.vip_holders) or "nobody"
    epochs = ", ".join(f"{n.name} {n.epoch}" for n in result.nodes_end)
    return f"VIP held by {vip}; epochs: {epochs}"


def text_report(result: RunResult) -> str:
    out = [render_table(verdict(result.observations)), nodes_line(result), "", "Timeline:"]
    out += short_timeline(result)
    out += ["", "Invariants:"]
    for name, ok in result.invariants.items():
        out.append(f"  {'ok  ' if ok else 'FAIL'}  {name}")
    out += ["", *figure_lines(result)]
    if result.violations:
        out += ["", "VIOLATIONS:"]
        out += [f"  {v}" for v in violation_lines(result)]
        out += [
            f"  seed: {result.seed}",
            f"  fault schedule: {schedule_text(result.schedule)}",
            f"  replay: {replay_command(result)}",
        ]
    return "\n".join(out)


def _s(us: int | None) -> float | None:
    return None if us is None else round(us / 1e6, 6)


def json_report(result: RunResult) -> dict[str, Any]:
    """Everything :func:`text_report` shows, as data (times in seconds, floats)."""
    table = verdict(result.observations)
    messages: dict[str, list[str]] = {name: [] for name in result.invariants}
    for at, name, detail in result.violation_marks:
        messages.setdefault(name, []).append(f"at {seconds(at)}: {detail}")
    return {
        "schema": JSON_SCHEMA_VERSION,
        "scenario": result.scenario,
        "seed": result.seed,
        "nodes": result.params.nodes,
        "witness": result.params.witness,
        "policy": str(result.params.policy),
        "mode": str(result.params.mode),
        "ok": result.ok,
        "invariants": dict(result.invariants),
        "invariant_messages": messages,
        "violations": violation_lines(result),
        "digest": result.digest,
        "events": result.events,
        "sim_seconds": _s(result.sim_us),
        "wall_seconds": round(result.wall_s, 6),
        "downtime_s": _s(result.downtime_us),
        "split_brain_s": _s(result.split_brain_us),
        "writes_acked": result.writes_acked,
        "writes_lost": result.writes_lost,
        "writes_quarantined": result.writes_quarantined,
        "k8s_writes": result.k8s_writes,
        "k8s_lost": result.k8s_lost,
        "converged_after_s": _s(result.converged_after_us),
        "schedule": schedule_text(result.schedule),
        "replay": replay_command(result),
        "vip_holders": result.vip_holders,
        "final": [
            {
                "name": n.name,
                "up": n.up,
                "role": n.role,
                "epoch": n.epoch,
                "vip": n.vip,
                "writable": n.writable,
                "frozen": n.frozen,
            }
            for n in result.nodes_end
        ],
        "status": {
            "healthy": table.healthy,
            "nodes": [
                {
                    "name": v.name,
                    "address": v.address,
                    "role": v.role,
                    "status": v.status,
                    "problems": list(v.problems),
                }
                for v in table.nodes
            ],
            "problems": list(table.problems),
        },
        "timeline": [
            {"at_s": _s(t), "node": node, "what": what} for t, node, what in result.timeline
        ],
        "faults": [
            {"at_s": _s(t), "kind": kind, "label": label} for t, kind, label in result.faults
        ],
    }


def dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True)


def html_timeline(result: RunResult) -> str:
    """``--timeline FILE.html``: the run's summary, the SVG inline, the full timeline."""
    p = result.params
    title = f"{result.scenario} seed {result.seed}: {p.policy}, {p.mode}"
    facts = [
        ("scenario", result.scenario),
        ("seed", str(result.seed)),
        ("policy", str(p.policy)),
        ("mode", str(p.mode)),
        ("nodes", f"{p.nodes}" + (" + witness" if p.witness else "")),
        ("simulated", seconds(result.sim_us)),
        ("fault schedule", schedule_text(result.schedule) or "(none)"),
        ("verdict", "all invariants hold" if result.ok else "INVARIANT VIOLATED"),
    ]
    rows = "\n".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in facts)
    figures = "\n".join(
        f"<li>{escape(line)}</li>" for line in [*figure_lines(result), nodes_line(result)]
    )
    messages = json_report(result)["invariant_messages"]
    invariants = "\n".join(
        f'<li class="{"ok" if ok else "fail"}">{"ok" if ok else "FAIL"} {escape(name)}'
        + "".join(f"<br><small>{escape(m)}</small>" for m in messages.get(name, []))
        + "</li>"
        for name, ok in result.invariants.items()
    )
    events = "\n".join(
        f"<tr><td>{escape(seconds(t))}</td><td>{escape(node)}</td><td>{escape(what)}</td></tr>"
        for t, node, what in result.timeline
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>hacore simulate: {escape(title)}</title>\n"
        "<style>body{font-family:'DejaVu Sans',Verdana,sans-serif;margin:1em}"
        "th{text-align:left;padding-right:1em}li.fail{color:#a50f15;font-weight:bold}"
        "code{background:#f0f0f0;padding:2px 4px}td{padding-right:1em}</style>\n"
        "</head>\n<body>\n"
        f"<h1>{escape(title)}</h1>\n"
        f'<table class="summary">\n{rows}\n</table>\n'
        f'<h2>Figures</h2>\n<ul class="figures">\n{figures}\n</ul>\n'
        f'<h2>Invariants</h2>\n<ul class="invariants">\n{invariants}\n</ul>\n'
        f'<h2>Replay</h2>\n<p><code class="replay">{escape(replay_command(result))}</code></p>\n'
        "<h2>Timeline</h2>\n"
        + svg_timeline(result)
        + '<table class="events">\n<tr><th>time</th><th>node</th><th>what</th></tr>\n'
        + f"{events}\n</table>\n"
        "</body>\n</html>\n"
    )
