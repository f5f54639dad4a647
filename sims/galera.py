"""Simulated MariaDB Galera with real quorum semantics.

Components are the connected sets of up members (the witness, garbd, counts).
A component is primary when it holds a majority of the **last primary
component it descends from** (Galera's rule: not a majority of all nodes, which
would let a restarted stale node plus garbd form a primary), or when forced by
``pc.bootstrap``. Only a primary component takes writes, and a write is
replicated synchronously to its members. Two primary components never merge:
the demoting node's ``rejoin_galera`` SSTs from the other, discarding its
divergent writes (``quarantine_divergent`` must have copied them first).
"""

from __future__ import annotations

from sims.simnode import SimNode
from sims.world import World


class Galera(World):
    """Components, primary-ness, IST/SST and rejoining."""

    def _galera_recompute(self) -> None:
        members = [n for n in self.nodes if n.up and not n.g_held]
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
                    if other.index not in seen and self.connected(cur, other):
                        seen.add(other.index)
                        comp.append(other)
            comp.sort(key=lambda x: x.index)
            self._galera_component(comp)
        for n in self.nodes:
            if not n.up or n.g_held:
                n.g_primary = False
        self._gluster_sync()

    def _galera_component(self, comp: list[SimNode]) -> None:
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
            # members; the others wait. A demotion's rejoin_galera resolves it.
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
        self._form(comp, donor, boot=False)

    def _form(self, comp: list[SimNode], donor: SimNode, boot: bool) -> None:
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
        for w in mine:
            if w not in keep:
                self.discarded.append((self.now, n.name, w))
        n.history = list(theirs)  # SST
        self.timeline.append((self.now, n.name, "galera SST (divergent writes discarded)"))

    def _rejoin_donor(self, n: SimNode) -> SimNode | None:
        """The primary component a demoting node rejoins: not forced first, then size."""
        best: SimNode | None = None
        best_key: tuple[int, int, int] | None = None
        for m in self.data:
            if m is n or not m.g_primary or not self.connected(n, m):
                continue
            key = (0 if m.g_boot else 1, len(self._component(m)), -m.index)
            if best_key is None or key > best_key:
                best, best_key = m, key
        if best is None:
            return None
        if n.g_primary and n.g_gid == best.g_gid:
            return None  # already a member of it
        return best

    def _rejoin(self, n: SimNode) -> None:
        donor = self._rejoin_donor(n)
        if donor is not None:
            comp = [m for m in self.nodes if m.up and m.g_primary and m.g_gid == donor.g_gid]
            self._form([*comp, n], donor, boot=donor.g_boot)
            return
        if n.g_primary and n.g_boot and len(self._component(n)) == 1:
            # Restart MariaDB without bootstrap: leave the forced one-node component
            # and wait for a majority of the whole cluster.
            n.g_primary = False
            n.g_boot = False
            n.g_view = tuple(m.index for m in self.nodes)
            self._galera_recompute()

    def _mark_synced(self) -> None:
        """Histories shared by every data node (one primary component of all) are synced."""
        first = self.data[0]
        if all(m.up and m.g_primary and m.g_gid == first.g_gid for m in self.data):
            for m in self.data:
                m.synced_len = len(m.history)
