"""The VRRP and heartbeat network: directed links, adverts and heartbeats.

* Links are directed; each delivery takes a seeded delay from
  ``link_delay_us`` (so messages reorder), may be lost or duplicated (the
  ``noise`` fault), and is dropped when the pair is ``blocked`` (a partition).
* VRRP: a :class:`hacore.vrrp.VrrpRouter` per node plays keepalived; adverts
  travel on the links; each ``StateChanged`` reaches the core as
  ``VrrpReported`` through the node's ordered FIFO after a small delay.
* Heartbeats: every advert interval (``_tick``), and on ``Announce``, a node
  sends its durable role, epoch, committed seqno and changes to each peer
  (priority 0: before a VRRP advert of the same instant); a peer silent for
  ``peer_timeout`` becomes ``PeerLost``. A witness sends ``role=witness``.
"""

from __future__ import annotations

from typing import Any

from hacore import inputs as inp
from hacore import vrrp
from hacore.roles import PeerRole, VrrpStatus
from sims.engine import Handler
from sims.simnode import SimNode
from sims.world import World

# (sender, role, epoch, committed, changes, judging)
Heartbeat = tuple[str, PeerRole, int, int, int, bool]


class Network(World):
    """Links, VRRP adverts and timers, heartbeats and peer timeouts."""

    def _vrrp(self, n: SimNode, stimulus: vrrp.Stimulus) -> None:
        assert n.router is not None
        n.router, actions = vrrp.step(n.router, stimulus)
        for action in actions:
            if isinstance(action, vrrp.SendAdvert):
                assert n.spec is not None
                msg = (action.priority, action.interval_us, n.spec.address)
                for peer in self.data:
                    if peer is not n:
                        self._send(n, peer, self._advert, msg, 1)
            elif isinstance(action, vrrp.ArmTimer):
                self.push(action.due, self._vrrp_timer, (n.index, n.inc, action.generation))
            elif isinstance(action, vrrp.StateChanged):
                self._fifo(n, VrrpStatus(action.new.value), action.priority)

    def _vrrp_timer(self, arg: tuple[int, int, int]) -> None:
        index, inc, gen = arg
        n = self.nodes[index]
        if not self._alive(n, inc) or self._defer(n, self._vrrp_timer, arg):
            return
        if n.router is not None and n.router.timer_generation == gen:
            self._vrrp(n, vrrp.TimerFired(self.now, gen))

    def _advert(self, arg: tuple[int, int, tuple[int, int, str]]) -> None:
        index, inc, (priority, interval, sender) = arg
        n = self.nodes[index]
        if not self._alive(n, inc) or self._defer(n, self._advert, arg):
            return
        self._vrrp(n, vrrp.AdvertReceived(self.now, priority, interval, sender))

    # ---------------------------------------------------- links, heartbeats ----

    def _send(self, src: SimNode, dst: SimNode, fn: Handler, msg: Any, pri: int) -> None:
        if not dst.up or (src.index, dst.index) in self.blocked:
            return
        if self.loss and self.rng.random() < self.loss:
            return
        lo, hi = self.p.link_delay_us
        self.push(self.now + self.rng.randint(lo, hi), fn, (dst.index, dst.inc, msg), pri)
        if self.dup and self.rng.random() < self.dup:
            self.push(self.now + self.rng.randint(lo, hi * 4), fn, (dst.index, dst.inc, msg), pri)

    def _heartbeat_msg(self, n: SimNode) -> Heartbeat:
        if n.core is None:
            return (n.name, PeerRole.WITNESS, 0, 0, 0, False)
        ad = n.core.state.advertisement()  # frozen facts during a split-brain episode
        return (n.name, ad.role, ad.epoch, ad.committed, ad.changes, ad.judging)

    def _send_heartbeats(self, n: SimNode) -> None:
        msg = self._heartbeat_msg(n)
        for peer in self.data:
            if peer is not n:
                self._send(n, peer, self._heartbeat, msg, 0)

    def _heartbeat(self, arg: tuple[int, int, Heartbeat]) -> None:
        index, inc, (peer, role, epoch, committed, changes, judging) = arg
        n = self.nodes[index]
        if not self._alive(n, inc) or self._defer(n, self._heartbeat, arg):
            return
        n.last_heard[peer] = self.now
        n.believed_up[peer] = True
        self._feed(n, inp.PeerHeard(self.now, peer, role, epoch, committed, changes, judging))

    def _tick(self, arg: tuple[int, int]) -> None:
        index, inc = arg
        n = self.nodes[index]
        if not self._alive(n, inc) or self._defer(n, self._tick, arg):
            return
        self._send_heartbeats(n)
        if n.core is not None:
            timeout = self.p.peer_timeout_us
            for other in self.nodes:
                name = other.name
                if name != n.name and n.believed_up.get(name, True):
                    if self.now - n.last_heard.get(name, 0) > timeout:
                        n.believed_up[name] = False
                        self._feed(n, inp.PeerLost(self.now, name))
            if len(n.history) != n.core.state.committed:
                self._feed(n, inp.LocalProgress(self.now, len(n.history)))
        self.push(self.now + self.p.advert_us, self._tick, arg)
