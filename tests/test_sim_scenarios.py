"""Simulator scenarios, invariant checkers and the `hacore simulate` command."""

from __future__ import annotations

import json

import pytest

from hacli.main import main
from hacore.log import LogRecord
from hacore.roles import Mode, Policy, Role
from sims.faults import Fault, parse_schedule, schedule_text
from sims.run import make_simulation
from sims.scenarios import SCENARIOS
from sims.sim import INVARIANTS, Simulation


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_scenario_holds_every_invariant(name: str, seed: int) -> None:
    result = make_simulation(name, seed).run()
    assert result.violations == []
    assert result.invariants == dict.fromkeys(INVARIANTS, True)
    assert result.writes_acked > 0
    assert result.writes_lost == 0


def test_partition_heal_shows_two_actives_then_one() -> None:
    result = make_simulation("partition-heal", 1).run()
    assert result.split_brain_us > 0  # availability-first: both sides active
    actives = [o for o in result.observations if o.role is Role.ACTIVE]
    assert len(actives) == 1


def test_safety_first_never_has_two_actives_in_a_partition() -> None:
    result = make_simulation("partition-heal", 3, mode=Mode.SAFETY_FIRST).run()
    assert result.ok
    assert result.split_brain_us == 0


def test_manual_policy_is_resolved_by_the_heal_phase_operator() -> None:
    result = make_simulation("partition-heal", 2, policy=Policy.MANUAL).run()
    assert result.ok


def test_schedule_text_round_trips() -> None:
    faults = (
        Fault(1_500_000, "partition", "halves"),
        Fault(20_000_000, "crash", "n1"),
        Fault(21_000_000, "slow", "n2", "40"),
    )
    assert parse_schedule(schedule_text(faults)) == faults


def _run_to_end(sim: Simulation) -> None:
    sim.start()
    sim.run_until(sim.end)


def test_nothing_lost_checker_fails_when_an_acknowledged_write_vanishes() -> None:
    sim = make_simulation("active-crash", 1)
    _run_to_end(sim)
    active = next(n for n in sim.data if n.role is Role.ACTIVE)
    active.history.remove(sim.acked[0][0])
    result = sim.finish(0.0)
    assert not result.invariants["nothing-lost"]
    assert result.writes_lost == 1


def test_quarantined_writes_are_not_lost() -> None:
    sim = make_simulation("active-crash", 1)
    _run_to_end(sim)
    active = next(n for n in sim.data if n.role is Role.ACTIVE)
    w = sim.acked[0][0]
    active.history.remove(w)
    sim.quarantine.add(w)
    result = sim.finish(0.0)
    assert result.invariants["nothing-lost"]
    assert result.writes_quarantined == 1


def test_replay_checker_fails_on_a_tampered_log() -> None:
    sim = make_simulation("standby-crash", 1)
    _run_to_end(sim)
    records = sim.data[0].log._records
    r = records[3]
    records[3] = LogRecord(
        r.seq, r.node, r.epoch, r.at + 1, r.kind, r.type, r.v, r.payload, r.prev_hash, r.hash
    )
    result = sim.finish(0.0)
    assert not result.invariants["replay"]


def test_convergence_checker_fails_when_the_survivor_cannot_finish_its_failover() -> None:
    # The survivor's plan steps run 100x slower: its promotion outlasts the bound.
    sim = make_simulation("custom", 1, schedule=parse_schedule("19s:slow:n2:100,20s:crash:n1"))
    result = sim.run()
    assert not result.invariants["convergence"]
    assert any("n2=promoting" in v for v in result.violations), result.violations


def test_availability_checker_uses_the_bound() -> None:
    # The survivor's plan steps run 10x slower: the failover misses the bound.
    sched = parse_schedule("19s:slow:n2:10,21s:crash:active,80s:restart:all")
    result = make_simulation("active-crash", 1, schedule=sched).run()
    assert not result.invariants["availability"]
    assert any(v.startswith("availability") for v in result.violations)


def test_disk_full_node_does_not_act_and_cluster_recovers() -> None:
    sched = parse_schedule("20s:diskfull:n1,21s:crash:n1,40s:diskok:n1,41s:restart:n1")
    result = make_simulation("custom", 4, schedule=sched).run()
    assert result.ok, result.violations


def test_cli_simulate_text_and_exit_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "partition-heal", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "| Node Name |" in out
    assert "Invariants:" in out and "FAIL" not in out


def test_cli_simulate_json_has_the_documented_fields(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "active-crash", "--seed", "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    for key in (
        "scenario", "seed", "invariants", "digest", "events", "sim_seconds", "wall_seconds",
        "downtime_s", "split_brain_s", "writes_acked", "writes_lost", "writes_quarantined",
    ):  # fmt: skip
        assert key in data
    assert data["scenario"] == "active-crash" and data["seed"] == 1
    assert set(data["invariants"]) == set(INVARIANTS)
    assert len(data["digest"]) == 64


def test_cli_violation_exits_one_and_prints_the_replay(capsys: pytest.CaptureFixture[str]) -> None:
    schedule = "19s:slow:n2:100,20s:crash:n1"  # the survivor's failover outlasts the bound
    assert main(["simulate", "--schedule", schedule, "--seed", "5"]) == 1
    out = capsys.readouterr().out
    assert "VIOLATIONS:" in out
    assert "hacore simulate custom --seed 5" in out and f"--schedule '{schedule}'" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["simulate", "no-such-scenario"],
        ["simulate", "partition-heal", "--nodes", "1"],
        ["simulate", "--schedule", "20s:explode:n1"],
        ["simulate", "partition-heal", "--mode", "yolo"],
        ["simulate"],
    ],
)
def test_cli_bad_arguments_exit_two(argv: list[str]) -> None:
    assert main(argv) == 2


def test_cli_scenarios_lists_one_line_each(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenarios"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines] == list(SCENARIOS)


def test_cli_log_writes_a_verifiable_sqlite_store(tmp_path: object) -> None:
    from pathlib import Path

    from adapters.store import SqliteStore

    path = str(Path(str(tmp_path)) / "run.db")
    assert main(["simulate", "partition-heal", "--seed", "1", "--log", path, "--json"]) == 0
    store = SqliteStore.open(path, readonly=True)
    try:
        counts = store.verify()
        assert set(counts) == {"n1", "n2"} and all(c > 0 for c in counts.values())
    finally:
        store.close()


def test_verdict_checker_fails_when_the_sides_judge_on_live_facts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The bug the handshake fixed: judging on the peer's *live* facts, which move
    right after a heal, lets both sides of most-committed declare themselves winner."""
    from hacore import facts
    from hacore import inputs as inp
    from hacore.context import Context

    def judge_on_live_facts(ctx: Context, state: object, i: inp.Input) -> bool:
        assert isinstance(i, inp.PeerHeard)
        return facts.new_split_brain(ctx, state, i)  # type: ignore[arg-type]

    monkeypatch.setattr(facts, "judgeable", judge_on_live_facts)
    result = make_simulation("partition-heal", 1, policy=Policy.MOST_COMMITTED).run()
    assert not result.invariants["split-brain-verdicts-agree"]


def test_both_sides_agree_on_the_split_brain_winner_under_every_policy() -> None:
    for policy in Policy:
        result = make_simulation("partition-heal", 1, policy=policy).run()
        assert result.invariants["split-brain-verdicts-agree"], (policy, result.violations)
