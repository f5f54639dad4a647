"""The effect dispatcher (hacore.dispatch): every effect has a job, every op a
port method, and the runtime rules hold (persist before acting, Booted first,
refused inputs kept in order, stale results ignored, uncertain is not success)."""

from __future__ import annotations

from typing import Any

import pytest
from core_helpers import cluster

from hacore import effects as fx
from hacore import inputs as inp
from hacore.codec import Message, registered_types
from hacore.dispatch import (
    DISPATCHED_EFFECTS,
    STEP_OPS,
    Call,
    Dispatcher,
    Job,
    Op,
    call_port,
    perform,
)
from hacore.log import EventLog, InMemoryLog, LogError, LogRecord
from hacore.node import Node
from hacore.plans import StepName
from hacore.ports import Done, Failed, Outcome, PortName, Ports, Uncertain
from hacore.roles import PeerRole, Role, VrrpStatus

SEC = 1_000_000


class RefusingLog(InMemoryLog):
    """A log whose appends can be refused (disk full)."""

    def __init__(self, node: str) -> None:
        super().__init__(node)
        self.full = False

    def append(self, entries: Any, epoch: int) -> list[LogRecord]:
        if self.full:
            raise LogError("no space left on device")
        return super().append(entries, epoch)


class Recorder:
    """Every port at once: records each call, answers with ``answer``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.answer: Outcome = Done()

    def __getattr__(self, name: str) -> Any:
        def method(**kwargs: Any) -> Outcome:
            self.calls.append((name, kwargs))
            return self.answer

        return method


def recording_ports() -> tuple[Ports, dict[PortName, Recorder]]:
    recs = {p: Recorder() for p in PortName}
    ports = Ports(
        vip=recs[PortName.VIP],
        galera=recs[PortName.GALERA],
        datastore=recs[PortName.DATASTORE],
        k3s=recs[PortName.K3S],
        gluster=recs[PortName.GLUSTER],
        transport=recs[PortName.TRANSPORT],
        timers=recs[PortName.TIMERS],
    )
    return ports, recs


def promoting(log: InMemoryLog | None = None) -> tuple[Dispatcher, list[Job]]:
    """Node b of a pair, booted, its peer lost, VRRP master: a promotion's first step."""
    d = Dispatcher(Node(cluster(2), "b", log))
    jobs = d.boot(1)
    jobs += d.offer(inp.PeerHeard(2, "a", PeerRole.ACTIVE, 1, 0, 0))
    jobs += d.offer(inp.VrrpReported(3, VrrpStatus.BACKUP, 100))
    jobs += d.offer(inp.PeerLost(4 * SEC, "a"))
    jobs += d.offer(inp.VrrpReported(5 * SEC, VrrpStatus.MASTER, 100))
    assert d.state.role is Role.PROMOTING
    return d, jobs


def messages(log: EventLog) -> list[Message]:
    return [r.message() for r in log.records()]


def steps_of(jobs: list[Job]) -> list[fx.RunStep]:
    return [j.step for j in jobs if j.step is not None]


def test_every_registered_effect_type_is_dispatched() -> None:
    effect_types = {c for c in registered_types().values() if issubclass(c, fx.Effect)}
    assert effect_types, "no effect type registered?"
    assert effect_types == set(DISPATCHED_EFFECTS)


def test_every_step_has_its_port_operations() -> None:
    assert set(STEP_OPS) == set(StepName)


@pytest.mark.parametrize("op", list(Op), ids=str)
def test_each_op_reaches_the_port_method_it_names(op: Op) -> None:
    ports, recs = recording_ports()
    outcome = call_port(ports, Call(op, "k", 10, flag=True, timer_id=3, due=7, epoch=2))
    assert outcome == Done()
    port, method = op.value.split(".")
    assert op.port is PortName(port)
    assert [name for name, _ in recs[PortName(port)].calls] == [method]
    assert all(not r.calls for p, r in recs.items() if p is not PortName(port))


def test_a_job_stops_at_its_first_call_not_done_unless_best_effort() -> None:
    ports, recs = recording_ports()
    recs[PortName.GALERA].answer = Failed("refused")
    effect = fx.StopServices("s")
    calls = (Call(Op.GALERA_QUARANTINE, "a", 1), Call(Op.K3S_STOP, "b", 1))
    assert perform(ports, Job(effect, calls)) == Failed("refused")
    assert recs[PortName.K3S].calls == []
    recs[PortName.K3S].answer = Uncertain("timed out")
    assert perform(ports, Job(effect, calls, best_effort=True)) == Uncertain("timed out")
    assert len(recs[PortName.K3S].calls) == 1


def test_a_promotion_runs_its_first_step_through_the_ports() -> None:
    _, jobs = promoting()
    [first] = steps_of(jobs)
    assert first.step is StepName.CONFIRM_OLD_ACTIVE_GONE
    assert any(isinstance(j.effect, fx.Announce) for j in jobs)


def test_each_step_result_reaches_the_core_until_the_plan_is_done() -> None:
    d, jobs = promoting()
    ports, recs = recording_ports()
    at = 6 * SEC
    for _ in range(20):
        runs = [j for j in jobs if j.step is not None]
        if not runs:
            break
        at += SEC
        jobs = d.completed(runs[0], perform(ports, runs[0]), at)
    assert d.state.role is Role.ACTIVE
    made = [name for name, _ in recs[PortName.GALERA].calls]
    assert "make_primary" in made and "fence_writes" not in made
    assert recs[PortName.K3S].calls[0][0] == "start"


def test_an_uncertain_step_outcome_is_a_failure_never_a_success() -> None:
    d, jobs = promoting()
    [run] = [j for j in jobs if j.step is not None]
    before = d.state.plan
    assert before is not None
    d.completed(run, Uncertain("deadline passed"), 6 * SEC)
    plan = d.state.plan
    assert plan is not None and plan.index == before.index  # not advanced
    failed = [m for m in messages(d.node.log) if isinstance(m, inp.StepFailed)]
    assert [f.reason for f in failed] == ["uncertain: deadline passed"]


def test_a_stale_step_result_never_reaches_the_core() -> None:
    d, jobs = promoting()
    [run] = [j for j in jobs if j.step is not None]
    d.completed(run, Done(), 6 * SEC)  # the step succeeds: the plan moves on
    records = len(list(d.node.log.records()))
    assert d.completed(run, Done(), 7 * SEC) == []  # the same attempt again
    assert len(list(d.node.log.records())) == records
    assert d.stale == 1


def test_nothing_acts_before_the_log_took_the_decision_and_refused_inputs_wait_in_order() -> None:
    log = RefusingLog("b")
    d, _ = promoting(log)
    log.full = True
    first = inp.VrrpReported(6 * SEC, VrrpStatus.BACKUP, 100)
    second = inp.PeerHeard(6 * SEC + 1, "a", PeerRole.STANDBY, 1, 0, 0)
    assert d.offer(first) == []  # would demote: not persisted, so no effect
    assert d.offer(second) == []
    assert d.backlog == [first, second] and d.waiting and d.refused >= 2
    log.full = False
    jobs = d.retry()
    assert d.backlog == []
    entries = messages(log)
    assert first in entries and second in entries
    assert entries.index(first) < entries.index(second)
    assert jobs, "the demotion's effects come once the decision is durable"


def test_booted_is_durable_before_any_other_input() -> None:
    log = RefusingLog("b")
    d = Dispatcher(Node(cluster(2), "b", log))
    early = inp.VrrpReported(1, VrrpStatus.BACKUP, 100)
    assert d.offer(early) == []  # not booted yet: it waits
    assert list(log.records()) == []
    log.full = True
    d.boot(2)
    assert not d.booted and isinstance(d.backlog[0], inp.Booted)
    log.full = False
    d.retry()
    kinds = [r.type for r in log.records() if r.kind == "input"]
    assert kinds[:2] == ["booted", "vrrp-reported"]


def test_a_cancelled_or_stale_timer_firing_is_ignored() -> None:
    d, jobs = promoting()
    starts = [j.effect for j in jobs if isinstance(j.effect, fx.StartTimer)]
    assert starts
    armed = starts[-1]
    assert isinstance(armed, fx.StartTimer)
    assert d.timer_fired(armed.timer_id, armed.due - 1) == []  # early: an older arming
    assert armed.timer_id in d.timers
    d.jobs_for([fx.CancelTimer("c", armed.timer_id)], 6 * SEC)
    records = len(list(d.node.log.records()))
    assert d.timer_fired(armed.timer_id, armed.due) == []
    assert len(list(d.node.log.records())) == records and d.stale == 2


def test_a_failed_fence_is_kept_for_status_not_fed_to_the_core() -> None:
    d, _ = promoting()
    job = Job(fx.FenceWrites("f", True), (Call(Op.GALERA_FENCE_WRITES, "f", 1, flag=True),))
    records = len(list(d.node.log.records()))
    assert d.completed(job, Failed("mysqld gone"), 6 * SEC) == []
    assert list(d.effect_failures) == [("f", Failed("mysqld gone"))]
    assert len(list(d.node.log.records())) == records
