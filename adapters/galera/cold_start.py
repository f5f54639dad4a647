"""Starting MariaDB when it is not running: join, or, after a total outage, let the
core's rule pick the one node that bootstraps.

The agent, not init, starts MariaDB. A plain start is right when some peer's
MariaDB runs: the node joins it (IST from its recovered position, or SST), or
merges with a non-Primary survivor into a Primary again. When no peer's
MariaDB runs, that is a **total outage**: a plain start would wait for a
Primary component that never comes, and bootstrapping whichever node came
back first would discard the others' acknowledged writes when they join it.
So the node recovers its position (``mariadbd --wsrep-recover``: MariaDB is
down, so that is safe), publishes it to its peers (the agent's peer channel
carries :meth:`ColdStart.published`), and hands every position it hears to
:func:`hacore.bootstrap.choose_bootstrap`: the chosen node cold-bootstraps
(``safe_to_bootstrap: 1``, ``--wsrep-new-cluster``), the others wait until it
runs and then join it. A peer not heard from, or whose state is unknown, blocks
the choice: it may be the most advanced.

Two callers share one lock, so MariaDB is never started twice or in the middle
of a rejoin's stop-and-start: the agent's tender (:meth:`ColdStart.tend`, each
poll) and the port's operations that start MariaDB (``make_primary``,
``rejoin``; :meth:`ColdStart.start`, bounded by their deadline). The tender
starts a node for a *join* only when ``may_join()`` (the agent: its role is not
active, promoting, demoting or fault — such a node waits for its demotion,
whose quarantine step comes first; a lab run showed an ex-active in fault
joining by IST otherwise); it may always cold-bootstrap the chosen node,
which keeps its own data.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from adapters.galera.errors import GaleraError, QuarantineError
from adapters.galera.ops import GaleraNode, Outcome, OutcomeKind
from adapters.galera.quarantine import verify
from adapters.galera.state_files import NIL_UUID, Position
from hacore.bootstrap import BootstrapChoice, RecoveredPosition, choose_bootstrap

_POSITION = re.compile(
    r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}):(-1|0|[1-9][0-9]{0,18})"
)
POLL_S = 0.5


def parse_position(text: str) -> RecoveredPosition:
    """``UUID:SEQNO`` as a peer publishes it. Raises ValueError on anything else."""
    m = _POSITION.fullmatch(text)
    if m is None:
        raise ValueError(f"not a Galera position: {text[:80]!r}")
    return RecoveredPosition(m.group(1), int(m.group(2)))


@dataclass(frozen=True, slots=True)
class PeerGalera:
    """What a peer last said about its MariaDB (fresh messages only)."""

    running: bool  # its mariadbd answers (Primary or not)
    position: RecoveredPosition | None  # its recovered position while MariaDB is down


class ColdStart:
    def __init__(
        self,
        node: GaleraNode,
        name: str,
        nodes: Sequence[str],
        peers: Callable[[], Mapping[str, PeerGalera]],
        may_join: Callable[[], bool] = lambda: True,
    ) -> None:
        self.node = node
        self.name = name
        self.nodes = tuple(nodes)  # data nodes, in the configured order
        self.peers = peers
        self.may_join = may_join
        self.lock = threading.Lock()
        self._position: Position | None = None  # recovered while MariaDB is down
        self.last_choice: BootstrapChoice | None = None
        # This node cold-bootstrapped and nobody has joined it yet: a Primary of one
        # that is the cluster's new start, not a split-brain side (port.rejoin).
        self.bootstrapped = False

    # ------------------------------------------------------------ position --

    def published(self) -> str | None:
        """This node's recovered position for the peer channel (None: MariaDB runs, or
        not recovered yet)."""
        p = self._position
        return None if p is None else str(p)

    def _recover(self, node: GaleraNode) -> Position:
        if self._position is None:
            try:
                self._position = node.recover_position()
            except GaleraError:
                # an unrecoverable node is no candidate, but it must not block the others
                self._position = Position(NIL_UUID, -1)
        return self._position

    # ------------------------------------------------------------ decision --

    def decide(self, node: GaleraNode) -> tuple[str, str]:
        """("join" | "bootstrap" | "wait", why), from this node's recovered position
        and what its peers said."""
        peers = self.peers()
        others = [n for n in self.nodes if n != self.name]
        running = [n for n in others if (p := peers.get(n)) is not None and p.running]
        if running:
            return "join", f"MariaDB runs on {', '.join(running)}"
        mine = self._recover(node)
        positions: dict[str, RecoveredPosition | None] = {
            self.name: RecoveredPosition(mine.uuid, mine.seqno)
        }
        for n in others:
            p = peers.get(n)
            positions[n] = None if p is None else p.position
        choice = choose_bootstrap(self.nodes, positions)
        self.last_choice = choice
        if choice.node == self.name:
            return "bootstrap", f"total outage: {choice.reason}"
        if choice.node is None:
            return "wait", f"total outage: {choice.reason}"
        return "wait", f"total outage: {choice.node} bootstraps ({choice.reason})"

    def _act(
        self, node: GaleraNode, action: str, why: str, quarantine: Path | None = None
    ) -> Outcome:
        if action == "bootstrap":
            outcome = node.cold_bootstrap(chosen=True)
            self.bootstrapped = outcome.ok
        elif quarantine is not None:
            # its plan dumped the stopped node: it may hold writes nobody else has (the
            # seqno cannot tell), so it takes the chosen node's whole state
            try:
                receipt = verify(quarantine)
            except QuarantineError as exc:
                return Outcome(OutcomeKind.REFUSED, f"quarantine not verified: {exc}")
            mine = self._recover(node)
            if receipt.node != self.name or receipt.committed < mine.seqno:
                return Outcome(
                    OutcomeKind.REFUSED,
                    f"{receipt.name} (committed {receipt.committed}) does not cover this "
                    f"node's position {mine}: quarantine again",
                )
            outcome = node.rejoin(force_sst=True, quarantine=quarantine)
        else:
            outcome = node.rejoin(force_sst=False)  # recovers the position: IST when it can
        self._position = None  # MariaDB runs (or tried): the position moves on
        return Outcome(outcome.kind, f"{why}: {outcome.detail}")

    # -------------------------------------------------------------- callers --

    def start(self, node: GaleraNode, budget_s: float, quarantine: Path | None = None) -> Outcome:
        """Start MariaDB for a port operation; the caller holds :attr:`lock`. Waits (at
        most ``budget_s``) while the rule says another node bootstraps first. With
        ``quarantine`` (this plan's verified dump of the stopped node) a join is a
        forced SST."""
        end = time.monotonic() + budget_s
        while True:
            if node.server.running():
                self._position = None
                return Outcome(OutcomeKind.ALREADY, "mariadbd runs")
            action, why = self.decide(node)
            if action != "wait":
                return self._act(node, action, why, quarantine)
            if time.monotonic() + POLL_S > end:
                return Outcome(OutcomeKind.UNCERTAIN, f"not starting MariaDB yet: {why}")
            time.sleep(POLL_S)

    def tend(self) -> Outcome | None:
        """One look by the agent's tender: start MariaDB if it is down and the rule lets
        this node (None: nothing done, or a port operation holds the lock)."""
        if not self.lock.acquire(blocking=False):
            return None
        try:
            node = self.node
            if node.server.running():
                self._position = None
                if self.bootstrapped:
                    s = node.observe().status
                    self.bootstrapped = s is None or not (s.synced and s.cluster_size > 1)
                return None
            self.bootstrapped = False
            action, why = self.decide(node)
            if action == "wait" or (action == "join" and not self.may_join()):
                return None
            return self._act(node, action, why)
        finally:
            self.lock.release()
