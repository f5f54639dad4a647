"""A node: the decider bound to its log, enforcing "persist before acting".

``Node.handle(input)`` decides, appends the input and its events to the log,
and only then returns the effects for the runtime to execute. If the append
raises (disk full, a second writer), no effect is returned and the in-memory
state is left as it was: the node never acts on a decision it did not persist.
"""

from __future__ import annotations

from collections.abc import Callable

from hacore import inputs as inp
from hacore.config import ClusterConfig
from hacore.context import Context
from hacore.decider import Decision, initial_state, step
from hacore.log import EventLog, InMemoryLog, replay_log
from hacore.state import NodeState


class Node:
    def __init__(self, config: ClusterConfig, name: str, log: EventLog | None = None) -> None:
        self.ctx = Context(config, name)
        self.log: EventLog = log if log is not None else InMemoryLog(name)
        self.state: NodeState = initial_state(config, name)
        # An in-memory log keeps a snapshot of the state every so many records,
        # so that a restart folds only the tail (Node.recover, replay_log). Only
        # while self.state is the fold of the log: from an empty log, or recovered.
        self._keep_snapshot: Callable[[NodeState], None] | None = None
        if isinstance(self.log, InMemoryLog) and not len(self.log):
            self._keep_snapshot = self.log.keep_snapshot

    @classmethod
    def recover(cls, config: ClusterConfig, name: str, log: EventLog) -> Node:
        """Rebuild a node from its durable log (after a crash or restart).

        The chain is verified first; the state is then a replay of the log,
        from the log's snapshot when it keeps a valid one (the same state by
        construction: see :class:`hacore.log.Snapshot`). Over an
        :class:`~hacore.log.InMemoryLog` both cost the tail since the last
        check and snapshot, not the whole log.
        """
        node = cls(config, name, log)
        log.verify()
        node.state = replay_log(name, log)
        if isinstance(log, InMemoryLog):
            node._keep_snapshot = log.keep_snapshot
        return node

    def handle(self, received: inp.Input) -> Decision:
        decision = step(self.ctx, self.state, received)
        if decision.events:
            # The epoch before the decision: make_records moves to the new one at
            # its EpochOpened record, so each record carries the epoch once applied.
            self.log.append([received, *decision.events], self.state.epoch)
            self.state = decision.state
            if self._keep_snapshot is not None:
                self._keep_snapshot(decision.state)
        return decision
