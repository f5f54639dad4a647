"""The nemesis: applying faults (see :mod:`sims.faults` for the schedule text).

Partitions are Jepsen-style grudges over directed links (isolate one node,
halves, majority ring, bridge, one-way); node faults are crash, restart,
pause/resume, slow and failing plan steps, and a full disk; ``noise`` adds
loss and duplication; ``resolve`` and ``switchover`` are operator commands.
A fault runs last at its instant (heap priority 2), so a schedule injected
while running (the fuzzer) and the same schedule given up front replay
identically.
"""

from __future__ import annotations

from typing import Any

from hacore import inputs as inp
from hacore.roles import Command, Policy, Role
from sims.faults import SECOND, Fault
from sims.simnode import SimNode
from sims.world import World


class Nemesis(World):
    """Apply a fault at its instant; the manual policy's operator."""

    def inject(self, fault: Fault) -> None:
        """Add a fault while running (the fuzzer). Faults run last at their instant
        (priority 2), so a run with the same faults scheduled up front is identical."""
        self.schedule = (*self.schedule, fault)
        self.push(fault.at, self._fault, fault, 2)

    def _targets(self, target: str) -> list[SimNode]:
        if target == "all":
            return list(self.data)
        if target == "active":
            actives = [n for n in self.data if n.up and n.role is Role.ACTIVE]
            return actives[:1] if actives else []
        node = self.by_name.get(target)
        return [node] if node is not None else []

    def _fault(self, f: Fault) -> None:
        kind = f.kind
        names = ",".join(n.name for n in self._targets(f.target)) if f.target else ""
        resolved = f"={names}" if names and names != f.target else ""
        what = f"fault {f.kind} {f.target}{resolved} {f.arg}".rstrip()
        self.timeline.append((self.now, "*", what))
        if kind == "partition":
            self._partition(f.target)
        elif kind == "heal":
            self.blocked = set()
            self.loss = self.dup = 0.0
            self._unshade("partition")
            self._galera_recompute()
        elif kind == "crash":
            for n in self._targets(f.target):
                if self.single_active_failure and self.failure_at is None and n.role is Role.ACTIVE:
                    self.failure_at = self.now
                self._crash(n)
        elif kind == "restart":
            for n in self._targets(f.target):
                self._boot(n.index)
        elif kind == "pause":
            for n in self._targets(f.target):
                if n.up and not n.paused:
                    n.paused = True
                    self._shade(n.name, "paused")
        elif kind == "resume":
            for n in self._targets(f.target):
                self._resume(n)
        elif kind == "slow":
            for n in self._targets(f.target):
                n.slow = max(1, int(f.arg or "1"))
        elif kind == "failsteps":
            for n in self._targets(f.target):
                n.fail_next = int(f.arg or "1")
        elif kind == "diskfull":
            for n in self._targets(f.target):
                n.log.full = True
                self._shade(n.name, "disk full")
        elif kind == "diskok":
            for n in self._targets(f.target):
                n.log.full = False
                self._unshade_node(n.name)
        elif kind == "noise":
            self.loss = float(f.target or "0") / 100
            self.dup = float(f.arg or "0") / 100
        elif kind == "resolve":
            self._operator_resolve()
        elif kind == "switchover":
            for n in self._targets("active"):
                if n.core is not None and not n.paused:
                    self._feed(n, inp.OperatorCommand(self.now, Command.SWITCHOVER))
        if self.now >= self.last_heal:
            self.chaos = False
            if self.p.policy is Policy.MANUAL and not self.operator_started:
                self.operator_started = True
                self.push(self.now + self.p.operator_delay_us, self._operator_poll, None)
        self._observe()

    def _resume(self, n: SimNode) -> None:
        if not n.paused:
            return
        n.paused = False
        self._unshade_node(n.name)
        pending, n.deferred = n.deferred, []
        for fn, arg in pending:
            self.push(self.now, fn, arg)

    def _operator_poll(self, _: Any) -> None:
        self._operator_resolve()
        if self.now + SECOND < self.end:
            self.push(self.now + SECOND, self._operator_poll, None)

    def _operator_resolve(self) -> None:
        frozen = [n for n in self.data if n.up and n.core is not None and n.core.state.frozen]
        if not frozen:
            return
        assert all(n.spec is not None for n in frozen)
        winner = max(frozen, key=lambda x: (x.spec.priority if x.spec else 0, -x.index))
        for n in frozen:
            if not n.paused:
                self._feed(n, inp.OperatorCommand(self.now, Command.RESOLVE, winner.name))

    def _partition(self, spec: str) -> None:
        members = [n.index for n in self.nodes]
        groups: list[list[int]] = []
        one_way: list[tuple[int, int]] = []
        if spec.startswith("isolate-"):
            who = spec[len("isolate-") :]
            targets = self._targets(who)
            if not targets:
                return
            lone = targets[0].index
            groups = [[lone], [m for m in members if m != lone]]
        elif spec == "halves":
            order = list(members)
            half = (len(order) + 1) // 2
            groups = [order[:half], order[half:]]
        elif spec in ("ring", "bridge"):
            order = list(members)
            self.rng.shuffle(order)
            if spec == "bridge":
                mid = len(order) // 2
                left, bridge, right = order[:mid], order[mid], order[mid + 1 :]
                for a in left:
                    for b in right:
                        one_way += [(a, b), (b, a)]
                del bridge
            else:
                n = len(order)
                reach = max(0, (self.total_votes // 2) // 2) if n > 3 else 0
                for i, a in enumerate(order):
                    for j, b in enumerate(order):
                        d = min((i - j) % n, (j - i) % n)
                        if a != b and d > max(reach, 1 if n > 3 else 0):
                            one_way.append((a, b))
        elif spec.startswith("oneway-"):
            parts = spec.split("-")
            if len(parts) == 3 and parts[1] in self.by_name and parts[2] in self.by_name:
                one_way.append((self.by_name[parts[1]].index, self.by_name[parts[2]].index))
        for gi, g in enumerate(groups):
            for h in groups[gi + 1 :]:
                for a in g:
                    for b in h:
                        one_way += [(a, b), (b, a)]
        self.blocked = set(one_way)
        self._unshade("partition")
        cut = sorted(
            {self.nodes[a].name for a, _ in one_way} | {self.nodes[b].name for _, b in one_way}
        )
        self.open_shade["partition"] = (self.now, "*", f"partition {spec}: {' '.join(cut)}")
        self._galera_recompute()
