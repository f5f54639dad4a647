# mypy: disable-error-code="comparison-overlap"
# (role checks before and after a state-changing call look non-overlapping to mypy)
"""Quorum modes: availability-first promotes alone; safety-first needs a majority (N >= 2)."""

from __future__ import annotations

import pytest
from core_helpers import Driver, cluster, events_of_type

from hacore import effects as fx
from hacore import events as ev
from hacore.roles import Mode, PeerRole, Role, TimerPurpose, VrrpStatus


def survivor(n: int, mode: Mode, witness: bool, reachable_peers: int) -> Driver:
    """The last node of an n-node cluster, after the active (a) vanished.

    It hears ``reachable_peers`` other standbys (and the witness, if any) and VRRP makes it master.
    """
    config = cluster(n, mode=mode, witness="w" if witness else None)
    name = config.nodes[-1].name
    d = Driver(config, name)
    d.heard("a", PeerRole.ACTIVE, epoch=1)
    others = [s.name for s in config.nodes[1:-1]]
    for peer in others:
        d.heard(peer, PeerRole.STANDBY)
    if witness:
        d.heard("w", PeerRole.WITNESS)
    d.vrrp(VrrpStatus.BACKUP)
    d.lost("a")
    for peer in others[reachable_peers:]:
        d.lost(peer)
    d.vrrp(VrrpStatus.MASTER)
    return d


CASES = [
    # n, witness, reachable other standbys, promotes under safety-first
    (2, False, 0, False),  # 1 of 2
    (2, True, 0, True),  # 2 of 3 with the witness
    (3, False, 1, True),  # 2 of 3
    (3, False, 0, False),  # 1 of 3
    (3, True, 0, False),  # 2 of 4
    (3, True, 1, True),  # 3 of 4
    (5, False, 2, True),  # 3 of 5
    (5, False, 1, False),  # 2 of 5
    (5, True, 2, True),  # 4 of 6
    (5, True, 1, False),  # 3 of 6
]


@pytest.mark.parametrize(("n", "witness", "reachable", "promotes"), CASES)
def test_safety_first_promotes_only_with_a_majority_of_votes(
    n: int, witness: bool, reachable: int, promotes: bool
) -> None:
    d = survivor(n, Mode.SAFETY_FIRST, witness, reachable)
    if promotes:
        assert d.role is Role.PROMOTING
        assert d.state.plan is not None and not d.state.plan.bootstrap_allowed
    else:
        assert d.role is Role.STANDBY
        (deferred,) = events_of_type(d.decisions[-1][1], ev.PromotionDeferred)
        assert deferred.reason.startswith("no quorum")


@pytest.mark.parametrize(("n", "witness", "reachable", "promotes"), CASES)
def test_availability_first_promotes_the_vrrp_master_whatever_it_sees(
    n: int, witness: bool, reachable: int, promotes: bool
) -> None:
    d = survivor(n, Mode.AVAILABILITY_FIRST, witness, reachable)
    assert d.role is Role.PROMOTING
    # pc.bootstrap only for the reference pair: with a third voter a majority
    # may be alive behind the partition, and a minority must not bootstrap.
    voters = n + (1 if witness else 0)
    assert d.state.plan is not None and d.state.plan.bootstrap_allowed is (voters == 2)


def test_deferred_standby_promotes_when_quorum_returns_while_still_master() -> None:
    d = survivor(3, Mode.SAFETY_FIRST, False, 0)
    assert d.role is Role.STANDBY
    d.heard("b", PeerRole.STANDBY)  # keepalived does not re-notify MASTER
    assert d.role is Role.PROMOTING


def isolated_active(n: int) -> Driver:
    config = cluster(n, mode=Mode.SAFETY_FIRST)
    a = Driver(config, "a")
    for spec in config.nodes[1:]:
        a.heard(spec.name, PeerRole.STANDBY)
    a.promote()
    for spec in config.nodes[1:]:
        a.lost(spec.name)
    return a


@pytest.mark.parametrize("n", [2, 3, 5])
def test_active_self_fences_after_losing_majority_for_self_fence_us(n: int) -> None:
    a = isolated_active(n)
    assert a.role is Role.ACTIVE and a.state.quorum_lost
    fence = a.state.timer_for(TimerPurpose.SELF_FENCE)
    assert fence is not None
    (lost,) = [e for _, d in a.decisions for e in d.events if isinstance(e, ev.QuorumLost)]
    lost_at = lost.at
    assert fence.due == lost_at + a.config.timing.self_fence_us
    d = a.fire(TimerPurpose.SELF_FENCE)
    assert a.role is Role.DEMOTING
    assert any(isinstance(e, fx.SetPriorityYield) and e.yielded for e in d.effects)
    assert any(isinstance(e, fx.FenceWrites) and e.fenced for e in d.effects)


def test_active_that_regains_majority_before_the_timeout_stays_active() -> None:
    a = isolated_active(3)
    fence = a.state.timer_for(TimerPurpose.SELF_FENCE)
    assert fence is not None
    a.heard("c", PeerRole.STANDBY)
    assert not a.state.quorum_lost
    assert a.state.timer_for(TimerPurpose.SELF_FENCE) is None
    assert a.fire_id(fence.timer_id).events == ()
    assert a.role is Role.ACTIVE


def test_availability_first_active_never_self_fences() -> None:
    config = cluster(3)
    a = Driver(config, "a")
    a.promote()
    a.lost("b")
    a.lost("c")
    assert a.role is Role.ACTIVE
    assert not a.state.quorum_lost
    assert a.state.timer_for(TimerPurpose.SELF_FENCE) is None


def test_safety_first_promotion_aborts_when_quorum_is_lost_mid_plan() -> None:
    d = survivor(3, Mode.SAFETY_FIRST, False, 1)
    assert d.role is Role.PROMOTING
    d.lost("b")
    assert d.role is Role.DEMOTING


def test_majority_counts_the_witness_as_a_voter() -> None:
    assert cluster(2).majority == 2
    assert cluster(2, witness="w").majority == 2
    assert cluster(2, witness="w").voters == 3
    assert cluster(3, witness="w").majority == 3
    assert cluster(5).majority == 3


# --- votes are exclusive: a bridge partition cannot give two sides a majority ---


def test_a_bridge_node_that_follows_the_active_gives_no_vote_to_a_challenger() -> None:
    """n1 | n2 | n3 with n2 seeing both sides (a bridge): n3 loses n1 and becomes
    VRRP master, but n2 still follows n1, so n3 holds 1 vote of 3 and stays standby."""
    d = Driver(cluster(3, mode=Mode.SAFETY_FIRST), "c")
    d.heard("a", PeerRole.ACTIVE, epoch=1, follows="a")
    d.heard("b", PeerRole.STANDBY, follows="a")
    d.vrrp(VrrpStatus.BACKUP)
    d.lost("a")
    d.vrrp(VrrpStatus.MASTER)
    assert d.role is Role.STANDBY
    (deferred,) = events_of_type(d.decisions[-1][1], ev.PromotionDeferred)
    assert deferred.reason.startswith("no quorum (1 of 2")
    # Once b loses a too and follows nobody, its vote is free: c promotes.
    d.heard("b", PeerRole.STANDBY, follows="")
    assert d.role is Role.PROMOTING


def test_an_active_whose_majority_starts_following_another_node_self_fences() -> None:
    d = Driver(cluster(3, mode=Mode.SAFETY_FIRST), "a")
    d.heard("b", PeerRole.STANDBY, follows="")
    d.heard("c", PeerRole.STANDBY, follows="")
    d.promote()
    d.heard("b", PeerRole.STANDBY, follows="a")
    d.lost("c")
    assert d.role is Role.ACTIVE and not d.state.quorum_lost  # a and b: 2 of 3
    d.heard("b", PeerRole.STANDBY, follows="c")  # b now backs c (newer epoch)
    assert d.state.quorum_lost and d.state.timer_for(TimerPurpose.SELF_FENCE) is not None
    d.fire(TimerPurpose.SELF_FENCE)
    assert d.role is Role.DEMOTING


def test_a_promotion_aborts_when_its_majority_withdraws_the_vote() -> None:
    d = Driver(cluster(3, mode=Mode.SAFETY_FIRST), "c")
    d.heard("b", PeerRole.STANDBY, follows="")
    d.vrrp(VrrpStatus.MASTER)
    assert d.role is Role.PROMOTING
    d.heard("b", PeerRole.STANDBY, follows="a")
    assert d.role is Role.DEMOTING


def test_a_node_follows_itself_when_contending_else_the_newest_reachable_contender() -> None:
    d = Driver(cluster(3, mode=Mode.SAFETY_FIRST), "c")
    assert d.state.advertisement().follows == ""
    d.heard("a", PeerRole.ACTIVE, epoch=1)
    d.heard("b", PeerRole.PROMOTING, epoch=2)
    assert d.state.advertisement().follows == "b"
    d.lost("b")
    assert d.state.advertisement().follows == "a"
    d.heard("b", PeerRole.STANDBY)
    d.heard("a", PeerRole.STANDBY, epoch=1)
    assert d.state.advertisement().follows == ""
    d.heard("b", PeerRole.STANDBY, follows="")
    d.vrrp(VrrpStatus.MASTER)
    assert d.role is Role.PROMOTING and d.state.advertisement().follows == "c"
