"""The poll of k3s, litestream and Gluster for ``hacore status`` (blocking: run
in a thread).

What a poll sees is a fact with a time; ``None`` is "not observed" (the
service is disabled, or its probe could not tell), never "fine":

* ``k3s_ready``: the k3s port's own ``ready`` (``/readyz`` 200): True, False
  (refused/not answering), None (no answer within the poll's budget);
* ``replicating``: a ``litestream replicate`` the datastore port started is
  alive on this node;
* ``lag``: the datastore port's ``replica_lag`` (``adapters/litestream/lag.py``):
  how many kine revisions the replica is behind the local database and the
  age of the oldest one it lacks (each None when not measured);
* ``gluster_ready``: the Gluster port's ``probe`` (volume status and heal
  counts answered): True, False (an answer saying it failed), None.
"""

from __future__ import annotations

from typing import Any

import attrs

from adapters.agent.ports import ClockUs, DisabledService
from hacore.ports import Done, Failed, Outcome

POLL_BUDGET_US = 2_000_000
GLUSTER_BUDGET_US = 5_000_000  # volume status + heal info: a few CLI calls


@attrs.frozen
class ServiceFacts:
    k3s_ready: bool | None
    replicating: bool | None
    detail: str
    at: int
    lag_revisions: int | None = None
    lag_seconds: float | None = None
    lag: dict[str, object] | None = None  # ReplicaLag.as_json(), for status --json
    gluster_ready: bool | None = None


NOT_POLLED = ServiceFacts(None, None, "not polled yet", 0)


def _fact(outcome: Outcome) -> bool | None:
    return True if isinstance(outcome, Done) else False if isinstance(outcome, Failed) else None


def _said(outcome: Outcome) -> str:
    return outcome.detail if isinstance(outcome, Done) else outcome.reason


def poll_services(k3s: Any, datastore: Any, gluster: Any, clock: ClockUs) -> ServiceFacts:
    details: list[str] = []
    ready: bool | None = None
    if not isinstance(k3s, DisabledService):
        outcome = k3s.ready(key="status-poll", deadline=clock() + POLL_BUDGET_US)
        ready = _fact(outcome)
        details.append(f"k3s: {_said(outcome)}")
    gluster_ready: bool | None = None
    if not isinstance(gluster, DisabledService):
        outcome = gluster.probe(key="status-poll", deadline=clock() + GLUSTER_BUDGET_US)
        gluster_ready = _fact(outcome)
        details.append(f"gluster: {_said(outcome)}")
    replicating: bool | None = None
    lag = None
    if not isinstance(datastore, DisabledService):
        try:
            lag = datastore.replica_lag(clock())
            replicating = bool(lag.replicating)
            details.append(f"litestream: {lag.detail}")
        except Exception as exc:  # an unreadable PID record, a probe bug: not observed
            details.append(f"litestream: {exc}")
    return ServiceFacts(
        ready,
        replicating,
        "; ".join(details),
        clock(),
        lag_revisions=None if lag is None else lag.revisions_behind,
        lag_seconds=None if lag is None else lag.seconds_behind,
        lag=None if lag is None else lag.as_json(),
        gluster_ready=gluster_ready,
    )
