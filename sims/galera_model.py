"""A timed model of a MariaDB Galera cluster, held to the real one by
``scripts/conformance_galera.py`` (docs/conformance-galera.md).

What it reproduces (each measured on the lab with real MariaDB Galera):

* **Losing a member is not instant.** A crash or a cut link is perceived after
  the group-communication suspect timeout (``suspect_us``, ~5-6 s with the
  defaults); until then the old component stands and its commits stall. A
  graceful stop is perceived at once (the node says goodbye), so the peer of a
  2-node cluster stays Primary.
* **Quorum.** A component is Primary when it holds a strict majority of the
  last Primary view it descends from (garbd counts); a gracefully left member
  no longer counts. Joined members reconnect after ``merge_us``.
* **pc.bootstrap** makes a running node's component Primary at once, with a new
  lineage; **two Primary components of different lineages never merge**.
* **The safe_to_bootstrap gate.** ``--wsrep-new-cluster`` on a node whose
  grastate says 0 is refused, and the refusal rewrites its seqno to -1. A kill
  leaves ``seqno -1, safe_to_bootstrap 0``; a graceful stop the real seqno and
  ``safe_to_bootstrap 1`` only for the last member out.
* **Rejoin.** A starting node that reaches a Primary component joins it: by SST
  when it has no usable saved state, by IST when its saved position is known;
  a node whose history diverged but is *behind* joins by IST and ends with data
  that silently differs; one *ahead* aborts ("Reversing history"). A node that
  reaches no Primary component waits (its SQL port stays closed).

Deterministic: integer microseconds, no randomness, members in a fixed order.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

SECOND = 1_000_000


class Proc(enum.StrEnum):
    DOWN = "down"
    RUNNING = "running"  # a member of a component (Primary or not)
    JOINING = "joining"  # started, reaches no Primary component: SQL closed


@dataclass(frozen=True, slots=True)
class GaleraTiming:
    # evs.suspect_timeout 5 s plus the inactivity checks; measured 6.06-6.31 s on the lab
    suspect_us: int = 6_000_000
    merge_us: int = 1 * SECOND  # a healed link is used again (gmcast reconnect)
    ist_us: int = 1 * SECOND  # start -> Synced by IST
    sst_us: int = 4 * SECOND  # start -> Synced by rsync SST (measured on the lab: ~4 s)
    bootstrap_us: int = 200_000  # --wsrep-new-cluster -> Primary


@dataclass
class Grastate:
    seqno: int
    safe_to_bootstrap: bool


@dataclass
class Member:
    name: str
    witness: bool = False
    proc: Proc = Proc.DOWN
    history: list[int] = field(default_factory=list)
    grastate: Grastate | None = None
    primary: bool = False
    lineage: int = 0
    view: tuple[str, ...] = ()  # members of the last Primary component it was in
    view_seq: int = 0
    size: int = 0
    start_position: bool = False  # started with --wsrep-start-position
    ready_at: int = 0  # a joiner is Synced from then (IST/SST time)
    last_transfer: str = ""  # "IST" or "SST" of its last join
    exit_reason: str = ""


@dataclass
class _Link:
    up: bool = True
    prev: bool = True
    changed_at: int = 0
    delay_us: int = 0

    def perceived(self, now: int) -> bool:
        return self.up if now >= self.changed_at + self.delay_us else self.prev


class GaleraModel:
    def __init__(
        self, data: Sequence[str], witness: str | None = None, timing: GaleraTiming | None = None
    ) -> None:
        self.t = timing or GaleraTiming()
        self.now = 0
        self.members = [Member(n) for n in data] + ([Member(witness, True)] if witness else [])
        self.cuts: set[tuple[str, str]] = set()
        self.links: dict[tuple[str, str], _Link] = {}
        self.next_lineage = 1
        self.next_view = 1
        self.next_id = 1
        for m in self.members:
            for o in self.members:
                if m.name < o.name:
                    self.links[(m.name, o.name)] = _Link()

    # --------------------------------------------------------- inspection --

    def member(self, name: str) -> Member:
        for m in self.members:
            if m.name == name:
                return m
        raise KeyError(name)

    def status(self, name: str) -> tuple[str, int]:
        """(Primary | non-Primary | no-sql | down, cluster size) as the probe would see."""
        m = self.member(name)
        if m.proc is Proc.DOWN:
            return ("down", 0)
        if m.proc is Proc.JOINING or self.now < m.ready_at:
            return ("no-sql", 0)
        return ("Primary" if m.primary else "non-Primary", m.size)

    def recover(self, name: str) -> int:
        """--wsrep-recover: the committed seqno InnoDB holds (-1: nothing)."""
        m = self.member(name)
        if m.proc is not Proc.DOWN:
            raise RuntimeError(f"{name}: running; not recovering its datadir")
        return len(m.history) if m.grastate is not None else -1

    # ---------------------------------------------------------- the clock --

    def _key(self, a: str, b: str) -> tuple[str, str]:
        return (a, b) if a < b else (b, a)

    def _actual(self, a: Member, b: Member) -> bool:
        alive = a.proc is not Proc.DOWN and b.proc is not Proc.DOWN
        return alive and self._key(a.name, b.name) not in self.cuts

    def _touch(self, graceful_leaver: str | None = None) -> None:
        """Record connectivity changes now (perceived after their delay)."""
        for (a, b), link in self.links.items():
            actual = self._actual(self.member(a), self.member(b))
            if actual == link.up:
                continue
            link.prev = link.perceived(self.now)
            link.up = actual
            link.changed_at = self.now
            if actual:
                link.delay_us = self.t.merge_us
            elif graceful_leaver in (a, b):
                link.delay_us = 0
            else:
                link.delay_us = self.t.suspect_us

    def advance(self, until: int) -> None:
        """Let time pass to ``until``, applying each perceived change in order."""
        while True:
            due = sorted(
                {
                    link.changed_at + link.delay_us
                    for link in self.links.values()
                    if self.now < link.changed_at + link.delay_us <= until
                }
                | {m.ready_at for m in self.members if self.now < m.ready_at <= until}
            )
            if not due:
                break
            self.now = due[0]
            self._recompute()
        self.now = max(self.now, until)
        self._recompute()

    def sleep(self, us: int) -> None:
        self.advance(self.now + us)

    # --------------------------------------------------------- components --

    def _perceived(self, a: Member, b: Member) -> bool:
        return self.links[self._key(a.name, b.name)].perceived(self.now)

    def _components(self) -> list[list[Member]]:
        """Connected sets by *perceived* links. A member that died but is not yet
        suspected is still in its component (a ghost): that is why commits stall."""
        alive = [m for m in self.members if m.proc is not Proc.DOWN]
        ghosts = [
            m
            for m in self.members
            if m.proc is Proc.DOWN and any(self._perceived(m, o) for o in alive)
        ]
        live = sorted(alive + ghosts, key=self.members.index)
        seen: set[str] = set()
        comps: list[list[Member]] = []
        for m in live:
            if m.name in seen:
                continue
            comp, todo = [], [m]
            seen.add(m.name)
            while todo:
                cur = todo.pop(0)
                comp.append(cur)
                for o in live:
                    if o.name not in seen and self._perceived(cur, o):
                        seen.add(o.name)
                        todo.append(o)
            comps.append(sorted(comp, key=lambda x: self.members.index(x)))
        return comps

    def _recompute(self) -> None:
        for comp in self._components():
            size = sum(1 for m in comp if m.proc is not Proc.JOINING)
            running = [m for m in comp if m.proc is Proc.RUNNING]
            joining = [m for m in comp if m.proc is Proc.JOINING]
            lineages = sorted({m.lineage for m in running if m.primary})
            if len(lineages) >= 2:
                # two Primary components never merge: each keeps its own members
                for lin in lineages:
                    part = [m for m in running if m.primary and m.lineage == lin]
                    self._set(part, primary=True, lineage=lin, new_view=False, size=len(part))
                continue
            if lineages:
                prim = [m for m in running if m.primary]
                view = prim[0].view
            else:
                latest = max(running, key=lambda x: x.view_seq, default=None)
                view = latest.view if latest is not None else ()
            names = {m.name for m in comp if m.proc is not Proc.JOINING}  # ghosts count
            if view and sum(1 for v in view if v in names) * 2 > len(view):
                newest = max(running, key=lambda x: x.view_seq)
                lineage = lineages[0] if lineages else newest.lineage
                donor = max(running, key=lambda x: (x.primary, len(x.history)))
                members = tuple(
                    m.name for m in comp if m.proc is Proc.RUNNING or m.name in view
                )  # a ghost stays in the view it was in, and joins no new one
                self._set(
                    running, primary=True, lineage=lineage, new_view=True, size=size, view=members
                )
                for j in joining:
                    self._join(j, donor, running)
                    if j.proc is Proc.RUNNING:
                        running = [*running, j]
            else:
                self._set(running, primary=False, lineage=0, new_view=False, size=size)

    def _set(
        self,
        part: list[Member],
        *,
        primary: bool,
        lineage: int,
        new_view: bool,
        size: int,
        view: tuple[str, ...] | None = None,
    ) -> None:
        names = view if view is not None else tuple(m.name for m in part)
        seq = self.next_view
        if primary and new_view and any(m.view != names for m in part):
            self.next_view += 1
        for m in part:
            m.size = size
            m.primary = primary
            if primary:
                m.lineage = lineage
                if new_view and m.view != names:
                    m.view, m.view_seq = names, seq
        donor = max(part, key=lambda x: len(x.history), default=None)
        if primary and donor is not None:
            for m in part:
                if not m.witness and len(m.history) < len(donor.history):
                    # a member that was non-Primary catches up by IST on the merge
                    m.history, m.last_transfer = list(donor.history), "IST"

    def _join(self, j: Member, donor: Member, comp: list[Member]) -> None:
        mine, theirs = j.history, donor.history
        if j.witness:
            kind = ""
        elif j.grastate is None or (j.grastate.seqno < 0 and not j.start_position):
            kind, j.history = "SST", list(theirs)
        elif mine == theirs[: len(mine)]:
            kind, j.history = "IST", list(theirs)
        elif len(mine) <= len(theirs):
            kind, j.history = "IST", mine + theirs[len(mine) :]  # silently different data
        else:
            j.proc, j.exit_reason = (
                Proc.DOWN,
                "Reversing history: data loss is possible. Must abort.",
            )
            self._touch()
            return
        j.proc = Proc.RUNNING
        j.last_transfer = kind
        j.ready_at = self.now + (self.t.sst_us if kind == "SST" else self.t.ist_us if kind else 0)
        j.grastate = Grastate(-1, False)
        self._set(
            [*comp, j], primary=True, lineage=donor.lineage, new_view=True, size=len(comp) + 1
        )

    # ------------------------------------------------------------ actions --

    def start(self, name: str, *, new_cluster: bool = False, start_position: bool = False) -> None:
        m = self.member(name)
        if m.proc is not Proc.DOWN:
            return
        m.exit_reason, m.start_position = "", start_position
        for (a, b), link in self.links.items():
            other = b if a == name else a if b == name else None
            if other is not None and self.member(other).proc is Proc.DOWN:
                # a new process knows nothing of members that died before it started
                link.up = link.prev = False
                link.delay_us = 0
        if new_cluster:
            if m.grastate is not None and not m.grastate.safe_to_bootstrap:
                m.grastate.seqno = -1  # the refusal rewrites it
                m.exit_reason = "It may not be safe to bootstrap the cluster from this node"
                return
            m.proc, m.primary, m.lineage = Proc.RUNNING, True, self.next_lineage
            self.next_lineage += 1
            m.view, m.view_seq = (m.name,), self.next_view
            self.next_view += 1
            m.size, m.ready_at = 1, self.now + self.t.bootstrap_us
            m.grastate = Grastate(-1, False)
            self._touch()
            return
        m.proc = Proc.JOINING
        self._touch()
        self._recompute()

    def kill(self, name: str) -> None:
        m = self.member(name)
        m.proc, m.primary = Proc.DOWN, False
        if m.grastate is not None:
            m.grastate = Grastate(-1, False)
        self._touch()

    def stop(self, name: str) -> None:
        """Graceful: the others see it leave at once and drop it from their view."""
        m = self.member(name)
        if m.proc is Proc.DOWN:
            return
        peers = [o for o in self.members if o is not m and o.proc is Proc.RUNNING and o.primary
                 and o.lineage == m.lineage and o.name in m.view]  # fmt: skip
        last = m.primary and not any(not o.witness for o in peers)
        if not m.witness:
            m.grastate = Grastate(len(m.history), last)
        m.proc, m.primary = Proc.DOWN, False
        for o in peers:
            o.view = tuple(v for v in o.view if v != m.name)
        self._touch(graceful_leaver=m.name)
        self._recompute()

    def partition(self, groups: Iterable[Iterable[str]]) -> None:
        gs = [list(g) for g in groups]
        named = {x for g in gs for x in g}
        rest = [m.name for m in self.members if m.name not in named]
        gs += [rest] if rest else []
        for i, g in enumerate(gs):
            for h in gs[i + 1 :]:
                for a in g:
                    for b in h:
                        self.cuts.add(self._key(a, b))
        self._touch()

    def heal(self) -> None:
        self.cuts.clear()
        self._touch()

    def pc_bootstrap(self, name: str) -> None:
        m = self.member(name)
        if m.proc is not Proc.RUNNING or m.primary:
            return
        mine = next(c for c in self._components() if m in c)
        part = [o for o in mine if o.proc is Proc.RUNNING and not o.primary]
        lineage = self.next_lineage
        self.next_lineage += 1
        self._set(part, primary=True, lineage=lineage, new_view=True, size=len(mine))

    def set_safe_to_bootstrap(self, name: str) -> None:
        m = self.member(name)
        if m.grastate is not None:
            m.grastate.safe_to_bootstrap = True

    def remove_saved_state(self, name: str) -> None:
        self.member(name).grastate = None

    @classmethod
    def formed(
        cls, data: Sequence[str], witness: str | None = None, timing: GaleraTiming | None = None
    ) -> GaleraModel:
        """A Synced Primary cluster of all members at t=0 (the lab's state after ``up``)."""
        model = cls(data, witness, timing)
        first, *rest = model.members
        model.start(first.name, new_cluster=True)
        for m in rest:
            model.start(m.name)
        for link in model.links.values():
            link.changed_at, link.delay_us, link.prev = 0, 0, True
        model._recompute()
        for m in model.members:
            m.ready_at, m.last_transfer = 0, ""
        return model

    def write(self, name: str, count: int) -> tuple[list[int], int]:
        """``count`` commits on ``name``: (acknowledged ids, when the last one returned).
        A commit stalls while a member is lost but not yet perceived as gone."""
        m = self.member(name)
        acked: list[int] = []
        if self.status(name)[0] != "Primary":
            return acked, self.now
        comp = [o for o in self.members if o.proc is not Proc.DOWN and o.primary
                and o.lineage == m.lineage and o.name in m.view]  # fmt: skip
        pending = [
            link.changed_at + link.delay_us
            for (a, b), link in self.links.items()
            if not link.up and link.prev and {a, b} & {o.name for o in comp}
            and link.changed_at + link.delay_us > self.now
        ]  # fmt: skip
        if pending:
            self.advance(max(pending))
            if self.status(name)[0] != "Primary":
                return acked, self.now
            comp = [o for o in self.members if o.proc is not Proc.DOWN and o.primary
                    and o.lineage == m.lineage]  # fmt: skip
        for _ in range(count):
            i = self.next_id
            self.next_id += 1
            for o in comp:
                if not o.witness:
                    o.history.append(i)
            acked.append(i)
        return acked, self.now
