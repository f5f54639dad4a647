"""The plan catalogue: reference steps, configurable services, OCF-style bracketing."""

from __future__ import annotations

import itertools

import pytest
from core_helpers import cluster

from hacore.config import Services
from hacore.plans import DEMOTION_STEPS, PROMOTION_STEPS, STEPS_BY_NAME, StepName, plan_steps
from hacore.roles import PlanKind

ALL = [Services(*flags) for flags in itertools.product([True, False], repeat=4)]


def test_reference_promotion_plan_is_in_the_design_order() -> None:
    assert plan_steps(PlanKind.PROMOTION, cluster(2)) == (
        "confirm_old_active_gone",
        "restore_k3s_db",
        "start_k3s",
        "make_galera_primary",
        "heal_gluster",
        "start_replication",
        "mark_active",
    )


def test_reference_demotion_plan_quarantines_first_and_marks_standby_last() -> None:
    steps = plan_steps(PlanKind.DEMOTION, cluster(2))
    assert steps[0] == "quarantine_divergent"
    assert steps[-1] == "mark_standby"
    assert set(steps) == {s.name for s in DEMOTION_STEPS}


@pytest.mark.parametrize("services", ALL, ids=str)
def test_disabled_services_drop_only_their_steps_and_keep_the_order(services: Services) -> None:
    for kind, catalogue in (
        (PlanKind.PROMOTION, PROMOTION_STEPS),
        (PlanKind.DEMOTION, DEMOTION_STEPS),
    ):
        steps = plan_steps(kind, cluster(2, services=services))
        expected = [s.name for s in catalogue if s.service is None or getattr(services, s.service)]
        assert list(steps) == expected
        bracketing = [s.name for s in catalogue if s.service is None]
        assert [s for s in steps if s in bracketing] == bracketing


def test_steps_that_may_overwrite_local_data_are_flagged() -> None:
    discarding = {name for name, s in STEPS_BY_NAME.items() if s.discards_data}
    assert discarding == {"rejoin_galera", "resync_gluster"}
    assert STEPS_BY_NAME[StepName.QUARANTINE_DIVERGENT].preserves_data


def test_step_names_are_unique_across_plans() -> None:
    names = [s.name for s in PROMOTION_STEPS + DEMOTION_STEPS]
    assert len(names) == len(set(names))
