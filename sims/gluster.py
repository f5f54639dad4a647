"""Simulated Gluster and its port, held to what real glusterd 10.3 does.

The volume is replicated on every data node's brick. Each brick holds, per
file, the last write applied to it and every write it has seen. A write
goes to the bricks its node reaches; a brick that missed it is behind.
Measured on the lab (docs/conformance-gluster.md, docs/gluster.md):

* only a file written on *both* sides of a cut is in split-brain (two bricks
  each hold a write the other never saw); it stays so until resolved (the
  port's heal, towards the healer's copy, or resync, from the peer's), and a
  write to it fails (EIO);
* a file written on one side only is no split-brain: it heals, but only
  when the self-heal daemon runs: soon after a brick restart
  (``shd_heal_us``); after a cut long enough for TCP keepalive to notice
  (``shd_notice_us``), when the daemon reconnects (drawn in
  ``reconnect_min_us``..``reconnect_max_us``); after a shorter cut the idle
  daemon noticed nothing and the entry waits for its periodic crawl
  (``crawl_us``: up to ``cluster.heal-timeout``) or an explicit heal (the
  port's heal/resync). (On the real daemons this self-healing varied from
  run to run; the conformance table reports it without holding the fake to
  it: docs/conformance-gluster.md.)

Each member's counters (``gl_pending``: files it holds that a peer lacks;
``gl_split``: it has split-brain files) live on its
:class:`~sims.simnode.SimNode` for the invariants.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from hacore.ports import Done, Failed, Outcome, Uncertain
from sims.engine import Handler, Stream
from sims.simnode import SimNode

SECOND = 1_000_000

# What a fake of a hung daemon answers (SimNode.hung).
NO_ANSWER = Uncertain("no answer before the deadline")


@dataclass(frozen=True, slots=True)
class GlusterTiming:
    # TCP keepalive of an idle client (20 s idle + 9 probes 2 s apart); measured:
    # an 8 s cut went unnoticed, a 60 s one was noticed
    shd_notice_us: int = 38 * SECOND
    shd_heal_us: int = 3 * SECOND  # after a brick restart: measured 2-4 s
    # After a noticed cut, the daemon reconnects at its next connect attempt's
    # SYN retransmission (1, 3, 7, ... 63 s apart): measured 3.9 s, 11.3 s and
    # over 30 s after the heal of 60 s cuts. Drawn uniformly in this range.
    reconnect_min_us: int = 1 * SECOND
    reconnect_max_us: int = 64 * SECOND
    crawl_us: int = 600 * SECOND  # cluster.heal-timeout's default
    files: int = 8  # names the clients write (the same one on two sides: split-brain)


class VolumeWorld(Protocol):
    """What the volume needs of its world (sims.world.World; the conformance
    script's small world of bricks alone)."""

    now: int
    data: list[SimNode]
    timeline: list[tuple[int, str, str]]

    def connected(self, a: SimNode, b: SimNode) -> bool: ...

    def push(self, at: int, fn: Handler, arg: Any, pri: int = 1) -> None: ...

    def stream(self, name: str) -> Stream: ...


class SimGluster:
    """The cluster's replicated volume."""

    def __init__(self, world: VolumeWorld, timing: GlusterTiming | None = None) -> None:
        self.w = world
        self.t = timing or GlusterTiming()
        self.rng = world.stream("gluster")
        self.next_write = 1
        names = [n.name for n in world.data]
        self.last: dict[str, dict[int, int]] = {x: {} for x in names}
        self.seen: dict[str, dict[int, set[int]]] = {x: {} for x in names}
        self.split: dict[str, dict[int, None]] = {x: {} for x in names}
        self.apart_since: dict[tuple[str, str], int] = {}
        self.noticed: dict[tuple[str, str], bool] = {}
        self.heal_due: dict[tuple[str, str], int] = {}
        self.quarantined_copies = 0  # losing copies set aside before a resolution
        self.kept: dict[str, dict[tuple[int, int], None]] = {x: {} for x in names}

    # ------------------------------------------------------------ bricks --

    def _behind(self, a: str, b: str, f: int) -> bool:
        """``b``'s brick lacks ``a``'s last write of ``f``."""
        wa = self.last[a].get(f)
        return wa is not None and wa not in self.seen[b].get(f, ())

    def conflict(self, a: str, b: str, f: int) -> bool:
        return self._behind(a, b, f) and self._behind(b, a, f)

    def _copy(self, src: str, dst: str, f: int) -> None:
        self.last[dst][f] = self.last[src][f]
        self.seen[dst].setdefault(f, set()).update(self.seen[src][f])

    def _heal_pair(self, a: SimNode, b: SimNode) -> None:
        """The self-heal daemon between two connected bricks: every file one
        lacks and the other has, unless in split-brain."""
        for f in range(self.t.files):
            if f in self.split[a.name] or f in self.split[b.name]:
                continue
            if self._behind(a.name, b.name, f) and not self._behind(b.name, a.name, f):
                self._copy(a.name, b.name, f)
            elif self._behind(b.name, a.name, f) and not self._behind(a.name, b.name, f):
                self._copy(b.name, a.name, f)
        self.heal_due.pop((a.name, b.name), None)

    def _count(self) -> None:
        w = self.w
        for n in w.data:
            others = [m.name for m in w.data if m is not n]
            n.gl_pending = sum(
                1 for f in range(self.t.files) if any(self._behind(n.name, m, f) for m in others)
            )
            n.gl_split = bool(self.split[n.name])

    def _pairs(self) -> list[tuple[SimNode, SimNode]]:
        d = self.w.data
        return [(a, b) for a in d for b in d if a.index < b.index]

    # ---------------------------------------------------------- the world --

    def write(self, n: SimNode, file: int | None = None) -> None:
        """``n`` writes one file (drawn unless given) through its mount: to every
        brick it reaches; refused (EIO) when the file is in split-brain."""
        w = self.w
        if not n.up:
            return
        f = self.rng.draw(0, self.t.files - 1) if file is None else file
        if f in self.split[n.name]:
            return
        x = self.next_write
        self.next_write += 1
        for m in w.data:
            if (m is n or w.connected(n, m)) and f not in self.split[m.name]:
                self.last[m.name][f] = x
                self.seen[m.name].setdefault(f, set()).add(x)
        self._count()

    def sync(self) -> None:
        """After a connectivity change: bricks that meet again find their
        split-brain files; the self-heal daemon is scheduled for the rest."""
        w = self.w
        for a, b in self._pairs():
            key = (a.name, b.name)
            if not w.connected(a, b):
                self.apart_since.setdefault(key, w.now)
                if not (a.up and b.up):
                    self.noticed[key] = True  # a dead brick is seen at once
                continue
            since = self.apart_since.pop(key, None)
            crashed = self.noticed.pop(key, False)
            noticed = since is not None and w.now - since >= self.t.shd_notice_us
            for f in range(self.t.files):
                if self.conflict(a.name, b.name, f) and f not in self.split[a.name]:
                    w.timeline.append((w.now, a.name, f"gluster split-brain with {b.name}"))
                    self.split[a.name][f] = None
                    self.split[b.name][f] = None
            if since is not None and key not in self.heal_due:
                if crashed:
                    delay = self.t.shd_heal_us
                elif noticed:
                    delay = self.rng.draw(self.t.reconnect_min_us, self.t.reconnect_max_us)
                else:
                    delay = self.rng.draw(1, self.t.crawl_us)
                self.heal_due[key] = w.now + delay
                w.push(w.now + delay, self._shd_run, key)
        self._count()

    def _shd_run(self, key: tuple[str, str]) -> None:
        w = self.w
        if self.heal_due.get(key) != w.now:
            return  # superseded
        by_name = {n.name: n for n in w.data}
        a, b = by_name[key[0]], by_name[key[1]]
        self.heal_due.pop(key, None)
        if w.connected(a, b):
            self._heal_pair(a, b)
            self._count()

    # -------------------------------------------------------- operations --

    def index_heal(self, n: SimNode) -> None:
        """``volume heal VOL``: every pair of connected bricks with ``n``'s."""
        for m in self.w.data:
            if m is not n and self.w.connected(n, m):
                a, b = (n, m) if n.index < m.index else (m, n)
                self._heal_pair(a, b)
        self._count()

    def keep(self, owner: SimNode, f: int) -> None:
        """Quarantine ``owner``'s copy of ``f`` (once per content)."""
        version = self.last[owner.name].get(f)
        if version is None or (f, version) in self.kept[owner.name]:
            return
        self.kept[owner.name][(f, version)] = None
        self.quarantined_copies += 1

    def resolve(self, f: int, source: SimNode, sinks: list[SimNode]) -> None:
        for m in sinks:
            self.keep(m, f)  # the losing copy first: nothing silently lost
            self._copy(source.name, m.name, f)
            self.split[m.name].pop(f, None)
        self.split[source.name].pop(f, None)


class GlusterFake:
    """One node's :class:`hacore.ports.GlusterPort` (what the real adapter does)."""

    def __init__(self, gluster: SimGluster, node: SimNode) -> None:
        self.gluster = gluster
        self.node = node

    def _reachable(self) -> list[SimNode]:
        w = self.gluster.w
        return [m for m in w.data if m is not self.node and w.connected(self.node, m)]

    def probe(self, *, key: str, deadline: int) -> Outcome:
        if self.node.hung:
            return NO_ANSWER
        n = self.node
        return Done(detail=f"pending={n.gl_pending} split={n.gl_split}")

    def heal(self, *, key: str, deadline: int) -> Outcome:
        """Towards this node's copy; peers unreachable: nothing to heal with (Done)."""
        if self.node.hung:
            return NO_ANSWER
        g, n = self.gluster, self.node
        peers = self._reachable()
        for f in list(g.split[n.name]):
            g.resolve(f, n, [m for m in peers if f in g.split[m.name]])
        g.index_heal(n)
        return Done()

    def resync(self, *, key: str, deadline: int) -> Outcome:
        if self.node.hung:
            return NO_ANSWER
        g, n = self.gluster, self.node
        w = g.w
        # Resolving split-brain entries takes the other brick: without it the
        # resync must not report success (it once did, and the winner's
        # split-brain mark stayed set for good).
        missing = [
            m.name
            for m in w.data
            if m is not n and m.up and (m.gl_split or n.gl_split) and not w.connected(n, m)
        ]
        if missing:
            return Failed(f"gluster: split-brain entries need the brick on {', '.join(missing)}")
        peers = self._reachable()
        if not peers:
            # Like the real adapter: no peer brick to take the copy from (while
            # cut off, this node cannot even see which of its files conflict).
            return Failed("gluster: no peer brick reachable to resync from")
        self._quarantine()
        for f in list(g.split[n.name]):
            sources = [m for m in peers if f in g.split[m.name]]
            if sources:
                g.resolve(f, sources[0], [n])
                for m in sources[1:]:
                    g.resolve(f, sources[0], [m])
            else:
                g.split[n.name].pop(f, None)  # its peer resolved it already
        g.index_heal(n)
        return Done()

    def _quarantine(self) -> None:
        g, n = self.gluster, self.node
        others = [m.name for m in g.w.data if m is not n]
        for f in range(g.t.files):
            if f in g.split[n.name] or any(g._behind(n.name, m, f) for m in others):
                g.keep(n, f)

    def quarantine_losing_copy(self, *, key: str, deadline: int) -> Outcome:
        """This brick's copy of every file it holds that a peer lacks (what it
        wrote while apart), each content once, like the real adapter."""
        if self.node.hung:
            return NO_ANSWER
        self._quarantine()
        return Done()
