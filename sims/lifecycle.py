"""Node lifecycle (boot, crash) and the simulator's driver of the dispatcher.

A data node runs ``hacore.node.Node`` over its :class:`~sims.simnode.SimLog`,
inside a :class:`hacore.dispatch.Dispatcher`: the same runtime code a real
node runs. What the simulated world observes reaches it as an input stamped
with the virtual time (:meth:`NodeLifecycle._feed`); the dispatcher answers
with jobs, which this driver carries out through the node's port fakes
(:mod:`sims.node_ports`) with :func:`hacore.dispatch.perform`. The driver
decides only *when* a job completes: a plan step after a seeded duration from
``step_us`` times the node's ``slow`` factor, everything else at once. It has
no effect interpreter of its own (``tests/test_sim_runtime.py`` holds it to
that).

The simulator's own failure model wraps a plan step's job: injected failures
(``failsteps``) first, then transient failures during the chaos phase; a
fraction of successful steps is performed twice on purpose and must leave
the same outcome (invariant 6).

Every event handler first drops events of a previous incarnation (``_alive``)
and queues events for a paused node until it resumes (``_defer``). A crash
loses everything volatile (the core and its dispatcher, the VRRP router,
timers, running services) and keeps the log and the on-disk Galera state; a
boot recovers the core from the log and boots its dispatcher (``Booted``
first).
"""

from __future__ import annotations

import functools

from hacore import events as ev
from hacore import inputs as inp
from hacore import vrrp
from hacore.decider import Decision
from hacore.dispatch import Dispatcher, Job, Op, perform
from hacore.node import Node
from hacore.ports import Done, Failed, Outcome
from hacore.roles import Role, VrrpStatus
from hacore.state import NodeState
from sims import invariants
from sims.coverage import active_recorder
from sims.galera import ROLE_HELD, GaleraFake
from sims.node_ports import node_ports
from sims.simnode import SimNode
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
    """Boot and crash members; drive each data node's dispatcher."""

    _decided_since_observe = False

    def _boot(self, index: int) -> None:
        n = self.nodes[index]
        if n.up:
            return
        n.up = True
        n.paused = False
        n.inc += 1
        n.last_heard = {}
        n.lease_heard = {}
        n.believed_up = {}
        n.fenced = True
        n.fifo_at = 0
        self._span(n, "standby" if not n.is_witness else "witness", 0)
        if n.spec is not None:
            core = Node.recover(self.config, n.name, n.log)
            n.core = core
            recorder = active_recorder()  # a campaign's table coverage; None otherwise
            n.runtime = Dispatcher(
                core,
                observer=functools.partial(self._decided, n),
                on_input=None if recorder is None else functools.partial(recorder.record, core.ctx),
            )
            n.ports = node_ports(self, n)
            n.role = core.state.role
            n.g_held = n.role in ROLE_HELD
            # After a total outage MariaDB waits for the bootstrap rule (SimGalera.tend).
            n.g_outage = self.galera.total_outage(n)
            if n.g_outage:
                n.g_held = True
                self.push(self.now + self.p.advert_us, self._galera_tend, (index, n.inc))
            cfg = vrrp.VrrpConfig(n.spec.priority, self.p.advert_us, n.spec.address)
            n.router = vrrp.VrrpRouter.initial(cfg)
            self._run(n, n.runtime.boot(self.now))
            self._observe_decisions()
            self._vrrp(n, vrrp.Start(self.now))
        for other in self.nodes:
            if other is not n:
                n.last_heard[other.name] = self.now
                n.believed_up[other.name] = False
        self.galera.recompute()
        self.push(self.now + self.net.draw(0, self.p.advert_us), self._tick, (index, n.inc))

    def _crash(self, n: SimNode) -> None:
        if not n.up:
            return
        n.up = False
        n.paused = False
        n.deferred = []
        n.inc += 1
        n.core = None
        n.runtime = None
        n.ports = None
        n.router = None
        n.fenced = True
        self.k3s.crashed(n)  # before litestream's state goes: what it never shipped
        n.k3s_running = False
        n.litestream_on = False
        n.g_primary = False  # grastate/gvwstate (gid, view, history) survive on disk
        self._span(n, "down", 0)
        self.galera.recompute()
        self._observe()

    # ------------------------------------------------------------ driver ----

    def _feed(self, n: SimNode, received: inp.Input) -> None:
        """Hand one observation to the node's dispatcher and carry out its jobs."""
        runtime = n.runtime
        assert runtime is not None
        self._run(n, runtime.offer(received))
        self._observe_decisions()

    def _drain(self, n: SimNode) -> None:
        """The disk has room again: the waiting observations go in, in order."""
        runtime = n.runtime
        if runtime is not None:
            self._run(n, runtime.retry())
            self._observe_decisions()

    def _run(self, n: SimNode, jobs: list[Job]) -> None:
        """Carry out jobs: a plan step completes later, anything else now."""
        runtime, ports = n.runtime, n.ports
        assert runtime is not None and ports is not None
        for job in jobs:
            if job.step is not None:
                lo, hi = self.p.step_us
                done_at = self.now + self.steps_rng.draw(lo, hi) * n.slow
                self.push(done_at, self._job_done, (n.index, n.inc, job))
            else:
                self._run(n, runtime.completed(job, perform(ports, job), self.now))

    def _galera_tend(self, arg: tuple[int, int]) -> None:
        """The runtime's look at a node held by a total outage (bootstrap or join)."""
        index, inc = arg
        n = self.nodes[index]
        if not self._alive(n, inc) or self._defer(n, self._galera_tend, arg):
            return
        held = self.galera.tend(n)
        if held:
            self.push(self.now + self.p.advert_us, self._galera_tend, arg)
        else:
            self._observe()

    def _view_change_due(self, n: SimNode, job: Job) -> int | None:
        """A make_primary that may bootstrap waits for Galera's view change, like the
        real adapter (GaleraFake.view_change_due)."""
        ports = n.ports
        if ports is None or not isinstance(ports.galera, GaleraFake):
            return None
        for call in job.calls:
            if call.op is Op.GALERA_MAKE_PRIMARY:
                return ports.galera.view_change_due(bootstrap_allowed=call.flag)
        return None

    def _job_done(self, arg: tuple[int, int, Job]) -> None:
        index, inc, job = arg
        n = self.nodes[index]
        if not self._alive(n, inc) or self._defer(n, self._job_done, arg):
            return
        due = self._view_change_due(n, job)
        if due is not None and due > self.now:
            self.push(due, self._job_done, arg)  # after the settle event queued for then
            return
        runtime = n.runtime
        assert runtime is not None
        self._run(n, runtime.completed(job, self._step_outcome(n, job), self.now))
        self._observe_decisions()

    def _step_outcome(self, n: SimNode, job: Job) -> Outcome:
        """A plan step's outcome under the simulator's failure model."""
        if n.fail_next > 0:
            n.fail_next -= 1
            return Failed("injected failure")
        rate = self.p.step_fail_rate
        if self.chaos and rate and self.steps_rng.chance(rate):
            return Failed("transient failure")
        ports = n.ports
        assert ports is not None
        outcome = perform(ports, job)
        if isinstance(outcome, Done) and self.steps_rng.chance(self.p.double_step_rate):
            before = invariants.fingerprint(self, n)
            again = perform(ports, job)
            self.double_checks += 1
            after = invariants.fingerprint(self, n)
            reason = "" if isinstance(again, Done) else f"{again}"
            step = job.step.step if job.step is not None else job.key
            broken = invariants.idempotent_steps_now(n.name, step, before, after, reason)
            if broken:
                self._violate("idempotent-steps", broken)
        return outcome

    def _core_timer(self, arg: tuple[int, int, int]) -> None:
        index, inc, timer_id = arg
        n = self.nodes[index]
        if not self._alive(n, inc) or self._defer(n, self._core_timer, arg):
            return
        runtime = n.runtime
        assert runtime is not None
        self._run(n, runtime.timer_fired(timer_id, self.now))
        self._observe_decisions()

    # ------------------------------------------------ watching decisions ----

    def _decided(self, n: SimNode, before: NodeState, decision: Decision) -> None:
        """The dispatcher persisted a decision: check the live invariants, record it."""
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
        self._decided_since_observe = True

    def _observe_decisions(self) -> None:
        """The metrics after the jobs of any decision made since the last look."""
        if self._decided_since_observe:
            self._decided_since_observe = False
            self._observe()

    def _role(self, n: SimNode, role: Role, epoch: int) -> None:
        n.role = role
        self.timeline.append((self.now, n.name, f"{role} (epoch {epoch})"))
        self._span(n, str(role), epoch)
        if role is Role.ACTIVE:
            broken = invariants.one_active_per_epoch_now(self.epoch_owner, n.name, epoch)
            if broken:
                self._violate("one-active-per-epoch", broken)

    def _fifo(self, n: SimNode, state: VrrpStatus, priority: int, lower: bool = False) -> None:
        lo, hi = self.p.fifo_delay_us
        at = max(self.now + self.fifo_rng.draw(lo, hi), n.fifo_at)
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
