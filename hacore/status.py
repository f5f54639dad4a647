"""The status verdict: the reference system's health checks, from observations.

Rules (from the reference status command, generalised to N nodes)
-----------------------------------------------------------------
* active node: every enabled service is ready, the Kubernetes state is
  consistent with the enabled services, and the node is a Galera member.
* standby node: reachable from the active, and a Galera member.
* every up node: the Galera cluster size equals the number of up data nodes
  (2 when both of a pair are up), and is at least 1 when a standby is down.
* exactly one node is active; none active, or more than one, is a cluster-level
  problem whatever each node says of itself.

Input is observations only (what probes saw); the verdict and the table are
pure functions of them, so ``hacore status``, the simulator and the log replay
print the same thing for the same facts. A fact that was not observed (None)
is never counted as good or bad: it is listed as unobserved, because a status
command that guesses is worse than one that says what it does not know.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hacore.roles import Role


@dataclass(frozen=True, slots=True)
class NodeObservation:
    name: str
    address: str
    up: bool  # the host answered at all
    role: Role | None  # None: unknown (the node's agent did not answer)
    # The probes' findings; None = not observed (no probe for it ran).
    services_ready: bool | None = None  # all enabled services report ready
    k8s_consistent: bool | None = None  # Kubernetes state matches the enabled services
    galera_member: bool | None = None  # wsrep_ready=ON and in the Primary component
    galera_cluster_size: int | None = None
    reachable_from_active: bool | None = None


@dataclass(frozen=True, slots=True)
class NodeVerdict:
    name: str
    address: str
    role: str  # what the table shows: active, standby, promoting, ..., unknown
    status: str  # "up", "degraded" or "down"
    problems: tuple[str, ...]
    unobserved: tuple[str, ...] = ()  # checks that could not be made


@dataclass(frozen=True, slots=True)
class ClusterVerdict:
    nodes: tuple[NodeVerdict, ...]
    problems: tuple[str, ...]  # cluster-level

    @property
    def healthy(self) -> bool:
        return not self.problems and all(n.status == "up" for n in self.nodes)


def _node_problems(obs: NodeObservation, up_count: int) -> tuple[list[str], list[str]]:
    problems: list[str] = []
    unobserved: list[str] = []

    def check(fact: bool | None, what: str, problem: str) -> None:
        if fact is None:
            unobserved.append(what)
        elif not fact:
            problems.append(problem)

    if obs.role is Role.ACTIVE:
        check(obs.services_ready, "services", "not all enabled services are ready")
        check(
            obs.k8s_consistent,
            "kubernetes state",
            "Kubernetes state inconsistent with the enabled services",
        )
    elif obs.role is Role.STANDBY:
        check(obs.reachable_from_active, "reachability", "not reachable from the active node")
    elif obs.role is None:
        problems.append("agent did not answer")
    else:
        problems.append(f"in transition ({obs.role})")
    check(obs.galera_member, "galera membership", "not a Galera cluster member")
    if obs.galera_member and obs.galera_cluster_size is not None:
        if obs.galera_cluster_size != up_count:
            problems.append(f"Galera cluster size {obs.galera_cluster_size}, expected {up_count}")
    elif obs.galera_member and obs.galera_cluster_size is None:
        unobserved.append("galera cluster size")
    return problems, unobserved


def verdict(observations: Sequence[NodeObservation]) -> ClusterVerdict:
    up_count = max(1, sum(1 for o in observations if o.up))
    nodes: list[NodeVerdict] = []
    for obs in observations:
        role = str(obs.role) if obs.role is not None else "unknown"
        if not obs.up:
            nodes.append(NodeVerdict(obs.name, obs.address, role, "down", ("host down",)))
            continue
        problems, unobserved = _node_problems(obs, up_count)
        status = "degraded" if problems else "up"
        nodes.append(
            NodeVerdict(obs.name, obs.address, role, status, tuple(problems), tuple(unobserved))
        )
    actives = [o.name for o in observations if o.up and o.role is Role.ACTIVE]
    cluster: list[str] = []
    if not actives:
        cluster.append("no active node")
    elif len(actives) > 1:
        cluster.append(f"more than one active node: {', '.join(sorted(actives))}")
    # Active first, then by name: the reference command lists the active on top.
    nodes.sort(key=lambda n: (n.role != "active", n.name))
    return ClusterVerdict(tuple(nodes), tuple(cluster))


def render_table(result: ClusterVerdict) -> str:
    """The reference status command's table (Node Name | Role | Status | IP)."""
    header = ("Node Name", "Role", "Status", "IP")
    rows = [(n.name, n.role, n.status, n.address) for n in result.nodes]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(cells: Sequence[str]) -> str:
        return "|" + "|".join(f" {c:<{w}} " for c, w in zip(cells, widths, strict=True)) + "|"

    out = [rule, line(header), rule]
    for row in rows:
        out += [line(row), rule]
    for n in result.nodes:
        for p in n.problems:
            out.append(f"{n.name}: {p}")
    out.extend(result.problems)
    for n in result.nodes:
        if n.unobserved:
            out.append(f"{n.name}: not observed: {', '.join(n.unobserved)}")
    return "\n".join(out)
