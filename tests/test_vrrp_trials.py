"""The racy cases as distributions: lab trials against >= 200 model runs (Fisher's exact test).

The default run compares the model with the outcomes of the lab trials recorded by
``scripts/vrrp_lab_trials.py`` (hacli/vrrp_trials_recorded.py, docs/vrrp-trials.md), so
it needs no lab; the slow test runs fresh lab trials (root, keepalived; minutes).
"""

from __future__ import annotations

import os

import pytest
from realdaemon import require_root_tools

from hacli import vrrp_trials as vt
from hacli.vrrp_trials_recorded import RECORDED
from sims.keepalived_timing import EXACT, MEASURED

MODEL_RUNS = 200
MIN_TRIALS = 20


def test_fisher_exact_matches_the_textbook_values() -> None:
    # scipy.stats.fisher_exact([[8, 2], [1, 5]]) -> 0.034965...; [[3, 1], [1, 3]] -> 0.4857...
    assert vt.fisher_exact(8, 2, 1, 5) == pytest.approx(0.0349650349, rel=1e-6)
    assert vt.fisher_exact(3, 1, 1, 3) == pytest.approx(0.4857142857, rel=1e-6)
    assert vt.fisher_exact(10, 0, 10, 0) == 1.0
    assert vt.fisher_exact(20, 0, 0, 200) < 1e-20


def test_every_racy_case_has_at_least_20_recorded_lab_trials() -> None:
    assert {c.kind for c in vt.CASES} == set(RECORDED)
    for kind, outcomes in RECORDED.items():
        assert len(outcomes) >= MIN_TRIALS, kind


@pytest.mark.parametrize("c", vt.CASES, ids=[c.kind for c in vt.CASES])
def test_model_outcome_distribution_matches_the_recorded_lab_trials(c: vt.RacyCase) -> None:
    model = [vt.model_outcome(c.kind, seed, MEASURED) for seed in range(MODEL_RUNS)]
    result = vt.compare_counts(c, RECORDED[c.kind], model)
    assert result.agree, (c.kind, result.real, result.model, result.p_value)


def test_the_distribution_check_rejects_the_exact_timing_model() -> None:
    """Teeth: without keepalived's timing the model decides every equal-priority start by
    address (n2 always), which the lab's trials reject."""
    failed = []
    for c in vt.CASES:
        model = [vt.model_outcome(c.kind, seed, EXACT) for seed in range(MODEL_RUNS)]
        if not vt.compare_counts(c, RECORDED[c.kind], model).agree:
            failed.append(c.kind)
    assert {"equal-n1-first", "equal-n2-first"} <= set(failed)


@pytest.mark.slow
@pytest.mark.root
@pytest.mark.parametrize("c", vt.CASES, ids=[c.kind for c in vt.CASES])
def test_fresh_lab_trials_agree_with_the_model(c: vt.RacyCase) -> None:
    from adapters.lab import trials

    require_root_tools("ip", "nft", "keepalived")
    records = [
        trials.run_trial(
            c.spec(i), i, state_dir=f"/run/hacore-lab-test/trials-{os.getpid()}-{c.kind}-{i}",
            name=f"tt-{i}",
        )
        for i in range(MIN_TRIALS)
    ]  # fmt: skip
    real = [vt.real_outcome(r) for r in records]
    model = [vt.model_outcome(c.kind, seed, MEASURED) for seed in range(MODEL_RUNS)]
    result = vt.compare_counts(c, real, model)
    assert result.agree, (c.kind, result.real, result.model, result.p_value)
