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

from hacontracts.log import CONFIG, next_input  # one generator of plausible inputs

__all__ = ["CONFIG", "drive", "next_input"]
from hacore import inputs as inp
from hacore.node import Node


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
