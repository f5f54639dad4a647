"""Liveness (issue 12): no livelock in the core, budgets instead of hangs, the
progress invariant, complete replay commands, and runs refused up front."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from hacli.main import main
from hacore import actions, guards
from hacore import events as ev
from hacore import inputs as inp
from hacore.decider import Context
from hacore.roles import Mode, PeerRole, Policy, Role
from hacore.state import NodeState
from hacore.table import TABLE, Rule
from hacore.timefmt import seconds
from sims.faults import SECOND, Fault, parse_schedule
from sims.fuzz import FuzzConfig, run_fuzz
from sims.progress import DecisionBound, progress, settle_us
from sims.replay import NEVER, replay_command
from sims.run import make_simulation
from sims.sim import Simulation

LIVELOCK = "20s:pause:n1,50s:pause:n2,80s:resume:all"


@pytest.mark.parametrize("nodes", [3, 4, 5])
@pytest.mark.parametrize("policy", list(Policy))
def test_three_actives_under_every_policy_converge_without_a_livelock(
    nodes: int, policy: Policy
) -> None:
    """Issue 12's schedule leaves three actives at once (n1 and n2 paused while
    active, each replaced). Under `manual` it never finished: the frozen nodes
    re-detected each other for ever. Every policy, 3 to 5 nodes, both modes:
    it converges, within its budget, and the progress invariant holds."""
    for mode in Mode:
        sim = make_simulation(
            "custom", 1, nodes=nodes, policy=policy, mode=mode, schedule=parse_schedule(LIVELOCK)
        )
        result = sim.run()
        assert not sim.stuck, result.violations
        assert result.invariants["progress"], result.violations
        assert result.invariants["convergence"], result.violations
        failed = [name for name, ok in result.invariants.items() if not ok]
        if failed == ["nothing-lost"] and all(
            "k8s objects lost, not to litestream's lag" in v
            for v in result.violations
            if v.startswith("nothing-lost")
        ):
            # docs/findings.md row 16 (OPEN): with three actives, a loser's
            # replica came from another loser, so "newer than the replica" misses
            # k8s objects; not a livelock. Business writes are still all kept.
            failed = []
        assert failed == [], result.violations


# Found by the test above (docs/findings.md row 19): with three to five actives
# at once, two losers named each other the winner. Seeds 1-15 of issue 12's
# schedule: 30 of 450 runs (zero-changes, highest-epoch); 0 since the fix (a
# node keeps its frozen facts while any other active is in contest, ignores an
# overtaken "active" message, and judges a peer's frozen facts by the policy
# whatever its role now). These are the runs that failed.
VERDICTS_DISAGREED = [
    (Policy.ZERO_CHANGES, 4, Mode.AVAILABILITY_FIRST, 11),
    (Policy.ZERO_CHANGES, 5, Mode.SAFETY_FIRST, 3),
    (Policy.ZERO_CHANGES, 3, Mode.AVAILABILITY_FIRST, 2),
    (Policy.ZERO_CHANGES, 4, Mode.AVAILABILITY_FIRST, 10),
    (Policy.ZERO_CHANGES, 5, Mode.AVAILABILITY_FIRST, 14),
    (Policy.HIGHEST_EPOCH, 3, Mode.AVAILABILITY_FIRST, 8),
]


@pytest.mark.parametrize(("policy", "nodes", "mode", "seed"), VERDICTS_DISAGREED)
def test_many_actives_agree_on_every_split_brain_verdict(
    policy: Policy, nodes: int, mode: Mode, seed: int
) -> None:
    schedule = parse_schedule(LIVELOCK)
    sim = make_simulation("custom", seed, nodes=nodes, policy=policy, mode=mode, schedule=schedule)
    result = sim.run()
    assert result.invariants["split-brain-verdicts-agree"], result.violations


def test_a_run_out_of_events_is_reported_stuck_with_its_replay(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["simulate", "partition-heal", "--event-budget", "300", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    stuck = [v for v in data["violations"] if v.startswith("progress:")]
    assert len(stuck) == 1 and "stuck: 300 events in " in stuck[0], data["violations"]
    assert " simulated seconds (event budget of 300 events spent)" in stuck[0]
    assert data["events"] == 300 and not data["invariants"]["progress"]
    assert "--event-budget 300" in data["replay"]
    # The replay is that run again, stopped at the same event.
    argv = shlex.split(data["replay"])[1:]
    assert main([*argv, "--json"]) == 1
    again = json.loads(capsys.readouterr().out)
    assert again["digest"] == data["digest"] and again["events"] == 300


def test_a_run_out_of_wall_time_is_reported_stuck(capsys: pytest.CaptureFixture[str]) -> None:
    # One microsecond of wall time runs out at the first look at the clock.
    sim = make_simulation("custom", 1, schedule=parse_schedule("20s:crash:n2"))
    sim.set_budgets(None, 1e-6)
    sim._CHECK_EVERY = 1
    result = sim.run()
    assert sim.stuck.startswith("wall-time budget")
    assert any("stuck: " in v and "wall-time budget" in v for v in result.violations)
    assert "--wall-budget 1e-06s" in result.replay


def test_a_run_cut_short_by_duration_replays_as_the_same_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Before, `--duration` was left out of the replay: a run cut short (here a
    violation: not converged 1.7 s after the heal) replayed as a pass."""
    assert main(["simulate", "partition-heal", "--seed", "2", "--duration", "55s", "--json"]) == 1
    cut = json.loads(capsys.readouterr().out)
    assert "--duration 55s" in cut["replay"]
    assert main([*shlex.split(cut["replay"])[1:], "--json"]) == 1
    again = json.loads(capsys.readouterr().out)
    assert again["digest"] == cut["digest"]
    assert again["violations"] == cut["violations"]


@pytest.fixture
def livelocking_decider(monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's livelock, re-created on purpose in the table: an active that
    hears another active "detects" the split-brain again every time and
    announces it, instead of judging it, and never yields to VRRP. Two actives
    (after a partition or a pause) answer each other at link speed for ever,
    every safety invariant intact. (The cells are replaced in the
    table, so re-deciding a log in the replay invariant agrees.)"""

    def redetect(ctx: Context, state: NodeState, i: inp.Input) -> list[ev.Event]:
        assert isinstance(i, inp.PeerHeard)
        if i.role is PeerRole.ACTIVE and i.epoch != state.epoch:
            return [ev.SplitBrainDetected(i.at, i.peer, i.epoch, ctx.config.policy, 0, 0)]
        return actions.observe_peer(ctx, state, i)

    active = TABLE[Role.ACTIVE]
    monkeypatch.setitem(active, inp.PeerHeard, (Rule(guards.always, Role.ACTIVE, redetect),))
    observe_vrrp = (Rule(guards.always, Role.ACTIVE, actions.observe_vrrp),)
    monkeypatch.setitem(active, inp.VrrpReported, observe_vrrp)


# Which seed's 80 examples reach two actives depends on more than the seed:
# the same seed found the planted livelock in one process and not in another
# (pytest alone, pytest in the whole suite, a script), because hypothesis's
# generation also depends on its settings profile (CI=true loads its "ci"
# profile) and on its state in the process. The canary therefore tries a
# bounded number of seeds and fails if none of them finds the livelock.
CANARY_SEEDS = range(1, 13)


def test_canary_fuzzer_finds_a_livelock_shrinks_it_and_its_replay_has_the_same_digest(
    livelocking_decider: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # Short examples (4 rules, advances of at most 10 s) keep a normal one far
    # below the budget and make each shrink step cheap.
    failure = None
    for seed in CANARY_SEEDS:
        outcome = run_fuzz(
            examples=80, nodes=2, seed=seed, steps=6, max_advance_s=10, event_budget=4_000
        )
        failure = outcome.failure
        if failure is not None:
            break
    assert failure is not None, f"the fuzzer missed a decider that livelocks (seeds {CANARY_SEEDS})"
    assert "stuck: " in str(failure) and " simulated seconds" in str(failure)
    schedule = parse_schedule(failure.schedule)
    # Shrunk to what makes two actives: one cut, pause or crash, then the heal batch.
    assert 1 <= len(schedule) <= 6, failure.schedule
    assert any(f.kind in ("partition", "pause", "crash") for f in schedule), failure.schedule
    assert "--event-budget 4000" in failure.command and "--duration " in failure.command
    # The printed command, run as printed, is the same run: the same digest.
    argv = shlex.split(failure.command)
    assert argv[:2] == ["hacore", "simulate"]
    assert main([*argv[1:], "--json"]) == 1
    replayed = json.loads(capsys.readouterr().out)
    assert replayed["digest"] == failure.digest
    assert any("stuck: " in v for v in replayed["violations"])


def test_a_prefix_of_the_fuzzers_chaos_phase_replays_with_heal_at_never(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A violation found before the fuzzer's teardown: its run has no heal phase
    (the chaos goes on, transient step failures included), and the replay must
    not start one at its last fault."""
    cfg = FuzzConfig(nodes=3, seed=4)
    sim = Simulation(cfg.params(), 4007, (), "custom")
    sim.last_heal = NEVER
    sim.set_budgets(*cfg.example_budgets())
    sim.start()
    sim.run_until(20 * SECOND)
    for kind, target, wait in (("partition", "halves", 30), ("heal", "", 4), ("crash", "n2", 9)):
        sim.inject(Fault(sim.now, kind, target))
        sim.run_until(sim.now)
        sim.run_until(sim.now + wait * SECOND)
    sim.end = sim.now
    command = replay_command(sim)
    assert "--heal-at never" in command and "--duration 63s" in command
    assert main([*shlex.split(command)[1:], "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["digest"] == sim.digest()


# ------------------------------------------------------ progress invariant ----


def _state(sim: Simulation, index: int) -> NodeState:
    core = sim.data[index].core
    assert core is not None
    return core.state


def _quiet_from(sim: Simulation) -> int:
    assert sim.converged_since is not None
    return sim.converged_since + settle_us(sim.p)


def _converged_run() -> Simulation:
    sim = make_simulation("custom", 1, schedule=parse_schedule("20s:crash:active,25s:restart:all"))
    result = sim.run()
    assert result.ok, result.violations
    return sim


def test_a_burst_of_decisions_breaks_the_progress_invariant_with_its_timeline() -> None:
    sim = _converged_run()
    n = sim.data[0]
    bound = DecisionBound.of(sim.p)
    at = sim.end + SECOND  # a burst after the run's last record
    committed = _state(sim, 0).committed
    for k in range(bound.per_second + 1):  # one more than the bound, in 0.1 s
        t = at + k * 100
        committed += 1
        n.log.append([inp.LocalProgress(t, committed), ev.ProgressObserved(t, committed)], 0)
    details = progress(sim)
    assert len(details) == 1
    first = seconds(at)
    assert f"{bound.per_second + 1} decisions in the second from {first}" in details[0]
    assert "local-progress x" in details[0] and f"timeline: {first} local-progress" in details[0]


def test_the_bound_leaves_room_for_a_normal_run() -> None:
    sim = _converged_run()
    assert progress(sim) == []


def test_a_converged_cluster_whose_log_keeps_growing_breaks_the_progress_invariant() -> None:
    sim = _converged_run()
    n = sim.data[1]
    late = _quiet_from(sim) + SECOND
    n.log.append([inp.TimerFired(late, 999), ev.TimerDisarmed(late, 999)], _state(sim, 1).epoch)
    details = progress(sim)
    assert len(details) == 1 and "still grows" in details[0] and "timer-fired" in details[0]


def test_new_facts_after_convergence_are_not_growth() -> None:
    sim = _converged_run()
    n = sim.data[1]
    late = _quiet_from(sim) + SECOND
    c = _state(sim, 1).committed + 1
    n.log.append([inp.LocalProgress(late, c), ev.ProgressObserved(late, c)], _state(sim, 1).epoch)
    assert progress(sim) == []


# ----------------------------------------------------- refused up front ----


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--schedule", "10s:crash:n7"], "no member 'n7'"),
        (["--schedule", "10s:partition:isolate-n3"], "no member 'n3'"),
        (["--schedule", "10s:partition:oneway-n1-n5"], "no member 'n5'"),
        (["--schedule", "10s:restart:n1,20s:crash:n1"], "restart before any crash of n1"),
        (["--schedule", "10s:crash:n1,40s:restart:n1", "--duration", "30s"], "ends before"),
        (["partition-heal", "--event-budget", "0"], "--event-budget must be at least 1"),
        (["partition-heal", "--wall-budget", "soon"], "--wall-budget"),
        (["--schedule", "10s:crash:n1", "--heal-at", "5s"], "--heal-at is before"),
        (["--schedule", "10s:crash:n1", "--heal-at", "never"], "--heal-at never needs"),
    ],
)
def test_a_run_that_cannot_mean_what_it_says_is_refused_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err and captured.err.count("\n") == 1, captured.err


def test_a_restart_after_a_crash_of_the_active_or_all_is_accepted() -> None:
    for text in ("10s:crash:active,20s:restart:n1", "10s:crash:all,20s:restart:n2"):
        assert make_simulation("custom", 1, schedule=parse_schedule(text)).run() is not None


def test_log_on_an_existing_store_is_refused_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "run.sqlite"
    assert main(["simulate", "partition-heal", "--log", str(store)]) == 0
    capsys.readouterr()
    timeline = tmp_path / "t.svg"
    argv = ["simulate", "partition-heal", "--log", str(store), "--timeline", str(timeline)]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "the file exists" in captured.err and captured.out == ""
    assert not timeline.exists()  # refused before the run: nothing was written


@pytest.mark.parametrize("mode", list(Mode))
def test_a_node_crashed_for_good_is_no_convergence_failure_of_the_others(mode: Mode) -> None:
    sim = make_simulation("custom", 1, nodes=3, mode=mode, schedule=parse_schedule("30s:crash:n3"))
    result = sim.run()
    assert result.invariants["convergence"], result.violations
    assert result.down == ("n3",)
    assert [o.name for o in result.observations if not o.up] == ["n3"]


def test_a_minority_left_up_serves_nothing_and_that_is_converged() -> None:
    # Two of three crashed for good: the survivor holds 1 of 3 votes; by design
    # it serves nothing (no bootstrap with three voters), which is no failure.
    crashes = parse_schedule("30s:crash:n1,30s:crash:n2")
    sim = make_simulation("custom", 1, nodes=3, schedule=crashes)
    result = sim.run()
    assert result.invariants["convergence"], result.violations
    assert result.down == ("n1", "n2")
    assert not any(n.up and n.role is Role.ACTIVE for n in sim.data)
