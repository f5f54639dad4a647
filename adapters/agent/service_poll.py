"""The poll of k3s and litestream for ``hacore status`` (blocking: run in a thread).

What a poll sees is a fact with a time; ``None`` is "not observed" (the
service is disabled, or its probe could not tell), never "fine":

* ``k3s_ready``: the k3s port's own ``ready`` (``/readyz`` 200): True, False
  (refused/not answering), None (no answer within the poll's budget);
* ``replicating``: a ``litestream replicate`` the datastore port started is
  alive on this node;
* ``lag``: the datastore port's ``replica_lag`` (``adapters/litestream/lag.py``):
  how many kine revisions the replica is behind the local database and the
  age of the oldest one it lacks (each None when not measured).
"""

from __future__ import annotations

from typing import Any

import attrs

from adapters.agent.ports import ClockUs, DisabledService
from hacore.ports import Done, Failed

POLL_BUDGET_US = 2_000_000


@attrs.frozen
class ServiceFacts:
    k3s_ready: bool | None
    replicating: bool | None
    detail: str
    at: int
    lag_revisions: int | None = None
    lag_seconds: float | None = None
    lag: dict[str, object] | None = None  # ReplicaLag.as_json(), for status --json


NOT_POLLED = ServiceFacts(None, None, "not polled yet", 0)


def poll_services(k3s: Any, datastore: Any, clock: ClockUs) -> ServiceFacts:
    details: list[str] = []
    ready: bool | None = None
    if not isinstance(k3s, DisabledService):
        outcome = k3s.ready(key="status-poll", deadline=clock() + POLL_BUDGET_US)
        ready = (
            True if isinstance(outcome, Done) else False if isinstance(outcome, Failed) else None
        )
        details.append(f"k3s: {outcome.detail if isinstance(outcome, Done) else outcome.reason}")
    replicating: bool | None = None
    lag = None
    if not isinstance(datastore, DisabledService):
        try:
            lag = datastore.replica_lag(clock())
            replicating = bool(lag.replicating)
            details.append(f"litestream: {lag.detail}")
        except Exception as exc:  # an unreadable PID record, a probe bug: not observed
            details.append(f"litestream: {exc}")
    if lag is None:
        return ServiceFacts(ready, replicating, "; ".join(details), clock())
    return ServiceFacts(
        ready,
        replicating,
        "; ".join(details),
        clock(),
        lag_revisions=lag.revisions_behind,
        lag_seconds=lag.seconds_behind,
        lag=lag.as_json(),
    )
