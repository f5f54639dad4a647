"""Bookkeeping: violations, the timeline's spans and shading, and the metrics.

``_observe`` runs after every core decision, fault and ``run_until``: it
accounts write downtime and split-brain time up to now, watches for two
writable actives in ``safety-first`` (invariant 2), measures the gap after a
single failure of the active (invariant 7), and notes since when the cluster
has been converged (invariant 1).
"""

from __future__ import annotations

from hacore.roles import Role
from sims import invariants
from sims.faults import fmt_time
from sims.progress import stuck_message
from sims.result import Span
from sims.simnode import SimNode
from sims.world import World


class Bookkeeping(World):
    """What the run records besides the node logs."""

    def _violate(self, name: str, detail: str) -> None:
        self.violations.append(f"{name}: at {fmt_time(self.now)}: {detail}")

    def _out_of_budget(self, why: str, events: int) -> None:
        """A budget ran out (see :mod:`sims.progress`): the run stops, reported."""
        super()._out_of_budget(why, events)
        self._violate("progress", stuck_message(events, self.now, why))

    def _note_catch_up(self, nodes: list[SimNode]) -> None:
        """``nodes`` resume, get their disk back or restart now: what they missed
        arrives at once (the progress invariant's allowance)."""
        for n in nodes:
            self.catch_up.setdefault(n.name, []).append(self.now)

    def _span(self, n: SimNode, label: str, epoch: int) -> None:
        old = self.open_span.get(n.name)
        if old is not None:
            if old.label == label and old.epoch == epoch:
                return
            old.end = self.now
        span = Span(n.name, self.now, None, label, epoch)
        self.spans.append(span)
        self.open_span[n.name] = span

    def _shade(self, node: str, what: str) -> None:
        self.open_shade[node] = (self.now, node, what)

    def _unshade_node(self, node: str) -> None:
        old = self.open_shade.pop(node, None)
        if old is not None:
            self.shaded.append((old[0], self.now, old[1], old[2]))

    def _unshade(self, key: str) -> None:
        old = self.open_shade.pop(key, None)
        if old is not None:
            self.shaded.append((old[0], self.now, old[1], old[2]))

    def _observe(self) -> None:
        """Account downtime and split-brain time up to now, then sample the counts."""
        now = self.now
        elapsed = now - self.m_last
        if elapsed > 0 and self.m_last >= self.p.chaos_start_us:
            if self.m_writable == 0:
                self.downtime += elapsed
            if self.m_active >= 2:
                self.split_brain += elapsed
        self.m_last = now
        writable = 0
        active = 0
        for n in self.data:
            if n.up and n.role is Role.ACTIVE:
                active += 1
                if self.writable(n):
                    writable += 1
        self.m_writable = writable
        self.m_active = active
        broken = invariants.no_two_writable_now(self, writable)
        if broken:
            self._violate("one-active-per-epoch", broken)
        if self.failure_at is not None:
            if writable == 0 and self.gap_start is None:
                self.gap_start = now
            elif writable > 0 and self.gap_start is not None:
                self.max_gap_after_failure = max(self.max_gap_after_failure, now - self.gap_start)
                self.gap_start = None
        if now >= self.last_heal:
            if self.converged():
                if self.converged_since is None:
                    self.converged_since = now
            else:
                self.converged_since = None

    def converged(self) -> bool:
        """Invariant 1's predicate, now (see :func:`sims.invariants.converged`)."""
        return invariants.converged(self)
