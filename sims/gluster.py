"""Simulated Gluster and its port.

A file written while a peer is unreachable is pending; two nodes that both
wrote pending files meet in split-brain when they see each other again, until
one heals (the new active) or resyncs (the demoting loser). Each member's
counters (``gl_pending``, ``gl_split``) live on its :class:`~sims.simnode.SimNode`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hacore.ports import Done, Outcome, Uncertain
from sims.simnode import SimNode

if TYPE_CHECKING:
    from sims.world import World


# What a fake of a hung daemon answers (SimNode.hung).
NO_ANSWER = Uncertain("no answer before the deadline")


class SimGluster:
    """The cluster's replicated volume."""

    def __init__(self, world: World) -> None:
        self.w = world
        self.rng = world.stream("gluster")
        self.quarantined_copies = 0  # losing copies set aside before a resync
        # Per node, the pending files already copied aside in this split-brain
        # episode: a second quarantine copies only what is new (idempotent).
        self.kept: dict[str, int] = {}

    def sync(self) -> None:
        """Connected members exchange pending files; both pending: split-brain."""
        w = self.w
        for a in w.data:
            for b in w.data:
                if b.index <= a.index or not w.connected(a, b):
                    continue
                if a.gl_pending and b.gl_pending:
                    if not (a.gl_split and b.gl_split):
                        w.timeline.append((w.now, a.name, f"gluster split-brain with {b.name}"))
                    a.gl_split = b.gl_split = True
                elif (a.gl_pending or b.gl_pending) and not (a.gl_split or b.gl_split):
                    a.gl_pending = b.gl_pending = 0

    def write(self, n: SimNode) -> None:
        """``n`` writes one file: pending unless every up peer has it at once."""
        w = self.w
        others = [m for m in w.data if m is not n and m.up]
        if not (others and all(w.connected(n, m) for m in others) and not n.gl_split):
            n.gl_pending += 1


class GlusterFake:
    """One node's :class:`hacore.ports.GlusterPort`."""

    def __init__(self, gluster: SimGluster, node: SimNode) -> None:
        self.gluster = gluster
        self.node = node

    def probe(self, *, key: str, deadline: int) -> Outcome:
        if self.node.hung:
            return NO_ANSWER
        n = self.node
        return Done(detail=f"pending={n.gl_pending} split={n.gl_split}")

    def heal(self, *, key: str, deadline: int) -> Outcome:
        if self.node.hung:
            return NO_ANSWER
        n = self.node
        n.gl_split = False
        n.gl_pending = 0
        self.gluster.kept.pop(n.name, None)
        return Done()

    def resync(self, *, key: str, deadline: int) -> Outcome:
        if self.node.hung:
            return NO_ANSWER
        n = self.node
        w = self.gluster.w
        n.gl_pending = 0
        n.gl_split = False
        self.gluster.kept.pop(n.name, None)
        for m in w.data:
            if m is not n and w.connected(n, m) and m.gl_split:
                m.gl_split = False
                m.gl_pending = 0
                self.gluster.kept.pop(m.name, None)
        return Done()

    def quarantine_losing_copy(self, *, key: str, deadline: int) -> Outcome:
        # The model keeps counts, not files: what a resync would replace is this
        # node's pending files while in split-brain, each copied once.
        if self.node.hung:
            return NO_ANSWER
        n = self.node
        g = self.gluster
        kept = g.kept.get(n.name, 0)
        if n.gl_split and n.gl_pending > kept:
            g.quarantined_copies += n.gl_pending - kept
            g.kept[n.name] = n.gl_pending
        return Done()
