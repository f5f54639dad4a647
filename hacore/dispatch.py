"""The effect dispatcher: one runtime for simulated and real nodes.

A :class:`Dispatcher` owns one node's core (``hacore.node.Node``) and the rules
of the runtime around it, written once here instead of in each runtime:

* **Persist before acting.** Every input goes through ``Node.handle``, which
  appends it and its events before any effect is returned.
* **Booted first.** After a (re)start nothing else reaches the core before
  ``Booted`` is durable: earlier inputs wait behind it.
* **Refused observations wait, in order.** When the log refuses an append
  (disk full: any :class:`hacore.log.LogError`) the input is kept and retried
  in arrival order, never dropped (docs/findings.md rows 8 and 10): keepalived
  does not say MASTER twice. :meth:`Dispatcher.retry` drains the backlog.
* **Stale results are ignored.** A step outcome for a plan, step or attempt
  the core is no longer at never reaches it; a timer firing that was
  cancelled (or re-armed) is dropped.
* **Uncertain is not success.** An :class:`~hacore.ports.Uncertain` step
  outcome becomes ``StepFailed`` (the core then retries or gives up).

The dispatcher is **sans-I/O**: it never calls a port itself. It turns each
effect into a :class:`Job` (data: the port calls to make, in order) and each
job's :data:`~hacore.ports.Outcome` back into inputs. A *driver* carries jobs
out: the simulator's on virtual time (a plan step's job takes a drawn
duration), the agent's on asyncio (a task per job, bounded by its deadline).
Both call :func:`perform`, the one mapping from a call to a port method, so
neither has an effect interpreter of its own (docs/runtime.md).
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from hacore import effects as fx
from hacore import inputs as inp
from hacore.config import ClusterConfig
from hacore.decider import Decision
from hacore.log import LogError
from hacore.node import Node
from hacore.plans import StepName
from hacore.ports import Done, Failed, Outcome, PortName, Ports, Uncertain
from hacore.roles import Role
from hacore.state import NodeState


class Op(enum.StrEnum):
    """Every port operation, named ``port.operation``."""

    VIP_SET_PRIORITY_YIELD = "vip.set_priority_yield"
    VIP_PROBE = "vip.probe"
    GALERA_PROBE = "galera.probe"
    GALERA_MAKE_PRIMARY = "galera.make_primary"
    GALERA_REJOIN = "galera.rejoin"
    GALERA_FENCE_WRITES = "galera.fence_writes"
    GALERA_QUARANTINE = "galera.quarantine"
    DATASTORE_RESTORE = "datastore.restore_from_replica"
    DATASTORE_START_REPLICATION = "datastore.start_replication"
    DATASTORE_STOP_REPLICATION = "datastore.stop_replication"
    DATASTORE_QUARANTINE = "datastore.quarantine_newer_local"
    K3S_START = "k3s.start"
    K3S_STOP = "k3s.stop"
    K3S_READY = "k3s.ready"
    GLUSTER_PROBE = "gluster.probe"
    GLUSTER_HEAL = "gluster.heal"
    GLUSTER_RESYNC = "gluster.resync"
    GLUSTER_QUARANTINE = "gluster.quarantine_losing_copy"
    TRANSPORT_ANNOUNCE = "transport.announce"
    TIMERS_START = "timers.start"
    TIMERS_CANCEL = "timers.cancel"

    @property
    def port(self) -> PortName:
        return PortName(self.value.split(".", 1)[0])


@dataclass(frozen=True, slots=True)
class Call:
    """One port operation to make: data, so either driver can carry it out."""

    op: Op
    key: str
    deadline: int
    flag: bool = False  # bootstrap_allowed / yielded / fenced, per op
    timer_id: int = 0
    due: int = 0
    role: Role = Role.STANDBY
    epoch: int = 0


@dataclass(frozen=True, slots=True)
class Job:
    """The port calls one effect needs, in order.

    Calls run one after the other and the job stops at the first that is not
    :class:`Done`; a ``best_effort`` job (``StopServices``) makes every call
    and reports the worst outcome.
    """

    effect: fx.Effect
    calls: tuple[Call, ...]
    best_effort: bool = False

    @property
    def key(self) -> str:
        return self.effect.key

    @property
    def step(self) -> fx.RunStep | None:
        effect = self.effect
        return effect if isinstance(effect, fx.RunStep) else None


# What each plan step asks of the ports. Steps with no call are the core's own
# bookkeeping: the decision that started the plan confirmed the old active gone
# (peer lost, VRRP master), and mark_* only close the plan.
STEP_OPS: dict[StepName, tuple[Op, ...]] = {
    StepName.CONFIRM_OLD_ACTIVE_GONE: (),
    StepName.RESTORE_K3S_DB: (Op.DATASTORE_RESTORE,),
    StepName.START_K3S: (Op.K3S_START, Op.K3S_READY),
    StepName.MAKE_GALERA_PRIMARY: (Op.GALERA_MAKE_PRIMARY,),
    StepName.HEAL_GLUSTER: (Op.GLUSTER_HEAL,),
    StepName.START_REPLICATION: (Op.DATASTORE_START_REPLICATION,),
    StepName.MARK_ACTIVE: (),
    StepName.QUARANTINE_DIVERGENT: (
        Op.GALERA_QUARANTINE,
        Op.DATASTORE_QUARANTINE,
        Op.GLUSTER_QUARANTINE,
    ),
    StepName.STOP_REPLICATION: (Op.DATASTORE_STOP_REPLICATION,),
    StepName.STOP_K3S: (Op.K3S_STOP,),
    StepName.REJOIN_GALERA: (Op.GALERA_REJOIN,),
    StepName.RESYNC_GLUSTER: (Op.GLUSTER_RESYNC,),
    StepName.MARK_STANDBY: (),
}

# The service (hacore.config.Services field) each port belongs to: a disabled
# service's calls are left out of the bracketing steps (quarantine). Steps of
# a disabled service are already absent from the plan (hacore.plans).
_SERVICE_OF_PORT: dict[PortName, str] = {
    PortName.GALERA: "galera",
    PortName.DATASTORE: "k3s",
    PortName.K3S: "k3s",
    PortName.GLUSTER: "gluster",
}


@dataclass(frozen=True, slots=True)
class Budgets:
    """How long a port call may take, in microseconds of the runtime's clock.

    A plan step's calls get the core's step timeout (a result after it is
    stale anyway: the core's step-timeout timer has fired); the other
    effects' calls get ``effect_us``.
    """

    effect_us: int = 5_000_000


# Called after each persisted decision that has events, with the state before
# it: the simulator's invariants and timeline, the agent's metrics.
DecisionObserver = Callable[[NodeState, Decision], None]
# Called for every input the log took (events or none), with the state before
# it: the simulator's table coverage.
InputObserver = Callable[[NodeState, inp.Input], None]

_FAILURES_KEPT = 64


class Dispatcher:
    """One node's runtime rules; sans-I/O (see the module docstring)."""

    def __init__(
        self,
        node: Node,
        *,
        budgets: Budgets | None = None,
        observer: DecisionObserver | None = None,
        on_input: InputObserver | None = None,
    ) -> None:
        self.node = node
        self.config: ClusterConfig = node.ctx.config
        self.budgets = budgets if budgets is not None else Budgets()
        self.observer = observer
        self.on_input = on_input
        self.booted = False  # Booted is durable
        # Inputs waiting for the log, oldest first (Booted first after a restart).
        self.backlog: list[inp.Input] = []
        self.timers: dict[int, int] = {}  # armed timer id -> due
        self.refused = 0  # appends the log refused
        self.stale = 0  # step results and timer firings ignored as stale
        # Outcomes other than Done of effects that feed nothing back to the core
        # (a fence, a yield, an announce): for status and metrics, newest last.
        self.effect_failures: deque[tuple[str, Outcome]] = deque(maxlen=_FAILURES_KEPT)

    @property
    def state(self) -> NodeState:
        return self.node.state

    @property
    def waiting(self) -> bool:
        """Inputs wait for the log (or for Booted): a new one queues behind them."""
        return bool(self.backlog) or not self.booted

    # ------------------------------------------------------------ inputs ----

    def boot(self, at: int) -> list[Job]:
        """The runtime (re)started: ``Booted`` goes first, ahead of anything queued."""
        self.backlog.insert(0, inp.Booted(at))
        return self.retry()

    def offer(self, received: inp.Input) -> list[Job]:
        """One observation for the core, behind any that still wait."""
        if self.waiting:
            self.backlog.append(received)
            return self.retry() if self.booted or self._booted_queued() else []
        jobs = self._decide(received)
        if jobs is None:
            self.backlog.append(received)
            return []
        return jobs

    def retry(self) -> list[Job]:
        """Retry the waiting inputs in order; stop at the first the log refuses."""
        jobs: list[Job] = []
        if not self.booted and not self._booted_queued():
            return jobs
        # Bounded: each pass decides one input or stops.
        for _ in range(len(self.backlog)):
            more = self._decide(self.backlog[0])
            if more is None:
                break
            self.backlog.pop(0)
            jobs.extend(more)
        return jobs

    def timer_fired(self, timer_id: int, at: int) -> list[Job]:
        due = self.timers.get(timer_id)
        if due is None or at < due:
            self.stale += 1  # cancelled, or a firing of an earlier arming
            return []
        del self.timers[timer_id]
        return self.offer(inp.TimerFired(at, timer_id))

    def completed(self, job: Job, outcome: Outcome, at: int) -> list[Job]:
        """A job's outcome, back from the driver: into inputs for the core."""
        jobs: list[Job] = []
        if isinstance(outcome, Done):
            for observed in outcome.inputs:
                jobs.extend(self.offer(observed))
        step = job.step
        if step is None:
            if not isinstance(outcome, Done):
                self.effect_failures.append((job.key, outcome))
            return jobs
        if not self._is_current(step):
            self.stale += 1
            return jobs
        result: inp.Input
        if isinstance(outcome, Done):
            result = inp.StepSucceeded(at, step.plan_id, step.step, step.attempt, outcome.detail)
        elif isinstance(outcome, Failed):
            result = inp.StepFailed(at, step.plan_id, step.step, step.attempt, outcome.reason)
        else:
            reason = f"uncertain: {outcome.reason}"
            result = inp.StepFailed(at, step.plan_id, step.step, step.attempt, reason)
        jobs.extend(self.offer(result))
        return jobs

    # ---------------------------------------------------------- internals ----

    def _booted_queued(self) -> bool:
        return bool(self.backlog) and isinstance(self.backlog[0], inp.Booted)

    def _is_current(self, step: fx.RunStep) -> bool:
        plan = self.node.state.plan
        return (
            plan is not None
            and plan.plan_id == step.plan_id
            and plan.current_step == step.step
            and plan.attempt == step.attempt
        )

    def _decide(self, received: inp.Input) -> list[Job] | None:
        """One decision, persisted before acting; None when the log refused it."""
        before = self.node.state
        try:
            decision = self.node.handle(received)
        except LogError:
            self.refused += 1
            return None
        if isinstance(received, inp.Booted):
            self.booted = True
        if self.on_input is not None:
            self.on_input(before, received)
        if not decision.events:
            return []
        if self.observer is not None:
            self.observer(before, decision)
        return self.jobs_for(decision.effects, received.at)

    def jobs_for(self, effects: Iterable[fx.Effect], at: int) -> list[Job]:
        """The jobs that carry out ``effects`` (timers are tracked here)."""
        jobs: list[Job] = []
        for effect in effects:
            jobs.append(self._job(effect, at))
        return jobs

    def _job(self, effect: fx.Effect, at: int) -> Job:
        deadline = at + self.budgets.effect_us
        key = effect.key
        if isinstance(effect, fx.RunStep):
            step_deadline = at + self.config.timing.step_timeout_us
            services = self.config.services
            calls = tuple(
                Call(op, f"{key}/{op}", step_deadline, flag=effect.bootstrap_allowed)
                for op in STEP_OPS[effect.step]
                if getattr(services, _SERVICE_OF_PORT.get(op.port, ""), True)
            )
            return Job(effect, calls)
        if isinstance(effect, fx.StartTimer):
            self.timers[effect.timer_id] = effect.due
            call = Call(Op.TIMERS_START, key, effect.due, timer_id=effect.timer_id, due=effect.due)
            return Job(effect, (call,))
        if isinstance(effect, fx.CancelTimer):
            self.timers.pop(effect.timer_id, None)
            return Job(effect, (Call(Op.TIMERS_CANCEL, key, deadline, timer_id=effect.timer_id),))
        if isinstance(effect, fx.Announce):
            call = Call(Op.TRANSPORT_ANNOUNCE, key, deadline, role=effect.role, epoch=effect.epoch)
            return Job(effect, (call,))
        if isinstance(effect, fx.SetPriorityYield):
            call = Call(Op.VIP_SET_PRIORITY_YIELD, key, deadline, flag=effect.yielded)
            return Job(effect, (call,))
        if isinstance(effect, fx.FenceWrites):
            call = Call(Op.GALERA_FENCE_WRITES, key, deadline, flag=effect.fenced)
            return Job(effect, (call,))
        if isinstance(effect, fx.StopServices):
            calls = (
                Call(Op.DATASTORE_STOP_REPLICATION, f"{key}/replication", deadline),
                Call(Op.K3S_STOP, f"{key}/k3s", deadline),
            )
            return Job(effect, calls, best_effort=True)
        if isinstance(effect, fx.ProbeVrrp):
            return Job(effect, (Call(Op.VIP_PROBE, key, deadline),))
        raise TypeError(f"no port carries out effect {type(effect).__name__}")


# The effect types the dispatcher carries out (tests hold it to every
# registered effect type: a new effect must get a job here).
DISPATCHED_EFFECTS: tuple[type[fx.Effect], ...] = (
    fx.RunStep,
    fx.StartTimer,
    fx.CancelTimer,
    fx.Announce,
    fx.SetPriorityYield,
    fx.FenceWrites,
    fx.StopServices,
    fx.ProbeVrrp,
)


def call_port(ports: Ports, call: Call) -> Outcome:
    """Make one call on its port: the one mapping from an :class:`Op` to a method."""
    key, deadline = call.key, call.deadline
    op = call.op
    if op is Op.VIP_SET_PRIORITY_YIELD:
        return ports.vip.set_priority_yield(yielded=call.flag, key=key, deadline=deadline)
    if op is Op.VIP_PROBE:
        return ports.vip.probe(key=key, deadline=deadline)
    if op is Op.GALERA_PROBE:
        return ports.galera.probe(key=key, deadline=deadline)
    if op is Op.GALERA_MAKE_PRIMARY:
        return ports.galera.make_primary(bootstrap_allowed=call.flag, key=key, deadline=deadline)
    if op is Op.GALERA_REJOIN:
        return ports.galera.rejoin(key=key, deadline=deadline)
    if op is Op.GALERA_FENCE_WRITES:
        return ports.galera.fence_writes(fenced=call.flag, key=key, deadline=deadline)
    if op is Op.GALERA_QUARANTINE:
        return ports.galera.quarantine(key=key, deadline=deadline)
    if op is Op.DATASTORE_RESTORE:
        return ports.datastore.restore_from_replica(key=key, deadline=deadline)
    if op is Op.DATASTORE_START_REPLICATION:
        return ports.datastore.start_replication(key=key, deadline=deadline)
    if op is Op.DATASTORE_STOP_REPLICATION:
        return ports.datastore.stop_replication(key=key, deadline=deadline)
    if op is Op.DATASTORE_QUARANTINE:
        return ports.datastore.quarantine_newer_local(key=key, deadline=deadline)
    if op is Op.K3S_START:
        return ports.k3s.start(key=key, deadline=deadline)
    if op is Op.K3S_STOP:
        return ports.k3s.stop(key=key, deadline=deadline)
    if op is Op.K3S_READY:
        return ports.k3s.ready(key=key, deadline=deadline)
    if op is Op.GLUSTER_PROBE:
        return ports.gluster.probe(key=key, deadline=deadline)
    if op is Op.GLUSTER_HEAL:
        return ports.gluster.heal(key=key, deadline=deadline)
    if op is Op.GLUSTER_RESYNC:
        return ports.gluster.resync(key=key, deadline=deadline)
    if op is Op.GLUSTER_QUARANTINE:
        return ports.gluster.quarantine_losing_copy(key=key, deadline=deadline)
    if op is Op.TRANSPORT_ANNOUNCE:
        return ports.transport.announce(
            role=call.role, epoch=call.epoch, key=key, deadline=deadline
        )
    if op is Op.TIMERS_START:
        return ports.timers.start(timer_id=call.timer_id, due=call.due, key=key)
    if op is Op.TIMERS_CANCEL:
        return ports.timers.cancel(timer_id=call.timer_id, key=key)
    raise TypeError(f"no port method for {op}")


_WORSE = {Done: 0, Failed: 1, Uncertain: 2}


def perform(ports: Ports, job: Job) -> Outcome:
    """Carry a job out synchronously: its calls in order, the job's outcome.

    The simulator calls this at the instant a job completes on virtual time;
    the agent calls it (or an async twin over the same :func:`call_port`
    mapping) from a task bounded by the job's deadline.
    """
    observed: list[inp.Input] = []
    details: list[str] = []  # what each call said it did: the step's record
    worst: Outcome | None = None
    for call in job.calls:
        outcome = call_port(ports, call)
        if isinstance(outcome, Done):
            observed.extend(outcome.inputs)
            if outcome.detail:
                details.append(outcome.detail)
            continue
        if not job.best_effort:
            return outcome
        if worst is None or _WORSE[type(outcome)] > _WORSE[type(worst)]:
            worst = outcome
    return worst if worst is not None else Done(tuple(observed), detail="; ".join(details))
