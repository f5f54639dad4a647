"""Epochs: promotion opens an epoch above any seen; epochs never decrease; one owner each."""

from __future__ import annotations

from core_helpers import CONFIGS, Driver, cluster, inputs_for, random_run
from hypothesis import given, settings
from hypothesis import strategies as st

from hacore import events as ev
from hacore.config import ClusterConfig, next_epoch
from hacore.roles import PeerRole, Role, VrrpStatus


def epoch_owner(epoch: int, config: ClusterConfig) -> str:
    """The node that may open ``epoch``: node i of n owns the epochs = i + 1 (mod n)."""
    assert epoch > 0, "epoch 0 belongs to no node"
    n = len(config.nodes)
    (owner,) = [node.name for i, node in enumerate(config.nodes) if (i + 1) % n == epoch % n]
    return owner


@settings(max_examples=150)
@given(data=st.data(), config=CONFIGS)
def test_promotion_opens_an_epoch_strictly_greater_than_any_seen(
    data: st.DataObject, config: ClusterConfig
) -> None:
    name = data.draw(st.sampled_from([n.name for n in config.nodes]))
    driver = Driver(config, name)
    for _ in range(data.draw(st.integers(1, 40))):
        at = driver.now + data.draw(st.integers(0, 20_000_000))
        before = driver.state
        decision = driver.feed(data.draw(inputs_for(config, name, before, at=at)))
        for event in decision.events:
            if isinstance(event, ev.EpochOpened):
                assert event.epoch > before.max_epoch_seen
                assert epoch_owner(event.epoch, config) == name
                assert decision.state.epoch == event.epoch


@settings(max_examples=150)
@given(data=st.data(), config=CONFIGS)
def test_epochs_never_decrease_under_any_input_sequence(
    data: st.DataObject, config: ClusterConfig
) -> None:
    name = data.draw(st.sampled_from([n.name for n in config.nodes]))
    driver = random_run(data, config, name)
    epochs = [d.state.epoch for _, d in driver.decisions if d.events]
    seen = [d.state.max_epoch_seen for _, d in driver.decisions if d.events]
    assert epochs == sorted(epochs)
    assert seen == sorted(seen)
    assert all(e <= s for e, s in zip(epochs, seen, strict=True))


@given(
    max_seen=st.integers(0, 10_000),
    n=st.integers(2, 9),
    data=st.data(),
)
def test_next_epoch_is_the_smallest_owned_epoch_above_max_seen(
    max_seen: int, n: int, data: st.DataObject
) -> None:
    config = cluster(n)
    index = data.draw(st.integers(0, n - 1))
    epoch = next_epoch(max_seen, index, n)
    assert epoch > max_seen
    assert epoch - max_seen <= n
    assert epoch_owner(epoch, config) == config.nodes[index].name
    # Any smaller epoch above max_seen belongs to another node.
    for smaller in range(max_seen + 1, epoch):
        assert epoch_owner(smaller, config) != config.nodes[index].name


@given(n=st.integers(2, 9), max_seen=st.integers(0, 1000))
def test_one_active_per_epoch_two_sides_of_a_partition_never_share_an_epoch(
    n: int, max_seen: int
) -> None:
    opened = [next_epoch(max_seen, i, n) for i in range(n)]
    assert len(set(opened)) == n


def test_standby_that_heard_a_newer_epoch_promotes_above_it() -> None:
    config = cluster(2)
    b = Driver(config, "b")
    b.heard("a", PeerRole.ACTIVE, epoch=41)
    b.lost("a")
    b.vrrp(VrrpStatus.MASTER)
    assert b.role is Role.PROMOTING
    assert b.state.epoch == 42


def test_epoch_survives_replay_so_a_restarted_node_never_reuses_it() -> None:
    from hacore.node import Node

    config = cluster(2)
    a = Driver(config, "a")
    a.promote()
    recovered = Node.recover(config, "a", a.node.log)
    assert recovered.state.epoch == 1
    again = Driver(config, "a", recovered)
    again.boot()
    again.run_plan()  # demotion after the restart
    again.now += 10_000_000
    again.vrrp(VrrpStatus.BACKUP)
    again.vrrp(VrrpStatus.MASTER)
    assert again.state.epoch == 3
