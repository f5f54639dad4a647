"""The core's VRRP model against real keepalived: same scenarios, same transitions.

Runs every scenario of hacli.conformance on the lab (advert_int 0.1 s; the
start-up election 0.5 s) and on sims.vrrp_sim with the measured step times; per
node the VRRP state sequences must be equal and each transition within one advert
interval + 300 ms. About 50 s in all.
"""

from __future__ import annotations

import os

import pytest
from realdaemon import require_root_tools

from hacli.conformance import Scenario, run_scenario, scenarios, sequence_text

SCENARIOS = scenarios("0.1")
REQUIRED = {
    "initial-election",
    "equal-priority-address",
    "preempt-on-return",
    "nopreempt",
    "preempt-delay",
    "kill-master",
    "partition-two-masters",
    "partition-heal",
}


def test_the_issue_scenarios_are_all_there() -> None:
    assert REQUIRED <= {s.name for s in SCENARIOS}


@pytest.mark.root
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_model_conforms_to_keepalived(scenario: Scenario) -> None:
    require_root_tools("ip", "nft", "keepalived")
    # a state directory of our own: two test runs at once must not meet
    state_dir = f"/run/hacore-lab-test/conf-{os.getpid()}-{scenario.name}"
    out = run_scenario(scenario, name=f"conf-{scenario.name}", state_dir=state_dir)
    assert out.real, "the lab recorded no transition at all"
    assert out.ok, (
        f"{scenario.name}: {out.mismatches}\n"
        f"real : {sequence_text(out.real)}\nmodel: {sequence_text(out.model)}"
    )
    if scenario.takeover_after:
        assert out.real_takeover is not None and out.model_takeover is not None
        assert abs(out.real_takeover - out.model_takeover) <= float(scenario.advert_int) + 0.3


def test_comparison_detects_a_wrong_model() -> None:
    """The comparison itself can fail: a model run with a swapped state is caught."""
    from hacli.conformance import Outcome, Tr, compare

    sc = next(s for s in SCENARIOS if s.advert_int == "0.1")
    real = [Tr(0.01, "n1", "BACKUP"), Tr(0.33, "n1", "MASTER")]
    assert compare(Outcome(sc, real, list(real), [])).ok
    assert not compare(Outcome(sc, real, [Tr(0.01, "n1", "BACKUP")], [])).ok
    late = [Tr(0.01, "n1", "BACKUP"), Tr(0.9, "n1", "MASTER")]
    assert not compare(Outcome(sc, real, late, [])).ok
