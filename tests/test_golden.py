"""The golden scenario corpus: input sequences and the events and effects they must produce.

Each ``tests/golden/<name>.txt`` holds a cluster config, the node's name and
a list of steps; a step is an input with the role, events and effects it must
produce, or a restart (the process crashed; its log, possibly cut short, is
replayed). The format (tests/golden_format.py) is datadriven-style text: one
input per line, ``----``, then what it produces, one line each, so a change
of behaviour is a diff a reviewer can read. The files are the spec: they are
written by the scenario descriptions below only under ``pytest
--update-golden``, and a test replays each file as it is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from core_helpers import Driver, cluster
from golden_format import GoldenFormatError, parse, render

from hacore import codec
from hacore import inputs as inp
from hacore.config import ClusterConfig, NodeSpec, Services, Timing
from hacore.decider import Decision
from hacore.log import InMemoryLog
from hacore.node import Node
from hacore.roles import Command, Mode, PeerRole, Policy, Role, TimerPurpose, VrrpStatus

GOLDEN = Path(__file__).parent / "golden"


# ---------------------------------------------------------------------------
# File format
# ---------------------------------------------------------------------------


def config_to_json(config: ClusterConfig) -> dict[str, Any]:
    return {
        "nodes": [dataclasses.asdict(n) for n in config.nodes],
        "mode": str(config.mode),
        "policy": str(config.policy),
        "witness": config.witness,
        "services": dataclasses.asdict(config.services),
        "timing": dataclasses.asdict(config.timing),
    }


def config_from_json(data: dict[str, Any]) -> ClusterConfig:
    return ClusterConfig(
        nodes=tuple(NodeSpec(**n) for n in data["nodes"]),
        mode=Mode(data["mode"]),
        policy=Policy(data["policy"]),
        witness=data["witness"],
        services=Services(**data["services"]),
        timing=Timing(**data["timing"]),
    )


def cut_log(log: InMemoryLog, keep: int) -> InMemoryLog:
    """A copy of ``log`` holding only its first ``keep`` records (a crash's torn tail)."""
    cut = InMemoryLog(log.node)
    for record in list(log.records())[:keep]:
        cut._records.append(record)
    return cut


def decision_step(received: inp.Input, decision: Decision) -> dict[str, Any]:
    return {
        "input": codec.encode(received),
        "role": str(decision.state.role),
        "events": [codec.encode(e) for e in decision.events],
        "effects": [codec.encode(e) for e in decision.effects],
    }


def restart_step(node: Node, keep: int) -> dict[str, Any]:
    plan = node.state.plan
    return {
        "restart": {"keep_records": keep},
        "role": str(node.state.role),
        "plan_at": None if plan is None else f"{plan.current_step}#{plan.attempt}",
    }


def run_file(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Replay a golden file's inputs and restarts; return the steps as they come out now."""
    config = config_from_json(doc["config"])
    node = Node(config, doc["node"])
    out: list[dict[str, Any]] = []
    for step in doc["steps"]:
        if "restart" in step:
            assert isinstance(node.log, InMemoryLog)
            keep = step["restart"]["keep_records"]
            node = Node.recover(config, doc["node"], cut_log(node.log, keep))
            out.append(restart_step(node, keep))
            continue
        received = codec.decode(step["input"])
        assert isinstance(received, inp.Input)
        out.append(decision_step(received, node.handle(received)))
    return out


# ---------------------------------------------------------------------------
# The builder: scenario descriptions in Python
# ---------------------------------------------------------------------------


class Recorder(Driver):
    """A Driver that writes down every step for the golden file."""

    def __init__(self, config: ClusterConfig, name: str) -> None:
        super().__init__(config, name)
        self.steps: list[dict[str, Any]] = []

    def feed(self, received: inp.Input) -> Decision:
        decision = super().feed(received)
        self.steps.append(decision_step(received, decision))
        return decision

    def crash(self, keep: int | None = None) -> None:
        """The process dies; a new one replays the (possibly cut) log."""
        log = self.node.log
        assert isinstance(log, InMemoryLog)
        n = len(log) if keep is None else keep
        self.node = Node.recover(self.config, self.name, cut_log(log, n))
        self.steps.append(restart_step(self.node, n))

    def expect(self, role: Role) -> None:
        assert self.role is role, f"{self.name}: expected {role}, is {self.role}"

    def last_events(self) -> list[str]:
        return [e["type"] for e in self.steps[-1]["events"]]


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    config: ClusterConfig
    node: str
    script: Callable[[Recorder], None]

    def build(self) -> dict[str, Any]:
        rec = Recorder(self.config, self.node)
        self.script(rec)
        return {
            "name": self.name,
            "description": self.description,
            "config": config_to_json(self.config),
            "node": self.node,
            "steps": rec.steps,
        }


SCENARIOS: dict[str, Scenario] = {}


def scenario(
    name: str, description: str, config: ClusterConfig, node: str
) -> Callable[[Callable[[Recorder], None]], Callable[[Recorder], None]]:
    def register(fn: Callable[[Recorder], None]) -> Callable[[Recorder], None]:
        assert name not in SCENARIOS
        SCENARIOS[name] = Scenario(name, description, config, node, fn)
        return fn

    return register


def standby_of_a(s: Recorder) -> None:
    """b starts as the standby of active a (epoch 1) with 100 commits replicated."""
    s.boot()
    s.heard("a", PeerRole.ACTIVE, epoch=1, committed=100)
    s.vrrp(VrrpStatus.BACKUP)
    s.progress(100)
    s.expect(Role.STANDBY)


def fail_over_to_b(s: Recorder) -> None:
    standby_of_a(s)
    s.lost("a")
    s.vrrp(VrrpStatus.MASTER)
    s.expect(Role.PROMOTING)


PAIR = cluster(2)


@scenario(
    "reference-failover",
    "The reference system: active a crashes; standby b becomes VRRP master, opens epoch 2 "
    "and runs the whole promotion plan (Galera bootstrap allowed: availability-first).",
    PAIR,
    "b",
)
def reference_failover(s: Recorder) -> None:
    fail_over_to_b(s)
    assert s.state.epoch == 2
    s.run_plan()
    s.expect(Role.ACTIVE)


@scenario(
    "planned-switchover",
    "Operator switchover on active a: it yields its VRRP priority, fences writes, runs the "
    "demotion plan (quarantine first) and rests in a hold-down as standby.",
    PAIR,
    "a",
)
def planned_switchover(s: Recorder) -> None:
    s.boot()
    s.promote()
    s.heard("b", PeerRole.STANDBY)
    s.operator(Command.SWITCHOVER)
    s.expect(Role.DEMOTING)
    assert "priority-yielded" in s.last_events()
    s.vrrp(VrrpStatus.BACKUP, 50)
    s.run_plan()
    s.expect(Role.STANDBY)
    s.heard("b", PeerRole.ACTIVE, epoch=2)
    s.expect(Role.STANDBY)


# Split-brain: a (priority 150, epoch 1) and b (priority 140, epoch 2) were both
# active during a partition; on heal each hears the other. Writes per side during
# the split decide most-committed and zero-changes.
SPLIT_FACTS: dict[Policy, tuple[int, int, str]] = {
    Policy.VRRP_WINNER: (30, 10, "a"),  # higher priority
    Policy.HIGHEST_EPOCH: (30, 10, "b"),  # epoch 2 > 1
    Policy.MOST_COMMITTED: (30, 10, "a"),  # 130 > 110
    Policy.ZERO_CHANGES: (0, 10, "b"),  # a wrote nothing during the split
    Policy.MANUAL: (30, 10, "b"),  # the operator names b
}


def split_brain(policy: Policy, me: str) -> Callable[[Recorder], None]:
    a_writes, b_writes, winner = SPLIT_FACTS[policy]

    def script(s: Recorder) -> None:
        s.boot()
        if me == "a":
            s.promote()
            s.heard("b", PeerRole.STANDBY, committed=100)
            s.progress(100)
            s.lost("b")
            s.progress(100 + a_writes)
            s.heard("b", PeerRole.ACTIVE, epoch=2, committed=100 + b_writes, changes=b_writes)
        else:
            standby_of_a(s)
            s.lost("a")
            s.vrrp(VrrpStatus.MASTER)
            s.run_plan()
            s.expect(Role.ACTIVE)
            s.progress(100 + b_writes)
            s.heard("a", PeerRole.ACTIVE, epoch=1, committed=100 + a_writes, changes=a_writes)
        peer = "b" if me == "a" else "a"
        assert "split-brain-detected" in s.last_events()
        if policy is not Policy.MANUAL:
            # Our facts are frozen now; the verdict waits for the peer's frozen ones.
            s.expect(Role.ACTIVE)
            assert s.state.judging
            if me == "a":
                s.heard("b", PeerRole.ACTIVE, 2, 100 + b_writes, b_writes, judging=True)
            else:
                s.heard("a", PeerRole.ACTIVE, 1, 100 + a_writes, a_writes, judging=True)
            assert "split-brain-resolved" in s.last_events()
        if policy is Policy.MANUAL:
            s.expect(Role.ACTIVE)
            assert s.state.frozen
            s.vrrp(VrrpStatus.BACKUP if me == "b" else VrrpStatus.MASTER)
            s.expect(Role.ACTIVE)  # frozen: no automatic move
            s.operator(Command.RESOLVE, winner)
        if me == winner:
            s.expect(Role.ACTIVE)
            if me == "b":  # b lost the VRRP election at heal: it holds until a yields
                s.vrrp(VrrpStatus.BACKUP)
                s.expect(Role.ACTIVE)
                s.heard(peer, PeerRole.DEMOTING, epoch=1)
                s.expect(Role.ACTIVE)
            s.vrrp(VrrpStatus.MASTER)
            s.expect(Role.ACTIVE)
            assert s.state.split_winner == ""
            assert s.state.timer_for(TimerPurpose.VIP_HANDOVER) is None
        else:
            s.expect(Role.DEMOTING)
            assert s.state.plan is not None and s.state.plan.steps[0] == "quarantine_divergent"
            s.vrrp(VrrpStatus.BACKUP, 50)
            s.run_plan()
            s.expect(Role.STANDBY)
            s.heard(peer, PeerRole.ACTIVE, epoch=1 if peer == "a" else 2, committed=140)
            s.expect(Role.STANDBY)

    return script


for _policy in Policy:
    _winner = SPLIT_FACTS[_policy][2]
    for _me in ("a", "b"):
        _side = "winner" if _me == _winner else "loser"
        scenario(
            f"split-brain-{_policy}-{_side}",
            f"Split-brain under policy {_policy}, seen from {_me} ({_side}); the winner is "
            f"{_winner}. a: priority 150, epoch 1, wrote {SPLIT_FACTS[_policy][0]} during the "
            f"split; b: priority 140, epoch 2, wrote {SPLIT_FACTS[_policy][1]}.",
            cluster(2, policy=_policy),
            _me,
        )(split_brain(_policy, _me))


@scenario(
    "safety-first-refuses-without-quorum",
    "safety-first, two nodes, no witness: b loses a and becomes VRRP master, but 1 of 2 "
    "votes is no majority, so it defers promotion and stays standby.",
    cluster(2, mode=Mode.SAFETY_FIRST),
    "b",
)
def safety_first_refuses(s: Recorder) -> None:
    standby_of_a(s)
    s.lost("a")
    s.vrrp(VrrpStatus.MASTER)
    s.expect(Role.STANDBY)
    assert s.last_events() == ["vrrp-observed", "promotion-deferred"]


@scenario(
    "safety-first-promotes-with-witness",
    "safety-first with witness w: b loses a but still hears w (2 of 3 votes), so it promotes; "
    "the plan may not force a Galera bootstrap.",
    cluster(2, mode=Mode.SAFETY_FIRST, witness="w"),
    "b",
)
def safety_first_witness(s: Recorder) -> None:
    standby_of_a(s)
    s.heard("w", PeerRole.WITNESS)
    s.lost("a")
    s.vrrp(VrrpStatus.MASTER)
    s.expect(Role.PROMOTING)
    assert s.state.plan is not None and not s.state.plan.bootstrap_allowed
    s.run_plan()
    s.expect(Role.ACTIVE)


def b_active_through_partition(s: Recorder) -> None:
    """b took over from a across a partition and is active at epoch 2, a unreachable."""
    fail_over_to_b(s)
    s.run_plan()
    s.expect(Role.ACTIVE)
    s.progress(130)


@scenario(
    "heal-vrrp-first-policy-still-decides",
    "highest-epoch: at heal VRRP settles in milliseconds and b (priority 140 < 150) reports "
    "BACKUP before any message from a arrives. With a unreachable in its view, b does not "
    "demote on the race: it waits (split-judge timer) for a's facts; a's first message "
    "shows active at epoch 1 with live facts, so b freezes its own and waits for a's frozen "
    "ones; then b wins by policy (2 > 1) and holds until VRRP hands it the VIP.",
    cluster(2, policy=Policy.HIGHEST_EPOCH),
    "b",
)
def heal_vrrp_first_winner(s: Recorder) -> None:
    b_active_through_partition(s)
    s.vrrp(VrrpStatus.BACKUP)
    s.expect(Role.ACTIVE)
    assert s.state.timer_for(TimerPurpose.SPLIT_JUDGE) is not None
    s.heard("a", PeerRole.ACTIVE, epoch=1, committed=110, changes=10)
    s.expect(Role.ACTIVE)  # a's facts are live: b freezes its own and waits
    assert s.state.judging
    s.heard("a", PeerRole.ACTIVE, epoch=1, committed=110, changes=10, judging=True)
    s.expect(Role.ACTIVE)
    assert s.state.timer_for(TimerPurpose.SPLIT_JUDGE) is None
    assert s.state.timer_for(TimerPurpose.VIP_HANDOVER) is not None
    s.vrrp(VrrpStatus.MASTER)  # a yielded its priority
    s.expect(Role.ACTIVE)
    assert s.state.timer_for(TimerPurpose.VIP_HANDOVER) is None


@scenario(
    "heal-vrrp-first-loser-demotes-with-quarantine",
    "vrrp-winner: the same race seen by b, which also loses by policy: it waits for a's "
    "facts, then demotes with quarantine first.",
    cluster(2, policy=Policy.VRRP_WINNER),
    "b",
)
def heal_vrrp_first_loser(s: Recorder) -> None:
    b_active_through_partition(s)
    s.vrrp(VrrpStatus.BACKUP)
    s.expect(Role.ACTIVE)
    # a detected first and froze its facts: b judges on the first message.
    s.heard("a", PeerRole.ACTIVE, epoch=1, committed=110, changes=10, judging=True)
    s.expect(Role.DEMOTING)
    assert s.state.plan is not None and s.state.plan.steps[0] == "quarantine_divergent"


@scenario(
    "heal-vrrp-first-no-facts-demotes",
    "b loses the VIP while a is unreachable and no message from a ever arrives: when the "
    "split-judge timer fires b follows VRRP and demotes (the wait is bounded).",
    cluster(2, policy=Policy.HIGHEST_EPOCH),
    "b",
)
def heal_vrrp_first_silence(s: Recorder) -> None:
    b_active_through_partition(s)
    s.vrrp(VrrpStatus.BACKUP)
    s.expect(Role.ACTIVE)
    s.fire(TimerPurpose.SPLIT_JUDGE)
    s.expect(Role.DEMOTING)


@scenario(
    "heal-master-hears-lower-priority",
    "a is active and VRRP master; b was cut off and became master in its half. At heal "
    "keepalived on a hears b's lower-priority advert and writes MASTER_RX_LOWER_PRI (no new "
    "MASTER line): the core records it (a vrrp-lower-priority-heard event, no new "
    "vrrp-observed) and a stays active.",
    PAIR,
    "a",
)
def heal_master_hears_lower_priority(s: Recorder) -> None:
    s.boot()
    s.vrrp(VrrpStatus.MASTER)
    s.run_plan()
    s.expect(Role.ACTIVE)
    s.lost("b")
    s.feed(inp.VrrpLowerPriorityReported(s.tick(), VrrpStatus.MASTER, 150))
    assert s.last_events() == ["vrrp-lower-priority-heard"]
    s.expect(Role.ACTIVE)


@scenario(
    "preempted-by-returning-standby",
    "a is active; b was unreachable, returns with a higher priority and preempts the VIP. "
    "a waits for facts; b's first message says standby (no split-brain), so a demotes at once.",
    cluster(2, priorities=(140, 150)),
    "a",
)
def preempted_by_standby(s: Recorder) -> None:
    s.boot()
    s.vrrp(VrrpStatus.MASTER)
    s.run_plan()
    s.expect(Role.ACTIVE)
    s.lost("b")
    s.vrrp(VrrpStatus.BACKUP)
    s.expect(Role.ACTIVE)
    s.heard("b", PeerRole.STANDBY, epoch=0, committed=0)
    s.expect(Role.DEMOTING)


@scenario(
    "crash-mid-plan-resumes",
    "b crashes while running make_galera_primary; the new process replays its log and, on "
    "Booted, re-runs that step (attempt 2, idempotent) and finishes the plan.",
    PAIR,
    "b",
)
def crash_mid_plan(s: Recorder) -> None:
    fail_over_to_b(s)
    for _ in range(3):
        s.succeed()
    s.crash()
    s.expect(Role.PROMOTING)
    s.boot()
    assert s.state.plan is not None and s.state.plan.current_step == "make_galera_primary"
    assert s.state.plan.attempt == 2
    s.run_plan()
    s.expect(Role.ACTIVE)


@scenario(
    "crash-mid-plan-torn-log",
    "b crashes and the log's last decision (start_k3s succeeded) never reached disk: replay "
    "resumes at start_k3s, the first step the log does not show finished.",
    PAIR,
    "b",
)
def crash_torn_log(s: Recorder) -> None:
    fail_over_to_b(s)
    s.succeed()
    s.succeed()
    assert isinstance(s.node.log, InMemoryLog)
    keep = len(s.node.log)
    s.succeed()  # start_k3s: lost in the crash
    s.crash(keep)
    s.boot()
    assert s.state.plan is not None and s.state.plan.current_step == "start_k3s"
    s.run_plan()
    s.expect(Role.ACTIVE)


@scenario(
    "step-retry-then-success",
    "restore_k3s_db fails once: the core arms a retry timer (backoff 1 s); when it fires the "
    "step runs again (attempt 2) and succeeds; the plan completes.",
    PAIR,
    "b",
)
def step_retry(s: Recorder) -> None:
    fail_over_to_b(s)
    s.succeed()
    s.fail("litestream: replica not reachable")
    s.expect(Role.PROMOTING)
    s.fire(TimerPurpose.STEP_RETRY)
    assert s.state.plan is not None and s.state.plan.attempt == 2
    s.run_plan()
    s.expect(Role.ACTIVE)


@scenario(
    "step-timeout-is-uncertain",
    "start_k3s times out: the outcome is uncertain, so the idempotent step is re-run after "
    "the backoff rather than assumed failed or done.",
    PAIR,
    "b",
)
def step_timeout(s: Recorder) -> None:
    fail_over_to_b(s)
    s.succeed()
    s.succeed()
    s.fire(TimerPurpose.STEP_TIMEOUT)
    s.fire(TimerPurpose.STEP_RETRY)
    assert s.state.plan is not None and s.state.plan.attempt == 2
    s.run_plan()
    s.expect(Role.ACTIVE)


@scenario(
    "plan-failure-fault-hold",
    "start_k3s fails on all 3 attempts: b enters fault, fences writes, stops services and "
    "yields its VRRP priority; when the fault hold ends it runs the demotion plan (undoing "
    "the half-done promotion) and rests as standby.",
    PAIR,
    "b",
)
def plan_failure(s: Recorder) -> None:
    fail_over_to_b(s)
    s.succeed()
    s.succeed()
    s.fail("k3s: not ready")
    s.fire(TimerPurpose.STEP_RETRY)
    s.fail("k3s: not ready")
    s.fire(TimerPurpose.STEP_RETRY)
    s.fail("k3s: not ready")
    s.expect(Role.FAULT)
    s.vrrp(VrrpStatus.BACKUP, 50)
    s.fire(TimerPurpose.FAULT_HOLD)
    s.expect(Role.DEMOTING)  # out of fault only through a completed demotion
    s.run_plan()
    s.expect(Role.STANDBY)


@scenario(
    "operator-clears-fault",
    "A failed promotion leaves b in fault; the operator clears the fault before the hold "
    "ends (b runs the demotion plan), and the stale fault-hold timer is then ignored.",
    cluster(2, priorities=(150, 140)),
    "b",
)
def clear_fault(s: Recorder) -> None:
    fail_over_to_b(s)
    s.fail("confirm: a still answers on the VIP")
    s.fire(TimerPurpose.STEP_RETRY)
    s.fail("confirm: a still answers on the VIP")
    s.fire(TimerPurpose.STEP_RETRY)
    s.fail("confirm: a still answers on the VIP")
    s.expect(Role.FAULT)
    hold = s.state.timer_for(TimerPurpose.FAULT_HOLD)
    assert hold is not None
    s.operator(Command.CLEAR_FAULT)
    s.expect(Role.DEMOTING)
    s.fire_id(hold.timer_id)
    assert s.steps[-1]["events"] == []
    s.run_plan()
    s.expect(Role.STANDBY)


@scenario(
    "stale-timer-and-step-result",
    "During b's promotion a step-timeout timer that was already disarmed fires, and a late "
    "result of an old attempt arrives: both are ignored; the plan goes on.",
    PAIR,
    "b",
)
def stale_inputs(s: Recorder) -> None:
    fail_over_to_b(s)
    first_timeout = s.state.timers[0].timer_id
    s.succeed()
    s.fire_id(first_timeout)
    assert s.steps[-1]["events"] == []
    s.fail("flaky")
    s.fire(TimerPurpose.STEP_RETRY)
    plan = s.state.plan
    assert plan is not None
    s.feed(inp.StepSucceeded(s.tick(), plan.plan_id, plan.current_step, 1))  # attempt 1: stale
    assert s.steps[-1]["events"] == []
    s.run_plan()
    s.expect(Role.ACTIVE)


@scenario(
    "flapping-link-hold-down",
    "Active a loses the VIP and demotes; the link flaps (MASTER, BACKUP, MASTER) inside the "
    "5 s hold-down: no promotion starts; when the hold-down ends with a still master, it "
    "promotes exactly once.",
    PAIR,
    "a",
)
def flapping(s: Recorder) -> None:
    s.boot()
    s.promote()
    s.vrrp(VrrpStatus.BACKUP)
    s.expect(Role.DEMOTING)
    s.run_plan()
    s.expect(Role.STANDBY)
    s.vrrp(VrrpStatus.MASTER)
    s.expect(Role.STANDBY)
    s.vrrp(VrrpStatus.BACKUP)
    s.vrrp(VrrpStatus.MASTER)
    s.expect(Role.STANDBY)
    assert len([t for t in s.state.timers if t.purpose is TimerPurpose.HOLD_DOWN]) == 1
    s.fire(TimerPurpose.HOLD_DOWN)
    s.expect(Role.PROMOTING)
    s.run_plan()
    s.expect(Role.ACTIVE)


@scenario(
    "active-restart-demotes",
    "Active a's process restarts: its services died with it, so it demotes cleanly "
    "(fencing writes first) instead of claiming to be active.",
    PAIR,
    "a",
)
def active_restart(s: Recorder) -> None:
    s.boot()
    s.promote()
    s.crash()
    s.expect(Role.ACTIVE)
    s.boot()
    s.expect(Role.DEMOTING)
    s.run_plan()
    s.expect(Role.STANDBY)


TRIO = cluster(3, mode=Mode.SAFETY_FIRST)


@scenario(
    "n3-promotion-with-majority",
    "safety-first, three nodes: c loses active a but still hears b (2 of 3 votes); VRRP makes "
    "it master and it promotes into epoch 3, the smallest epoch above 1 that c owns.",
    TRIO,
    "c",
)
def n3_promotion(s: Recorder) -> None:
    s.boot()
    s.heard("a", PeerRole.ACTIVE, epoch=1)
    s.heard("b", PeerRole.STANDBY)
    s.vrrp(VrrpStatus.BACKUP)
    s.lost("a")
    s.vrrp(VrrpStatus.MASTER)
    s.expect(Role.PROMOTING)
    assert s.state.epoch == 3
    s.run_plan()
    s.expect(Role.ACTIVE)


@scenario(
    "n3-isolated-active-self-fences",
    "safety-first, three nodes: active a loses b (2 of 3 still), then c (1 of 3): quorum lost, "
    "a self-fence timer runs, and when it fires a yields the VIP and demotes.",
    TRIO,
    "a",
)
def n3_isolation(s: Recorder) -> None:
    s.boot()
    s.heard("b", PeerRole.STANDBY)
    s.heard("c", PeerRole.STANDBY)
    s.promote()
    s.lost("b")
    s.expect(Role.ACTIVE)
    assert not s.state.quorum_lost
    s.lost("c")
    s.expect(Role.ACTIVE)
    assert s.state.quorum_lost
    s.fire(TimerPurpose.SELF_FENCE)
    s.expect(Role.DEMOTING)
    s.run_plan()
    s.expect(Role.STANDBY)


@scenario(
    "n3-quorum-regained-before-self-fence",
    "safety-first, three nodes: active a loses both peers, then hears b again before the "
    "self-fence timeout: quorum is regained, the timer is disarmed and a stays active.",
    TRIO,
    "a",
)
def n3_regain(s: Recorder) -> None:
    s.boot()
    s.heard("b", PeerRole.STANDBY)
    s.heard("c", PeerRole.STANDBY)
    s.promote()
    s.lost("b")
    s.lost("c")
    fence = s.state.timer_for(TimerPurpose.SELF_FENCE)
    assert fence is not None
    s.heard("b", PeerRole.STANDBY)
    assert not s.state.quorum_lost
    s.fire_id(fence.timer_id)
    s.expect(Role.ACTIVE)


def three_actives_frozen(s: Recorder) -> None:
    """a active (epoch 1); a pause left b (epoch 2) and c (epoch 3) active too (issue 12)."""
    s.boot()
    s.promote()
    s.heard("b", PeerRole.STANDBY)
    s.heard("c", PeerRole.STANDBY)
    s.lost("b")
    s.lost("c")
    s.heard("b", PeerRole.ACTIVE, epoch=2)
    assert s.last_events()[0] == "split-brain-detected" and "frozen" in s.last_events()
    s.heard("c", PeerRole.ACTIVE, epoch=3)
    assert "frozen" in s.last_events()
    assert s.state.frozen_against == (("b", 2), ("c", 3))
    # The livelock's cause: with one remembered split peer, each of these
    # opened "the same" split-brain again, announced, and so on forever.
    for _ in range(3):
        s.heard("b", PeerRole.ACTIVE, epoch=2, judging=True)
        assert s.last_events() == []
        s.heard("c", PeerRole.ACTIVE, epoch=3, judging=True)
        assert s.last_events() == []
    s.expect(Role.ACTIVE)


@scenario(
    "n3-manual-three-actives-frozen-winner",
    "manual policy, three nodes: `20s:pause:n1,50s:pause:n2,80s:resume:all` leaves a, b and "
    "c active at once. a freezes against b, then c, and hearing either again decides nothing "
    "(no livelock); the operator names a, which unfreezes and stays active.",
    cluster(3, policy=Policy.MANUAL),
    "a",
)
def n3_manual_winner(s: Recorder) -> None:
    three_actives_frozen(s)
    s.operator(Command.RESOLVE, "a")
    s.expect(Role.ACTIVE)
    assert not s.state.frozen and s.state.frozen_against == ()


@scenario(
    "n3-manual-three-actives-frozen-loser",
    "manual policy, three nodes, three actives: a is frozen against b and c (c last); the "
    "operator names b, which is not a's last split peer: a yields to b and demotes.",
    cluster(3, policy=Policy.MANUAL),
    "a",
)
def n3_manual_loser(s: Recorder) -> None:
    three_actives_frozen(s)
    s.operator(Command.RESOLVE, "b")
    s.expect(Role.DEMOTING)
    assert "split-brain-resolved" in s.last_events()
    s.vrrp(VrrpStatus.BACKUP, 50)
    s.run_plan()
    s.expect(Role.STANDBY)


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------


def _path(name: str) -> Path:
    return GOLDEN / f"{name}.txt"


def _dump(doc: dict[str, Any]) -> str:
    return render(doc)


def test_the_corpus_has_the_scenarios_the_issue_requires() -> None:
    names = set(SCENARIOS)
    assert len(names) >= 15
    for policy in Policy:
        assert {f"split-brain-{policy}-winner", f"split-brain-{policy}-loser"} <= names


def test_every_golden_file_has_a_description_and_vice_versa(update_golden: bool) -> None:
    if update_golden:
        GOLDEN.mkdir(exist_ok=True)
        for old in GOLDEN.glob("*.txt"):
            if old.stem not in SCENARIOS:
                old.unlink()
        for name, described in SCENARIOS.items():
            _path(name).write_text(_dump(described.build()), encoding="utf-8")
    assert {p.stem for p in GOLDEN.glob("*.txt")} == set(SCENARIOS)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_description_produces_its_golden_file(name: str, update_golden: bool) -> None:
    built = _dump(SCENARIOS[name].build())
    path = _path(name)
    if update_golden:
        path.write_text(built, encoding="utf-8")
    assert path.exists(), f"{path} missing: run pytest --update-golden and review it"
    assert path.read_text(encoding="utf-8") == built


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.txt")), ids=lambda p: p.stem)
def test_golden_file_replays_to_its_recorded_events_and_effects(path: Path) -> None:
    doc = parse(path.read_text(encoding="utf-8"), path.name)
    actual = run_file(doc)
    assert len(actual) == len(doc["steps"])
    for i, (want, got) in enumerate(zip(doc["steps"], actual, strict=True)):
        assert got == want, f"{path.name}: step {i} differs"


def test_the_text_format_reads_back_what_it_wrote() -> None:
    doc = SCENARIOS["crash-mid-plan-torn-log"].build()
    assert parse(render(doc)) == doc


def test_a_changed_line_of_a_golden_file_is_caught() -> None:
    # An edit a reviewer could miss: one event's time off by one microsecond.
    text = render(SCENARIOS["reference-failover"].build())
    changed = text.replace("event vrrp-observed at=3000", "event vrrp-observed at=3001", 1)
    assert changed != text
    doc = parse(changed)
    assert run_file(doc) != doc["steps"]


def test_a_changed_expectation_is_caught() -> None:
    doc = SCENARIOS["reference-failover"].build()
    last = doc["steps"][-1]
    last["events"] = last["events"][:-1]
    assert run_file(doc) != doc["steps"]


def test_a_malformed_golden_file_is_a_clear_error_naming_the_block() -> None:
    text = render(SCENARIOS["reference-failover"].build())
    booted = "role standby\nevent node-booted"
    broken = text.replace(f"----\n{booted}", booted)
    with pytest.raises(GoldenFormatError, match=r"block 0: expected an input, '----'"):
        parse(broken, "reference-failover.txt")
