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
- Timers: each ``ArmVrrpTimer`` schedules a ``VrrpTimerFired``; the router ignores
  stale generations. A killed and restarted node gets a new *incarnation* and
  timers of an earlier incarnation are dropped here (the router's own
  generation counter starts over).
- Iteration is over sorted names only: same inputs, same outputs.

keepalived's own timing (``timing``, a :class:`sims.keepalived_timing.KeepalivedTiming`
of samples measured in the lab; ``EXACT`` by default, which has none), every
draw from one stream seeded by the run's seed, separate from the loss stream:

- start-up latency: a ``start`` at t runs the router's Start at t plus a drawn
  latency; nodes started at the same instant are launched one after the other,
  each later one a drawn launch gap after the one before (which can be
  negative: start order decides an equal-priority race most of the time, not
  always, as in the lab);
- late timers: every timer fires a drawn lateness after its due time (the
  Adver_Timer and the Master_Down_Timer each from their own samples: a loaded
  master's adverts are late far more often than a backup's down timer), and
  the router re-arms from when it actually fired (keepalived's adverts drift so);
- unicast adverts go peer by peer in address order, a drawn gap apart (a new
  master's first advert has its own, longer gaps): a node killed between two
  sends leaves the later peers an advert behind;
- the notify FIFO: every reported state (and each ``MASTER_RX_LOWER_PRI``)
  becomes a line a drawn lag later, a node's lines in order (``lines``).
  ``transitions`` keeps the model's own instants.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from hacore.roles import VrrpStatus
from hacore.vrrp import (
    AdvertReceived,
    ArmVrrpTimer,
    FaultCleared,
    FaultRaised,
    LowerPriorityReported,
    PriorityChanged,
    SendAdvert,
    Shutdown,
    Start,
    StateChanged,
    Stimulus,
    TimerKind,
    VrrpConfig,
    VrrpRouter,
    VrrpTimerFired,
    step,
)
from sims.keepalived_timing import EXACT, KeepalivedTiming, draw

__all__ = ["Control", "FifoLine", "LowerPriorityLine", "SimTransition", "VrrpSim"]

DEFAULT_LINK_DELAY_US = 200


@dataclass(frozen=True, slots=True)
class SimTransition:
    time_us: int
    node: str
    old: VrrpStatus
    new: VrrpStatus
    priority: int


@dataclass(frozen=True, slots=True)
class LowerPriorityLine:
    """A ``MASTER_RX_LOWER_PRI`` line the node's keepalived would write."""

    time_us: int
    node: str
    priority: int


@dataclass(frozen=True, slots=True)
class FifoLine:
    """A notify_fifo line as keepalived would write it, at the time it would appear."""

    time_us: int
    node: str
    word: str  # BACKUP, MASTER, FAULT, STOP, MASTER_RX_LOWER_PRI
    priority: int


@dataclass(frozen=True, slots=True)
class _Wire:
    """One unicast send of an advert still to go out (the sender may die first)."""

    dst: str
    advert: SendAdvert


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
    what: Stimulus | Control | _Wire = field(compare=False)


class VrrpSim:
    def __init__(
        self,
        configs: Mapping[str, VrrpConfig],
        *,
        link_delay_us: int = DEFAULT_LINK_DELAY_US,
        seed: int = 0,
        timing: KeepalivedTiming = EXACT,
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
        self.timing = timing
        self.timing_rng = random.Random(f"keepalived-timing-{seed}")
        self.now = 0
        self.routers = {n: VrrpRouter.initial(c) for n, c in self.configs.items()}
        self.incarnation = dict.fromkeys(self.names, 0)
        self.cuts: set[tuple[str, str]] = set()
        self.loss_pct: dict[str, int] = {}
        self.transitions: list[SimTransition] = []
        self.adverts: list[SentAdvert] = []
        self.lower_priority_lines: list[LowerPriorityLine] = []
        self.lines: list[FifoLine] = []
        self._line_at: dict[str, int] = {}
        self._launch: tuple[int, int] = (-1, 0)  # (instant, when the last launch there starts)
        self._heap: list[_Item] = []
        self._seq = 0

    # -------------------------------------------------------- scheduling --

    def _push(self, at: int, node: str, what: Stimulus | Control | _Wire) -> None:
        if at < self.now:
            raise ValueError(f"cannot schedule at {at} µs, before now ({self.now} µs)")
        self._seq += 1
        heapq.heappush(self._heap, _Item(at, self._seq, node, self.incarnation.get(node, 0), what))

    def at(self, time_us: int, op: str, node: str = "", **kw: object) -> None:
        """Schedule a control: ``sim.at(t, "kill", "n1")``, ``sim.at(t, "partition",
        groups=[["n1"], ["n2"]])``, ``sim.at(t, "heal")``, ``sim.at(t, "uncut",
        pairs=[("n2", "n1")])``, ``sim.at(t, "priority", "n1", value=50)``,
        ``sim.at(t, "loss", "n1", value=30)``."""
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
        if op == "uncut":  # ``pairs=[(src, dst), ...]``: those directions carry again
            pairs = kw.get("pairs")
            assert isinstance(pairs, Sequence)
            directed = tuple((str(p[0]), str(p[1])) for p in pairs)
            for x in (n for p in directed for n in p):
                if x not in self.configs:
                    raise ValueError(f"uncut: unknown node {x!r}")
            self._push(time_us, "", Control("uncut", pairs=directed))
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
            elif item.incarnation != self.incarnation.get(item.node, 0):
                continue  # of a killed incarnation: its timers and unsent adverts die with it
            elif isinstance(item.what, _Wire):
                self._deliver(item.node, item.what.dst, item.what.advert)
            else:
                self._stimulate(item.node, item.what)
        self.now = max(self.now, time_us)

    def _control(self, c: Control) -> None:
        if c.op == "start":
            latency = self._launch_latency()
            if latency:
                self._push(self.now + latency, c.node, Start(self.now + latency))
            else:
                self._stimulate(c.node, Start(self.now))
        elif c.op == "stop":
            self._stimulate(c.node, Shutdown(self.now))
        elif c.op == "kill":
            self.incarnation[c.node] += 1
            self.routers[c.node] = VrrpRouter.initial(self.configs[c.node])
        elif c.op == "restart":
            if self.routers[c.node].state not in (VrrpStatus.INIT, VrrpStatus.STOP):
                self._stimulate(c.node, Shutdown(self.now))
            self._stimulate(c.node, Start(self.now))
        elif c.op == "cut":
            self.cuts.update(c.pairs)
        elif c.op == "uncut":
            self.cuts.difference_update(c.pairs)
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

    def _launch_latency(self) -> int:
        """keepalived's start-up: a drawn latency, and one launch after another for
        nodes started at the same instant (each a drawn gap after the previous)."""
        t = self.timing
        if not t.start_latency_us and not t.launch_gap_us:
            return 0
        instant, last = self._launch
        if instant == self.now:
            latency = max(0, last + draw(self.timing_rng, t.launch_gap_us))
        else:
            latency = draw(self.timing_rng, t.start_latency_us)
        self._launch = (self.now, latency)
        return latency

    def _stimulate(self, node: str, stimulus: Stimulus) -> None:
        router, actions = step(self.routers[node], stimulus)
        self.routers[node] = router
        becomes_master = any(
            isinstance(a, StateChanged) and a.new is VrrpStatus.MASTER for a in actions
        )
        for action in actions:
            if isinstance(action, ArmVrrpTimer):
                late = (
                    self.timing.down_timer_late_us
                    if router.timer_kind is TimerKind.MASTER_DOWN
                    else self.timing.timer_late_us
                )
                fires = action.due + draw(self.timing_rng, late)
                self._push(
                    max(fires, self.now),
                    node,
                    VrrpTimerFired(max(fires, self.now), action.generation),
                )
            elif isinstance(action, SendAdvert):
                self._send(node, action, first=becomes_master)
            elif isinstance(action, StateChanged):
                self.transitions.append(
                    SimTransition(self.now, node, action.old, action.new, action.priority)
                )
                self._line(
                    node, action.new.value, action.priority, action, isinstance(stimulus, Start)
                )
            elif isinstance(action, LowerPriorityReported):
                self.lower_priority_lines.append(LowerPriorityLine(self.now, node, action.priority))
                self._line(node, "MASTER_RX_LOWER_PRI", action.priority, action, False)
            # CancelVrrpTimer: nothing to do, the generation makes the old timer stale

    def _line(self, node: str, word: str, priority: int, action: object, at_start: bool) -> None:
        t = self.timing
        if word == "MASTER":
            lag = draw(self.timing_rng, t.notify_lag_master_us)
        elif at_start:
            lag = draw(self.timing_rng, t.backup_line_us)
        else:
            lag = draw(self.timing_rng, t.notify_lag_backup_us)
        at = max(self.now + max(0, lag), self._line_at.get(node, 0))
        self._line_at[node] = at
        self.lines.append(FifoLine(at, node, word, priority))

    def fifo_lines(self) -> list[FifoLine]:
        """Every node's fifo lines in time order (a node's own are in order already)."""
        return sorted(self.lines, key=lambda x: (x.time_us, x.node))

    def _dropped(self, src: str, dst: str) -> bool:
        if (src, dst) in self.cuts:
            return True
        for end in (src, dst):
            pct = self.loss_pct.get(end, 0)
            if pct and self.rng.randrange(100) < pct:
                return True
        return False

    def _send(self, src: str, advert: SendAdvert, *, first: bool = False) -> None:
        self.adverts.append(SentAdvert(self.now, src, advert.priority))
        gaps = self.timing.send_gap_first_us if first else self.timing.send_gap_us
        at = self.now
        for dst in self.names:
            if dst == src:
                continue
            if at == self.now:
                self._deliver(src, dst, advert)
            else:
                self._push(at, src, _Wire(dst, advert))
            at += draw(self.timing_rng, gaps)

    def _deliver(self, src: str, dst: str, advert: SendAdvert) -> None:
        if self._dropped(src, dst):
            return
        due = self.now + self.link_delay_us
        sender = self.configs[src].address
        self._push(due, dst, AdvertReceived(due, advert.priority, advert.interval_us, sender))

    # ---------------------------------------------------------- queries --

    def state(self, node: str) -> VrrpStatus:
        return self.routers[node].state

    def masters(self) -> list[str]:
        return [n for n in self.names if self.routers[n].state is VrrpStatus.MASTER]
