"""Gluster, k3s with litestream, and the clients.

* Gluster: a file written while a peer is unreachable is pending; two nodes
  that both wrote pending files meet in split-brain until one resyncs.
* k3s + litestream: the active writes a Kubernetes object per client round to
  its local database; litestream ships each to the peers after
  ``litestream_lag``; ``restore_k3s_db`` rebuilds from the local replica and
  can miss the tail.
* Clients write one business record per round to every *writable* active
  (role active, writes not fenced, Galera primary) and record each
  acknowledgement (invariant 3 checks them at the end).
"""

from __future__ import annotations

from typing import Any

from sims.world import World


class Services(World):
    """Gluster files, the Kubernetes database and its replica, client writes."""

    def _gluster_sync(self) -> None:
        for a in self.data:
            for b in self.data:
                if b.index <= a.index or not self.connected(a, b):
                    continue
                if a.gl_pending and b.gl_pending:
                    if not (a.gl_split and b.gl_split):
                        self.timeline.append(
                            (self.now, a.name, f"gluster split-brain with {b.name}")
                        )
                    a.gl_split = b.gl_split = True
                elif (a.gl_pending or b.gl_pending) and not (a.gl_split or b.gl_split):
                    a.gl_pending = b.gl_pending = 0

    # ----------------------------------------------------------- clients ----

    def _client(self, _: Any) -> None:
        for n in self.data:
            if not self.writable(n):
                continue
            w = self.next_write
            self.next_write += 1
            comp = self._component(n)
            for m in comp:
                m.history.append(w)
            if len(comp) == len(self.data):
                for m in comp:
                    m.synced_len = len(m.history)
            self.acked.append((w, n.name, self.now))
            if n.k3s_running:
                k = self.next_k8s
                self.next_k8s += 1
                n.k3s_db.append(k)
                self.k8s_acked.append(k)
                if n.litestream_on:
                    for peer in self.data:
                        if peer is not n and self.connected(n, peer):
                            self.push(
                                self.now + self.p.litestream_lag_us,
                                self._litestream,
                                (peer.index, peer.inc, k),
                            )
            others = [m for m in self.data if m is not n and m.up]
            if others and all(self.connected(n, m) for m in others) and not n.gl_split:
                pass  # the file reached every peer at once
            else:
                n.gl_pending += 1
        lo = self.p.write_interval_us // 2
        self.push(self.now + self.draw(lo, lo * 3), self._client, None)

    def _litestream(self, arg: tuple[int, int, int]) -> None:
        index, inc, k = arg
        n = self.nodes[index]
        if self._alive(n, inc):
            n.replica.append(k)
