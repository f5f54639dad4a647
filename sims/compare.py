"""``hacore simulate --compare-policies``: one fault schedule, every policy, both modes.

The schedule is drawn once from the scenario and seed and replayed unchanged
under each (policy, mode), so the rows differ only by the decision rules. For
``manual`` the heal phase has an operator who issues ``RESOLVE`` (naming the
VRRP winner) a few seconds after the last heal.
"""

from __future__ import annotations

from typing import Any

from hacore.roles import Mode, Policy
from sims.faults import Fault
from sims.run import make_simulation


def compare_policies(
    scenario: str,
    seed: int,
    *,
    nodes: int | None = None,
    schedule: tuple[Fault, ...] | None = None,
) -> list[dict[str, Any]]:
    base = make_simulation(scenario, seed, nodes=nodes, schedule=schedule)
    fixed = base.schedule
    rows: list[dict[str, Any]] = []
    for mode in Mode:
        for policy in Policy:
            sim = make_simulation(
                scenario, seed, nodes=nodes, policy=policy, mode=mode, schedule=fixed
            )
            r = sim.run()
            rows.append(
                {
                    "policy": str(policy),
                    "mode": str(mode),
                    "ok": r.ok,
                    "failed": [k for k, v in r.invariants.items() if not v],
                    "downtime_s": r.downtime_us / 1e6,
                    "split_brain_s": r.split_brain_us / 1e6,
                    "writes_acked": r.writes_acked,
                    "writes_lost": r.writes_lost,
                    "writes_quarantined": r.writes_quarantined,
                    "k8s_lost": r.k8s_lost,
                }
            )
    return rows


def render_comparison(scenario: str, seed: int, rows: list[dict[str, Any]]) -> str:
    header = (
        "policy",
        "mode",
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
            f"{r['downtime_s']:.2f}",
            f"{r['split_brain_s']:.2f}",
            str(r["writes_acked"]),
            str(r["writes_lost"]),
            str(r["writes_quarantined"]),
            "ok" if r["ok"] else "FAIL " + ",".join(r["failed"]),
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = [f"{scenario}, seed {seed}: the same fault schedule under every policy and mode"]
    lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    lines.append("  ".join("-" * w for w in widths))
    for row in body:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    return "\n".join(lines)
