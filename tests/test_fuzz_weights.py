"""Campaign fault weights reach the fuzzer: a rule of weight 0 never runs, a
heavier rule runs more often, unknown rules are refused."""

from __future__ import annotations

from collections import Counter

import pytest

from sims.faults import Fault
from sims.fuzz import FuzzConfig, make_machine, run_fuzz
from sims.sim import Simulation


def _injected(monkeypatch: pytest.MonkeyPatch, **kwargs: object) -> Counter[str]:
    kinds: Counter[str] = Counter()
    original = Simulation.inject

    def spy(self: Simulation, fault: Fault) -> None:
        kinds[fault.kind] += 1
        original(self, fault)

    monkeypatch.setattr(Simulation, "inject", spy)
    outcome = run_fuzz(examples=15, nodes=2, seed=4, **kwargs)  # type: ignore[arg-type]
    assert outcome.failure is None, str(outcome.failure)
    monkeypatch.undo()
    return kinds


def test_weight_zero_removes_a_rule_and_a_heavier_one_runs_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plain = _injected(monkeypatch)
    assert plain["crash"] > 0 and plain["partition"] > 0
    weighted = _injected(monkeypatch, weights=(("crash", 0), ("partition", 4)))
    assert weighted["crash"] == 0
    share = weighted["partition"] / sum(weighted.values())
    assert share > plain["partition"] / sum(plain.values())


def test_unknown_rule_and_all_zero_are_refused() -> None:
    with pytest.raises(ValueError, match="no fuzz rule named bogus"):
        make_machine(FuzzConfig(weights=(("bogus", 1),)), [0])
    everything_off = tuple((name, 0) for name in ("partition", "heal", "crash", "restart"))
    rest = ("pause", "resume", "slow", "failsteps", "diskfull", "diskok", "operator", "advance")
    with pytest.raises(ValueError, match="weight 0"):
        make_machine(FuzzConfig(weights=everything_off + tuple((n, 0) for n in rest)), [0])
