"""The clients: one business record per round to every writable active.

A write goes to every *writable* active (role active, writes not fenced,
Galera primary, the write lease in safety-first: ``World.writable``), is
replicated synchronously to its Galera component, stores a Kubernetes object
through k3s and a file on Gluster, and is acknowledged (invariant 3 checks
every acknowledgement at the end). Rounds come every ``write_interval`` on
average, drawn from the clients' own stream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sims.world import World


class Clients:
    def __init__(self, world: World) -> None:
        self.w = world
        self.rng = world.stream("clients")
        self.next_write = 1

    def round(self, _: Any) -> None:
        w = self.w
        for n in w.data:
            if not w.writable(n):
                continue
            x = self.next_write
            self.next_write += 1
            comp = w.galera.component(n)
            for m in comp:
                m.history.append(x)
            if len(comp) == len(w.data):
                for m in comp:
                    m.synced_len = len(m.history)
            w.acked.append((x, n.name, w.now))
            w.k3s.write(n)
            w.gluster.write(n)
        lo = w.p.write_interval_us // 2
        w.push(w.now + self.rng.draw(lo, lo * 3), self.round, None)
