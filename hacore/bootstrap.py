"""The total-outage bootstrap: which node starts the new Galera cluster.

After every node went down (a power cut, all SIGKILLed), the runtime recovers
each node's position with ``mariadbd --wsrep-recover`` and hands the positions
here. The rule (Galera's own, made explicit and testable):

* the most advanced node bootstraps: the highest recovered seqno, never the
  node that merely came up first (bootstrapping a node behind would discard
  the others' acknowledged writes when they join it by SST);
* a node whose position cannot be recovered (seqno -1, nil uuid) is not a
  candidate, but it does not block the choice;
* a node not heard from yet blocks it: it may be the most advanced;
* positions of different histories (cluster uuids) are not comparable: an
  operator decides;
* ties go to the first node in the configured order, so every node computes
  the same answer from the same positions.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

NIL_UUID = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True, slots=True)
class RecoveredPosition:
    uuid: str
    seqno: int  # -1: the position could not be recovered

    @property
    def recoverable(self) -> bool:
        return self.seqno >= 0 and self.uuid != NIL_UUID


@dataclass(frozen=True, slots=True)
class BootstrapChoice:
    node: str | None  # None: nobody may bootstrap yet (see reason)
    reason: str


def choose_bootstrap(
    nodes: Sequence[str], positions: Mapping[str, RecoveredPosition | None]
) -> BootstrapChoice:
    """``positions[node]`` is the recovered position, or None when the node has not
    reported yet. ``nodes`` is the configured order (data nodes only)."""
    if len(set(nodes)) != len(nodes) or not nodes:
        raise ValueError("choose_bootstrap: nodes must be a non-empty list of distinct names")
    unknown = sorted(set(positions) - set(nodes))
    if unknown:
        raise ValueError(f"choose_bootstrap: positions for unconfigured nodes {unknown}")
    waiting = [n for n in nodes if positions.get(n) is None]
    if waiting:
        return BootstrapChoice(None, f"waiting for the recovered position of {', '.join(waiting)}")
    candidates = [(n, p) for n in nodes if (p := positions[n]) is not None and p.recoverable]
    if not candidates:
        return BootstrapChoice(None, "no node has a recoverable position: an operator decides")
    histories = sorted({p.uuid for _, p in candidates})
    if len(histories) > 1:
        return BootstrapChoice(
            None, f"positions of different histories ({', '.join(histories)}): an operator decides"
        )
    best_node, best = candidates[0]
    for n, p in candidates[1:]:
        if p.seqno > best.seqno:
            best_node, best = n, p
    skipped = [n for n in nodes if (q := positions[n]) is None or not q.recoverable]
    note = f"; not candidates (position unrecoverable): {', '.join(skipped)}" if skipped else ""
    return BootstrapChoice(best_node, f"{best_node} has the highest seqno {best.seqno}{note}")
