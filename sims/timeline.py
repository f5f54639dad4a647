"""The timeline picture of one run (``hacore simulate --timeline x.svg|x.html``).

Written by hand (no dependency). Time runs across with labelled ticks in
seconds; nodes are blocks of lanes in name order: the role (colour, epoch
ticks, pause/disk-full shading), who holds the VIP, who is writable (role
active, Galera primary, not fenced, the write lease held) and, when the run
has any, frozen periods (manual policy). Above the lanes, labelled marks:
each fault with the members it cut off or hit, each heal, each invariant
violation by name, and each split-brain with its duration; a band across the
lanes shows the split-brain itself. Below, the writes lane: every
acknowledged write at the instant it was acknowledged, in the row of its
fate (kept, quarantined, lost).

Labels never overlap: each label band is laid out in tiers, a label going to
the first tier where it fits, from an estimate of the text's width that is
wider than the browser's (the browser test measures the real one).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from hacore.timefmt import seconds
from sims.result import RunResult

ROLE_COLOURS = {
    "standby": "#9ecae1",
    "promoting": "#fdd49e",
    "active": "#31a354",
    "demoting": "#fc8d59",
    "fault": "#d7301f",
    "down": "#bdbdbd",
    "witness": "#dadaeb",
}
VIP_COLOUR = "#6a51a3"
WRITABLE_COLOUR = "#006d2c"
FROZEN_COLOUR = "#2171b5"
TWO_ACTIVES_COLOUR = "#fd8d3c"
SPLIT_BRAIN_COLOUR = "#e31a1c"
FATE_COLOURS = {"kept": "#31a354", "quarantined": "#ff7f00", "lost": "#e31a1c"}
MARK_COLOURS = {
    "fault": "#525252",
    "heal": "#3182bd",
    "violation": "#a50f15",
    "split-brain": SPLIT_BRAIN_COLOUR,
    "two-actives": "#a63603",
}

WIDTH = 1100
LEFT = 120  # the lane labels' column
RIGHT = 24
FONT = 11
SMALL = 9
TIER_H = 15
ROLE_H = 18
THIN_H = 8
NODE_GAP = 12
FATE_H = 9


def text_width(text: str, size: float) -> float:
    """A generous estimate of rendered width (sans-serif): the layout keeps
    labels apart by this, so it must not be smaller than the real width."""
    wide = sum(1 for c in text if c.isupper() or c in "mwMW%")
    return (len(text) * 0.62 + wide * 0.25) * size + 2


def natural_key(name: str) -> tuple[object, ...]:
    """``n2`` before ``n10``; the witness after the data nodes."""
    parts = re.split(r"(\d+)", name)
    return (name == "witness", *[int(p) if p.isdigit() else p for p in parts])


@dataclass
class Mark:
    """A labelled instant (or, with ``until``, an interval) above the lanes."""

    at: int
    label: str
    kind: str  # a key of MARK_COLOURS
    until: int | None = None


@dataclass
class Placed:
    x: float  # text anchor (start)
    tier: int
    width: float


def place_labels(
    items: Iterable[tuple[float, float]], lo: float, hi: float, gap: float = 6
) -> list[Placed]:
    """Tiers for labels at ``(x, width)``: each goes to the first tier where it
    does not touch a label already there; a label that would run past ``hi``
    is shifted left to end there."""
    tiers: list[list[tuple[float, float]]] = []
    out: list[Placed] = []
    for x, w in items:
        start = max(lo, min(x, hi - w))
        end = start + w
        for i, taken in enumerate(tiers):
            if all(end + gap <= a or start >= b + gap for a, b in taken):
                taken.append((start, end))
                out.append(Placed(start, i, w))
                break
        else:
            tiers.append([(start, end)])
            out.append(Placed(start, len(tiers) - 1, w))
    return out


def tick_step(end_us: int, target: int = 12) -> int:
    """A round tick interval (1, 2, 5, 10, 15, 20, 30, 60 ... s) giving at most
    about ``target`` ticks."""
    for s in (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600):
        if end_us / (s * 1_000_000) <= target:
            return s * 1_000_000
    return 7200 * 1_000_000


def marks(result: RunResult) -> list[Mark]:
    out: list[Mark] = []
    for at, kind, label in result.faults:
        out.append(Mark(at, label, "heal" if kind == "heal" else "fault"))
    for node, lane, start, end in result.lanes:
        if node != "*":
            continue
        if lane == "split-brain":
            out.append(Mark(start, f"split-brain {seconds(end - start)}", "split-brain", end))
        elif lane == "two-actives":
            out.append(Mark(start, f"two actives {seconds(end - start)}", "two-actives", end))
    for at, name, _detail in result.violation_marks:
        out.append(Mark(at, f"violated: {name}", "violation"))
    out.sort(key=lambda m: (m.at, m.kind, m.label))
    return out


class _Svg:
    """The picture being built: geometry helpers and the element list."""

    def __init__(self, result: RunResult, width: int) -> None:
        self.result = result
        self.width = width
        self.end = max(1, result.sim_us)
        self.scale = (width - LEFT - RIGHT) / self.end
        self.parts: list[str] = []

    def x(self, t: int) -> float:
        return round(LEFT + min(max(t, 0), self.end) * self.scale, 2)

    def text(
        self,
        x: float,
        y: float,
        text: str,
        *,
        size: int = FONT,
        cls: str = "",
        fill: str = "#000",
        anchor: str = "start",
        weight: str = "normal",
    ) -> None:
        extra = f' class="{cls}"' if cls else ""
        if anchor != "start":
            extra += f' text-anchor="{anchor}"'
        if weight != "normal":
            extra += f' font-weight="{weight}"'
        self.parts.append(
            f'<text{extra} x="{x:.2f}" y="{y:.2f}" font-size="{size}" fill="{fill}">'
            f"{escape(text)}</text>"
        )

    def rect(
        self, x: float, y: float, w: float, h: float, fill: str, *, attrs: str = "", tip: str = ""
    ) -> None:
        body = f"<title>{escape(tip)}</title>" if tip else ""
        close = f">{body}</rect>" if body else "/>"
        self.parts.append(
            f'<rect x="{x:.2f}" y="{y:.2f}" width="{max(w, 0.8):.2f}" height="{h:.2f}"'
            f' fill="{fill}"{attrs}{close}'
        )


def svg_timeline(result: RunResult, width: int = WIDTH) -> str:
    """The SVG document (see the module's docstring for what it shows)."""
    g = _Svg(result, width)
    p = result.params
    names = sorted(dict.fromkeys(span.node for span in result.spans), key=natural_key)
    has_frozen = any(lane == "frozen" for _n, lane, _s, _e in result.lanes) or (
        str(p.policy) == "manual"
    )
    verdict = "all invariants hold" if result.ok else "INVARIANT VIOLATED"
    title = f"{result.scenario}, seed {result.seed}: {p.policy}, {p.mode}"
    g.text(8, 18, title, size=13, cls="title", weight="bold")
    nodes_text = f"{p.nodes} nodes" + (" + witness" if p.witness else "")
    g.text(
        8,
        34,
        f"{nodes_text}; {verdict}; downtime {seconds(result.downtime_us)},"
        f" split-brain {seconds(result.split_brain_us)}",
        size=FONT,
        cls="subtitle",
        fill="#000" if result.ok else MARK_COLOURS["violation"],
    )

    # -- the marks band: every label laid out in tiers above the lanes
    all_marks = marks(result)
    placed = place_labels(
        ((g.x(m.at) + 3, text_width(m.label, FONT)) for m in all_marks), LEFT, width - RIGHT
    )
    band_top = 48
    tiers = 1 + max((pl.tier for pl in placed), default=-1)
    lanes_top = band_top + tiers * TIER_H + 8

    # -- lanes geometry
    layout: list[tuple[str, int]] = []  # (node, y of its role lane)
    y = lanes_top
    for name in names:
        layout.append((name, y))
        y += ROLE_H
        if name != "witness":
            y += 2 * (THIN_H + 2) + (THIN_H + 2 if has_frozen else 0)
        y += NODE_GAP
    writes_label_y = y + 10
    writes_top = y + 16
    writes_bottom = writes_top + 3 * (FATE_H + 3)
    axis_y = writes_bottom + 6
    legend_top = axis_y + 48
    roles = {span.label for span in result.spans}
    legend_rows = _legend_rows(width, has_frozen, roles)
    height = legend_top + len(legend_rows) * 16 + 6
    lanes_bottom = writes_bottom

    out = g.parts
    out.append(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Verdana, sans-serif">'
    )
    out.insert(0, out.pop())  # the <svg> element first, then the title texts
    out.insert(1, f"<title>{escape(title)}</title>")
    out.insert(2, f'<rect class="canvas" width="{width}" height="{height}" fill="#fff"/>')

    # time grid and axis
    step = tick_step(g.end)
    out.append('<g class="axis">')
    t = 0
    while t <= g.end:
        tx = g.x(t)
        out.append(
            f'<line class="grid" x1="{tx}" x2="{tx}" y1="{lanes_top - 4}" y2="{axis_y}"'
            ' stroke="#d9d9d9" stroke-width="0.8"/>'
        )
        anchor = "start" if t == 0 else "middle"
        g.text(tx, axis_y + 14, seconds_label(t), size=SMALL + 1, cls="tick", anchor=anchor)
        t += step
    out.append(
        f'<line x1="{LEFT}" x2="{width - RIGHT}" y1="{axis_y}" y2="{axis_y}" stroke="#000"/>'
    )
    g.text(width - RIGHT, axis_y + 28, "simulated time", size=SMALL, anchor="end", fill="#444")
    out.append("</g>")

    # node lanes
    lanes_by_node: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for node, lane, start, stop in result.lanes:
        lanes_by_node.setdefault((node, lane), []).append((start, stop))
    role_y = dict(layout)
    out.append('<g class="nodes">')
    for name, ny in layout:
        g.text(8, ny + 13, name, size=12, cls="node", weight="bold")
        if name == "witness":
            continue
        thin = [("vip", "VIP", VIP_COLOUR), ("writable", "writable", WRITABLE_COLOUR)]
        if has_frozen:
            thin.append(("frozen", "frozen", FROZEN_COLOUR))
        ly = ny + ROLE_H + 2
        for lane, label, colour in thin:
            g.text(LEFT - 6, ly + THIN_H - 0.5, label, size=SMALL, cls="lane", anchor="end")
            g.rect(LEFT, ly, width - LEFT - RIGHT, THIN_H, "#f5f5f5", attrs=' class="track"')
            for start, stop in lanes_by_node.get((name, lane), []):
                g.rect(
                    g.x(start),
                    ly,
                    g.x(stop) - g.x(start),
                    THIN_H,
                    colour,
                    attrs=f' class="lane-{lane}" data-node={quoteattr(name)}',
                    tip=f"{name} {label} {seconds(start)} to {seconds(stop)}",
                )
            ly += THIN_H + 2
    out.append("</g>")

    out.append('<g class="spans">')
    for span in result.spans:
        stop = span.end if span.end is not None else g.end
        label = span.label + (f" e{span.epoch}" if span.label == "active" else "")
        g.rect(
            g.x(span.start),
            role_y[span.node],
            g.x(stop) - g.x(span.start),
            ROLE_H,
            ROLE_COLOURS.get(span.label, "#969696"),
            attrs=f' class="span" data-node={quoteattr(span.node)}'
            f" data-role={quoteattr(span.label)}",
            tip=f"{span.node}: {label} {seconds(span.start)} to {seconds(stop)}",
        )
    out.append("</g>")

    out.append('<g class="shading">')
    for start, stop, node, what in result.shaded:
        if node not in role_y:
            continue  # partitions are marks with labels, not shading
        g.rect(
            g.x(start),
            role_y[node],
            g.x(stop) - g.x(start),
            ROLE_H,
            "#000",
            attrs=' class="shade" fill-opacity="0.25"',
            tip=f"{node} {what} {seconds(start)} to {seconds(stop)}",
        )
    out.append("</g>")

    # epoch ticks, labelled where the label fits in the node's role lane
    out.append('<g class="epochs">')
    by_node: dict[str, list[tuple[int, int]]] = {}
    for at, node, epoch in result.epochs:
        if node in role_y:
            by_node.setdefault(node, []).append((at, epoch))
    for node, ticks in by_node.items():
        ny = role_y[node]
        taken_until = float("-inf")
        for at, epoch in ticks:
            ex = g.x(at)
            out.append(
                f'<line class="epoch" x1="{ex}" x2="{ex}" y1="{ny}" y2="{ny + ROLE_H}"'
                f' stroke="#000" stroke-width="1.5"><title>{escape(node)} opens epoch {epoch}'
                f" at {seconds(at)}</title></line>"
            )
            label = f"e{epoch}"
            w = text_width(label, SMALL)
            if ex + 2 >= taken_until + 3 and ex + 2 + w <= width - RIGHT:
                g.text(ex + 2, ny + 12, label, size=SMALL, cls="epoch")
                taken_until = ex + 2 + w
    out.append("</g>")

    # split-brain and two-actives bands across the node lanes
    out.append('<g class="bands">')
    node_bottom = writes_label_y - 12
    for node, lane, start, stop in result.lanes:
        if node != "*" or lane not in ("split-brain", "two-actives"):
            continue
        colour = SPLIT_BRAIN_COLOUR if lane == "split-brain" else TWO_ACTIVES_COLOUR
        opacity = "0.28" if lane == "split-brain" else "0.13"
        g.rect(
            g.x(start),
            lanes_top - 4,
            g.x(stop) - g.x(start),
            node_bottom - lanes_top + 4,
            colour,
            attrs=f' class="{lane}" fill-opacity="{opacity}"',
            tip=f"{lane} {seconds(start)} to {seconds(stop)} ({seconds(stop - start)})",
        )
    out.append("</g>")

    # marks: guide lines through the lanes, labels in their tiers
    out.append('<g class="marks">')
    for m, pl in zip(all_marks, placed, strict=True):
        colour = MARK_COLOURS[m.kind]
        mx = g.x(m.at)
        label_y = band_top + pl.tier * TIER_H + 11
        dash = "" if m.kind in ("violation",) else ' stroke-dasharray="4 3"'
        cls = {"heal": "heal", "violation": "violation"}.get(m.kind, m.kind)
        out.append(
            f'<line class="{cls}" x1="{mx}" x2="{mx}" y1="{label_y + 3}" y2="{lanes_bottom}"'
            f' stroke="{colour}" stroke-width="1.2"{dash}><title>{escape(m.label)}'
            f" at {seconds(m.at)}</title></line>"
        )
        weight = "bold" if m.kind in ("violation", "split-brain") else "normal"
        g.text(pl.x, label_y, m.label, cls=f"mark {cls}", fill=colour, weight=weight)
    out.append("</g>")

    # writes lane
    out.append('<g class="writes">')
    g.text(8, writes_label_y, "writes", size=12, cls="lane-title", weight="bold")
    counts = {fate: 0 for fate in FATE_COLOURS}
    for *_rest, fate in result.writes:
        counts[fate] += 1
    fate_rows = (("kept", "acked, kept"), ("quarantined", "quarantined"), ("lost", "lost"))
    for i, (fate, label) in enumerate(fate_rows):
        fy = writes_top + i * (FATE_H + 3)
        g.text(LEFT - 6, fy + FATE_H - 1, f"{label} {counts[fate]}", size=SMALL, anchor="end")
        g.rect(LEFT, fy, width - LEFT - RIGHT, FATE_H, "#f5f5f5", attrs=' class="track"')
        for at, node, w_id, w_fate in result.writes:
            if w_fate == fate:
                g.rect(
                    g.x(at) - 0.6,
                    fy,
                    1.4,
                    FATE_H,
                    FATE_COLOURS[fate],
                    attrs=f' class="write-{fate}"',
                    tip=f"write {w_id} acknowledged by {node} at {seconds(at)}: {fate}",
                )
    out.append("</g>")

    # legend
    out.append('<g class="legend">')
    for row_i, row in enumerate(legend_rows):
        lx = 8.0
        ly = legend_top + row_i * 16
        for label, colour, opacity in row:
            out.append(
                f'<rect x="{lx}" y="{ly - 9}" width="12" height="10" fill="{colour}"'
                f' fill-opacity="{opacity}"/>'
            )
            g.text(lx + 16, ly, label, size=SMALL + 1, cls="legend")
            lx += 16 + text_width(label, SMALL + 1) + 14
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def seconds_label(us: int) -> str:
    """A tick label: whole seconds when the tick is whole (ticks are)."""
    whole, frac = divmod(us, 1_000_000)
    return f"{whole} s" if frac == 0 else seconds(us)


def _legend_items(has_frozen: bool, roles: set[str]) -> list[tuple[str, str, str]]:
    items = [(role, colour, "1") for role, colour in ROLE_COLOURS.items() if role in roles]
    items += [
        ("paused / disk full", "#000", "0.25"),
        ("holds the VIP", VIP_COLOUR, "1"),
        ("writable", WRITABLE_COLOUR, "1"),
    ]
    if has_frozen:
        items.append(("frozen (manual)", FROZEN_COLOUR, "1"))
    items += [
        ("two actives", TWO_ACTIVES_COLOUR, "0.3"),
        ("split-brain: two writable", SPLIT_BRAIN_COLOUR, "0.5"),
        ("write lost", FATE_COLOURS["lost"], "1"),
        ("write quarantined", FATE_COLOURS["quarantined"], "1"),
    ]
    return items


def _legend_rows(width: int, has_frozen: bool, roles: set[str]) -> list[list[tuple[str, str, str]]]:
    rows: list[list[tuple[str, str, str]]] = [[]]
    used = 8.0
    for item in _legend_items(has_frozen, roles):
        w = 16 + text_width(item[0], SMALL + 1) + 14
        if used + w > width - RIGHT and rows[-1]:
            rows.append([])
            used = 8.0
        rows[-1].append(item)
        used += w
    return rows
