"""``hacore history``: what a node's log says happened, in human time (like patronictl history).

Role changes, epochs, plans with each step's duration, split-brain
verdicts, freezes and operator rejections. Read from the event store
read-only; the running agent keeps writing (WAL lets readers in).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from adapters.agent.jsonlog import iso_time
from hacore import codec
from hacore import events as ev


def entries(messages: Iterable[codec.Message], since_us: int = 0) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    step_start: dict[tuple[int, str], int] = {}
    plan_start: dict[int, tuple[int, str]] = {}
    for m in messages:
        at = getattr(m, "at", 0)
        row: dict[str, Any] | None = None
        if isinstance(m, ev.RoleChanged):
            row = {"what": "role", "role": m.role.value, "reason": m.reason}
        elif isinstance(m, ev.EpochOpened):
            row = {"what": "epoch", "epoch": m.epoch}
        elif isinstance(m, ev.PlanStarted):
            plan_start[m.plan_id] = (at, m.kind.value)
            row = {"what": "plan started", "plan": m.plan_id, "kind": m.kind.value,
                   "steps": [str(s) for s in m.steps]}  # fmt: skip
        elif isinstance(m, ev.StepStarted):
            step_start[(m.plan_id, str(m.step))] = at
        elif isinstance(m, ev.StepCompleted):
            began = step_start.pop((m.plan_id, str(m.step)), None)
            took = None if began is None else round((at - began) / 1e6, 6)
            row = {"what": "step", "plan": m.plan_id, "step": str(m.step), "duration_s": took}
        elif isinstance(m, ev.StepAttemptFailed):
            row = {"what": "step failed", "plan": m.plan_id, "step": str(m.step),
                   "reason": getattr(m, "reason", "")}  # fmt: skip
        elif isinstance(m, ev.PlanFinished):
            began_kind = plan_start.pop(m.plan_id, None)
            row = {"what": "plan finished", "plan": m.plan_id, "outcome": m.outcome,
                   "duration_s": None if began_kind is None
                   else round((at - began_kind[0]) / 1e6, 6)}  # fmt: skip
        elif isinstance(m, ev.SplitBrainDetected):
            row = {"what": "split-brain detected", "peer": m.peer, "peer_epoch": m.peer_epoch}
        elif isinstance(m, ev.SplitBrainResolved):
            row = {"what": "split-brain resolved", "winner": m.winner, "reason": m.reason,
                   "policy": str(m.policy)}  # fmt: skip
        elif isinstance(m, ev.Frozen | ev.Unfrozen | ev.NodeBooted | ev.OperatorRejected):
            row = {"what": m.TYPE}
        if row is not None and at >= since_us:
            out.append({"at_us": at, "time": iso_time(at), **row})
    return out


def render(rows: list[dict[str, Any]]) -> str:
    lines = []
    for r in rows:
        rest = ", ".join(f"{k}={v}" for k, v in r.items() if k not in ("at_us", "time", "what"))
        lines.append(f"{r['time']}  {r['what']:<22} {rest}")
    return "\n".join(lines) if lines else "(no history)"
