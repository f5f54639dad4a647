"""A heartbeat whose only news is a small move of the peer's position is ignored.

The table's ``only_position_moved`` rule (the position rule of hacore/table.py):
outside any contact episode, split-brain judgment or quorum loss, a heartbeat
that only moves the peer's ``committed`` forward by less than
``POSITION_STEP`` decides nothing, so it is not logged; anything else about
the peer, a move of ``POSITION_STEP`` or more, a step back, or any heartbeat
during an episode is recorded as before. Replay and re-decide reproduce it
like every rule (the input is not in the log; re-deciding the recorded ones
gives the recorded events).
"""

from __future__ import annotations

from core_helpers import Driver, cluster

from hacore import events as ev
from hacore.guards import POSITION_STEP
from hacore.log import InMemoryLog, redecide, replay_records
from hacore.roles import PeerRole, Policy


def _standby_hearing_active() -> Driver:
    b = Driver(cluster(2), "b")
    b.boot()
    b.heard("a", PeerRole.ACTIVE, epoch=1, committed=100, follows="a")
    view = b.state.peer("a")
    assert view is not None and view.committed == 100
    return b


def _observed(b: Driver, committed: int, **kw: object) -> list[ev.PeerObserved]:
    decision = b.heard("a", PeerRole.ACTIVE, epoch=1, committed=committed, follows="a", **kw)  # type: ignore[arg-type]
    return [e for e in decision.events if isinstance(e, ev.PeerObserved)]


def test_small_forward_moves_are_ignored_until_the_step_is_reached() -> None:
    b = _standby_hearing_active()
    log = b.node.log
    assert isinstance(log, InMemoryLog)
    before = len(log)
    for moved in range(1, POSITION_STEP):
        assert (
            b.heard("a", PeerRole.ACTIVE, epoch=1, committed=100 + moved, follows="a").events == ()
        )
    assert len(log) == before
    view = b.state.peer("a")
    assert view is not None and view.committed == 100  # lags by less than the step
    assert [e.committed for e in _observed(b, 100 + POSITION_STEP)] == [100 + POSITION_STEP]


def test_a_step_back_and_any_other_news_are_recorded() -> None:
    b = _standby_hearing_active()
    assert [e.committed for e in _observed(b, 99)] == [99]  # back (an SST): recorded
    assert _observed(b, 100, changes=1) != []  # the peer counts changes: an episode on its side
    b2 = _standby_hearing_active()
    decision = b2.heard("a", PeerRole.STANDBY, epoch=1, committed=101)
    assert any(isinstance(e, ev.PeerObserved) for e in decision.events)


def test_every_move_is_recorded_during_an_episode_or_a_judgment() -> None:
    b = _standby_hearing_active()
    b.lost("a")
    assert b.state.committed_at_loss is not None  # contact lost: an episode is open
    assert [e.committed for e in _observed(b, 101)] != []
    b2 = _standby_hearing_active()
    assert _observed(b2, 101, judging=True) != []  # the peer's frozen facts


def test_replay_and_redecide_reproduce_the_ignored_heartbeats() -> None:
    b = Driver(cluster(2, policy=Policy.MOST_COMMITTED), "b")
    b.boot()
    for committed in range(0, 5 * POSITION_STEP, 3):
        b.heard("a", PeerRole.ACTIVE, epoch=1, committed=committed, follows="a")
    b.lost("a")
    b.heard("a", PeerRole.ACTIVE, epoch=1, committed=5 * POSITION_STEP + 1, follows="a")
    log = b.node.log
    assert isinstance(log, InMemoryLog)
    records = list(log.records())
    assert replay_records("b", records) == b.state
    assert redecide(b.node.ctx, records) == []
    heard = [r for r in records if r.type == "peer-heard"]
    assert len(heard) < 5 * POSITION_STEP // 3 // 4  # most were ignored
