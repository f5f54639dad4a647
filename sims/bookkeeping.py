"""Bookkeeping: violations, the timeline's spans and shading, and the metrics.

``_observe`` runs after every core decision, fault and ``run_until``: it
accounts write downtime and split-brain time up to now, watches for two
writable actives in ``safety-first`` (invariant 2), measures the gap after a
single failure of the active (invariant 7), and notes since when the cluster
has been converged (invariant 1).
"""

from __future__ import annotations

from hacore.roles import Role, VrrpStatus
from hacore.timefmt import seconds
from sims import invariants
from sims.faults import Fault
from sims.progress import stuck_message
from sims.result import Span
from sims.simnode import SimNode
from sims.world import World


class Bookkeeping(World):
    """What the run records besides the node logs."""

    def _violate(self, name: str, detail: str) -> None:
        self.violations.append(f"{name}: at {seconds(self.now)}: {detail}")
        self.violation_marks.append((self.now, name, detail))

    def _lane(self, node: str, lane: str, on: bool) -> None:
        """Open or close the interval during which ``lane`` holds for ``node``."""
        key = (node, lane)
        start = self.lane_open.get(key)
        if on and start is None:
            self.lane_open[key] = self.now
        elif not on and start is not None:
            del self.lane_open[key]
            if self.now > start:
                self.lane_spans.append((node, lane, start, self.now))

    def _close_lanes(self) -> None:
        for node, lane in list(self.lane_open):
            self._lane(node, lane, False)

    def _mark_fault(self, f: Fault, names: str) -> None:
        """A labelled mark for the timeline: which members the fault cut off or hit."""
        if f.kind == "partition":
            label = f"partition {f.target}: {self._cut_text()}"
        elif f.kind == "noise":
            label = f"noise {f.target or 0}% loss {f.arg or 0}% dup"
        elif f.kind in ("heal", "resolve", "switchover"):
            label = {"heal": "heal", "resolve": "operator resolve"}.get(f.kind, "switchover")
        elif f.kind in ("slow", "failsteps"):
            label = f"{f.kind} {names or f.target} x{f.arg or 1}"
        elif f.target == "all":
            label = f"{f.kind} all"
        else:
            label = f"{f.kind} {names or f.target or '(no node)'}"
        self.fault_marks.append((self.now, f.kind, label))

    def _cut_text(self) -> str:
        """The partition as groups ("n1 | n2 witness") or, when links are cut one
        way only, as the cut links ("n1->n2")."""
        blocked = self.blocked
        symmetric = all((b, a) in blocked for a, b in sorted(blocked))
        if not blocked:
            return "nothing cut"
        if symmetric:
            groups: list[list[str]] = []
            placed: set[int] = set()
            for m in self.nodes:
                if m.index in placed:
                    continue
                group = [o for o in self.nodes if (m.index, o.index) not in blocked]
                if any(o.index in placed for o in group):
                    break  # not a clean grouping (a bridge): fall back to the links
                placed.update(o.index for o in group)
                groups.append([o.name for o in group])
            else:
                return " | ".join(" ".join(g) for g in groups)
        return " ".join(f"{self.nodes[a].name}->{self.nodes[b].name}" for a, b in sorted(blocked))

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
            is_writable = False
            if n.up and n.role is Role.ACTIVE:
                active += 1
                if self.writable(n):
                    writable += 1
                    is_writable = True
            self._sample_lanes(n, is_writable)
        cluster = (active >= 2, writable >= 2)
        if self.lane_last.get("*") != cluster:
            self.lane_last["*"] = cluster
            self._lane("*", "two-actives", cluster[0])
            self._lane("*", "split-brain", cluster[1])
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

    def _sample_lanes(self, n: SimNode, is_writable: bool) -> None:
        """The timeline's per-node lanes: the VIP (its VRRP router is MASTER),
        writable (as the clients see it) and frozen (the manual policy)."""
        router = n.router
        core = n.core
        sample = (
            router is not None and router.state is VrrpStatus.MASTER,
            is_writable,
            n.up and core is not None and core.state.frozen,
        )
        if self.lane_last.get(n.name) == sample:
            return  # the hot path: nothing changed since the last observation
        self.lane_last[n.name] = sample
        self._lane(n.name, "vip", sample[0])
        self._lane(n.name, "writable", sample[1])
        self._lane(n.name, "frozen", sample[2])

    def converged(self) -> bool:
        """Invariant 1's predicate, now (see :func:`sims.invariants.converged`)."""
        return invariants.converged(self)
