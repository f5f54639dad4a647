# mypy: disable-error-code="comparison-overlap"
# (role checks before and after a state-changing call look non-overlapping to mypy)
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
from hacore.context import Context
from hacore.decider import step
from hacore.node import Node
from hacore.plans import StepName, plan_steps, quarantine_precedes_discard
from hacore.roles import Mode, PeerRole, PlanKind, Policy, Role, VrrpStatus
from hacore.splitbrain import SideFacts, choose_winner
from hacore.state import NodeState, PeerView

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


def winner_by_hand(policy: Policy, a: SideFacts, b: SideFacts) -> str:
    """The catalogue's rule for each policy, written out step by step (not with
    hacore.splitbrain's key tuples): the policy's own fact first, then VRRP's
    election (priority, then the higher address), then the name."""
    if policy is Policy.HIGHEST_EPOCH and a.epoch != b.epoch:
        return a.node if a.epoch > b.epoch else b.node
    if policy is Policy.MOST_COMMITTED and a.committed != b.committed:
        return a.node if a.committed > b.committed else b.node
    if policy is Policy.ZERO_CHANGES and (a.changes == 0) != (b.changes == 0):
        return b.node if a.changes == 0 else a.node
    if a.priority != b.priority:
        return a.node if a.priority > b.priority else b.node
    if a.address != b.address:
        return a.node if a.address > b.address else b.node
    return max(a.node, b.node)


@settings(max_examples=300)
@given(pair=side_pairs(), policy=st.sampled_from(AUTOMATIC))
def test_each_automatic_policy_picks_the_side_its_rule_names(
    pair: tuple[SideFacts, SideFacts], policy: Policy
) -> None:
    a, b = pair
    assert choose_winner(policy, a, b) == winner_by_hand(policy, a, b)


@settings(max_examples=300)
@given(
    sides=st.tuples(side_pairs(), side_pairs()).filter(
        lambda two: len({two[0][0].node, two[0][1].node, two[1][0].node}) == 3
    ),
    policy=st.sampled_from(AUTOMATIC),
)
def test_among_three_actives_exactly_one_wins_both_its_duels(
    sides: tuple[tuple[SideFacts, SideFacts], tuple[SideFacts, SideFacts]], policy: Policy
) -> None:
    # Three or more actives are resolved pair by pair: that settles on one
    # survivor only if the order is transitive (no rock-paper-scissors).
    (a, b), (c, _) = sides
    trio = (a, b, c)
    undefeated = [
        x.node
        for x in trio
        if all(choose_winner(policy, x, y) == x.node for y in trio if y is not x)
    ]
    assert len(undefeated) == 1, (policy, trio)


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
    """The message ``other`` sends now (its advertisement), as it arrives."""
    ad = other.advertisement()
    return inp.PeerHeard(at, other.name, ad.role, ad.epoch, ad.committed, ad.changes, ad.judging)


@settings(max_examples=300)
@given(
    setup=split_clusters(),
    first=st.sampled_from(["a", "b", "both"]),
    merged=st.integers(0, 40),
)
def test_two_nodes_hearing_each_other_agree_on_one_winner(
    setup: tuple[ClusterConfig, dict[str, NodeState]], first: str, merged: int
) -> None:
    """Both sides reach the same verdict whatever the message order, even when
    their live facts move during the handshake (a Galera merge at heal)."""
    config, states = setup
    ctx = {name: Context(config, name) for name in ("a", "b")}
    other = {"a": "b", "b": "a"}
    events: dict[str, list[ev.Event]] = {"a": [], "b": []}
    at = 1000

    def deliver(to: str) -> None:
        nonlocal at
        at += 1
        d = step(ctx[to], states[to], heard_from(states[other[to]], at))
        states[to] = d.state
        events[to].extend(d.events)

    def merge(name: str) -> None:
        nonlocal at
        at += 1
        progress = inp.LocalProgress(at, states[name].committed + merged)
        d = step(ctx[name], states[name], progress)
        states[name] = d.state
        events[name].extend(d.events)

    # The heal: one side hears the other first (or both at once), then the
    # live facts move, then messages keep flowing both ways.
    if first == "both":
        snapshot = {name: heard_from(states[other[name]], at) for name in ("a", "b")}
        for name in ("a", "b"):
            d = step(ctx[name], states[name], snapshot[name])
            states[name] = d.state
            events[name].extend(d.events)
    else:
        deliver(other[first])
    for name in ("a", "b"):
        if states[name].role is Role.ACTIVE:
            merge(name)
    for _ in range(3):
        deliver("a")
        deliver("b")

    for name in ("a", "b"):
        assert any(isinstance(e, ev.SplitBrainDetected) for e in events[name])
    if config.policy is Policy.MANUAL:
        for name in ("a", "b"):
            assert states[name].role is Role.ACTIVE and states[name].frozen
        return
    winners = {
        name: [e.winner for e in events[name] if isinstance(e, ev.SplitBrainResolved)]
        for name in ("a", "b")
    }
    assert len(winners["a"]) == 1 and winners["a"] == winners["b"]
    winner = winners["a"][0]
    loser = other[winner]
    assert states[winner].role is Role.ACTIVE
    assert states[loser].role is Role.DEMOTING
    plan = states[loser].plan
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
    assert not quarantine_precedes_discard((StepName.REJOIN_GALERA, StepName.QUARANTINE_DIVERGENT))
    assert not quarantine_precedes_discard((StepName.STOP_K3S, StepName.RESYNC_GLUSTER))


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


def test_a_frozen_active_that_demotes_anyway_is_unfrozen_and_may_promote_again() -> None:
    """Manual policy: a frozen active that restarts demotes (quarantine first);
    once it is standby nothing is left to choose, so it must not stay frozen
    (the fuzzer found every node standby forever)."""
    d = Driver(cluster(3, policy=Policy.MANUAL), "a")
    d.promote()
    d.lost("b")
    d.heard("b", PeerRole.ACTIVE, epoch=2)
    assert d.state.frozen
    d.node = Node.recover(d.config, "a", d.node.log)  # the process crashed; a new one
    d.boot()
    assert d.role is Role.DEMOTING
    d.run_plan()
    assert d.role is Role.STANDBY and not d.state.frozen
    d.now += d.config.timing.hold_down_us
    d.vrrp(VrrpStatus.MASTER)
    assert d.role is Role.PROMOTING


def test_a_judging_active_that_loses_the_vip_ends_its_episode_once_demoted() -> None:
    """Found on the lab (tests/test_agent_lab.py): at a heal b detects the
    split-brain, then keepalived's re-election demotes b before the frozen
    facts cross. Its demotion ended the wait but left b judging for good: no
    ContactSynced could ever come (restores_contact refuses while judging), so
    b kept advertising stale frozen facts and would judge its next split-brain
    on them."""
    b = Driver(cluster(2), "b")
    b.promote()
    b.lost("a")  # the partition
    b.heard("a", PeerRole.ACTIVE, epoch=3)  # the heal: a is active too
    assert b.state.judging and b.role is Role.ACTIVE
    b.vrrp(VrrpStatus.BACKUP)  # the re-election went to a first
    assert b.role is Role.DEMOTING
    b.run_plan()
    assert b.role is Role.STANDBY
    assert not b.state.judging, "a standby has nothing left to judge"
    synced = b.heard("a", PeerRole.ACTIVE, epoch=3)
    assert any(isinstance(e, ev.ContactSynced) for e in synced.events)
    assert b.state.split_committed is None and b.state.committed_at_loss is None
