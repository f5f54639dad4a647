"""Simulated MariaDB Galera with real quorum semantics, and its port.

Components are the connected sets of up members (the witness, garbd, counts).
A component is primary when it holds a majority of the **last primary
component it descends from** (Galera's rule: not a majority of all nodes, which
would let a restarted stale node plus garbd form a primary), or when forced by
``pc.bootstrap``. Only a primary component takes writes, and a write is
replicated synchronously to its members. Two primary components never merge:
the demoting node's ``rejoin`` SSTs from the other, discarding its divergent
writes (the plan's quarantine must have copied them first).

After a **total outage** (the cluster had formed, then no data node's MariaDB
runs) a booting node does not start MariaDB by itself: it is held
(``SimNode.g_outage``) until the runtime's rule decides, as the agent does
(``adapters/galera/cold_start.py``): the recovered positions go to the core's
:func:`hacore.bootstrap.choose_bootstrap`; the chosen node cold-bootstraps a new
cluster from its own history, the others join it once it runs (by IST, their
histories being prefixes of the most advanced one). :meth:`SimGalera.tend` is
that rule, called by the driver (``sims.lifecycle``) every advert interval while
a node is held; the port's ``make_primary``/``rejoin`` go through it too.

:class:`SimGalera` is the cluster-wide model (one per run); :class:`GaleraFake`
is one node's :class:`hacore.ports.GaleraPort` over it. Each member's Galera
state (history, gid, view) lives on its :class:`~sims.simnode.SimNode`: it is
the node's disk and its mysqld.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from hacore import inputs as inp
from hacore.bootstrap import BootstrapChoice, RecoveredPosition, choose_bootstrap
from hacore.ports import Done, Failed, Outcome, Uncertain
from hacore.roles import Role
from sims.galera_model import GaleraTiming
from sims.simnode import SimNode

if TYPE_CHECKING:
    from sims.world import World


# What a fake of a hung daemon answers (SimNode.hung).
NO_ANSWER = Uncertain("no answer before the deadline")

# Both sides of real Galera keep one cluster uuid (even a split's two bootstrapped
# primaries do); the simulated positions share one too.
SIM_UUID = "5a1e0000-0000-4000-8000-000000000001"

# A node restarting in one of these roles waits for its plan's Galera step.
ROLE_HELD = (Role.ACTIVE, Role.PROMOTING, Role.DEMOTING)
# After a total outage the tender lets a node join only outside these (a fault node
# has not completed its demotion, whose quarantine comes first), as the agent does.
JOIN_VIA_PLAN = (*ROLE_HELD, Role.FAULT)


class SimGalera:
    """Components, primary-ness, IST/SST and rejoining, for the whole cluster."""

    def __init__(self, world: World) -> None:
        self.w = world
        self.rng = world.stream("galera")
        self.next_gid = 1
        # Called after each recomputation (Gluster heals on the same membership).
        self.after_recompute: Callable[[], None] = lambda: None
        # Real Galera perceives a crash or a cut link only after its suspect timeout
        # (measured 6.0-6.3 s; sims.galera_model, docs/conformance-galera.md). Until
        # then the old components stand and the commits of those losing a member
        # stall (``stalled``: their gids; ``settle_at``: when the view changes).
        self.suspect_us = GaleraTiming().suspect_us
        self.stalled: set[int] = set()
        self.settle_at: int | None = None
        # The cluster formed once (the installation): from then on a node finding no
        # MariaDB running anywhere is in a total outage, not at first start.
        self.formed_once = False

    def component(self, n: SimNode) -> list[SimNode]:
        return [m for m in self.w.data if m.up and m.g_primary and m.g_gid == n.g_gid]

    def _gids_losing_a_member(self) -> set[int]:
        w = self.w
        lost: set[int] = set()
        for a in w.nodes:
            if not (a.up and a.g_primary and not a.g_held):
                continue
            for idx in a.g_view:
                b = w.nodes[idx]
                if b is not a and not b.g_held and not w.connected(a, b):
                    lost.add(a.g_gid)
        return lost

    def recompute(self) -> None:
        """A member lost by a crash or a cut is perceived after ``suspect_us``; a
        graceful change (MariaDB stopped by a plan, a join, a heal) at once."""
        lost = self._gids_losing_a_member()
        if lost and self.suspect_us > 0:
            self.stalled |= lost
            if self.settle_at is None:
                self.settle_at = self.w.now + self.suspect_us
                self.w.push(self.settle_at, self._settle, self.settle_at)
            return
        self.settle_now()

    def _settle(self, due: int) -> None:
        if self.settle_at == due:
            self.settle_now()

    def settle_now(self) -> None:
        self.stalled.clear()
        self.settle_at = None
        self._recompute_now()

    def is_stalled(self, n: SimNode) -> bool:
        return n.g_primary and n.g_gid in self.stalled

    def _recompute_now(self) -> None:
        w = self.w
        members = [n for n in w.nodes if n.up and not n.g_held]
        seen: set[int] = set()
        for start in members:
            if start.index in seen:
                continue
            comp = [start]
            seen.add(start.index)
            i = 0
            while i < len(comp):
                cur = comp[i]
                i += 1
                for other in members:
                    if other.index not in seen and w.connected(cur, other):
                        seen.add(other.index)
                        comp.append(other)
            comp.sort(key=lambda x: x.index)
            self._component_changed(comp)
        for n in w.nodes:
            if not n.up or n.g_held:
                n.g_primary = False
        self.after_recompute()

    def _component_changed(self, comp: list[SimNode]) -> None:
        """Galera's rule: a component is primary when it holds a majority of the last
        primary component it descends from (the witness, garbd, counts as a member)."""
        data = [n for n in comp if not n.is_witness]
        if not data:
            for n in comp:
                n.g_primary = False
            return
        members = {n.index for n in comp}
        gids: list[int] = []
        for n in comp:
            if n.g_primary and n.g_gid not in gids:
                gids.append(n.g_gid)
        if len(gids) >= 2:
            # Conflicting primary components never merge: each keeps its own
            # members; the others wait. A demotion's rejoin resolves it.
            return
        if gids:
            part = [n for n in comp if n.g_primary and n.g_gid == gids[0]]
            view = part[0].g_view
            donors = [n for n in part if not n.is_witness] or data
        else:
            latest = max(comp, key=lambda x: (x.g_gid, -x.index))
            view = latest.g_view
            donors = data
        if sum(1 for i in view if i in members) * 2 <= len(view):
            for n in comp:
                n.g_primary = False
            return
        donor = max(donors, key=lambda x: (x.g_gid, len(x.history), -x.index))
        self.form(comp, donor, boot=False)

    def form(self, comp: list[SimNode], donor: SimNode, boot: bool) -> None:
        self.formed_once = True
        gid = self.next_gid
        self.next_gid += 1
        view = tuple(sorted(n.index for n in comp))
        for n in comp:
            if not n.is_witness:
                self._sync_from(n, donor)
            n.g_primary, n.g_gid, n.g_boot, n.g_view = True, gid, boot, view
        self._mark_synced()

    def _sync_from(self, n: SimNode, donor: SimNode) -> None:
        if n is donor:
            return
        mine, theirs = n.history, donor.history
        if len(mine) <= len(theirs) and (not mine or theirs[len(mine) - 1] == mine[-1]):
            n.history = list(theirs)  # IST: our history is a prefix of theirs
            return
        keep = set(theirs)
        w = self.w
        for x in mine:
            if x not in keep:
                w.discarded.append((w.now, n.name, x))
        n.history = list(theirs)  # SST
        w.timeline.append((w.now, n.name, "galera SST (divergent writes discarded)"))

    def rejoin_donor(self, n: SimNode) -> SimNode | None:
        """The primary component a demoting node rejoins: not forced first, then size."""
        best: SimNode | None = None
        best_key: tuple[int, int, int] | None = None
        for m in self.w.data:
            if m is n or not m.g_primary or not self.w.connected(n, m):
                continue
            key = (0 if m.g_boot else 1, len(self.component(m)), -m.index)
            if best_key is None or key > best_key:
                best, best_key = m, key
        if best is None:
            return None
        if n.g_primary and n.g_gid == best.g_gid:
            return None  # already a member of it
        return best

    def _mark_synced(self) -> None:
        """Histories shared by every data node (one primary component of all) are synced."""
        data = self.w.data
        first = data[0]
        if all(m.up and m.g_primary and m.g_gid == first.g_gid for m in data):
            for m in data:
                m.synced_len = len(m.history)

    # -------------------------------------------------- total outage ----

    def _heard(self, n: SimNode, m: SimNode) -> bool:
        """What the peer channel tells ``n`` about ``m``: only while it hears it."""
        return m.up and self.w.connected(n, m) and n.believed_up.get(m.name, False)

    def runs_mariadb(self, m: SimNode) -> bool:
        return m.up and not m.g_held

    def total_outage(self, n: SimNode) -> bool:
        """Booting ``n``: the cluster formed before and no other data node runs MariaDB
        (a node that is down or unheard may: :meth:`choice` then waits for it)."""
        return self.formed_once and not any(self.runs_mariadb(m) for m in self.w.data if m is not n)

    def choice(self, n: SimNode) -> BootstrapChoice:
        """The core's rule over the positions ``n`` knows: its own (MariaDB is not
        running, so it is recovered from disk) and each held peer's, as heard."""
        positions: dict[str, RecoveredPosition | None] = {}
        for m in self.w.data:
            known = m is n or (self._heard(n, m) and m.g_held)
            positions[m.name] = RecoveredPosition(SIM_UUID, len(m.history)) if known else None
        return choose_bootstrap([m.name for m in self.w.data], positions)

    def _running_primary_heard(self, n: SimNode) -> bool:
        return any(
            m is not n and self._heard(n, m) and self.runs_mariadb(m) and m.g_primary
            for m in self.w.data
        )

    def cold_bootstrap(self, n: SimNode, reason: str) -> None:
        """``safe_to_bootstrap: 1`` + ``--wsrep-new-cluster`` on the chosen node: a new
        cluster of one from its own history (the witness joins when it can)."""
        n.g_held = False
        n.g_outage = False
        self.form([n], n, boot=False)
        self.w.timeline.append((self.w.now, n.name, f"galera cold bootstrap ({reason})"))
        self.recompute()

    def tend(self, n: SimNode) -> bool:
        """One look of the runtime at a node held by a total outage: bootstrap it when
        the rule chose it, let it join once a primary runs. True: still held."""
        if not n.up or not n.g_held or not n.g_outage:
            return False
        if self._running_primary_heard(n):
            n.g_outage = False
            if n.role in JOIN_VIA_PLAN:
                return False  # its plan's Galera step starts it (after its quarantine)
            n.g_held = False
            self.recompute()
            return False
        chosen = self.choice(n)
        if chosen.node == n.name:
            self.cold_bootstrap(n, chosen.reason)
            return False
        return True

    def _start_gate(self, n: SimNode) -> Outcome | None:
        """A port operation about to start MariaDB: in a total outage only the chosen
        node may (it cold-bootstraps); the others wait. None: start as usual."""
        if not n.g_held:
            return None
        if n.g_outage and not self._running_primary_heard(n):
            chosen = self.choice(n)
            if chosen.node != n.name:
                return Uncertain(f"galera total outage: {chosen.reason}; not starting MariaDB")
            self.cold_bootstrap(n, chosen.reason)
            return Done()
        n.g_held = False  # the agent starts MariaDB now; it joins what it can
        n.g_outage = False
        self.recompute()
        return None

    # ------------------------------------------------ port operations ----

    def make_primary(self, n: SimNode, bootstrap_allowed: bool) -> Outcome:
        gate = self._start_gate(n)
        if isinstance(gate, Uncertain):
            return gate
        if n.g_primary:
            return Done()
        if not bootstrap_allowed:
            return Failed("galera: non-primary component and bootstrap not allowed")
        w = self.w
        comp = [m for m in w.nodes if m.up and (m is n or w.connected(n, m))]
        self.form([m for m in comp if not m.g_primary], n, boot=True)
        w.timeline.append((w.now, n.name, "galera pc.bootstrap"))
        return Done()

    def rejoin(self, n: SimNode) -> Outcome:
        gate = self._start_gate(n)  # quarantine ran first: MariaDB may start (and SST) now
        if gate is not None:
            return gate
        donor = self.rejoin_donor(n)
        if donor is not None:
            comp = [m for m in self.w.nodes if m.up and m.g_primary and m.g_gid == donor.g_gid]
            self.form([*comp, n], donor, boot=donor.g_boot)
            return Done()
        if n.g_primary and n.g_boot and len(self.component(n)) == 1:
            # Restart MariaDB without bootstrap: leave the forced one-node component
            # and wait for a majority of the whole cluster.
            n.g_primary = False
            n.g_boot = False
            n.g_view = tuple(m.index for m in self.w.nodes)
            self.recompute()
        return Done()

    def quarantine(self, n: SimNode) -> Outcome:
        """Compare with the primary component this node will rejoin (GTIDs), or,
        unreachable, keep everything since the last full-cluster sync."""
        donor = self.rejoin_donor(n)
        kept = self.w.quarantine
        if donor is not None:
            theirs = set(donor.history)
            for x in n.history:
                if x not in theirs:
                    kept.add(x)
        else:
            for x in n.history[n.synced_len :]:
                kept.add(x)
        return Done()


class GaleraFake:
    """One node's :class:`hacore.ports.GaleraPort` over the simulated cluster."""

    def __init__(self, galera: SimGalera, node: SimNode) -> None:
        self.galera = galera
        self.node = node

    def probe(self, *, key: str, deadline: int) -> Outcome:
        if self.node.hung:
            return NO_ANSWER
        n = self.node
        return Done((inp.LocalProgress(self.galera.w.now, len(n.history)),))

    def view_change_due(self, *, bootstrap_allowed: bool) -> int | None:
        """When a ``make_primary`` started now may decide: the real adapter first waits
        for Galera's view change (``GaleraPortAdapter._await_view_change``: right after a
        crash Galera still shows the whole Primary view for the suspect timeout, and
        "already primary" then would be wrong). The simulator's driver holds the step
        until then (``sims.lifecycle``); None: no loss pending, decide at once."""
        if bootstrap_allowed and self.galera.is_stalled(self.node):
            return self.galera.settle_at
        return None

    def make_primary(self, *, bootstrap_allowed: bool, key: str, deadline: int) -> Outcome:
        if self.node.hung:
            return NO_ANSWER
        if bootstrap_allowed and self.galera.is_stalled(self.node):
            # Only a caller that did not wait (view_change_due) gets here, such as the
            # port contract tests calling the fake directly: take the view change now.
            self.galera.settle_now()
        return self.galera.make_primary(self.node, bootstrap_allowed)

    def rejoin(self, *, key: str, deadline: int) -> Outcome:
        if self.node.hung:
            return NO_ANSWER
        return self.galera.rejoin(self.node)

    def fence_writes(self, *, fenced: bool, key: str, deadline: int) -> Outcome:
        if self.node.hung:
            return NO_ANSWER
        self.node.fenced = fenced
        return Done()

    def quarantine(self, *, key: str, deadline: int) -> Outcome:
        if self.node.hung:
            return NO_ANSWER
        return self.galera.quarantine(self.node)
