"""A driver of realistic node logs, and a child process for the crash test.

``drive(node, steps)`` feeds a :class:`hacore.node.Node` a deterministic,
endless life (boot, VRRP master, promotion plan, progress, peers, demotion,
timers) so tests and the benchmark append real decisions, not dummy rows.

Run as a script (``python tests/crash_writer.py STORE NODE SEED``), it opens
the store, recovers the node from its log, and appends decision after
decision, printing each acknowledged seq (the log's length after ``append``
returned) on stdout, flushed, until it is killed.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator

from hacore import inputs as inp
from hacore.config import ClusterConfig, NodeSpec
from hacore.node import Node
from hacore.roles import PeerRole, Role, VrrpStatus

CONFIG = ClusterConfig((NodeSpec("a", "10.0.0.1", 150), NodeSpec("b", "10.0.0.2", 100)))


def next_input(node: Node, t: int, rng: random.Random) -> inp.Input:
    """One plausible observation for the node's current state."""
    state = node.state
    if state.plan is not None:
        plan = state.plan
        return inp.StepSucceeded(t, plan.plan_id, plan.current_step, max(plan.attempt, 1))
    due = [a for a in state.timers if a.due <= t]
    if due:
        return inp.TimerFired(t, due[0].timer_id)
    if state.vrrp is VrrpStatus.INIT:
        return inp.VrrpReported(t, VrrpStatus.BACKUP, 150)
    roll = rng.random()
    if state.role is Role.ACTIVE:
        if roll < 0.5:
            return inp.LocalProgress(t, state.committed + 1)
        if roll < 0.8:
            return inp.PeerHeard(t, "b", PeerRole.STANDBY, 0, state.committed, 0)
        if roll < 0.9:
            return inp.PeerLost(t, "b")
        return inp.VrrpReported(t, VrrpStatus.BACKUP, 150)
    if roll < 0.4:
        return inp.PeerHeard(t, "b", PeerRole.ACTIVE, state.max_epoch_seen, 5, 0)
    if roll < 0.6:
        return inp.LocalProgress(t, state.committed + 1)
    return inp.VrrpReported(t, VrrpStatus.MASTER, 150)


def drive(node: Node, decisions: int, seed: int = 1, start_at: int = 1) -> Iterator[int]:
    """Handle inputs until ``decisions`` of them decided something; yield the log length."""
    rng = random.Random(seed)
    t = start_at
    done = 0
    if not len(node.log):  # type: ignore[arg-type]
        node.handle(inp.Booted(t))
    while done < decisions:
        t += rng.randrange(1, 3_000_000)
        decision = node.handle(next_input(node, t, rng))
        if decision.events:
            done += 1
            yield len(node.log)  # type: ignore[arg-type]


def main(argv: list[str]) -> int:
    from adapters.store import SqliteStore

    path, name, seed = argv[0], argv[1], int(argv[2])
    store = SqliteStore.open(path, config=CONFIG)
    log = store.log_for(name)
    node = Node.recover(CONFIG, name, log)
    last_at = max((r.at for r in log.records(max(len(log) - 50, 1))), default=0)
    out = sys.stdout
    out.write("ready\n")
    out.flush()
    for acknowledged in drive(node, 10**9, seed, start_at=last_at + 1):
        out.write(f"{acknowledged}\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
