"""Failover plans: ordered, idempotent steps (OCF's contract).

Rules
-----
* A step is idempotent: "start" succeeds if already running, "stop" succeeds if
  already stopped. The runner may therefore re-run the step a crashed node was
  in the middle of, and the core relies on that to resume a plan after replay.
* A step that may throw local data away (``discards_data``) is always preceded
  in its plan by ``quarantine_divergent``, which preserves what this node wrote
  that the cluster may not have (a property test holds every plan to it).
* Disabled services drop their steps; the bracketing steps (confirm, quarantine,
  mark) are always present.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from hacore.config import ClusterConfig, Services
from hacore.roles import PlanKind


class StepName(enum.StrEnum):
    """Every plan step's identity, the one name plans, events, effects, the
    runtime's dispatcher, the simulator and the docs use. A ``StrEnum``: its
    value is what the log stores, so records written before it decode alike."""

    CONFIRM_OLD_ACTIVE_GONE = "confirm_old_active_gone"
    RESTORE_K3S_DB = "restore_k3s_db"
    START_K3S = "start_k3s"
    MAKE_GALERA_PRIMARY = "make_galera_primary"
    HEAL_GLUSTER = "heal_gluster"
    START_REPLICATION = "start_replication"
    MARK_ACTIVE = "mark_active"
    QUARANTINE_DIVERGENT = "quarantine_divergent"
    STOP_REPLICATION = "stop_replication"
    STOP_K3S = "stop_k3s"
    REJOIN_GALERA = "rejoin_galera"
    RESYNC_GLUSTER = "resync_gluster"
    MARK_STANDBY = "mark_standby"


@dataclass(frozen=True, slots=True)
class Step:
    name: StepName
    service: str | None  # None: always part of the plan
    discards_data: bool = False
    preserves_data: bool = False


# The reference system's promotion, in order: the old active is gone before anything
# starts, the k3s datastore is restored before k3s starts, Galera is primary before
# replication resumes, and the node is marked active last.
PROMOTION_STEPS: tuple[Step, ...] = (
    Step(StepName.CONFIRM_OLD_ACTIVE_GONE, None),
    Step(StepName.RESTORE_K3S_DB, "k3s"),  # from the litestream replica
    Step(StepName.START_K3S, "k3s"),  # start and wait for /readyz
    Step(StepName.MAKE_GALERA_PRIMARY, "galera"),  # bootstrap only if the plan allows it
    Step(StepName.HEAL_GLUSTER, "gluster"),
    Step(StepName.START_REPLICATION, "litestream"),
    Step(StepName.MARK_ACTIVE, None),
)

DEMOTION_STEPS: tuple[Step, ...] = (
    Step(StepName.QUARANTINE_DIVERGENT, None, preserves_data=True),
    Step(StepName.STOP_REPLICATION, "litestream"),
    Step(StepName.STOP_K3S, "k3s"),
    Step(StepName.REJOIN_GALERA, "galera", discards_data=True),  # SST may overwrite local writes
    Step(StepName.RESYNC_GLUSTER, "gluster", discards_data=True),
    Step(StepName.MARK_STANDBY, None),
)

# An active's repair of a service that stayed unhealthy (hacore.health): the
# promotion's service steps that can run on an active (not the k3s restore,
# which needs k3s and replication stopped), then the mark.
REPAIR_STEPS: tuple[Step, ...] = (
    Step(StepName.MAKE_GALERA_PRIMARY, "galera"),
    Step(StepName.MARK_ACTIVE, None),
)

STEPS_BY_NAME: dict[StepName, Step] = {s.name: s for s in PROMOTION_STEPS + DEMOTION_STEPS}
_CATALOGUES = {
    PlanKind.PROMOTION: PROMOTION_STEPS,
    PlanKind.DEMOTION: DEMOTION_STEPS,
    PlanKind.REPAIR: REPAIR_STEPS,
}


def _enabled(step: Step, services: Services) -> bool:
    return step.service is None or bool(getattr(services, step.service))


def plan_steps(kind: PlanKind, config: ClusterConfig) -> tuple[StepName, ...]:
    catalogue = _CATALOGUES[kind]
    return tuple(s.name for s in catalogue if _enabled(s, config.services))


def quarantine_precedes_discard(steps: tuple[StepName, ...]) -> bool:
    """True when no data-discarding step comes before a preserving one."""
    preserved = False
    for name in steps:
        step = STEPS_BY_NAME[name]
        if step.preserves_data:
            preserved = True
        if step.discards_data and not preserved:
            return False
    return True
