"""A small deterministic discrete-event driver for N ``hacore.vrrp`` routers.

It plays keepalived in simulations and is the model side of the conformance
suite. Self-contained (it imports only ``hacore.vrrp`` and the standard
library) so the main simulator can reuse it as its VRRP layer.

- Virtual clock in integer microseconds; one heap keyed ``(time, seq)``, so
  events at the same time run in the order they were scheduled.
- Every advert goes to every other node (keepalived's ``unicast_peer`` list)
  and arrives ``link_delay_us`` later, unless the directed pair is cut when it
  is sent, or a seeded ``random.Random`` drops it (``loss``).
- ``kill`` is a crash (SIGKILL of the process group): the router vanishes with
  no advert and no report. ``stop`` is a clean shutdown (a master sends a
  priority-0 advert, STOP is reported). ``start`` after either begins afresh.
- Timers: each ``ArmTimer`` schedules a ``TimerFired``; the router ignores
  stale generations. A killed and restarted node gets a new *incarnation* and
  timers of an earlier incarnation are dropped here (the router's own
  generation counter starts over).
- Iteration is over sorted names only: same inputs, same outputs.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from hacore.vrrp import (
    AdvertReceived,
    ArmTimer,
    FaultCleared,
    FaultRaised,
    LowerPriorityReported,
    PriorityChanged,
    SendAdvert,
    Shutdown,
    Start,
    StateChanged,
    Stimulus,
    TimerFired,
    VrrpConfig,
    VrrpRouter,
    VrrpState,
    step,
)

__all__ = ["Control", "LowerPriorityLine", "SimTransition", "VrrpSim"]

DEFAULT_LINK_DELAY_US = 200


@dataclass(frozen=True, slots=True)
class SimTransition:
    time_us: int
    node: str
    old: VrrpState
    new: VrrpState
    priority: int


@dataclass(frozen=True, slots=True)
class LowerPriorityLine:
    """A ``MASTER_RX_LOWER_PRI`` line the node's keepalived would write."""

    time_us: int
    node: str
    priority: int


@dataclass(frozen=True, slots=True)
class SentAdvert:
    time_us: int
    node: str
    priority: int


@dataclass(frozen=True, slots=True)
class Control:
    """A scheduled operator/nemesis action: start, stop, kill, cut, uncut, heal, loss."""

    op: str
    node: str = ""
    pairs: tuple[tuple[str, str], ...] = ()
    value: int = 0


@dataclass(order=True, slots=True)
class _Item:
    time: int
    seq: int
    node: str = field(compare=False)
    incarnation: int = field(compare=False)
    what: Stimulus | Control = field(compare=False)


class VrrpSim:
    def __init__(
        self,
        configs: Mapping[str, VrrpConfig],
        *,
        link_delay_us: int = DEFAULT_LINK_DELAY_US,
        seed: int = 0,
    ) -> None:
        if link_delay_us < 0:
            raise ValueError(f"link_delay_us: must be >= 0, got {link_delay_us}")
        addresses = [c.address for c in configs.values()]
        if len(set(addresses)) != len(addresses):
            raise ValueError("configs: two nodes share a primary address")
        self.configs = dict(sorted(configs.items()))
        self.names = tuple(self.configs)
        self.link_delay_us = link_delay_us
        self.rng = random.Random(seed)
        self.now = 0
        self.routers = {n: VrrpRouter.initial(c) for n, c in self.configs.items()}
        self.incarnation = dict.fromkeys(self.names, 0)
        self.cuts: set[tuple[str, str]] = set()
        self.loss_pct: dict[str, int] = {}
        self.transitions: list[SimTransition] = []
        self.adverts: list[SentAdvert] = []
        self.lower_priority_lines: list[LowerPriorityLine] = []
        self._heap: list[_Item] = []
        self._seq = 0

    # -------------------------------------------------------- scheduling --

    def _push(self, at: int, node: str, what: Stimulus | Control) -> None:
        if at < self.now:
            raise ValueError(f"cannot schedule at {at} µs, before now ({self.now} µs)")
        self._seq += 1
        heapq.heappush(self._heap, _Item(at, self._seq, node, self.incarnation.get(node, 0), what))

    def at(self, time_us: int, op: str, node: str = "", **kw: object) -> None:
        """Schedule a control: ``sim.at(t, "kill", "n1")``, ``sim.at(t, "partition",
        groups=[["n1"], ["n2"]])``, ``sim.at(t, "heal")``, ``sim.at(t, "priority", "n1",
        value=50)``, ``sim.at(t, "loss", "n1", value=30)``."""
        if node and node not in self.configs:
            raise ValueError(f"node: unknown {node!r}")
        if op == "partition":
            groups = kw.get("groups")
            assert isinstance(groups, Sequence)
            self._push(time_us, node, Control("cut", pairs=self.partition_pairs(groups)))
            return
        if op == "isolate":
            self._push(time_us, "", Control("cut", pairs=self.partition_pairs([[node]])))
            return
        value = kw.get("value", 0)
        assert isinstance(value, int)
        self._push(time_us, node, Control(op, node=node, value=value))

    def partition_pairs(self, groups: Sequence[Iterable[str]]) -> tuple[tuple[str, str], ...]:
        """Every directed pair across groups; nodes not named form one more group."""
        named = [list(g) for g in groups]
        flat = [x for g in named for x in g]
        for x in flat:
            if x not in self.configs:
                raise ValueError(f"partition: unknown node {x!r}")
        rest = [x for x in self.names if x not in flat]
        if rest:
            named.append(rest)
        pairs: set[tuple[str, str]] = set()
        for i, g in enumerate(named):
            for h in named[i + 1 :]:
                for a in g:
                    for b in h:
                        pairs.add((a, b))
                        pairs.add((b, a))
        return tuple(sorted(pairs))

    # ---------------------------------------------------------- running --

    def run_until(self, time_us: int) -> None:
        """Process every event due at or before ``time_us``; the clock ends there."""
        while self._heap and self._heap[0].time <= time_us:
            item = heapq.heappop(self._heap)
            self.now = item.time
            if isinstance(item.what, Control):
                self._control(item.what)
            elif item.incarnation == self.incarnation.get(item.node, 0):
                self._stimulate(item.node, item.what)
        self.now = max(self.now, time_us)

    def _control(self, c: Control) -> None:
        if c.op == "start":
            self._stimulate(c.node, Start(self.now))
        elif c.op == "stop":
            self._stimulate(c.node, Shutdown(self.now))
        elif c.op == "kill":
            self.incarnation[c.node] += 1
            self.routers[c.node] = VrrpRouter.initial(self.configs[c.node])
        elif c.op == "restart":
            if self.routers[c.node].state not in (VrrpState.INIT, VrrpState.STOP):
                self._stimulate(c.node, Shutdown(self.now))
            self._stimulate(c.node, Start(self.now))
        elif c.op == "cut":
            self.cuts.update(c.pairs)
        elif c.op == "heal":
            self.cuts.clear()
            self.loss_pct.clear()
        elif c.op == "loss":
            self.loss_pct[c.node] = c.value
        elif c.op == "priority":
            self._stimulate(c.node, PriorityChanged(self.now, c.value))
        elif c.op == "fault":
            self._stimulate(c.node, FaultRaised(self.now))
        elif c.op == "fault_clear":
            self._stimulate(c.node, FaultCleared(self.now))
        else:
            raise ValueError(f"unknown control {c.op!r}")

    def _stimulate(self, node: str, stimulus: Stimulus) -> None:
        router, actions = step(self.routers[node], stimulus)
        self.routers[node] = router
        for action in actions:
            if isinstance(action, ArmTimer):
                self._push(action.due, node, TimerFired(action.due, action.generation))
            elif isinstance(action, SendAdvert):
                self._send(node, action)
            elif isinstance(action, StateChanged):
                self.transitions.append(
                    SimTransition(self.now, node, action.old, action.new, action.priority)
                )
            elif isinstance(action, LowerPriorityReported):
                self.lower_priority_lines.append(LowerPriorityLine(self.now, node, action.priority))
            # CancelTimer: nothing to do, the generation makes the old timer stale

    def _dropped(self, src: str, dst: str) -> bool:
        if (src, dst) in self.cuts:
            return True
        for end in (src, dst):
            pct = self.loss_pct.get(end, 0)
            if pct and self.rng.randrange(100) < pct:
                return True
        return False

    def _send(self, src: str, advert: SendAdvert) -> None:
        self.adverts.append(SentAdvert(self.now, src, advert.priority))
        sender = self.configs[src].address
        due = self.now + self.link_delay_us
        for dst in self.names:
            if dst == src or self._dropped(src, dst):
                continue
            self._push(due, dst, AdvertReceived(due, advert.priority, advert.interval_us, sender))

    # ---------------------------------------------------------- queries --

    def state(self, node: str) -> VrrpState:
        return self.routers[node].state

    def masters(self) -> list[str]:
        return [n for n in self.names if self.routers[n].state is VrrpState.MASTER]
