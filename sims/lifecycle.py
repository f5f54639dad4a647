"""Node lifecycle (boot, crash) and feeding the real core.

A data node runs ``hacore.node.Node`` over its :class:`~sims.simnode.SimLog`.
What the simulated world observes reaches the core as an input stamped with
the virtual time (:meth:`NodeLifecycle._feed`); the core's effects drive the
simulated services (:meth:`NodeLifecycle._effect`). Every event handler first
drops events of a previous incarnation (``_alive``) and queues events for a
paused node until it resumes (``_defer``). A crash loses everything volatile
(the core, the VRRP router, timers, running services) and keeps the log and
the on-disk Galera state; a boot recovers the core from the log and tells it
``Booted``.
"""

from __future__ import annotations

from hacore import effects as fx
from hacore import events as ev
from hacore import inputs as inp
from hacore import vrrp
from hacore.node import Node
from hacore.roles import Role, VrrpStatus
from sims import invariants
from sims.coverage import active_recorder
from sims.simnode import DiskFull, SimNode
from sims.world import World

# Core events worth a line in the timeline.
_NOTABLE = (ev.SplitBrainDetected, ev.SplitBrainResolved, ev.Frozen, ev.QuorumLost)


def _describe(event: ev.Event) -> str:
    if isinstance(event, ev.SplitBrainDetected):
        return f"split-brain detected with {event.peer} (epoch {event.peer_epoch})"
    if isinstance(event, ev.SplitBrainResolved):
        return f"split-brain resolved: {event.winner} wins ({event.reason}, {event.policy})"
    if isinstance(event, ev.Frozen):
        return f"frozen (manual policy) against {event.peer}"
    if isinstance(event, ev.QuorumLost):
        return f"quorum lost ({event.votes} of {event.needed} votes)"
    return event.TYPE


class NodeLifecycle(World):
    """Boot and crash members; feed the core and carry out its effects."""

    def _boot(self, index: int) -> None:
        n = self.nodes[index]
        if n.up:
            return
        n.up = True
        n.paused = False
        n.inc += 1
        n.timers = {}
        n.last_heard = {}
        n.lease_heard = {}
        n.believed_up = {}
        n.fenced = True
        n.fifo_at = 0
        self._span(n, "standby" if not n.is_witness else "witness", 0)
        if n.spec is not None:
            n.core = Node.recover(self.config, n.name, n.log)
            n.role = n.core.state.role
            n.g_held = n.role in (Role.ACTIVE, Role.PROMOTING, Role.DEMOTING)
            cfg = vrrp.VrrpConfig(n.spec.priority, self.p.advert_us, n.spec.address)
            n.router = vrrp.VrrpRouter.initial(cfg)
            n.backlog = []
            self._feed(n, inp.Booted(self.now))
            self._vrrp(n, vrrp.Start(self.now))
        for other in self.nodes:
            if other is not n:
                n.last_heard[other.name] = self.now
                n.believed_up[other.name] = False
        self._galera_recompute()
        self.push(self.now + self.draw(0, self.p.advert_us), self._tick, (index, n.inc))

    def _crash(self, n: SimNode) -> None:
        if not n.up:
            return
        n.up = False
        n.paused = False
        n.deferred = []
        n.inc += 1
        n.core = None
        n.router = None
        n.timers = {}
        n.fenced = True
        n.k3s_running = False
        n.litestream_on = False
        n.g_primary = False  # grastate/gvwstate (gid, view, history) survive on disk
        self._span(n, "down", 0)
        self._galera_recompute()
        self._observe()

    # ------------------------------------------------------- core feeding ----

    def _feed(self, n: SimNode, received: inp.Input) -> None:
        """Hand one observation to the core, behind any that still wait for the disk."""
        if n.backlog:
            n.backlog.append(received)
            self._drain(n)
            return
        if not self._decide(n, received):
            n.backlog.append(received)

    def _drain(self, n: SimNode) -> None:
        """Retry the waiting observations in order; stop at the first the log refuses."""
        while n.backlog and n.core is not None:
            if not self._decide(n, n.backlog[0]):
                return
            n.backlog.pop(0)

    def _decide(self, n: SimNode, received: inp.Input) -> bool:
        """One decision, persisted before acting; False when the log refused it."""
        core = n.core
        assert core is not None
        before = core.state
        try:
            decision = core.handle(received)
        except DiskFull:
            self.append_failures += 1
            return False
        recorder = active_recorder()  # a campaign's table coverage; None otherwise
        if recorder is not None:
            recorder.record(core.ctx, before, received)
        if not decision.events:
            return True
        after = decision.state
        broken = invariants.epochs_monotonic_now(n.name, before, after)
        if broken:
            self._violate("epochs-monotonic", broken)
        if after.epoch != before.epoch:
            self.epochs_marked.append((self.now, n.name, after.epoch))
        if after.role is not before.role or after.role is not n.role:
            self._role(n, after.role, after.epoch)
        for event in decision.events:
            if isinstance(event, _NOTABLE):
                self.timeline.append((self.now, n.name, _describe(event)))
        for effect in decision.effects:
            self._effect(n, effect)
        self._observe()
        return True

    def _role(self, n: SimNode, role: Role, epoch: int) -> None:
        n.role = role
        self.timeline.append((self.now, n.name, f"{role} (epoch {epoch})"))
        self._span(n, str(role), epoch)
        if role is Role.ACTIVE:
            broken = invariants.one_active_per_epoch_now(self.epoch_owner, n.name, epoch)
            if broken:
                self._violate("one-active-per-epoch", broken)

    def _effect(self, n: SimNode, effect: fx.Effect) -> None:
        if isinstance(effect, fx.RunStep):
            lo, hi = self.p.step_us
            dur = self.draw(lo, hi) * n.slow
            self.push(self.now + dur, self._step_done, (n.index, n.inc, effect))
        elif isinstance(effect, fx.StartTimer):
            n.timers[effect.timer_id] = effect.due
            self.push(
                max(effect.due, self.now), self._core_timer, (n.index, n.inc, effect.timer_id)
            )
        elif isinstance(effect, fx.CancelTimer):
            n.timers.pop(effect.timer_id, None)
        elif isinstance(effect, fx.Announce):
            self._send_heartbeats(n)
        elif isinstance(effect, fx.SetPriorityYield):
            assert n.spec is not None
            prio = 1 if effect.yielded else n.spec.priority
            self._vrrp(n, vrrp.PriorityChanged(self.now, prio))
        elif isinstance(effect, fx.FenceWrites):
            n.fenced = effect.fenced
        elif isinstance(effect, fx.StopServices):
            n.k3s_running = False
            n.litestream_on = False
        elif isinstance(effect, fx.ProbeVrrp):
            if n.router is not None:
                r = n.router
                self._fifo(n, VrrpStatus(r.state.value), r.priority)

    def _core_timer(self, arg: tuple[int, int, int]) -> None:
        index, inc, timer_id = arg
        n = self.nodes[index]
        if not self._alive(n, inc) or self._defer(n, self._core_timer, arg):
            return
        if n.timers.pop(timer_id, None) is None:
            return  # cancelled
        self._feed(n, inp.TimerFired(self.now, timer_id))

    def _fifo(self, n: SimNode, state: VrrpStatus, priority: int, lower: bool = False) -> None:
        lo, hi = self.p.fifo_delay_us
        at = max(self.now + self.draw(lo, hi), n.fifo_at)
        n.fifo_at = at
        self.push(at, self._fifo_line, (n.index, n.inc, state, priority, lower))

    def _fifo_line(self, arg: tuple[int, int, VrrpStatus, int, bool]) -> None:
        index, inc, state, priority, lower = arg
        n = self.nodes[index]
        if not self._alive(n, inc) or self._defer(n, self._fifo_line, arg):
            return
        # a MASTER_RX_LOWER_PRI line is its own input kind (the core records it)
        kind = inp.VrrpLowerPriorityReported if lower else inp.VrrpReported
        self._feed(n, kind(self.now, state, priority))
