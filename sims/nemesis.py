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
from sims.faults import SECOND, Fault, ScheduleError, check_schedule
from sims.simnode import SimNode
from sims.world import World


def majorities_ring(order: list[int]) -> list[tuple[int, int]]:
    """Jepsen's majorities ring over ``order`` (the members in ring order): every
    member sees a majority of the members, itself included, and no two members see
    the same majority. Returns the blocked directed links ``(src, dst)``: ``dst``
    does not hear ``src``.

    Jepsen's ``majorities-ring-perfect`` slides a window of ``m`` (a majority)
    around the ring and gives each window to the member at its centre, which drops
    everyone outside it. For an odd ``m`` that is the symmetric ring "everyone
    within ``m // 2`` hops"; for an even ``m`` the window is lopsided (one-way
    links). Where it fits (n >= 4) the even case is widened by one member to the
    symmetric ring of radius ``m // 2``, still a majority and still distinct per
    member (2 * (m // 2) + 1 < n), as Jepsen's stochastic variant keeps links
    symmetric. With n = 3 (m = 2) a symmetric ring cannot give distinct majorities,
    so it stays Jepsen's one-way ring: each member hears only its predecessor.
    Below 3 members no such grudge exists (:class:`ScheduleError`).
    """
    n = len(order)
    if n < 3:
        raise ScheduleError(
            f"partition ring needs at least 3 members (nodes plus witness), have {n}: "
            "no grudge gives each member a different majority"
        )
    m = n // 2 + 1
    back = m // 2
    ahead = back if m % 2 or 2 * back + 1 < n else back - 1
    blocked: list[tuple[int, int]] = []
    for i, dst in enumerate(order):
        for j, src in enumerate(order):
            offset = (j - i) % n  # src is ``offset`` hops after dst
            if src != dst and not (offset <= ahead or n - offset <= back):
                blocked.append((src, dst))
    return blocked


class Nemesis(World):
    """Apply a fault at its instant; the manual policy's operator."""

    def inject(self, fault: Fault) -> None:
        """Add a fault while running (the fuzzer). Faults run last at their instant
        (priority 2), so a run with the same faults scheduled up front is identical."""
        check_schedule((fault,), len(self.nodes))
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
            self.galera.recompute()
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
                if n.up and not n.paused:
                    self._drain(n)
        elif kind == "noise":
            self.loss = float(f.target or "0") / 100
            self.dup = float(f.arg or "0") / 100
        elif kind == "resolve":
            self._operator_resolve()
        elif kind == "switchover":
            for n in self._targets("active"):
                if n.core is not None and not n.paused:
                    self._feed(n, inp.OperatorCommand(self.now, Command.SWITCHOVER))
        if kind in ("restart", "resume", "diskok"):
            self._note_catch_up(self._targets(f.target))
        self._mark_fault(f, names)
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
        # One answer per split-brain, however the nodes freeze over time: the
        # operator chooses among every active involved (the frozen nodes and the
        # peers they are frozen against), not among those frozen at this instant,
        # or a node frozen a moment later would be told a different winner.
        names = {n.name for n in frozen}
        for n in frozen:
            assert n.core is not None
            names.update(peer for peer, _ in n.core.state.frozen_against)
        contenders = [n for n in self.data if n.up and n.name in names]
        assert all(n.spec is not None for n in contenders)
        winner = max(contenders, key=lambda x: (x.spec.priority if x.spec else 0, -x.index))
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
            self.nemesis_rng.random.shuffle(order)
            if spec == "bridge":
                mid = len(order) // 2
                left, bridge, right = order[:mid], order[mid], order[mid + 1 :]
                for a in left:
                    for b in right:
                        one_way += [(a, b), (b, a)]
                del bridge
            else:
                one_way = majorities_ring(order)
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
        self.galera.recompute()
