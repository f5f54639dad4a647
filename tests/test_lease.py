"""The write lease (hacore.lease): who may accept a client write, and when."""

from __future__ import annotations

from core_helpers import Driver, cluster

from hacore.lease import lease_votes, may_write
from hacore.roles import Mode, PeerRole

S = 1_000_000


def active_a(mode: Mode) -> Driver:
    d = Driver(cluster(3, mode=mode), "a")
    d.heard("b", PeerRole.STANDBY, follows="")
    d.heard("c", PeerRole.STANDBY, follows="")
    d.promote()
    d.heard("b", PeerRole.STANDBY, follows="a")
    d.heard("c", PeerRole.STANDBY, follows="a")
    return d


def test_availability_first_active_always_writes() -> None:
    d = active_a(Mode.AVAILABILITY_FIRST)
    assert may_write(d.config, d.state, 100 * S, {})


def test_safety_first_needs_a_majority_heard_within_the_lease() -> None:
    d = active_a(Mode.SAFETY_FIRST)
    lease = d.config.timing.write_lease_us
    now = 50 * S
    assert may_write(d.config, d.state, now, {"b": now - lease})  # a + b = 2 of 3
    assert not may_write(d.config, d.state, now, {"b": now - lease - 1})  # b too old
    assert lease_votes(d.state, now, {"b": now, "c": now}, lease) == 3


def test_a_peer_that_backs_another_node_renews_nothing() -> None:
    d = active_a(Mode.SAFETY_FIRST)
    d.heard("b", PeerRole.STANDBY, follows="c")
    now = 60 * S
    assert lease_votes(d.state, now, {"b": now}, d.config.timing.write_lease_us) == 1
    assert not may_write(d.config, d.state, now, {"b": now})
    assert may_write(d.config, d.state, now, {"b": now, "c": now})


def test_only_an_unfrozen_active_writes() -> None:
    d = Driver(cluster(3, mode=Mode.SAFETY_FIRST), "b")
    now = 10 * S
    assert not may_write(d.config, d.state, now, {"a": now, "c": now})  # a standby


def test_a_peer_that_follows_nobody_renews_nothing() -> None:
    """A free vote can be counted by a challenger behind an asymmetric partition,
    so only explicit backing keeps the old active writable (fuzzer, seed 31)."""
    d = active_a(Mode.SAFETY_FIRST)
    d.heard("b", PeerRole.STANDBY, follows="")
    now = 70 * S
    assert lease_votes(d.state, now, {"b": now}, d.config.timing.write_lease_us) == 1
    assert not may_write(d.config, d.state, now, {"b": now})
