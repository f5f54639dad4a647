"""The fuzzer has teeth: against a deliberately broken decider it finds the bug fast
and shrinks it to a short schedule that replays through `hacore simulate`."""

from __future__ import annotations

import json
import shlex

import pytest
from canary import broken_cells

from hacli.main import main
from hacore.roles import Role
from hacore.table import TABLE
from sims.faults import parse_schedule
from sims.fuzz import run_fuzz


@pytest.fixture
def broken_decider(monkeypatch: pytest.MonkeyPatch) -> None:
    """An active that never demotes: not on split-brain, not on losing the VIP."""
    for input_type, cell in broken_cells().items():
        monkeypatch.setitem(TABLE[Role.ACTIVE], input_type, cell)


def test_canary_fuzzer_finds_two_actives_after_heal_and_shrinks_it(
    broken_decider: None, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome = run_fuzz(examples=150, nodes=2, seed=3)
    assert outcome.failure is not None, "the fuzzer missed a decider that never demotes"
    # max_examples=150 bounds the search; examples_run also counts shrink replays.
    schedule = parse_schedule(outcome.failure.schedule)
    chaos = [f for f in schedule if f.at < schedule[-1].at]  # drop the teardown's heal batch
    assert 1 <= len(chaos) <= 3, outcome.failure.schedule
    assert any(f.kind in ("partition", "crash", "pause") for f in chaos)
    assert "hacore simulate custom" in outcome.failure.command
    # The printed command, run as printed, replays the failing run exactly: the
    # same node logs (digest), the same violation (issue 12: it is complete).
    argv = shlex.split(outcome.failure.command)
    assert argv[:2] == ["hacore", "simulate"]
    assert main([*argv[1:], "--json"]) == 1
    replayed = json.loads(capsys.readouterr().out)
    assert replayed["digest"] == outcome.failure.digest
    assert replayed["violations"][0].split(":")[0] == str(outcome.failure).split(":")[0]


def test_fuzzer_finds_nothing_in_the_real_core() -> None:
    outcome = run_fuzz(examples=25, nodes=2, seed=1)
    assert outcome.failure is None, str(outcome.failure)
    assert outcome.examples_run >= 25
