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


# Which service each step belongs to, written out here from the design (not read
# from hacore.plans): None marks a bracketing step every plan keeps.
PROMOTION_BY_HAND = (
    ("confirm_old_active_gone", None),
    ("restore_k3s_db", "k3s"),
    ("start_k3s", "k3s"),
    ("make_galera_primary", "galera"),
    ("heal_gluster", "gluster"),
    ("start_replication", "litestream"),
    ("mark_active", None),
)
DEMOTION_BY_HAND = (
    ("quarantine_divergent", None),
    ("stop_replication", "litestream"),
    ("stop_k3s", "k3s"),
    ("rejoin_galera", "galera"),
    ("resync_gluster", "gluster"),
    ("mark_standby", None),
)


@pytest.mark.parametrize("services", ALL, ids=str)
def test_disabled_services_drop_only_their_steps_and_keep_the_order(services: Services) -> None:
    enabled = {
        name for name in ("k3s", "galera", "gluster", "litestream") if getattr(services, name)
    }
    for kind, by_hand in (
        (PlanKind.PROMOTION, PROMOTION_BY_HAND),
        (PlanKind.DEMOTION, DEMOTION_BY_HAND),
    ):
        steps = plan_steps(kind, cluster(2, services=services))
        expected = [step for step, service in by_hand if service is None or service in enabled]
        assert list(steps) == expected, (kind, services)


def test_a_plan_without_services_is_its_bracketing_steps_only() -> None:
    none = Services(k3s=False, galera=False, gluster=False, litestream=False)
    assert plan_steps(PlanKind.PROMOTION, cluster(2, services=none)) == (
        "confirm_old_active_gone",
        "mark_active",
    )
    assert plan_steps(PlanKind.DEMOTION, cluster(2, services=none)) == (
        "quarantine_divergent",
        "mark_standby",
    )


def test_without_k3s_neither_plan_touches_k3s_nor_its_database() -> None:
    config = cluster(2, services=Services(k3s=False))
    assert plan_steps(PlanKind.PROMOTION, config) == (
        "confirm_old_active_gone",
        "make_galera_primary",
        "heal_gluster",
        "start_replication",
        "mark_active",
    )
    assert plan_steps(PlanKind.DEMOTION, config) == (
        "quarantine_divergent",
        "stop_replication",
        "rejoin_galera",
        "resync_gluster",
        "mark_standby",
    )


def test_steps_that_may_overwrite_local_data_are_flagged() -> None:
    discarding = {name for name, s in STEPS_BY_NAME.items() if s.discards_data}
    assert discarding == {"rejoin_galera", "resync_gluster"}
    assert STEPS_BY_NAME[StepName.QUARANTINE_DIVERGENT].preserves_data


def test_step_names_are_unique_across_plans() -> None:
    names = [s.name for s in PROMOTION_STEPS + DEMOTION_STEPS]
    assert len(names) == len(set(names))
