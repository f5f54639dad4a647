"""``hacore status``: the reference status table, from what can be observed here.

With ``--config FILE`` the local agent is asked (over its socket) for its view
of the cluster, shown in the reference layout with checks and a verdict
(:mod:`adapters.agent.status_report`; exit 0 healthy, 1 degraded, 2 cannot
tell). Without an agent, ``--store FILE`` reads the event store, with these
sources, each optional but the first:

* the event store (``--store FILE``): the cluster configuration and, per node,
  the role and epoch its durable log holds (replayed and verified);
* keepalived's own view (``--keepalived-pid FILE`` for the node named by
  ``--node``): the VRRP state and whether it holds the VIP, read from the JSON
  dump keepalived writes on SIGJSON.

In the ``--store`` form no service is probed, so those checks print as "not
observed" rather than being guessed (see :mod:`hacore.status`).

Exit codes of the ``--store`` form: 0 the verdict is healthy; 1 it is not (or
two nodes hold the VIP); 2 bad usage, or a source that cannot be read (the
message names it).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from adapters.keepalived.dump import DumpError, InstanceStatus, read_status
from adapters.store import NotAStoreError, SqliteStore, StoreError, StorePathError
from hacore.config import ClusterConfig
from hacore.roles import Role
from hacore.state import NodeState
from hacore.status import NodeObservation, render_table, verdict


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "status",
        help="the cluster's status: from the local agent (--config) or the event store",
        description=__doc__,
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--store",
        help="the event store (SQLite) of the cluster (no default: give --store or --config)",
    )
    source.add_argument(
        "--config",
        help="the agent's configuration: ask the local agent, reference layout"
        " (no default: give --store or --config)",
    )
    parser.add_argument(
        "--node", help="the node this machine is, for --keepalived-pid (default: none)"
    )
    parser.add_argument(
        "--keepalived-pid",
        type=Path,
        help="keepalived's pid file on this node (default: keepalived is not asked)",
    )
    parser.add_argument(
        "--keepalived-tmp",
        type=Path,
        default=Path("/tmp"),
        help="where keepalived writes keepalived.json (default /tmp)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    parser.set_defaults(handler=cmd_status)


def _load(path: str) -> tuple[ClusterConfig, dict[str, NodeState]]:
    with SqliteStore.open(path, create=False, readonly=True) as store:
        config = store.config
        if config is None:
            raise StoreError(f"{path}: the store holds no cluster configuration")
        states = {node: store.replay(node) for node in store.nodes()}
    return config, states


def observe(config: ClusterConfig, states: dict[str, NodeState]) -> list[NodeObservation]:
    """Observations from durable roles. This command probes no host: a node
    counts as up when its log is in the store, and its role is what that log
    says; the service checks are left unobserved."""
    out = []
    for spec in config.nodes:
        state = states.get(spec.name)
        out.append(
            NodeObservation(
                name=spec.name,
                address=spec.address,
                up=state is not None,
                role=state.role if state is not None else None,
            )
        )
    return out


def cmd_status(args: argparse.Namespace) -> int:
    err = sys.stderr
    if args.config is not None:
        from adapters.agent_cli import status_from_agent

        return status_from_agent(args.config, args.json)
    if args.keepalived_pid is not None and not args.node:
        print("hacore status: --keepalived-pid needs --node (which node is this?)", file=err)
        return 2
    try:
        config, states = _load(args.store)
    except (NotAStoreError, StorePathError, StoreError) as exc:
        print(f"hacore status: {exc}", file=err)
        return 2
    if args.node and args.node not in {n.name for n in config.nodes}:
        print(f"hacore status: --node {args.node!r} is not a node of the cluster", file=err)
        return 2
    keepalived: tuple[str, tuple[InstanceStatus, ...]] | None = None
    if args.keepalived_pid is not None:
        try:
            keepalived = (args.node, read_status(args.keepalived_pid, args.keepalived_tmp))
        except (DumpError, OSError) as exc:
            print(f"hacore status: keepalived: {exc}", file=err)
            return 2
    result = verdict(observe(config, states))
    vrrp_problems = _vrrp_problems(states, keepalived)
    healthy = result.healthy and not vrrp_problems
    if args.json:
        doc = {
            "healthy": healthy,  # on what was observed; see all_checks_observed
            "all_checks_observed": all(not n.unobserved for n in result.nodes),
            "nodes": [
                {
                    "name": n.name,
                    "address": n.address,
                    "role": n.role,
                    "status": n.status,
                    "epoch": states[n.name].epoch if n.name in states else None,
                    "problems": list(n.problems),
                    "not_observed": list(n.unobserved),
                }
                for n in result.nodes
            ],
            "problems": [*result.problems, *vrrp_problems],
            "keepalived": None
            if keepalived is None
            else {
                "node": keepalived[0],
                "instances": [
                    {
                        "name": i.name,
                        "state": i.state,
                        "priority": i.effective_priority,
                        "vip": i.vip_set,
                    }
                    for i in keepalived[1]
                ],
            },
        }
        print(json.dumps(doc, indent=1, sort_keys=True))
    else:
        print(render_table(result))
        for line in vrrp_problems:
            print(line)
        if keepalived is not None:
            for i in keepalived[1]:
                vip = "holds the VIP" if i.vip_set else "no VIP"
                print(
                    f"{keepalived[0]}: keepalived {i.name} {i.state} "
                    f"priority {i.effective_priority}, {vip}"
                )
    return 0 if healthy else 1


def _vrrp_problems(
    states: dict[str, NodeState], keepalived: tuple[str, tuple[InstanceStatus, ...]] | None
) -> list[str]:
    """Disagreements between keepalived and the node's durable role."""
    if keepalived is None:
        return []
    node, instances = keepalived
    state = states.get(node)
    holds_vip = any(i.vip_set for i in instances)
    if state is None:
        return []
    if state.role is Role.ACTIVE and not holds_vip:
        return [f"{node}: active but keepalived does not hold the VIP"]
    if state.role is Role.STANDBY and holds_vip:
        return [f"{node}: standby but keepalived holds the VIP (promotion pending or refused)"]
    return []
