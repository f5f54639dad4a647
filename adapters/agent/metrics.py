"""The agent's Prometheus metrics (prometheus_client, one registry per agent)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from hacore.roles import Role

_DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class AgentMetrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.role = Gauge(
            "hacore_role", "1 for the node's current cluster role", ["role"], registry=r
        )
        self.epoch = Gauge("hacore_epoch", "the node's current epoch", registry=r)
        self.writable = Gauge("hacore_writable", "1 when this node takes writes", registry=r)
        self.plan_seconds = Histogram(
            "hacore_plan_duration_seconds", "plan durations", ["kind", "outcome"],
            buckets=_DURATION_BUCKETS, registry=r,
        )  # fmt: skip
        self.step_seconds = Histogram(
            "hacore_step_duration_seconds", "plan step durations", ["step"],
            buckets=_DURATION_BUCKETS, registry=r,
        )  # fmt: skip
        self.peer_age = Gauge(
            "hacore_peer_last_heard_seconds", "seconds since the peer's last valid message",
            ["peer"], registry=r,
        )  # fmt: skip
        self.split_brains = Counter(
            "hacore_split_brain_detected", "split-brains detected", registry=r
        )
        self.decisions = Counter(
            "hacore_decisions", "inputs the core decided (events appended)", registry=r
        )
        self.inputs = Counter("hacore_inputs", "inputs offered to the core", ["kind"], registry=r)
        self.effects = Counter(
            "hacore_effects", "effects carried out", ["effect", "outcome"], registry=r
        )
        self.peer_dropped = Gauge(
            "hacore_peer_messages_dropped", "peer messages dropped", ["reason"], registry=r
        )
        self.peer_accepted = Gauge(
            "hacore_peer_messages_accepted", "peer messages accepted", registry=r
        )
        self.replica_lag_revisions = Gauge(
            "hacore_replica_lag_revisions",
            "kine revisions the litestream replica lacks (NaN: not measured)", registry=r,
        )  # fmt: skip
        self.replica_lag_seconds = Gauge(
            "hacore_replica_lag_seconds",
            "age of the oldest revision the replica lacks (NaN: not measured)", registry=r,
        )  # fmt: skip
        self.set_role(Role.STANDBY)
        self.set_replica_lag(None, None)

    def set_replica_lag(self, revisions: int | None, seconds: float | None) -> None:
        nan = float("nan")
        self.replica_lag_revisions.set(nan if revisions is None else revisions)
        self.replica_lag_seconds.set(nan if seconds is None else seconds)

    def set_role(self, role: Role) -> None:
        for r in Role:
            self.role.labels(role=r.value).set(1 if r is role else 0)

    def render(self) -> bytes:
        return generate_latest(self.registry)
