"""``hacore status`` from an agent's view: the reference layout, checks and a verdict.

Input is the local agent's status document (its own state and each peer as
last heard over the authenticated channel). Output, like the reference
system's status command: a header block (version, deployment type, virtual
IP, node IPs, time elapsed), the table ``Node Name | Role | Status | IP``
(with the epoch), then each of the reference checks with its verdict and the
time it took:

* active: all enabled services ready; Kubernetes state consistent; Galera member;
* standby: reachable from the active; Galera member;
* both: Galera cluster size 2 when both are up, >= 1 when the standby is down;
* the cluster: exactly one active node; each node's keepalived state agrees
  with its role (MASTER on the active, BACKUP on a standby); no node is in
  the middle of a plan (during a failover the verdict is ``degraded``, with
  the plan and its current step as the detail).

"Kubernetes state consistent" is k3s answering ``/readyz`` on the active and
on no other node. Galera's expected size counts garbd when
``cluster.witness`` is configured.

A check whose fact nobody observed is ``not observed`` and never counts as
healthy; a check of a service switched off is ``not applicable``. Verdict:
``healthy`` (exit 0) when every check passed; ``degraded`` (exit 1) when one
failed; ``cannot tell`` (exit 2) when none failed but some were not observed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import attrs

OK, FAILED, NOT_OBSERVED, NOT_APPLICABLE = "ok", "failed", "not observed", "not applicable"
# The fact of a node's status that says a service is ready there.
_READY_FACT = {
    "galera": "galera_member",
    "k3s": "k3s_ready",
    "litestream": "replicating",
    "gluster": "gluster_ready",
}
EXIT = {"healthy": 0, "degraded": 1, "cannot tell": 2}


@attrs.frozen
class Check:
    name: str
    verdict: str
    detail: str
    took_us: int


@attrs.frozen
class Row:
    name: str
    role: str
    status: str
    address: str
    epoch: int | None


def _timed(name: str, fn: Callable[[], tuple[str, str]]) -> Check:
    t0 = time.perf_counter_ns()
    verdict, detail = fn()
    return Check(name, verdict, detail, (time.perf_counter_ns() - t0) // 1000)


def _views(doc: dict[str, Any]) -> dict[str, dict[str, Any] | None]:
    """Per node: its status as known here (our own; a peer's only while fresh)."""
    views: dict[str, dict[str, Any] | None] = {doc["node"]: doc["self"]}
    for name, peer in doc["peers"].items():
        views[name] = peer if peer is not None and peer.get("fresh") else None
    return views


def rows(doc: dict[str, Any]) -> list[Row]:
    views = _views(doc)
    out = []
    for node in doc["nodes"]:
        view = views.get(node["name"])
        if view is None:
            last = doc["peers"].get(node["name"])
            role = "unknown" if last is None else f"{last['role']}?"
            out.append(Row(node["name"], role, "down", node["address"], None))
            continue
        status = "up" if view["role"] in ("active", "standby") else "transition"
        out.append(Row(node["name"], view["role"], status, node["address"], view["epoch"]))
    out.sort(key=lambda r: (r.role != "active", r.name))
    return out


def checks(doc: dict[str, Any]) -> list[Check]:
    views = _views(doc)
    services = doc["services"]
    actives = [n for n, v in views.items() if v is not None and v["role"] == "active"]
    standbys = [n for n, v in views.items() if v is not None and v["role"] == "standby"]
    out: list[Check] = []

    def one_active() -> tuple[str, str]:
        unknown = [n for n, v in views.items() if v is None]
        if len(actives) == 1:
            return OK, f"{actives[0]} is the active node"
        if len(actives) > 1:
            return FAILED, f"more than one active node: {', '.join(sorted(actives))}"
        if unknown:
            return NOT_OBSERVED, f"no active node seen; not heard: {', '.join(sorted(unknown))}"
        return FAILED, "no active node"

    out.append(_timed("cluster: exactly one active node", one_active))

    def services_ready_of(name: str) -> Callable[[], tuple[str, str]]:
        def check() -> tuple[str, str]:
            enabled = [svc for svc, on in sorted(services.items()) if on]
            if not enabled:
                return OK, "no services enabled (keepalived only)"
            view = views[name] or {}
            failed, unobserved = [], []
            for svc in enabled:
                fact = view.get(_READY_FACT[svc]) if svc in _READY_FACT else None
                if fact is False:
                    failed.append(svc)
                elif fact is None:
                    unobserved.append(svc)
            if failed:
                return FAILED, f"not ready: {', '.join(failed)}"
            if unobserved:
                return NOT_OBSERVED, f"not observed: {', '.join(unobserved)}"
            return OK, f"ready: {', '.join(enabled)}"

        return check

    def k8s_consistent() -> tuple[str, str]:
        """k3s answers on the active and on no other node (one API server)."""
        if not services["k3s"]:
            return NOT_APPLICABLE, "k3s disabled"
        ready = {n: (v or {}).get("k3s_ready") for n, v in views.items()}
        elsewhere = sorted(n for n, r in ready.items() if r and n not in actives)
        if elsewhere:
            return FAILED, f"k3s also answers on {', '.join(elsewhere)}"
        if len(actives) != 1:
            return NOT_OBSERVED, "no single active node"
        if ready[actives[0]] is False:
            return FAILED, f"k3s not ready on the active {actives[0]}"
        unknown = sorted(n for n, r in ready.items() if r is None)
        if unknown:
            return NOT_OBSERVED, f"k3s readiness not observed on {', '.join(unknown)}"
        return OK, f"k3s answers on {actives[0]} only"

    def galera_member_of(name: str) -> Callable[[], tuple[str, str]]:
        def check() -> tuple[str, str]:
            if not services["galera"]:
                return NOT_APPLICABLE, "galera disabled"
            view = views[name]
            member = None if view is None else view.get("galera_member")
            if member is None:
                return NOT_OBSERVED, "no Galera status observed (fake port, or no poll yet)"
            if member:
                return OK, f"member (cluster size {view.get('galera_size')})"  # type: ignore[union-attr]
            return FAILED, "not a member of a Primary component"

        return check

    for name in actives:
        out.append(_timed(f"active {name}: enabled services ready", services_ready_of(name)))
        out.append(_timed(f"active {name}: Kubernetes state consistent", k8s_consistent))
        out.append(_timed(f"active {name}: Galera member", galera_member_of(name)))

    for name in standbys:

        def reachable(name: str = name) -> tuple[str, str]:
            if len(actives) != 1:
                return NOT_OBSERVED, "no single active node to ask"
            active_view = views[actives[0]]
            assert active_view is not None
            if name in active_view.get("heard", []):
                return OK, f"{actives[0]} hears {name}"
            return FAILED, f"{actives[0]} does not hear {name}"

        out.append(_timed(f"standby {name}: reachable from the active", reachable))
        out.append(_timed(f"standby {name}: Galera member", galera_member_of(name)))

    def galera_size() -> tuple[str, str]:
        if not services["galera"]:
            return NOT_APPLICABLE, "galera disabled"
        up = {n: v for n, v in views.items() if v is not None}
        sizes = {n: v.get("galera_size") for n, v in up.items()}
        if any(size is None for size in sizes.values()):
            return NOT_OBSERVED, "a node's Galera size was not observed"
        every = len(views)
        members = doc.get("galera_members", every)  # garbd counts when configured
        if len(up) == every:
            bad = {n: z for n, z in sizes.items() if z != members}
            if bad:
                return FAILED, f"expected size {members} with every node up, got {bad}"
            return OK, f"size {members}, every node up"
        bad = {n: z for n, z in sizes.items() if z is None or z < 1}
        if bad:
            return FAILED, f"expected size >= 1 with a node down, got {bad}"
        return OK, f"size >= 1 with {every - len(up)} node(s) down"

    out.append(_timed("both: Galera cluster size", galera_size))
    expected_vrrp = {"active": "MASTER", "standby": "BACKUP"}
    for name, view in sorted(views.items()):
        if view is None or view["role"] not in expected_vrrp:
            continue

        def vrrp_agrees(view: dict[str, Any] = view) -> tuple[str, str]:
            want = expected_vrrp[view["role"]]
            if view["vrrp"] == want:
                return OK, f"keepalived {want}"
            return FAILED, f"{view['role']} but keepalived reports {view['vrrp']}"

        out.append(_timed(f"node {name}: keepalived agrees with the role", vrrp_agrees))
    for name, view in sorted(views.items()):
        if view is None:
            out.append(Check(f"node {name}: heard within the peer timeout", FAILED, "not heard", 0))
        elif view.get("plan"):
            # a failover or switchover in progress: the cluster is not healthy until it ends
            out.append(Check(f"node {name}: no plan in progress", FAILED, view["plan"], 0))
    return out


def verdict(found: list[Check]) -> str:
    if any(c.verdict == FAILED for c in found):
        return "degraded"
    if any(c.verdict == NOT_OBSERVED for c in found):
        return "cannot tell"
    return "healthy"


def _table(table_rows: list[Row]) -> list[str]:
    header = ("Node Name", "Role", "Status", "IP", "Epoch")
    cells = [
        (r.name, r.role, r.status, r.address, "-" if r.epoch is None else str(r.epoch))
        for r in table_rows
    ]
    widths = [max(len(c[i]) for c in [header, *cells]) for i in range(5)]
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(row: tuple[str, ...]) -> str:
        return "|" + "|".join(f" {c:<{w}} " for c, w in zip(row, widths, strict=True)) + "|"

    out = [rule, line(header), rule]
    for row in cells:
        out += [line(row), rule]
    return out


def report(doc: dict[str, Any], elapsed_s: float) -> dict[str, Any]:
    """The JSON form of ``hacore status``."""
    found = checks(doc)
    return {
        "version": doc["version"],
        "deployment": doc["deployment"],
        "virtual_ip": doc["virtual_ip"],
        "node_ips": [n["address"] for n in doc["nodes"]],
        "viewed_from": doc["node"],
        "elapsed_s": elapsed_s,
        "nodes": [attrs.asdict(r) for r in rows(doc)],
        "checks": [attrs.asdict(c) for c in found],
        "replica_lag": replica_lag(doc),
        "verdict": verdict(found),
    }


def replica_lag(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per node heard, the litestream replica's lag behind its k3s database
    (informational: no threshold is configured, so it sets no verdict)."""
    out = {}
    for name, view in sorted(_views(doc).items()):
        if view is not None and view.get("replicating"):
            out[name] = {"revisions": view.get("lag_revisions"), "seconds": view.get("lag_seconds")}
    return out


def render(rep: dict[str, Any]) -> str:
    bar = "=" * 51
    out = [bar, "hacore version details", bar]
    out.append(f"Version : {rep['version']}")
    out.append(f"Deployment Type: {rep['deployment']}")
    out.append(f"Virtual IP: {rep['virtual_ip']}")
    out.append(f"Node IPs: {','.join(rep['node_ips'])}")
    out.append(f"Viewed from: {rep['viewed_from']}")
    out += [bar, "hacore Status", bar]
    out += _table([Row(**r) for r in rep["nodes"]])
    out.append(f"--- Time Elapsed: {rep['elapsed_s'] * 1000:.3f}ms ---")
    out += [bar, "Checks", bar]
    for c in rep["checks"]:
        out.append(f"{c['verdict']:<15} {c['name']} ({c['detail']}) [{c['took_us']} us]")
    for name, lag in rep.get("replica_lag", {}).items():
        revisions = "not measured" if lag["revisions"] is None else f"{lag['revisions']} revisions"
        seconds = "" if lag["seconds"] is None else f", {lag['seconds']:.1f} s"
        out.append(f"Replica lag (litestream on {name}): {revisions}{seconds}")
    out.append(f"Verdict: {rep['verdict']}")
    return "\n".join(out)
