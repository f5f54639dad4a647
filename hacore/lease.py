"""The write lease: when an active node may accept a client write.

Rules
-----
* availability-first: an active node writes (the reference system's rule).
* safety-first: an active node writes only while it holds a *lease*: within
  the last ``timing.write_lease_us`` it has heard from enough peers that back
  it *explicitly* (they follow it) to make a majority with its own vote. A
  peer that follows nobody backs nobody: a free vote can be counted by a
  challenger on the other side of an asymmetric partition, so it must not
  also keep the old active writable (found by the fuzzer: a one-way cut plus
  a paused active).
* The lease must be shorter than the time a voter takes to drop its backing
  (the runtime's peer timeout), so that by the time a challenger can gather a
  majority every lease of the old active has run out. Clocks are assumed to
  advance at the same rate on every node; leave a margin for drift.

Why a lease and not only the self-fence timer: a node that is paused (a long
GC, SIGSTOP, a hypervisor stall) runs no timer and decides nothing while it is
stopped. When it resumes, the write path may run before the decider has caught
up with its queued inputs. The lease is a pure function of the node's durable
view and the time the runtime last heard each peer, so the write path can
check it at the instant of the write (the same idea as leader leases in
Chubby, etcd and Patroni).
"""

from __future__ import annotations

from collections.abc import Mapping

from hacore.config import ClusterConfig
from hacore.roles import Mode, Role
from hacore.state import NodeState


def lease_votes(state: NodeState, now_us: int, last_heard: Mapping[str, int], lease_us: int) -> int:
    """This node's vote plus the peers heard within the lease that follow it."""
    votes = 1
    for view in state.peers:
        heard = last_heard.get(view.name)
        if heard is None or now_us - heard > lease_us:
            continue
        if view.follows == state.name:
            votes += 1
    return votes


def may_write(
    config: ClusterConfig, state: NodeState, now_us: int, last_heard: Mapping[str, int]
) -> bool:
    """May this node accept a client write at ``now_us``?

    ``last_heard`` maps each peer to the *send* time of its latest heartbeat
    that this node's decider has already taken in: a heartbeat still queued
    (the node was paused, or its log refused the input) must not renew the
    lease, because ``state`` does not reflect whom that peer follows yet.
    """
    if state.role is not Role.ACTIVE or state.frozen:
        return False
    if config.mode is Mode.AVAILABILITY_FIRST:
        return True
    lease = config.timing.write_lease_us
    return lease_votes(state, now_us, last_heard, lease) >= config.majority
