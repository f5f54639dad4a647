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

from dataclasses import dataclass

from hacore.config import ClusterConfig, Services
from hacore.roles import PlanKind


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    service: str | None  # None: always part of the plan
    discards_data: bool = False
    preserves_data: bool = False


# The reference system's promotion, in order (DESIGN.md §Failover plans).
PROMOTION_STEPS: tuple[Step, ...] = (
    Step("confirm_old_active_gone", None),
    Step("restore_k3s_db", "k3s"),  # from the litestream replica
    Step("start_k3s", "k3s"),  # start and wait for /readyz
    Step("make_galera_primary", "galera"),  # bootstrap only if the plan allows it
    Step("heal_gluster", "gluster"),
    Step("start_replication", "litestream"),
    Step("mark_active", None),
)

DEMOTION_STEPS: tuple[Step, ...] = (
    Step("quarantine_divergent", None, preserves_data=True),
    Step("stop_replication", "litestream"),
    Step("stop_k3s", "k3s"),
    Step("rejoin_galera", "galera", discards_data=True),  # SST may overwrite local writes
    Step("resync_gluster", "gluster", discards_data=True),
    Step("mark_standby", None),
)

STEPS_BY_NAME: dict[str, Step] = {s.name: s for s in PROMOTION_STEPS + DEMOTION_STEPS}


def _enabled(step: Step, services: Services) -> bool:
    return step.service is None or bool(getattr(services, step.service))


def plan_steps(kind: PlanKind, config: ClusterConfig) -> tuple[str, ...]:
    catalogue = PROMOTION_STEPS if kind is PlanKind.PROMOTION else DEMOTION_STEPS
    return tuple(s.name for s in catalogue if _enabled(s, config.services))


def quarantine_precedes_discard(steps: tuple[str, ...]) -> bool:
    """True when no data-discarding step comes before a preserving one."""
    preserved = False
    for name in steps:
        step = STEPS_BY_NAME[name]
        if step.preserves_data:
            preserved = True
        if step.discards_data and not preserved:
            return False
    return True
