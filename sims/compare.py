"""``hacore simulate --compare-policies``: one fault schedule, every policy, both modes.

The schedule is drawn once from the scenario and seed and replayed unchanged
under each (policy, mode), so the rows differ only by the decision rules; the
cluster (``--nodes``, ``--witness``) and ``--duration`` are the same for every
row, as given. For ``manual`` the heal phase has an operator who issues
``RESOLVE`` (naming the VRRP winner) a few seconds after the last heal. Each
row names the winner (the one active at the end) and the split-brain verdict.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hacore import events as ev
from hacore.roles import Mode, Policy
from hacore.timefmt import seconds_value
from sims.faults import Fault
from sims.result import RunResult
from sims.run import make_simulation

# Called with each row's result (to write its timeline and log), returns the
# files written as {"timeline": path or None, "log": path or None}.
RowWriter = Callable[[RunResult], dict[str, str | None]]


def row_path(path: str, policy: Policy, mode: Mode) -> str:
    """``run.svg`` -> ``run-vrrp-winner-availability-first.svg``."""
    stem, ext = os.path.splitext(path)
    return f"{stem}-{policy}-{mode}{ext}"


def winner(result: RunResult) -> str | None:
    """The one active at the end; None when there is none or several."""
    actives = [n.name for n in result.nodes_end if n.role == "active"]
    return actives[0] if len(actives) == 1 else None


def split_brain_verdict(result: RunResult) -> str:
    """``none``, ``resolved: W won (REASON)``, ``unresolved: A, B active`` or
    ``ended without a verdict`` (two actives happened, no node recorded one)."""
    actives = [n.name for n in result.nodes_end if n.role == "active"]
    if len(actives) >= 2:
        return f"unresolved: {', '.join(actives)} active"
    verdicts: list[tuple[int, str, str]] = []
    for records in result.logs.values():
        for r in records:
            if r.type == ev.SplitBrainResolved.TYPE:
                msg = r.message()
                assert isinstance(msg, ev.SplitBrainResolved)
                verdicts.append((msg.at, msg.winner, msg.reason))
    if verdicts:
        _at, who, reason = max(verdicts)
        return f"resolved: {who} won ({reason})"
    if any(node == "*" and lane == "two-actives" for node, lane, _s, _e in result.lanes):
        return "ended without a verdict"
    return "none"


@dataclass(frozen=True, slots=True)
class Comparison:
    nodes: int
    witness: bool
    rows: list[dict[str, Any]]

    @property
    def cluster(self) -> str:
        return f"{self.nodes} nodes" + (" + witness" if self.witness else "")

    @property
    def ok(self) -> bool:
        return all(r["ok"] for r in self.rows)


def compare_policies(
    scenario: str,
    seed: int,
    *,
    nodes: int | None = None,
    witness: bool | None = None,
    duration_us: int | None = None,
    schedule: tuple[Fault, ...] | None = None,
    write_row: RowWriter | None = None,
) -> Comparison:
    base = make_simulation(scenario, seed, nodes=nodes, witness=witness, schedule=schedule)
    fixed = base.schedule
    rows: list[dict[str, Any]] = []
    for mode in Mode:
        for policy in Policy:
            sim = make_simulation(
                scenario,
                seed,
                nodes=nodes,
                witness=witness,
                policy=policy,
                mode=mode,
                duration_us=duration_us,
                schedule=fixed,
            )
            r = sim.run()
            files = write_row(r) if write_row is not None else {"timeline": None, "log": None}
            rows.append(
                {
                    "policy": str(policy),
                    "mode": str(mode),
                    "winner": winner(r),
                    "split_brain": split_brain_verdict(r),
                    "ok": r.ok,
                    "failed": [k for k, v in r.invariants.items() if not v],
                    "sim_s": round(r.sim_us / 1e6, 6),
                    "downtime_s": round(r.downtime_us / 1e6, 6),
                    "split_brain_s": round(r.split_brain_us / 1e6, 6),
                    "writes_acked": r.writes_acked,
                    "writes_lost": r.writes_lost,
                    "writes_quarantined": r.writes_quarantined,
                    "k8s_lost": r.k8s_lost,
                    **files,
                }
            )
    return Comparison(base.p.nodes, base.p.witness, rows)


def render_comparison(scenario: str, seed: int, comparison: Comparison) -> str:
    rows = comparison.rows
    header = (
        "policy",
        "mode",
        "winner",
        "split-brain verdict",
        "downtime s",
        "split-brain s",
        "acked",
        "lost",
        "quarantined",
        "invariants",
    )
    body = [
        (
            r["policy"],
            r["mode"],
            r["winner"] or "-",
            r["split_brain"],
            seconds_value(r["downtime_s"] * 1e6),
            seconds_value(r["split_brain_s"] * 1e6),
            str(r["writes_acked"]),
            str(r["writes_lost"]),
            str(r["writes_quarantined"]),
            "ok" if r["ok"] else "FAIL " + ",".join(r["failed"]),
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = [
        f"{scenario}, seed {seed}, {comparison.cluster}:"
        " the same fault schedule under every policy and mode"
    ]
    for row in [header, tuple("-" * w for w in widths), *body]:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    for r in rows:
        for kind in ("timeline", "log"):
            if r.get(kind):
                lines.append(f"{kind} of {r['policy']} {r['mode']}: {r[kind]}")
    return "\n".join(lines)
