#!/usr/bin/env python3
"""Core benchmark: replay throughput, decide latency, and a `transitions` baseline.

Prints one figure per line as ``name: value unit``. Not a test: nothing here
asserts on time. The workload is a deterministic loop of the reference
lifecycle on node b of a two-node cluster (failover with a retried step,
split-brain lost to a, planned switchover, fault, recovery), repeated.

Figures:
- replay: events/s of a fold of ``evolve`` over the in-memory event list;
- decide: median and p99 latency of ``decide`` over every recorded input;
- like for like, per role transition: the inputs of the recorded run whose
  decision holds a ``RoleChanged`` (each holds exactly one), driven through
  ``decide`` and the fold of ``evolve`` over the decided events (what
  ``hacore.node.step`` does, minus building the effects), against a
  `transitions` machine triggered through the same role changes, in the same
  order, the same number of times; both per transition, and their ratio
  ``core_to_transitions_ratio`` (no target: a core transition also builds a
  plan, opens an epoch and arms a timer, 5.4 events on average);
- the issue's figure, per event: the core's cost per event (``evolve`` over
  the same run, ``replay_per_event``) against the `transitions` machine's
  cost per event it handles (each role change is one event for it), ratio
  ``core_event_to_transitions_event_ratio`` (issue 2's target: <= 0.33);
- recovery: ``Node.recover`` every 10 cycles of the same workload (the
  simulator's crash/restart pattern: the log grows between restarts), against
  a baseline on the same log at the same moments: a full verify and replay,
  which is what recovery cost before snapshots; and their ratio.

``--before REV`` also runs this same benchmark on that revision's ``hacore``
(extracted with ``git archive`` into a temporary directory, run in a child
interpreter right after this one) and prints its replay and decide figures and
the after/before ratios: the floors (replay >= 300,000 events/s, decide median
<= 5 us) checked before and after a change in one run. Default: main just
before issue 16 restructured the table (``BEFORE_REV``).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from transitions import Machine  # noqa: E402

from hacore import events as ev  # noqa: E402
from hacore import inputs as inp  # noqa: E402
from hacore.config import ClusterConfig, NodeSpec  # noqa: E402
from hacore.decider import decide  # noqa: E402
from hacore.evolve import evolve  # noqa: E402
from hacore.log import replay_records, verify_records  # noqa: E402
from hacore.node import Node  # noqa: E402
from hacore.roles import Command, PeerRole, Role, TimerPurpose, VrrpStatus  # noqa: E402
from hacore.state import NodeState  # noqa: E402

SEC = 1_000_000
# main just before issue 16 split hacore/table.py into table, guards and actions.
BEFORE_REV = "eda7a03"
REPLAY_FLOOR = 300_000  # events/s
DECIDE_CEILING_US = 5.0
CONFIG = ClusterConfig((NodeSpec("a", "10.0.0.1", 150), NodeSpec("b", "10.0.0.2", 140)))


class Runner:
    def __init__(self) -> None:
        self.node = Node(CONFIG, "b")
        self.now = 0
        self.pairs: list[tuple[NodeState, inp.Input]] = []

    def feed(self, received: inp.Input) -> None:
        self.now = max(self.now, received.at)
        self.pairs.append((self.node.state, received))
        self.node.handle(received)

    def t(self) -> int:
        self.now += 1000
        return self.now

    def plan(self) -> None:
        while (p := self.node.state.plan) is not None:
            self.feed(inp.StepSucceeded(self.t(), p.plan_id, p.current_step, p.attempt))

    def advance(self, us: int) -> None:
        """Let time pass; the runtime fires every timer that falls due, in order."""
        self.now += us
        while True:
            due = [t for t in self.node.state.timers if t.due <= self.now]
            if not due:
                return
            armed = min(due, key=lambda t: (t.due, t.timer_id))
            self.feed(inp.TimerFired(self.now, armed.timer_id))

    def fire(self, purpose: TimerPurpose) -> None:
        armed = self.node.state.timer_for(purpose)
        assert armed is not None
        self.feed(inp.TimerFired(max(self.now, armed.due), armed.timer_id))

    def cycle(self) -> None:
        s = self.node.state
        self.feed(inp.PeerHeard(self.t(), "a", PeerRole.ACTIVE, s.max_epoch_seen + 1, 100, 0))
        self.feed(inp.VrrpReported(self.t(), VrrpStatus.BACKUP, 140))
        self.feed(inp.LocalProgress(self.t(), s.committed + 5))
        self.feed(inp.PeerLost(self.t(), "a"))
        self.feed(inp.VrrpReported(self.t(), VrrpStatus.MASTER, 140))
        p = self.node.state.plan
        assert p is not None
        self.feed(inp.StepFailed(self.t(), p.plan_id, p.current_step, p.attempt, "retry me"))
        self.fire(TimerPurpose.STEP_RETRY)
        self.plan()  # active
        self.feed(inp.LocalProgress(self.t(), self.node.state.committed + 3))
        epoch_a = self.node.state.max_epoch_seen + 1
        self.feed(inp.PeerHeard(self.t(), "a", PeerRole.ACTIVE, epoch_a, 1, 1))  # loses
        self.feed(inp.VrrpReported(self.t(), VrrpStatus.BACKUP, 50))
        self.plan()  # standby
        self.advance(10 * SEC)
        self.feed(inp.PeerLost(self.t(), "a"))
        self.feed(inp.VrrpReported(self.t(), VrrpStatus.MASTER, 50))
        self.plan()  # active again
        self.feed(inp.OperatorCommand(self.t(), Command.SWITCHOVER))
        self.plan()  # standby
        self.advance(10 * SEC)
        self.feed(inp.VrrpReported(self.t(), VrrpStatus.BACKUP, 50))
        self.feed(inp.VrrpReported(self.t(), VrrpStatus.MASTER, 50))
        for _ in range(CONFIG.timing.max_attempts):
            p = self.node.state.plan
            assert p is not None
            self.feed(inp.StepFailed(self.t(), p.plan_id, p.current_step, p.attempt, "broken"))
            if self.node.state.role is Role.FAULT:
                break
            self.fire(TimerPurpose.STEP_RETRY)
        self.feed(inp.VrrpReported(self.t(), VrrpStatus.BACKUP, 50))
        self.fire(TimerPurpose.FAULT_HOLD)  # standby
        self.advance(10 * SEC)


def workload(cycles: int) -> tuple[list[ev.Event], list[tuple[NodeState, inp.Input]], Runner]:
    runner = Runner()
    for _ in range(cycles):
        runner.cycle()
    events: list[ev.Event] = []
    for record in runner.node.log.records():
        if record.kind == "event":
            message = record.message()
            assert isinstance(message, ev.Event)
            events.append(message)
    return events, runner.pairs, runner


def recovery(cycles: int, every: int) -> tuple[int, float, float]:
    """Restart the node every ``every`` cycles; time recover and the full-replay baseline."""
    runner = Runner()
    restarts, recover_s, full_s = 0, 0.0, 0.0
    clock = time.perf_counter
    for i in range(1, cycles + 1):
        runner.cycle()
        if i % every:
            continue
        log = runner.node.log
        start = clock()
        verify_records("b", log.records())
        full = replay_records("b", log.records())
        full_s += clock() - start
        start = clock()
        runner.node = Node.recover(CONFIG, "b", log)
        recover_s += clock() - start
        assert runner.node.state == full
        restarts += 1
    return restarts, recover_s, full_s


def best_of(runs: int, fn: object) -> float:
    assert callable(fn)
    times = []
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def role_machine() -> tuple[object, list[str]]:
    """A `transitions` machine with one trigger per role change of the table."""

    class Model:
        state: str

    model = Model()
    transitions = [
        {"trigger": f"to_{dst}", "source": str(src), "dest": str(dst)}
        for src in Role
        for dst in Role
        if src is not dst
    ]
    Machine(
        model=model,
        states=[str(r) for r in Role],
        initial=str(Role.STANDBY),
        transitions=transitions,
        auto_transitions=False,
    )
    return model, []


def core_figures() -> dict[str, float]:
    """Replay throughput and decide latency only: the floors, comparable across revisions."""
    events, pairs, runner = workload(400)
    initial = NodeState(name="b")

    def replay() -> NodeState:
        state = initial
        for event in events:
            state = evolve(state, event)
        return state

    assert replay() == runner.node.state
    replay_s = best_of(5, replay)
    ctx = runner.node.ctx
    samples: list[int] = []
    clock = time.perf_counter_ns
    for _ in range(3):
        gc.collect()
        for state, received in pairs:
            start = clock()
            decide(ctx, state, received)
            samples.append(clock() - start)
    samples.sort()
    return {
        "replay_throughput": len(events) / replay_s,
        "decide_median": statistics.median(samples) / 1000,
        "decide_p99": samples[int(len(samples) * 0.99)] / 1000,
    }


def before_figures(rev: str) -> dict[str, float]:
    """:func:`core_figures` on ``rev``'s hacore, in a child interpreter."""
    with tempfile.TemporaryDirectory(prefix="hacore-core-before-") as tmp:
        into = Path(tmp)
        archive = into / "tree.tar"
        with archive.open("wb") as out:
            subprocess.run(  # noqa: S603 - fixed argv, our own repository
                ["git", "-C", str(ROOT), "archive", "--format=tar", rev, "hacore"],
                stdout=out,
                check=True,
                timeout=60,
            )
        with tarfile.open(archive) as tar:
            tar.extractall(into, filter="data")
        (into / "benchmarks").mkdir()
        script = into / "benchmarks" / "core.py"
        script.write_text(Path(__file__).read_text(encoding="utf-8"), encoding="utf-8")
        done = subprocess.run(  # noqa: S603 - our interpreter, our script
            [sys.executable, str(script), "--figures-json"],
            cwd=into,
            capture_output=True,
            text=True,
            check=True,
            timeout=900,
        )
    figures: dict[str, float] = json.loads(done.stdout)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", metavar="REV", nargs="?", const=BEFORE_REV, default=None)
    parser.add_argument("--figures-json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.figures_json:  # the child of --before: this tree's floors as JSON
        print(json.dumps(core_figures()))
        return
    full()
    if args.before is not None:
        after = core_figures()
        before = before_figures(args.before)
        for name, unit in (("replay_throughput", "events/s"), ("decide_median", "us")):
            print(f"{name}_before: {before[name]:.2f} {unit} ({args.before})")
            print(f"{name}_after: {after[name]:.2f} {unit} (this tree)")
            print(f"{name}_after_to_before_ratio: {after[name] / before[name]:.3f} ratio")
        floors = {
            "before": before["replay_throughput"] >= REPLAY_FLOOR
            and before["decide_median"] <= DECIDE_CEILING_US,
            "after": after["replay_throughput"] >= REPLAY_FLOOR
            and after["decide_median"] <= DECIDE_CEILING_US,
        }
        for side, met in floors.items():
            print(f"floors_met_{side}: {int(met)} bool (replay >= {REPLAY_FLOOR}, decide <= 5 us)")


def full() -> None:
    events, pairs, runner = workload(400)
    initial = NodeState(name="b")

    def replay() -> NodeState:
        state = initial
        for event in events:
            state = evolve(state, event)
        return state

    assert replay() == runner.node.state
    replay_s = best_of(5, replay)
    per_event_core = replay_s / len(events)

    ctx = runner.node.ctx
    samples: list[int] = []
    clock = time.perf_counter_ns
    for _ in range(3):
        gc.collect()
        for state, received in pairs:
            start = clock()
            decide(ctx, state, received)
            samples.append(clock() - start)
    samples.sort()
    median_us = statistics.median(samples) / 1000
    p99_us = samples[int(len(samples) * 0.99)] / 1000

    # Like for like: the core's decide + evolve on exactly the recorded inputs
    # whose decision changes the role, the machine on those same role changes.
    role_inputs: list[tuple[NodeState, inp.Input]] = []
    changes: list[str] = []
    for i, (state, received) in enumerate(pairs):
        decided = decide(ctx, state, received)
        roles = [str(e.role) for e in decided if isinstance(e, ev.RoleChanged)]
        if not roles:
            continue
        assert len(roles) == 1
        after = state
        for event in decided:
            after = evolve(after, event)
        following = pairs[i + 1][0] if i + 1 < len(pairs) else runner.node.state
        assert after == following  # the same decision the recorded run made
        role_inputs.append((state, received))
        changes.extend(roles)
    assert changes == [str(e.role) for e in events if isinstance(e, ev.RoleChanged)]

    def drive_core() -> None:
        for state, received in role_inputs:
            after = state
            for event in decide(ctx, state, received):
                after = evolve(after, event)

    def decide_only() -> None:
        for state, received in role_inputs:
            decide(ctx, state, received)

    core_s = best_of(5, drive_core)
    decide_s = best_of(5, decide_only)
    per_transition_core = core_s / len(role_inputs)
    events_per_transition = sum(len(decide(ctx, s, r)) for s, r in role_inputs) / len(role_inputs)

    model, _ = role_machine()

    def drive_machine() -> None:
        model.state = str(Role.STANDBY)  # type: ignore[attr-defined]
        trigger = model.trigger  # type: ignore[attr-defined]
        for role in changes:
            trigger(f"to_{role}")

    drive_machine()
    assert model.state == str(runner.node.state.role)  # type: ignore[attr-defined]
    machine_s = best_of(5, drive_machine)
    per_transition_machine = machine_s / len(changes)

    print(f"events: {len(events)} events")
    print(f"inputs: {len(pairs)} inputs")
    print(f"replay_throughput: {len(events) / replay_s:.0f} events/s")
    print(f"replay_per_event: {per_event_core * 1e6:.3f} us")
    print(f"decide_median: {median_us:.2f} us")
    print(f"decide_p99: {p99_us:.2f} us")
    print(f"role_transitions: {len(changes)} transitions")
    print(f"events_per_transition: {events_per_transition:.2f} events")
    print(f"core_decide_per_transition: {decide_s / len(role_inputs) * 1e6:.3f} us")
    print(f"core_per_transition: {per_transition_core * 1e6:.3f} us")
    print(f"transitions_per_transition: {per_transition_machine * 1e6:.3f} us")
    print(f"core_to_transitions_ratio: {per_transition_core / per_transition_machine:.3f} ratio")
    print(
        "core_event_to_transitions_event_ratio: "
        f"{per_event_core / per_transition_machine:.3f} ratio"
    )

    gc.collect()
    restarts, recover_s, full_s = recovery(400, 10)
    print(f"recover_restarts: {restarts} restarts (log grows to {len(events)} events)")
    print(f"recover_per_restart: {recover_s / restarts * 1e3:.2f} ms")
    print(f"full_replay_per_restart: {full_s / restarts * 1e3:.2f} ms")
    print(f"recover_to_full_replay_ratio: {recover_s / full_s:.3f} ratio")


if __name__ == "__main__":
    main()
