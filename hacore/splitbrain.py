"""Split-brain resolution: both sides compute the same winner from the same facts.

Every automatic policy is a *total order* on the facts of a side; the winner is
the maximum. Because the order is total (ties fall through to the VRRP rule:
priority, then the numerically higher address, and finally the name), any two
nodes holding the same facts choose the same winner, and pairwise resolution
among three or more actives is transitive. ``manual`` chooses nobody: both
sides freeze until an operator names the winner.

Policies (after DRBD's after-split-brain catalogue):
- ``vrrp-winner``: the side VRRP elects once the partition heals (the reference
  system's behaviour): higher priority, then higher address.
- ``highest-epoch``: the side whose promotion is newest.
- ``most-committed``: the side with the larger committed business seqno.
- ``zero-changes``: a side that wrote nothing during the split loses; when
  both or neither wrote, fall back to ``vrrp-winner``.
- ``manual``: no winner, freeze both.
"""

from __future__ import annotations

from dataclasses import dataclass

from hacore.roles import Policy


@dataclass(frozen=True, slots=True)
class SideFacts:
    node: str
    epoch: int
    priority: int  # configured VRRP priority (not a temporarily lowered one)
    address: int  # primary address as a number
    committed: int
    changes: int  # writes committed since the side last had contact


def _vrrp_key(side: SideFacts) -> tuple[int, int, str]:
    return (side.priority, side.address, side.node)


def policy_key(policy: Policy, side: SideFacts) -> tuple[int | str, ...]:
    if policy is Policy.VRRP_WINNER:
        return _vrrp_key(side)
    if policy is Policy.HIGHEST_EPOCH:
        return (side.epoch, *_vrrp_key(side))
    if policy is Policy.MOST_COMMITTED:
        return (side.committed, *_vrrp_key(side))
    if policy is Policy.ZERO_CHANGES:
        return (1 if side.changes > 0 else 0, *_vrrp_key(side))
    raise ValueError(f"policy {policy} has no automatic order")


def choose_winner(policy: Policy, a: SideFacts, b: SideFacts) -> str | None:
    """The winning node's name, or None when the policy freezes both sides."""
    if policy is Policy.MANUAL:
        return None
    if a.node == b.node:
        raise ValueError("a split-brain needs two different nodes")
    return a.node if policy_key(policy, a) > policy_key(policy, b) else b.node
