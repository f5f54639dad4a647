"""What a run prints: status table, short timeline, verdicts, JSON and SVG.

The SVG is written by hand (no dependency): one row per node, time across,
the role as the colour of each span, partitions and crashes shaded, a tick
with the epoch number where a node opened an epoch, and the heal point.
"""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import escape

from hacore.status import render_table, verdict
from sims.faults import fmt_time, schedule_text
from sims.sim import RunResult

ROLE_COLOURS = {
    "standby": "#9ecae1",
    "promoting": "#fdd49e",
    "active": "#31a354",
    "demoting": "#fc8d59",
    "fault": "#d7301f",
    "down": "#bdbdbd",
    "witness": "#dadaeb",
}


def replay_command(result: RunResult) -> str:
    if result.replay:  # complete: duration, heal phase, budgets (sims.replay)
        return result.replay
    p = result.params
    parts = ["hacore simulate", result.scenario if result.scenario != "custom" else "custom"]
    parts += ["--seed", str(result.seed), "--nodes", str(p.nodes)]
    parts += ["--policy", str(p.policy), "--mode", str(p.mode)]
    if p.witness:
        parts.append("--witness")
    parts += ["--schedule", f"'{schedule_text(result.schedule)}'"]
    return " ".join(parts)


def short_timeline(result: RunResult, limit: int = 30) -> list[str]:
    lines = [f"{fmt_time(t):>12}  {node:<8} {what}" for t, node, what in result.timeline]
    if len(lines) > limit:
        skipped = len(lines) - limit
        lines = [*lines[: limit // 2], f"{'':>12}  ... {skipped} more ...", *lines[-limit // 2 :]]
    return lines


def text_report(result: RunResult) -> str:
    out = [render_table(verdict(result.observations)), "", "Timeline:"]
    out += short_timeline(result)
    out += ["", "Invariants:"]
    for name, ok in result.invariants.items():
        out.append(f"  {'ok  ' if ok else 'FAIL'}  {name}")
    conv = (
        "never"
        if result.converged_after_us is None
        else f"{fmt_time(result.converged_after_us)} after the last heal"
    )
    out += [
        "",
        f"downtime {result.downtime_us / 1e6:.2f} s,"
        f" split-brain {result.split_brain_us / 1e6:.2f} s, converged {conv}",
        f"writes: {result.writes_acked} acknowledged, {result.writes_lost} lost,"
        f" {result.writes_quarantined} quarantined; k8s objects: {result.k8s_writes} written,"
        f" {result.k8s_lost} lost to litestream lag",
        f"{result.events} events, {result.sim_us / 1e6:.1f} simulated s in {result.wall_s:.3f} s",
    ]
    if result.violations:
        out += ["", "VIOLATIONS:"]
        out += [f"  {v}" for v in result.violations]
        out += [
            f"  seed: {result.seed}",
            f"  fault schedule: {schedule_text(result.schedule)}",
            f"  replay: {replay_command(result)}",
        ]
    return "\n".join(out)


def json_report(result: RunResult) -> dict[str, Any]:
    return {
        "scenario": result.scenario,
        "seed": result.seed,
        "nodes": result.params.nodes,
        "witness": result.params.witness,
        "policy": str(result.params.policy),
        "mode": str(result.params.mode),
        "ok": result.ok,
        "invariants": dict(result.invariants),
        "violations": list(result.violations),
        "digest": result.digest,
        "events": result.events,
        "sim_seconds": result.sim_us / 1e6,
        "wall_seconds": round(result.wall_s, 6),
        "downtime_s": result.downtime_us / 1e6,
        "split_brain_s": result.split_brain_us / 1e6,
        "writes_acked": result.writes_acked,
        "writes_lost": result.writes_lost,
        "writes_quarantined": result.writes_quarantined,
        "k8s_writes": result.k8s_writes,
        "k8s_lost": result.k8s_lost,
        "converged_after_s": (
            None if result.converged_after_us is None else result.converged_after_us / 1e6
        ),
        "schedule": schedule_text(result.schedule),
        "replay": replay_command(result),
    }


def dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True)


def _seconds(us: int) -> str:
    """A time axis label: seconds with a unit and at most one decimal."""
    text = f"{us / 1e6:.1f}".removesuffix(".0")
    return f"{text} s"


def svg_timeline(result: RunResult, width: int = 1000) -> str:
    """A hand-written SVG: nodes as rows, time across, role as colour."""
    names = list(dict.fromkeys(span.node for span in result.spans))
    row_h, top, left, right = 34, 40, 90, 20
    legend_h = 40
    height = top + row_h * max(1, len(names)) + legend_h
    end = max(1, result.sim_us)
    scale = (width - left - right) / end

    def x(t: int) -> float:
        return round(left + t * scale, 2)

    row = {name: i for i, name in enumerate(names)}
    parts: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f"<title>{escape(result.scenario)} seed {result.seed}: "
        f"{escape(str(result.params.policy))}, {escape(str(result.params.mode))}</title>",
        f'<text x="{left}" y="16" font-size="13">{escape(result.scenario)} (seed {result.seed},'
        f" {escape(str(result.params.policy))}, {escape(str(result.params.mode))})"
        f" — {'all invariants hold' if result.ok else 'INVARIANT VIOLATED'}</text>",
        '<g class="shading">',
    ]
    for start, stop, node, what in result.shaded:
        if node == "*":
            y, h = top - 4, row_h * len(names) + 4
        elif node in row:
            y, h = top + row[node] * row_h - 2, row_h
        else:
            continue
        parts.append(
            f'<rect class="shade" x="{x(start)}" y="{y}" width="{max(1.0, x(stop) - x(start))}"'
            f' height="{h}" fill="#f03b20" fill-opacity="0.12"><title>{escape(what)}'
            f" {fmt_time(start)}-{fmt_time(stop)}</title></rect>"
        )
    parts.append("</g>")
    for name, i in row.items():
        y = top + i * row_h
        parts.append(f'<text class="node" x="8" y="{y + row_h // 2 + 2}">{escape(name)}</text>')
    parts.append('<g class="spans">')
    for span in result.spans:
        stop = span.end if span.end is not None else end
        y = top + row[span.node] * row_h + 4
        colour = ROLE_COLOURS.get(span.label, "#969696")
        label = span.label + (f" e{span.epoch}" if span.label == "active" else "")
        parts.append(
            f'<rect class="span" data-node="{escape(span.node)}" data-role="{escape(span.label)}"'
            f' x="{x(span.start)}" y="{y}" width="{max(0.5, x(stop) - x(span.start))}"'
            f' height="{row_h - 10}" fill="{colour}"><title>{escape(span.node)}: {escape(label)}'
            f" {fmt_time(span.start)}-{fmt_time(stop)}</title></rect>"
        )
    parts.append("</g>")
    parts.append('<g class="epochs">')
    for at, node, epoch in result.epochs:
        if node not in row:
            continue
        y = top + row[node] * row_h
        parts.append(
            f'<line class="epoch" x1="{x(at)}" x2="{x(at)}" y1="{y + 2}" y2="{y + row_h - 4}"'
            f' stroke="#000" stroke-width="1.5"/>'
            f'<text x="{x(at) + 2}" y="{y + 12}" font-size="9">e{epoch}</text>'
        )
    parts.append("</g>")
    hx = x(result.last_heal_us)
    parts.append(
        f'<line class="heal" x1="{hx}" x2="{hx}" y1="{top - 8}" y2="{top + row_h * len(names)}"'
        f' stroke="#3182bd" stroke-dasharray="4 3"/>'
        f'<text x="{hx + 3}" y="{top - 10}" fill="#3182bd">last heal</text>'
    )
    ly = top + row_h * len(names) + 20
    lx = left
    parts.append('<g class="legend">')
    for role, colour in ROLE_COLOURS.items():
        parts.append(
            f'<rect x="{lx}" y="{ly - 9}" width="12" height="10" fill="{colour}"/>'
            f'<text x="{lx + 15}" y="{ly}">{role}</text>'
        )
        lx += 95
    parts.append(
        f'<rect x="{lx}" y="{ly - 9}" width="12" height="10" fill="#f03b20" fill-opacity="0.2"/>'
        f'<text x="{lx + 15}" y="{ly}">partition / pause</text>'
    )
    parts.append(f'<text class="start" x="{left}" y="{ly + 16}">0 s</text>')
    parts.append(
        f'<text class="end" x="{width - right}" y="{ly + 16}" text-anchor="end">'
        f"{_seconds(end)}</text>"
    )
    parts.append("</g></svg>")
    return "\n".join(parts) + "\n"


def html_timeline(result: RunResult) -> str:
    """``--timeline FILE.html``: a standalone HTML page with the SVG inline."""
    title = escape(
        f"{result.scenario} seed {result.seed}: {result.params.policy}, {result.params.mode}"
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>hacore simulate: {title}</title>\n"
        "</head>\n<body>\n" + svg_timeline(result) + "</body>\n</html>\n"
    )
