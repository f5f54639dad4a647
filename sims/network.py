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

from heapq import heappush
from typing import Any

from hacore import inputs as inp
from hacore import vrrp
from hacore.decider import heartbeat_is_quiet
from hacore.roles import PeerRole, Service, VrrpStatus
from sims.engine import Handler
from sims.simnode import SimNode
from sims.world import World


class _Advert(vrrp.AdvertReceived):
    """An advert built by the simulator from a configured (validated) address:
    skips re-parsing the sender's IPv4 address for every advert."""

    __slots__ = ()

    def __post_init__(self) -> None:
        pass


# (sender, role, epoch, committed, changes, judging)
Heartbeat = tuple[str, PeerRole, int, int, int, bool, str]
# On the wire a heartbeat also carries the time it was sent: a message that
# sat in a paused node's socket is old news when it is finally read, and the
# write lease must not be renewed by it.
Stamped = tuple[Heartbeat, int]


class Network(World):
    """Links, VRRP adverts and timers, heartbeats and peer timeouts."""

    # Hot paths: every handler below runs for most events of a run, so each
    # inlines the incarnation and pause checks (``_alive``, ``_defer``).

    def _vrrp(self, n: SimNode, stimulus: vrrp.Stimulus) -> None:
        assert n.router is not None
        n.router, actions = vrrp.step(n.router, stimulus)
        for action in actions:
            if isinstance(action, vrrp.ArmVrrpTimer):
                self.push(action.due, self._vrrp_timer, (n.index, n.inc, action.generation))
            elif isinstance(action, vrrp.SendAdvert):
                assert n.spec is not None
                msg = (action.priority, action.interval_us, n.spec.address)
                self._broadcast(n, self._advert, msg, 1)
            elif isinstance(action, vrrp.StateChanged):
                self._fifo(n, action.new, action.priority)
            elif isinstance(action, vrrp.LowerPriorityReported):  # MASTER_RX_LOWER_PRI
                self._fifo(n, VrrpStatus.MASTER, action.priority, lower=True)

    def _vrrp_timer(self, arg: tuple[int, int, int]) -> None:
        n = self.nodes[arg[0]]
        if not n.up or n.inc != arg[1]:
            return
        if n.paused:
            n.deferred.append((self._vrrp_timer, arg))
            return
        router = n.router
        if router is not None and router.timer_generation == arg[2]:
            self._vrrp(n, vrrp.VrrpTimerFired(self.now, arg[2]))

    def _advert(self, arg: tuple[int, int, tuple[int, int, str]]) -> None:
        n = self.nodes[arg[0]]
        if not n.up or n.inc != arg[1]:
            return
        if n.paused:
            n.deferred.append((self._advert, arg))
            return
        priority, interval, sender = arg[2]
        self._vrrp(n, _Advert(self.now, priority, interval, sender))

    # ---------------------------------------------------- links, heartbeats ----

    def _send(self, src: SimNode, dst: SimNode, fn: Handler, msg: Any, pri: int) -> None:
        if not dst.up or (src.index, dst.index) in self.blocked:
            return
        net = self.net
        if self.loss and net.chance(self.loss):
            return
        lo, hi = self.p.link_delay_us
        self.push(self.now + net.draw(lo, hi), fn, (dst.index, dst.inc, msg), pri)
        if self.dup and net.chance(self.dup):
            self.push(self.now + net.draw(lo, hi * 4), fn, (dst.index, dst.inc, msg), pri)

    def _broadcast(self, src: SimNode, fn: Handler, msg: Any, pri: int) -> None:
        """``_send`` to every other data node, in index order (the same draws)."""
        if self.loss or self.dup:
            for peer in self.data:
                if peer is not src:
                    self._send(src, peer, fn, msg, pri)
            return
        # No noise: only the delay is drawn (inlined ``draw``; see Stream.draw).
        blocked = self.blocked
        lo, hi = self.p.link_delay_us
        width = hi - lo + 1
        k = width.bit_length()
        bits = self.net.bits
        heap = self.heap
        seq = self._seq
        base = self.now + lo
        si = src.index
        for dst in self.data:
            if dst is src or not dst.up:
                continue
            if blocked and (si, dst.index) in blocked:
                continue
            r = bits(k)
            while r >= width:
                r = bits(k)
            heappush(heap, (base + r, pri, next(seq), fn, (dst.index, dst.inc, msg)))

    def _heartbeat_msg(self, n: SimNode) -> Heartbeat:
        core = n.core
        if core is None:
            return (n.name, PeerRole.WITNESS, 0, 0, 0, False, self._witness_follows(n))
        state = core.state
        if state is n.hb_state:  # the state is immutable: same object, same message
            return n.hb_msg
        ad = state.advertisement()  # frozen facts during a split-brain episode
        msg = (n.name, ad.role, ad.epoch, ad.committed, ad.changes, ad.judging, ad.follows)
        n.hb_state, n.hb_msg = state, msg
        return msg

    def _witness_follows(self, w: SimNode) -> str:
        """Whom the witness backs: like a data node, the newest active or promoting
        member it heard within the peer timeout (garbd votes with the component
        it is in; one vote, one contender)."""
        best: tuple[int, str] | None = None
        horizon = self.now - self.p.peer_timeout_us
        for name in w.others:
            seen = w.heard_roles.get(name)
            if seen is None or w.last_heard.get(name, 0) < horizon:
                continue
            role, epoch = seen
            if role in (PeerRole.ACTIVE, PeerRole.PROMOTING) and (
                best is None or (epoch, name) > best
            ):
                best = (epoch, name)
        return "" if best is None else best[1]

    def _send_heartbeats(self, n: SimNode) -> None:
        msg = (self._heartbeat_msg(n), self.now)
        self._broadcast(n, self._heartbeat, msg, 0)
        witness = self.witness
        if witness is not None and witness is not n and not n.is_witness:
            self._send(n, witness, self._heartbeat, msg, 0)

    def _heartbeat(self, arg: tuple[int, int, Stamped]) -> None:
        n = self.nodes[arg[0]]
        if not n.up or n.inc != arg[1]:
            return
        if n.paused:
            n.deferred.append((self._heartbeat, arg))
            return
        (peer, role, epoch, committed, changes, judging, follows), sent_at = arg[2]
        now = self.now
        n.last_heard[peer] = max(sent_at, n.last_heard.get(peer, 0))
        n.believed_up[peer] = True
        runtime = n.runtime
        if runtime is None:  # the witness only remembers whom it heard as what
            n.heard_roles[peer] = (role, epoch)
            return
        core = runtime.node
        # ``runtime.waiting``, inlined: this runs for every heartbeat.
        if (
            runtime.backlog
            or not runtime.booted
            or not heartbeat_is_quiet(
                core.ctx, core.state, peer, role, epoch, committed, changes, judging, follows
            )
        ):
            self._feed(
                n, inp.PeerHeard(now, peer, role, epoch, committed, changes, judging, follows)
            )
        # else: the core would decide nothing (no events: nothing logged, no
        # state change, no effect), so the input is neither built nor handed
        # over. Only with an empty backlog: a waiting observation goes first.
        if runtime.booted and not runtime.backlog:  # decided: the lease may count it
            n.lease_heard[peer] = max(sent_at, n.lease_heard.get(peer, 0))

    def _tick(self, arg: tuple[int, int]) -> None:
        n = self.nodes[arg[0]]
        if not n.up or n.inc != arg[1]:
            return
        if n.paused:
            n.deferred.append((self._tick, arg))
            return
        self._send_heartbeats(n)
        now = self.now
        core = n.core
        if core is not None:
            timeout = self.p.peer_timeout_us
            believed = n.believed_up
            heard = n.last_heard
            for name in n.others:
                if believed.get(name, True) and now - heard.get(name, 0) > timeout:
                    believed[name] = False
                    self._feed(n, inp.PeerLost(now, name))
            if len(n.history) != core.state.committed:
                self._feed(n, inp.LocalProgress(now, len(n.history)))
            if self.config.services.galera:
                # The Galera port's status poll: report a change of health only.
                primary = n.g_primary
                if primary == (Service.GALERA in core.state.unhealthy):
                    detail = "primary component" if primary else "non-primary component"
                    self._feed(n, inp.ServiceReported(now, Service.GALERA, primary, detail))
        self.push(now + self.p.advert_us, self._tick, arg)
