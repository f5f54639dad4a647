"""The Galera conformance cases: the model side always, one real group when slow runs."""

from __future__ import annotations

import os
import time

import pytest
from galera_lab import GALERA_TOOLS
from realdaemon import require_root_tools

from hacli.conformance_galera import RUNS, run_model, run_real


def test_there_are_at_least_eight_cases_and_the_model_runs_them_all() -> None:
    names = [name for run in RUNS for name, _, _ in run.cases]
    assert len(names) >= 8 and len(set(names)) == len(names)
    for run in RUNS:
        for result in run_model(run):
            assert result.model and not result.error, result.name


@pytest.mark.root
@pytest.mark.slow
def test_real_and_model_agree_on_the_graceful_stop_and_bootstrap_group() -> None:
    require_root_tools(*GALERA_TOOLS)
    run = RUNS[1]
    results = run_model(run)
    run_real(run, results, f"/run/hacore-lab-test/galera-conf-{os.getpid()}-{time.monotonic_ns()}")
    for r in results:
        assert r.agree, (r.name, r.mismatches)
