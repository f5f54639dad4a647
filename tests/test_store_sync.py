"""Durability under NORMAL: every batch that precedes an effect commits with FULL.

Issue 4: events that change role or epoch, *or that precede an effect*, are
committed with ``synchronous=FULL`` before the effect may run. The set of
such events is the core's (``hacore.effects.EFFECT_EVENT_TYPES``); the first
tests prove it matches what ``effects_of`` does, the others spy on the SQL a
NORMAL store runs and check which synchronous mode each COMMIT ran under.
"""

from __future__ import annotations

import dataclasses
import random
import typing
from pathlib import Path

import pytest
from core_helpers import cluster, minimal_message, node_states
from crash_writer import CONFIG, next_input
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_codec import messages_of

from adapters.store import AsyncSqliteStore, SqliteStore
from adapters.store import _core as core
from hacore import codec
from hacore import effects as fx
from hacore import events as ev
from hacore import inputs as inp
from hacore.node import Node
from hacore.plans import StepName
from hacore.roles import PlanKind, Role, TimerPurpose, VrrpStatus
from hacore.state import ArmedTimer, NodeState, PlanProgress

# -- the set matches effects_of ---------------------------------------------------

REGISTERED_EVENTS = sorted(
    (cls for cls in codec.registered_types().values() if issubclass(cls, ev.Event)),
    key=lambda cls: cls.TYPE,
)


def representative(cls: type[ev.Event]) -> ev.Event:
    """An event of ``cls`` whose ids (all 7) match the plan and timer of STATE."""
    return minimal_message(cls)


# The state after the event: a running plan 7 and an armed timer 7, so that an
# event about them is not discarded as stale by effects_of's guards.
STATE = NodeState(
    name="a",
    role=Role.PROMOTING,
    epoch=7,
    max_epoch_seen=7,
    plan=PlanProgress(7, PlanKind.PROMOTION, (StepName.MARK_ACTIVE,), 0, 7, True),
    next_plan_id=8,
    next_timer_id=8,
    timers=(ArmedTimer(7, TimerPurpose.STEP_TIMEOUT, 7),),
)


STATE_FOR_PLAN_1 = dataclasses.replace(
    STATE,
    plan=PlanProgress(
        1, PlanKind.PROMOTION, (StepName.RESTORE_K3S_DB, StepName.START_K3S), 1, 1, True
    ),
)


def test_every_registered_event_type_is_in_the_core_event_list() -> None:
    assert {cls.TYPE for cls in REGISTERED_EVENTS} == {cls.TYPE for cls in ev.EVENT_TYPES}
    assert fx.EFFECT_EVENT_TYPES <= {cls.TYPE for cls in ev.EVENT_TYPES}


@pytest.mark.parametrize("cls", REGISTERED_EVENTS, ids=lambda cls: cls.TYPE)
def test_effect_event_types_are_exactly_the_events_effects_of_acts_on(
    cls: type[ev.Event],
) -> None:
    effects = fx.effects_of(STATE, [representative(cls)])
    assert bool(effects) == (cls.TYPE in fx.EFFECT_EVENT_TYPES), (cls.TYPE, effects)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from([cls for cls in REGISTERED_EVENTS if cls.TYPE not in fx.EFFECT_EVENT_TYPES])
    .flatmap(messages_of)
    .filter(lambda m: isinstance(m, ev.Event)),
    st.sampled_from(list(Role)).flatmap(lambda role: node_states(cluster(3), "a", role)),
)
def test_no_other_event_yields_an_effect_in_any_state(
    event: codec.Message, state: NodeState
) -> None:
    assert isinstance(event, ev.Event)
    assert fx.effects_of(state, [event]) == []


def test_the_store_forces_full_for_every_effect_event_and_role_or_epoch_change() -> None:
    assert fx.EFFECT_EVENT_TYPES <= core.DURABLE_TYPES
    assert {ev.RoleChanged.TYPE, ev.EpochOpened.TYPE} <= core.DURABLE_TYPES


# -- the spy: which synchronous mode each COMMIT ran under ------------------------


class SyncSpy:
    """A trace callback: the synchronous mode in force at each COMMIT."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.commits: list[str] = []

    def __call__(self, sql: str) -> None:
        words = sql.upper().replace("=", " ").split()
        if words[:2] == ["PRAGMA", "SYNCHRONOUS"] and len(words) == 3:
            self.mode = words[2]
        elif words[:1] == ["COMMIT"]:
            self.commits.append(self.mode)

    def take(self) -> list[str]:
        commits, self.commits = self.commits, []
        return commits


def _is_observation_only(events: typing.Sequence[ev.Event]) -> bool:
    return bool(events) and all(
        isinstance(e, ev.VrrpObserved | ev.PeerObserved | ev.ProgressObserved) for e in events
    )


def test_under_normal_a_batch_preceding_an_effect_commits_with_full(tmp_path: Path) -> None:
    with SqliteStore.open(str(tmp_path / "s.db"), config=CONFIG, synchronous="NORMAL") as store:
        spy = SyncSpy(core.NORMAL)
        store._conn.set_trace_callback(spy)
        node = Node(CONFIG, "a", store.log_for("a"))
        spy.take()
        rng = random.Random(5)
        t = 1
        decision = node.handle(inp.Booted(t))
        seen_run_step = seen_observation = 0
        for _ in range(400):
            expected = [core.FULL] if decision.effects else [core.NORMAL]
            assert spy.take() == (expected if decision.events else []), decision  # none: not logged
            if any(isinstance(e, fx.RunStep) for e in decision.effects):
                seen_run_step += 1
            if _is_observation_only(decision.events):
                seen_observation += 1
                assert not decision.effects
            t += rng.randrange(1, 3_000_000)
            decision = node.handle(next_input(node, t, rng))
        assert seen_run_step >= 5 and seen_observation >= 5
        # The connection is back in the configured mode after each forced commit.
        assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


def test_a_run_step_batch_commits_full_and_pure_observations_do_not(tmp_path: Path) -> None:
    with SqliteStore.open(str(tmp_path / "s.db"), synchronous="NORMAL") as store:
        spy = SyncSpy(core.NORMAL)
        store._conn.set_trace_callback(spy)
        log = store.log_for("a")
        spy.take()
        # A step result and the next step it starts (RunStep), no role change.
        started = ev.StepStarted(10, 1, 1, StepName.START_K3S, 1, 3)
        log.append([inp.StepSucceeded(10, 1, StepName.RESTORE_K3S_DB, 1), started], 1)
        assert fx.effects_of(STATE_FOR_PLAN_1, [started])
        assert spy.take() == [core.FULL]
        log.append(
            [
                inp.VrrpReported(11, VrrpStatus.BACKUP, 150),
                ev.VrrpObserved(11, VrrpStatus.BACKUP, 150),
            ],
            1,
        )
        assert spy.take() == [core.NORMAL]


async def test_the_async_store_forces_full_the_same_way(tmp_path: Path) -> None:
    async with await AsyncSqliteStore.open(str(tmp_path / "s.db"), synchronous="NORMAL") as store:
        spy = SyncSpy(core.NORMAL)
        await store._conn.set_trace_callback(spy)
        log = await store.log_for("a")
        spy.take()
        await log.append([inp.TimerFired(5, 2), ev.TimerDisarmed(5, 2)], 0)
        assert spy.take() == [core.FULL]
        await log.append([inp.LocalProgress(6, 3), ev.ProgressObserved(6, 3)], 0)
        assert spy.take() == [core.NORMAL]
