"""Split-brain: detection, one winner per policy, the same on both sides, quarantine first."""

from __future__ import annotations

import itertools

import pytest
from core_helpers import Driver, cluster
from hypothesis import given, settings
from hypothesis import strategies as st

from hacore import events as ev
from hacore import inputs as inp
from hacore.config import ClusterConfig, NodeSpec, Services, next_epoch
from hacore.decider import step
from hacore.plans import plan_steps, quarantine_precedes_discard
from hacore.roles import Mode, PeerRole, PlanKind, Policy, Role, VrrpStatus
from hacore.splitbrain import SideFacts, choose_winner
from hacore.state import NodeState, PeerView
from hacore.table import Context

AUTOMATIC = [p for p in Policy if p is not Policy.MANUAL]


@st.composite
def side_pairs(draw: st.DrawFn) -> tuple[SideFacts, SideFacts]:
    def side(name: str) -> SideFacts:
        return SideFacts(
            node=name,
            epoch=draw(st.integers(0, 50)),
            priority=draw(st.integers(1, 255)),
            address=draw(st.integers(0, 2**32 - 1)),
            committed=draw(st.integers(0, 100)),
            changes=draw(st.integers(0, 20)),
        )

    names = draw(st.lists(st.sampled_from("abcdefg"), min_size=2, max_size=2, unique=True))
    return side(names[0]), side(names[1])


@settings(max_examples=300)
@given(pair=side_pairs(), policy=st.sampled_from(AUTOMATIC))
def test_each_automatic_policy_picks_exactly_one_of_the_two_sides(
    pair: tuple[SideFacts, SideFacts], policy: Policy
) -> None:
    a, b = pair
    assert choose_winner(policy, a, b) in {a.node, b.node}


@settings(max_examples=300)
@given(pair=side_pairs(), policy=st.sampled_from(list(Policy)))
def test_both_sides_pick_the_same_winner_whatever_the_argument_order(
    pair: tuple[SideFacts, SideFacts], policy: Policy
) -> None:
    a, b = pair
    assert choose_winner(policy, a, b) == choose_winner(policy, b, a)


@given(pair=side_pairs())
def test_manual_policy_picks_no_winner(pair: tuple[SideFacts, SideFacts]) -> None:
    assert choose_winner(Policy.MANUAL, *pair) is None


@given(pair=side_pairs())
def test_policies_decide_on_their_own_fact_first(pair: tuple[SideFacts, SideFacts]) -> None:
    a, b = pair
    if a.epoch != b.epoch:
        newest = a if a.epoch > b.epoch else b
        assert choose_winner(Policy.HIGHEST_EPOCH, a, b) == newest.node
    if a.committed != b.committed:
        most = a if a.committed > b.committed else b
        assert choose_winner(Policy.MOST_COMMITTED, a, b) == most.node
    if (a.changes == 0) != (b.changes == 0):
        wrote = a if a.changes > 0 else b
        assert choose_winner(Policy.ZERO_CHANGES, a, b) == wrote.node
    if (a.priority, a.address) != (b.priority, b.address):
        vrrp = a if (a.priority, a.address) > (b.priority, b.address) else b
        assert choose_winner(Policy.VRRP_WINNER, a, b) == vrrp.node


def test_equal_priority_is_broken_by_the_numerically_higher_address() -> None:
    # 10.0.0.10 beats 10.0.0.9 (a string comparison would say otherwise).
    config = ClusterConfig((NodeSpec("x", "10.0.0.9", 100), NodeSpec("y", "10.0.0.10", 100)))
    x = SideFacts("x", 1, 100, config.node("x").address_number, 0, 0)
    y = SideFacts("y", 2, 100, config.node("y").address_number, 0, 0)
    assert choose_winner(Policy.VRRP_WINNER, x, y) == "y"


# -- two nodes driven through decide with mirrored facts ----------------------


@st.composite
def split_clusters(draw: st.DrawFn) -> tuple[ClusterConfig, dict[str, NodeState]]:
    policy = draw(st.sampled_from(list(Policy)))
    p = draw(st.lists(st.integers(1, 254), min_size=2, max_size=2))
    last = draw(st.lists(st.integers(1, 254), min_size=2, max_size=2, unique=True))
    config = ClusterConfig(
        (NodeSpec("a", f"10.0.0.{last[0]}", p[0]), NodeSpec("b", f"10.0.0.{last[1]}", p[1])),
        mode=draw(st.sampled_from(list(Mode))),
        policy=policy,
    )
    states: dict[str, NodeState] = {}
    base = draw(st.integers(0, 30))
    for index, name in enumerate(("a", "b")):
        other = "b" if name == "a" else "a"
        epoch = next_epoch(base + draw(st.integers(0, 5)), index, 2)
        at_loss = draw(st.integers(0, 50))
        states[name] = NodeState(
            name=name,
            role=Role.ACTIVE,
            epoch=epoch,
            max_epoch_seen=epoch,
            vrrp=VrrpStatus.MASTER,
            vrrp_priority=config.node(name).priority,
            peers=(PeerView(other, PeerRole.STANDBY, 0, at_loss, 0, False),),
            committed=at_loss + draw(st.integers(0, 1)) * draw(st.integers(0, 20)),
            committed_at_loss=at_loss,
        )
    return config, states


def heard_from(other: NodeState, at: int) -> inp.PeerHeard:
    return inp.PeerHeard(
        at, other.name, PeerRole.ACTIVE, other.epoch, other.committed, other.changes
    )


@settings(max_examples=300)
@given(setup=split_clusters())
def test_two_nodes_hearing_each_other_agree_on_one_winner(
    setup: tuple[ClusterConfig, dict[str, NodeState]],
) -> None:
    config, states = setup
    out = {
        name: step(Context(config, name), states[name], heard_from(states[other], 1000))
        for name, other in (("a", "b"), ("b", "a"))
    }
    for d in out.values():
        assert any(isinstance(e, ev.SplitBrainDetected) for e in d.events)
    if config.policy is Policy.MANUAL:
        for d in out.values():
            assert d.state.role is Role.ACTIVE and d.state.frozen
            assert any(isinstance(e, ev.Frozen) for e in d.events)
        return
    winners = {
        name: [e.winner for e in d.events if isinstance(e, ev.SplitBrainResolved)]
        for name, d in out.items()
    }
    assert len(winners["a"]) == 1 and winners["a"] == winners["b"]
    winner = winners["a"][0]
    loser = "b" if winner == "a" else "a"
    assert out[winner].state.role is Role.ACTIVE
    assert out[loser].state.role is Role.DEMOTING
    plan = out[loser].state.plan
    assert plan is not None and quarantine_precedes_discard(plan.steps)
    assert plan.steps[0] == "quarantine_divergent"


SERVICE_COMBOS = [Services(*flags) for flags in itertools.product([True, False], repeat=4)]


@pytest.mark.parametrize("services", SERVICE_COMBOS, ids=str)
@pytest.mark.parametrize("kind", list(PlanKind))
def test_quarantine_precedes_any_data_discarding_step_for_every_service_combination(
    services: Services, kind: PlanKind
) -> None:
    steps = plan_steps(kind, cluster(2, services=services))
    assert quarantine_precedes_discard(steps)


def test_the_quarantine_check_rejects_a_plan_that_discards_first() -> None:
    assert not quarantine_precedes_discard(("rejoin_galera", "quarantine_divergent"))
    assert not quarantine_precedes_discard(("stop_k3s", "resync_gluster"))


def test_split_brain_is_detected_when_an_active_hears_another_active_epoch() -> None:
    a = Driver(cluster(2), "a")
    a.promote()
    a.lost("b")
    d = a.heard("b", PeerRole.ACTIVE, epoch=2)
    (detected,) = [e for e in d.events if isinstance(e, ev.SplitBrainDetected)]
    assert (detected.peer, detected.peer_epoch) == ("b", 2)


def test_a_standby_peer_or_the_same_epoch_is_no_split_brain() -> None:
    a = Driver(cluster(2), "a")
    a.promote()
    assert not any(
        isinstance(e, ev.SplitBrainDetected) for e in a.heard("b", PeerRole.STANDBY).events
    )
    assert not any(
        isinstance(e, ev.SplitBrainDetected) for e in a.heard("b", PeerRole.ACTIVE, epoch=1).events
    )


def test_the_same_split_brain_is_not_opened_twice() -> None:
    a = Driver(cluster(2, policy=Policy.MANUAL), "a")
    a.promote()
    a.lost("b")
    a.heard("b", PeerRole.ACTIVE, epoch=2)
    again = a.heard("b", PeerRole.ACTIVE, epoch=2, committed=1)
    assert not any(isinstance(e, ev.SplitBrainDetected) for e in again.events)
    assert a.role is Role.ACTIVE and a.state.frozen
