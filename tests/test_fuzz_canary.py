"""The fuzzer has teeth: against a deliberately broken decider it finds the bug fast
and shrinks it to a short schedule that replays through `hacore simulate`."""

from __future__ import annotations

import pytest
from canary import broken_compiled

from hacore import decider
from sims.faults import parse_schedule
from sims.fuzz import run_fuzz
from sims.run import make_simulation


@pytest.fixture
def broken_decider(monkeypatch: pytest.MonkeyPatch) -> None:
    """An active that never demotes: not on split-brain, not on losing the VIP."""
    monkeypatch.setattr(decider, "_COMPILED", broken_compiled())


def test_canary_fuzzer_finds_two_actives_after_heal_and_shrinks_it(broken_decider: None) -> None:
    outcome = run_fuzz(examples=150, nodes=2, seed=3)
    assert outcome.failure is not None, "the fuzzer missed a decider that never demotes"
    # max_examples=150 bounds the search; examples_run also counts shrink replays.
    schedule = parse_schedule(outcome.failure.schedule)
    chaos = [f for f in schedule if f.at < schedule[-1].at]  # drop the teardown's heal batch
    assert 1 <= len(chaos) <= 3, outcome.failure.schedule
    assert any(f.kind in ("partition", "crash", "pause") for f in chaos)
    assert "hacore simulate custom" in outcome.failure.command
    # The printed command replays the failure exactly.
    seed = int(outcome.failure.command.split("--seed ")[1].split()[0])
    replay = make_simulation("custom", seed, schedule=schedule).run()
    assert not replay.ok


def test_fuzzer_finds_nothing_in_the_real_core() -> None:
    outcome = run_fuzz(examples=25, nodes=2, seed=1)
    assert outcome.failure is None, str(outcome.failure)
    assert outcome.examples_run >= 25
